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


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key"):
        pseudonymise_cpr(CPRS, "")


def test_well_formed_cpr_is_ten_digits_without_a_modulus_check() -> None:
    values = pd.Series(["0101401234", "010140-1234", "0101401230", "01014012", "A101401234", None])
    assert cpr_is_well_formed(values).tolist() == [True, True, True, False, False, False]
