"""From a delivered frame to warehouse rows: types, pseudonyms, context columns, names and derived columns.

Three steps, each returning a new frame (inputs are never modified):
1. ``coerce_types``: source columns to the contract's types; values that do not parse are findings.
2. ``add_context_columns``: the pseudonym and the columns the contract's expectations need (delivery,
   delivered-at, birth date, cross-table look-ups). The CPR column stays only in memory until step 3.
3. ``to_warehouse_rows``: keep the contract's columns under their warehouse names, map coded values, derive
   table-specific columns, add ``person_key``, ``_record_key`` (and its 64-bit hash ``_record_key_hash``),
   ``_valid_time``, ``_delivered_at``, ``_ingested_at`` and ``_batch_id``. The CPR column and the name
   never reach the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.contract import Contract
from data_contracts.pseudonym import cpr_date_and_mod11, cpr_is_well_formed, pseudonymise_cpr

# RECORD_KEY_HASH is landed beside ``_record_key``: the feature engine finds the keys that occur more than
# once (the only ones a correction can have superseded) from 8 bytes a row instead of decoding every key
# (decision D150); warehouse.key_index, which indexes them, holds the name.
from warehouse.key_index import RECORD_KEY_HASH

TIMESTAMP_DTYPE = "datetime64[us]"
# pandas' default string dtype (Arrow-backed, missing as NaN): the dtype of every text column here.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


def _text_from_arrow(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A text Series over Arrow strings without a round trip through Python objects (nulls -> NaN).

    Building a text column from a NumPy object array converts every value to Arrow again (seconds per
    ten million rows); ``take`` on the few distinct values, then this, does not.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    as_text = values.cast(pa.large_string()).to_pandas(types_mapper=lambda _: TEXT_DTYPE)
    return pd.Series(as_text, dtype=TEXT_DTYPE).set_axis(index)


def spread_text(distinct: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``distinct[codes]`` as a text Series on ``index``; a code of -1 (or a missing value) gives NaN."""
    values = pa.array(distinct.to_numpy(dtype=object, na_value=None), pa.large_string())
    positions = pa.array(np.asarray(codes, dtype=np.int64), mask=np.asarray(codes) < 0)
    return _text_from_arrow(values.take(positions), index)


def _arrow_numbers(values: pd.Series, number_type: str) -> pd.Series | None:
    """``values`` (text) parsed by Arrow as int64 (``Int64``) or float64, or None when Arrow refuses any
    value (then ``pd.to_numeric`` decides, value by value). Arrow's cast accepts only plain numerals
    (``12``, ``-3``, ``4.5``, ``1e3``, ``inf``; integers only as ``-?[0-9]+``), which ``pd.to_numeric``
    reads the same; it skips pandas' object path, a Python-level parse of every value that was most of
    ``coerce_types``."""
    if not isinstance(values.dtype, pd.StringDtype) or values.dtype.storage != "pyarrow":
        return None
    arrow = pa.array(values.array)
    # Arrow also reads hexadecimal integers (``0x10``), which pandas refuses: plain numerals only.
    if number_type == "int" and not pc.all(pc.match_substring_regex(arrow, r"^-?[0-9]+$")).as_py():
        return None
    try:
        if number_type == "int":
            parsed = pc.cast(arrow, pa.int64())
            return pd.Series(
                parsed.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get), dtype="Int64"
            ).set_axis(values.index)
        parsed = pc.cast(arrow, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(parsed.to_numpy(zero_copy_only=False), dtype="float64").set_axis(values.index)


@dataclass(frozen=True)
class ReferenceData:
    """What cross-table rules and joins need from tables already landed.

    ``birth_dates``: birth date by person_key (the population); ``contacts``: ``person_key`` and
    ``contact_start`` by contact_id (hospital contacts); ``ddd_per_pack``: by product_number.
    """

    birth_dates: pd.Series = field(default_factory=lambda: pd.Series(dtype=TIMESTAMP_DTYPE))
    contacts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            {"person_key": pd.Series(dtype="str"), "contact_start": pd.Series(dtype=TIMESTAMP_DTYPE)}
        )
    )
    ddd_per_pack: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))

    def __post_init__(self) -> None:
        # Object-dtype, duplicate-free indexes: their hash tables are built once and reused by every
        # delivery's look-ups (``get_indexer``), which matters with tens of thousands of persons.
        for name in ("birth_dates", "contacts", "ddd_per_pack"):
            table = getattr(self, name)
            table = table[~table.index.duplicated(keep="last")]
            object.__setattr__(self, name, table.set_axis(pd.Index(table.index, dtype="object")))


