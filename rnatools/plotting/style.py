"""Colours, line styles and deterministic saving shared by every figure.

Colours are from the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"; Wong 2011,
Nature Methods 8:441, doi:10.1038/nmeth.1618), distinguishable with the common colour-vision
deficiencies; every distinction drawn in colour is drawn a second way too (line style, panel):
acceptor and donor probabilities sit in separate panels (or, in region plots, differ in line
style), REF is dashed and ALT solid.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from rnatools.errors import UsageError

BLUE = "#0072B2"  # Okabe–Ito blue: acceptor
VERMILLION = "#D55E00"  # Okabe–Ito vermillion: donor
BLACK = "#000000"
GREY = "#6E6E6E"
SKY = "#56B4E9"
ORANGE = "#E69F00"
GREEN = "#009E73"
PURPLE = "#CC79A7"

SITE_COLOURS = {"acceptor": BLUE, "donor": VERMILLION}
REF_STYLE = {"linestyle": (0, (4, 2)), "linewidth": 1.2, "color": BLACK, "alpha": 0.8}
ALT_LINESTYLE = "-"
REGION_LINESTYLES = {"acceptor": "-", "donor": (0, (3, 1.5))}

FORMATS = ("png", "svg", "pdf")
SOFTWARE = "rnatools"
"""Written into the figure's metadata instead of a version and a date (same input, same bytes)."""

_RC = {
    "svg.hashsalt": "rnatools",
    "svg.fonttype": "none",  # text stays text: searchable, smaller, no font-dependent paths
    "pdf.fonttype": 42,
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": False,
}


def figure_format(path: str | Path) -> str:
    """``png``, ``svg`` or ``pdf`` from the output's extension.

    Raises:
        UsageError: (``output``) another extension.
    """
    suffix = Path(str(path)).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UsageError(
            f"{path}: unknown figure format; use .png, .svg or .pdf", parameter="output"
        )
    return suffix


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """matplotlib settings of every rnatools figure (restored afterwards)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def metadata(fmt: str) -> dict[str, str | None]:
    """Fixed metadata per format: no creation date, a fixed software name."""
    if fmt == "png":
        return {"Software": SOFTWARE}
    if fmt == "svg":
        return {"Date": None, "Creator": SOFTWARE}
    return {"CreationDate": None, "ModDate": None, "Creator": SOFTWARE, "Producer": SOFTWARE}


def save_figure(fig, handle, fmt: str, dpi: int) -> None:
    """Write ``fig`` to the binary file ``handle`` in ``fmt``, deterministically.

    Same figure, same bytes: SVG ids come from the fixed ``svg.hashsalt``, and no format gets a
    date (matplotlib's ``metadata``); PNG text chunks hold only ``Software``.
    """
    with figure_style():
        fig.savefig(handle, format=fmt, dpi=dpi, metadata=metadata(fmt))


def check_size(width: float, height: float | None, dpi: int) -> None:
    """Figure size in inches and DPI within sane bounds.

    Raises:
        UsageError: (``width``, ``height``, ``dpi``) out of range.
    """
    if not 2 <= width <= 60:
        raise UsageError(f"must be 2-60 inches, got {width}", parameter="width")
    if height is not None and not 1 <= height <= 100:
        raise UsageError(f"must be 1-100 inches, got {height}", parameter="height")
    if not 30 <= dpi <= 1200:
        raise UsageError(f"must be 30-1200, got {dpi}", parameter="dpi")


__all__ = [
    "BLUE",
    "FORMATS",
    "REF_STYLE",
    "SITE_COLOURS",
    "VERMILLION",
    "check_size",
    "figure_format",
    "figure_style",
    "metadata",
    "save_figure",
]
