"""Genomic intervals and contig names: the one region parser and the one interval merge.

Intervals are 0-based half-open (``start`` included, ``end`` excluded), like BED and Python slices.
1-based coordinates (VCF ``POS``, GTF columns, ``chrom:start-end`` region texts) are converted
once, where they are read, into variables named ``start0``/``pos0``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rnatools.errors import ContigNotFoundError, UsageError

Strand = Literal["+", "-", "."]


@dataclass(frozen=True, slots=True)
class Interval:
    """A 0-based half-open genomic interval ``[start, end)`` on ``strand`` ('.' = unstranded)."""

    chrom: str
    start: int
    end: int
    strand: Strand = "."
    name: str | None = None

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid interval {self.chrom}:{self.start}-{self.end}")
        if self.strand not in ("+", "-", "."):
            raise ValueError(f"strand must be '+', '-' or '.', got {self.strand!r}")

    @property
    def length(self) -> int:
        """Length in nt."""
        return self.end - self.start

    def with_strand(self, strand: Strand) -> Interval:
        return Interval(self.chrom, self.start, self.end, strand, self.name)

    def __str__(self) -> str:
        strand = "" if self.strand == "." else f"({self.strand})"
        return f"{self.chrom}:{self.start}-{self.end}{strand}"


def _base_name(name: str) -> str:
    """Name without a ``chr`` prefix, with the mitochondrion spelled ``MT``."""
    base = name[3:] if name.lower().startswith("chr") else name
    return "MT" if base.upper() in ("M", "MT") else base


def contig_candidates(name: str) -> list[str]:
    """Spellings of a contig name to try, best first: itself, then with/without ``chr``, M/MT."""
    base = _base_name(name)
    spellings = [name, base, "chr" + base]
    if base == "MT":
        spellings += ["chrM", "M", "chrMT"]
    seen: list[str] = []
    for s in spellings:
        if s not in seen:
            seen.append(s)
    return seen


def match_contig(name: str, available: Iterable[str], path: str | None = None) -> str:
    """The name under which ``available`` holds contig ``name``.

    The rule: the exact name wins; otherwise a ``chr`` prefix is added or removed (a real prefix,
    unlike SpliceAI 1.3.1's ``str.strip('chr')``), and ``M``/``MT``/``chrM``/``chrMT`` are one
    contig.

    Raises:
        ContigNotFoundError: no spelling matches; the message lists names that exist.
    """
    names = available if isinstance(available, (set, frozenset, dict)) else list(available)
    for candidate in contig_candidates(name):
        if candidate in names:
            return candidate
    raise ContigNotFoundError(name, list(names), path)


class ContigMap:
    """Caches :func:`match_contig` for one set of names (a FASTA's, an annotation's)."""

    def __init__(self, available: Iterable[str], path: str | None = None):
        self.names = list(available)
        self._set = set(self.names)
        self._cache: dict[str, str | None] = {}
        self.path = path

    def get(self, name: str) -> str | None:
        """The matching name, or None."""
        if name not in self._cache:
            try:
                self._cache[name] = match_contig(name, self._set)
            except ContigNotFoundError:
                self._cache[name] = None
        return self._cache[name]

    def __getitem__(self, name: str) -> str:
        found = self.get(name)
        if found is None:
            raise ContigNotFoundError(name, self.names, self.path)
        return found

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


_REGION = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,]+)-(?P<end>[\d,]+)$")


def parse_region(text: str, *, parameter: str = "region") -> Interval:
    """``chrom:start-end`` (1-based inclusive, as samtools; commas allowed) → 0-based Interval.

    Args:
        text: the region, e.g. ``chr17:43,044,295-43,125,483``.
        parameter: the settings field the text comes from, named by the error.

    Returns:
        Unstranded :class:`Interval` ``[start - 1, end)`` named ``text`` (stripped).

    Raises:
        UsageError: (``parameter``) not of the form ``chrom:start-end`` with
            ``1 <= start <= end``.
    """
    match = _REGION.match(text.strip())
    if match is None:
        raise UsageError(
            f"{text!r}: expected chrom:start-end (1-based inclusive)", parameter=parameter
        )
    start1 = int(match["start"].replace(",", ""))
    end1 = int(match["end"].replace(",", ""))
    if start1 < 1 or end1 < start1:
        raise UsageError(
            f"{text!r}: expected 1 <= start <= end (1-based inclusive)", parameter=parameter
        )
    return Interval(match["chrom"], start1 - 1, end1, ".", text.strip())


_STRAND_RANK = {"+": 0, "-": 1, ".": 2}


def merge_intervals(
    intervals: Iterable[Interval], contig_order: Sequence[str] = (), *, stranded: bool = False
) -> list[Interval]:
    """Intervals sorted, with overlapping or touching ones of the same contig merged.

    Order: contigs in ``contig_order``, then the others by first appearance; then start, end.
    Contig names are compared as spelled (resolve them first when spellings may differ).

    Args:
        intervals: any order.
        contig_order: contig names in the order wanted (a FASTA's, a VCF header's).
        stranded: merge only intervals of the same strand and sort by strand first (``+``,
            ``-``, ``.``): the order bigWig/bedGraph writers need (one file per strand, entries
            sorted within it); strands are kept, with the name of each run's first interval.
            Without it, strands are ignored and the result is unstranded and unnamed.

    Returns:
        Disjoint, non-touching intervals (per strand when ``stranded``), in that order.
    """
    rank: dict[str, int] = {name: i for i, name in enumerate(contig_order)}
    intervals = list(intervals)
    for interval in intervals:
        rank.setdefault(interval.chrom, len(rank))

    def key(iv: Interval) -> tuple[int, int, int, int]:
        return (_STRAND_RANK[iv.strand] if stranded else 0, rank[iv.chrom], iv.start, iv.end)

    merged: list[Interval] = []
    for iv in sorted(intervals, key=key):
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.chrom == iv.chrom
            and (not stranded or last.strand == iv.strand)
            and iv.start <= last.end
        ):
            if iv.end > last.end:
                merged[-1] = Interval(last.chrom, last.start, iv.end, last.strand, last.name)
        elif stranded:
            merged.append(iv)
        else:
            merged.append(Interval(iv.chrom, iv.start, iv.end))
    return merged
