"""Capacity analytics: expected events per visit, share captured, and suppression of small cells."""

import pandas as pd

from screening.analytics import age_band, capacity_analytics


def eligible() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_key": [f"p{i}" for i in range(20)],
            "district": ["d1"] * 12 + ["d2"] * 8,
            "risk": [0.5] * 6 + [0.1] * 6 + [0.2] * 8,
            "age_years": [70.0] * 10 + [80.0] * 7 + [90.0] * 3,
            "sex_female": [1.0, 0.0] * 10,
        }
    )


def test_overall_measures_from_calibrated_risks():
    listed = {f"p{i}" for i in range(6)}
    table = capacity_analytics(eligible(), listed)
    overall = table.loc[table["dimension"] == "overall"].iloc[0]
    assert overall["listed"] == 6
    assert overall["expected_events_listed"] == 3.0
    assert overall["expected_events_per_visit"] == 0.5
    assert overall["share_of_events_captured"] == round(3.0 / (3.0 + 0.6 + 1.6), 4)


def test_cells_under_five_persons_are_suppressed():
    listed = {f"p{i}" for i in range(6)} | {"p12", "p13"}
    table = capacity_analytics(eligible(), listed).set_index(["dimension", "group"])
    assert table.loc[("district", "d2"), "suppressed"]  # 2 listed
    assert table.loc[("district", "d2"), "listed"] is None or pd.isna(table.loc[("district", "d2"), "listed"])
    assert table.loc[("age_band", "85+"), "suppressed"]  # 3 eligible
    assert not table.loc[("overall", "all"), "suppressed"]


def test_a_suppressed_group_cannot_be_recovered_from_the_overall_row_and_the_other_groups():
    listed = {f"p{i}" for i in range(6)} | {"p12", "p13"}
    table = capacity_analytics(eligible(), listed).set_index(["dimension", "group"])
    # before complementary suppression d1 was shown, and d2's 2 listed were 8 (overall) - 6 (d1)
    assert table.loc[("overall", "all"), "listed"] == 8
    assert table.loc[("district", "d1"), "suppressed"]
    assert pd.isna(table.loc[("district", "d1"), "listed"])
    for dimension in ("sex", "age_band", "district"):
        assert table.loc[dimension, "suppressed"].sum() != 1


def test_a_table_without_small_cells_is_shown_whole():
    table = capacity_analytics(eligible().assign(age_years=70.0), {f"p{i}" for i in range(20)})
    assert not table["suppressed"].any()


def test_age_bands():
    assert list(age_band(pd.Series([64.0, 65.0, 74.9, 75.0, 85.0, None]))) == [
        "under 65",
        "65-74",
        "65-74",
        "75-84",
        "85+",
        "unknown",
    ]


def test_listed_per_district_as_text_marks_small_and_complementary_cells():
    from screening.analytics import listed_by_district_text

    listed = {f"p{i}" for i in range(6)} | {"p12", "p13"}
    assert listed_by_district_text(capacity_analytics(eligible(), listed)) == {"d1": "*", "d2": "<5"}
    assert listed_by_district_text(capacity_analytics(eligible(), {f"p{i}" for i in range(20)})) == {
        "d1": "12",
        "d2": "8",
    }
