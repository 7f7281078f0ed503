"""The monitor over a real operational database: lists published by the screening layer, decisions recorded
by the review app, a run recorded, publication held and released."""

import datetime as dt

import numpy as np
import sqlalchemy as sa

from monitoring.config import MonitorConfig
from monitoring.run import run_monitor
from monitoring.sources import OperationalLists
from monitoring.store import (
    acknowledge_item,
    create_schema,
    evaluated_stages,
    publication_holds,
    read_expected_vs_realised,
    read_review_items,
    read_visit_yield,
    record_report,
)
from review import tables as review_tables
from screening.store import ListToPublish, operational_engine, publish_lists
from tests.monitoring.world import World

CONFIG = MonitorConfig(simulations=20)


class Inputs(OperationalLists):
    """Lists, scores and decisions from the operational DB; features and outcomes from the test world."""

    def __init__(self, engine, world):
        super().__init__(engine)
        self.world = world

    def outcomes(self, list_id, observed_until):
        return self.world.outcomes(list_id, observed_until)

    def reference_features(self):
        return self.world.reference_features()

    def current_features(self, as_of):
        return self.world.current_features(as_of)

    def feature_names(self):
        return self.world.feature_names()

    def history_start(self):
        return self.world.history_start()


def publish_world(engine, world):
    for header in world.published_lists().to_dict("records"):
        scored = world.list_scores(header["list_id"])
        listed = scored.loc[scored["listed"]].sort_values("risk", ascending=False)
        entries = [
            {
                "rank": rank,
                "person_key": row.person_key,
                "risk": row.risk,
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
            for rank, row in enumerate(listed.itertuples(), start=1)
        ]
        publish_lists(
            engine,
            [
                ListToPublish(
                    {
                        **header,
                        "municipality": "101",
                        "feature_set_version": "fs",
                        "data_batches": [],
                        "run_id": f"run-{header['as_of_date']}",
                    },
                    entries,
                    [],
                    scored[["person_key", "risk"]].to_dict("records"),
                )
            ],
            created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        )


def record_visits(engine, list_id, people):
    review_tables.metadata.create_all(engine, tables=[review_tables.users, review_tables.decisions])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(review_tables.users).values(
                user_id=1, username="nurse", role="clinician", districts=["d1"], auth_provider="local",
                active=True, created_at=dt.datetime(2024, 1, 1),
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(review_tables.decisions),
            [
                {"list_id": list_id, "person_key": person, "district": "d1", "user_id": 1,
                 "role": "clinician", "decided_at": dt.datetime(2024, 1, 10), "action": "visit_done",
                 "new_problem_found": bool(number % 2), "referred_to_gp": False}
                for number, person in enumerate(people)
            ],
        )  # fmt: skip


def test_a_weekly_monitor_over_the_operational_database(tmp_path):
    engine = operational_engine(f"sqlite:///{tmp_path / 'operational.sqlite'}")
    create_schema(engine)
    world = World(home_care_stops_in="d2")
    publish_world(engine, world)
    listed = world.list_scores("d1-2024-01-01").query("listed")["person_key"].tolist()
    record_visits(engine, "d1-2024-01-01", listed[:20])
    inputs = Inputs(engine, world)

    report = run_monitor(inputs, CONFIG, dt.date(2024, 2, 1), evaluated=evaluated_stages(engine))
    assert record_report(engine, report, finished_at=dt.datetime(2024, 2, 1, 6, tzinfo=dt.UTC))
    table = read_expected_vs_realised(engine)
    assert len(table.drop_duplicates("list_id")) == 9
    assert set(table["maturity"].dropna()) == {"mature", "partial"}
    visits = read_visit_yield(engine)
    assert visits.loc[0, "visits_done"] == 20
    assert visits.loc[0, "yield_rate"] == 0.5
    assert len(publication_holds(engine)) == 2

    next_week = run_monitor(inputs, CONFIG, dt.date(2024, 2, 8), evaluated=evaluated_stages(engine))
    assert next_week.expected.empty  # every list was estimated last week
    assert next_week.realised.empty  # and evaluated at its maturity
    record_report(engine, next_week, finished_at=dt.datetime(2024, 2, 8, 6, tzinfo=dt.UTC))
    assert len(publication_holds(engine)) == 4  # the source is still stopped: new date, new items

    for item_id in read_review_items(engine, open_only=True)["item_id"]:
        acknowledge_item(engine, item_id, analyst="ana", note="d2 export fixed", at=dt.datetime(2024, 2, 9))
    assert publication_holds(engine) == []
    assert np.isfinite(table["expected_auroc"]).all()
    engine.dispose()
