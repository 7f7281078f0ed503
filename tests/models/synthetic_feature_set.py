"""Small synthetic feature tables, labels and truth in the shapes of docs/interfaces.md section 3 and 1c.

Risk depends on age, sex, HFRS, prior admissions and living alone through a known logistic model, so the
truth (oracle) is exact and a good model can approach it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts.pseudonym import pseudonymise_one
from features.store import DataBatch, FeatureSetManifest
from features.store import write_feature_set as write_feature_set_folder
from pipelines.settings import DEMO_PSEUDONYM_KEY

OUTCOME_WEIGHTS = {"admission": 1.0, "death": 0.8, "frailty": 0.6}


def fake_cpr(index: int) -> str:
    """A well-formed but made-up 10-digit CPR-like number for synthetic person ``index``."""
    return f"0101{40 + index % 10:02d}{index:04d}"[-10:]


def person_key(index: int) -> str:
    """The demo-key pseudonym of ``fake_cpr(index)``, as ingest would compute it."""
    return pseudonymise_one(fake_cpr(index), DEMO_PSEUDONYM_KEY)


def make_feature_set(
    persons: int = 600,
    *,
    start: str = "2020-01-01",
    dates: int = 17,
    step_months: int = 3,
    seed: int = 3,
    censor_last_months: int = 12,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(features, labels, truth) for ``persons`` citizens at quarterly prediction dates.

    Labels for prediction dates within ``censor_last_months`` of the last date are censored (NaN), as at
    the end of follow-up. Truth carries both ``cpr`` (made up) and its demo-key ``person_key``.
    """
    rng = np.random.default_rng(seed)
    keys = np.array([person_key(i) for i in range(persons)])
    cprs = np.array([fake_cpr(i) for i in range(persons)])
    birth_age = rng.uniform(62, 95, persons)
    female = rng.random(persons) < 0.55
    alone = rng.random(persons) < 0.4
    frailty = rng.gamma(2.0, 1.0, persons)
    district = rng.choice(["101-01", "101-02", "751-01"], persons)
    prediction_dates = pd.date_range(start, periods=dates, freq=f"{step_months}MS")
    last = prediction_dates[-1]
    feature_rows, label_rows, truth_rows = [], [], []
    for number, date in enumerate(prediction_dates):
        age = birth_age + number * step_months / 12
        frailty = frailty + rng.gamma(0.3, 0.3, persons)
        hfrs = np.round(frailty * 3 + rng.normal(0, 1.5, persons), 1).clip(0)
        admissions = rng.poisson(0.3 * frailty)
        censored = date + pd.DateOffset(months=censor_last_months) > last
        feature_rows.append(
            pd.DataFrame(
                {
                    "person_key": keys,
                    "prediction_date": date,
                    "municipality": [d[:3] for d in district],
                    "district": district,
                    "age_years": age,
                    "sex_female": female,
                    "living_alone": alone,
                    "acute_admissions_count_0_to_365d": admissions,
                    "hfrs_score_0_to_730d": hfrs,
                    "charlson_index_0_to_1825d": rng.poisson(0.5 + 0.3 * frailty),
                    "noise_feature": rng.normal(size=persons),
                }
            )
        )
        labels = {"person_key": keys, "prediction_date": date}
        truth = {"person_key": keys, "cpr": cprs, "month": date}
        for outcome, weight in OUTCOME_WEIGHTS.items():
            linear = -4.2 + 0.05 * (age - 75) - 0.3 * female + 0.35 * alone + weight * 0.55 * frailty
            for horizon in (6, 12):
                p = 1 / (1 + np.exp(-(linear + (0.0 if horizon == 12 else -0.7))))
                event = (rng.random(persons) < p).astype(float)
                target = f"{outcome}_{horizon}m"
                is_censored = np.full(persons, censored)
                labels[target] = np.where(is_censored, np.nan, event)
                labels[f"{target}_censored"] = is_censored
                event_date = date + pd.to_timedelta(rng.integers(1, horizon * 30, persons), unit="D")
                labels[f"{target}_event_date"] = pd.Series(event_date).where((event == 1) & ~is_censored)
                truth[f"p_{target}"] = p
            if outcome == "admission":
                for horizon in (6, 12):
                    labels[f"admission_{horizon}m_competing_death"] = False
        label_rows.append(pd.DataFrame(labels))
        truth_rows.append(pd.DataFrame(truth))
    return (
        pd.concat(feature_rows, ignore_index=True),
        pd.concat(label_rows, ignore_index=True),
        pd.concat(truth_rows, ignore_index=True),
    )


def write_feature_set(home: Path, persons: int = 600, seed: int = 3, version: str = "abc123def456") -> str:
    """Write a feature set folder through ``features.store`` as `tidlig features` would (features,
    labels, attrition, manifest, LATEST) and a world truth file with pseudonymised keys standing in for
    CPR; returns the version."""
    features, labels, truth = make_feature_set(persons=persons, seed=seed)
    dates = sorted(pd.to_datetime(features["prediction_date"]).dt.date.unique())
    manifest = FeatureSetManifest(
        version=version,
        spec_hash=version + "0" * 52,
        spec={"name": "synthetic", "features": []},
        mode="as_known",
        area_municipalities=None,
        horizons=(6, 12),
        prediction_dates=tuple(dates),
        every="month",
        end_of_data=pd.Timestamp(dates[-1]),
        data_batches=(
            DataBatch("batch-1", "cpr_population", "2019-01-01", "test-1"),
            DataBatch("batch-2", "lpr3_contacts", "2019-01-01", "test-1"),
        ),
        columns=tuple(features.columns),
        rows=len(features),
    )
    attrition = pd.DataFrame(
        {"prediction_date": dates, "rule": "registered", "removed": 0, "remaining": persons}
    )
    write_feature_set_folder(
        home / "features", manifest, features=features, labels=labels, attrition=attrition
    )
    (home / "world" / "truth").mkdir(parents=True, exist_ok=True)
    truth.drop(columns=["person_key"]).to_parquet(home / "world" / "truth" / "truth.parquet", index=False)
    return version
