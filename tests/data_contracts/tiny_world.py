"""A tiny synthetic world in the delivery shapes of docs/interfaces.md section 1, for fast tests.

Twelve invented citizens (CPR-shaped numbers that belong to no one), two monthly extracts of the registry
files and a care-record SQLite database. Tests break copies of these files to provoke each failure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines.settings import Settings

CITIZENS = 12
FIRST_EXTRACT = "2021-01-01"
SECOND_EXTRACT = "2021-02-01"


def cpr_number(index: int) -> str:
    """An invented 10-digit CPR-shaped number (born 1940-1949)."""
    return f"{index % 28 + 1:02d}{index % 12 + 1:02d}{40 + index % 10:02d}{4000 + index:04d}"


def cprs(count: int = CITIZENS) -> list[str]:
    return [cpr_number(index) for index in range(count)]


def birth_date(index: int) -> str:
    return f"19{40 + index % 10}-{index % 12 + 1:02d}-{index % 28 + 1:02d}"


def write_csv(landing: Path, source: str, extract: str, frame: pd.DataFrame) -> Path:
    folder = landing / source / extract
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source}.csv"
    frame.to_csv(path, index=False)
    return path


def write_parquet(landing: Path, source: str, extract: str, frame: pd.DataFrame) -> Path:
    folder = landing / source / extract
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{source}.parquet"
    frame.to_parquet(path, index=False)
    return path


def population_frame(count: int = CITIZENS) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "PNR": cprs(count),
            "FOED_DAG": [birth_date(i) for i in range(count)],
            "KOEN": ["M" if i % 2 else "K" for i in range(count)],
            "NAVN": [f"Borger Nummer{i}" for i in range(count)],
            "STATUS": "01",
            "KOM": "101",
            "DISTRIKT": "101-01",
            "CIVST": "G",
            "ANTPERSH": 2,
            "BOP_VFRA": "2000-01-01",
            "BOP_VTIL": "",
        }
    )


def contacts_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "DW_EK_KONTAKT": ["K1", "K2", "K3"],
            "PNR": cprs()[:3],
            "KONT_STARTTIDSPUNKT": pd.to_datetime(
                ["2021-01-05 10:00", "2021-01-10 08:00", "2021-01-12 22:00"]
            ),
            "KONT_SLUTTIDSPUNKT": pd.to_datetime(
                ["2021-01-07 10:00", "2021-01-10 12:00", "2021-01-14 09:00"]
            ),
            "KONT_TYPE": ["ALCA00", "ALCA03", "ALCA00"],
            "PRIORITET": ["ATA1", "ATA3", "ATA1"],
            "ADIAG": ["DI500", "DJ441", "DS720"],
            "KONT_ANS": ["1301011", "1301011", "1301012"],
        }
    )


def diagnoses_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "DW_EK_KONTAKT": ["K1", "K1", "K2", "K3"],
            "DIAG_KODE": ["DI500", "DE86", "DJ441", "DS720"],
            "DIAG_KODE_TYPE": ["A", "B", "A", "A"],
            "SENERE_AFKRAEFTET": [0, 0, 0, 1],
        }
    )


def write_registry_files(landing: Path) -> None:
    """Two extracts: the population (second one closes a spell: a correction), deaths, LPR3, LMDB, SSSY."""
    population = population_frame()
    write_csv(landing, "cpr_population", FIRST_EXTRACT, population)
    correction = population.iloc[[0]].assign(BOP_VTIL="2021-01-20", STATUS="80")
    write_csv(landing, "cpr_population", SECOND_EXTRACT, correction)
    write_csv(
        landing,
        "deaths",
        SECOND_EXTRACT,
        pd.DataFrame({"PNR": [cprs()[5]], "DODDATO": ["2021-01-15"], "DODSAARSAG": [""]}),
    )
    write_parquet(landing, "lpr3_contacts", SECOND_EXTRACT, contacts_frame())
    write_parquet(landing, "lpr3_diagnoses", SECOND_EXTRACT, diagnoses_frame())
    write_csv(
        landing,
        "lmdb_products",
        FIRST_EXTRACT,
        pd.DataFrame(
            {
                "VNR": ["100001", "100002"],
                "ATC": ["N05BA01", "C03CA01"],
                "PRODUCT_NAME": ["Diazepam", "Furosemid"],
                "PACKSIZE": [25.0, 100.0],
                "DDD_PER_PACK": [2.5, 50.0],
            }
        ),
    )
    write_csv(
        landing,
        "lmdb_prescriptions",
        SECOND_EXTRACT,
        pd.DataFrame(
            {
                "PNR": cprs()[:4],
                "EKSD": ["2021-01-03", "2021-01-04", "2021-01-05", "2021-01-06"],
                "ATC": ["N05BA01", "C03CA01", "C03CA01", "N05BA01"],
                "VNR": ["100001", "100002", "100002", "100001"],
                "APK": [1.0, 2.0, 1.0, 1.0],
                "PACKSIZE": [25.0, 100.0, 100.0, 25.0],
                "STRNUM": [5.0, 40.0, 40.0, 5.0],
                "STRUNIT": ["mg", "mg", "mg", "mg"],
                "INDO": ["", "mod vand i kroppen", "", ""],
            }
        ),
    )
    write_csv(
        landing,
        "sssy_services",
        SECOND_EXTRACT,
        pd.DataFrame(
            {
                "PNR": cprs()[:3],
                "SPECIALE": ["800101", "800101", "800101"],
                "HONUGE": ["2101", "2102", "2102"],
                "BEHANDLINGSDATO": ["2021-01-05", "", "2021-01-12"],
                "YDLANT": [1, 2, 1],
                "YDLTID": ["dag", "dag", "aften"],
            }
        ),
    )


def write_care_database(path: Path) -> None:
    """home_care, falls and weights tables; one home-care row is later corrected (same id)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    people = cprs()
    pd.DataFrame(
        {
            "id": [1, 2, 3],
            "cpr": people[:3],
            "month": ["2021-01-01", "2021-01-01", "2021-02-01"],
            "perpl_vis": [120, 60, 90],
            "perpl_lev": [110, 60, 80],
            "prahj_vis": [30, 0, 30],
            "prahj_lev": [30, 0, 25],
            "provider_type": ["municipal", "private", "municipal"],
            "registered_at": ["2021-01-03 09:00:00", "2021-01-04 10:00:00", "2021-02-02 11:00:00"],
        }
    ).to_sql("home_care", engine, index=False)
    pd.DataFrame(
        {
            "id": [1, 2],
            "cpr": people[3:5],
            "fall_date": ["2021-01-08", "2021-01-20"],
            "injury": [1, 0],
            "registered_at": ["2021-01-09 08:00:00", "2021-01-21 08:30:00"],
        }
    ).to_sql("falls", engine, index=False)
    pd.DataFrame(
        {
            "id": [1, 2, 3],
            "cpr": people[:3],
            "measured_date": ["2021-01-02", "2021-01-02", "2021-01-30"],
            "weight_kg": [71.5, 64.0, 70.1],
            "registered_at": ["2021-01-02 12:00:00", "2021-01-02 12:05:00", "2021-01-30 12:00:00"],
        }
    ).to_sql("weights", engine, index=False)
    engine.dispose()


def write_tiny_world(home: Path, deployment: str = "research") -> Settings:
    """Write the tiny world under ``home`` and return demo settings pointing at it."""
    settings = Settings(home=home, demo=True, deployment=deployment)  # type: ignore[arg-type]
    assert settings.landing_dir is not None
    assert settings.world_dir is not None
    write_registry_files(settings.landing_dir)
    write_care_database(settings.world_dir / "care.sqlite")
    return settings
