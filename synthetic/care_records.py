"""Municipal care records for one block: the rows a care-record system (EOJ) would hold.

Each row gets ``registered_at`` (when the system wrote it: hours to days after the event; monthly rows
after the month). Rows registered after the world's end are not yet in the database. Corrections
rewrite a row under the same ``id`` with a later ``registered_at`` (the database is one snapshot, so
only the last version is kept): 1 % of home-care months, and I codes that later became ``inactive`` or
``entered-in-error``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from synthetic.codes import FSIII_FUNCTION_CODES
from synthetic.config import WorldConfig
from synthetic.deliveries import ID_STRIDE, arrow_column, at_minute
from synthetic.events import BlockHistory
from synthetic.simulate import PERSONAL_CARE_MINUTES, PRACTICAL_HELP_MINUTES
from synthetic.sources import CARE_TABLES, ColumnType

_EMPTY_DTYPE: dict[ColumnType, str] = {
    "str": "U1",
    "int": "int64",
    "float": "float64",
    "date": "datetime64[D]",
    "datetime": "datetime64[s]",
}


def care_table(table: str, block: int, columns: dict[str, np.ndarray]) -> pa.Table:
    """A care-record table with ids for this block, in the table's column order and types."""
    spec = CARE_TABLES[table]
    n = len(next(iter(columns.values())))
    columns = {"id": block * ID_STRIDE + np.arange(n, dtype=np.int64), **columns}
    arrays = []
    for name, column_type in spec.all_columns:
        values = np.asarray(columns[name])
        missing = None
        if column_type == "int" and name == "expected_score":
            missing = values < 0
            values = np.where(missing, 0, values)
        arrays.append(arrow_column(values, missing, column_type))
    return pa.table(arrays, names=list(spec.column_names))


