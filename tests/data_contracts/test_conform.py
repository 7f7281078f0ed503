"""Type conversion and context columns built with Arrow kernels give what pandas' per-value paths gave."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from data_contracts.conform import (
    RECORD_KEY_HASH,
    TEXT_DTYPE,
    _arrow_numbers,
    _before_first_dot,
    record_key_hashes,
    spread_text,
)
from data_contracts.intake import batch_ids
from features.compact import LANDED_KEY_HASH


def _pandas_numbers(values: pd.Series, number_type: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if number_type == "int":
        return numbers.astype("Float64").astype("Int64")
    return numbers.astype("float64")


@pytest.mark.parametrize(
    ("texts", "number_type"),
    [
        (["12", "-3", None, "007"], "int"),
        (["4.5", "1e3", None, "-0.25", "inf", "2"], "float"),
    ],
)
def test_plain_numerals_parse_as_pandas_parses_them(texts, number_type):
    values = pd.Series(texts, dtype="str")
    parsed = _arrow_numbers(values, number_type)
    assert parsed is not None
    pd.testing.assert_series_equal(parsed, _pandas_numbers(values, number_type))


@pytest.mark.parametrize(
    ("text", "number_type"),
    [("0x10", "int"), ("+4", "int"), ("4.0", "int"), (" 5", "float"), ("1,5", "float"), ("x", "float")],
)
def test_anything_but_a_plain_numeral_is_left_to_pandas(text, number_type):
    """Arrow would read ``0x10`` as 16 where pandas refuses it; such files take pandas' path."""
    assert _arrow_numbers(pd.Series([text, "1"], dtype="str"), number_type) is None


def test_spread_text_repeats_distinct_values_and_leaves_missing_codes_missing():
    spread = spread_text(pd.Series(["a", "b"]), np.array([1, -1, 0, 1]), pd.RangeIndex(4))
    assert spread.dtype == "str"
    assert spread[0] == "b"
    assert pd.isna(spread[1])
    assert spread.tolist()[2:] == ["a", "b"]


def test_batch_ids_follow_the_delivery_labels_and_unknown_labels_get_none():
    labels = pd.Series(["2020-01-01", "2020-02-01", "2020-03-01", "2020-01-01"], dtype="str")
    ids = batch_ids(labels, {"2020-01-01": "b1", "2020-02-01": "b2"})
    expected = labels.map({"2020-01-01": "b1", "2020-02-01": "b2"})
    assert ids.isna().tolist() == expected.isna().tolist()
    assert ids.dropna().tolist() == expected.dropna().tolist()


def test_fsiii_domain_is_the_code_before_its_first_dot_as_str_split_gave():
    codes = pd.Series(["b1.2.3", "d4", None, "", ".x"], dtype="str")
    pd.testing.assert_series_equal(_before_first_dot(codes), codes.str.split(".").str[0].astype("str"))


def test_the_landed_record_key_hash_is_the_first_8_bytes_of_md5_little_endian() -> None:
    """Batches landed years apart must hash a key alike, so the hash is pinned to MD5 itself (a DuckDB
    upgrade that changed ``md5_number_upper`` would fail here, not hide corrections in the warehouse)."""
    keys = ["lpr_diagnoses:3f2a|2024-01-02 10:00:00|DI50", "", "æøå:Ø|1", "x" * 300]
    expected = [int.from_bytes(hashlib.md5(key.encode()).digest()[:8], "little") for key in keys]
    assert record_key_hashes(pd.Series(keys, dtype=TEXT_DTYPE)).tolist() == expected


def test_the_features_engine_reads_the_column_ingest_lands() -> None:
    assert RECORD_KEY_HASH == LANDED_KEY_HASH


def test_a_missing_record_key_is_refused_rather_than_hashed() -> None:
    with pytest.raises(ValueError, match="record key is missing"):
        record_key_hashes(pd.Series(["a", None], dtype=TEXT_DTYPE))
