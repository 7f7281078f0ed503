"""From simulated events to rows shaped like the sources, with reporting delays and corrections.

Registry rows get an extract date: the first monthly extract on or after ``event date + delay`` (never
before the start date; rows that would arrive after the last extract are not delivered). Corrections are
the same record key delivered again in a later extract with changed values. Care-record rows get
``registered_at`` (when the care-record system wrote them); rows registered after the world's end are
not yet in the database.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from synthetic.codes import (
    ADMISSION_CAUSES,
    ALL_DRUGS,
    CONDITION_CODES,
    CONDITIONS,
    FRACTURE_CODES,
    FRAILTY_CODES,
    GP_SPECIALTY,
    MINOR_INJURY_CODES,
    OTHER_SPECIALTIES,
    PLANNED_OTHER_CODES,
    UNIT_CODES,
    product_number,
)
from synthetic.config import WorldConfig
from synthetic.events import BlockHistory
from synthetic.population import CIVIL_STATUS_CODES, all_municipalities
from synthetic.sources import (
    LPR3_FROM,
    REGISTRY_SOURCES,
    SSSY_TREATMENT_DATE_FROM,
    ColumnType,
)
from synthetic.truth import LATENT_COLUMNS, TRUTH_COLUMNS

EXTRACT = "_extract"
ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms"),  # what Parquet stores for second-resolution times
}
# Rows per block and table reserved for ids: ids are block * ID_STRIDE + row number in the block.
ID_STRIDE = 100_000_000
CONTACT_ID_BASE = 7_000_000_000_000
INDICATIONS = ("mod forhøjet blodtryk", "mod smerter", "mod infektion", "forebyggende", "mod uro")


def arrow_column(values: np.ndarray, missing: np.ndarray | None, column_type: ColumnType) -> pa.Array:
    """An Arrow array of the interface type; ``missing`` marks nulls (or None for none)."""
    if column_type == "str":  # letting pyarrow infer strings is several times faster than naming the type
        return pa.array(values, mask=missing).cast(pa.string())
    return pa.array(values, type=ARROW_TYPES[column_type], mask=missing)


def _take(vocabulary: np.ndarray | list[str | None], index: np.ndarray) -> pa.Array:
    """Strings by position in a vocabulary (``None`` entries become missing); fast for large columns."""
    return pa.array(vocabulary, type=pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def source_table(source: str, columns: dict[str, np.ndarray], extract: np.ndarray) -> pa.Table:
    """A registry table in the source's column order and types, plus the ``_extract`` date column.

    Missing values are ``None``/NaT/NaN in the input arrays.
    """
    spec = REGISTRY_SOURCES[source]
    arrays = []
    for name, column_type in spec.columns:
        if isinstance(columns[name], pa.Array):
            arrays.append(columns[name].cast(ARROW_TYPES[column_type]))
            continue
        values = np.asarray(columns[name])
        missing = pd.isna(values) if values.dtype.kind in "OMf" else None
        if missing is not None and not missing.any():
            missing = None
        if column_type == "str" and values.dtype.kind != "U":
            values = np.where(pd.isna(values), "", values).astype(str)
        arrays.append(arrow_column(values, missing, column_type))
    arrays.append(pa.array(extract.astype("datetime64[D]"), type=pa.date32()))
    return pa.table(arrays, names=[*spec.column_names, EXTRACT])


class DeliveryClock:
    """Turns event dates plus reporting delays into extract dates."""

    def __init__(self, config: WorldConfig) -> None:
        extracts = config.extract_dates
        self.first = extracts[0]
        self.last = extracts[-1]

    def extract_for(self, known: np.ndarray) -> np.ndarray:
        """The first extract on or after ``known`` (datetime64[D]); NaT when after the last extract."""
        known = known.astype("datetime64[D]")
        month = known.astype("datetime64[M]").astype("datetime64[D]")
        extract = np.where(known == month, month, (known.astype("datetime64[M]") + 1).astype("datetime64[D]"))
        extract = np.maximum(extract, self.first)
        return np.where(extract <= self.last, extract, np.datetime64("NaT"))

    def delayed(self, rng: np.random.Generator, event: np.ndarray, low: int, high: int) -> np.ndarray:
        delay = rng.integers(low, high + 1, event.size).astype("timedelta64[D]")
        return self.extract_for(event.astype("datetime64[D]") + delay)


def _later_extract(clock: DeliveryClock, extract: np.ndarray, months: np.ndarray) -> np.ndarray:
    later = (extract.astype("datetime64[M]") + months).astype("datetime64[D]")
    return np.where(later <= clock.last, later, np.datetime64("NaT"))


def _keep(table: pa.Table) -> pa.Table:
    """Drop rows that are never delivered (extract after the last one)."""
    return table.filter(pa.compute.is_valid(table[EXTRACT]))


def _with_corrections(
    table: pa.Table, rows: np.ndarray, changes: dict[str, pa.Array], extract: np.ndarray
) -> pa.Table:
    """Append re-deliveries of ``rows`` with ``changes`` applied, in the given later extracts."""
    if rows.size == 0:
        return table
    corrected = table.take(pa.array(rows))
    for name, values in changes.items():
        index = corrected.schema.get_field_index(name)
        corrected = corrected.set_column(index, name, values.cast(corrected.schema.field(index).type))
    corrected = corrected.set_column(
        corrected.schema.get_field_index(EXTRACT),
        EXTRACT,
        pa.array(extract.astype("datetime64[D]"), type=pa.date32()),
    )
    return pa.concat_tables([table, corrected])


def at_minute(date: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """Datetimes (``datetime64[s]``) ``minute`` minutes after midnight of ``date``."""
    return date.astype("datetime64[s]") + (minute * 60).astype("timedelta64[s]")


def registry_deliveries(config: WorldConfig, history: BlockHistory) -> dict[str, pa.Table]:
    """Every registry source's rows for one block, each with its ``_extract`` date."""
    rng = config.rng(history.block, 2)
    clock = DeliveryClock(config)
    tables = {
        "cpr_population": _population(config, history, rng, clock),
        "deaths": _deaths(history, rng, clock),
        "lmdb_prescriptions": _prescriptions(history, rng, clock),
        "sssy_services": _gp_services(history, rng, clock),
    }
    tables.update(_hospital(history, rng, clock))
    return {name: _keep(table) for name, table in tables.items()}


