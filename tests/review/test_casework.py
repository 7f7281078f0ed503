"""Validation of submitted decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from review.casework import Decision, DecisionError, parse_decision


def test_a_contact_needs_nothing_more():
    assert parse_decision({"action": "contacted"}) == Decision("contacted")


def test_a_completed_visit_records_the_finding_and_referral():
    decision = parse_decision({"action": "visit_done", "new_problem_found": "no", "referred_to_gp": "yes"})
    assert decision == Decision("visit_done", new_problem_found=False, referred_to_gp=True)


def test_a_completed_visit_without_a_finding_is_refused():
    with pytest.raises(DecisionError, match="error_finding_required"):
        parse_decision({"action": "visit_done"})


def test_not_relevant_needs_a_known_reason():
    with pytest.raises(DecisionError, match="error_reason_required"):
        parse_decision({"action": "not_relevant", "not_relevant_reason": "because"})


def test_an_unknown_action_is_refused():
    with pytest.raises(DecisionError, match="error_action_required"):
        parse_decision({"action": "delete_everything"})


def test_fields_of_other_actions_are_ignored():
    decision = parse_decision(
        {"action": "contacted", "new_problem_found": "yes", "not_relevant_reason": "other", "visit_date": "x"}
    )
    assert decision == Decision("contacted")


def test_a_booked_visit_carries_its_date():
    decision = parse_decision(
        {"action": "visit_booked", "visit_date": "2024-02-03", "new_problem_found": "yes"}
    )
    assert decision == Decision("visit_booked", visit_date=dt.date(2024, 2, 3))


@pytest.mark.parametrize("visit_date", ["", "03-02-2024", "2024-02-30"])
def test_a_booked_visit_without_a_readable_date_is_refused_beside_the_date_field(visit_date):
    with pytest.raises(DecisionError, match="error_visit_date_required") as refused:
        parse_decision({"action": "visit_booked", "visit_date": visit_date})
    assert refused.value.field == "visit_date"


def test_each_refusal_names_the_field_it_belongs_beside():
    for form, field in (
        ({"action": ""}, "action"),
        ({"action": "visit_done"}, "new_problem_found"),
        ({"action": "not_relevant"}, "not_relevant_reason"),
    ):
        with pytest.raises(DecisionError) as refused:
            parse_decision(form)
        assert refused.value.field == field
