"""Join the outputs of ``--shard 1/N … N/N`` runs into the output of one unsharded run.

Shard outputs hold contiguous, ordered parts of the work (see :mod:`rnatools.sharding`), so
joining is concatenation with the header written once:

* VCF: the shards' headers must be equal (lines starting with ``##rnatools`` aside); text VCF
  records are copied as bytes, never re-parsed. A ``.vcf.gz`` output is BGZF with the header in
  its own block and no record split across blocks — what htslib writes — so it is byte-identical
  to the unsharded run's ``.vcf.gz``; it is then indexed (tbi or csi). BCF inputs or a ``.bcf``
  output go through htslib records.
* TSV (``chrom start end strand acceptor donor`` from ``rnatools predict``, or any table whose
  first line is a header): the first lines must be equal and appear once. (A ``.tsv.gz`` output
  holds the same table; its gzip bytes can differ from an unsharded run's, because a deflate
  stream depends on how the writes were split.)
* bedGraph: lines concatenated (a leading ``track`` line kept once); a run of equal values that
  a shard boundary cut in two (last line of one shard, first of the next: same contig, adjacent,
  same printed value) becomes one line again. A name that is not a file but the
  ``PREFIX.bedgraph`` of a ``predict`` run stands for its files ``PREFIX.acceptor.plus.bedgraph``
  …, joined file by file.
* TSV or bedGraph → bigWig: the values (contiguous nucleotides grouped) written through
  :func:`rnatools.io.tracks.open_track_writer`, so the files and names are those of
  ``rnatools predict -o PREFIX.bw`` (values are the shards' printed decimals).

Every output appears complete or not at all (temporary file + rename). This module does not
import torch.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Literal

import numpy as np

from rnatools.errors import InputError, UsageError
from rnatools.io.atomic import atomic_output
from rnatools.io.vcf import BGZF_BLOCK_SIZE, BgzfLineWriter, IndexKind, check_index, publish_vcf

log = logging.getLogger("rnatools.io.merge")

InputKind = Literal["vcf", "bcf", "tsv", "bedgraph"]
IndexChoice = Literal["auto", "tbi", "csi", "none"]


_IGNORED_HEADER_PREFIX = b"##rnatools"
_COPY_CHUNK = 1 << 20


def input_kind(path: str | Path) -> InputKind:
    """Kind of a shard output from its name.

    Raises:
        UsageError: an extension that names none of VCF, BCF, TSV, bedGraph.
    """
    name = str(path).lower()
    for kind, suffixes in (
        ("vcf", (".vcf", ".vcf.gz", ".vcf.bgz")),
        ("bcf", (".bcf",)),
        ("tsv", (".tsv", ".tsv.gz", ".txt", ".txt.gz")),
        ("bedgraph", (".bedgraph", ".bedgraph.gz", ".bg", ".bg.gz")),
    ):
        if name.endswith(suffixes):
            return kind  # type: ignore[return-value]
    raise UsageError(
        f"{path}: unknown shard format; expected .vcf(.gz), .bcf, .tsv(.gz) or .bedgraph(.gz)"
    )


def _open_binary(path: Path) -> IO[bytes]:
    """Plain, gzip or BGZF file as bytes (BGZF is multi-member gzip)."""
    if not path.is_file():
        raise InputError("shard output not found", path)
    with open(path, "rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _lines_with_newline(handle: IO[bytes]) -> Iterator[bytes]:
    for line in handle:
        yield line if line.endswith(b"\n") else line + b"\n"


# ---------------------------------------------------------------------------------------------
# VCF


def _read_vcf_header(handle: IO[bytes], path: Path) -> list[bytes]:
    header: list[bytes] = []
    for number, line in enumerate(handle, start=1):
        if not line.startswith(b"#"):
            raise InputError("expected a VCF header ending with a #CHROM line", path, number)
        header.append(line if line.endswith(b"\n") else line + b"\n")
        if line.startswith(b"#CHROM"):
            return header
    raise InputError("expected a VCF header ending with a #CHROM line (empty file?)", path)


def _check_same_header(first: list[bytes], other: list[bytes], path: Path) -> None:
    def kept(lines: list[bytes]) -> list[bytes]:
        return [line for line in lines if not line.startswith(_IGNORED_HEADER_PREFIX)]

    if kept(first) == kept(other):
        return
    for number, (a, b) in enumerate(zip(kept(first), kept(other), strict=False), start=1):
        if a != b:
            theirs = b.decode(errors="replace").rstrip()
            ours = a.decode(errors="replace").rstrip()
            raise InputError(
                f"header differs from the first shard's at header line {number}: {theirs!r} vs "
                f"{ours!r} (shards of one run have equal headers)",
                path,
            )
    raise InputError("header differs from the first shard's (different number of lines)", path)


def _resolve_index(output: str, index: IndexChoice) -> IndexKind | None:
    name = output.lower()
    if index == "auto":
        compressed = name.endswith((".gz", ".bgz"))
        return "tbi" if compressed else "csi" if name.endswith(".bcf") else None
    if index == "none":
        return None
    check_index(output, index)
    return index


def merge_vcfs(inputs: Sequence[str | Path], output: str, index: IndexChoice = "auto") -> int:
    """Concatenate shard VCFs (header once) into ``output``; returns the number of records.

    Args:
        inputs: shard outputs in shard order (``.vcf``, ``.vcf.gz``; ``.bcf`` through htslib).
        output: ``.vcf``, ``.vcf.gz`` (BGZF), ``.bcf`` or ``-`` (text on stdout).
        index: ``auto`` (tbi for ``.vcf.gz``, csi for ``.bcf``, none otherwise), ``tbi``,
            ``csi`` or ``none``.

    Raises:
        InputError: a missing input, a file without a VCF header, headers that differ.
        UsageError: an index for an output that cannot carry one; no inputs.
    """
    if not inputs:
        raise UsageError("no shard outputs to merge")
    paths = [Path(p) for p in inputs]
    chosen_index = _resolve_index(output, index)
    if output.lower().endswith(".bcf") or any(input_kind(p) == "bcf" for p in paths):
        return _merge_vcfs_htslib(paths, output, chosen_index)
    compressed = output.lower().endswith((".gz", ".bgz"))
    if not compressed:
        with atomic_output(output, "wb", compress=False) as sink:
            return _copy_vcfs(paths, sink.write, sink.write)
    folder = Path(output).parent
    if not folder.is_dir():
        raise InputError("output folder does not exist", folder)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{Path(output).name}.", suffix=".tmp.vcf.gz", dir=folder
    )
    os.close(descriptor)
    try:
        writer = BgzfLineWriter(temporary)
        try:
            records = _copy_vcfs(paths, writer.write_header, writer.write_line)
        finally:
            writer.close()
        publish_vcf(temporary, output, chosen_index)
    except BaseException:
        for leftover in (temporary, f"{temporary}.tbi", f"{temporary}.csi"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)
        raise
    return records


def _copy_vcfs(paths: list[Path], write_header, write_line) -> int:
    first_header: list[bytes] | None = None
    records = 0
    for path in paths:
        with _open_binary(path) as handle:
            header = _read_vcf_header(handle, path)
            if first_header is None:
                first_header = header
                write_header(b"".join(header))
            else:
                _check_same_header(first_header, header, path)
            for line in _lines_with_newline(handle):
                write_line(line)
                records += 1
        log.debug("%s: %d records so far", path, records)
    return records


def _merge_vcfs_htslib(paths: list[Path], output: str, index: IndexKind | None) -> int:
    from rnatools.io.vcf import VcfWriter, open_vcf  # noqa: I001

    first = open_vcf(paths[0])
    first_header = str(first.header).encode().splitlines(keepends=True)
    records = 0
    with first, VcfWriter(output, first.header, index) as writer:
        for number, path in enumerate(paths):
            vcf = first if number == 0 else open_vcf(path)
            with contextlib.ExitStack() as stack:
                if number:
                    stack.enter_context(vcf)
                    header = str(vcf.header).encode().splitlines(keepends=True)
                    _check_same_header(first_header, header, path)
                for record in vcf:
                    if number:
                        record.translate(first.header)
                    writer.write(record)
                    records += 1
    return records


# ---------------------------------------------------------------------------------------------
# Tables and bedGraph


def merge_tables(inputs: Sequence[str | Path], output: str) -> int:
    """Concatenate tables whose first line is the same header; returns the data lines written.

    An empty (0-byte) input is an empty shard. ``output`` ending in ``.gz`` is gzip-compressed.

    Raises:
        InputError: a missing input or a header that differs from the first input's.
    """
    if not inputs:
        raise UsageError("no shard outputs to merge")
    header: bytes | None = None
    rows = 0
    with atomic_output(output, "wb") as sink:
        for path in map(Path, inputs):
            with _open_binary(path) as handle:
                first_line = handle.readline()
                if not first_line:
                    log.info("%s is empty (an empty shard)", path)
                    continue
                first_line = first_line if first_line.endswith(b"\n") else first_line + b"\n"
                if header is None:
                    header = first_line
                    sink.write(header)
                elif first_line != header:
                    raise InputError(
                        f"header {first_line.decode(errors='replace').rstrip()!r} differs from "
                        f"the first shard's {header.decode(errors='replace').rstrip()!r}",
                        path,
                        1,
                    )
                for line in _lines_with_newline(handle):
                    sink.write(line)
                    rows += 1
    return rows


def _join_at_seam(last: bytes, first: bytes) -> bytes | None:
    """One line for two bedGraph lines that continue each other (same contig, adjacent, same
    printed value): a run that a shard boundary cut in two."""
    previous, following = last.rstrip(b"\r\n").split(b"\t"), first.rstrip(b"\r\n").split(b"\t")
    if len(previous) != 4 or len(following) != 4:
        return None
    if previous[0] != following[0] or previous[2] != following[1] or previous[3] != following[3]:
        return None
    return b"\t".join((previous[0], previous[1], following[2], previous[3])) + b"\n"


def _concatenate_bedgraphs(paths: list[Path], output: str | Path) -> int:
    lines = 0
    track_line: bytes | None = None
    pending: bytes | None = None  # the last data line, held back to join a run cut at a seam
    with atomic_output(output, "wb") as sink:
        for path in paths:
            first_of_file = True
            with _open_binary(path) as handle:
                for line in _lines_with_newline(handle):
                    if line.startswith(b"track"):
                        if track_line is None:
                            track_line = line
                            sink.write(line)
                        continue
                    if pending is not None:
                        joined = _join_at_seam(pending, line) if first_of_file else None
                        if joined is not None:
                            pending = joined
                            first_of_file = False
                            continue
                        sink.write(pending)
                        lines += 1
                    pending = line
                    first_of_file = False
        if pending is not None:
            sink.write(pending)
            lines += 1
    return lines


def merge_bedgraphs(inputs: Sequence[str | Path], output: str) -> int:
    """Concatenate bedGraph shards (or the per-channel file sets of ``predict -o PREFIX.bedgraph``
    runs, given by that name); returns the data lines written.

    Raises:
        InputError: an input that is neither a file nor a prefix with any track file.
    """
    from rnatools.io.tracks import track_paths

    if not inputs:
        raise UsageError("no shard outputs to merge")
    paths = [Path(p) for p in inputs]
    if all(p.is_file() for p in paths):
        return _concatenate_bedgraphs(paths, output)
    if output == "-":
        raise UsageError("-o -: a set of bedGraph files cannot go to stdout; give PREFIX.bedgraph")
    sets = [track_paths(p, ("+", "-")) for p in paths]
    for path, files in zip(paths, sets, strict=True):
        if not any(f.is_file() for f in files):
            raise InputError(
                "neither a file nor the prefix of predict's bedGraph files "
                f"({', '.join(f.name for f in files)})",
                path,
            )
    destinations = track_paths(output, ("+", "-"))
    lines = 0
    for position, destination in enumerate(destinations):
        present = [files[position] for files in sets if files[position].is_file()]
        if present:
            lines += _concatenate_bedgraphs(present, destination)
    return lines


# ---------------------------------------------------------------------------------------------
# TSV -> bigWig


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """``chrom<TAB>length`` lines (UCSC chrom.sizes, or a FASTA ``.fai``: first two columns).

    Raises:
        InputError: a missing file or a line without a non-negative integer length.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("chrom sizes file not found", path)
    sizes: dict[str, int] = {}
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) < 2 or not fields[1].isdigit():
                raise InputError("expected 'chrom<TAB>length' (length in nt)", path, number)
            sizes[fields[0]] = int(fields[1])
    if not sizes:
        raise InputError("no contigs in the chrom sizes file", path)
    return sizes