def product_table(config: WorldConfig) -> pa.Table:
    """The LMDB product (VNR) reference table, delivered once with the first extract."""
    columns = {
        "VNR": np.array([product_number(i) for i in range(len(ALL_DRUGS))]),
        "ATC": np.array([d.atc for d in ALL_DRUGS]),
        "PRODUCT_NAME": np.array([f"{d.name} {d.strength:g} {d.strength_unit}" for d in ALL_DRUGS]),
        "PACKSIZE": np.array([float(d.pack_size) for d in ALL_DRUGS]),
        "DDD_PER_PACK": np.array([d.ddd_per_pack for d in ALL_DRUGS]),
    }
    extract = np.full(len(ALL_DRUGS), config.extract_dates[0])
    return source_table("lmdb_products", columns, extract)


def _population(
    config: WorldConfig, history: BlockHistory, rng: np.random.Generator, clock: DeliveryClock
) -> pa.Table:
    spells = history.events.table("spell")
    order = np.lexsort((spells["date"], spells["person"]))
    spells = {k: v[order] for k, v in spells.items()}
    person = spells["person"]
    same_next = np.r_[person[1:] == person[:-1], False]
    end = np.where(same_next, np.r_[spells["date"][1:], spells["date"][:1]], np.datetime64("NaT"))
    end = end.astype("datetime64[D]")
    codes = np.array(all_municipalities(config))
    municipality = codes[spells["municipality"]]
    district = np.char.add(np.char.add(municipality, "-"), np.char.zfill(spells["district"].astype(str), 2))
    first_known = clock.delayed(rng, spells["date"], 3, 10)
    closed_known = clock.delayed(rng, np.where(np.isnat(end), spells["date"], end), 3, 10)
    closed_known = np.where(np.isnat(end), np.datetime64("NaT"), closed_known)
    closed_at_first = ~np.isnat(closed_known) & (closed_known <= first_known)
    columns = {
        "PNR": _take(history.cpr, person),
        "FOED_DAG": history.birth_date[person],
        "KOEN": np.where(history.male[person], "M", "K"),
        "NAVN": _take(history.names, person),
        "STATUS": spells["status"],
        "KOM": municipality,
        "DISTRIKT": district,
        "CIVST": CIVIL_STATUS_CODES[spells["civil"]],
        "ANTPERSH": spells["household"],
        "BOP_VFRA": spells["date"],
        "BOP_VTIL": np.where(closed_at_first, end, np.datetime64("NaT")),
    }
    table = source_table("cpr_population", columns, first_known)
    closes_later = np.flatnonzero(~np.isnat(closed_known) & ~closed_at_first & ~np.isnat(first_known))
    return _with_corrections(
        table,
        closes_later,
        {"BOP_VTIL": pa.array(end[closes_later], type=pa.date32())},
        closed_known[closes_later],
    )


