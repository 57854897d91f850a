"""Figures (matplotlib) and the self-contained HTML report of ``rnatools plot`` and
``rnatools report``.

matplotlib is an optional dependency (the ``[plot]`` extra): :func:`require_matplotlib` imports it
with the non-interactive Agg backend, or raises :class:`PlotDependencyError` (exit code 3) with
the install command. Nothing here reads files or runs models: the pipelines
(:mod:`rnatools.pipelines.plot`, :mod:`rnatools.pipelines.report`) compute the numbers and hand
arrays to these functions.

Modules: :mod:`~rnatools.plotting.style` (colours, deterministic saving),
:mod:`~rnatools.plotting.genes` (exon/intron drawings), :mod:`~rnatools.plotting.variant` (REF and
ALT tracks around a variant), :mod:`~rnatools.plotting.region` (splice-site tracks over a region),
:mod:`~rnatools.plotting.html` (the report page, standard library only).
"""

from __future__ import annotations

from types import ModuleType

from rnatools.errors import MissingWeightsError

INSTALL_HINT = "pip install 'rnatools[plot]' (or: pip install 'matplotlib>=3.7')"


class PlotDependencyError(MissingWeightsError):
    """matplotlib, needed for figures, is not installed (exit code 3, like missing weights)."""

    def __init__(self, what: str = "figures"):
        super().__init__(f"{what}: needs matplotlib, which is not installed: {INSTALL_HINT}")


def require_matplotlib(what: str = "figures") -> ModuleType:
    """Import matplotlib with the Agg backend (no display needed).

    Returns:
        ``matplotlib.pyplot``.

    Raises:
        PlotDependencyError: matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise PlotDependencyError(what) from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


__all__ = ["INSTALL_HINT", "PlotDependencyError", "require_matplotlib"]
