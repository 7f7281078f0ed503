"""The analyst's monitoring pages: aggregates only, small cells suppressed, nothing about a person.

``/monitoring`` shows, for the analyst's districts, what the monitor flow recorded (monitoring/store.py):
open review items (with an acknowledge action, audited), expected vs realised performance per list with
the expected intervals, calibration of matured lists, drift history of the score and the inputs, visit
yield, the screening runs with their refusal reasons, and data quality per source and month (what the
monitor recorded from the warehouse ledger: ``monitor_data_quality``) with links to each batch's rendered
quarantine report and to the Great Expectations Data Docs of every validation run (value-free, D107).
Both are served from the home's folders by path-confined routes behind the same analyst permission.
Every number comes from tables the monitor already suppressed (cells under
``privacy.MIN_CELL_PERSONS``); the page shows ``<5`` where a cell is suppressed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from privacy import MIN_CELL_PERSONS
from review.access import Principal
from review.audit import AuditEvent
from review.charts import interval_chart_svg, line_chart_svg, status_grid_svg
from review.web_security import Require, render, services

router = APIRouter()
PERMISSION = "aggregates:read"  # the analyst's permission (review/access.py): aggregates only


def _in_scope(frame: pd.DataFrame, principal: Principal, column: str = "district") -> pd.DataFrame:
    """Rows of the analyst's districts (plus the all-district cells when the analyst covers every district
    that has rows)."""
    if frame.empty or column not in frame:
        return frame
    districts = set(principal.districts)
    own = frame[column].astype(str).isin(districts)
    everything = set(frame.loc[frame[column].astype(str) != "all", column].astype(str)) <= districts
    return frame.loc[own | ((frame[column].astype(str) == "all") & everything)]


def _number(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return f"{float(value):.{digits}f}"


def _monitor_tables_exist(engine: sa.Engine) -> bool:
    return sa.inspect(engine).has_table("monitor_runs")


def _performance(engine: sa.Engine, principal: Principal) -> list[dict[str, Any]]:
    from monitoring.store import read_expected_vs_realised

    table = _in_scope(read_expected_vs_realised(engine), principal)
    rows = []
    for row in table.to_dict("records"):
        # A list with no realised evaluation yet has no maturity: missing (NaN) after the join, not "nan".
        row["maturity"] = row.get("maturity") if isinstance(row.get("maturity"), str) else ""
        suppressed = bool(row.get("realised_suppressed")) if row["maturity"] else False
        rows.append(
            {
                "district": row["district"],
                "as_of_date": row["as_of_date"],
                "model_version": row.get("model_version") or "–",
                "expected_auroc": _number(row["expected_auroc"]),
                "expected_auroc_interval": f"{_number(row['expected_auroc_low'])}–"
                f"{_number(row['expected_auroc_high'])}",
                "expected_ppv": _number(row["expected_ppv"]),
                "expected_ppv_interval": f"{_number(row['expected_ppv_low'])}–"
                f"{_number(row['expected_ppv_high'])}",
                "maturity": row["maturity"],
                "realised_auroc": "<5" if suppressed else _number(row.get("realised_auroc")),
                "realised_ppv": "<5" if suppressed else _number(row.get("realised_ppv")),
                "observed_expected": "<5" if suppressed else _number(row.get("observed_expected")),
                "calibration_slope": "<5" if suppressed else _number(row.get("calibration_slope")),
                "calibration_intercept": "<5" if suppressed else _number(row.get("calibration_intercept")),
                "lead_time": "<5" if suppressed else _number(row.get("lead_time_median_days"), 0),
                "_row": row,
                "_suppressed": suppressed,
            }
        )
    return rows


def _newest_per_district(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each district's list with the newest as-of date (the table a reader starts from; the charts and the
    folded table beside it hold every list)."""
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        district = str(row["district"])
        if district not in newest or str(row["as_of_date"]) >= str(newest[district]["as_of_date"]):
            newest[district] = row
    return [newest[district] for district in sorted(newest)]