def _deaths(history: BlockHistory, rng: np.random.Generator, clock: DeliveryClock) -> pa.Table:
    deaths = history.events.table("death")
    if not deaths:
        return source_table(
            "deaths",
            {c: np.array([], dtype=object) for c in ("PNR", "DODDATO", "DODSAARSAG")},
            np.array([], dtype="datetime64[D]"),
        )
    first_known = clock.delayed(rng, deaths["date"], 7, 21)
    cause_known = clock.delayed(rng, deaths["date"], 90, 270)
    # history deaths whose cause was known by the first extract arrive with it at once
    with_cause = ~np.isnat(cause_known) & (cause_known <= first_known)
    columns = {
        "PNR": _take(history.cpr, deaths["person"]),
        "DODDATO": deaths["date"],
        "DODSAARSAG": np.where(with_cause, deaths["cause"], None),
    }
    table = source_table("deaths", columns, first_known)
    rows = np.flatnonzero(~np.isnat(cause_known) & ~with_cause & ~np.isnat(first_known))
    return _with_corrections(
        table, rows, {"DODSAARSAG": pa.array(deaths["cause"][rows].astype(str))}, cause_known[rows]
    )


def _prescriptions(history: BlockHistory, rng: np.random.Generator, clock: DeliveryClock) -> pa.Table:
    rx = history.events.table("prescription")
    drug = rx["drug"]
    indication = rng.integers(0, len(INDICATIONS), drug.size)
    indication[rng.random(drug.size) < 0.4] = len(INDICATIONS)
    columns = {
        "PNR": _take(history.cpr, rx["person"]),
        "EKSD": rx["date"],
        "ATC": _take([d.atc for d in ALL_DRUGS], drug),
        "VNR": _take([product_number(i) for i in range(len(ALL_DRUGS))], drug),
        "APK": rx["packages"].astype(float),
        "PACKSIZE": np.array([float(d.pack_size) for d in ALL_DRUGS])[drug],
        "STRNUM": np.array([d.strength for d in ALL_DRUGS])[drug],
        "STRUNIT": _take([d.strength_unit for d in ALL_DRUGS], drug),
        "INDO": _take([*INDICATIONS, None], indication),
    }
    extract = clock.delayed(rng, rx["date"], 20, 40)
    table = source_table("lmdb_prescriptions", columns, extract)
    rows = np.flatnonzero((rng.random(drug.size) < 0.005) & ~np.isnat(extract))
    later = _later_extract(clock, extract[rows], rng.integers(1, 4, rows.size))
    rows, later = rows[~np.isnat(later)], later[~np.isnat(later)]
    new_packages = np.where(rx["packages"][rows] > 1, 1.0, 2.0)
    return _with_corrections(table, rows, {"APK": pa.array(new_packages)}, later)