_TRACK_COLUMNS = ["chrom", "start", "end", "strand", "acceptor", "donor"]


def _track_rows(paths: list[Path]) -> Iterator[tuple[Path, int, list[str]]]:
    for path in paths:
        with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8") as handle:
            header = handle.readline()
            if not header:
                continue
            if header.rstrip("\r\n").split("\t") != _TRACK_COLUMNS:
                raise InputError(
                    f"expected the header {' '.join(_TRACK_COLUMNS)} of rnatools predict", path, 1
                )
            for number, line in enumerate(handle, start=2):
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != 6:
                    raise InputError("expected 6 tab-separated columns", path, number)
                yield path, number, fields


def tables_to_bigwig(inputs: Sequence[str | Path], output: str, chrom_sizes: dict[str, int]) -> int:
    """Write the rows of predict TSV shards as bigWig files (``PREFIX.acceptor.plus.bw`` …).

    Rows of one contig and strand at consecutive positions are written together. Returns the
    number of rows.

    Raises:
        InputError: a table that is not predict's, a contig missing from ``chrom_sizes``.
        TrackOrderError: rows of one strand unsorted or overlapping (bigWig needs them sorted).
    """
    from rnatools.io.tracks import open_track_writer

    paths = [Path(p) for p in inputs]
    strands: set[str] = set()
    for path, number, fields in _track_rows(paths):
        if fields[3] not in ("+", "-"):
            raise InputError(f"expected strand + or - in column 4, got {fields[3]!r}", path, number)
        strands.add(fields[3])
    if not strands:
        raise InputError("no rows in the tables; nothing to write as bigWig", paths[0])
    rows = 0
    with open_track_writer(output, chrom_sizes, [s for s in ("+", "-") if s in strands]) as writer:
        run: list[list[str]] = []

        def flush() -> None:
            if not run:
                return
            acceptor = np.array([float(r[4]) for r in run], dtype=np.float32)
            donor = np.array([float(r[5]) for r in run], dtype=np.float32)
            writer.write(run[0][0], int(run[0][1]), run[0][3], acceptor, donor)
            run.clear()

        for path, number, fields in _track_rows(paths):
            if fields[0] not in chrom_sizes:
                raise InputError(f"contig {fields[0]!r} is not in the chrom sizes", path, number)
            if run:
                last = run[-1]
                if (fields[0], fields[3], fields[1]) != (last[0], last[3], last[2]):
                    flush()
            run.append(fields)
            rows += 1
            if len(run) >= 1_000_000:
                flush()
        flush()
    return rows


