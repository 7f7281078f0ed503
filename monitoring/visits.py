"""What the visits found: yield per list from the decisions clinicians record in the review app.

For each (list, citizen) the latest decision counts (as in the review app's own feedback page). Yield is
new problems found per completed visit (``visit_done``). Counts that could single out a person are
suppressed (``monitoring.disclosure``). The decisions are read from the review app's ``review_decisions``
table by name (:func:`read_visit_decisions`); monitoring never writes the app's tables.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from monitoring.disclosure import cell_is_disclosable, disclosable_count

DECISIONS_TABLE = "review_decisions"
DECISION_COLUMNS = (
    "list_id",
    "person_key",
    "district",
    "decided_at",
    "action",
    "new_problem_found",
    "referred_to_gp",
)
YIELD_COLUMNS = (
    "list_id",
    "decided",
    "visits_done",
    "new_problems",
    "referred_to_gp",
    "not_relevant",
    "yield_rate",
    "suppressed",
)


def read_visit_decisions(engine: sa.Engine) -> pd.DataFrame:
    """The review app's decisions (:data:`DECISION_COLUMNS`); empty before the app made its tables."""
    if not sa.inspect(engine).has_table(DECISIONS_TABLE):
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    table = sa.Table(DECISIONS_TABLE, sa.MetaData(), autoload_with=engine)
    query = sa.select(*(table.c[name] for name in DECISION_COLUMNS)).order_by(table.c.decision_id)
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=list(DECISION_COLUMNS))


def visit_yield(decisions: pd.DataFrame, list_ids: list[str]) -> pd.DataFrame:
    """One row per list in ``list_ids`` (:data:`YIELD_COLUMNS`), small counts suppressed."""
    latest = (
        decisions.assign(_at=pd.to_datetime(decisions["decided_at"]), _order=range(len(decisions)))
        .sort_values(["_at", "_order"], kind="stable")
        .drop_duplicates(["list_id", "person_key"], keep="last")
    )
    rows = []
    for list_id in list_ids:
        cell = latest.loc[latest["list_id"] == list_id]
        done = cell["action"] == "visit_done"
        counts = {
            "decided": len(cell),
            "visits_done": int(done.sum()),
            "new_problems": int((done & cell["new_problem_found"].fillna(False).astype(bool)).sum()),
            "referred_to_gp": int((done & cell["referred_to_gp"].fillna(False).astype(bool)).sum()),
            "not_relevant": int((cell["action"] == "not_relevant").sum()),
        }
        if not cell_is_disclosable(counts["decided"]):
            rows.append({"list_id": list_id, "suppressed": True} | dict.fromkeys(counts))
            continue
        shown = {name: disclosable_count(value) for name, value in counts.items()}
        rate = (
            shown["new_problems"] / shown["visits_done"]
            if shown["visits_done"] and shown["new_problems"] is not None
            else None
        )
        rows.append({"list_id": list_id, **shown, "yield_rate": rate, "suppressed": False})
    return pd.DataFrame(rows, columns=list(YIELD_COLUMNS))