def _gp_services(history: BlockHistory, rng: np.random.Generator, clock: DeliveryClock) -> pa.Table:
    gp = history.events.table("gp")
    n = gp["person"].size
    frame = pd.DataFrame(
        {
            "person": gp["person"],
            "date": gp["date"].astype("datetime64[s]"),
            "services": gp["services"],
            "evening": gp["evening"],
            "specialty": np.where(
                rng.random(n) < 0.9, GP_SPECIALTY, np.array(OTHER_SPECIALTIES)[rng.integers(0, 2, n)]
            ),
        }
    )
    iso = frame["date"].dt.isocalendar()
    frame["week"] = (iso["year"] % 100).astype(str).str.zfill(2) + iso["week"].astype(str).str.zfill(2)
    dated = frame["date"] >= pd.Timestamp(SSSY_TREATMENT_DATE_FROM)
    frame["treatment_date"] = frame["date"].where(dated)
    frame["key_date"] = frame["treatment_date"].fillna(pd.Timestamp("1900-01-01"))
    grouped = (
        frame.groupby(["person", "specialty", "week", "key_date", "evening"], sort=True)
        .agg(services=("services", "sum"), last=("date", "max"))
        .reset_index()
    )
    treatment = grouped["key_date"].where(grouped["key_date"] > pd.Timestamp("1900-01-01"))
    last = grouped["last"].to_numpy().astype("datetime64[D]")
    columns = {
        "PNR": _take(history.cpr, grouped["person"].to_numpy()),
        "SPECIALE": grouped["specialty"].to_numpy(),
        "HONUGE": grouped["week"].to_numpy(),
        "BEHANDLINGSDATO": treatment.to_numpy().astype("datetime64[D]"),
        "YDLANT": grouped["services"].to_numpy(),
        "YDLTID": np.where(grouped["evening"].to_numpy(), "aften", "dag"),
    }
    extract = clock.delayed(rng, last, 25, 45)
    table = source_table("sssy_services", columns, extract)
    rows = np.flatnonzero((rng.random(last.size) < 0.005) & ~np.isnat(extract))
    later = _later_extract(clock, extract[rows], np.ones(rows.size, dtype=int))
    rows, later = rows[~np.isnat(later)], later[~np.isnat(later)]
    return _with_corrections(table, rows, {"YDLANT": pa.array(columns["YDLANT"][rows] + 1)}, later)