def _bedgraph_runs(paths: list[Path]) -> Iterator[tuple[str, int, int, float, Path, int]]:
    """``(chrom, start, end, value, path, line)`` of bedGraph files in turn (track lines
    skipped)."""
    for path in paths:
        with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith(("track", "#", "browser")) or not line.strip():
                    continue
                fields = line.split()
                try:
                    yield fields[0], int(fields[1]), int(fields[2]), float(fields[3]), path, number
                except (IndexError, ValueError):
                    raise InputError(
                        "expected 'chrom start end value' (bedGraph)", path, number
                    ) from None


class _SpanBuffer:
    """Collects adjacent nucleotides' values of one strand; hands them to the writer in one
    call per contiguous span (at most ``limit`` nt)."""

    def __init__(self, writer, strand: str, limit: int = 1 << 20):
        self._writer, self._strand, self._limit = writer, strand, limit
        self._chrom: str | None = None
        self._start = self._end = 0
        self._acceptor: list[np.ndarray] = []
        self._donor: list[np.ndarray] = []

    def add(self, chrom: str, start: int, end: int, acceptor: float, donor: float) -> None:
        if self._acceptor and (chrom != self._chrom or start != self._end):
            self.flush()
        if not self._acceptor:
            self._chrom, self._start = chrom, start
        self._acceptor.append(np.full(end - start, acceptor, dtype=np.float32))
        self._donor.append(np.full(end - start, donor, dtype=np.float32))
        self._end = end
        if self._end - self._start >= self._limit:
            self.flush()

    def flush(self) -> None:
        if not self._acceptor:
            return
        self._writer.write(
            self._chrom,
            self._start,
            self._strand,
            np.concatenate(self._acceptor),
            np.concatenate(self._donor),
        )
        self._acceptor, self._donor = [], []


