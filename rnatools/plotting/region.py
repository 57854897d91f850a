"""The region figure: acceptor and donor probability tracks over a genomic interval, one axes
per model and strand, gene models below on the same axis (1-based positions).

Acceptor is a solid blue line, donor a dashed vermillion one (Okabe–Ito; told apart by line
style too). Tracks are in genome order; a strand's acceptor and donor are in that strand's
transcript orientation (acceptor = first nucleotide of an exon).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnatools.io.gene_table import GeneRow
from rnatools.plotting.genes import draw_genes
from rnatools.plotting.style import REGION_LINESTYLES, SITE_COLOURS, figure_style


@dataclass(frozen=True)
class RegionPanel:
    """One axes of the region figure.

    Attributes:
        label: what computed the tracks (a model name, or ``bigWig PREFIX``).
        strand: ``+`` or ``-``.
        acceptor, donor: ``(end0 - start0,)`` probabilities, genome order.
    """

    label: str
    strand: str
    acceptor: np.ndarray
    donor: np.ndarray


def _thousands(value, _position=None) -> str:
    return f"{int(round(value)):,}"


def draw_region_figure(
    chrom: str,
    start0: int,
    end0: int,
    panels: Sequence[RegionPanel],
    genes: Sequence[GeneRow] = (),
    *,
    width: float = 10.0,
    height: float | None = None,
):
    """The region figure (module docstring); returns a matplotlib ``Figure``.

    Args:
        chrom: contig name.
        start0, end0: the interval ``[start0, end0)``.
        panels: tracks to draw, top to bottom.
        genes: gene rows overlapping the interval (drawn below; none = no gene axes).
        width, height: inches; ``height`` None = 1.9 per panel plus the genes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    x = np.arange(start0 + 1, end0 + 1)
    with figure_style():
        gene_rows = len(genes)
        ratios = [2.0] * len(panels) + ([0.55 + 0.5 * gene_rows] if gene_rows else [])
        fig_height = height or 0.9 + 1.9 * len(panels) + (0.5 + 0.45 * gene_rows if genes else 0)
        fig = plt.figure(figsize=(width, fig_height))
        grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios, hspace=0.25)
        axes = []
        for k, panel in enumerate(panels):
            ax = fig.add_subplot(grid[k], sharex=axes[0] if axes else None)
            axes.append(ax)
            for site, values in (("acceptor", panel.acceptor), ("donor", panel.donor)):
                ax.plot(
                    x,
                    values,
                    color=SITE_COLOURS[site],
                    linestyle=REGION_LINESTYLES[site],
                    linewidth=0.9,
                    label=site,
                )
            ax.set_ylim(-0.02, 1.05)
            ax.set_ylabel("probability")
            strand_word = "plus" if panel.strand == "+" else "minus"
            ax.set_title(
                f"{panel.label} · {panel.strand} strand ({strand_word}): acceptor and "
                "donor probability",
                loc="left",
                fontsize=9,
            )
            ax.legend(loc="upper right", fontsize=7, frameon=False, ncol=2)
            ax.set_xlim(start0 + 0.5, end0 + 0.5)
            if k < len(panels) - 1 or genes:
                ax.tick_params(labelbottom=False)
        label = f"position on {chrom} (nt, 1-based)"
        if genes:
            gene_ax = fig.add_subplot(grid[len(panels)], sharex=axes[0] if axes else None)
            draw_genes(gene_ax, list(genes), start0 + 1, end0)
            bottom_ax = gene_ax
        else:
            bottom_ax = axes[-1]
        bottom_ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        bottom_ax.set_xlabel(label)
        fig.subplots_adjust(
            left=0.08, right=0.96, top=1 - 0.35 / fig_height, bottom=0.55 / fig_height
        )
    return fig


__all__ = ["RegionPanel", "draw_region_figure"]
