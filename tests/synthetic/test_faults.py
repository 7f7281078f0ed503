"""Every fault kind appears exactly where the manifest says when asked for, and never when not."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from synthetic.codes import FSIII_FUNCTION_CODES, MUNICIPALITY_NAMES, OUTSIDE_MUNICIPALITIES
from synthetic.config import WorldConfig
from synthetic.cpr import parse_cpr
from synthetic.faults import EXPORT_VARIANTS, FAULT_KINDS
from synthetic.sources import REGISTRY_SOURCES
from synthetic.world import generate_world
from tests.synthetic.reading import delivery_files, manifest, read_care_table, read_delivery

ATC = re.compile(r"[A-Z]\d{2}[A-Z]{2}\d{2}")
SKS = re.compile(r"D[A-Z]\d{2}\w*")
KNOWN_MUNICIPALITIES = set(MUNICIPALITY_NAMES) | set(OUTSIDE_MUNICIPALITIES)


def _faults(world: Path, kind: str) -> list[dict]:
    return [f for f in manifest(world)["faults"] if f["kind"] == kind]


def _file_fault(world: Path, kind: str, source: str | None = None) -> tuple[dict, Path]:
    fault = next(f for f in _faults(world, kind) if "file" in f and (source is None or f["source"] == source))
    return fault, world / "deliveries" / fault["file"]


def _care_fault(world: Path, kind: str) -> tuple[dict, pd.DataFrame]:
    fault = next(f for f in _faults(world, kind) if "table" in f)
    rows = read_care_table(world, fault["table"])
    return fault, rows[rows["id"].isin(fault["rows"])]


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_fault_kind_is_recorded_with_its_location(faulty_world, kind):
    faults = _faults(faulty_world, kind)
    assert faults
    for fault in faults:
        assert {"kind", "source", "delivery", "column", "rows", "description"} <= set(fault)
        assert sum(place in fault for place in ("file", "table", "missing")) == 1


def test_file_faults_never_share_a_file_and_spare_the_first_extract(faulty_world):
    recorded = manifest(faulty_world)
    files = [f["file"] for f in recorded["faults"] if "file" in f]
    assert len(files) == len(set(files))
    assert all(f["delivery"] != recorded["extract_dates"][0] for f in recorded["faults"] if "file" in f)


def test_duplicate_rows_repeat_earlier_rows(faulty_world):
    fault, path = _file_fault(faulty_world, "duplicate_rows")
    rows = read_delivery(path)
    duplicated = rows.duplicated(keep="first")
    assert duplicated.sum() == len(fault["rows"])
    assert list(rows.index[duplicated]) == fault["rows"]
    fault, _ = _care_fault(faulty_world, "duplicate_rows")
    table = read_care_table(faulty_world, fault["table"]).drop(columns="id")
    assert table.duplicated().sum() == len(fault["rows"])


def test_invalid_codes_fail_the_code_patterns(faulty_world):
    fault, path = _file_fault(faulty_world, "invalid_codes", "lpr3_diagnoses")
    codes = read_delivery(path)[fault["column"]]
    assert not codes.iloc[fault["rows"]].str.fullmatch(SKS.pattern).any()
    fault, path = _file_fault(faulty_world, "invalid_codes", "lmdb_prescriptions")
    assert not read_delivery(path)["ATC"].iloc[fault["rows"]].str.fullmatch(ATC.pattern).any()
    fault, path = _file_fault(faulty_world, "invalid_codes", "cpr_population")
    assert not set(read_delivery(path)["KOM"].iloc[fault["rows"]]) & KNOWN_MUNICIPALITIES
    fault, rows = _care_fault(faulty_world, "invalid_codes")
    assert not rows["code"].isin(FSIII_FUNCTION_CODES).any()


def test_malformed_cpr_numbers_are_not_ten_digits_or_have_an_impossible_date(faulty_world):
    fault, path = _file_fault(faulty_world, "malformed_cpr")
    pnr = read_delivery(path)["PNR"]
    broken = pnr.iloc[fault["rows"]]
    impossible_month = broken.str.fullmatch(r"\d{2}13\d{6}")
    assert not broken[~impossible_month].str.fullmatch(r"\d{10}").any()
    assert impossible_month.sum() == 1
    assert pnr.drop(index=fault["rows"]).str.fullmatch(r"\d{10}").all()
    _, rows = _care_fault(faulty_world, "malformed_cpr")
    assert not rows["cpr"].str.fullmatch(r"\d{10}").any()


def test_future_dates_lie_after_the_extract(faulty_world):
    fault, path = _file_fault(faulty_world, "future_dates")
    dates = pd.to_datetime(read_delivery(path)[fault["column"]].iloc[fault["rows"]])
    assert (dates > pd.Timestamp(fault["delivery"])).all()
    fault, rows = _care_fault(faulty_world, "future_dates")
    assert (pd.to_datetime(rows[fault["column"]]) > pd.Timestamp(manifest(faulty_world)["end_date"])).all()


def test_dates_before_birth_precede_the_birth_date_in_the_cpr_number(faulty_world):
    fault, path = _file_fault(faulty_world, "dates_before_birth")
    rows = read_delivery(path).iloc[fault["rows"]]
    births = pd.to_datetime([parse_cpr(cpr)[0] for cpr in rows["PNR"]])
    assert (pd.to_datetime(rows[fault["column"]]).to_numpy() < births.to_numpy()).all()
    fault, rows = _care_fault(faulty_world, "dates_before_birth")
    births = pd.to_datetime([parse_cpr(cpr)[0] for cpr in rows["cpr"]])
    assert (pd.to_datetime(rows[fault["column"]]).to_numpy() < births.to_numpy()).all()


def test_negative_minutes_are_negative(faulty_world):
    fault, rows = _care_fault(faulty_world, "negative_minutes")
    assert (rows[fault["column"]].astype(int) < 0).all()


def test_missing_required_values_are_empty(faulty_world):
    fault, path = _file_fault(faulty_world, "missing_required")
    assert (read_delivery(path)[fault["column"]].iloc[fault["rows"]] == "").all()
    fault, rows = _care_fault(faulty_world, "missing_required")
    assert rows[fault["column"]].isna().all()


def test_a_missing_column_is_absent_from_the_delivery(faulty_world):
    fault, path = _file_fault(faulty_world, "missing_column")
    assert fault["column"] not in read_delivery(path).columns


def test_wrong_types_hold_text_where_numbers_or_times_belong(faulty_world):
    fault, path = _file_fault(faulty_world, "wrong_type", "lmdb_prescriptions")
    values = read_delivery(path)[fault["column"]].iloc[fault["rows"]]
    assert pd.to_numeric(values, errors="coerce").isna().all()
    fault, path = _file_fault(faulty_world, "wrong_type", "lpr3_contacts")
    assert pq.read_schema(path).field(fault["column"]).type == pa.string()
    fault = next(f for f in _faults(faulty_world, "wrong_type") if "table" in f)
    engine = sa.create_engine(f"sqlite:///{faulty_world / 'care.sqlite'}")
    with engine.connect() as connection:
        kinds = connection.execute(
            sa.text(
                f"SELECT DISTINCT typeof({fault['column']}) FROM {fault['table']} WHERE id IN :ids"
            ).bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": fault["rows"]},
        ).scalars()
        assert set(kinds) == {"text"}
    engine.dispose()


def test_an_empty_delivery_has_a_header_and_no_rows(faulty_world):
    _, path = _file_fault(faulty_world, "empty_delivery")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1


def test_a_truncated_file_ends_inside_a_row(faulty_world):
    fault, path = _file_fault(faulty_world, "truncated_file")
    text = path.read_bytes()
    assert not text.endswith(b"\n")
    header, *rows = text.decode("utf-8", errors="replace").split("\n")
    assert len(rows) - 1 == fault["rows"][0]
    assert rows[-1].count(",") < header.count(",")


def test_a_file_cut_at_a_line_boundary_ends_cleanly_but_disagrees_with_its_control_totals(faulty_world):
    fault, path = _file_fault(faulty_world, "truncated_at_line")
    assert path.read_bytes().endswith(b"\n")
    control = json.loads((path.parent / "control.json").read_text())
    (entry,) = control["files"]
    assert len(read_delivery(path)) == fault["rows"][0] < entry["rows"]
    assert entry["sha256"] != hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_missing_extract_leaves_a_gap_the_next_control_file_names(faulty_world):
    (fault,) = _faults(faulty_world, "missing_extract")
    source_dir = faulty_world / "deliveries" / fault["source"]
    assert not (source_dir / fault["delivery"]).exists()
    later = sorted(d.name for d in source_dir.iterdir() if d.name > fault["delivery"])
    following = json.loads((source_dir / later[0] / "control.json").read_text())
    assert following["previous_extract"] == fault["delivery"]
    earlier = sorted(d.name for d in source_dir.iterdir() if d.name < fault["delivery"])
    preceding = json.loads((source_dir / earlier[-1] / "control.json").read_text())
    assert following["sequence"] == preceding["sequence"] + 2


def test_every_delivery_ships_control_totals_with_a_running_number(small_world):
    for source in REGISTRY_SOURCES:
        files = delivery_files(small_world, source)
        controls = [json.loads((path.parent / "control.json").read_text()) for path in files]
        assert [c["sequence"] for c in controls] == list(range(1, len(files) + 1)), source
        assert [c["previous_extract"] for c in controls] == [None] + [p.parent.name for p in files[:-1]]
        for path, control in zip(files, controls, strict=True):
            (entry,) = control["files"]
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["rows"] == len(read_delivery(path))


@pytest.mark.parametrize("kind", EXPORT_VARIANTS)
def test_every_export_variant_is_recorded_and_its_control_totals_describe_the_variant(faulty_world, kind):
    (variant,) = [v for v in manifest(faulty_world)["export_variants"] if v["kind"] == kind]
    path = faulty_world / "deliveries" / variant["file"]
    (entry,) = json.loads((path.parent / "control.json").read_text())["files"]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["rows"] == variant["rows"]
    faults = {f.get("file") for f in manifest(faulty_world)["faults"]}
    assert variant["file"] not in faults


def test_the_danish_excel_variant_is_written_the_way_excel_writes_it(faulty_world):
    (variant,) = [v for v in manifest(faulty_world)["export_variants"] if v["kind"] == "danish_excel_export"]
    raw = (faulty_world / "deliveries" / variant["file"]).read_bytes()
    header, first = raw.split(b"\r\n")[:2]
    assert header.startswith(b"PNR;EKSD;ATC")
    fields = first.split(b";")
    assert re.fullmatch(rb"\d{6}-\d{4}", fields[0])
    assert re.fullmatch(rb"\d{2}\.\d{2}\.\d{4}", fields[1])
    assert re.search(rb";\d+,\d+(;|\r\n)", raw)  # a decimal comma somewhere (PACKSIZE, STRNUM)


def test_a_clean_world_records_no_faults_and_has_none_of_them(small_world):
    assert manifest(small_world)["faults"] == []
    assert manifest(small_world)["export_variants"] == []
    for source, spec in REGISTRY_SOURCES.items():
        for path in delivery_files(small_world, source):
            if spec.file_format == "csv":
                text = path.read_bytes().decode("utf-8")
                assert text.endswith("\n")
                assert len(text.splitlines()) > 1
            rows = read_delivery(path)
            assert list(rows.columns) == list(spec.column_names)
            assert not rows.duplicated().any()
            if "PNR" in rows:
                assert rows["PNR"].str.fullmatch(r"\d{10}").all()
            if source == "lmdb_prescriptions":
                assert rows["ATC"].str.fullmatch(ATC.pattern).all()
                assert pd.to_numeric(rows["APK"]).notna().all()
            if source == "cpr_population":
                assert rows["KOM"].isin(KNOWN_MUNICIPALITIES).all()
    home_care = read_care_table(small_world, "home_care")
    assert (home_care[["perpl_vis", "perpl_lev", "prahj_vis", "prahj_lev"]] >= 0).all().all()
    assert read_care_table(small_world, "fsiii_functional_ability")["code"].isin(FSIII_FUNCTION_CODES).all()
    assert read_care_table(small_world, "early_detection_observations")["cpr"].str.fullmatch(r"\d{10}").all()
    assert read_care_table(small_world, "falls")["fall_date"].notna().all()


def test_only_the_fault_kinds_asked_for_are_injected(tmp_path):
    config = WorldConfig(
        citizens=800, years=2, seed=2, history_years=0, faults=("negative_minutes", "empty_delivery")
    )
    generate_world(config, tmp_path)
    assert {f["kind"] for f in manifest(tmp_path)["faults"]} == {"negative_minutes", "empty_delivery"}


def test_an_unknown_fault_kind_is_refused(tmp_path):
    config = replace(WorldConfig(citizens=50, years=1, history_years=0), faults=("gremlins",))
    with pytest.raises(ValueError, match="unknown fault kind"):
        generate_world(config, tmp_path)
