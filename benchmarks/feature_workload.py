"""The standard feature workload of issue 15: a deterministic synthetic world and its 56 features.

Persons aged 65-104 (65 + exponential, mean 10 years) with a shared gamma frailty (shape 2, mean 1); six
years of events before the last prediction date: hospital diagnoses ~10/person/year over 100 ICD-10 codes,
prescriptions ~40/person/year over 90 real 7-character ATC codes, GP contacts ~12/person/year with
1 + Poisson(0.6) services. Codes follow Zipf-like popularity, used through personal repertoires (about 11
distinct drugs per person-year). Every event time lies strictly inside its day, so the half-open windows
``[t - d, t)`` of Tidlig and the closed ones of timeseriesflattener select the same events. Every row is
known when it happens (``_delivered_at = _valid_time``), so "as known" equals "as occurred" and every
implementation must give the same values.

The world is written once per (persons, seed) as warehouse-shaped Parquet (32-character pseudonym keys,
bitemporal columns) under ``benchmarks/.data/`` and reused.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from features import FeatureSetSpec, FeatureSpec, RowFilter, Window
from warehouse import key_index as index

SEED = 15
PREDICTION_DATES = [pd.Timestamp(2024, month, 1) for month in range(1, 13)]
HISTORY_START = pd.Timestamp("2018-12-01")
YEARS = 6.0
WINDOW_DAYS = (30, 90, 365, 730)
DIAGNOSIS_GROUPS = ("I50", "J44", "F03", "S72", "E11", "N39", "I63")
DRUG_GROUPS = ("N05", "N06A", "C03", "N02A", "B01", "A10", "C07", "R03")
DATA_FOLDER = Path(__file__).resolve().parent / ".data"
# 2: every row carries the landed record-key hash, as ingest writes it (D150).
WORLD_FORM = 2

ICD10_CODES = (
    "I500", "I509", "J441", "J449", "F039", "S720", "S721", "E119", "E112", "N390", "I639", "I634", "C509",
    "C619", "C189", "C349", "C679", "C445", "I109", "I489", "I251", "I209", "I219", "I110", "E039", "E785",
    "E669", "E871", "E86", "D649", "D509", "K210", "K590", "K297", "K573", "K800", "M179", "M169", "M545",
    "M810", "M800", "R296", "R410", "R509", "R069", "R074", "R55", "R54", "R26", "W19", "S060", "S420",
    "S422", "S525", "S800", "T810", "J189", "J159", "J22", "J960", "J450", "N179", "N189", "N400", "N301",
    "G200", "G309", "G459", "G409", "F329", "F051", "F100", "F419", "H269", "H409", "H353", "L031", "L899",
    "L409", "Z501", "Z751", "Z966", "Z921", "A099", "A419", "B962", "B349", "Z038", "Z048", "Z090", "Z760",
    "Y849", "Y95", "I739", "I802", "I269", "I951", "K922", "K264", "G819",
)  # fmt: skip
ATC_CODES = (
    "N05BA01", "N05BA04", "N05CF01", "N05CF02", "N05AH04", "N05AX08", "N06AB04", "N06AB06", "N06AB10",
    "N06AX11", "N06AX16", "N06AA09", "C03CA01", "C03AA03", "C03DA01", "C03EA01", "N02AA01", "N02AA05",
    "N02AX02", "N02AJ06", "N02BE01", "N02BE51", "B01AC06", "B01AA03", "B01AF01", "B01AF02", "B01AB01",
    "A10BA02", "A10AE04", "A10AB05", "A10BJ02", "A10BK01", "C07AB02", "C07AB07", "C07AG02", "R03AC02",
    "R03AK06", "R03BB04", "R03BA02", "C09AA05", "C09CA01", "C09CA06", "C08CA01", "C08CA13", "C10AA01",
    "C10AA05", "C10AA07", "C01DA02", "C01AA05", "A02BC01", "A02BC02", "A02BC05", "A06AD11", "A06AD65",
    "A06AB06", "A12AX", "A11CC05", "A07EA06", "M01AE01", "M01AB05", "M04AA01", "M05BA04", "H03AA01",
    "H02AB06", "H02AB04", "G04CA02", "G04BD08", "G04CB01", "J01CA04", "J01CE02", "J01CR02", "J01MA02",
    "J01XE01", "J01EA01", "J01FA09", "L02AE02", "L04AX03", "S01ED01", "S01EE01", "D07AC01", "D01AC20",
    "N03AX12", "N03AX16", "N03AF01", "N04BA02", "N04BC05", "N06DA02", "N06DX01", "R06AE07", "B03BA01",
)  # fmt: skip
DIAGNOSES_PER_YEAR, PRESCRIPTIONS_PER_YEAR, GP_CONTACTS_PER_YEAR = 10.0, 40.0, 12.0


def workload_spec() -> FeatureSetSpec:
    """The 56 features: count and distinct count of diagnosis and drug codes, GP contacts and services,
    each over 30, 90, 365 and 730 days; counts of 8 diagnosis and 8 drug groups over 365 and 730 days."""
    windows = tuple(Window(0, days) for days in WINDOW_DAYS)
    long = (Window(0, 365), Window(0, 730))
    features = [
        FeatureSpec("diagnoses", "diagnoses", "count", windows),
        FeatureSpec("diagnoses", "diagnoses", "distinct_count", windows, value="icd10_code"),
        FeatureSpec("drugs", "prescriptions", "count", windows),
        FeatureSpec("drugs", "prescriptions", "distinct_count", windows, value="atc"),
        FeatureSpec("gp_contacts", "gp_services", "count", windows),
        FeatureSpec("gp_services", "gp_services", "sum", windows, value="services"),
        *(
            FeatureSpec(
                f"diagnoses_{g.lower()}",
                "diagnoses",
                "count",
                long,
                row_filter=RowFilter(icd10_categories=(g,)),
            )
            for g in DIAGNOSIS_GROUPS
        ),
        FeatureSpec(
            "diagnoses_c", "diagnoses", "count", long, row_filter=RowFilter(icd10_blocks=("C00-C99",))
        ),
        *(
            FeatureSpec(
                f"drugs_{g.lower()}", "prescriptions", "count", long, row_filter=RowFilter(atc_prefixes=(g,))
            )
            for g in DRUG_GROUPS
        ),
    ]
    return FeatureSetSpec("issue-15-workload", tuple(features))


def _zipf(count: int, exponent: float = 1.1) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    return weights / weights.sum()


def _events(
    rng: np.random.Generator, frailty: np.ndarray, per_year: float, codes: int, repertoire: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person, time in microseconds, code index): Poisson counts per person scaled by frailty, uniform
    days over the history, a time strictly inside the day, codes from a personal Zipf repertoire."""
    counts = rng.poisson(per_year * YEARS * frailty)
    person = np.repeat(np.arange(frailty.size, dtype=np.int32), counts)
    days = rng.integers(0, int(YEARS * 365.25), size=person.size)
    seconds = rng.integers(1, 86_400, size=person.size)  # never midnight
    start_us = HISTORY_START.value // 1000
    time = start_us + days * 86_400_000_000 + seconds * 1_000_000
    popularity = _zipf(codes)
    chosen = np.stack([rng.choice(codes, size=frailty.size, p=popularity) for _ in range(repertoire)], axis=1)
    slot = np.minimum(rng.geometric(0.12, size=person.size) - 1, repertoire - 1)
    return person, time.astype(np.int64), chosen[person, slot].astype(np.int16)


