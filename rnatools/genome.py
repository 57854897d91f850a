"""Genomic intervals and contig names.

Intervals are 0-based half-open (``start`` included, ``end`` excluded), like BED and Python slices.
1-based coordinates (VCF ``POS``, GTF columns) are converted once, where they are read, into
variables named ``start0``/``pos0``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rnatools.errors import ContigNotFoundError

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
