"""Gene models (exons as boxes, introns as a line with arrowheads in transcript direction) on a
genomic axis.

x values are 1-based genomic positions (a nucleotide at 0-based ``p`` is drawn at ``p + 1``,
as VCF ``POS``), shared with the probability panels above.
"""

from __future__ import annotations

from collections.abc import Sequence

from rnatools.io.gene_table import GeneRow
from rnatools.plotting.style import BLACK, GREY


def exon_numbers(gene: GeneRow) -> list[int]:
    """1-based exon numbers in transcript order, aligned with ``gene.exon_starts0``."""
    order = sorted(range(len(gene.exon_starts0)), key=lambda i: gene.exon_starts0[i])
    if gene.strand == "-":
        order.reverse()
    numbers = [0] * len(order)
    for rank, index in enumerate(order):
        numbers[index] = rank + 1
    return numbers


def strand_label(strand: str) -> str:
    """``5'→3' on + strand`` style label of the transcript orientation."""
    return "transcript 5'→3' (+ strand) →" if strand == "+" else "← transcript 5'→3' (− strand)"


def draw_genes(
    ax, genes: Sequence[GeneRow], start1: float, end1: float, *, highlight: float | None = None
) -> None:
    """Draw ``genes`` stacked in rows on ``ax`` over the view ``[start1, end1]``.

    Args:
        ax: a matplotlib axes (its x limits are set to the view).
        genes: gene rows (canonical transcripts), drawn top to bottom.
        start1, end1: 1-based view limits (inclusive).
        highlight: a 1-based position to mark with a vertical line (the variant).
    """
    from matplotlib.patches import Rectangle

    ax.set_xlim(start1 - 0.5, end1 + 0.5)
    rows = max(len(genes), 1)
    ax.set_ylim(-rows + 0.3, 0.9)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    span = end1 - start1 + 1
    for row, gene in enumerate(genes):
        y = -row
        left = max(gene.tx_start0 + 1, start1) - 0.5
        right = min(gene.tx_end0, end1) + 0.5
        if right > left:
            ax.plot([left, right], [y, y], color=GREY, linewidth=1.0, zorder=1)
            arrows = max(int((right - left) / span * 12), 1)
            marker = ">" if gene.strand == "+" else "<"
            xs = [left + (right - left) * (k + 0.5) / arrows for k in range(arrows)]
            ax.plot(
                xs,
                [y] * len(xs),
                linestyle="none",
                marker=marker,
                markersize=3.5,
                color=GREY,
                zorder=2,
            )
        numbers = exon_numbers(gene)
        for start0, end0, number in zip(gene.exon_starts0, gene.exon_ends0, numbers, strict=True):
            x0, x1 = max(start0 + 1, start1) - 0.5, min(end0, end1) + 0.5
            if x1 <= x0:
                continue
            ax.add_patch(
                Rectangle((x0, y - 0.25), x1 - x0, 0.5, facecolor=BLACK, edgecolor=BLACK, zorder=3)
            )
            if (x1 - x0) / span > 0.015 or len(genes) == 1:
                ax.text(
                    (x0 + x1) / 2, y + 0.32, f"exon {number}", ha="center", va="bottom", fontsize=7
                )
        ax.text(
            start1 - 0.5 + span * 0.005,
            y - 0.3,
            f"{gene.name} {gene.transcript_id}".strip() + "  " + strand_label(gene.strand),
            ha="left",
            va="top",
            fontsize=7.5,
        )
    if highlight is not None:
        ax.axvline(highlight, color=GREY, linestyle=":", linewidth=1.0, zorder=0)


__all__ = ["draw_genes", "exon_numbers", "strand_label"]
