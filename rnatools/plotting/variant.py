"""The variant figure: REF and ALT acceptor and donor probabilities over POS ± D with the gene
model below, the variant marked and the four delta scores annotated at their positions.

One panel per (model, gene, ALT allele): an acceptor axes, a donor axes and the gene's exons and
introns, all on one genomic x axis (1-based positions, as VCF ``POS``). REF is a dashed black
line, ALT a solid coloured one (acceptor blue, donor vermillion; Okabe–Ito). The labels are the
INFO entry's own text (``DS_AG 0.42 at -17 nt``, followed by the REF and ALT probabilities at
that position; a hollow circle marks REF, a triangle ALT), so a figure shows exactly the numbers
``rnatools annotate`` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnatools.io.gene_table import GeneRow
from rnatools.plotting.genes import draw_genes
from rnatools.plotting.style import (
    ALT_LINESTYLE,
    BLACK,
    GREY,
    REF_STYLE,
    SITE_COLOURS,
    figure_style,
)

SCORE_NAMES = ("DS_AG", "DS_AL", "DS_DG", "DS_DL")
POSITION_NAMES = ("DP_AG", "DP_AL", "DP_DG", "DP_DL")


@dataclass(frozen=True)
class VariantPanel:
    """What one panel shows.

    Attributes:
        model: model name (panel title).
        gene: the gene row the scores are for (its canonical transcript is drawn).
        allele: the ALT allele.
        start0: 0-based genome position of row 0 of the arrays (``POS0 - D``).
        ref_acceptor, ref_donor, alt_acceptor, alt_donor: ``(2·D + 1,)`` probabilities in + strand
            genome order (ALT aligned to REF positions, as the delta scores use them).
        entry: the INFO entry ``ALLELE|GENE|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL``.
    """

    model: str
    gene: GeneRow
    allele: str
    start0: int
    ref_acceptor: np.ndarray
    ref_donor: np.ndarray
    alt_acceptor: np.ndarray
    alt_donor: np.ndarray
    entry: str

    def labels(self) -> list[tuple[str, str, int | None, str]]:
        """``(score name, score text, position or None, site)`` for the four delta scores, the
        texts as the entry holds them."""
        fields = self.entry.split("|")
        scores, positions = fields[2:6], fields[6:10]
        out = []
        for k, (name, text, position) in enumerate(
            zip(SCORE_NAMES, scores, positions, strict=True)
        ):
            site = "acceptor" if k < 2 else "donor"
            out.append((name, text, None if position == "." else int(position), site))
        return out


def delta_label(name: str, score: str, position: int | None) -> str:
    """``DS_AG 0.42 at -17 nt`` (``DS_AG .`` when the entry has no number); the figure adds
    the REF and ALT probabilities there."""
    if position is None:
        return f"{name} {score}"
    return f"{name} {score} at {position} nt"


def _thousands(value, _position=None) -> str:
    return f"{int(round(value)):,}"


def _probability_axes(ax, x, ref, alt, site: str, title: str | None) -> None:
    ax.plot(x, ref, label=f"REF {site}", **REF_STYLE, zorder=2)
    ax.plot(
        x,
        alt,
        label=f"ALT {site}",
        color=SITE_COLOURS[site],
        linestyle=ALT_LINESTYLE,
        linewidth=1.4,
        alpha=0.9,
        zorder=3,
    )
    ax.set_ylim(-0.03, 1.25)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_ylabel(f"{site}\nprobability")
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=2)
    ax.tick_params(labelbottom=False)
    if title:
        ax.set_title(title, loc="left", fontsize=9.5, fontweight="bold")


def _annotate_deltas(ax, panel: VariantPanel, pos1: int, site: str, x_range: tuple[float, float]):
    """A marker at each delta position of ``site`` and the entry's text next to it: gains to the
    left and losses to the right of their marker (stacked near the edges of the view)."""
    left, right = x_range
    span = right - left
    for name, score, position, label_site in panel.labels():
        if label_site != site:
            continue
        gain = name.endswith("G")
        text = delta_label(name, score, position)
        if position is None:
            ax.text(
                0.99, 0.93 if gain else 0.80, text, ha="right", transform=ax.transAxes, fontsize=7.5
            )
            continue
        x = pos1 + position
        index = x - (panel.start0 + 1)
        ref = panel.ref_acceptor if site == "acceptor" else panel.ref_donor
        alt = panel.alt_acceptor if site == "acceptor" else panel.alt_donor
        inside = 0 <= index < len(ref)
        y = float(max(ref[index], alt[index])) if inside else 0.0
        if inside:  # the probabilities behind the score: REF → ALT
            text += f" (REF {float(ref[index]):.2f} → ALT {float(alt[index]):.2f})"
        if x - left < 0.25 * span:
            side, lift = "left", (14 if gain else 4)
        elif right - x < 0.25 * span:
            side, lift = "right", (14 if gain else 4)
        else:
            side, lift = ("right" if gain else "left"), 4
        ax.annotate(
            text,
            xy=(x, y),
            xycoords="data",
            xytext=(-4 if side == "right" else 4, lift),
            textcoords="offset points",
            ha=side,
            va="bottom",
            fontsize=7.5,
            color=BLACK,
        )
        if inside:
            ax.plot(
                [x],
                [float(ref[index])],
                marker="o",
                markerfacecolor="none",
                markeredgecolor=BLACK,
                markersize=5,
                linestyle="none",
                zorder=4,
            )
        ax.plot(
            [x],
            [float(alt[index]) if inside else y],
            marker="^" if gain else "v",
            color=SITE_COLOURS[site],
            markeredgecolor=BLACK,
            markeredgewidth=0.5,
            markersize=5.5,
            linestyle="none",
            zorder=4,
        )


def draw_variant_figure(
    chrom: str,
    pos1: int,
    ref: str,
    panels: Sequence[VariantPanel],
    *,
    width: float = 10.0,
    height: float | None = None,
):
    """The variant figure (module docstring).

    Args:
        chrom, pos1, ref: the variant (1-based ``POS``).
        panels: one per model, gene and ALT allele, in the order to draw.
        width, height: inches; ``height`` None = 3.9 inches per panel.

    Returns:
        A matplotlib ``Figure`` (call :func:`rnatools.plotting.style.save_figure`).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    with figure_style():
        count = max(len(panels), 1)
        fig = plt.figure(figsize=(width, height or 0.5 + 3.9 * count))
        ratios: list[float] = []
        for k in range(count):
            ratios += [2.0, 2.0, 1.2] + ([1.0] if k < count - 1 else [])
        grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios, hspace=0.12)
        row = 0
        for panel in panels:
            n = len(panel.ref_acceptor)
            x = np.arange(panel.start0 + 1, panel.start0 + 1 + n)
            view = (float(x[0]), float(x[-1]))
            title = (
                f"{panel.model} · {panel.gene.name} · {chrom}:{pos1:,} {ref}>{panel.allele}"
                f"  (±{n // 2} nt)"
            )
            axes = [fig.add_subplot(grid[row + k]) for k in range(3)]
            row += 4
            for k, (site, ref_track, alt_track) in enumerate(
                (
                    ("acceptor", panel.ref_acceptor, panel.alt_acceptor),
                    ("donor", panel.ref_donor, panel.alt_donor),
                )
            ):
                ax = axes[k]
                _probability_axes(ax, x, ref_track, alt_track, site, title if k == 0 else None)
                ax.axvline(pos1, color=GREY, linestyle=":", linewidth=1.0, zorder=0)
                ax.set_xlim(view[0] - 0.5, view[1] + 0.5)
                _annotate_deltas(ax, panel, pos1, site, view)
            gene_ax = axes[2]
            draw_genes(gene_ax, [panel.gene], view[0], view[1], highlight=pos1)
            gene_ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
            gene_ax.set_xlabel(f"position on {chrom} (nt, 1-based; variant at {pos1:,}, dotted)")
        if not panels:
            ax = fig.add_subplot(grid[0])
            ax.text(
                0.5, 0.5, f"{chrom}:{pos1:,}: no gene to score", ha="center", transform=ax.transAxes
            )
            ax.set_axis_off()
        fig.subplots_adjust(
            left=0.09,
            right=0.96,
            top=1 - 0.35 / fig.get_figheight(),
            bottom=0.55 / fig.get_figheight(),
        )
    return fig


__all__ = ["POSITION_NAMES", "SCORE_NAMES", "VariantPanel", "delta_label", "draw_variant_figure"]
