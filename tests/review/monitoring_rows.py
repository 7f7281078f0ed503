"""What the monitor flow records, written straight into the monitoring tables for the review app's tests
(the flow itself is tested in tests/pipelines/test_monitor.py)."""

import datetime as dt

import sqlalchemy as sa

from monitoring.store import (
    create_schema,
    monitor_drift,
    monitor_expected,
    monitor_realised,
    monitor_review_items,
    monitor_runs,
)

ITEM_ID = "item-score-101-01"
HOLD_MESSAGE = "Score PSI 0.412 in 101-01 is outside <= 0.25."


def record_monitoring(engine, list_ids_by_district, *, as_of=dt.date(2025, 1, 6)):
    """Two monitor runs: expected performance of every list, the first matured, drift of the score per
    district over both dates, and one open item that holds publication."""
    create_schema(engine)
    at = dt.datetime(2025, 1, 6, 6, tzinfo=dt.UTC)
    with engine.begin() as connection:
        for number, day in enumerate((as_of - dt.timedelta(days=7), as_of)):
            run_id = f"monitor-run-{number}"
            connection.execute(
                sa.insert(monitor_runs).values(
                    run_id=run_id, as_of_date=day, finished_at=at, config={}, method="CBPE",
                    lists_estimated=[], lists_evaluated=[], items_opened=[], summary="s",
                )
            )  # fmt: skip
            for district in list_ids_by_district:
                connection.execute(
                    sa.insert(monitor_drift).values(
                        run_id=run_id, as_of_date=day, district=district, feature="risk", kind="score",
                        psi=0.02 if number == 0 else 0.412, test="ks", statistic=0.1, p_value=0.0001,
                        n_reference=500, n_current=400, comparable=True, reference_scope="district",
                        suppressed=False,
                    )
                )  # fmt: skip
        for district, list_id in list_ids_by_district.items():
            connection.execute(
                sa.insert(monitor_expected).values(
                    list_id=list_id, run_id="monitor-run-0", district=district,
                    as_of_date=dt.date(2024, 1, 1), model_version="3", persons=400, listed=12,
                    expected_events=60.0, expected_auroc=0.74, expected_auroc_low=0.70,
                    expected_auroc_high=0.78,
                    expected_ppv=0.41, expected_ppv_low=0.25, expected_ppv_high=0.58,
                    expected_events_captured=4.9, expected_share_captured=0.08,
                    observed_expected_low=0.8, observed_expected_high=1.2, method="CBPE",
                )
            )  # fmt: skip
            connection.execute(
                sa.insert(monitor_realised).values(
                    list_id=list_id, maturity="mature", run_id="monitor-run-1", district=district,
                    as_of_date=dt.date(2024, 1, 1), observed_until=dt.date(2025, 1, 1), model_version="3",
                    dimension="overall", group="all", persons=400, events=58, auroc=0.731,
                    calibration_slope=0.97, calibration_slope_se=0.1, calibration_intercept=0.02,
                    observed_expected=0.96, listed=12, listed_events=5, ppv_at_capacity=0.417,
                    share_of_events_captured=0.086, lead_time_median_days=143.0, suppressed=False,
                )
            )  # fmt: skip
        connection.execute(
            sa.insert(monitor_review_items).values(
                item_id=ITEM_ID, run_id="monitor-run-1", opened_at=at, metric="score_psi", value=0.412,
                band="<= 0.25", holds_publication=True, scope={"district": "101-01"}, evidence={},
                message=HOLD_MESSAGE,
            )
        )  # fmt: skip
