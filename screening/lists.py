"""Capacity-aware district lists: who is listed, in what order, with what change, under which list ID.

Pure functions. Determinism is a contract: the same inputs give the same ranks, the same rounded numbers,
the same JSON and therefore the same list ID (a SHA-256 of the canonical JSON of everything the list
depends on and contains). Ties in risk are broken by ``person_key``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from screening.config import ScreeningConfig
from screening.eligibility import target_groups
from screening.reasons import explain, suggest_action
from screening.store import ListToPublish

RISK_DECIMALS = 6


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the byte form hashed into list and run IDs."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_hash(value: Any) -> str:
    """SHA-256 hex digest of :func:`canonical_json` of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def run_id_for(
    as_of: dt.date,
    model_versions: Mapping[str, str],
    feature_set_version: str,
    data_batches: Sequence[str],
    config: ScreeningConfig,
) -> str:
    """A scoring run's ID, derived from its inputs (so a rerun of the same inputs has the same ID)."""
    digest = content_hash(
        {
            "as_of": as_of.isoformat(),
            "models": dict(model_versions),
            "features": feature_set_version,
            "batches": sorted(data_batches),
            "config": config.as_record(),
        }
    )
    return f"run-{as_of:%Y%m%d}-{digest[:16]}"


def select_for_lists(
    eligible: pd.DataFrame, config: ScreeningConfig, risk_column: str = "risk"
) -> pd.DataFrame:
    """The top ``capacity`` citizens of each district by risk, with a 1-based ``rank`` column.

    ``eligible`` needs ``person_key``, ``district`` and ``risk_column``. Highest risk first; equal risks are
    ordered by ``person_key`` so the order never depends on input row order. Rows with a missing risk are
    never listed.
    """
    columns = config.columns
    ordered = (
        eligible.loc[eligible[risk_column].notna()]
        .sort_values(
            [columns.district, risk_column, columns.person_key],
            ascending=[True, False, True],
            kind="mergesort",
        )
        .copy()
    )
    ordered["rank"] = ordered.groupby(columns.district, sort=False).cumcount() + 1
    capacity = ordered[columns.district].map(config.capacity_for)
    return ordered.loc[ordered["rank"] <= capacity].reset_index(drop=True)


def build_entries(
    listed: pd.DataFrame,
    contributions: pd.DataFrame,
    *,
    facts_by_person: Mapping[str, Mapping[str, Any]],
    previous_scores: Mapping[str, float],
    previous_members: set[str] | None,
    as_of: dt.date,
    config: ScreeningConfig,
    risk_column: str = "risk",
) -> list[dict[str, Any]]:
    """The ``screening_list_entries`` rows (without ``list_id``) of one district's listed citizens.

    ``listed`` is one district's slice of :func:`select_for_lists`; ``contributions`` holds SHAP values
    per feature indexed by ``person_key``. ``previous_scores`` maps person_key to risk at the previous
    list of the district; ``previous_members`` is who was listed there (None: there was no previous list,
    and everyone is new).
    """
    columns = config.columns
    listed = listed.sort_values("rank")
    groups = target_groups(listed, as_of, config, at_special_risk=pd.Series(True, index=listed.index))
    entries = []
    for index, row in listed.iterrows():
        person = str(row[columns.person_key])
        facts = facts_by_person[person]
        shap = contributions.loc[person].to_dict() if person in contributions.index else {}
        reasons = explain(shap, facts, minimum=config.reasons_min, maximum=config.reasons_max)
        action_da, action_en = suggest_action(reasons)
        risk = round(float(row[risk_column]), RISK_DECIMALS)
        previous = previous_scores.get(person)
        previous = None if previous is None else round(float(previous), RISK_DECIMALS)
        entries.append(
            {
                "rank": int(row["rank"]),
                "person_key": person,
                "risk": risk,
                "risk_previous": previous,
                "risk_change": None if previous is None else round(risk - previous, RISK_DECIMALS),
                "new_on_list": previous_members is None or person not in previous_members,
                "flags": list(groups.loc[index]),
                "reasons_da": [r.text_da for r in reasons],
                "reasons_en": [r.text_en for r in reasons],
                "suggested_action_da": action_da,
                "suggested_action_en": action_en,
                "outcome": config.outcome,
            }
        )
    return entries


def assemble_list(
    *,
    district: str,
    municipality: str,
    as_of: dt.date,
    model_versions: Mapping[str, str],
    feature_set_version: str,
    data_batches: Sequence[str],
    run_id: str,
    config: ScreeningConfig,
    previous_list_id: str | None,
    entries: Sequence[Mapping[str, Any]],
    facts_by_person: Mapping[str, Mapping[str, Any]],
    scores: Mapping[str, float],
) -> ListToPublish:
    """One district's list with its deterministic ID (hash of its inputs and contents)."""
    header_inputs = {
        "district": district,
        "municipality": municipality,
        "as_of_date": as_of.isoformat(),
        "model_versions": dict(sorted(model_versions.items())),
        "feature_set_version": feature_set_version,
        "data_batches": sorted(data_batches),
        "capacity": config.capacity_for(district),
    }
    listed_facts = [
        {"person_key": entry["person_key"], "facts": dict(facts_by_person[entry["person_key"]])}
        for entry in entries
    ]
    score_rows = [
        {"person_key": person, "risk": round(float(risk), RISK_DECIMALS)}
        for person, risk in sorted(scores.items())
    ]
    digest = content_hash(
        {
            "header": header_inputs,
            "config": config.as_record(),
            "previous_list_id": previous_list_id,
            "entries": list(entries),
            "facts": listed_facts,
            "scores": score_rows,
        }
    )
    list_id = f"{as_of:%Y%m%d}-{district}-{digest[:16]}"
    header = {
        **header_inputs,
        "as_of_date": as_of,
        "data_batches": list(header_inputs["data_batches"]),
        "list_id": list_id,
        "run_id": run_id,
    }
    return ListToPublish(header=header, entries=list(entries), facts=listed_facts, scores=score_rows)
