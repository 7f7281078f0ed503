"""Reasons say what the facts say, strongest contribution first, with a fitting action."""

from screening.reasons import concept_of, explain, suggest_action


def facts(**changes) -> dict:
    base = {
        "age_years": 84,
        "sex": "F",
        "living_alone": True,
        "admissions_count_12m": 3,
        "home_care_minutes_per_week_now": 360,
        "home_care_minutes_per_week_3m_ago": 120,
        "medicines_count": 11,
        "falls_count_12m": 0,
        "falls_with_injury_12m": 0,
        "weight_change_pct_6m": -7.0,
        "fsiii_mean_score": None,
        "fsiii_previous_mean_score": None,
        "home_nursing_visits_3m": 0,
        "gp_contacts_3m": 1,
        "gp_contacts_previous_3m": 1,
        "hfrs_score": 2.0,
        "charlson_index": 1.0,
        "conditions": [],
    }
    base.update(changes)
    return base


CONTRIBUTIONS = {
    "acute_admissions_count_0_to_365d": 0.9,
    "home_care_total_granted_latest_0_to_90d": 0.5,
    "distinct_atc_distinct_count_0_to_90d": 0.3,
    "weight_kg_percent_change_0_to_180d": 0.2,
    "age_years": -0.4,
}


def test_features_map_to_concepts_by_their_names():
    assert concept_of("acute_admissions_count_0_to_365d") == "admissions"
    assert concept_of("fall_risk_increasing_drugs_count_0_to_90d") == "medicines"
    assert concept_of("falls_with_injury_count_0_to_365d") == "falls"
    assert concept_of("hfrs_score_0_to_730d") == "frailty_score"
    assert concept_of("sex_female") is None


def test_reasons_state_the_numbers_of_the_facts_in_both_languages():
    reasons = explain(CONTRIBUTIONS, facts())
    assert [r.text_en for r in reasons] == [
        "3 acute admissions in the past 12 months",
        "Home care up from 2 to 6 hours a week in 3 months",
        "11 different medicines in 90 days",
        "Weight down 7 % in 6 months",
    ]
    assert reasons[0].text_da == "3 akutte indlæggelser de seneste 12 måneder"


def test_order_follows_the_contributions():
    swapped = {**CONTRIBUTIONS, "distinct_atc_distinct_count_0_to_90d": 2.0}
    assert explain(swapped, facts())[0].concept == "medicines"


def test_a_contribution_is_not_a_reason_when_the_facts_show_nothing_worrying():
    reasons = explain(CONTRIBUTIONS, facts(admissions_count_12m=0, home_care_minutes_per_week_now=120))
    assert "admissions" not in [r.concept for r in reasons]
    assert "home_care" not in [r.concept for r in reasons]
    assert all("0 acute" not in r.text_en for r in reasons)


def test_singular_wording_for_one_admission():
    assert (
        explain(CONTRIBUTIONS, facts(admissions_count_12m=1))[0].text_en
        == "1 acute admission in the past 12 months"
    )


def test_too_few_reasons_are_filled_with_true_context_facts_and_never_exceed_the_maximum():
    quiet = facts(
        admissions_count_12m=0, home_care_minutes_per_week_now=0, medicines_count=2, weight_change_pct_6m=None
    )
    reasons = explain({"age_years": 0.8}, quiet, minimum=3, maximum=5)
    assert [r.text_en for r in reasons] == ["Aged 84", "Lives alone"]
    assert len(explain(CONTRIBUTIONS, facts(falls_count_12m=2), minimum=1, maximum=2)) == 2


def test_suggested_action_follows_the_strongest_reasons():
    reasons = explain(
        {"distinct_atc_distinct_count_0_to_90d": 1.0, "falls_count_0_to_365d": 0.5}, facts(falls_count_12m=2)
    )
    assert suggest_action(reasons) == (
        "Medicingennemgang; Faldforebyggelse og faldudredning",
        "Medication review; Fall prevention and fall assessment",
    )
    assert suggest_action([]) == ("Forebyggende hjemmebesøg", "Preventive home visit")


def test_a_default_column_takes_its_concept_from_its_feature_spec():
    from features.catalogue import default_feature_set

    concepts = default_feature_set().column_concepts()
    assert concepts["acute_admissions_count_0_to_365d"] == "admissions"
    assert concept_of("polypharmacy_5_or_more_0_to_90d") == "medicines"
    assert concept_of("fall_injury_external_cause_diagnoses_count_0_to_365d") == "falls"
    # the names alone said "admissions" ("contacts"); the spec says what the feature is about
    assert concept_of("gp_contacts_count_0_to_365d") == "gp"
    # concepts no reason speaks about give no reason
    assert concept_of("preventive_visits_count_0_to_730d") is None
    assert concept_of("diagnoses_chapter_ix_circulatory_count_0_to_365d") is None


def test_a_feature_sets_own_concepts_decide_whatever_the_column_is_called():
    concepts = {"challenger_signal_count_0_to_90d": "falls", "age_years": "age"}
    reasons = explain({"challenger_signal_count_0_to_90d": 1.0}, facts(falls_count_12m=2), concepts=concepts)
    assert reasons[0].concept == "falls"
    assert reasons[0].text_en == "2 falls in the past 12 months"
