"""Writers for per-nucleotide tracks: acceptor/donor tables, bedGraph and bigWig.

Every bigWig of rnatools is written here (:func:`open_bigwigs`, :func:`add_bigwig_values`):
the splice-site tracks of ``rnatools predict`` and the value tracks of ``rnatools ism``
(:func:`write_value_bigwigs`).

The format follows the output name:

- ``-`` (stdout), ``.tsv``, ``.tsv.gz``: one table, header
  ``chrom start end strand acceptor donor`` (``chrom start end strand <channel>…`` for a model
  with other channels, e.g. Pangolin's ``heart_psplice heart_usage … max_psplice``),
  one row per nucleotide and strand (0-based half-open ``start``/``end``), probabilities ``%.6f``.
- ``PREFIX.bedgraph`` / ``.bedgraph.gz`` / ``.bg`` / ``.bg.gz``: one bedGraph file per channel and
  strand, ``PREFIX.acceptor.plus.bedgraph``, ``PREFIX.donor.minus.bedgraph`` …; runs of
  nucleotides with equal printed values are merged into one line.
- ``PREFIX.bw`` / ``.bigwig``: one bigWig per channel and strand, ``PREFIX.acceptor.plus.bw`` …,
  float32 values at single-nucleotide resolution; contig sizes from the reference.

The channels are ``acceptor`` and ``donor`` unless the writer is given others (``channels``);
the file of a channel is ``PREFIX.<channel>.<plus|minus><suffix>``. With ``min_score``, only
nucleotides where some channel (the acceptor *or* the donor probability) of that strand reaches
it are written (a sparse output). All files of one output appear together at the end, by
atomic renames, or not at all.

bedGraph and bigWig need each file's entries sorted and non-overlapping: the caller writes them in
that order (``rnatools.scoring.splice_sites.merge_intervals``); :class:`TrackOrderError` otherwise.
This module does not import torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Literal, Protocol

import numpy as np

from rnatools.errors import RnatoolsError, UsageError
from rnatools.io.atomic import atomic_output, atomic_paths

TrackFormat = Literal["tsv", "bedgraph", "bigwig"]
CHANNELS = ("acceptor", "donor")
STRAND_NAMES = {"+": "plus", "-": "minus"}
TSV_HEADER = "chrom\tstart\tend\tstrand\tacceptor\tdonor\n"

_SUFFIXES: dict[TrackFormat, tuple[str, ...]] = {
    "tsv": (".tsv", ".tsv.gz", ".txt", ".txt.gz"),
    "bedgraph": (".bedgraph", ".bedgraph.gz", ".bg", ".bg.gz", ".bedGraph", ".bedGraph.gz"),
    "bigwig": (".bw", ".bigwig", ".bigWig"),
}


class TrackOrderError(RnatoolsError):
    """Entries given to a bedGraph/bigWig writer out of order or overlapping."""


class TrackWriter(Protocol):
    def write(self, chrom: str, start: int, strand: str, *values: np.ndarray) -> None:
        """Write nucleotides ``[start, start + len(values[0]))`` of ``chrom`` on ``strand``: one
        ``(length,)`` array per channel, in the writer's channel order (acceptor, donor)."""


def split_suffix(path: str | Path) -> tuple[TrackFormat, str, str]:
    """``(format, prefix, suffix)`` of an output name; ``-`` is TSV on stdout.

    Raises:
        UsageError: an extension that names no track format.
    """
    name = str(path)
    if name == "-":
        return "tsv", "-", ""
    lower = name.lower()
    for fmt, suffixes in _SUFFIXES.items():
        for suffix in sorted(suffixes, key=len, reverse=True):
            if lower.endswith(suffix.lower()):
                return fmt, name[: -len(suffix)], name[len(name) - len(suffix) :]
    raise UsageError(
        f"-o {name}: unknown output format; use .tsv, .tsv.gz, .bedgraph(.gz) or .bw/.bigwig"
    )