def _performance_charts(rows: list[dict[str, Any]]) -> list[Any]:
    """One chart per district: the expected AUROC with its interval per list date, and the realised AUROC
    of matured lists beside it (the value so far, marked apart, for lists halfway to their horizon)."""
    charts = []
    by_district: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_district.setdefault(str(row["district"]), []).append(row)
    for district, items in sorted(by_district.items()):
        seen: dict[str, tuple[float, float, float, float | None]] = {}
        halfway: dict[str, float] = {}
        for item in items:
            raw = item["_row"]
            label = str(raw["as_of_date"])
            realised = None
            if raw.get("maturity") == "mature" and not item["_suppressed"]:
                realised = raw.get("realised_auroc")
            if raw.get("maturity") == "partial" and not item["_suppressed"]:
                so_far = raw.get("realised_auroc")
                if so_far is not None and not pd.isna(so_far):
                    halfway[label] = float(so_far)
            previous = seen.get(label)
            if previous is not None and realised is None:
                realised = previous[3]
            if pd.isna(raw["expected_auroc"]):
                continue
            seen[label] = (
                float(raw["expected_auroc"]),
                float(raw["expected_auroc_low"]),
                float(raw["expected_auroc_high"]),
                None if realised is None or pd.isna(realised) else float(realised),
            )
        if seen:
            charts.append(
                interval_chart_svg(
                    [(label, *values) for label, values in seen.items()],
                    title=f"AUROC {district}",
                    partial=halfway,
                )
            )
    return charts


def _drift(engine: sa.Engine, principal: Principal) -> tuple[list[Any], list[dict[str, Any]]]:
    from monitoring.store import read_drift_history

    history = _in_scope(read_drift_history(engine), principal)
    if history.empty:
        return [], []
    charts = []
    score = history.loc[(history["feature"] == "risk") & history["psi"].notna()]
    for district, rows in score.groupby("district"):
        points = [
            (str(day), round(float(psi), 3)) for day, psi in zip(rows["as_of_date"], rows["psi"], strict=True)
        ]
        charts.append(line_chart_svg(points, title=f"Score PSI {district}", unit="PSI"))
    latest = history.loc[history["as_of_date"] == history["as_of_date"].max()]
    latest = latest.loc[latest["comparable"].astype(bool) & latest["psi"].notna()]
    top = latest.sort_values("psi", ascending=False).head(15)
    table = [
        {
            "as_of_date": row["as_of_date"],
            "district": row["district"],
            "feature": row["feature"],
            "psi": "<5" if bool(row["suppressed"]) else _number(row["psi"], 3),
            "test": row["test"],
        }
        for row in top.to_dict("records")
    ]
    return charts, table


def _visits(engine: sa.Engine, principal: Principal) -> list[dict[str, Any]]:
    from monitoring.store import read_visit_yield
    from screening.store import screening_lists

    yields = read_visit_yield(engine)
    if yields.empty:
        return []
    with engine.connect() as connection:
        districts = dict(
            connection.execute(sa.select(screening_lists.c.list_id, screening_lists.c.district)).all()
        )
    yields = yields.assign(district=yields["list_id"].map(districts))
    yields = _in_scope(yields, principal).sort_values("as_of_date").drop_duplicates("list_id", keep="last")
    return [
        {
            "district": row["district"],
            "list_id": row["list_id"],
            "visits_done": "<5" if row["suppressed"] else int(row["visits_done"] or 0),
            "new_problems": "<5" if row["suppressed"] else int(row["new_problems"] or 0),
            "yield_rate": "–"
            if row["suppressed"] or pd.isna(row["yield_rate"])
            else f"{row['yield_rate']:.0%}",
        }
        for row in yields.to_dict("records")
    ]


def _runs(engine: sa.Engine) -> list[dict[str, Any]]:
    """The latest screening run records (each run that ended is its own record) with status and refusal
    reason (no person data in either); ``current`` marks the record that published a current list, so a
    later refused or unchanged run with the same inputs never stands for it (docs/decisions.md D100)."""
    from screening.store import current_list_runs, read_runs

    publishing = {int(record_id) for record_id in current_list_runs(engine)["record_id"].dropna().tolist()}
    runs = read_runs(engine, limit=20)
    return [
        {
            "record_id": int(row["record_id"]),
            "run_id": row["run_id"],
            "as_of_date": row["as_of_date"],
            "finished_at": row["finished_at"],
            "status": row["status"],
            "reason": row["reason"],
            "current": int(row["record_id"]) in publishing,
        }
        for row in runs.to_dict("records")
    ]


