"""Pre-mRNA windows: a feature's sequence on its strand, with flanks, N-padding and masking.

This is the one implementation every command uses to cut model inputs out of a reference:

* the window of a feature ``[start, end)`` (0-based half-open) with ``flank`` nt per side is the
  genomic range ``[start - flank, end + flank)``;
* positions past either contig end are ``N`` (so windows near telomeres keep their length);
* optionally, positions outside a range (SpliceAI-style: outside the transcript) are ``N``;
* the sequence is returned on the feature's strand: reverse complement for ``'-'``; unstranded
  (``'.'``) features read as ``'+'``.

Feature sources (GTF/GFF3 genes, BED intervals, ``chr:start-end`` regions) become
:class:`Window` records through :func:`gene_windows`, :func:`interval_windows` and
:func:`parse_region`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from rnatools.errors import InputError, UsageError
from rnatools.genome import Interval
from rnatools.io.fasta import Fasta
from rnatools.io.gtf import Gene, Transcript, canonical_transcript
from rnatools.sequence import reverse_complement

DEFAULT_FLANK = 5000

TranscriptChoice = Literal["canonical", "all"]
UnstrandedChoice = Literal["+", "-", "both"]


def window_sequence(
    fasta: Fasta,
    interval: Interval,
    flank: int = DEFAULT_FLANK,
    mask_outside: tuple[int, int] | None = None,
) -> str:
    """Sequence of ``interval`` plus ``flank`` nt per side, on the interval's strand.

    Args:
        fasta: reference; ``interval.chrom`` is resolved through its contig names (chr/MT rule).
        interval: 0-based half-open feature bounds; strand ``'-'`` gives the reverse complement,
            ``'+'`` and ``'.'`` the forward strand.
        flank: nt added on each side (>= 0).
        mask_outside: 0-based half-open genomic ``(start, end)``; bases outside it become ``N``
            (SpliceAI pads with N outside the transcript).

    Returns:
        Upper-case string of ``interval.length + 2 * flank`` letters; ``N`` past contig ends.

    Raises:
        ContigNotFoundError: the contig is not in the FASTA (the message lists those that are).
        UsageError: ``flank < 0``.
    """
    if flank < 0:
        raise UsageError(f"flank must be >= 0 nt, got {flank}")
    window_start = interval.start - flank
    window_end = interval.end + flank
    sequence = fasta.fetch_padded(interval.chrom, window_start, window_end)
    if mask_outside is not None:
        length = window_end - window_start
        keep_start = min(max(mask_outside[0] - window_start, 0), length)
        keep_end = min(max(mask_outside[1] - window_start, keep_start), length)
        sequence = "N" * keep_start + sequence[keep_start:keep_end] + "N" * (length - keep_end)
    if interval.strand == "-":
        sequence = reverse_complement(sequence)
    return sequence


@dataclass(frozen=True)
class Window:
    """A feature to cut a window for.

    Attributes:
        name: label written to the output (``GENE|TRANSCRIPT``, the BED name, or the region).
        interval: feature bounds, 0-based half-open, with the strand the sequence is read on.
        mask_outside: genomic range outside which bases become ``N``, or None.
    """

    name: str
    interval: Interval
    mask_outside: tuple[int, int] | None = None


_REGION = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,]+)-(?P<end>[\d,]+)$")


def parse_region(text: str) -> Interval:
    """``chrom:start-end`` (1-based inclusive, as samtools; commas allowed) → 0-based Interval.

    Returns:
        Unstranded :class:`Interval` ``[start - 1, end)`` named ``text``.

    Raises:
        UsageError: not of the form ``chrom:start-end`` with ``1 <= start <= end``.
    """
    match = _REGION.match(text.strip())
    if match is None:
        raise UsageError(f"region {text!r}: expected chrom:start-end (1-based inclusive)")
    start1 = int(match["start"].replace(",", ""))
    end1 = int(match["end"].replace(",", ""))
    if start1 < 1 or end1 < start1:
        raise UsageError(f"region {text!r}: expected 1 <= start <= end (1-based inclusive)")
    return Interval(match["chrom"], start1 - 1, end1, ".", text.strip())


def select_genes(genes: Sequence[Gene], names: Iterable[str] | None) -> list[Gene]:
    """Genes whose name or id (with or without a ``.version`` suffix) is in ``names``.

    ``names=None`` keeps every gene.

    Raises:
        InputError: a requested name matches no gene.
    """
    if names is None:
        return list(genes)
    wanted = [name.strip() for name in names if name.strip()]
    found: set[str] = set()
    selected: list[Gene] = []
    for gene in genes:
        keys = {gene.gene_name, gene.gene_id, gene.gene_id.split(".")[0]}
        hits = keys.intersection(wanted)
        if hits:
            found.update(hits)
            selected.append(gene)
    missing = [name for name in wanted if name not in found]
    if missing:
        raise InputError(f"gene(s) not found in the annotation: {', '.join(missing)}")
    return selected


def gene_windows(
    genes: Iterable[Gene],
    transcripts: TranscriptChoice = "canonical",
    mask_outside_transcript: bool = False,
) -> Iterator[Window]:
    """One window per gene (its canonical transcript) or per transcript (``"all"``).

    The window is the transcript's bounds on its strand, named ``GENE_NAME|TRANSCRIPT_ID``.
    The canonical transcript follows :func:`rnatools.io.gtf.canonical_transcript`.
    """
    for gene in genes:
        chosen: list[Transcript] = (
            [canonical_transcript(gene)] if transcripts == "canonical" else list(gene.transcripts)
        )
        for transcript in chosen:
            interval = Interval(
                transcript.chrom,
                transcript.start,
                transcript.end,
                transcript.strand,  # type: ignore[arg-type]
                f"{gene.gene_name}|{transcript.transcript_id}",
            )
            mask = (transcript.start, transcript.end) if mask_outside_transcript else None
            yield Window(interval.name or "", interval, mask)


def interval_windows(
    intervals: Iterable[Interval],
    unstranded: UnstrandedChoice = "+",
    mask_outside_interval: bool = False,
) -> Iterator[Window]:
    """Windows for BED intervals or regions.

    Stranded intervals keep their strand. Unstranded ones (``'.'``) are read on ``unstranded``:
    ``'+'`` (default), ``'-'``, or ``'both'`` (two windows, ``'+'`` first). Unnamed intervals are
    named ``chrom:start-end`` (0-based half-open).
    """
    for interval in intervals:
        name = interval.name or f"{interval.chrom}:{interval.start}-{interval.end}"
        strands = (
            [interval.strand]
            if interval.strand != "."
            else (["+", "-"] if unstranded == "both" else [unstranded])
        )
        mask = (interval.start, interval.end) if mask_outside_interval else None
        for strand in strands:
            yield Window(
                name, Interval(interval.chrom, interval.start, interval.end, strand, name), mask
            )


def check_in_contig(fasta: Fasta, interval: Interval) -> str:
    """The FASTA's name for the contig of ``interval``, checking the feature lies inside it.

    Raises:
        ContigNotFoundError: unknown contig (lists the names that exist).
        InputError: the feature ends past the contig end.
    """
    chrom = fasta.resolve(interval.chrom)
    length = fasta.lengths[chrom]
    if interval.end > length:
        raise InputError(
            f"{interval.name or interval}: {interval.chrom}:{interval.start}-{interval.end} "
            f"(0-based half-open) ends past the end of contig {chrom} ({length:,} nt)"
        )
    return chrom


__all__ = [
    "DEFAULT_FLANK",
    "Window",
    "check_in_contig",
    "gene_windows",
    "interval_windows",
    "parse_region",
    "select_genes",
    "window_sequence",
]
