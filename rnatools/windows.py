"""Pre-mRNA windows: a feature's sequence on its strand, with flanks, N-padding and masking.

This is the one implementation every command uses to cut model inputs out of a reference:

* the window of a feature ``[start, end)`` (0-based half-open) with ``flank`` nt per side is the
  genomic range ``[start - flank, end + flank)``;
* positions past either contig end are ``N`` (so windows near telomeres keep their length);
* optionally, positions outside a range (SpliceAI-style: outside the transcript) are ``N``;
* the sequence is returned on the feature's strand: reverse complement for ``'-'``; unstranded
  (``'.'``) features read as ``'+'``.

Feature sources (GTF/GFF3 genes, BED intervals, ``chr:start-end`` regions parsed by
:func:`rnatools.genome.parse_region`) become :class:`Window` records through
:func:`gene_windows` and :func:`interval_windows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from rnatools.errors import InputError, UsageError
from rnatools.genome import Interval
from rnatools.io.gtf import Gene, Transcript, canonical_transcript
from rnatools.sequence import reverse_complement

DEFAULT_FLANK = 5000

TranscriptChoice = Literal["canonical", "all"]
UnstrandedChoice = Literal["+", "-", "both"]


class SequenceSource(Protocol):
    """What cutting windows needs from a reference: :class:`rnatools.io.fasta.Fasta` is one, and
    so is :class:`rnatools.scoring.splice_sites.InMemorySequences` (plain sequences)."""

    lengths: Mapping[str, int]

    def resolve(self, chrom: str) -> str:
        """The source's spelling of contig ``chrom`` (raises ContigNotFoundError)."""
        ...

    def fetch_padded(self, chrom: str, start: int, end: int) -> str:
        """Forward-strand letters of ``[start, end)``, ``N`` past either contig end."""
        ...


def window_sequence(
    fasta: SequenceSource,
    interval: Interval,
    flank: int = DEFAULT_FLANK,
    mask_outside: tuple[int, int] | None = None,
) -> str:
    """Sequence of ``interval`` plus ``flank`` nt per side, on the interval's strand.

    Args:
        fasta: reference (any :class:`SequenceSource`); ``interval.chrom`` is resolved through
            its contig names (chr/MT rule).
        interval: 0-based half-open feature bounds; strand ``'-'`` gives the reverse complement,
            ``'+'`` and ``'.'`` the forward strand.
        flank: nt added on each side (>= 0).
        mask_outside: 0-based half-open genomic ``(start, end)``; bases outside it become ``N``
            (SpliceAI pads with N outside the transcript).

    Returns:
        Upper-case string of ``interval.length + 2 * flank`` letters; ``N`` past contig ends.

    Raises:
        ContigNotFoundError: the contig is not in the FASTA (the message lists those that are).
        UsageError: (parameter ``flank``) ``flank < 0``.
    """
    if flank < 0:
        raise UsageError(f"flank must be >= 0 nt, got {flank}", parameter="flank")
    return cut_window(
        fasta,
        interval.chrom,
        interval.start - flank,
        interval.end + flank,
        interval.strand,
        mask_outside,
    )


def mask_outside_range(sequence: str, start0: int, keep_start0: int, keep_end0: int) -> str:
    """``sequence`` (genome ``[start0, start0 + len)``) with every base outside the genomic range
    ``[keep_start0, keep_end0)`` replaced by ``N`` (SpliceAI pads with N outside the transcript).
    Returns ``sequence`` itself when nothing is masked."""
    length = len(sequence)
    left = min(max(keep_start0 - start0, 0), length)
    right = min(max(keep_end0 - start0, left), length)
    if left == 0 and right == length:
        return sequence
    return "N" * left + sequence[left:right] + "N" * (length - right)


def cut_window(
    source: SequenceSource,
    chrom: str,
    start0: int,
    end0: int,
    strand: str = "+",
    mask_outside: tuple[int, int] | None = None,
) -> str:
    """Genome ``[start0, end0)`` of ``chrom`` (0-based half-open; ``start0`` may be negative and
    ``end0`` past the contig end: those positions are ``N``), on ``strand``.

    The primitive under :func:`window_sequence`, for callers that already hold the window's
    bounds (delta scoring's variant-centred windows, whose start can lie before the contig).

    Args:
        source: anything with ``fetch_padded(chrom, start, end)`` (a
            :class:`~rnatools.io.fasta.Fasta`, in-memory sequences).
        mask_outside: 0-based half-open genomic ``(start, end)``; bases outside become ``N``.
        strand: ``'-'`` gives the reverse complement; ``'+'`` and ``'.'`` the forward strand.

    Returns:
        Upper-case string of ``end0 - start0`` letters.

    Raises:
        ContigNotFoundError: the contig is not in ``source``.
    """
    sequence = source.fetch_padded(chrom, start0, end0)
    if mask_outside is not None:
        sequence = mask_outside_range(sequence, start0, *mask_outside)
    if strand == "-":
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


def check_in_contig(fasta: SequenceSource, interval: Interval) -> str:
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
    "SequenceSource",
    "Window",
    "check_in_contig",
    "cut_window",
    "mask_outside_range",
    "gene_windows",
    "interval_windows",
    "window_sequence",
]