def bedgraphs_to_bigwig(
    inputs: Sequence[str | Path], output: str, chrom_sizes: dict[str, int]
) -> int:
    """Write the bedGraph file sets of ``predict -o PREFIX.bedgraph`` shards (given by their
    ``PREFIX.bedgraph`` names, in shard order) as bigWig files ``PREFIX.acceptor.plus.bw`` ….

    The acceptor and donor files of a strand cover the same nucleotides (predict writes both at
    every kept position); their runs are walked together. Returns the number of nucleotides
    written (both strands).

    Raises:
        InputError: an input with none of predict's bedGraph files, a malformed line, acceptor
            and donor files that cover different nucleotides, a contig missing from
            ``chrom_sizes``.
        TrackOrderError: entries of one strand unsorted or overlapping.
    """
    from rnatools.io.tracks import STRAND_NAMES, open_track_writer, track_paths

    sets = [track_paths(p, ("+", "-")) for p in inputs]  # acceptor+, donor+, acceptor-, donor-
    for path, files in zip(inputs, sets, strict=True):
        if not any(f.is_file() for f in files):
            raise InputError(
                "not the PREFIX.bedgraph name of predict's bedGraph files "
                f"({', '.join(f.name for f in files)})",
                path,
            )
    offsets = {"+": 0, "-": 2}
    strands = [s for s in ("+", "-") if any(f[offsets[s]].is_file() for f in sets)]
    written = 0
    with open_track_writer(output, chrom_sizes, strands) as writer:
        for strand in strands:
            acceptor_files = [f[offsets[strand]] for f in sets if f[offsets[strand]].is_file()]
            donor_files = [f[offsets[strand] + 1] for f in sets if f[offsets[strand] + 1].is_file()]
            buffer = _SpanBuffer(writer, strand)
            acceptor_runs = _bedgraph_runs(acceptor_files)
            donor_runs = _bedgraph_runs(donor_files)
            a = next(acceptor_runs, None)
            d = next(donor_runs, None)
            while a is not None and d is not None:
                if a[0] != d[0] or a[1] != d[1]:
                    raise InputError(
                        f"acceptor and donor bedGraph files of strand {STRAND_NAMES[strand]} "
                        f"cover different nucleotides ({a[0]}:{a[1]} vs {d[0]}:{d[1]})",
                        a[4],
                        a[5],
                    )
                if a[0] not in chrom_sizes:
                    raise InputError(f"contig {a[0]!r} is not in the chrom sizes", a[4], a[5])
                end = min(a[2], d[2])
                buffer.add(a[0], a[1], end, a[3], d[3])
                written += end - a[1]
                a = next(acceptor_runs, None) if a[2] == end else (*a[:1], end, *a[2:])
                d = next(donor_runs, None) if d[2] == end else (*d[:1], end, *d[2:])
            if a is not None or d is not None:
                left = a if a is not None else d
                raise InputError(
                    f"acceptor and donor bedGraph files of strand {STRAND_NAMES[strand]} cover "
                    "different nucleotides (one ends first)",
                    left[4],  # type: ignore[index]
                    left[5],  # type: ignore[index]
                )
            buffer.flush()
    return written


__all__ = [
    "BGZF_BLOCK_SIZE",
    "bedgraphs_to_bigwig",
    "IndexChoice",
    "InputKind",
    "input_kind",
    "merge_bedgraphs",
    "merge_tables",
    "merge_vcfs",
    "read_chrom_sizes",
    "tables_to_bigwig",
]
