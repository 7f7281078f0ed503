"""The operational-DB inputs of a monitor run, and the visit yield from the review app's decisions."""

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from monitoring.sources import OperationalLists
from monitoring.visits import read_visit_decisions, visit_yield
from review import tables as review_tables
from screening.store import ListToPublish, operational_engine, publish_lists

CREATED = dt.datetime(2024, 1, 1, 6, tzinfo=dt.UTC)


def a_list(list_id, people, scored, as_of=dt.date(2024, 1, 1)):
    header = {
        "list_id": list_id,
        "district": "d1",
        "municipality": "101",
        "as_of_date": as_of,
        "model_versions": {"admission": "4"},
        "feature_set_version": "fs",
        "data_batches": ["b1"],
        "run_id": "r",
        "capacity": len(people),
    }
    entries = [
        {
            "rank": rank,
            "person_key": person,
            "risk": 0.9 - rank / 100,
            "risk_previous": None,
            "risk_change": None,
            "new_on_list": True,
            "flags": [],
            "reasons_da": [],
            "reasons_en": [],
            "suggested_action_da": "a",
            "suggested_action_en": "a",
            "outcome": "admission",
        }
        for rank, person in enumerate(people, start=1)
    ]
    return ListToPublish(header, entries, [], [{"person_key": key, "risk": 0.1} for key in scored])


@pytest.fixture
def engine(tmp_path):
    engine = operational_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    yield engine
    engine.dispose()


def test_published_lists_and_their_scores_are_read_with_who_was_listed(engine):
    people = [f"p{i}" for i in range(3)]
    publish_lists(engine, [a_list("L1", people, [*people, "q1", "q2"])], created_at=CREATED)
    source = OperationalLists(engine)
    lists = source.published_lists()
    assert list(lists["list_id"]) == ["L1"]
    assert lists["model_versions"].iloc[0] == {"admission": "4"}
    scores = source.list_scores("L1")
    assert len(scores) == 5
    assert set(scores.loc[scores["listed"], "person_key"]) == set(people)
    assert set(scores["district"]) == {"d1"}


def test_listed_persons_without_a_stored_score_still_count(engine):
    publish_lists(engine, [a_list("L1", ["p1", "p2"], [])], created_at=CREATED)
    scores = OperationalLists(engine).list_scores("L1")
    assert sorted(scores["person_key"]) == ["p1", "p2"]
    assert scores["listed"].all()


def test_decisions_are_empty_before_the_review_app_made_its_tables(engine):
    assert read_visit_decisions(engine).empty


def record_decisions(engine, rows):
    review_tables.metadata.create_all(engine, tables=[review_tables.users, review_tables.decisions])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(review_tables.users).values(
                user_id=1,
                username="nurse",
                role="clinician",
                districts=["d1"],
                auth_provider="local",
                active=True,
                created_at=dt.datetime(2024, 1, 1),
            )
        )
        connection.execute(
            sa.insert(review_tables.decisions),
            [
                {
                    "list_id": "L1",
                    "person_key": person,
                    "district": "d1",
                    "user_id": 1,
                    "role": "clinician",
                    "decided_at": dt.datetime(2024, 1, 2 + order),
                    "action": action,
                    "new_problem_found": found,
                    "referred_to_gp": False,
                }
                for order, (person, action, found) in enumerate(rows)
            ],
        )


def test_yield_counts_the_latest_decision_per_citizen(engine):
    visits = [(f"p{i}", "visit_done", i < 6) for i in range(10)]
    record_decisions(engine, [("p0", "not_relevant", None), *visits, ("x1", "not_relevant", None)])
    decisions = OperationalLists(engine).decisions()
    row = visit_yield(decisions, ["L1"]).iloc[0]
    assert row["decided"] == 11
    assert row["visits_done"] == 10
    assert row["new_problems"] == 6
    assert row["yield_rate"] == pytest.approx(0.6)
    assert pd.isna(row["not_relevant"])  # one person: suppressed


def test_a_list_with_few_decisions_is_suppressed_whole(engine):
    record_decisions(engine, [(f"p{i}", "visit_done", True) for i in range(3)])
    row = visit_yield(read_visit_decisions(engine), ["L1"]).iloc[0]
    assert row["suppressed"]
    assert pd.isna(row["decided"])