def track_paths(
    path: str | Path, strands: Sequence[str], channels: Sequence[str] = CHANNELS
) -> list[Path]:
    """Files written for ``path``: itself for TSV, one per channel and strand otherwise
    (``PREFIX.<channel>.<plus|minus><suffix>``, strands outer, channels inner)."""
    fmt, prefix, suffix = split_suffix(path)
    if fmt == "tsv":
        return [] if str(path) == "-" else [Path(path)]
    return [
        Path(f"{prefix}.{channel}.{STRAND_NAMES[strand]}{suffix}")
        for strand in strands
        for channel in channels
    ]


def tsv_header(channels: Sequence[str] = CHANNELS) -> str:
    """``chrom start end strand <channels>`` (tab-separated, with the newline)."""
    return "\t".join(("chrom", "start", "end", "strand", *channels)) + "\n"


def _keep(values: Sequence[np.ndarray], min_score: float | None) -> np.ndarray | None:
    """Where some channel reaches ``min_score`` (None: keep everything)."""
    if min_score is None:
        return None
    keep = values[0] >= min_score
    for channel_values in values[1:]:
        keep = keep | (channel_values >= min_score)
    return keep


def _check_values(values: Sequence[np.ndarray], channels: Sequence[str]) -> None:
    if len(values) != len(channels):
        raise ValueError(
            f"expected {len(channels)} channels ({', '.join(channels)}), got {len(values)}"
        )


class TsvTrackWriter:
    """One row per nucleotide: ``chrom start end strand acceptor donor`` (0-based half-open;
    one column per channel of ``channels``)."""

    def __init__(
        self,
        handle: IO[str],
        min_score: float | None = None,
        digits: int = 6,
        channels: Sequence[str] = CHANNELS,
    ):
        self._handle = handle
        self._min_score = min_score
        self._format = f"%.{digits}f"
        self._channels = tuple(channels)
        handle.write(tsv_header(self._channels))

    def write(self, chrom: str, start: int, strand: str, *values: np.ndarray) -> None:
        _check_values(values, self._channels)
        starts = np.arange(start, start + len(values[0]))
        keep = _keep(values, self._min_score)
        if keep is not None:
            starts, values = starts[keep], tuple(v[keep] for v in values)
        if len(starts) == 0:
            return
        fmt = self._format
        prefix = f"{chrom}\t"
        middle = f"\t{strand}\t"
        texts = [np.char.mod(fmt, v.astype(np.float64)) for v in values]
        tab = "\t"
        self._handle.write(
            "".join(
                f"{prefix}{s}\t{s + 1}{middle}{tab.join(row)}\n"
                for s, *row in zip(starts.tolist(), *texts, strict=True)
            )
        )


class _OrderCheck:
    """Entries of one file must come sorted by contig (first-seen order) and position."""

    def __init__(self) -> None:
        self._done: set[str] = set()
        self._chrom: str | None = None
        self._end = 0

    def check(self, chrom: str, start: int, end: int) -> None:
        if chrom != self._chrom:
            if chrom in self._done:
                raise TrackOrderError(f"track entries for {chrom} are not contiguous")
            if self._chrom is not None:
                self._done.add(self._chrom)
            self._chrom, self._end = chrom, 0
        if start < self._end:
            raise TrackOrderError(
                f"track entries overlap or are unsorted at {chrom}:{start} (bedGraph/bigWig need "
                "sorted, non-overlapping intervals; use TSV output for overlapping ones)"
            )
        self._end = end


