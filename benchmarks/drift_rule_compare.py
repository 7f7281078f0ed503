"""Items the old (band + p-value) and the size-aware (D105) drift rule open on a home's recorded drift rows.

Run: `python -m benchmarks.drift_rule_compare HOME` after `tidlig monitor` has recorded drift in HOME.
"""

from __future__ import annotations

import sys

import sqlalchemy as sa

from monitoring.alerts import drift_items
from monitoring.config import MonitorConfig
from monitoring.store import read_drift_history


def main(home: str) -> None:
    engine = sa.create_engine(f"sqlite:///{home}/operational.sqlite")
    history = read_drift_history(engine)
    for day, recorded in history.groupby("as_of_date"):
        rows = recorded.reset_index(drop=True)
        new = drift_items(rows, MonitorConfig(), day)
        old = drift_items(rows.assign(bins=None), MonitorConfig(), day)  # no noise allowance: the old rule
        districts = rows.loc[rows["district"] != "all", "n_current"]
        print(
            f"{day}: {len(rows)} cells, district persons median {districts.median():.0f} "
            f"(min {districts.min():.0f}); old rule {len(old)} items "
            f"({sum(i.holds_publication for i in old)} holding); size-aware {len(new)} items "
            f"({sum(i.holds_publication for i in new)} holding)"
        )
        kept = {item.item_id for item in new}
        for item in old:
            print(
                f"    {item.scope['district']} {item.scope['feature']} PSI {item.value:.3f} "
                f"n {item.evidence['n_current']}: {'kept' if item.item_id in kept else 'noise at this size'}"
            )
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
