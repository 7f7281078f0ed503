"""Tiny warehouses for feature tests: pandas frames written inline as CSV text, registered in DuckDB.

Each table gets the bitemporal columns of docs/interfaces.md section 2. Where a CSV leaves them out:
``_valid_time`` comes from the table's event column, ``_delivered_at`` equals ``_valid_time``,
``_record_key`` is unique per row, ``_ingested_at`` equals ``_delivered_at`` and ``_batch_id`` is "b1".
"""

from __future__ import annotations

import io
from collections.abc import Callable

import duckdb
import pandas as pd
import pytest

VALID_TIME_COLUMN = {
    "population": "spell_start",
    "deaths": "death_date",
    "hospital_contacts": "contact_start",
    "hospital_diagnoses": "contact_start",
    "prescriptions": "dispensing_date",
    "gp_services": "service_date",
    "fsiii_functional_ability": "assessed_date",
    "fsiii_health_conditions": "recorded_date",
    "home_care": "month",
    "home_nursing_visits": "visit_date",
    "nursing_home_stays": "month",
    "falls": "fall_date",
    "weights": "measured_date",
    "preventive_visits": "visit_date",
    "early_detection_observations": "observed_at",
}

TIME_COLUMNS = {
    "birth_date", "spell_start", "spell_end", "death_date", "contact_start", "contact_end",
    "dispensing_date", "service_date", "assessed_date", "recorded_date", "month", "visit_date",
    "fall_date", "measured_date", "observed_at", "_valid_time", "_delivered_at", "_ingested_at",
}  # fmt: skip

STRING_COLUMNS = {
    "person_key", "_record_key", "_batch_id", "status", "municipality", "district", "sex", "civil_status",
    "contact_id", "diagnosis_code", "action_diagnosis", "atc", "specialty", "code", "domain", "area",
}  # fmt: skip


def bitemporal_frame(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` completed with the bitemporal columns (defaults in the module docstring)."""
    result = frame.copy()
    for column in result.columns:
        if column in TIME_COLUMNS:
            result[column] = pd.to_datetime(result[column], format="ISO8601").astype("datetime64[us]")
    if "_valid_time" not in result:
        result["_valid_time"] = result[VALID_TIME_COLUMN[table]].astype("datetime64[us]")
    if "_delivered_at" not in result:
        result["_delivered_at"] = result["_valid_time"]
    if "_record_key" not in result:
        result["_record_key"] = [f"{table}-{index}" for index in range(len(result))]
    if "_ingested_at" not in result:
        result["_ingested_at"] = result["_delivered_at"]
    if "_batch_id" not in result:
        result["_batch_id"] = "b1"
    return result


def frame_from_csv(text: str) -> pd.DataFrame:
    """A frame from inline CSV text (leading spaces per line ignored)."""
    lines = "\n".join(line.strip() for line in text.strip().splitlines())
    return pd.read_csv(io.StringIO(lines), dtype=dict.fromkeys(STRING_COLUMNS, str))


def register_tables(connection: duckdb.DuckDBPyConnection, tables: dict[str, pd.DataFrame]) -> None:
    """Create each frame as a DuckDB table under its warehouse name."""
    for name, frame in tables.items():
        view = f"_frame_{name}"
        connection.register(view, bitemporal_frame(name, frame))
        connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {view}")
        connection.unregister(view)


@pytest.fixture
def warehouse() -> Callable[..., duckdb.DuckDBPyConnection]:
    """Factory: ``warehouse(population=frame, hospital_contacts=frame, ...)`` -> in-memory connection."""
    connections: list[duckdb.DuckDBPyConnection] = []

    def make(**tables: pd.DataFrame) -> duckdb.DuckDBPyConnection:
        connection = duckdb.connect()
        register_tables(connection, tables)
        connections.append(connection)
        return connection

    yield make
    for connection in connections:
        connection.close()
