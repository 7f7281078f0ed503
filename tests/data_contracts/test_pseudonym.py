"""Pseudonyms: the exact formula of docs/interfaces.md section 6, stable per key, different across keys."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from data_contracts.pseudonym import cpr_is_well_formed, pseudonymise_cpr

CPRS = pd.Series(["0101401234", "0202415678", "0101401234"])


def test_pseudonym_follows_the_documented_formula() -> None:
    expected = hmac.new(b"k1", b"0101401234", hashlib.sha256).hexdigest()[:32]
    assert pseudonymise_cpr(CPRS, "k1").iloc[0] == expected


def test_pseudonyms_are_stable_for_the_same_key() -> None:
    first = pseudonymise_cpr(CPRS, "k1")
    assert first.tolist() == pseudonymise_cpr(CPRS.copy(), "k1").tolist()
    assert first.iloc[0] == first.iloc[2]


def test_pseudonyms_differ_across_keys() -> None:
    one, other = pseudonymise_cpr(CPRS, "k1"), pseudonymise_cpr(CPRS, "k2")
    assert not set(one) & set(other)


def test_dash_is_removed_before_hashing() -> None:
    with_dash = pseudonymise_cpr(pd.Series(["010140-1234"]), "k1")
    assert with_dash.iloc[0] == pseudonymise_cpr(pd.Series(["0101401234"]), "k1").iloc[0]


def test_missing_cpr_stays_missing_and_input_is_untouched() -> None:
    values = pd.Series(["0101401234", None])
    before = values.copy()
    result = pseudonymise_cpr(values, "k1")
    assert result.isna().tolist() == [False, True]
    pd.testing.assert_series_equal(values, before)


def test_a_cache_shared_over_calls_gives_the_same_pseudonyms_and_hashes_each_person_once(monkeypatch) -> None:
    from data_contracts import pseudonym

    hashed = []
    original = pseudonym.pseudonymise_one
    monkeypatch.setattr(
        pseudonym, "pseudonymise_one", lambda cpr, key: hashed.append(cpr) or original(cpr, key)
    )
    cache: dict[str, str] = {}
    first = pd.Series(["0101401234", "0202402345", None, "0101401234"])
    second = pd.Series(["0202402345", "0303403456"])
    for values in (first, second):
        assert pseudonymise_cpr(values, "k1", cache).tolist() == pseudonymise_cpr(values, "k1").tolist()
    assert hashed.count("0101401234") == 2  # once with the cache, once without
    assert hashed.count("0202402345") == 3  # once with the cache (first call), twice without


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        pseudonymise_cpr(CPRS, "")


def test_well_formed_cpr_is_ten_digits_without_a_modulus_check() -> None:
    values = pd.Series(["0101401234", "010140-1234", "0101401230", "01014012", "A101401234", None])
    assert cpr_is_well_formed(values).tolist() == [True, True, True, False, False, False]


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("0101401234", "1940-01-01"),  # 7th digit 0-3: 1900s
        ("2902004000", "2000-02-29"),  # 4 with YY <= 36: 2000s (a leap day)
        ("0101504000", "1950-01-01"),  # 4 with YY > 36: 1900s
        ("0101579000", "1957-01-01"),  # 9 with YY > 36: 1900s
        ("0101575000", "2057-01-01"),  # 5-8 with YY <= 57: 2000s
        ("0101585000", "1858-01-01"),  # 5-8 with YY > 57: 1800s
        ("290200-4000", "2000-02-29"),  # the dash is allowed
    ],
)
def test_the_birth_date_follows_the_seventh_digit_century_rule(cpr: str, born: str) -> None:
    from data_contracts.pseudonym import cpr_birth_dates

    assert cpr_birth_dates(pd.Series([cpr])).iloc[0] == pd.Timestamp(born)


@pytest.mark.parametrize("cpr", ["3102401234", "2902011234", "0113401234", "0001401234", "010140123", None])
def test_a_cpr_whose_date_part_is_impossible_has_no_birth_date(cpr: str | None) -> None:
    from data_contracts.pseudonym import cpr_birth_dates

    assert pd.isna(cpr_birth_dates(pd.Series([cpr])).iloc[0])


def test_modulus_11_is_computed_but_only_informational() -> None:
    from data_contracts.pseudonym import cpr_passes_mod11

    assert cpr_passes_mod11(pd.Series(["0707614285", "0707614286"])).tolist() == [True, False]