class BedGraphTrackWriter:
    """One bedGraph per channel and strand; equal neighbouring printed values merged.

    The last run of each file is held back until the next ``write`` or :meth:`close`, so a run
    that spans two model chunks is one line: the output does not depend on ``--chunk-size``, and
    sharded outputs concatenate to the unsharded one.
    """

    def __init__(
        self,
        handles: dict[tuple[str, str], IO[str]],
        min_score: float | None = None,
        digits: int = 6,
        channels: Sequence[str] = CHANNELS,
    ):
        self._handles = handles  # (channel, strand) -> file
        self._channels = tuple(channels)
        self._min_score = min_score
        self._digits = digits
        self._order = {strand: _OrderCheck() for _, strand in handles}
        # (channel, strand) -> [chrom, start, end, printed value] of the run not yet written
        self._pending: dict[tuple[str, str], list] = {}

    def write(self, chrom: str, start: int, strand: str, *channel_values: np.ndarray) -> None:
        _check_values(channel_values, self._channels)
        length = len(channel_values[0])
        self._order[strand].check(chrom, start, start + length)
        positions = np.arange(start, start + length)
        keep = _keep(channel_values, self._min_score)
        for channel, values in zip(self._channels, channel_values, strict=True):
            key = (channel, strand)
            pos = positions if keep is None else positions[keep]
            vals = np.round(values.astype(np.float64), self._digits)
            vals = vals if keep is None else vals[keep]
            if len(pos) == 0:
                continue
            # A run continues while the next position is adjacent and the printed value is equal.
            breaks = np.flatnonzero((np.diff(pos) != 1) | (np.diff(vals) != 0)) + 1
            run_starts = np.concatenate(([0], breaks))
            run_ends = np.concatenate((breaks, [len(pos)]))
            texts = np.char.mod(f"%.{self._digits}f", vals[run_starts]).tolist()
            runs = [
                [chrom, s, e, v]
                for s, e, v in zip(
                    pos[run_starts].tolist(), (pos[run_ends - 1] + 1).tolist(), texts, strict=True
                )
            ]
            pending = self._pending.get(key)
            if pending is not None:
                first = runs[0]
                if pending[0] == chrom and pending[2] == first[1] and pending[3] == first[3]:
                    first[1] = pending[1]
                else:
                    runs.insert(0, pending)
            self._pending[key] = runs.pop()
            self._handles[key].write("".join(f"{c}\t{s}\t{e}\t{v}\n" for c, s, e, v in runs))

    def close(self) -> None:
        """Write the runs held back."""
        for key, (chrom, start, end, value) in self._pending.items():
            self._handles[key].write(f"{chrom}\t{start}\t{end}\t{value}\n")
        self._pending.clear()


class BigWigTrackWriter:
    """One bigWig per channel and strand (pyBigWig), float32 per nucleotide."""

    def __init__(
        self,
        files: dict[tuple[str, str], object],
        min_score: float | None = None,
        channels: Sequence[str] = CHANNELS,
    ):
        self._files = files
        self._channels = tuple(channels)
        self._min_score = min_score
        self._order = {strand: _OrderCheck() for _, strand in files}

    def write(self, chrom: str, start: int, strand: str, *channel_values: np.ndarray) -> None:
        _check_values(channel_values, self._channels)
        self._order[strand].check(chrom, start, start + len(channel_values[0]))
        keep = _keep(channel_values, self._min_score)
        for channel, values in zip(self._channels, channel_values, strict=True):
            bigwig = self._files[(channel, strand)]
            if keep is None:
                add_bigwig_values(bigwig, chrom, start, values)
                continue
            values = np.ascontiguousarray(values, dtype=np.float64)
            starts = np.flatnonzero(keep) + start
            if len(starts) == 0:
                continue
            bigwig.addEntries(
                [chrom] * len(starts),
                starts.astype(np.int64).tolist(),
                ends=(starts + 1).astype(np.int64).tolist(),
                values=values[keep].tolist(),
            )