@dataclass(frozen=True)
class TypeProblem:
    """Values of a column that do not parse as the contract's type (positions in the frame)."""

    column: str
    expected_type: str
    positions: np.ndarray


def _as_timestamps(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(None).astype(TIMESTAMP_DTYPE)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype(TIMESTAMP_DTYPE)
    return pd.to_datetime(values.astype("str"), format="ISO8601", errors="coerce").astype(TIMESTAMP_DTYPE)


def _stored_with_wrong_type(values: pd.Series, expected: str) -> bool:
    """True when a typed file (Parquet) stores a column in a type the contract does not allow."""
    if values.isna().all():
        return False
    if expected in ("date", "datetime"):
        return not pd.api.types.is_datetime64_any_dtype(values)
    if expected in ("int", "float"):
        return not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    return False


def schema_problems(raw: pd.DataFrame, contract: Contract) -> list[TypeProblem]:
    """In a typed file (Parquet) of one delivery: date, time or number columns stored as text, reported
    on every filled row even when the text would parse, because the delivery broke the agreed schema."""
    if contract.format != "parquet":
        return []
    problems = []
    for spec in contract.columns:
        values = raw[spec.source]
        if _stored_with_wrong_type(values, spec.type):
            positions = np.flatnonzero(values.notna().to_numpy())
            problems.append(TypeProblem(spec.source, f"{spec.type} (stored as text)", positions))
    return problems


def coerce_types(raw: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, list[TypeProblem]]:
    """A copy of ``raw`` with each contract column in its type, and the positions that failed to parse.

    Types: ``cpr``/``string`` -> str; ``date``/``datetime`` -> datetime64[us]; ``int`` -> nullable Int64
    (a fractional value is a problem); ``float`` -> float64. Missing stays missing; unparseable becomes
    missing and is reported. Stored types of typed files are checked per delivery by ``schema_problems``.
    """
    typed = pd.DataFrame(index=raw.index)
    problems: list[TypeProblem] = []
    for spec in contract.columns:
        values = raw[spec.source]
        present = values.notna().to_numpy()
        if spec.type in ("cpr", "string"):
            if pd.api.types.is_float_dtype(values):
                values = values.astype("Int64")
            converted = values.astype("str").where(present, np.nan) if len(values) else values.astype("str")
            typed[spec.source] = converted.astype("str")
            continue
        if spec.type in ("date", "datetime"):
            converted = _as_timestamps(values)
        elif (fast := _arrow_numbers(values, spec.type)) is not None:
            converted = fast
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            if spec.type == "int":
                fractional = (numbers.notna() & (numbers % 1 != 0)).to_numpy()
                converted = numbers.where(~fractional).astype("Float64").astype("Int64")
            else:
                converted = numbers.astype("float64")
        failed = present & converted.isna().to_numpy()
        if failed.any():
            problems.append(TypeProblem(spec.source, spec.type, np.flatnonzero(failed)))
        typed[spec.source] = converted
    return typed, problems


def _known(values: pd.Series, known: pd.Index) -> np.ndarray:
    """Membership by hash look-up (``Series.isin`` on Arrow strings converts every candidate: slow)."""
    if len(known) == 0:
        return np.zeros(len(values), dtype=bool)
    return known.get_indexer(values.astype("object")) >= 0


def add_context_columns(
    typed: pd.DataFrame,
    contract: Contract,
    *,
    delivery_labels: pd.Series,
    delivered_at: pd.Series,
    key: str,
    reference: ReferenceData,
    pseudonym_cache: dict[str, str] | None = None,
) -> pd.DataFrame:
    """A copy with ``_delivery``, ``_row_number`` (1-based data row within its delivery),
    ``_delivered_at`` and, where the source has a person, ``person_key``, ``_person_known``,
    ``_birth_date``, ``_cpr_date_valid`` (the date part is a real date under the century rule; True for
    values the format rule already refuses), ``_cpr_nine_digits`` and ``_cpr_mod11_fails``; plus
    ``_contact_known`` (diagnoses) and ``_product_known`` (prescriptions).

    ``typed`` may hold several deliveries of one source, consecutive; ``delivery_labels`` and
    ``delivered_at`` (extract date) are aligned with it. For care tables ``_delivered_at`` is the row's
    own ``registered_at``. ``pseudonym_cache``: CPR -> pseudonym under ``key``, shared over one run's
    groups and sources (``data_contracts.pseudonym.pseudonymise_cpr``).
    """
    frame = typed.copy()
    frame["_delivery"] = (
        delivery_labels.array
        if isinstance(delivery_labels.dtype, pd.StringDtype)
        else delivery_labels.to_numpy()
    )
    codes = pd.factorize(delivery_labels)[0]
    first_position = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    run_lengths = np.diff(np.r_[first_position, len(codes)])
    frame["_row_number"] = np.arange(len(codes)) - np.repeat(first_position, run_lengths) + 1
    if contract.origin == "care_db":
        frame["_delivered_at"] = frame["registered_at"]
    else:
        frame["_delivered_at"] = pd.Series(delivered_at.to_numpy(), index=frame.index).astype(TIMESTAMP_DTYPE)
    person = contract.person_column
    if person is not None:
        # Work on the distinct CPR numbers (tens of thousands), then spread to the rows (millions).
        person_codes, distinct = pd.factorize(frame[person], use_na_sentinel=True)
        distinct_cpr = pd.Series(distinct, dtype="str")
        well_formed = cpr_is_well_formed(distinct_cpr)
        distinct_keys = pseudonymise_cpr(distinct_cpr.where(well_formed), key, pseudonym_cache)
        real_date, mod11_ok = cpr_date_and_mod11(distinct_cpr)
        formed = well_formed.to_numpy(dtype=bool)
        date_valid = ~formed | real_date
        nine_digits = distinct_cpr.str.fullmatch(r"\d{9}").fillna(False).to_numpy(dtype=bool)
        mod11_fails = formed & ~mod11_ok
        missing = person_codes < 0
        safe_codes = np.where(missing, 0, person_codes)

        def spread(values: np.ndarray, fill: object) -> np.ndarray:
            if len(values) == 0:
                return np.full(len(person_codes), fill, dtype=object)
            out = values[safe_codes]
            return np.where(missing, fill, out) if missing.any() else out

        frame["person_key"] = spread_text(distinct_keys, person_codes, frame.index)
        frame["_cpr_date_valid"] = spread(date_valid, True).astype(bool)
        frame["_cpr_nine_digits"] = spread(nine_digits, False).astype(bool)
        frame["_cpr_mod11_fails"] = spread(mod11_fails, False).astype(bool)
        if contract.table == "population":
            frame["_person_known"] = True
            frame["_birth_date"] = frame["FOED_DAG"]
        else:
            known = _known(distinct_keys, reference.birth_dates.index)
            frame["_person_known"] = spread(known, False).astype(bool)
            births = reference.birth_dates.reindex(distinct_keys.astype(object)).to_numpy(
                dtype="datetime64[us]"
            )
            frame["_birth_date"] = pd.Series(
                spread(births, np.datetime64("NaT", "us")), index=frame.index
            ).astype(TIMESTAMP_DTYPE)
    if contract.table == "hospital_diagnoses":
        frame["_contact_known"] = _known(frame["DW_EK_KONTAKT"], reference.contacts.index)
    if contract.table == "prescriptions":
        frame["_product_known"] = _known(frame["VNR"], reference.ddd_per_pack.index)
    return frame


def _map_values(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    return values.map(mapping).astype("str").where(values.notna(), np.nan).astype("str")


def _monday_of_fee_week(fee_week: pd.Series) -> pd.Series:
    """``YYWW`` -> the Monday of that ISO week (20YY)."""
    text = "20" + fee_week.astype("str") + "1"
    return pd.to_datetime(text, format="%G%V%u", errors="coerce").astype(TIMESTAMP_DTYPE)


def _record_key(frame: pd.DataFrame, contract: Contract) -> pd.Series:
    """``<source>:<key part>|<key part>...``, the person replaced by ``person_key``; built with Arrow
    kernels because it runs over millions of rows. Times are written ``YYYY-MM-DD HH:MM:SS``."""
    text_type = pa.large_string()
    parts: list[pa.Array | pa.Scalar] = [pa.scalar(contract.source + ":", text_type)]
    for number, column in enumerate(contract.record_key):
        values = frame["person_key"] if column == contract.person_column else frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            text = pc.cast(pa.array(values.to_numpy(dtype="datetime64[s]"), pa.timestamp("s")), text_type)
        else:
            text = pc.cast(pa.array(values.astype("str"), from_pandas=True), text_type)
        parts.append(pc.fill_null(text, ""))
        if number < len(contract.record_key) - 1:
            parts.append(pa.scalar("|", text_type))
    joined = pc.binary_join_element_wise(*parts, pa.scalar("", text_type))
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    as_text = joined.to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow", na_value=np.nan))
    return pd.Series(as_text, dtype="str").set_axis(frame.index)


_CONTACT_COLUMNS = (
    "contact_id",
    "contact_start",
    "contact_end",
    "contact_type",
    "priority",
    "action_diagnosis",
    "responsible_unit",
    "lpr_version",
)


def _before_first_dot(codes: pd.Series) -> pd.Series:
    """The part of each code before its first ``.`` (all of it where there is none; missing stays
    missing), by Arrow kernels: ``str.split`` on Arrow text falls back to one Python call per value."""
    arrow = pa.array(codes.astype(TEXT_DTYPE).array)
    return _text_from_arrow(pc.list_element(pc.split_pattern(arrow, ".", max_splits=1), 0), codes.index)


def _derive_table_columns(out: pd.DataFrame, contract: Contract, reference: ReferenceData) -> pd.DataFrame:
    table = contract.table
    if table == "hospital_contacts":
        out["lpr_version"] = "LPR3" if contract.source == "lpr3_contacts" else "LPR2"
        for column in _CONTACT_COLUMNS:
            if column not in out.columns:
                out[column] = pd.Series(np.nan, index=out.index, dtype="str")
        out = out[list(_CONTACT_COLUMNS)]
    elif table == "hospital_diagnoses":
        joined = reference.contacts.reindex(out["contact_id"])
        out["person_key"] = joined["person_key"].astype("str").to_numpy()
        out["contact_start"] = joined["contact_start"].astype(TIMESTAMP_DTYPE).to_numpy()
    elif table == "prescriptions":
        ddd = out["product_number"].map(reference.ddd_per_pack).astype("float64")
        out["ddd"] = out["packages"].astype("float64") * ddd
    elif table == "gp_services":
        out["service_date"] = out["service_date"].fillna(_monday_of_fee_week(out["fee_week"]))
    elif table == "fsiii_functional_ability":
        out.insert(2, "domain", _before_first_dot(out["code"]))
    elif table == "fsiii_health_conditions":
        out.insert(2, "area", _before_first_dot(out["code"]))
    return out


def to_warehouse_rows(
    frame: pd.DataFrame,
    contract: Contract,
    reference: ReferenceData,
    batch_ids: pd.Series,
    ingested_at: pd.Timestamp,
) -> pd.DataFrame:
    """The rows to land: warehouse names and values, derived columns and the bitemporal bookkeeping.

    ``frame`` is the output of ``add_context_columns`` (one or more deliveries); ``batch_ids`` gives each
    row's batch. The CPR and name columns are dropped here; ``person_key`` replaces them.
    """
    out = pd.DataFrame(index=frame.index)
    for spec in contract.columns:
        if spec.name is None:
            continue
        values = frame[spec.source]
        if spec.values is not None:
            values = _map_values(values, spec.values)
        if spec.boolean:
            values = values.astype("boolean")
        out[spec.name] = values
    out = _derive_table_columns(out, contract, reference)
    if contract.person_column is not None:
        out.insert(0, "person_key", frame["person_key"].astype("str"))
    out["_record_key"] = _record_key(frame.assign(person_key=out.get("person_key")), contract)
    out[RECORD_KEY_HASH] = record_key_hashes(out["_record_key"])
    valid = out[contract.valid_time] if contract.valid_time else frame["_delivered_at"]
    out["_valid_time"] = valid.astype(TIMESTAMP_DTYPE)
    out["_delivered_at"] = frame["_delivered_at"].astype(TIMESTAMP_DTYPE)
    out["_ingested_at"] = pd.Timestamp(ingested_at).as_unit("us")
    out["_batch_id"] = (
        batch_ids.array if isinstance(batch_ids.dtype, pd.StringDtype) else batch_ids.to_numpy()
    )
    # A later row with the same record key in the same delivery supersedes the earlier one (both would
    # be known from the same moment, so only the later one can ever be read as known).
    batch_codes = pd.factorize(out["_batch_id"])[0].astype(np.int64)
    key_codes = pd.factorize(out["_record_key"])[0].astype(np.int64)
    combined = pd.Series(batch_codes * (int(key_codes.max(initial=0)) + 1) + key_codes)
    out = out[~combined.duplicated(keep="last").to_numpy()]
    return out.reset_index(drop=True)


def record_key_hashes(keys: pd.Series) -> np.ndarray:
    """The first 8 bytes of the MD5 digest of each key's UTF-8 text, read little-endian, as uint64.

    A fixed definition, because batches landed years apart must agree (a table whose batches hashed the
    same key differently would hide a correction; the engine then reads DuckDB's ``hash`` of the keys
    instead only for tables where some batch has no hash at all). DuckDB's ``md5_number_upper`` computes
    it (about 0.5 us a key); ``tests/data_contracts/test_conform.py`` pins it to ``hashlib``'s MD5.
    """
    if keys.isna().any():
        raise ValueError("A record key is missing; every landed row needs one.")
    table = pa.table({"key": pa.array(keys.astype(TEXT_DTYPE).array)})
    with duckdb.connect() as connection:
        connection.register("keys", table)
        hashes = connection.execute("SELECT md5_number_upper(key) AS hash FROM keys").fetchnumpy()["hash"]
    return np.asarray(hashes, dtype=np.uint64)


def keystore_rows(frame: pd.DataFrame, contract: Contract, key_version: str) -> pd.DataFrame:
    """(person_key, key_version, cpr, name) for the key store; only sources that deliver names have rows."""
    name_columns = [spec.source for spec in contract.columns if spec.keystore]
    if contract.person_column is None or not name_columns:
        return pd.DataFrame(columns=["person_key", "key_version", "cpr", "name"])
    rows = pd.DataFrame(
        {
            "person_key": frame["person_key"],
            "key_version": key_version,
            "cpr": frame[contract.person_column].str.replace("-", "", regex=False),
            "name": frame[name_columns[0]],
        }
    )
    return rows.drop_duplicates("person_key", keep="last").reset_index(drop=True)
