"""The promotion gate: a challenger takes the `champion` alias only if it is not worse.

With a champion, both are scored on the challenger's latest temporal test rows and the challenger must:
- have AUROC no lower than the champion's minus ``auroc_tolerance`` (0.005);
- have a calibration slope within ``slope_range`` (0.8–1.2);
- have no unsuppressed subgroup cell whose AUROC is lower than the champion's by more than
  ``subgroup_auroc_tolerance`` (0.05).
Without a champion (the first model), absolute gates apply instead: AUROC at least ``min_auroc`` (0.60),
AUROC no lower than the age + sex baseline's minus ``auroc_tolerance`` (a model that cannot beat age and
sex is not worth a list), calibration slope within ``slope_range``, and ICI at most ``max_ici`` (0.05).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.metrics import auroc, calibration_slope, integrated_calibration_index
from models.risk_model import RiskModel
from models.subgroups import subgroup_aurocs, subgroup_table


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds of the gate (documented in docs/models.md)."""

    auroc_tolerance: float = 0.005
    slope_range: tuple[float, float] = (0.8, 1.2)
    subgroup_auroc_tolerance: float = 0.05
    min_auroc: float = 0.60
    max_ici: float = 0.05


@dataclass(frozen=True)
class CandidateScores:
    """What the gate looks at for one model on the shared test rows."""

    auroc: float
    calibration_slope: float
    ici: float
    subgroup_auroc: dict[tuple[str, str], float] = field(default_factory=dict)


@dataclass(frozen=True)
class GateDecision:
    """Promote or not, and every reason (passed and failed checks), in plain words without data."""

    promote: bool
    reasons: list[str]

    def as_text(self) -> str:
        verdict = "PROMOTE" if self.promote else "REJECT"
        return verdict + "\n" + "\n".join(f"- {reason}" for reason in self.reasons)


def decide_promotion(
    challenger: CandidateScores,
    champion: CandidateScores | None,
    age_sex_auroc: float | None = None,
    policy: GatePolicy | None = None,
) -> GateDecision:
    """Apply the gate; every check contributes a reason whether it passes or fails."""
    policy = policy or GatePolicy()
    checks: list[tuple[bool, str]] = []
    low, high = policy.slope_range
    slope_ok = bool(low <= challenger.calibration_slope <= high)
    checks.append(
        (
            slope_ok,
            f"calibration slope {challenger.calibration_slope:.3f} {'within' if slope_ok else 'outside'} "
            f"{low}-{high}",
        )
    )
    if champion is None:
        checks.append(
            (
                bool(challenger.auroc >= policy.min_auroc),
                f"first model: AUROC {challenger.auroc:.3f} vs absolute minimum {policy.min_auroc}",
            )
        )
        if age_sex_auroc is not None and not np.isnan(age_sex_auroc):
            checks.append(
                (
                    bool(challenger.auroc >= age_sex_auroc - policy.auroc_tolerance),
                    f"first model: AUROC {challenger.auroc:.3f} vs age+sex baseline {age_sex_auroc:.3f} "
                    f"(tolerance {policy.auroc_tolerance})",
                )
            )
        checks.append(
            (
                bool(challenger.ici <= policy.max_ici),
                f"first model: ICI {challenger.ici:.4f} vs maximum {policy.max_ici}",
            )
        )
    else:
        drop = champion.auroc - challenger.auroc
        checks.append(
            (
                bool(drop <= policy.auroc_tolerance),
                f"AUROC {challenger.auroc:.4f} vs champion {champion.auroc:.4f} "
                f"(drop {drop:+.4f}, tolerance {policy.auroc_tolerance})",
            )
        )
        checks.extend(_subgroup_checks(challenger, champion, policy))
    return GateDecision(
        promote=all(passed for passed, _ in checks),
        reasons=[("PASS " if passed else "FAIL ") + text for passed, text in checks],
    )


def _subgroup_checks(
    challenger: CandidateScores, champion: CandidateScores, policy: GatePolicy
) -> list[tuple[bool, str]]:
    shared = sorted(set(challenger.subgroup_auroc) & set(champion.subgroup_auroc))
    worse = [
        (cell, champion.subgroup_auroc[cell] - challenger.subgroup_auroc[cell])
        for cell in shared
        if champion.subgroup_auroc[cell] - challenger.subgroup_auroc[cell] > policy.subgroup_auroc_tolerance
    ]
    if not worse:
        return [
            (
                True,
                f"no subgroup AUROC lower than the champion's by more than {policy.subgroup_auroc_tolerance} "
                f"({len(shared)} cells compared)",
            )
        ]
    return [
        (False, f"subgroup {group}={level}: AUROC lower than the champion's by {drop:.3f}")
        for (group, level), drop in worse
    ]


def candidate_scores(test_rows: pd.DataFrame, risk: np.ndarray, min_cell_persons: int = 5) -> CandidateScores:
    """Gate inputs of one model's risks on the shared test rows (subgroup cells suppressed as usual)."""
    y = test_rows["label"].to_numpy(dtype=float)
    table = subgroup_table(test_rows, {"candidate": risk}, min_cell_persons)
    return CandidateScores(
        auroc=auroc(y, risk),
        calibration_slope=calibration_slope(y, risk),
        ici=integrated_calibration_index(y, risk),
        subgroup_auroc=subgroup_aurocs(table, "candidate"),
    )


def judge_challenger(
    test_rows: pd.DataFrame,
    challenger_risk: np.ndarray,
    champion: RiskModel | None,
    *,
    age_sex_auroc: float | None = None,
    policy: GatePolicy | None = None,
    min_cell_persons: int = 5,
) -> GateDecision:
    """Score challenger and champion on the same test rows and decide.

    A champion whose features are absent from the current feature table cannot be compared; the
    challenger must then pass the absolute gates, and the reasons say so.
    """
    challenger = candidate_scores(test_rows, challenger_risk, min_cell_persons)
    if champion is None:
        return decide_promotion(challenger, None, age_sex_auroc, policy)
    missing = [name for name in champion.feature_names if name not in test_rows.columns]
    if missing:
        decision = decide_promotion(challenger, None, age_sex_auroc, policy)
        note = (
            f"champion version {champion.version} uses {len(missing)} feature(s) absent from this feature "
            "set: compared by the absolute gates only"
        )
        return GateDecision(decision.promote, [note, *decision.reasons])
    incumbent = candidate_scores(test_rows, champion.predict_risk(test_rows), min_cell_persons)
    decision = decide_promotion(challenger, incumbent, age_sex_auroc, policy)
    return GateDecision(
        decision.promote, [f"compared with champion version {champion.version}", *decision.reasons]
    )