@contextlib.contextmanager
def open_track_writer(
    path: str | Path,
    chrom_sizes: dict[str, int],
    strands: Sequence[str] = ("+", "-"),
    *,
    min_score: float | None = None,
    digits: int = 6,
    channels: Sequence[str] = CHANNELS,
) -> Iterator[TrackWriter]:
    """A writer for ``path`` (format from its extension, see the module docstring).

    Args:
        path: output name, ``-`` for TSV on stdout.
        chrom_sizes: contig → length in nt (bigWig header, in this order).
        strands: strands that will be written (one bedGraph/bigWig file per channel each).
        min_score: write only nucleotides where some channel (acceptor or donor) >= this.
        digits: decimals of printed probabilities (TSV, bedGraph).
        channels: names of the channels (TSV columns, file names), in the order ``write``
            takes them.

    Yields:
        An object with ``write(chrom, start, strand, *values)`` (``acceptor, donor`` by
        default).

    Raises:
        UsageError: unknown extension.
        TrackOrderError: bedGraph/bigWig entries unsorted or overlapping.
        OSError: the destination folder is missing or not writable.
    """
    fmt, _, _ = split_suffix(path)
    if fmt == "tsv":
        with atomic_output(path, "w") as handle:
            yield TsvTrackWriter(handle, min_score, digits, channels)
        return
    destinations = track_paths(path, strands, channels)
    keys = [(channel, strand) for strand in strands for channel in channels]
    if fmt == "bedgraph":
        with contextlib.ExitStack() as stack:
            handles = {
                key: stack.enter_context(atomic_output(destination, "w"))
                for key, destination in zip(keys, destinations, strict=True)
            }
            writer = BedGraphTrackWriter(handles, min_score, digits, channels)
            yield writer
            writer.close()
        return
    with open_bigwigs(destinations, chrom_sizes) as bigwigs:
        yield BigWigTrackWriter(dict(zip(keys, bigwigs, strict=True)), min_score, channels)


@contextlib.contextmanager
def open_bigwigs(
    destinations: Sequence[str | Path], chrom_sizes: dict[str, int]
) -> Iterator[list[object]]:
    """Open bigWig files for writing (pyBigWig), each with the header ``chrom_sizes``.

    Entries must then be added sorted by contig (header order) and position, without overlaps.
    The files appear at ``destinations`` together, when the block ends without an error, or
    not at all.

    Args:
        destinations: final paths.
        chrom_sizes: contig -> length in nt, in header order.

    Yields:
        One open pyBigWig writer per destination, in order (closed when the block ends).

    Raises:
        OSError: a destination folder is missing or not writable.
    """
    import pyBigWig

    header = [(name, int(size)) for name, size in chrom_sizes.items()]
    with atomic_paths(destinations) as temporaries:
        bigwigs: list[object] = []
        try:
            for temporary in temporaries:
                bigwig = pyBigWig.open(str(temporary), "w")
                if bigwig is None:
                    raise OSError(f"cannot write bigWig {temporary}")
                bigwigs.append(bigwig)
                bigwig.addHeader(header)
            yield bigwigs
        finally:
            for bigwig in bigwigs:
                bigwig.close()


def add_bigwig_values(bigwig, chrom: str, start: int, values: np.ndarray) -> None:
    """Add ``values[i]`` at nucleotide ``start + i`` of ``chrom`` (0-based), float32 in the file.

    Non-finite values (NaN, ±inf) get no entry: each run of finite values is one block of
    single-nucleotide entries.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if finite.all():
        bigwig.addEntries(chrom, int(start), values=values, span=1, step=1)
        return
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    for run_start, run_end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        bigwig.addEntries(
            chrom, int(start + run_start), values=values[run_start:run_end], span=1, step=1
        )


def write_value_bigwigs(
    tracks: dict[str | Path, np.ndarray], chrom_sizes: dict[str, int], chrom: str, start: int
) -> list[Path]:
    """One bigWig per track: value ``i`` of each at nucleotide ``start + i`` of ``chrom``.

    Args:
        tracks: destination path -> ``(length,)`` values (non-finite values get no entry).
        chrom_sizes: contig -> length in nt (header, in this order).
        chrom: contig of the values, as spelled in ``chrom_sizes``.
        start: 0-based position of the first value.

    Returns:
        The paths written (all together, atomically).

    Raises:
        OSError: a destination folder is missing or not writable.
    """
    destinations = [Path(path) for path in tracks]
    with open_bigwigs(destinations, chrom_sizes) as bigwigs:
        for bigwig, values in zip(bigwigs, tracks.values(), strict=True):
            add_bigwig_values(bigwig, chrom, start, values)
    return destinations
