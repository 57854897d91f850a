"""Per-nucleotide splice-site probabilities over genomic intervals or plain sequences.

Works with any :class:`~rnatools.models.base.SpliceModel` (SpliceAI and its peers):
:func:`predict_splice_sites` gives acceptor and donor tracks, :func:`predict_tracks` any channels
(Pangolin's per-tissue P(splice) and usage, :func:`track_channels`). Every output
nucleotide sees the model's full context (``model.context`` nt per side; 5,000 for SpliceAI):
real genomic flanks where the reference has them, ``N`` past contig ends (and ``N`` around a
plain sequence, SpliceAI's recipe for custom sequences). Long intervals are cut into chunks of
``chunk_size`` output nt, each cut with its own flanks (:func:`rnatools.windows.window_sequence`),
and batched by the engine; because the model's receptive field is exactly its context the
probabilities do not depend on the chunk or batch size (``docs/spliceai-scoring.md``).

Minus-strand intervals are predicted on the reverse complement and the outputs are reversed, so
rows are always in genome order (position ``start + i``).

Coordinates are 0-based half-open throughout (:class:`rnatools.genome.Interval`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rnatools.engine import Engine
from rnatools.errors import InputError, UsageError
from rnatools.genome import ContigMap, Interval
from rnatools.models.base import SpliceModel
from rnatools.sequence import one_hot
from rnatools.windows import SequenceSource, window_sequence

StrandMode = Literal["auto", "+", "-", "both"]
DEFAULT_CHUNK_SIZE = 20_000  # nt of output per model input; see benchmarks/predict_throughput.py


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


@dataclass(frozen=True)
class ChannelTrack:
    """Output channels of a model for the nucleotides ``[start, end)`` of ``chrom`` on
    ``strand``, genome order.

    Attributes:
        values: ``(end - start, len(channels))`` float32, column ``j`` = channel ``channels[j]``.
        channels: names of the columns (e.g. Pangolin's ``heart_psplice`` … ``max_psplice``).
    """

    chrom: str
    start: int
    end: int
    strand: Literal["+", "-"]
    values: np.ndarray
    channels: tuple[str, ...]


SPLICE_SITE_CHANNELS = ("acceptor", "donor")


def track_channels(model: SpliceModel) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The channels ``predict`` writes for ``model``: ``(names, model channel indices)``.

    ``("acceptor", "donor")`` for a model with acceptor and donor channels (SpliceAI,
    OpenSpliceAI); otherwise every channel of the model, under its own name (Pangolin: per tissue
    ``<tissue>_psplice`` and ``<tissue>_usage``, then ``max_psplice``).
    """
    if model.acceptor_channel is not None and model.donor_channel is not None:
        return SPLICE_SITE_CHANNELS, (model.acceptor_channel, model.donor_channel)
    return tuple(model.channels), tuple(range(len(model.channels)))


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
    raise UsageError(f"strand must be auto, +, - or both, got {mode!r}", parameter="strand")


def check_interval(source: SequenceSource, interval: Interval) -> Interval:
    """``interval`` with its contig spelled as in ``source``.

    Raises:
        ContigNotFoundError: unknown contig.
        InputError: the interval is empty or runs past the contig end.
    """
    chrom = source.resolve(interval.chrom)
    length = source.lengths[chrom]
    if interval.end > length:
        raise InputError(f"interval {interval} ends past the end of contig {chrom} ({length} nt)")
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


def _window(
    source: SequenceSource, chrom: str, start: int, width: int, strand: str, context: int
) -> np.ndarray:
    """``(width + 2·context, 4)`` one-hot input for outputs ``[start, start + width)``."""
    interval = Interval(chrom, start, start + width, strand)  # type: ignore[arg-type]
    return one_hot(window_sequence(source, interval, flank=context))


def predict_tracks(
    model: SpliceModel,
    source: SequenceSource,
    intervals: Iterable[Interval],
    *,
    engine: Engine,
    channels: Sequence[int] | None = None,
    batch_size: int = 8,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
) -> Iterator[ChannelTrack]:
    """Output channels of ``model`` for every nucleotide of every interval.

    Args:
        model: a splice-site model (``(batch, L + 2·context, 4)`` → ``(batch, L, channels)``).
        source: the reference (a :class:`~rnatools.io.fasta.Fasta`) or
            :class:`InMemorySequences`.
        intervals: stranded ('+'/'-') intervals, contigs as spelled in ``source``.
        engine: runs the model (device, precision, batching, transfers).
        channels: model channel indices to keep, in this order; None = :func:`track_channels`.
        batch_size: model inputs per call.
        chunk_size: at most this many output nt per model input (each input is ``width +
            2·context`` nt; an interval's chunks share one width so that they batch together).
        on_chunk: called with the number of nt of each finished chunk (progress).

    Yields:
        One :class:`ChannelTrack` per chunk, in input order, chunks of an interval in genome
        order (concatenate them to get the interval's track).

    Raises:
        UsageError: ``chunk_size`` < 1, or an unstranded interval.
    """
    if chunk_size < 1:
        raise UsageError(f"chunk size must be >= 1, got {chunk_size}", parameter="chunk_size")
    if channels is None:
        names, channels = track_channels(model)
    else:
        names = tuple(model.channels[c] for c in channels)
    keep = list(channels)

    def inputs() -> Iterator[tuple[tuple[Interval, int, int], np.ndarray]]:
        for interval in intervals:
            if interval.strand not in ("+", "-"):
                raise UsageError(f"interval {interval} has no strand; expand it first")
            width = _chunk_width(interval.length, chunk_size)
            for chunk_start, kept in _chunks(interval, chunk_size):
                yield (
                    (interval, chunk_start, kept),
                    _window(
                        source, interval.chrom, chunk_start, width, interval.strand, model.context
                    ),
                )

    outputs = engine.map(model.forward, inputs(), batch_size=batch_size)
    for (interval, chunk_start, kept), y in outputs:
        if interval.strand == "-":
            y = y[::-1]
        y = y[:kept]
        if on_chunk is not None:
            on_chunk(kept)
        yield ChannelTrack(
            interval.chrom,
            chunk_start,
            chunk_start + kept,
            interval.strand,
            np.ascontiguousarray(y[:, keep], dtype=np.float32),
            names,
        )


def predict_splice_sites(
    model: SpliceModel,
    source: SequenceSource,
    intervals: Iterable[Interval],
    *,
    engine: Engine,
    batch_size: int = 8,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
) -> Iterator[SpliceSiteTrack]:
    """Acceptor and donor probabilities for every nucleotide of every interval.

    Args:
        model: a splice-site model (``(batch, L + 2·context, 4)`` → ``(batch, L, channels)``
            with acceptor and donor channels), e.g. ``load_model("spliceai", engine=engine)``.
        source: the reference (a :class:`~rnatools.io.fasta.Fasta`) or
            :class:`InMemorySequences`.
        intervals: stranded ('+'/'-') intervals, contigs as spelled in ``source`` (see
            :func:`expand_strands`, :func:`check_interval`).
        engine: runs the model (device, precision, batching, transfers).
        batch_size: model inputs per call.
        chunk_size: at most this many output nt per model input (each input is ``width +
            2·context`` nt; an interval's chunks share one width so that they batch together).
        on_chunk: called with the number of nt of each finished chunk (progress).

    Yields:
        One :class:`SpliceSiteTrack` per chunk, in input order, chunks of an interval in genome
        order (concatenate them to get the interval's track).

    Raises:
        UsageError: ``chunk_size`` or ``batch_size`` < 1, or an unstranded interval.
        ValueError: a model without acceptor and donor channels (use :func:`predict_tracks`).
    """
    acceptor, donor = model.splice_site_channels
    for track in predict_tracks(
        model,
        source,
        intervals,
        engine=engine,
        channels=(acceptor, donor),
        batch_size=batch_size,
        chunk_size=chunk_size,
        on_chunk=on_chunk,
    ):
        yield SpliceSiteTrack(
            track.chrom,
            track.start,
            track.end,
            track.strand,
            np.ascontiguousarray(track.values[:, 0]),
            np.ascontiguousarray(track.values[:, 1]),
        )