def _items(engine: sa.Engine, principal: Principal) -> list[dict[str, Any]]:
    from monitoring.store import read_review_items

    items = read_review_items(engine)
    if items.empty:
        return []
    districts = set(principal.districts)
    shown = []
    for row in items.to_dict("records"):
        scope = row.get("scope") or {}
        district = scope.get("district") if isinstance(scope, dict) else None
        if district not in (None, "all") and district not in districts:
            continue
        shown.append(
            {**row, "open": row.get("acknowledged_at") is None or pd.isna(row.get("acknowledged_at"))}
        )
    return shown


def _data_quality(engine: sa.Engine) -> tuple[Any, list[dict[str, Any]], list[dict[str, str]]]:
    """The latest run's data quality: a grid (source x month), the months that need attention, and the
    batch reports to open."""
    from monitoring.store import read_data_quality

    if not sa.inspect(engine).has_table("monitor_data_quality"):
        return None, [], []
    quality = read_data_quality(engine)
    if quality.empty:
        return None, [], []
    cells = {}
    for row in quality.to_dict("records"):
        if row["missing"] or (row["quarantined"] and not row["landed"]):
            status = "missing" if row["missing"] and not row["quarantined"] else "quarantined"
        elif row["quarantined"] or row["warnings"] or row["held"]:
            status = "warning"
        else:
            status = "ok"
        cells[(str(row["source"]), str(row["month"]))] = status
    months = sorted(set(quality["month"].astype(str)))
    sources = sorted(set(quality["source"].astype(str)))
    chart = status_grid_svg(sources, months, cells, title="Deliveries per source and month")
    attention = [
        {
            "source": row["source"],
            "month": row["month"],
            "deliveries": int(row["deliveries"]),
            "landed": int(row["landed"]),
            "quarantined": int(row["quarantined"]),
            "held": int(row["held"]),
            "warnings": int(row["warnings"]),
            "missing": int(row["missing"]),
            "rows_landed": "<5"
            if row["rows_landed"] is None or pd.isna(row["rows_landed"])
            else int(row["rows_landed"]),
            "rows_refused": "<5"
            if row["rows_refused"] is None or pd.isna(row["rows_refused"])
            else int(row["rows_refused"]),
            "status": cells[(str(row["source"]), str(row["month"]))],
        }
        for row in quality.to_dict("records")
        if cells[(str(row["source"]), str(row["month"]))] != "ok"
    ]
    reports = [
        {"source": str(row["source"]), "month": str(row["month"]), "path": str(folder)}
        for row in quality.to_dict("records")
        for folder in (row["reports"] or [])
    ]
    return chart, attention[-60:], reports[-60:]


def _docs_pages(config: Any) -> list[dict[str, Any]]:
    """The Data Docs pages of the latest validation runs (``data_contracts.data_docs``)."""
    from data_contracts.data_docs import read_pages

    folder = getattr(config, "data_docs_dir", None)
    return [] if folder is None else read_pages(Path(folder))[:40]


@router.get("/monitoring")
def monitoring_page(
    request: Request, principal: Annotated[Principal, Depends(Require(PERMISSION))]
) -> Response:
    """The analyst's monitoring overview (see the module docstring)."""
    app = services(request)
    app.audit.append(
        AuditEvent(principal.username, principal.role, principal.unit, "monitoring_view", "evaluation")
    )
    if not _monitor_tables_exist(app.engine):
        return render(
            request,
            "monitoring.html",
            ready=False,
            runs=_runs(app.engine),
            min_cell=MIN_CELL_PERSONS,
            docs_pages=_docs_pages(app.config),
        )
    performance = _performance(app.engine, principal)
    drift_charts, drift_table = _drift(app.engine, principal)
    items = _items(app.engine, principal)
    quality_chart, quality_rows, quality_reports = _data_quality(app.engine)
    return render(
        request,
        "monitoring.html",
        ready=True,
        items=items,
        open_items=[item for item in items if item["open"]],
        performance=performance,
        performance_newest=_newest_per_district(performance),
        performance_history=sorted(  # newest date first, districts in order within a date
            sorted(performance, key=lambda row: str(row["district"])),
            key=lambda row: str(row["as_of_date"]),
            reverse=True,
        ),
        # a list evaluated halfway and again at the whole horizon has a row for each
        performance_list_count=len({row["_row"].get("list_id") for row in performance}),
        matured=[row for row in performance if row["maturity"] == "mature"],
        performance_charts=_performance_charts(performance),
        drift_charts=drift_charts,
        drift_table=drift_table,
        visits=_visits(app.engine, principal),
        runs=_runs(app.engine),
        min_cell=MIN_CELL_PERSONS,
        quality_chart=quality_chart,
        quality_rows=quality_rows,
        quality_reports=quality_reports,
        docs_pages=_docs_pages(app.config),
    )