def generate(persons: int, folder: Path, seed: int = SEED) -> None:
    """Write population, hospital_diagnoses, prescriptions and gp_services Parquet files into ``folder``."""
    rng = np.random.default_rng(seed)
    age_days = ((65 + np.minimum(rng.exponential(10.0, persons), 39.9)) * 365.25).astype(np.int64)
    frailty = rng.gamma(2.0, 0.5, persons)
    folder.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    connection.execute("SET preserve_insertion_order = false")
    people = pa.table({"person": np.arange(persons, dtype=np.int32), "age_days": age_days})
    connection.register("people", people)
    bitemporal = (
        "md5('p' || person) AS person_key, _valid_time, _valid_time AS _delivered_at, "
        "md5('{table}' || row_number() OVER ()) AS _record_key, _valid_time AS _ingested_at, "
        "'b1' AS _batch_id"
    )
    connection.execute(
        f"""COPY (SELECT md5('p' || person) AS person_key,
                 DATE '2024-01-01' - CAST(age_days AS INTEGER) AS birth_date,
                 CASE WHEN person % 2 = 0 THEN 'F' ELSE 'M' END AS sex, '01' AS status, '101' AS municipality,
                 '101-0' || (person % 8) AS district, 'G' AS civil_status, 1 + person % 2 AS household_size,
                 TIMESTAMP '1990-01-01' AS spell_start, CAST(NULL AS TIMESTAMP) AS spell_end,
                 TIMESTAMP '1990-01-01' AS _valid_time, TIMESTAMP '1990-01-01' AS _delivered_at,
                 md5('pop' || person) AS _record_key,
                 md5_number_upper(md5('pop' || person)) AS _record_key_hash,
                 TIMESTAMP '1990-01-01' AS _ingested_at,
                 'b0' AS _batch_id
             FROM people) TO '{folder / "population.parquet"}' (FORMAT parquet)"""
    )
    sources = {
        "hospital_diagnoses": (DIAGNOSES_PER_YEAR, ICD10_CODES, 8),
        "prescriptions": (PRESCRIPTIONS_PER_YEAR, ATC_CODES, 16),
        "gp_services": (GP_CONTACTS_PER_YEAR, ("801000",), 1),
    }
    for table, (per_year, vocabulary, repertoire) in sources.items():
        person, time, code = _events(rng, frailty, per_year, len(vocabulary), repertoire)
        events = pa.table(
            {
                "person": person,
                "time_us": time,
                "code": pa.DictionaryArray.from_arrays(code, pa.array(vocabulary)),
                "services": (1 + rng.poisson(0.6, person.size)).astype(np.int32),
            }
        )
        connection.register("events", events)
        columns = {
            "hospital_diagnoses": "md5('c' || row_number() OVER ()) AS contact_id, "
            "_valid_time AS contact_start, "
            "'D' || CAST(code AS VARCHAR) AS diagnosis_code, 'A' AS diagnosis_type, FALSE AS retracted",
            "prescriptions": "_valid_time AS dispensing_date, CAST(code AS VARCHAR) AS atc, "
            "'000001' AS product_number, 1.0 AS packages, 1.0 AS ddd",
            "gp_services": "_valid_time AS service_date, '801000' AS specialty, services, "
            "'dag' AS time_of_day",
        }[table]
        connection.execute(
            f"""COPY (SELECT *, md5_number_upper(_record_key) AS _record_key_hash
                 FROM (SELECT {bitemporal.format(table=table)}, {columns}
                       FROM (SELECT *, make_timestamp(time_us) AS _valid_time FROM events)))
                 TO '{folder / f"{table}.parquet"}' (FORMAT parquet)"""
        )
        connection.unregister("events")
    connection.close()


