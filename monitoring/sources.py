"""The operational-database half of :class:`monitoring.run.MonitorInputs`: published lists, their scores and
the clinicians' decisions. The flow adds the other half (features, outcomes, history start) from the
warehouse, the feature sets and MLflow, e.g. by subclassing or composing this class.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from monitoring.visits import read_visit_decisions
from screening.store import screening_list_entries, screening_lists, screening_scores


class OperationalLists:
    """Reads the screening layer's tables and the review app's decisions (never writes them)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def published_lists(self) -> pd.DataFrame:
        """Every list, current or not: ``list_id``, ``district``, ``as_of_date``, ``capacity``,
        ``model_versions``, ``status``, oldest first."""
        columns = ["list_id", "district", "as_of_date", "capacity", "model_versions", "status"]
        query = sa.select(*(screening_lists.c[name] for name in columns)).order_by(
            screening_lists.c.as_of_date, screening_lists.c.district, screening_lists.c.list_id
        )
        with self.engine.connect() as connection:
            return pd.DataFrame(connection.execute(query).all(), columns=columns)

    def list_scores(self, list_id: str) -> pd.DataFrame:
        """``person_key``, ``risk``, ``listed``, ``district`` of everyone scored at the list.

        A list published before scores were stored has only its entries: then the listed persons are all
        that is known, and expected discrimination is computed among them only.
        """
        with self.engine.connect() as connection:
            district = connection.execute(
                sa.select(screening_lists.c.district).where(screening_lists.c.list_id == list_id)
            ).scalar_one()
            scores = pd.DataFrame(
                connection.execute(
                    sa.select(screening_scores.c.person_key, screening_scores.c.risk).where(
                        screening_scores.c.list_id == list_id
                    )
                ).all(),
                columns=["person_key", "risk"],
            )
            entries = pd.DataFrame(
                connection.execute(
                    sa.select(screening_list_entries.c.person_key, screening_list_entries.c.risk).where(
                        screening_list_entries.c.list_id == list_id
                    )
                ).all(),
                columns=["person_key", "risk"],
            )
        listed = set(entries["person_key"])
        missing = entries.loc[~entries["person_key"].isin(scores["person_key"])]
        frame = pd.concat([scores, missing], ignore_index=True)
        return frame.assign(listed=frame["person_key"].isin(listed), district=str(district))

    def decisions(self) -> pd.DataFrame:
        """The review app's decisions (empty before the app has created its tables)."""
        return read_visit_decisions(self.engine)
