"""Reference FASTA access: plain or bgzip-compressed, indexed with ``.fai`` (and ``.gzi``).

Coordinates are 0-based half-open (``start`` included, ``end`` excluded), like Python slices.
Sequences come back in upper case: soft-masked (lowercase) bases count as ordinary bases.
Contig names are matched with :class:`rnatools.genome.ContigMap` (``chr1`` ↔ ``1``,
``chrM`` ↔ ``MT``), so a GTF using ``chr17`` works with a FASTA using ``17``.
"""

from __future__ import annotations

import gzip
import logging
import os
import threading
from pathlib import Path
from types import TracebackType

import pysam

from rnatools.errors import ContigNotFoundError, InputError
from rnatools.genome import ContigMap

log = logging.getLogger("rnatools.io.fasta")

_GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _is_bgzip(path: Path) -> bool:
    """BGZF blocks are gzip members whose extra field holds the ``BC`` subfield."""
    with open(path, "rb") as handle:
        header = handle.read(18)
    return len(header) >= 14 and header[3] & 4 != 0 and header[12:14] == b"BC"


def _ensure_index(path: Path, build_index: bool) -> None:
    """Build ``.fai`` (and ``.gzi`` for bgzip) next to ``path`` when missing.

    Raises:
        InputError: a plain-gzip (not bgzip) file, a missing index that may not or cannot be built.
    """
    compressed = _is_gzip(path)
    if compressed and not _is_bgzip(path):
        raise InputError(
            "FASTA is gzip- but not bgzip-compressed; recompress it with `bgzip` "
            "(or decompress it) so that it can be indexed",
            path,
        )
    needed = [Path(f"{path}.fai")] + ([Path(f"{path}.gzi")] if compressed else [])
    missing = [index for index in needed if not index.exists()]
    if not missing:
        return
    names = ", ".join(index.name for index in missing)
    if not build_index:
        raise InputError(f"FASTA index {names} is missing; create it with `samtools faidx`", path)
    if not os.access(path.parent, os.W_OK):
        raise InputError(
            f"FASTA index {names} is missing and the folder is not writable; create it with "
            "`samtools faidx` or copy the FASTA into a writable folder",
            path,
        )
    log.info("building FASTA index for %s", path)
    try:
        pysam.faidx(str(path))
    except pysam.SamtoolsError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown error"
        raise InputError(f"could not index the FASTA ({detail})", path) from exc


class Fasta:
    """An indexed reference FASTA; use as a context manager. Safe to read from several threads.

    Args:
        path: FASTA file, plain or bgzip (``.fa``, ``.fa.gz``).
        build_index: build a missing ``.fai``/``.gzi`` next to the file (needs a writable folder).

    Attributes:
        path: the FASTA file.
        lengths: contig name (as spelled in the file) → length in nt.

    Raises:
        InputError: missing file, plain gzip instead of bgzip, missing index that cannot be built,
            or a file pysam cannot read as FASTA.
    """

    def __init__(self, path: str | Path, *, build_index: bool = True) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("FASTA file not found", self.path)
        _ensure_index(self.path, build_index)
        try:
            self._file = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read FASTA ({exc})", self.path) from exc
        self.lengths: dict[str, int] = dict(
            zip(self._file.references, self._file.lengths, strict=True)
        )
        self._contigs = ContigMap(self.lengths, str(self.path))
        # one htslib handle: reads from several threads (a pipeline preparing the next block
        # while a scorer reads for the current one) take turns
        self._lock = threading.Lock()

    # -- contig names -------------------------------------------------------------------------
    def resolve(self, chrom: str) -> str:
        """The FASTA's spelling of ``chrom`` (exact, then ``chr`` prefix added/removed, M/MT).

        Raises:
            ContigNotFoundError: no spelling matches; the message lists contigs that exist.
        """
        return self._contigs[chrom]

    def has(self, chrom: str) -> bool:
        """Whether ``chrom`` (under any accepted spelling) is a contig of this FASTA."""
        return chrom in self._contigs

    def length(self, chrom: str) -> int:
        """Length in nt of ``chrom`` (resolved). Raises ContigNotFoundError."""
        return self.lengths[self.resolve(chrom)]

    # -- sequences ----------------------------------------------------------------------------
    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Bases ``[start, end)`` (0-based half-open) of ``chrom``, upper case.

        Raises:
            ContigNotFoundError: unknown contig.
            InputError: ``start < 0``, ``end`` past the contig end, or ``end < start``.
        """
        name = self.resolve(chrom)
        length = self.lengths[name]
        if start < 0 or end > length or end < start:
            raise InputError(
                f"interval {name}:{start}-{end} (0-based half-open) is outside the contig "
                f"[0, {length})",
                self.path,
            )
        with self._lock:
            return self._file.fetch(name, start, end).upper()

    def fetch_padded(self, chrom: str, start: int, end: int) -> str:
        """Like :meth:`fetch`, but positions outside ``[0, length)`` become ``N``.

        ``start`` may be negative and ``end`` may exceed the contig length; the result always has
        ``end - start`` letters (one pysam fetch, padding by string concatenation).

        Raises:
            ContigNotFoundError: unknown contig.
            InputError: ``end < start``.
        """
        name = self.resolve(chrom)
        length = self.lengths[name]
        if end < start:
            raise InputError(f"interval {name}:{start}-{end} has end < start", self.path)
        inner_start = max(start, 0)
        inner_end = min(end, length)
        if inner_end <= inner_start:  # entirely outside the contig (or empty)
            return "N" * (end - start)
        with self._lock:
            inner = self._file.fetch(name, inner_start, inner_end).upper()
        if inner_start == start and inner_end == end:
            return inner
        return "N" * (inner_start - start) + inner + "N" * (end - inner_end)

    # -- lifetime -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the underlying file (idempotent)."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> Fasta:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Fasta({str(self.path)!r}, {len(self.lengths)} contigs)"


def read_fasta_records(path: str | Path) -> list[tuple[str, str]]:
    """All records of a small, possibly gzip-compressed FASTA as ``(name, SEQUENCE)`` pairs.

    The name is the header's first word; sequences are upper case. Meant for small inputs (test
    data, example construction); use :class:`Fasta` for references.

    Raises:
        InputError: sequence lines before the first header.
    """
    path = Path(path)
    opener = gzip.open if _is_gzip(path) else open
    records: list[tuple[str, str]] = []
    name: str | None = None
    chunks: list[str] = []
    with opener(path, "rt") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if name is not None:
                    records.append((name, "".join(chunks).upper()))
                fields = line[1:].split()
                name, chunks = (fields[0] if fields else ""), []
            elif line:
                if name is None:
                    raise InputError(
                        "expected a '>' header line before sequence", path, line_number
                    )
                chunks.append(line.strip())
    if name is not None:
        records.append((name, "".join(chunks).upper()))
    return records


__all__ = ["ContigNotFoundError", "Fasta", "read_fasta_records"]
