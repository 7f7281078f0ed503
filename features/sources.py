"""The sources a feature can read: named views over the warehouse tables (docs/interfaces.md section 2).

A source is built in two phases (see ``features.engine``):

1. once per build, each *part* (one warehouse table) is an SQL SELECT over that table's versions
   (``{versions}``: every row version with ``_superseded_at``), yielding ``person_key``, ``event_time`` (the
   valid time), the bitemporal ``_delivered_at`` and ``_superseded_at``, and the source's own columns;
2. per prediction date, after the as-known join, ``t_columns`` are computed: expressions that depend on
   the prediction date itself (e.g. a hospital contact still open at ``t`` is cut at ``t``), and rows
   failing ``t_where`` are dropped.

Row filters may use only phase-1 columns, so they are evaluated once per row version, not once per date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from features.admissions import sql_bed_days, sql_is_unplanned_admission
from features.icd10 import sql_normalised_code


@dataclass(frozen=True)
class Source:
    """A named row set features aggregate over.

    ``numeric_columns`` can be summed, averaged and so on; ``categorical_columns`` only counted distinct.
    The ``*_column`` attributes say which column a RowFilter kind applies to (None: that kind is refused).
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    t_columns: tuple[tuple[str, str], ...] = ()
    t_where: str | None = None
    numeric_columns: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] = ()
    icd10_column: str | None = None
    atc_column: str | None = None
    fsiii_domain_column: str | None = None
    fsiii_area_column: str | None = None
    priority_column: str | None = None
    filter_columns: tuple[str, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        """The warehouse tables read (each part reads one; a missing table only drops its part)."""
        return tuple(table for table, _ in self.parts)

    def relation_sql(self, versions: dict[str, str]) -> str | None:
        """UNION ALL of the parts whose table is in ``versions`` (table -> relation of its versions);
        None when no part's table is there."""
        selects = [sql.format(versions=versions[table]) for table, sql in self.parts if table in versions]
        return "(" + "\nUNION ALL\n".join(selects) + ")" if selects else None

    @property
    def value_columns(self) -> tuple[str, ...]:
        return self.numeric_columns + self.categorical_columns

    def filter_problem(self, row_filter: FilterKinds) -> str | None:
        """Why this source cannot apply ``row_filter`` (a kind it lacks, an unknown column), or None."""
        kinds = {
            "ICD-10": (row_filter.has_icd10, self.icd10_column),
            "ATC": (bool(row_filter.atc_prefixes), self.atc_column),
            "FSIII domain": (bool(row_filter.fsiii_domains), self.fsiii_domain_column),
            "FSIII area": (bool(row_filter.fsiii_areas), self.fsiii_area_column),
            "priority": (row_filter.priority is not None, self.priority_column),
        }
        for kind, (used, column) in kinds.items():
            if used and column is None:
                return f"source {self.name!r} cannot be filtered by {kind}."
        for column, _ in row_filter.column_equals:
            if column not in self.filter_columns:
                return (
                    f"source {self.name!r} has no filter column {column!r}; "
                    f"choose from {', '.join(self.filter_columns) or 'none'}."
                )
        return None

    def numeric_problem(self, column: str) -> str | None:
        """Why ``column`` cannot be summed or averaged, or None when it is numeric."""
        if column not in self.numeric_columns:
            return f"column {column!r} of {self.name!r} is not numeric."
        return None


class FilterKinds(Protocol):
    """What a source checks of a row filter (``features.spec.RowFilter``); a protocol, so this module
    does not import the specs it validates."""

    @property
    def has_icd10(self) -> bool: ...

    @property
    def atc_prefixes(self) -> tuple[str, ...]: ...

    @property
    def fsiii_domains(self) -> tuple[str, ...]: ...

    @property
    def fsiii_areas(self) -> tuple[str, ...]: ...

    @property
    def priority(self) -> str | None: ...

    @property
    def column_equals(self) -> tuple[tuple[str, str | int | bool], ...]: ...


_BITEMPORAL = "person_key, _valid_time AS event_time, _delivered_at, _superseded_at"
_CUT = "prediction_date"
_CONTACTS = f"""
SELECT {_BITEMPORAL}, contact_end, contact_type, priority, lpr_version,
       {sql_normalised_code("action_diagnosis")} AS icd10_code
FROM {{versions}}
"""
_CONTACT_T_COLUMNS = (
    (
        "is_unplanned_admission",
        sql_is_unplanned_admission(start="event_time", end="contact_end", cut_at=_CUT),
    ),
    ("bed_days", f"CAST({sql_bed_days(start='event_time', end='contact_end', cut_at=_CUT)} AS DOUBLE)"),
)

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source(
            name="hospital_contacts",
            parts=(("hospital_contacts", _CONTACTS),),
            t_columns=_CONTACT_T_COLUMNS,
            numeric_columns=("bed_days",),
            categorical_columns=("icd10_code",),
            icd10_column="icd10_code",
            priority_column="priority",
            filter_columns=("contact_type", "lpr_version"),
        ),
        Source(
            name="unplanned_admissions",
            parts=(
                (
                    "hospital_contacts",
                    f"SELECT * FROM ({_CONTACTS}) WHERE priority = 'acute' AND contact_type = 'physical'",
                ),
            ),
            t_columns=_CONTACT_T_COLUMNS,
            t_where="is_unplanned_admission",
            numeric_columns=("bed_days",),
            categorical_columns=("icd10_code",),
            icd10_column="icd10_code",
        ),
        Source(
            name="diagnoses",
            parts=(
                (
                    "hospital_diagnoses",
                    f"""
SELECT {_BITEMPORAL},
       {sql_normalised_code("diagnosis_code")} AS icd10_code, diagnosis_type
FROM {{versions}} WHERE NOT coalesce(retracted, FALSE) AND diagnosis_code IS NOT NULL""",
                ),
                (
                    "hospital_contacts",
                    f"""
SELECT {_BITEMPORAL},
       {sql_normalised_code("action_diagnosis")} AS icd10_code, 'A' AS diagnosis_type
FROM {{versions}} WHERE lpr_version = 'LPR2' AND action_diagnosis IS NOT NULL""",
                ),
            ),
            categorical_columns=("icd10_code",),
            icd10_column="icd10_code",
            filter_columns=("diagnosis_type",),
        ),
        Source(
            name="prescriptions",
            parts=(
                (
                    "prescriptions",
                    f"""
SELECT {_BITEMPORAL}, atc,
       CAST(ddd AS DOUBLE) AS ddd, CAST(packages AS DOUBLE) AS packages
FROM {{versions}}""",
                ),
            ),
            numeric_columns=("ddd", "packages"),
            categorical_columns=("atc",),
            atc_column="atc",
        ),
        Source(
            name="gp_services",
            parts=(
                (
                    "gp_services",
                    f"""
SELECT {_BITEMPORAL}, CAST(services AS DOUBLE) AS services,
       time_of_day
FROM {{versions}} WHERE starts_with(specialty, '80')""",
                ),
            ),
            numeric_columns=("services",),
            filter_columns=("time_of_day",),
        ),
        Source(
            name="fsiii_functional_ability",
            parts=(
                (
                    "fsiii_functional_ability",
                    f"""
SELECT {_BITEMPORAL}, code,
       coalesce(domain, split_part(code, '.', 1)) AS domain, CAST(score AS DOUBLE) AS score
FROM {{versions}} WHERE score BETWEEN 0 AND 4""",
                ),
            ),
            numeric_columns=("score",),
            categorical_columns=("code",),
            fsiii_domain_column="domain",
        ),
        Source(
            name="fsiii_health_conditions",
            parts=(
                (
                    "fsiii_health_conditions",
                    f"""
SELECT {_BITEMPORAL}, code,
       coalesce(area, split_part(code, '.', 1)) AS area, status
FROM {{versions}} WHERE status <> 'entered-in-error'""",
                ),
            ),
            categorical_columns=("code",),
            fsiii_area_column="area",
            filter_columns=("status",),
        ),
        Source(
            name="home_care",
            parts=(
                (
                    "home_care",
                    f"""
SELECT {_BITEMPORAL},
       CAST(personal_care_granted AS DOUBLE) AS personal_care_granted,
       CAST(practical_help_granted AS DOUBLE) AS practical_help_granted,
       CAST(coalesce(personal_care_granted, 0) + coalesce(practical_help_granted, 0) AS DOUBLE)
           AS total_granted,
       CAST(coalesce(personal_care_delivered, 0) + coalesce(practical_help_delivered, 0) AS DOUBLE)
           AS total_delivered,
       provider_type
FROM {{versions}}""",
                ),
            ),
            numeric_columns=(
                "personal_care_granted",
                "practical_help_granted",
                "total_granted",
                "total_delivered",
            ),
            filter_columns=("provider_type",),
        ),
        Source(
            name="home_nursing_visits",
            parts=(
                (
                    "home_nursing_visits",
                    f"""
SELECT {_BITEMPORAL} FROM {{versions}}""",
                ),
            ),
        ),
        Source(
            name="falls",
            parts=(
                (
                    "falls",
                    f"""
SELECT {_BITEMPORAL},
       coalesce(CAST(injury AS BOOLEAN), FALSE) AS injury
FROM {{versions}}""",
                ),
            ),
            filter_columns=("injury",),
        ),
        Source(
            name="weights",
            parts=(
                (
                    "weights",
                    f"""
SELECT {_BITEMPORAL}, CAST(weight_kg AS DOUBLE) AS weight_kg
FROM {{versions}}""",
                ),
            ),
            numeric_columns=("weight_kg",),
        ),
        Source(
            name="preventive_visits",
            parts=(
                (
                    "preventive_visits",
                    f"""
SELECT {_BITEMPORAL}, outcome FROM {{versions}}""",
                ),
            ),
            filter_columns=("outcome",),
        ),
        Source(
            name="early_detection_observations",
            parts=(
                (
                    "early_detection_observations",
                    f"""
SELECT {_BITEMPORAL}, tool, triage_colour
FROM {{versions}}""",
                ),
            ),
            filter_columns=("tool", "triage_colour"),
        ),
    )
}
