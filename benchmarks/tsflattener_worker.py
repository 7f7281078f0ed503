"""Issue 15's workload with timeseriesflattener 2.5.2; run by benchmarks.bench_feature_engine with the
Python of its own environment (benchmarks/.venv-tsflattener), never with the project's.

``python benchmarks/tsflattener_worker.py <world folder> <result.parquet>`` prints one JSON line with the
seconds spent flattening. Columns are renamed to Tidlig's feature names so results can be compared.
Traps of 2.5.2 handled here: its unique-count aggregator counts the null it pads out-of-window values
with, so a one-line aggregator drops nulls first; ``n_workers=2`` hangs, so polars does the work
(``n_workers=None``); ``step_size`` processes 30 days of prediction times at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import polars as pl
from timeseriesflattener import (
    CountAggregator,
    Flattener,
    PredictionTimeFrame,
    PredictorSpec,
    SumAggregator,
    ValueFrame,
)
from timeseriesflattener.aggregators import Aggregator

WINDOW_DAYS = (30, 90, 365, 730)
DIAGNOSIS_GROUPS = ("I50", "J44", "F03", "S72", "E11", "N39", "I63")
DRUG_GROUPS = ("N05", "N06A", "C03", "N02A", "B01", "A10", "C07", "R03")
PREDICTION_DATES = [dt.datetime(2024, month, 1) for month in range(1, 13)]


class DistinctCount(Aggregator):
    """Distinct non-missing values in the window (2.5.2's unique_count also counts the padding null)."""

    name: str = "distinct"
    output_type = int

    def __call__(self, column_name: str) -> pl.Expr:
        return pl.col(column_name).drop_nulls().n_unique().alias(self.new_col_name(column_name))


def predictor(frame: pl.DataFrame, value: str, days: tuple[int, ...], aggregators: list) -> PredictorSpec:
    return PredictorSpec(
        value_frame=ValueFrame(
            init_df=frame.select("entity_id", "timestamp", value),
            entity_id_col_name="entity_id",
            value_timestamp_col_name="timestamp",
        ),
        lookbehind_distances=[dt.timedelta(days=d) for d in days],
        aggregators=aggregators,
        fallback=0,
        column_prefix="pred",
    )


def main() -> None:
    folder, result = Path(sys.argv[1]), Path(sys.argv[2])
    started = time.perf_counter()
    people = pl.read_parquet(folder / "population.parquet", columns=["person_key"])
    diagnoses = pl.read_parquet(
        folder / "hospital_diagnoses.parquet", columns=["person_key", "_valid_time", "diagnosis_code"]
    )
    drugs = pl.read_parquet(folder / "prescriptions.parquet", columns=["person_key", "_valid_time", "atc"])
    gp = pl.read_parquet(folder / "gp_services.parquet", columns=["person_key", "_valid_time", "services"])
    rename = {"person_key": "entity_id", "_valid_time": "timestamp"}
    diagnoses = diagnoses.rename(rename).with_columns(icd10=pl.col("diagnosis_code").str.slice(1))
    drugs = drugs.rename(rename)
    gp = gp.rename(rename).with_columns(contact=pl.lit(1), services=pl.col("services").cast(pl.Float64))
    specs = [
        predictor(diagnoses, "icd10", WINDOW_DAYS, [CountAggregator(), DistinctCount()]),
        predictor(drugs, "atc", WINDOW_DAYS, [CountAggregator(), DistinctCount()]),
        predictor(gp, "contact", WINDOW_DAYS, [CountAggregator()]),
        predictor(gp, "services", WINDOW_DAYS, [SumAggregator()]),
    ]
    for group in DIAGNOSIS_GROUPS:
        frame = diagnoses.filter(pl.col("icd10").str.starts_with(group)).with_columns(
            pl.col("icd10").alias(f"dx_{group}")
        )
        specs.append(predictor(frame, f"dx_{group}", (365, 730), [CountAggregator()]))
    chapter_c = diagnoses.filter(pl.col("icd10").str.starts_with("C")).with_columns(
        pl.col("icd10").alias("dx_C")
    )
    specs.append(predictor(chapter_c, "dx_C", (365, 730), [CountAggregator()]))
    for group in DRUG_GROUPS:
        frame = drugs.filter(pl.col("atc").str.starts_with(group)).with_columns(
            pl.col("atc").alias(f"rx_{group}")
        )
        specs.append(predictor(frame, f"rx_{group}", (365, 730), [CountAggregator()]))
    times = people.join(pl.DataFrame({"pred_timestamp": PREDICTION_DATES}), how="cross").rename(
        {"person_key": "entity_id"}
    )
    flattener = Flattener(
        predictiontime_frame=PredictionTimeFrame(
            init_df=times, entity_id_col_name="entity_id", timestamp_col_name="pred_timestamp"
        ),
        n_workers=None,
    )
    frame = flattener.aggregate_timeseries(specs=specs, step_size=dt.timedelta(days=30)).df
    seconds = time.perf_counter() - started
    frame.drop("prediction_time_uuid").write_parquet(result)
    print(json.dumps({"seconds": seconds, "rows": frame.height}))


if __name__ == "__main__":
    main()
