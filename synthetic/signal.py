"""How much the hidden truth knows beyond age and sex: AUROC of the oracle vs an age+sex model.

Outcomes are read back from the deliveries (latest version of each LPR3 contact; an unplanned admission is
acute, physical and at least 12 hours long; deaths from the deaths register), for the residents in the
truth at one month, over the 12 months after it. The age+sex model is a logistic regression on age, age²
and sex fitted on the same citizens (in-sample, so it flatters the baseline).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from synthetic.cpr import parse_cpr
from synthetic.world import world_paths


def _lpr3_unplanned(landing: Path) -> pd.DataFrame:
    files = sorted((landing / "lpr3_contacts").glob("*/lpr3_contacts.parquet"))
    columns = ["DW_EK_KONTAKT", "PNR", "KONT_STARTTIDSPUNKT", "KONT_SLUTTIDSPUNKT", "KONT_TYPE", "PRIORITET"]
    frames = []
    for path in files:
        table = pq.read_table(path, columns=columns)
        if table.schema.field("KONT_STARTTIDSPUNKT").type == "string":
            continue  # a delivery with the wrong_type fault
        frames.append(table.to_pandas())
    contacts = pd.concat(frames).drop_duplicates("DW_EK_KONTAKT", keep="last")
    hours = (contacts["KONT_SLUTTIDSPUNKT"] - contacts["KONT_STARTTIDSPUNKT"]).dt.total_seconds() / 3600
    unplanned = (contacts["PRIORITET"] == "ATA1") & (contacts["KONT_TYPE"] == "ALCA00") & (hours >= 12)
    return contacts.loc[unplanned, ["PNR", "KONT_STARTTIDSPUNKT"]]


def signal_report(world_dir: Path, month: str) -> dict[str, float]:
    """AUROC of p_admission_12m and p_death_12m vs age+sex, for residents at ``month`` (YYYY-MM-01)."""
    paths = world_paths(Path(world_dir))
    truth = pq.read_table(paths["truth"], filters=[("month", "=", pd.Timestamp(month).date())])
    truth = truth.select(["cpr", "p_admission_12m", "p_death_12m"]).to_pandas()
    start, end = pd.Timestamp(month), pd.Timestamp(month) + pd.DateOffset(months=12)
    contacts = _lpr3_unplanned(paths["landing"])
    window = (contacts["KONT_STARTTIDSPUNKT"] > start) & (contacts["KONT_STARTTIDSPUNKT"] <= end)
    admitted = truth["cpr"].isin(set(contacts.loc[window, "PNR"]))
    deaths = pd.concat(
        pd.read_csv(p, dtype=str, usecols=["PNR", "DODDATO"], encoding="latin-1")
        for p in sorted((paths["landing"] / "deaths").glob("*/deaths.csv"))
    )
    death_dates = pd.to_datetime(deaths["DODDATO"], errors="coerce")
    died = truth["cpr"].isin(set(deaths.loc[(death_dates > start) & (death_dates <= end), "PNR"]))
    parsed = [parse_cpr(cpr) for cpr in truth["cpr"]]
    age = (start - pd.to_datetime([birth for birth, _ in parsed])).days.to_numpy() / 365.25
    male = np.array([sex == "M" for _, sex in parsed], dtype=float)
    design = np.column_stack([age, age**2 / 100, male])
    result = {"citizens": float(len(truth)), "admission_rate_12m": float(admitted.mean())}
    for outcome, label, truth_column in (
        ("admission", admitted, "p_admission_12m"),
        ("death", died, "p_death_12m"),
    ):
        baseline = LogisticRegression(max_iter=1000).fit(design, label).predict_proba(design)[:, 1]
        result[f"{outcome}_auroc_truth"] = float(roc_auc_score(label, truth[truth_column]))
        result[f"{outcome}_auroc_age_sex"] = float(roc_auc_score(label, baseline))
    return result


def format_signal(report: dict[str, float], month: str) -> str:
    return (
        f"Signal at {month} ({int(report['citizens']):,} residents, "
        f"{report['admission_rate_12m']:.1%} with an unplanned admission within 12 months):\n"
        f"  12-month unplanned admission AUROC: hidden truth {report['admission_auroc_truth']:.3f}, "
        f"age+sex {report['admission_auroc_age_sex']:.3f}\n"
        f"  12-month death AUROC:               hidden truth {report['death_auroc_truth']:.3f}, "
        f"age+sex {report['death_auroc_age_sex']:.3f}"
    )


__all__ = ["format_signal", "signal_report"]
