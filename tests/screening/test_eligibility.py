"""Exclusions and §79a target groups on hand-built citizens."""

import datetime as dt
import io

import pandas as pd
import pytest

from screening.config import FeatureColumns, ScreeningConfig
from screening.eligibility import age_at_year_end, apply_exclusions, target_groups

AS_OF = dt.date(2024, 3, 4)


def citizens(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"person_key": str, "district": str})


BASE = citizens(
    """person_key,district,age_years,living_alone,nursing_home_resident,personal_care_minutes_latest_0_to_90d,practical_help_minutes_latest_0_to_90d,preventive_visits_held_days_since_last_0_to_1825d
a,d1,80,1,0,0,0,
b,d1,85,0,1,0,0,400
c,d1,78,1,0,60,30,400
d,d1,90,0,0,60,0,30
e,d1,70,1,,0,0,
"""
)


def kept(result) -> list[str]:
    return sorted(result.eligible["person_key"])


def test_nursing_home_residents_are_never_listed():
    result = apply_exclusions(BASE, AS_OF, ScreeningConfig())
    assert "b" not in kept(result)


def test_unknown_nursing_home_status_does_not_exclude():
    assert "e" in kept(apply_exclusions(BASE, AS_OF, ScreeningConfig()))


def test_full_home_care_is_excluded_only_when_configured():
    assert "c" in kept(apply_exclusions(BASE, AS_OF, ScreeningConfig()))
    assert "c" not in kept(apply_exclusions(BASE, AS_OF, ScreeningConfig(exclude_full_home_care=True)))
    only_home_care = ScreeningConfig(exclude_full_home_care=True, recent_visit_days=0)
    assert "d" in kept(apply_exclusions(BASE, AS_OF, only_home_care))  # personal care only


def test_recent_preventive_visit_excludes_within_the_configured_days():
    assert "d" not in kept(apply_exclusions(BASE, AS_OF, ScreeningConfig(recent_visit_days=90)))
    assert "d" in kept(apply_exclusions(BASE, AS_OF, ScreeningConfig(recent_visit_days=20)))


def test_review_decisions_exclude_reviewed_and_dismissed_citizens_for_their_periods():
    decisions = pd.DataFrame(
        {
            "person_key": ["a", "e", "c"],
            "decided_on": [AS_OF - dt.timedelta(days=10), AS_OF - dt.timedelta(days=150), AS_OF],
            "kind": ["reviewed", "dismissed", "dismissed"],
        }
    )
    result = apply_exclusions(
        BASE, AS_OF, ScreeningConfig(recent_visit_days=90, dismissed_days=180), decisions
    )
    assert kept(result) == ["c"]  # a reviewed 10 days ago, e dismissed 150 days ago; c decided on as-of day


def test_attrition_counts_each_rule_and_marks_missing_columns_as_not_applied():
    frame = BASE.drop(columns=["nursing_home_resident"])
    result = apply_exclusions(frame, AS_OF, ScreeningConfig())
    rows = result.attrition.set_index("rule")
    assert not rows.loc["nursing_home_resident", "applied"]
    assert rows.loc["preventive_visit_within_90d", "removed"] == 1
    assert not rows.loc["reviewed_within_90d", "applied"]
    assert result.attrition["remaining"].iloc[-1] == len(result.eligible)


def test_exclusions_do_not_mutate_the_input():
    before = BASE.copy()
    apply_exclusions(BASE, AS_OF, ScreeningConfig(exclude_full_home_care=True))
    pd.testing.assert_frame_equal(BASE, before)


@pytest.mark.parametrize(
    ("birth_year", "alone", "expected"),
    [
        (1954, 1, ["alone_at_70"]),
        (1954, 0, []),
        (1949, 0, ["age_75"]),
        (1944, 1, ["age_80"]),
        (1942, 0, ["yearly_from_82"]),
        (1930, 1, ["yearly_from_82"]),
        (1953, 1, []),
        (1963, 1, []),
    ],
)
def test_target_groups_follow_section_79a_by_the_age_reached_this_year(birth_year, alone, expected):
    frame = pd.DataFrame(
        {
            "person_key": ["x"],
            "age_years": [AS_OF.year - birth_year - 1],
            "living_alone": [alone],
            "birth_year": [birth_year],
        }
    )
    groups = target_groups(frame, AS_OF, ScreeningConfig(), at_special_risk=pd.Series([False]))
    assert groups.iloc[0] == expected


def test_special_risk_applies_to_65_to_81_when_judged_at_risk():
    frame = pd.DataFrame({"age_years": [66.0, 81.0, 83.0, 64.0], "living_alone": [0, 0, 0, 0]})
    groups = target_groups(
        frame, dt.date(2024, 12, 31), ScreeningConfig(), pd.Series([True, True, True, True])
    )
    assert list(groups) == [["special_risk_65_81"], ["special_risk_65_81"], ["yearly_from_82"], []]


def test_age_at_year_end_counts_the_birthday_still_to_come_from_fractional_ages():
    ages = pd.Series([69.6, 69.1, 70.0])
    assert list(age_at_year_end(ages, dt.date(2024, 7, 1))) == [70.0, 69.0, 70.0]


def test_renamed_feature_columns_are_honoured():
    frame = BASE.rename(columns={"nursing_home_resident": "in_care_home"})
    config = ScreeningConfig(columns=FeatureColumns(nursing_home_resident="in_care_home"))
    assert "b" not in kept(apply_exclusions(frame, AS_OF, config))
