"""Small inline SVG charts for the citizen and analyst pages (no JavaScript, readable without colour)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 320, 110, 20


def _plain(value: float) -> str:
    return f"{value:g}"


def line_chart_svg(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str,
    value_text: Callable[[float], str] = _plain,
) -> Markup:
    """A labelled line chart of ``(label, value)`` points as safe inline SVG (empty if no points).

    ``value_text`` writes the axis and summary numbers (e.g. with a Danish decimal comma). Only numbers
    reach the path data; the title, labels and number texts are escaped.
    """
    if not points:
        return Markup("")
    values = [float(value) for _, value in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return PAD + index * step, HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD)

    coordinates = [xy(index, value) for index, value in enumerate(values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>' for x, y in coordinates)
    first_label, last_label = escape(points[0][0]), escape(points[-1][0])
    summary = escape(f"{title}: {value_text(values[0])} → {value_text(values[-1])} {unit}")
    return Markup(  # noqa: S704 (numbers and escaped text only, see docstring)
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{summary}">'
        f"<title>{summary}</title>"
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>'
        f'<polyline points="{path}"/>{dots}'
        f'<text x="{PAD}" y="{HEIGHT - 3}">{first_label}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 3}" text-anchor="end">{last_label}</text>'
        f'<text x="{PAD}" y="13">{escape(value_text(high))} {escape(unit)}</text>'
        f'<text x="{WIDTH - PAD}" y="13" text-anchor="end">{escape(title)}</text>'
        f'<text x="{PAD}" y="{HEIGHT - PAD - 3}" class="low">{escape(value_text(low))}</text>'
        "</svg>"
    )


def interval_chart_svg(
    points: Sequence[tuple[str, float, float, float, float | None]],
    *,
    title: str,
    partial: Mapping[str, float] | None = None,
) -> Markup:
    """Per label: an expected value (hollow dot) with its interval (vertical bar) and, where known, the
    realised value (filled square) or, for a list only halfway to its horizon, the value so far from
    ``partial`` (hollow square), as safe inline SVG on a fixed 0.5-1.0 scale (AUROC). Empty without
    points. Only numbers reach the coordinates; the title and labels are escaped."""
    partial = partial or {}
    if not points:
        return Markup("")
    width, low, high = max(WIDTH, 40 * len(points) + 2 * PAD), 0.5, 1.0
    step = (width - 2 * PAD) / max(1, len(points))

    def y(value: float) -> float:
        clipped = min(high, max(low, value))
        return HEIGHT - PAD - (clipped - low) / (high - low) * (HEIGHT - 2 * PAD)

    marks = []
    for index, (label, expected, lower, upper, realised) in enumerate(points):
        x = PAD + (index + 0.5) * step
        marks.append(
            f'<line class="interval" x1="{x:.1f}" y1="{y(lower):.1f}" x2="{x:.1f}" y2="{y(upper):.1f}"/>'
        )
        marks.append(f'<circle class="expected" cx="{x:.1f}" cy="{y(expected):.1f}" r="3" fill="none"/>')
        if realised is not None:
            marks.append(
                f'<rect class="realised" x="{x + 3:.1f}" y="{y(realised) - 3:.1f}" width="6" height="6"/>'
            )
        elif label in partial:
            so_far = float(partial[label])
            marks.append(
                f'<rect class="realised partial" x="{x + 3:.1f}" y="{y(so_far) - 3:.1f}" '
                'width="6" height="6"/>'
            )
    realised_count = sum(point[4] is not None for point in points)
    partial_count = sum(point[4] is None and point[0] in partial for point in points)
    summary = escape(
        f"{title}: {len(points)} lists, {realised_count} with realised values, {partial_count} halfway"
    )
    first_label, last_label = escape(points[0][0]), escape(points[-1][0])
    return Markup(  # noqa: S704 (numbers and escaped text only, see docstring)
        f'<svg class="chart" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{summary}">'
        f"<title>{summary}</title>"
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{width - PAD}" y2="{HEIGHT - PAD}"/>'
        + "".join(marks)
        + f'<text x="{PAD}" y="{HEIGHT - 3}">{first_label}</text>'
        f'<text x="{width - PAD}" y="{HEIGHT - 3}" text-anchor="end">{last_label}</text>'
        f'<text x="{PAD}" y="13">{high:g}</text>'
        f'<text x="{width - PAD}" y="13" text-anchor="end">{escape(title)}</text>'
        f'<text x="{PAD}" y="{HEIGHT - PAD - 3}" class="low">{low:g}</text>'
        "</svg>"
    )


QUALITY_MARKS = {"ok": "", "warning": "!", "quarantined": "×", "missing": "–"}


def status_grid_svg(
    rows: Sequence[str], columns: Sequence[str], cells: dict[tuple[str, str], str], *, title: str
) -> Markup:
    """A grid of one cell per (row, column) coloured by status (``ok``, ``warning``, ``quarantined``,
    ``missing``; absent: nothing expected), with a mark inside so it reads without colour (! × –), as safe
    inline SVG. Labels are escaped; statuses outside :data:`QUALITY_MARKS` are drawn as absent."""
    if not rows or not columns:
        return Markup("")
    cell, left, top = 9, 150, 16
    width, height = left + cell * len(columns) + 4, top + cell * len(rows) + 16
    parts = [
        f'<svg class="chart quality-grid" viewBox="0 0 {width} {height}" width="{width * 1.5:.0f}" '
        f'height="{height * 1.5:.0f}" role="img" '
        f'aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for index, row in enumerate(rows):
        y = top + index * cell
        parts.append(f'<text x="{left - 4}" y="{y + cell - 1}" text-anchor="end">{escape(row)}</text>')
        for position, column in enumerate(columns):
            status = cells.get((row, column))
            if status not in QUALITY_MARKS:
                continue
            x = left + position * cell
            parts.append(
                f'<g class="q-{status}"><rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}">'
                f"<title>{escape(f'{row} {column}: {status}')}</title></rect>"
                + (
                    f'<text x="{x + (cell - 1) / 2}" y="{y + cell - 2}" text-anchor="middle">'
                    f"{QUALITY_MARKS[status]}</text>"
                    if QUALITY_MARKS[status]
                    else ""
                )
                + "</g>"
            )
    parts.append(f'<text x="{left}" y="{height - 3}">{escape(columns[0])}</text>')
    if len(columns) >= 8:  # room for both ends' labels
        parts.append(f'<text x="{width - 4}" y="{height - 3}" text-anchor="end">{escape(columns[-1])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (numbers and escaped text only, see docstring)
