"""Review items open for values outside their band that sampling noise does not explain."""

import datetime as dt

import pandas as pd

from monitoring.alerts import drift_items, item_id_for, realised_items
from monitoring.config import MonitorConfig

AS_OF = dt.date(2024, 2, 1)


def drift_row(psi, p_value, *, n=500, comparable=True, suppressed=False, feature="x_count_0_to_90d"):
    return {
        "district": "d1", "feature": feature, "kind": "continuous", "psi": psi, "test": "ks",
        "statistic": 0.2, "p_value": p_value, "n_reference": 1000, "n_current": n, "comparable": comparable,
        "reference_scope": "district", "suppressed": suppressed,
    }  # fmt: skip


def test_a_psi_over_its_band_with_a_significant_test_opens_an_item():
    items = drift_items(pd.DataFrame([drift_row(0.4, 1e-6)]), MonitorConfig(), AS_OF)
    assert [item.metric for item in items] == ["input_psi"]
    assert items[0].holds_publication
    assert items[0].evidence["p_value"] == 1e-6


def test_a_psi_over_its_band_that_the_test_calls_noise_opens_nothing():
    assert drift_items(pd.DataFrame([drift_row(0.4, 0.2)]), MonitorConfig(), AS_OF) == []
    assert drift_items(pd.DataFrame([drift_row(0.4, 0.2)]), MonitorConfig(require_evidence=False), AS_OF)


def test_an_untestable_shift_is_judged_on_the_psi_alone():
    assert drift_items(pd.DataFrame([drift_row(3.0, float("nan"))]), MonitorConfig(), AS_OF)


def test_small_not_comparable_or_suppressed_cells_never_alarm():
    rows = pd.DataFrame(
        [
            drift_row(3.0, 1e-9, n=20),
            drift_row(3.0, 1e-9, comparable=False),
            drift_row(3.0, 1e-9, suppressed=True),
        ]
    )
    assert drift_items(rows, MonitorConfig(), AS_OF) == []


def test_the_score_has_its_own_metric():
    items = drift_items(pd.DataFrame([drift_row(0.5, 1e-9, feature="risk")]), MonitorConfig(), AS_OF)
    assert [item.metric for item in items] == ["score_psi"]


def realised_row(oe, *, auroc=0.7, slope=1.0, se=0.1, maturity="mature"):
    return {
        "list_id": "L1", "maturity": maturity, "district": "d1", "as_of_date": dt.date(2023, 1, 2),
        "observed_until": dt.date(2024, 1, 2), "model_version": "3", "dimension": "overall", "group": "all",
        "persons": 1000, "events": 100, "auroc": auroc, "calibration_slope": slope,
        "calibration_slope_se": se, "calibration_intercept": 0.0, "observed_expected": oe,
        "suppressed": False,
    }  # fmt: skip


EXPECTED = pd.DataFrame(
    [{"list_id": "L1", "expected_auroc": 0.72, "expected_auroc_low": 0.66, "expected_auroc_high": 0.78,
      "observed_expected_low": 0.7, "observed_expected_high": 1.3}]
)  # fmt: skip


def test_observed_over_expected_outside_its_band_but_inside_the_noise_interval_opens_nothing():
    assert realised_items(pd.DataFrame([realised_row(1.28)]), EXPECTED, MonitorConfig()) == []
    items = realised_items(pd.DataFrame([realised_row(1.45)]), EXPECTED, MonitorConfig())
    assert [item.metric for item in items] == ["observed_expected"]
    assert items[0].evidence["noise_interval_observed_expected"] == [0.7, 1.3]


def test_a_slope_is_judged_against_its_standard_error():
    assert (
        realised_items(pd.DataFrame([realised_row(1.0, slope=1.4, se=0.2)]), EXPECTED, MonitorConfig()) == []
    )
    items = realised_items(pd.DataFrame([realised_row(1.0, slope=1.4, se=0.05)]), EXPECTED, MonitorConfig())
    assert [item.metric for item in items] == ["calibration_slope"]


def test_an_auroc_shortfall_must_fall_below_the_expected_interval():
    assert realised_items(pd.DataFrame([realised_row(1.0, auroc=0.665)]), EXPECTED, MonitorConfig()) == []
    items = realised_items(pd.DataFrame([realised_row(1.0, auroc=0.62)]), EXPECTED, MonitorConfig())
    assert [item.metric for item in items] == ["auroc_shortfall"]


def test_item_ids_are_stable_and_depend_on_what_the_breach_is_about():
    scope = {"as_of_date": "2024-02-01", "district": "d1", "feature": "x"}
    assert item_id_for("input_psi", scope) == item_id_for("input_psi", dict(reversed(scope.items())))
    assert item_id_for("input_psi", scope) != item_id_for("input_psi", scope | {"district": "d2"})


def test_a_small_district_psi_over_the_band_that_its_size_explains_opens_nothing():
    """D105: at 90 persons and ten bins, sampling noise alone gives PSI up to about 0.4 (more with
    many cells judged), so 0.4 with a significant test is not a finding; a source that stops (2.5) is."""
    small = drift_row(0.4, 1e-6, n=90) | {"n_reference": 350, "bins": 10}
    assert drift_items(pd.DataFrame([small]), MonitorConfig(), AS_OF) == []
    stopped = small | {"psi": 2.5}
    items = drift_items(pd.DataFrame([stopped]), MonitorConfig(), AS_OF)
    assert [item.metric for item in items] == ["input_psi"]
    assert items[0].holds_publication
    assert 0.3 < items[0].evidence["psi_noise"] < 1.0
    assert "sampling noise at 90 persons" in items[0].message


def test_the_noise_allowance_shrinks_with_size_and_grows_with_the_cells_judged():
    large = drift_row(0.4, 1e-6, n=5000) | {"n_reference": 20000, "bins": 10}
    assert drift_items(pd.DataFrame([large]), MonitorConfig(), AS_OF)
    one = drift_items(pd.DataFrame([large | {"psi": 0.3}]), MonitorConfig(), AS_OF)
    many = drift_items(
        pd.DataFrame([large | {"psi": 0.3}] + [large | {"psi": 0.0, "feature": f"f{i}"} for i in range(99)]),
        MonitorConfig(),
        AS_OF,
    )
    assert one[0].evidence["cells_judged"] == 1
    assert many[0].evidence["cells_judged"] == 100
    assert many[0].evidence["psi_noise"] > one[0].evidence["psi_noise"]


def test_without_the_evidence_rule_the_band_stands_as_given():
    small = drift_row(0.4, 1e-6, n=90) | {"n_reference": 350, "bins": 10}
    items = drift_items(pd.DataFrame([small]), MonitorConfig(require_evidence=False), AS_OF)
    assert items
    assert items[0].evidence["psi_noise"] == 0.0