def _hospital(history: BlockHistory, rng: np.random.Generator, clock: DeliveryClock) -> dict[str, pa.Table]:
    """LPR3 contacts and diagnoses from 2019, LPR2 admissions before."""
    contacts = history.events.table("contact")
    n = contacts["person"].size
    kind = contacts["kind"]
    draw = contacts["draw"]
    cause = contacts["cause"]
    start = at_minute(contacts["date"], contacts["minute"])
    hours = np.select(
        [kind == "admission", kind == "fracture", kind == "emergency"],
        [
            14 + np.exp(rng.normal(np.log(50), 0.8, n)),
            14 + np.exp(rng.normal(np.log(150), 0.5, n)),
            1.5 + 5.5 * draw,
        ],
        0.5 + 2.5 * draw,
    )
    planned_admission = (kind == "planned") & (rng.random(n) < 0.04)
    hours = np.where(planned_admission, 24 + 72 * draw, hours)
    end = start + (np.minimum(hours, 24 * 30) * 3600).astype("timedelta64[s]")
    deaths = history.events.table("death")
    if deaths:
        death_day = np.full(history.cpr.size, np.datetime64("NaT"), dtype="datetime64[s]")
        death_day[deaths["person"]] = deaths["date"].astype("datetime64[s]") + np.timedelta64(23 * 3600, "s")
        died = death_day[contacts["person"]]
        end = np.where(~np.isnat(died) & (end > died), np.maximum(died, start), end)
    acute = kind != "planned"
    virtual = (kind == "planned") & ~planned_admission & (rng.random(n) < 0.25)
    adiag = _action_diagnoses(rng, kind, cause, contacts["conditions"], draw)
    contact_id = (CONTACT_ID_BASE + history.block * ID_STRIDE + np.arange(n, dtype=np.int64)).astype(str)
    extract = clock.delayed(rng, contacts["date"], 14, 42)
    lpr3 = start >= np.datetime64(LPR3_FROM)

    sel = np.flatnonzero(lpr3)
    contact_table = source_table(
        "lpr3_contacts",
        {
            "DW_EK_KONTAKT": contact_id[sel],
            "PNR": _take(history.cpr, contacts["person"][sel]),
            "KONT_STARTTIDSPUNKT": start[sel],
            "KONT_SLUTTIDSPUNKT": end[sel],
            "KONT_TYPE": np.where(virtual[sel], "ALCA03", "ALCA00"),
            "PRIORITET": np.where(acute[sel], "ATA1", "ATA3"),
            "ADIAG": adiag[sel],
            "KONT_ANS": np.array(UNIT_CODES)[rng.integers(0, len(UNIT_CODES), sel.size)],
        },
        extract[sel],
    )
    rows = np.flatnonzero((rng.random(sel.size) < 0.02) & ~np.isnat(extract[sel]))
    later = _later_extract(clock, extract[sel][rows], rng.integers(1, 4, rows.size))
    rows, later = rows[~np.isnat(later)], later[~np.isnat(later)]
    corrected_end = end[sel][rows] + (rng.integers(1, 7, rows.size) * 3600).astype("timedelta64[s]")
    contact_table = _with_corrections(
        contact_table, rows, {"KONT_SLUTTIDSPUNKT": pa.array(corrected_end)}, later
    )

    diagnoses = _diagnoses(
        rng, sel, contact_id, adiag, kind, contacts["conditions"], contacts["frailty"], extract, clock
    )

    old = np.flatnonzero(~lpr3)
    inpatient = (kind[old] == "admission") | (kind[old] == "fracture") | planned_admission[old]
    lpr2_table = source_table(
        "lpr2_admissions",
        {
            "RECNUM": contact_id[old],
            "PNR": _take(history.cpr, contacts["person"][old]),
            "D_INDDTO": start[old].astype("datetime64[D]"),
            "D_UDDTO": end[old].astype("datetime64[D]"),
            "C_PATTYPE": np.where(inpatient, "0", np.where(kind[old] == "emergency", "3", "2")),
            "C_INDM": np.where(acute[old], "1", "2"),
            "C_ADIAG": adiag[old],
        },
        extract[old],
    )
    rows = np.flatnonzero((rng.random(old.size) < 0.01) & ~np.isnat(extract[old]))
    later = _later_extract(clock, extract[old][rows], np.ones(rows.size, dtype=int))
    rows, later = rows[~np.isnat(later)], later[~np.isnat(later)]
    new_end = end[old][rows].astype("datetime64[D]") + np.timedelta64(1, "D")
    lpr2_table = _with_corrections(lpr2_table, rows, {"D_UDDTO": pa.array(new_end, type=pa.date32())}, later)
    return {"lpr3_contacts": contact_table, "lpr3_diagnoses": diagnoses, "lpr2_admissions": lpr2_table}


def _action_diagnoses(
    rng: np.random.Generator, kind: np.ndarray, cause: np.ndarray, conditions: np.ndarray, draw: np.ndarray
) -> np.ndarray:
    n = kind.size
    adiag = np.empty(n, dtype=object)
    for i, (_, codes, _) in enumerate(ADMISSION_CAUSES):
        sel = (kind == "admission") & (cause == i)
        adiag[sel] = np.array(codes)[(draw[sel] * len(codes)).astype(int)]
    sel = kind == "fracture"
    adiag[sel] = np.array(FRACTURE_CODES)[
        rng.choice(len(FRACTURE_CODES), int(sel.sum()), p=[0.55, 0.05, 0.2, 0.2])
    ]
    sel = kind == "emergency"
    adiag[sel] = np.array(MINOR_INJURY_CODES)[rng.integers(0, len(MINOR_INJURY_CODES), int(sel.sum()))]
    planned = kind == "planned"
    # new diagnosis -> that condition's code; follow-up -> one of the citizen's conditions; else other care
    onset = planned & (cause >= 0)
    first_codes = np.array([codes[0] for codes in CONDITION_CODES])
    adiag[onset] = first_codes[cause[onset]]
    follow = planned & (cause < 0)
    bits = conditions[follow]
    has = (bits[:, None] >> np.arange(len(CONDITIONS))[None, :]) & 1
    weights = has * rng.random(has.shape)
    chosen = weights.argmax(axis=1)
    other = np.array(PLANNED_OTHER_CODES)[rng.integers(0, len(PLANNED_OTHER_CODES), bits.size)]
    use_condition = has.any(axis=1) & (rng.random(bits.size) < 0.8)
    adiag[follow] = np.where(use_condition, first_codes[chosen], other)
    return adiag.astype(str)


