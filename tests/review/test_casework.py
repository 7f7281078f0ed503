"""Validation of submitted decisions."""

from __future__ import annotations

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
        {"action": "visit_booked", "new_problem_found": "yes", "not_relevant_reason": "other"}
    )
    assert decision == Decision("visit_booked")