@router.post("/monitoring/items/{item_id}/acknowledge")
def acknowledge(
    request: Request,
    item_id: str,
    principal: Annotated[Principal, Depends(Require(PERMISSION))],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Acknowledge an open review item as the logged-in analyst (audited); it no longer holds publication."""
    import datetime as dt

    from monitoring.store import AlreadyAcknowledgedError, UnknownReviewItemError, acknowledge_item

    app = services(request)
    if not note.strip():
        return RedirectResponse("/monitoring?error=note", status_code=303)
    # audited first: an acknowledgement the audit log cannot record does not happen
    app.audit.append(
        AuditEvent(
            principal.username,
            principal.role,
            principal.unit,
            "monitoring_acknowledge",
            "evaluation",
            detail={"item_id": item_id},
        )
    )
    try:
        acknowledge_item(
            app.engine, item_id, analyst=principal.username, note=note, at=dt.datetime.now(dt.UTC)
        )
    except (UnknownReviewItemError, AlreadyAcknowledgedError):
        return RedirectResponse("/monitoring?error=item", status_code=303)
    return RedirectResponse("/monitoring", status_code=303)


# Served from the home, never from the package: the GX site (its HTML, styles, images, fonts) and the
# batch reports. Scripts are not served and not allowed (GX's pages load theirs from public CDNs, which
# the app does not reach out to); inline styles are, for GX's pages.
DOCS_SUFFIXES = {".html": "text/html", ".css": "text/css", ".png": "image/png", ".gif": "image/gif",
                 ".svg": "image/svg+xml", ".ico": "image/x-icon", ".otf": "font/otf"}  # fmt: skip
DOCS_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; "
    "script-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


def confined_file(root: Path | None, path: str, suffixes: set[str]) -> Path:
    """``root / path`` when it is a file inside ``root`` (after resolving ``..`` and links) with an allowed
    suffix; otherwise 404 (the same answer for missing and forbidden, so nothing outside can be probed)."""
    if root is None or "\x00" in path:
        raise HTTPException(status_code=404)
    base = Path(root).resolve()
    candidate = (base / path).resolve()
    if not candidate.is_relative_to(base) or candidate.suffix.lower() not in suffixes:
        raise HTTPException(status_code=404)
    if not candidate.is_file():
        raise HTTPException(status_code=404)
    return candidate


def _serve(request: Request, principal: Principal, file: Path, what: str, relative: str) -> Response:
    app = services(request)
    if file.suffix.lower() == ".html":
        app.audit.append(
            AuditEvent(
                principal.username, principal.role, principal.unit, what, "evaluation",
                detail={"page": relative[:300]},
            )
        )  # fmt: skip
    response = FileResponse(file, media_type=DOCS_SUFFIXES[file.suffix.lower()])
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@router.get("/monitoring/data-docs/{path:path}")
def data_docs(
    request: Request, path: str, principal: Annotated[Principal, Depends(Require(PERMISSION))]
) -> Response:
    """A page (or its style, image or font) of the Great Expectations Data Docs site in the home."""
    folder = getattr(services(request).config, "data_docs_dir", None)
    root = None if folder is None else Path(folder) / "site"
    file = confined_file(root, path or "index.html", set(DOCS_SUFFIXES))
    return _serve(request, principal, file, "data_docs_view", path)


@router.get("/monitoring/reports/{path:path}")
def quarantine_report(
    request: Request, path: str, principal: Annotated[Principal, Depends(Require(PERMISSION))]
) -> Response:
    """A batch's rendered report (``report.html`` under the home's quarantine folder); counts and row
    numbers, never values (``data_contracts.findings``)."""
    if Path(path).name != "report.html":
        raise HTTPException(status_code=404)
    file = confined_file(services(request).config.quarantine_dir, path, {".html"})
    return _serve(request, principal, file, "quarantine_report_view", path)