def _diagnoses(  # noqa: PLR0917 (internal, called once)
    rng: np.random.Generator,
    sel: np.ndarray,
    contact_id: np.ndarray,
    adiag: np.ndarray,
    kind: np.ndarray,
    conditions: np.ndarray,
    frailty: np.ndarray,
    extract: np.ndarray,
    clock: DeliveryClock,
) -> pa.Table:
    """Action diagnosis (A) plus secondary diagnoses (B): known conditions and frailty-related codes."""
    ids, codes, types = [contact_id[sel]], [adiag[sel]], [np.full(sel.size, "A")]
    owner = [sel]
    inpatient = (kind[sel] == "admission") | (kind[sel] == "fracture")
    bits = conditions[sel]
    for c, condition_codes in enumerate(CONDITION_CODES):
        has = ((bits >> c) & 1).astype(bool) & (rng.random(sel.size) < np.where(inpatient, 0.8, 0.35))
        code = np.array(condition_codes)[rng.integers(0, len(condition_codes), sel.size)]
        keep = has & (code != adiag[sel])
        ids.append(contact_id[sel][keep])
        codes.append(code[keep])
        types.append(np.full(int(keep.sum()), "B"))
        owner.append(sel[keep])
    frailty_count = np.where(
        inpatient, rng.poisson(np.exp(-0.6 + 0.9 * frailty[sel])), rng.poisson(0.1, sel.size)
    )
    frailty_count = np.minimum(frailty_count, len(FRAILTY_CODES))
    rep = np.repeat(np.arange(sel.size), frailty_count)
    if rep.size:
        scores = rng.random((sel.size, len(FRAILTY_CODES)))
        ranks = np.argsort(scores, axis=1)
        position = np.arange(rep.size) - np.repeat(np.cumsum(frailty_count) - frailty_count, frailty_count)
        code = np.array(FRAILTY_CODES)[ranks[rep, position]]
        keep = code != adiag[sel][rep]
        ids.append(contact_id[sel][rep][keep])
        codes.append(code[keep])
        types.append(np.full(int(keep.sum()), "B"))
        owner.append(sel[rep][keep])
    owner_all = np.concatenate(owner)
    order = np.argsort(owner_all, kind="stable")
    columns = {
        "DW_EK_KONTAKT": np.concatenate(ids)[order],
        "DIAG_KODE": np.concatenate(codes)[order],
        "DIAG_KODE_TYPE": np.concatenate(types)[order],
        "SENERE_AFKRAEFTET": np.zeros(order.size, dtype=np.int64),
    }
    row_extract = extract[owner_all[order]]
    table = source_table("lpr3_diagnoses", columns, row_extract)
    retract = np.flatnonzero(
        (columns["DIAG_KODE_TYPE"] == "B") & (rng.random(order.size) < 0.01) & ~np.isnat(row_extract)
    )
    later = _later_extract(clock, row_extract[retract], rng.integers(1, 4, retract.size))
    retract, later = retract[~np.isnat(later)], later[~np.isnat(later)]
    return _with_corrections(
        table, retract, {"SENERE_AFKRAEFTET": pa.array(np.ones(retract.size, dtype=np.int64))}, later
    )


def truth_table(config: WorldConfig, history: BlockHistory) -> pa.Table:
    """The hidden truth rows of one block: cpr, month, the six probabilities and the latent state."""
    truth = history.events.table("truth")
    if not truth:
        columns = {"cpr": pa.array([], pa.string()), "month": pa.array([], pa.date32())}
        columns.update({name: pa.array([], pa.float32()) for name in TRUTH_COLUMNS + LATENT_COLUMNS})
        return pa.table(columns)
    columns = {
        "cpr": _take(history.cpr, truth["person"]),
        "month": pa.array(config.month_starts[truth["month"]], type=pa.date32()),
    }
    columns.update(
        {name: pa.array(truth[name], type=pa.float32()) for name in TRUTH_COLUMNS + LATENT_COLUMNS}
    )
    return pa.table(columns)
