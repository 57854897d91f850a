"""Per-nucleotide splice-site probabilities (SpliceAI) over genomic intervals or plain sequences.

Every output nucleotide sees its full ±5,000-nt context: real genomic flanks where the reference
has them, ``N`` past contig ends (and 5,000 ``N`` per side around a plain sequence, SpliceAI's
recipe for custom sequences). Long intervals are cut into chunks of ``chunk_size`` output nt, each
fetched with its own flanks, and batched; because the network's receptive field is exactly
±5,000 nt the probabilities do not depend on the chunk or batch size.

Minus-strand intervals are predicted on the reverse complement and the outputs are reversed, so
rows are always in genome order (position ``start + i``).

Coordinates are 0-based half-open throughout (:class:`rnatools.genome.Interval`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch

from rnatools.errors import InputError, UsageError
from rnatools.genome import ContigMap, Interval
from rnatools.models.spliceai import SPLICEAI_FLANK
from rnatools.predict import predict_batches
from rnatools.runtime import Precision
from rnatools.sequence import one_hot, reverse_complement

StrandMode = Literal["auto", "+", "-", "both"]
DEFAULT_CHUNK_SIZE = 20_000  # nt of output per model input; see benchmarks/predict_throughput.py


class SequenceSource(Protocol):
    """What prediction needs from a reference: :class:`rnatools.io.fasta.Fasta` is one."""

    lengths: dict[str, int]

    def resolve(self, chrom: str) -> str: ...

    def fetch_padded(self, chrom: str, start: int, end: int) -> str: ...


class InMemorySequences:
    """Plain sequences (``--sequences``) as a :class:`SequenceSource`: ``N`` outside each record.

    Args:
        records: ``(name, sequence)`` pairs; names must be unique.

    Raises:
        InputError: a duplicated or empty record name.
    """

    def __init__(self, records: Iterable[tuple[str, str]], path: str | None = None):
        self._sequences: dict[str, str] = {}
        for name, sequence in records:
            if not name:
                raise InputError("a FASTA record has an empty name", path)
            if name in self._sequences:
                raise InputError(f"record name {name!r} appears twice", path)
            self._sequences[name] = sequence.upper()
        self.lengths = {name: len(seq) for name, seq in self._sequences.items()}
        self._contigs = ContigMap(self.lengths, path)

    def resolve(self, chrom: str) -> str:
        return self._contigs[chrom]

    def fetch_padded(self, chrom: str, start: int, end: int) -> str:
        sequence = self._sequences[self.resolve(chrom)]
        inner = sequence[max(start, 0) : max(min(end, len(sequence)), 0)]
        left = min(max(-start, 0), end - start)
        return "N" * left + inner + "N" * (end - start - left - len(inner))


@dataclass(frozen=True)
class SpliceSiteTrack:
    """Probabilities for the nucleotides ``[start, end)`` of ``chrom`` on ``strand``, genome order.

    Attributes:
        acceptor: ``(end - start,)`` float32 probability that the nucleotide is the first of an
            exon (acceptor site), in transcript orientation of ``strand``.
        donor: ``(end - start,)`` float32 probability that it is the last of an exon (donor site).
    """

    chrom: str
    start: int
    end: int
    strand: Literal["+", "-"]
    acceptor: np.ndarray
    donor: np.ndarray


def expand_strands(interval: Interval, mode: StrandMode = "auto") -> list[Interval]:
    """The stranded intervals to predict for ``interval``.

    ``auto`` keeps the interval's strand and gives both strands for an unstranded ('.') one;
    ``+``/``-`` force that strand; ``both`` gives ``+`` then ``-``.
    """
    if mode == "both" or (mode == "auto" and interval.strand == "."):
        return [interval.with_strand("+"), interval.with_strand("-")]
    if mode == "auto":
        return [interval]
    if mode in ("+", "-"):
        return [interval.with_strand(mode)]
    raise UsageError(f"--strand must be auto, +, - or both, got {mode!r}")


def merge_intervals(intervals: Iterable[Interval], contig_order: Sequence[str]) -> list[Interval]:
    """Overlapping or touching intervals of the same contig and strand merged; sorted.

    Sorted by strand ('+' first), then contig in ``contig_order``, then start: the order
    bigWig/bedGraph writers need (one file per strand, entries sorted within it).
    """
    rank = {name: i for i, name in enumerate(contig_order)}
    def key(iv: Interval) -> tuple:
        return (iv.strand != "+", rank.get(iv.chrom, len(rank)), iv.chrom, iv.start)

    ordered = sorted(intervals, key=key)
    merged: list[Interval] = []
    for iv in ordered:
        last = merged[-1] if merged else None
        if last and last.chrom == iv.chrom and last.strand == iv.strand and iv.start <= last.end:
            if iv.end > last.end:
                merged[-1] = Interval(last.chrom, last.start, iv.end, last.strand, last.name)
        else:
            merged.append(iv)
    return merged


def check_interval(source: SequenceSource, interval: Interval) -> Interval:
    """``interval`` with its contig spelled as in ``source``.

    Raises:
        ContigNotFoundError: unknown contig.
        InputError: the interval is empty or runs past the contig end.
    """
    chrom = source.resolve(interval.chrom)
    length = source.lengths[chrom]
    if interval.end > length:
        raise InputError(
            f"interval {interval} ends past the end of contig {chrom} ({length} nt)"
        )
    if interval.length == 0:
        raise InputError(f"interval {interval} is empty")
    return Interval(chrom, interval.start, interval.end, interval.strand, interval.name)


WIDTH_STEP = 256


def _chunk_width(length: int, chunk_size: int) -> int:
    """The width of an interval's chunks: at most ``chunk_size``, balanced so that the last,
    padded chunk wastes little (an 81 kb gene in chunks of <= 20 kb: five of 16,384 nt), and
    rounded up to a multiple of 256 so that intervals of similar length share an input shape and
    batch together (short exons all become one 256-nt chunk). Outputs past the interval's end
    are computed on real sequence and dropped; the kept values do not depend on the width."""
    count = -(-length // chunk_size)
    balanced = -(-length // count)
    return min(chunk_size, -(-balanced // WIDTH_STEP) * WIDTH_STEP)


def _chunks(interval: Interval, chunk_size: int) -> Iterator[tuple[int, int]]:
    """``(chunk_start, kept_length)``: chunks of one width, the last one padded past the end."""
    width = _chunk_width(interval.length, chunk_size)
    for chunk_start in range(interval.start, interval.end, width):
        yield chunk_start, min(width, interval.end - chunk_start)


def _window(source: SequenceSource, chrom: str, start: int, width: int, strand: str) -> np.ndarray:
    """``(width + 10000, 4)`` one-hot input for outputs ``[start, start + width)``."""
    sequence = source.fetch_padded(chrom, start - SPLICEAI_FLANK, start + width + SPLICEAI_FLANK)
    if strand == "-":
        sequence = reverse_complement(sequence)
    return one_hot(sequence)


def predict_splice_sites(
    model: torch.nn.Module,
    source: SequenceSource,
    intervals: Iterable[Interval],
    *,
    device: torch.device | str = "cpu",
    precision: Precision = "fp32",
    batch_size: int = 8,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
) -> Iterator[SpliceSiteTrack]:
    """SpliceAI acceptor and donor probabilities for every nucleotide of every interval.

    Args:
        model: a SpliceAI-like module mapping ``(batch, L + 10000, 4)`` to ``(batch, L, 3)``
            probabilities (neither, acceptor, donor), e.g. ``load_spliceai()``.
        source: the reference (a :class:`~rnatools.io.fasta.Fasta`) or
            :class:`InMemorySequences`.
        intervals: stranded ('+'/'-') intervals, contigs as spelled in ``source`` (see
            :func:`expand_strands`, :func:`check_interval`).
        chunk_size: at most this many output nt per model input (each input is ``width +
            10000`` nt; an interval's chunks share one width so that they batch together).
        on_chunk: called with the number of nt of each finished chunk (progress).

    Yields:
        One :class:`SpliceSiteTrack` per chunk, in input order, chunks of an interval in genome
        order (concatenate them to get the interval's track).

    Raises:
        UsageError: ``chunk_size`` < 1 or an unstranded interval.
    """
    if chunk_size < 1:
        raise UsageError(f"--chunk-size must be >= 1, got {chunk_size}")

    def inputs() -> Iterator[tuple[tuple[Interval, int, int], np.ndarray]]:
        for interval in intervals:
            if interval.strand not in ("+", "-"):
                raise UsageError(f"interval {interval} has no strand; expand it first")
            width = _chunk_width(interval.length, chunk_size)
            for chunk_start, kept in _chunks(interval, chunk_size):
                x = _window(source, interval.chrom, chunk_start, width, interval.strand)
                yield (interval, chunk_start, kept), x

    for (interval, chunk_start, kept), y in predict_batches(
        model, inputs(), device, precision, batch_size
    ):
        if interval.strand == "-":
            y = y[::-1]
        y = y[:kept]
        if on_chunk is not None:
            on_chunk(kept)
        yield SpliceSiteTrack(
            interval.chrom,
            chunk_start,
            chunk_start + kept,
            interval.strand,
            np.ascontiguousarray(y[:, 1], dtype=np.float32),
            np.ascontiguousarray(y[:, 2], dtype=np.float32),
        )
