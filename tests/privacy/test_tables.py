"""Attrition chains and margin tables as they leave the platform."""

import io

import pandas as pd

from privacy import attrition_text, margin_relations, protect, recoverable, suppress_attrition


def cohort_attrition() -> pd.DataFrame:
    """Two prediction dates of the cohort attrition table; 3 persons left the area on the first date."""
    return pd.read_csv(
        io.StringIO(
            """prediction_date,rule,removed,remaining
2023-01-01,registered,0,120
2023-01-01,aged_65_or_over,40,80
2023-01-01,resident_in_area,3,77
2023-01-01,alive,10,67
2023-01-01,not_in_nursing_home,6,61
2023-02-01,registered,0,121
2023-02-01,aged_65_or_over,40,81
2023-02-01,resident_in_area,8,73
2023-02-01,alive,10,63
2023-02-01,not_in_nursing_home,6,57
"""
        )
    )


def test_a_withheld_removed_count_was_recoverable_from_the_remaining_chain_before():
    table = cohort_attrition()
    old = table.assign(removed=[None if 0 < v < 5 else v for v in table["removed"]])
    # the old exclusions.csv: remaining is shown, so removed = remaining[i-1] - remaining[i]
    assert pd.isna(old.loc[2, "removed"])
    assert old.loc[1, "remaining"] - old.loc[2, "remaining"] == 3


def test_a_withheld_removed_count_cannot_be_recovered_after_suppression():
    shown = suppress_attrition(cohort_attrition(), group="prediction_date")
    assert shown.loc[2, "removed"] is None
    before, after = shown.loc[1, "remaining"], shown.loc[2, "remaining"]
    assert before is None or after is None


def test_the_complementary_cell_is_the_smallest_one_of_the_sum():
    shown = suppress_attrition(cohort_attrition(), group="prediction_date")
    # remaining 80 = removed 3 + remaining 77: 77 is smaller than 80, then 77 = 10 + 67: 10 is withheld
    assert list(shown.loc[0:4, "removed"]) == [0, 40, None, None, 6]
    assert list(shown.loc[0:4, "remaining"]) == [120, 80, None, 67, 61]


def test_a_chain_without_small_counts_is_shown_whole_and_chains_are_protected_apart():
    shown = suppress_attrition(cohort_attrition(), group="prediction_date")
    assert list(shown.loc[5:9, "removed"]) == [0, 40, 8, 10, 6]
    assert list(shown.loc[5:9, "remaining"]) == [121, 81, 73, 63, 57]


def test_attrition_text_marks_small_and_complementary_cells_apart():
    text = attrition_text(cohort_attrition(), group="prediction_date")
    assert list(text.loc[0:4, "removed"]) == ["0", "40", "<5", "*", "6"]
    assert list(text.loc[0:4, "remaining"]) == ["120", "80", "*", "67", "61"]


def test_groups_of_every_dimension_sum_to_the_overall_cell():
    values = {"all": 30, "F": 2, "M": 28, "d1": 10, "d2": 20}
    relations = margin_relations("all", {"sex": ["F", "M"], "district": ["d1", "d2"]})
    assert recoverable(relations, {"F"}) == {"F"}
    suppression = protect(values, relations)
    assert recoverable(relations, suppression.withheld) == frozenset()