class _CareRecords:
    """Builds the care tables of one block from its events, in a fixed order of random draws."""

    def __init__(self, config: WorldConfig, history: BlockHistory) -> None:
        self.rng = config.rng(history.block, 4)
        self.end = np.datetime64(config.extract_dates[-1], "s")
        self.month_starts = config.month_starts
        self.history = history
        self.tables: dict[str, pa.Table] = {}

    def registered(self, date: np.ndarray, low_hours: int, high_hours: int) -> np.ndarray:
        """Registration times ``low_hours`` to ``high_hours`` after ``date``."""
        seconds = self.rng.integers(low_hours * 3600, high_hours * 3600, date.size)
        return date.astype("datetime64[s]") + seconds.astype("timedelta64[s]")

    def add(self, name: str, registered_at: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        keep = registered_at <= self.end
        person = columns.pop("person")[keep]
        self.tables[name] = care_table(
            name,
            self.history.block,
            {
                "cpr": self.history.cpr[person],
                **{k: v[keep] for k, v in columns.items()},
                "registered_at": registered_at[keep],
            },
        )

    def home_care(self, rows: dict[str, np.ndarray]) -> None:
        month = self.month_starts[rows["month"]]
        granted_personal = PERSONAL_CARE_MINUTES[rows["level"]]
        granted_practical = PRACTICAL_HELP_MINUTES[rows["level"]]
        delivered_personal = np.round(granted_personal * rows["delivered"]).astype(np.int64)
        practical_share = np.minimum(rows["delivered"] + 0.03, 1.0)
        delivered_practical = np.round(granted_practical * practical_share).astype(np.int64)
        registered_at = self.registered(self.month_starts[rows["month"] + 1], 2, 24 * 5)
        corrected = self.rng.random(month.size) < 0.01
        lowered = np.round(delivered_personal * 0.9).astype(np.int64)
        delivered_personal = np.where(corrected, lowered, delivered_personal)
        later = (self.rng.integers(20, 60, month.size) * 86400).astype("timedelta64[s]")
        registered_at = np.where(corrected, registered_at + later, registered_at)
        self.add(
            "home_care",
            registered_at,
            {
                "person": rows["person"],
                "month": month,
                "perpl_vis": granted_personal,
                "perpl_lev": delivered_personal,
                "prahj_vis": granted_practical,
                "prahj_lev": delivered_practical,
                "provider_type": np.where(rows["private"], "private", "municipal"),
            },
        )

    def nursing_home_stays(self, rows: dict[str, np.ndarray]) -> None:
        month = self.month_starts[rows["month"]]
        self.add(
            "nursing_home_stays",
            self.registered(month, 24 * 2, 24 * 10),
            {"person": rows["person"], "month": month},
        )

    def home_nursing_visits(self, rows: dict[str, np.ndarray]) -> None:
        visit = rows["date"]
        self.add(
            "home_nursing_visits",
            self.registered(visit, 1, 48),
            {"person": rows["person"], "visit_date": visit},
        )

    def falls(self, rows: dict[str, np.ndarray]) -> None:
        columns = {
            "person": rows["person"],
            "fall_date": rows["date"],
            "injury": rows["injury"].astype(np.int64),
        }
        self.add("falls", self.registered(rows["date"], 1, 36), columns)

    def weights(self, rows: dict[str, np.ndarray]) -> None:
        columns = {"person": rows["person"], "measured_date": rows["date"], "weight_kg": rows["kg"]}
        self.add("weights", self.registered(rows["date"], 1, 72), columns)

    def preventive_visits(self, rows: dict[str, np.ndarray]) -> None:
        columns = {"person": rows["person"], "visit_date": rows["date"], "outcome": rows["outcome"]}
        self.add("preventive_visits", self.registered(rows["date"], 2, 24 * 7), columns)

    def early_detection_observations(self, rows: dict[str, np.ndarray]) -> None:
        observed = at_minute(rows["date"], rows["minute"])
        registered_at = observed + self.rng.integers(60, 7200, observed.size).astype("timedelta64[s]")
        columns = {
            "person": rows["person"],
            "observed_at": observed,
            "tool": np.where(rows["tobs"], "tobs", "aendringsskema"),
            "triage_colour": rows["colour"],
        }
        self.add("early_detection_observations", registered_at, columns)

    def fsiii_functional_ability(self, rows: dict[str, np.ndarray]) -> None:
        columns = {
            "person": rows["person"],
            "assessed_date": rows["date"],
            "code": np.array(FSIII_FUNCTION_CODES)[rows["code"]],
            "score": rows["score"].astype(np.int64),
            "expected_score": rows["expected"].astype(np.int64),
        }
        self.add("fsiii_functional_ability", self.registered(rows["date"], 2, 24 * 14), columns)

    def fsiii_health_conditions(self, rows: dict[str, np.ndarray]) -> None:
        draw = rows["draw"]
        status = np.where(draw < 0.01, "entered-in-error", np.where(draw < 0.26, "inactive", "active"))
        later_days = np.where(
            status == "inactive",
            60 + (draw * 800).astype(int),
            np.where(status == "entered-in-error", 1 + (draw * 900).astype(int), 0),
        )
        registered_at = self.registered(rows["date"], 1, 48) + (later_days * 86400).astype("timedelta64[s]")
        columns = {
            "person": rows["person"],
            "recorded_date": rows["date"],
            "code": rows["code"],
            "status": status,
        }
        self.add("fsiii_health_conditions", registered_at, columns)


# simulation event kind -> care table built from it, in the order the tables draw random numbers
_TABLE_EVENTS: tuple[tuple[str, str], ...] = (
    ("home_care", "home_care"),
    ("nursing_home", "nursing_home_stays"),
    ("home_nursing", "home_nursing_visits"),
    ("fall", "falls"),
    ("weight", "weights"),
    ("preventive", "preventive_visits"),
    ("observation", "early_detection_observations"),
    ("fsiii", "fsiii_functional_ability"),
    ("health_condition", "fsiii_health_conditions"),
)


def care_records(config: WorldConfig, history: BlockHistory) -> dict[str, pa.Table]:
    """Every care-record table's rows for one block, registered by the end of the world."""
    builder = _CareRecords(config, history)
    for event, table in _TABLE_EVENTS:
        rows = history.events.table(event)
        if rows:
            getattr(builder, table)(rows)
    for name, spec in CARE_TABLES.items():
        if name not in builder.tables:
            empty = {c: np.array([], dtype=_EMPTY_DTYPE[t]) for c, t in spec.all_columns if c != "id"}
            builder.tables[name] = care_table(name, history.block, empty)
    return builder.tables
