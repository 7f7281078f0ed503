"""MLflow gets the matured metrics against the model version that made the list.

For every list's ``overall`` realised cell (partial or mature, not suppressed), the metrics are logged to
the MLflow run behind the model version named in the list's ``model_version``, under
``monitor.<maturity>.<metric>.<district>``, with the list's date as the metric's timestamp and as its step
(days since 1970-01-01), so the run's charts show performance over list dates. Aggregates only.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

LOGGED_METRICS = (
    "auroc",
    "calibration_slope",
    "calibration_intercept",
    "observed_expected",
    "ppv_at_capacity",
    "share_of_events_captured",
    "lead_time_median_days",
)
_EPOCH = dt.date(1970, 1, 1)


def log_matured_metrics(realised: pd.DataFrame, registered_name: str, tracking_uri: str) -> int:
    """Log the realised metrics of ``realised`` (``MonitorReport.realised``) to MLflow; returns how many
    values were logged. Lists without a model version are skipped."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    runs: dict[str, str] = {}
    logged = 0
    rows = realised.loc[(realised["dimension"] == "overall") & ~realised["suppressed"].astype(bool)]
    for row in rows.to_dict("records"):
        version = row.get("model_version")
        if version is None or (isinstance(version, float) and math.isnan(version)):
            continue
        version = str(version)
        if version not in runs:
            runs[version] = client.get_model_version(registered_name, version).run_id
        day = pd.Timestamp(row["as_of_date"]).date()
        for metric in LOGGED_METRICS:
            value = row.get(metric)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            client.log_metric(
                runs[version],
                f"monitor.{row['maturity']}.{metric}.{row['district']}",
                float(value),
                timestamp=int(pd.Timestamp(day).timestamp() * 1000),
                step=(day - _EPOCH).days,
            )
            logged += 1
    return logged
