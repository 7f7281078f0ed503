"""Feature specs are validated when built and name their columns."""

from __future__ import annotations

import pytest

from features import (
    DerivedFeatureSpec,
    FeatureSetSpec,
    FeatureSpec,
    FeatureSpecError,
    RowFilter,
    ScoreFeatureSpec,
    Window,
)


def test_column_names_say_what_they_are():
    spec = FeatureSpec("acute_admissions", "unplanned_admissions", "count", (Window(0, 365), Window(30, 90)))
    assert spec.column_names() == ("acute_admissions_count_0_to_365d", "acute_admissions_count_30_to_90d")
    assert ScoreFeatureSpec("charlson", Window(0, 1825)).column_names() == ("charlson_index_0_to_1825d",)


@pytest.mark.parametrize(("start", "end"), [(90, 30), (30, 30), (-1, 10)])
def test_window_needs_start_before_end(start, end):
    with pytest.raises(FeatureSpecError, match="start_days < end_days"):
        Window(start, end)


def test_unknown_source_is_refused():
    with pytest.raises(FeatureSpecError, match="unknown source"):
        FeatureSpec("x", "lab_results", "count", (Window(0, 30),))


def test_aggregation_needing_a_value_without_one_is_refused():
    with pytest.raises(FeatureSpecError, match="needs a value"):
        FeatureSpec("w", "weights", "mean", (Window(0, 30),))


def test_count_with_a_value_is_refused():
    with pytest.raises(FeatureSpecError, match="takes no value"):
        FeatureSpec("w", "weights", "count", (Window(0, 30),), value="weight_kg")


def test_mean_of_a_categorical_column_is_refused():
    with pytest.raises(FeatureSpecError, match="not numeric"):
        FeatureSpec("a", "prescriptions", "mean", (Window(0, 30),), value="atc")


def test_filter_kind_the_source_lacks_is_refused():
    with pytest.raises(FeatureSpecError, match="cannot be filtered by ATC"):
        FeatureSpec("f", "falls", "count", (Window(0, 30),), row_filter=RowFilter(atc_prefixes=("N05",)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"atc_prefixes": ("N5",)}, "ATC"),
        ({"icd10_chapters": ("XXII",)}, "chapter"),
        ({"icd10_blocks": ("I25-I20",)}, "block"),
        ({"icd10_categories": ("50",)}, "ICD-10"),
        ({"fsiii_domains": ("J9",)}, "J1..J5"),
        ({"fsiii_areas": ("I13",)}, "I1..I12"),
    ],
)
def test_malformed_filter_values_are_refused(kwargs, message):
    with pytest.raises((FeatureSpecError, ValueError), match=message):
        RowFilter(**kwargs)


def test_sks_codes_are_stored_without_the_d_prefix():
    assert RowFilter(icd10_categories=("DI50", "I25.2", "D64")).icd10_categories == ("I50", "I252", "D64")


def test_duplicate_columns_in_a_set_are_refused():
    feature = FeatureSpec("falls", "falls", "count", (Window(0, 30),))
    with pytest.raises(FeatureSpecError, match="defined twice"):
        FeatureSetSpec("s", (feature, feature))


def test_derived_feature_needs_its_inputs_first():
    with pytest.raises(FeatureSpecError, match="defined before"):
        FeatureSetSpec("s", (DerivedFeatureSpec("many", "at_least", ("falls_count_0_to_30d",), 2.0),))


def test_threshold_only_with_at_least():
    with pytest.raises(FeatureSpecError, match="threshold"):
        DerivedFeatureSpec("d", "difference", ("a", "b"), threshold=1.0)


def test_specs_are_frozen():
    feature = FeatureSpec("falls", "falls", "count", (Window(0, 30),))
    with pytest.raises(AttributeError):
        feature.name = "other"  # type: ignore[misc]


def test_a_concept_outside_the_vocabulary_is_refused():
    with pytest.raises(FeatureSpecError, match="concept 'frailty' is not one of"):
        FeatureSpec("falls", "falls", "count", (Window(0, 90),), concept="frailty")


def test_the_concept_enters_the_spec_hash():
    plain = FeatureSetSpec("s", (FeatureSpec("falls", "falls", "count", (Window(0, 90),), concept="falls"),))
    other = FeatureSetSpec("s", (FeatureSpec("falls", "falls", "count", (Window(0, 90),), concept="weight"),))
    assert plain.spec_hash() != other.spec_hash()


def test_a_score_knows_its_concept_and_the_set_maps_columns_to_concepts():
    spec = FeatureSetSpec(
        "s",
        (
            ScoreFeatureSpec("hfrs", Window(0, 730)),
            FeatureSpec("falls", "falls", "count", (Window(0, 90), Window(0, 365)), concept="falls"),
        ),
    )
    assert spec.column_concepts() == {
        "age_years": "age",
        "living_alone": "living_alone",
        "hfrs_score_0_to_730d": "frailty_score",
        "falls_count_0_to_90d": "falls",
        "falls_count_0_to_365d": "falls",
    }


def test_a_decayed_count_needs_a_positive_half_life_and_names_it():
    spec = FeatureSpec("falls", "falls", "decayed_count", (Window(0, 365),), half_life_days=90)
    assert spec.column_names() == ("falls_decayed_count_half_life_90d_0_to_365d",)
    assert spec.default_fallback == 0.0  # no fall: 0, as a count
    with pytest.raises(FeatureSpecError, match="half_life_days"):
        FeatureSpec("falls", "falls", "decayed_count", (Window(0, 365),))
    with pytest.raises(FeatureSpecError, match="positive"):
        FeatureSpec("falls", "falls", "decayed_count", (Window(0, 365),), half_life_days=0)
    with pytest.raises(FeatureSpecError, match="only with"):
        FeatureSpec("falls", "falls", "count", (Window(0, 365),), half_life_days=90)


def test_the_half_life_enters_the_hash_only_where_it_is_used():
    plain = FeatureSetSpec("s", (FeatureSpec("falls", "falls", "count", (Window(0, 365),)),))
    assert "half_life_days" not in str(plain.to_dict())  # older spec hashes stay valid
    decayed = [
        FeatureSetSpec(
            "s", (FeatureSpec("f", "falls", "decayed_count", (Window(0, 365),), half_life_days=h),)
        )
        for h in (30, 90)
    ]
    assert decayed[0].spec_hash() != decayed[1].spec_hash()