def world_folder(persons: int, seed: int = SEED) -> Path:
    """The folder of the workload world of this size, generated on first use."""
    folder = DATA_FOLDER / f"workload-{persons}-seed{seed}-form{WORLD_FORM}"
    if not (folder / "gp_services.parquet").exists():
        generate(persons, folder.with_name(folder.name + ".partial"), seed)
        folder.with_name(folder.name + ".partial").rename(folder)
    return folder


def connect(folder: Path, *, key_index: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per workload table and, with ``key_index``, each table's key
    index, as ``Warehouse.connect`` exposes a warehouse after an ingest run (D152). The index is written
    into ``folder/_key_index/`` on first use, as ingest writes it once."""
    connection = duckdb.connect()
    for path in sorted(folder.glob("*.parquet")):
        relation = f"read_parquet('{path}')"
        connection.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM {relation}")
        if not key_index:
            continue
        index.write_missing_index(folder, path.stem, [path], connection, relation)
        stored = index.read_index(folder, path.stem, index.files_identity(folder, [path]))
        if stored is not None:
            connection.register(index.index_relation(path.stem), stored)
    return connection


def cohort(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every person at every prediction date (the workload has no cohort rules)."""
    people = connection.execute(
        "SELECT person_key, birth_date, sex, municipality, district, household_size FROM population"
    ).df()
    frames = []
    for date in PREDICTION_DATES:
        frames.append(
            pd.DataFrame(
                {
                    "person_key": people["person_key"],
                    "prediction_date": date,
                    "municipality": people["municipality"],
                    "district": people["district"],
                    "age_years": ((date - pd.to_datetime(people["birth_date"])).dt.days // 365.25).astype(
                        float
                    ),
                    "sex_female": (people["sex"] == "F").astype(float),
                    "living_alone": (people["household_size"] == 1).astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
