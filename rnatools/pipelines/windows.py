"""The ``windows`` pipeline: pre-mRNA windows of genes, BED intervals and regions → FASTA or TSV.

Each feature's window is its sequence on its strand (reverse complement for ``-``) with ``flank``
nt per side, ``N`` past contig ends, optionally ``N`` outside the transcript (BED/region: outside
the interval); cut by :func:`rnatools.windows.window_sequence`.

Output formats:

* FASTA: ``>NAME chrom:start-end(strand) flank=N`` then the sequence wrapped at ``line_width``
  (0: one line), where ``chrom`` is the contig as named in the FASTA and ``start-end`` the
  feature's 0-based half-open bounds; NAME is ``GENE|TRANSCRIPT`` for genes, the BED name (or
  ``chrom:start-end``) for intervals, the region text for regions.
* TSV: header ``name chrom start end strand flank sequence``, one row per window.

Features are written genes first, then BED intervals, then regions. Every feature is checked
against the reference before anything is written, and the output appears complete or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rnatools import windows
from rnatools.errors import UsageError
from rnatools.genome import parse_region
from rnatools.io.atomic import atomic_output
from rnatools.io.bed import read_bed
from rnatools.io.fasta import Fasta
from rnatools.io.gtf import read_genes, select_genes
from rnatools.pipelines import ProgressFactory, no_progress

log = logging.getLogger("rnatools.windows")

WindowFormat = Literal["fasta", "tsv"]
TSV_HEADER = "name\tchrom\tstart\tend\tstrand\tflank\tsequence\n"
_FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")
_TSV_SUFFIXES = (".tsv", ".tsv.gz", ".txt", ".txt.gz")


@dataclass(frozen=True)
class WindowsSettings:
    """What ``rnatools windows`` does; field names are the parameters errors name.

    Attributes:
        fasta: reference FASTA (plain or bgzip).
        output: output file, or ``"-"`` for standard output.
        annotation: GTF or GFF3: one window per gene (canonical transcript) or per transcript.
        bed: BED intervals (0-based half-open; strand from column 6).
        region: ``chrom:start-end`` texts (1-based inclusive, as samtools).
        genes: with ``annotation``: only these gene names or ids (annotation order).
        transcripts: ``"canonical"`` (one window per gene) or ``"all"`` (one per transcript).
        flank: nt of context added on each side (>= 0).
        mask_outside_transcript: ``N`` for every base outside the transcript (interval).
        strand: strand of unstranded BED lines and regions: ``"+"``, ``"-"`` or ``"both"``.
        output_format: ``"fasta"``, ``"tsv"``, or None (from the output's extension; FASTA on
            standard output).
        line_width: FASTA line width in nt (0: one line).
    """

    fasta: Path
    output: Path | str = "-"
    annotation: Path | None = None
    bed: Path | None = None
    region: tuple[str, ...] = ()
    genes: tuple[str, ...] | None = None
    transcripts: Literal["canonical", "all"] = "canonical"
    flank: int = windows.DEFAULT_FLANK
    mask_outside_transcript: bool = False
    strand: Literal["+", "-", "both"] = "+"
    output_format: WindowFormat | None = None
    line_width: int = 60

    def __post_init__(self) -> None:
        # A single string where a tuple is expected: one region, comma-separated genes.
        if isinstance(self.region, str):
            object.__setattr__(self, "region", (self.region,))
        if isinstance(self.genes, str):
            object.__setattr__(self, "genes", tuple(self.genes.split(",")))


@dataclass(frozen=True)
class WindowsSummary:
    """What a windows run did.

    Attributes:
        windows: windows written.
        output: where (``"-"``: standard output).
        output_format: ``"fasta"`` or ``"tsv"``.
        flank: nt of context per side.
    """

    windows: int
    output: str
    output_format: WindowFormat
    flank: int


def output_format(output: Path | str, requested: WindowFormat | None = None) -> WindowFormat:
    """``requested`` when given, else the format named by the output's extension; FASTA on
    standard output.

    Raises:
        UsageError: (parameter ``output``) an extension that names no format.
    """
    if requested is not None:
        if requested not in ("fasta", "tsv"):
            raise UsageError(f"{requested!r}: expected fasta or tsv", parameter="output_format")
        return requested
    if str(output) == "-":
        return "fasta"
    name = Path(output).name.lower()
    if name.endswith(_FASTA_SUFFIXES):
        return "fasta"
    if name.endswith(_TSV_SUFFIXES):
        return "tsv"
    raise UsageError(
        f"cannot tell the output format of {output}: use a .fa/.fasta/.fa.gz or .tsv name, "
        "or name the format",
        parameter="output",
    )


def _check(settings: WindowsSettings) -> None:
    if settings.annotation is None and settings.bed is None and not settings.region:
        raise UsageError("give at least one of annotation, bed or region", parameter="region")
    if settings.genes is not None and settings.annotation is None:
        raise UsageError("genes needs an annotation", parameter="genes")
    if settings.transcripts not in ("canonical", "all"):
        raise UsageError(
            f"{settings.transcripts!r}: expected canonical or all", parameter="transcripts"
        )
    if settings.strand not in ("+", "-", "both"):
        raise UsageError(f"{settings.strand!r}: expected +, - or both", parameter="strand")
    if settings.flank < 0:
        raise UsageError(f"flank must be >= 0 nt, got {settings.flank}", parameter="flank")


def _wrap(sequence: str, width: int) -> str:
    if width <= 0:
        return sequence
    return "\n".join(sequence[i : i + width] for i in range(0, len(sequence), width))


def select_windows(settings: WindowsSettings) -> list[windows.Window]:
    """The windows to cut, in output order: genes, then BED intervals, then regions.

    Raises:
        InputError: an unreadable annotation or BED, a gene not in the annotation.
        UsageError: (parameter ``region``) a malformed region.
    """
    selected: list[windows.Window] = []
    mask = settings.mask_outside_transcript
    if settings.annotation is not None:
        chosen = select_genes(
            read_genes(settings.annotation), settings.genes, path=settings.annotation
        )
        selected += windows.gene_windows(chosen, settings.transcripts, mask)
    if settings.bed is not None:
        selected += windows.interval_windows(read_bed(settings.bed), settings.strand, mask)
    if settings.region:
        parsed = [parse_region(text, parameter="region") for text in settings.region]
        selected += windows.interval_windows(parsed, settings.strand, mask)
    return selected


def run_windows(
    settings: WindowsSettings, progress: ProgressFactory = no_progress
) -> WindowsSummary:
    """Cut and write the windows of ``settings`` (see the module docstring).

    Raises:
        UsageError: contradictory or out-of-range settings (the parameter is named).
        InputError: unreadable inputs, a gene not in the annotation, a feature past its contig's
            end (nothing is written then).
        ContigNotFoundError: a feature on a contig the FASTA lacks.
    """
    _check(settings)
    fmt = output_format(settings.output, settings.output_format)
    selected = select_windows(settings)
    flank = settings.flank
    with Fasta(settings.fasta) as reference:
        # Check every feature first, so that a bad one fails before anything is written.
        contigs = [windows.check_in_contig(reference, window.interval) for window in selected]
        with (
            atomic_output(settings.output) as handle,
            progress("windows", len(selected), "windows") as bar,
        ):
            if fmt == "tsv":
                handle.write(TSV_HEADER)
            for window, chrom in zip(selected, contigs, strict=True):
                interval = window.interval
                sequence = windows.window_sequence(reference, interval, flank, window.mask_outside)
                if fmt == "tsv":
                    handle.write(
                        f"{window.name}\t{chrom}\t{interval.start}\t{interval.end}\t"
                        f"{interval.strand}\t{flank}\t{sequence}\n"
                    )
                else:
                    handle.write(
                        f">{window.name} {chrom}:{interval.start}-{interval.end}"
                        f"({interval.strand}) flank={flank}\n"
                        f"{_wrap(sequence, settings.line_width)}\n"
                    )
                bar.advance(1)
    return WindowsSummary(len(selected), str(settings.output), fmt, flank)


__all__ = ["WindowsSettings", "WindowsSummary", "output_format", "run_windows", "select_windows"]
