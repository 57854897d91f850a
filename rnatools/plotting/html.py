"""The HTML page of ``rnatools report``: one self-contained file (inline CSS, a small inline
script for sorting tables, inline SVG histograms and base64 PNG figures; no network access).

Standard library only. Every text that comes from the input (IDs, gene names, alleles, skip
reasons, file names) goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

CLINGEN_SOURCE = (
    "Walker LC et al. (2023) Using the ACMG/AMP framework to capture evidence related to "
    "predicted and observed impact on splicing: Recommendations from the ClinGen SVI Splicing "
    "Subgroup. Am J Hum Genet 110:1046–1067. doi:10.1016/j.ajhg.2023.06.002"
)
PP3_THRESHOLD = 0.2
"""SpliceAI max delta score at or above which the ClinGen SVI Splicing Subgroup recommends
PP3 at supporting strength (Walker et al. 2023)."""
BP4_THRESHOLD = 0.1
"""SpliceAI max delta score at or below which it recommends BP4 at supporting strength."""


def clingen_class(score: float | None) -> str:
    """``PP3`` (>= 0.2), ``BP4`` (<= 0.1), ``none`` (between) or ``.`` (no score): the ClinGen SVI
    splicing thresholds for the SpliceAI max delta score (Walker et al. 2023)."""
    if score is None:
        return "."
    if score >= PP3_THRESHOLD:
        return "PP3"
    if score <= BP4_THRESHOLD:
        return "BP4"
    return "none"


@dataclass(frozen=True)
class Histogram:
    """Counts of a model's per-record max score in bins ``edges[i] <= x < edges[i + 1]`` (the
    last bin closed)."""

    model: str
    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass
class ReportData:
    """Everything the page shows (filled by :mod:`rnatools.pipelines.report`).

    Attributes:
        title: page title (the input's name).
        facts: ``(label, value)`` rows of the overview table.
        skips: ``(reason, count)`` rows; ``skip_source`` says where they come from.
        histograms: one per model with numeric scores.
        top_columns: column names of the top-variant table; ``top_rows`` its rows (cells as
            text; a cell's sort key is its number when it reads as one).
        genes: ``(gene, variants, >= 0.2, <= 0.1, max)`` rows.
        figures: ``(caption, png bytes)`` variant figures.
        notes: extra paragraphs (plain text).
    """

    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    skips: list[tuple[str, int]] = field(default_factory=list)
    skip_source: str = ""
    histograms: list[Histogram] = field(default_factory=list)
    top_columns: list[str] = field(default_factory=list)
    top_rows: list[list[str]] = field(default_factory=list)
    genes: list[tuple[str, int, int, int, str]] = field(default_factory=list)
    figures: list[tuple[str, bytes]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def histogram_svg(histogram: Histogram, width: int = 520, height: int = 220) -> str:
    """An inline SVG bar chart: x = max delta score (probability), y = records (count)."""
    left, right, top, bottom = 52, 12, 22, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    counts = histogram.counts
    peak = max(counts) if counts and max(counts) > 0 else 1
    lo, hi = histogram.edges[0], histogram.edges[-1]
    span = (hi - lo) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="histogram of the max delta '
        f'score of {escape(histogram.model)}">',
        f'<text x="{left}" y="14" class="svgtitle">{escape(histogram.model)}: max score per '
        "record</text>",
    ]
    for k, count in enumerate(counts):
        x0 = left + (histogram.edges[k] - lo) / span * plot_w
        x1 = left + (histogram.edges[k + 1] - lo) / span * plot_w
        h = count / peak * plot_h
        parts.append(
            f'<rect x="{x0 + 0.5:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(x1 - x0 - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="#0072B2"><title>{histogram.edges[k]:.2f}–'
            f"{histogram.edges[k + 1]:.2f}: {count}</title></rect>"
        )
        if count:
            parts.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{top + plot_h - h - 2:.1f}" '
                f'class="svgsmall" text-anchor="middle">{count}</text>'
            )
    for threshold, colour in ((BP4_THRESHOLD, "#009E73"), (PP3_THRESHOLD, "#D55E00")):
        if lo <= threshold <= hi:
            x = left + (threshold - lo) / span * plot_w
            parts.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
                f'stroke="{colour}" stroke-dasharray="4 2"/>'
            )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
        f'y2="{top + plot_h}" stroke="#000"/>'
    )
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#000"/>')
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        if lo <= tick <= hi:
            x = left + (tick - lo) / span * plot_w
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 14}" class="svgsmall" '
                f'text-anchor="middle">{tick:.1f}</text>'
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
        'class="svgsmall">max delta score (probability); dashed: 0.1 (BP4), 0.2 '
        "(PP3)</text>"
    )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" class="svgsmall" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">records (count)</text>'
    )
    parts.append(
        f'<text x="{left - 4}" y="{top + 8}" class="svgsmall" text-anchor="end">{peak}</text>'
    )
    parts.append(
        f'<text x="{left - 4}" y="{top + plot_h}" class="svgsmall" text-anchor="end">0</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em auto;
max-width:1200px;padding:0 1em;color:#111;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;background:#f2f2f2;user-select:none}
table.sortable th:after{content:" \\2195";color:#888}
.PP3{background:#fbe3d6}.BP4{background:#d9efe7}
.svgtitle{font:bold 12px sans-serif}.svgsmall{font:10px sans-serif}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}
.note{color:#444;font-size:.9em}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, col){
    th.addEventListener('click', function(){
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute('data-dir') !== 'asc';
      rows.sort(function(a, b){
        var x = a.cells[col].getAttribute('data-sort') || a.cells[col].textContent;
        var y = b.cells[col].getAttribute('data-sort') || b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? r : -r;
      });
      rows.forEach(function(row){ body.appendChild(row); });
      table.querySelectorAll('th').forEach(function(h){ h.removeAttribute('data-dir'); });
      th.setAttribute('data-dir', asc ? 'asc' : 'desc');
    });
  });
});
"""


def _cell(text: str, css: str = "") -> str:
    try:
        value = float(text)
        numeric = True
    except ValueError:
        numeric = False
    classes = " ".join(c for c in (css, "num" if numeric else "") if c)
    klass = f' class="{escape(classes)}"' if classes else ""
    sort = f' data-sort="{value!r}"' if numeric else ""
    return f"<td{klass}{sort}>{escape(text)}</td>"


def _table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    sortable: bool,
    table_id: str = "",
    class_column: int | None = None,
) -> str:
    ident = f' id="{escape(table_id)}"' if table_id else ""
    klass = ' class="sortable"' if sortable else ""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        css = row[class_column] if class_column is not None else ""
        cells = "".join(
            _cell(str(value), css if k == class_column else "") for k, value in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f"<table{ident}{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def render_report(data: ReportData) -> str:
    """The whole HTML page (module docstring)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>rnatools report: {escape(data.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>rnatools report: {escape(data.title)}</h1>",
        "<h2>Overview</h2>",
        _table(["", "value"], data.facts, sortable=False, table_id="overview"),
        "<h2>Records not scored</h2>",
    ]
    if data.skips:
        out.append(f'<p class="note">{escape(data.skip_source)}</p>')
        out.append(
            _table(
                ["reason", "records"],
                [(r, str(n)) for r, n in data.skips],
                sortable=True,
                table_id="skips",
            )
        )
    else:
        out.append("<p>None.</p>")
    out.append("<h2>Distribution of the max delta score</h2>")
    if data.histograms:
        out.append(
            "<div>"
            + "".join(f"<figure>{histogram_svg(h)}</figure>" for h in data.histograms)
            + "</div>"
        )
    else:
        out.append("<p>No numeric scores.</p>")
    out.append("<h2>Top variants by max delta score</h2>")
    out.append(
        '<p class="note">Class: the ClinGen SVI Splicing Subgroup thresholds for the SpliceAI '
        f"max delta score, ≥ {PP3_THRESHOLD} supporting evidence for PP3, ≤ {BP4_THRESHOLD} "
        "for BP4 (thresholds calibrated for SpliceAI; other models' scores are not classed). "
        f"Source: {escape(CLINGEN_SOURCE)}. Click a column header to sort.</p>"
    )
    class_column = data.top_columns.index("class") if "class" in data.top_columns else None
    out.append(
        _table(
            data.top_columns,
            data.top_rows,
            sortable=True,
            table_id="top",
            class_column=class_column,
        )
    )
    out.append("<h2>Genes</h2>")
    out.append(
        _table(
            ["gene", "variants scored", "≥ 0.2 (PP3)", "≤ 0.1 (BP4)", "max score"],
            [(g, str(n), str(p), str(b), m) for g, n, p, b, m in data.genes],
            sortable=True,
            table_id="genes",
        )
    )
    if data.figures:
        out.append("<h2>Variant figures</h2>")
        for caption, png in data.figures:
            encoded = base64.b64encode(png).decode("ascii")
            out.append(
                f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,'
                f'{encoded}"><figcaption>{escape(caption)}</figcaption></figure>'
            )
    for note in data.notes:
        out.append(f'<p class="note">{escape(note)}</p>')
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out) + "\n"


__all__ = [
    "BP4_THRESHOLD",
    "CLINGEN_SOURCE",
    "PP3_THRESHOLD",
    "Histogram",
    "ReportData",
    "clingen_class",
    "histogram_svg",
    "render_report",
]
