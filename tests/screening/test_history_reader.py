"""History is read as known at the as-of date: corrections known by then win, later ones do not."""

import datetime as dt

import duckdb
import pandas as pd

from screening.history_reader import read_birth_years, read_history

AS_OF = dt.date(2024, 3, 4)


def warehouse() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    weights = pd.DataFrame(
        {
            "person_key": ["p1", "p1", "p1", "p1", "p2"],
            "_record_key": ["w1", "w1", "w2", "w3", "w4"],
            "measured_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-05", "2024-01-01"]
            ),
            "weight_kg": [70.0, 71.0, 69.0, 60.0, 80.0],
            "_valid_time": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-05", "2024-01-01"]
            ),
            "_delivered_at": pd.to_datetime(
                ["2024-01-02", "2024-03-01", "2024-03-10", "2024-03-06", "2024-01-02"]
            ),
            "_batch_id": ["a", "b", "c", "d", "a"],
        }
    )
    weights["_ingested_at"] = weights["_delivered_at"]
    population = pd.DataFrame(
        {
            "person_key": ["p1", "p1"],
            "_record_key": ["s1", "s2"],
            "birth_date": pd.to_datetime(["1944-05-01", "1944-05-01"]),
            "_valid_time": pd.to_datetime(["1990-01-01", "2030-01-01"]),
            "_delivered_at": pd.to_datetime(["2019-01-01", "2019-01-01"]),
            "_batch_id": ["p", "p"],
        }
    )
    population["_ingested_at"] = population["_delivered_at"]
    connection.register("weights_frame", weights)
    connection.execute("CREATE TABLE weights AS SELECT * FROM weights_frame")
    connection.register("population_frame", population)
    connection.execute("CREATE TABLE population AS SELECT * FROM population_frame")
    return connection


def rows_of(history, person, table):
    frame = history.get(table, pd.DataFrame({"person_key": []}))
    return frame.loc[frame["person_key"] == person]


def test_corrections_known_by_the_date_win_and_later_deliveries_are_invisible():
    history = read_history(warehouse(), ["p1"], AS_OF)
    rows = rows_of(history, "p1", "weights")
    assert list(rows["weight_kg"]) == [71.0]  # w1 corrected on 1 March; w2 delivered after; w3 after as-of


def test_only_the_asked_citizens_are_read_and_missing_tables_are_skipped():
    history = read_history(warehouse(), ["p2", "p3"], AS_OF)
    assert set(history) == {"weights"}  # population is not a history table; absent tables are skipped
    assert set(history["weights"]["person_key"]) == {"p2"}  # p1 was not asked for; p3 has no rows
    assert list(rows_of(history, "p2", "weights")["weight_kg"]) == [80.0]


def test_birth_year_from_the_latest_known_spell():
    assert read_birth_years(warehouse(), ["p1", "p2"], AS_OF) == {"p1": 1944}


def test_a_tie_in_delivery_time_resolves_as_the_features_layer_resolves_it():
    from features.known_rows import known_at_sql

    connection = duckdb.connect()
    weights = pd.DataFrame(
        {
            "person_key": ["p1"] * 4,
            "_record_key": ["w1", "w1", "w2", "w2"],
            "measured_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
            "weight_kg": [70.0, 71.0, 80.0, 81.0],
            "_valid_time": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"]),
            "_delivered_at": pd.to_datetime(["2024-01-05"] * 4),
            # w1: the later landing wins; w2: landed together, the greater batch ID wins
            "_ingested_at": pd.to_datetime(
                ["2024-01-06 10:00", "2024-01-06 11:00", "2024-01-06 10:00", "2024-01-06 10:00"]
            ),
            "_batch_id": ["b2", "b1", "b1", "b3"],
        }
    )
    connection.register("weights_frame", weights)
    connection.execute("CREATE TABLE weights AS SELECT * FROM weights_frame")
    rows = rows_of(read_history(connection, ["p1"], AS_OF), "p1", "weights")
    assert dict(zip(rows["_record_key"], rows["weight_kg"], strict=True)) == {"w1": 71.0, "w2": 81.0}
    t = pd.Timestamp(AS_OF)
    features_view = connection.execute(known_at_sql("weights", "?"), [t, t]).df()
    assert sorted(features_view["weight_kg"]) == sorted(rows["weight_kg"])
