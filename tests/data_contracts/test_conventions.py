"""Danish export conventions are read right: each lands exactly the rows of its clean twin, and a file that
can be read two ways is refused with a message saying how to pin it, never guessed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data_contracts.contract import load_contract
from data_contracts.deliveries import (
    Delivery,
    UnreadableDeliveryError,
    file_sha256,
    read_file_delivery_with_notes,
)
from data_contracts.dialect import PinnedDialect
from pipelines.settings import Settings
from tests.data_contracts import tiny_world
from tests.data_contracts.test_intake import ingest
from warehouse import Warehouse

SOURCES = ["cpr_population", "deaths", "lmdb_products", "lmdb_prescriptions"]
TABLES = ["population", "deaths", "drug_products", "prescriptions"]


def _clean_world(home: Path, deployment: str = "research") -> Settings:
    """The tiny world with a day above 12 in every date column, so day-first dates are unambiguous, and
    Danish letters in the values that land."""
    settings = tiny_world.write_tiny_world(home, deployment=deployment)
    landing = settings.landing_dir
    assert landing is not None
    population = tiny_world.population_frame()
    population.loc[0, "FOED_DAG"] = "1940-01-01"
    population.loc[3, "BOP_VFRA"] = "2000-01-20"
    population["NAVN"] = [f"Søren Ærø Åsbjørn {i}" for i in range(len(population))]
    tiny_world.write_csv(landing, "cpr_population", tiny_world.FIRST_EXTRACT, population)
    path = landing / "lmdb_prescriptions" / tiny_world.SECOND_EXTRACT / "lmdb_prescriptions.csv"
    prescriptions = pd.read_csv(path, dtype=str, keep_default_na=False)
    prescriptions.loc[3, "EKSD"] = "2021-01-16"
    prescriptions.loc[1, "INDO"] = "mod hævede ben og åndenød"
    prescriptions.loc[2, "APK"] = "1.5"
    prescriptions.to_csv(path, index=False)
    return settings


def _landed(settings: Settings) -> dict[str, pd.DataFrame]:
    store = Warehouse(settings.warehouse_dir)
    tables = {}
    for table in TABLES:
        frame = store.table(table).drop(columns=["_ingested_at", "_batch_id"])
        tables[table] = frame.sort_values(["_record_key", "_delivered_at"]).reset_index(drop=True)
    return tables


def _day_first(value: str, separator: str) -> str:
    if not value:
        return value
    date, _, time = value.partition("T") if "T" in value else value.partition(" ")
    year, month, day = date.split("-")
    text = f"{day}{separator}{month}{separator}{year}"
    return f"{text} {time}" if time else text


def rewrite(
    path: Path,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\n",
    bom: bool = False,
    dates: str | None = None,
    decimal_comma: bool = False,
    dashed_cpr: bool = False,
) -> None:
    """Rewrite a clean delivery in the given conventions (as Excel or a legacy system would write it)."""
    source = path.stem
    contract = load_contract(source)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for spec in contract.columns:
        if spec.source not in frame.columns:
            continue
        column = frame[spec.source]
        if dates and spec.type in ("date", "datetime"):
            frame[spec.source] = column.map(lambda v: _day_first(v, dates))
        if decimal_comma and spec.type == "float":
            frame[spec.source] = column.str.replace(".", ",", regex=False)
        if dashed_cpr and spec.type == "cpr":
            frame[spec.source] = column.str.slice(0, 6) + "-" + column.str.slice(6)

    def field(value: str) -> str:
        return f'"{value}"' if delimiter in value else value

    lines = [delimiter.join(frame.columns)]
    lines += [delimiter.join(field(v) for v in row) for row in frame.itertuples(index=False)]
    data = (newline.join(lines) + newline).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _every_csv(settings: Settings) -> list[Path]:
    assert settings.landing_dir is not None
    return [p for source in SOURCES for p in sorted((settings.landing_dir / source).rglob("*.csv"))]


CONVENTIONS: dict[str, Callable[[Path], None]] = {
    "semicolon": lambda p: rewrite(p, delimiter=";"),
    "tab": lambda p: rewrite(p, delimiter="\t"),
    "decimal-comma-with-semicolons": lambda p: rewrite(p, delimiter=";", decimal_comma=True),
    "decimal-comma-quoted-with-commas": lambda p: rewrite(p, decimal_comma=True),
    "utf8-with-bom": lambda p: rewrite(p, bom=True),
    "windows-1252": lambda p: rewrite(p, encoding="cp1252"),
    "iso-8859-1": lambda p: rewrite(p, encoding="latin-1"),
    "crlf": lambda p: rewrite(p, newline="\r\n"),
    "cpr-with-dash": lambda p: rewrite(p, dashed_cpr=True),
    "day-first-dashes": lambda p: rewrite(p, dates="-"),
    "day-first-dots": lambda p: rewrite(p, dates="."),
    "danish-excel-all-at-once": lambda p: rewrite(
        p,
        delimiter=";",
        encoding="cp1252",
        newline="\r\n",
        dates=".",
        decimal_comma=True,
        dashed_cpr=True,
    ),
}


@pytest.fixture(scope="module")
def clean_twin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    settings = _clean_world(tmp_path_factory.mktemp("clean") / "home")
    outcomes = ingest(settings, SOURCES)
    assert not any(o.quarantined for o in outcomes.values())
    return _landed(settings)


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_each_danish_convention_lands_exactly_the_rows_of_its_clean_twin(
    tmp_path: Path, clean_twin: dict[str, pd.DataFrame], convention: str
) -> None:
    settings = _clean_world(tmp_path / "home")
    for path in _every_csv(settings):
        CONVENTIONS[convention](path)
    outcomes = ingest(settings, SOURCES)
    assert not any(o.quarantined for o in outcomes.values()), {s: o.quarantined for s, o in outcomes.items()}
    landed = _landed(settings)
    for table in TABLES:
        pd.testing.assert_frame_equal(landed[table], clean_twin[table], obj=table)


def test_what_was_normalised_is_counted_per_file_in_the_batch_report(tmp_path: Path) -> None:
    settings = _clean_world(tmp_path / "home")
    for path in _every_csv(settings):
        CONVENTIONS["danish-excel-all-at-once"](path)
    outcomes = ingest(settings, SOURCES)
    (prescriptions,) = outcomes["lmdb_prescriptions"].landed
    normalised = prescriptions["normalised"]
    assert normalised["semicolon as delimiter"] == 1
    assert normalised["CRLF line ends"] == 1
    assert normalised["encoding cp1252 (read as such, stored as UTF-8)"] == 1
    assert normalised["CPR written DDMMYY-SSSS (dash removed)"] == 4
    assert normalised["day-first dates (DD-MM-YYYY)"] == 4
    assert normalised["decimal comma"] == 4 * 3  # APK, PACKSIZE and STRNUM of four rows
    ledger = Warehouse(settings.warehouse_dir).batches()
    row = ledger[ledger["source"] == "lmdb_prescriptions"].iloc[0]
    recorded = json.loads(row["report"])["normalised"]
    assert recorded == normalised
    assert tiny_world.cprs()[0][:6] not in row["report"]  # counts and kinds, never values


def test_danish_letters_survive_a_windows_1252_file_into_the_key_store(tmp_path: Path) -> None:
    settings = _clean_world(tmp_path / "home", deployment="operational")
    for path in _every_csv(settings):
        CONVENTIONS["windows-1252"](path)
    ingest(settings, ["cpr_population"])
    engine = sa.create_engine(settings.keystore_url)
    names = set(pd.read_sql("SELECT name FROM keystore", engine)["name"])
    engine.dispose()
    assert "Søren Ærø Åsbjørn 1" in names


def _delivery(path: Path) -> Delivery:
    return Delivery(path.stem, path.parent.name, pd.Timestamp(path.parent.name), file_sha256(path), path=path)


def test_dates_that_read_both_day_first_and_month_first_are_refused_with_how_to_pin_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cpr_population" / "2021-01-01" / "cpr_population.csv"
    path.parent.mkdir(parents=True)
    tiny_world.population_frame().to_csv(path, index=False)  # every day in it is 12 or less
    rewrite(path, dates="-")
    contract = load_contract("cpr_population")
    with pytest.raises(UnreadableDeliveryError) as refused:
        read_file_delivery_with_notes(_delivery(path), contract)
    message = str(refused.value)
    assert "both day-first" in message
    assert "month-first" in message
    assert '"date_order"' in message
    assert "FOED_DAG" in message
    pinned = dataclasses.replace(contract, dialect=PinnedDialect(date_order="DMY"))
    result = read_file_delivery_with_notes(_delivery(path), pinned)
    assert result.frame["FOED_DAG"].iloc[1] == tiny_world.birth_date(1)


def test_a_header_that_splits_into_the_contract_under_two_delimiters_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deaths" / "2021-01-01" / "deaths.csv"
    path.parent.mkdir(parents=True)
    path.write_text("PNR,DODDATO,DODSAARSAG,X;PNR;DODDATO;DODSAARSAG\n0101401234,2021-01-15,,;a;b;c\n")
    with pytest.raises(UnreadableDeliveryError, match=r'delimiter cannot be told.*"delimiter"'):
        read_file_delivery_with_notes(_delivery(path), load_contract("deaths"))


def test_a_file_in_no_known_dialect_says_which_delimiter_it_was_read_with(tmp_path: Path) -> None:
    path = tmp_path / "deaths" / "2021-01-01" / "deaths.csv"
    path.parent.mkdir(parents=True)
    path.write_text("PNR|DODDATO|DODSAARSAG\n0101401234|2021-01-15|\n")
    with pytest.raises(UnreadableDeliveryError, match=r"lacks required column.*no delimiter of , ; or tab"):
        read_file_delivery_with_notes(_delivery(path), load_contract("deaths"))


def test_a_pinned_decimal_point_leaves_decimal_commas_for_the_type_check(tmp_path: Path) -> None:
    path = tmp_path / "lmdb_products" / "2021-01-01" / "lmdb_products.csv"
    path.parent.mkdir(parents=True)
    path.write_text("VNR;ATC;PRODUCT_NAME;PACKSIZE;DDD_PER_PACK\n100001;N05BA01;Diazepam;25;2,5\n")
    contract = load_contract("lmdb_products")
    assert read_file_delivery_with_notes(_delivery(path), contract).frame["DDD_PER_PACK"][0] == "2.5"
    pinned = dataclasses.replace(contract, dialect=PinnedDialect(decimal="."))
    assert read_file_delivery_with_notes(_delivery(path), pinned).frame["DDD_PER_PACK"][0] == "2,5"


def test_a_windows_1252_file_whose_first_64_kib_are_plain_ascii_is_still_read_right(tmp_path: Path) -> None:
    path = tmp_path / "cpr_population" / "2021-01-01" / "cpr_population.csv"
    path.parent.mkdir(parents=True)
    frame = tiny_world.population_frame(999)
    frame.loc[998, "NAVN"] = "Åse Ærø Søndergård"
    frame.to_csv(path, index=False, encoding="cp1252")
    assert path.stat().st_size > 1 << 16
    result = read_file_delivery_with_notes(_delivery(path), load_contract("cpr_population"))
    assert result.frame["NAVN"].iloc[998] == "Åse Ærø Søndergård"
    assert result.normalised == {"encoding cp1252 (read as such, stored as UTF-8)": 1}
