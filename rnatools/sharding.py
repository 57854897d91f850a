"""Regions and shards: restrict a long-running command to part of its input, deterministically.

Two ideas, one rule each:

* **Regions** (settings ``regions``: ``chr:start-end`` texts; ``regions_file``: a BED) restrict
  the work to genomic ranges. Text regions are 1-based inclusive like samtools; BED files and
  everything inside rnatools are 0-based half-open. A VCF record belongs to a region when its
  first reference base (``POS``) lies inside it, so a record is never counted twice. A bgzipped
  VCF with a tabix/CSI index is read by region (htslib jumps to each region); any other input is
  scanned and filtered.
* **Shards** (setting ``shard``: ``I/N``, ``I`` 1-based) split the work into ``N`` contiguous
  parts of similar cost, so that **the shard outputs, concatenated in shard order, are the unsharded
  output** (headers once; ``rnatools merge`` does that). Every rule below keeps input order and
  hands out contiguous runs, which is what makes the concatenation exact for *any* input, sorted
  or not:

  - variants (:func:`variant_shard_range`): consecutive records with the same genomic block
    (contig, ``POS // block_nt``) form a run; a run is never split; a run goes to the shard
    whose even share ``[k * M / N, (k + 1) * M / N)`` of the ``M`` records holds its midpoint.
    A sorted VCF thus gets ``N`` genomic slices of about ``M / N`` records; an unsorted one still
    gets exact, contiguous parts (only less balanced when runs are long).
  - tracks (:func:`shard_intervals`): the intervals' nucleotides are cut into blocks of
    ``block_nt`` (the model's chunk size) starting at each interval's start, and a block goes to
    the shard whose even share of the ``T`` nt holds its midpoint. Each part is predicted with
    its own full 5,000-nt context per side; that the values then equal the unsharded run's rests
    on the model's output at a nucleotide not depending on how an interval is chunked, which
    ``rnatools predict`` relies on already (SpliceAI on CPU: bitwise, checked).
  - plain records (sequences for ``embed``/``mlm``/``ism``, :func:`shard_range`): shard ``k``
    (0-based) gets records ``[k * M // N, (k + 1) * M // N)``.

A shard that gets no work (e.g. a small VCF whose records all lie in one block) is logged as a
warning that names it; its outputs hold headers only.

Outputs are written atomically (a temporary file renamed at the end), so a workflow engine's own
rule — rerun a job whose output is missing — is the restart logic; there are no checkpoints.

This module does not import typer or rich: it raises :mod:`rnatools.errors` naming parameters
(``shard``, ``regions``, ``regions_file``, ``block_nt``, ``count``), never command-line flags.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rnatools.errors import InputError, UsageError
from rnatools.genome import ContigMap, Interval, merge_intervals, parse_region
from rnatools.io.bed import read_bed

if TYPE_CHECKING:  # pysam is imported only by the functions that read VCFs
    import pysam

    from rnatools.io.vcf import MalformedRecord

log = logging.getLogger("rnatools.sharding")

DEFAULT_VARIANT_BLOCK_NT = 100_000
"""Genomic block (nt) that variant sharding never splits: nearby variants stay together."""

_SHARD = re.compile(r"^\s*(?P<index>\d+)\s*/\s*(?P<count>\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Part ``index + 1`` of ``count`` (``index`` is 0-based; the text form ``I/N`` is 1-based)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise UsageError(
                f"{self.index + 1}/{self.count}: expected I/N with 1 <= I <= N", parameter="shard"
            )

    @property
    def number(self) -> int:
        """1-based shard number, as written on the command line."""
        return self.index + 1

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"


def parse_shard(text: str | Shard | None, *, parameter: str = "shard") -> Shard | None:
    """``"I/N"`` (1-based, ``1 <= I <= N``) → :class:`Shard`; ``None`` → ``None`` (no sharding);
    a :class:`Shard` is returned as it is.

    Raises:
        UsageError: (``parameter``) not of the form ``I/N`` with ``1 <= I <= N``.
    """
    if text is None or isinstance(text, Shard):
        return text
    match = _SHARD.match(text)
    index1, count = (int(match["index"]), int(match["count"])) if match else (0, 0)
    if count < 1 or not 1 <= index1 <= count:
        raise UsageError(f"{text!r}: expected I/N with 1 <= I <= N, e.g. 3/8", parameter=parameter)
    return Shard(index1 - 1, count)


def parse_regions(
    texts: Iterable[str] | None = None, regions_file: str | Path | None = None
) -> list[Interval] | None:
    """Regions from ``chrom:start-end`` texts (1-based inclusive) and/or a BED file (0-based).

    Returns:
        0-based half-open unstranded :class:`Interval` objects, texts first then the file's
        lines, in the order given; ``None`` when neither is given (no restriction).

    Raises:
        UsageError: (parameter ``regions``) a malformed region text.
        InputError: a missing or malformed BED file (file and line named), or one with no
            intervals.
    """
    texts = list(texts or [])
    if not texts and regions_file is None:
        return None
    regions = [parse_region(text, parameter="regions") for text in texts]
    if regions_file is not None:
        from_file = [
            Interval(iv.chrom, iv.start, iv.end, ".", iv.name) for iv in read_bed(regions_file)
        ]
        if not from_file:
            raise InputError("no regions in the file", regions_file)
        regions.extend(from_file)
    return regions


# ---------------------------------------------------------------------------------------------
# Pure rules (no I/O): which contiguous part of the work a shard gets.


def shard_range(total: int, shard: Shard | None) -> range:
    """Items ``[k * total // N, (k + 1) * total // N)`` for shard ``k`` (0-based) of ``N``.

    The ``N`` ranges are disjoint, contiguous, in order, cover ``range(total)`` and differ in
    length by at most one. ``shard=None`` gives ``range(total)``. An empty part is logged as a
    warning.
    """
    if shard is None:
        return range(total)
    part = range(shard.index * total // shard.count, (shard.index + 1) * total // shard.count)
    if not part:
        log.warning(
            "shard %s is empty: %d records for %d shards; its output holds no records",
            shard, total, shard.count,
        )  # fmt: skip
    return part


def run_lengths(keys: Iterable[Hashable | None]) -> list[int]:
    """Lengths of the runs of consecutive equal keys; a ``None`` key joins the current run."""
    lengths: list[int] = []
    current: Hashable | None = None
    for key in keys:
        if lengths and (key is None or key == current):
            lengths[-1] += 1
            continue
        lengths.append(1)
        if key is not None:
            current = key
    return lengths


def _owner(offset: int, length: int, total: int, count: int) -> int:
    """Shard of a unit ``[offset, offset + length)`` of ``total``: the one whose even share
    ``[k * total / count, (k + 1) * total / count)`` holds the unit's midpoint (integers only)."""
    if total <= 0:
        return 0
    return min(count - 1, count * (2 * offset + length) // (2 * total))


def split_runs(lengths: Sequence[int], count: int) -> list[range]:
    """Item ranges of ``count`` shards built from whole runs of ``lengths`` items, in order.

    Run ``j`` (items ``[s_j, s_j + n_j)`` of ``M``) goes to shard ``min(N - 1,
    N * (s_j + n_j / 2) // M)``: the shard whose even share ``[k * M / N, (k + 1) * M / N)``
    holds the run's midpoint. The ranges are contiguous, disjoint, in order and cover
    ``range(M)``; a shard may be empty when runs are long.
    """
    if count < 1:
        raise UsageError(f"shard count must be >= 1, got {count}", parameter="count")
    total = sum(lengths)
    bounds = [0] * (count + 1)  # bounds[k] = first item of shard k
    owner = 0
    offset = 0
    for length in lengths:
        shard = _owner(offset, length, total, count)
        while owner < shard:
            owner += 1
            bounds[owner] = offset
        offset += length
    for k in range(owner + 1, count + 1):
        bounds[k] = offset
    return [range(bounds[k], bounds[k + 1]) for k in range(count)]


def shard_intervals(
    intervals: Sequence[Interval], shard: Shard | None, block_nt: int
) -> list[Interval]:
    """The part of ``intervals`` (output nucleotides) that ``shard`` computes, in input order.

    Each interval is cut into blocks of ``block_nt`` from its start (the last one shorter).
    Block ``j`` goes to the shard whose even share of the ``T`` nt holds the block's midpoint
    (as in :func:`split_runs`); consecutive blocks of one interval are joined. Strand and name
    are kept.

    Logs a warning when ``shard`` gets no nucleotide (an empty shard).

    Raises:
        UsageError: (parameter ``block_nt``) ``block_nt < 1``.
    """
    if block_nt < 1:
        raise UsageError(f"block size must be >= 1 nt, got {block_nt}", parameter="block_nt")
    if shard is None:
        return list(intervals)
    total = sum(interval.length for interval in intervals)
    selected: list[Interval] = []
    offset = 0
    for interval in intervals:
        part_start: int | None = None
        part_end = interval.start
        for block_start in range(interval.start, interval.end, block_nt):
            block_end = min(block_start + block_nt, interval.end)
            owner = _owner(offset, block_end - block_start, total, shard.count)
            offset += block_end - block_start
            if owner != shard.index:
                continue
            if part_start is None:
                part_start = block_start
            part_end = block_end
        if part_start is not None:
            selected.append(
                Interval(interval.chrom, part_start, part_end, interval.strand, interval.name)
            )
    if not selected:
        log.warning(
            "shard %s is empty: none of the %s nt falls to it (blocks of %s nt are not split); "
            "its output holds no values",
            shard, f"{total:,}", f"{block_nt:,}",
        )  # fmt: skip
    return selected


def restrict_intervals(
    intervals: Iterable[Interval], regions: Sequence[Interval] | None
) -> list[Interval]:
    """``intervals`` clipped to ``regions`` (chr-prefix/MT spellings match), in input order.

    An interval overlapping several regions gives one piece per merged region, in genome order;
    strand and name are kept. ``regions=None`` keeps everything.
    """
    intervals = list(intervals)
    if regions is None:
        return intervals
    merged = merge_intervals(regions)
    contigs = ContigMap(iv.chrom for iv in merged)
    pieces: list[Interval] = []
    for interval in intervals:
        chrom = contigs.get(interval.chrom)
        for region in merged:
            if region.chrom != chrom:
                continue
            start, end = max(interval.start, region.start), min(interval.end, region.end)
            if start < end:
                pieces.append(Interval(interval.chrom, start, end, interval.strand, interval.name))
    return pieces


# ---------------------------------------------------------------------------------------------
# VCF records


def _record_in(record, regions: list[Interval], contigs: ContigMap) -> bool:
    chrom = contigs.get(record.chrom)
    if chrom is None:
        return False
    pos0 = record.pos - 1
    return any(r.chrom == chrom and r.start <= pos0 < r.end for r in regions)


def _check_region_contigs(regions: Sequence[Interval], names: Sequence[str], path) -> None:
    """Raise when a region names a contig the VCF does not have (header or index); a VCF that
    declares no contigs at all cannot be checked and is scanned as it is."""
    if not names:
        return
    known = ContigMap(names)
    absent = sorted({region.chrom for region in regions if known.get(region.chrom) is None})
    if absent:
        there = list(dict.fromkeys(names))
        shown = ", ".join(there[:8]) + (f" ... ({len(there)} in all)" if len(there) > 8 else "")
        raise UsageError(
            f"contig(s) {', '.join(absent)} not in {path}; its contigs are {shown}",
            parameter="regions",
        )


def region_records(
    vcf: pysam.VariantFile, path: str | Path, regions: Sequence[Interval] | None
) -> Iterator[pysam.VariantRecord | MalformedRecord]:
    """Records of ``vcf`` whose ``POS`` lies in ``regions`` (all records when ``None``).

    With an index (tabix or CSI) the merged regions are read in turn (sorted by the header's
    contig order, each record once); otherwise the file is scanned in input order and records
    htslib cannot parse are passed through (their position is unknown). For a sorted VCF both
    give the same records in the same order.

    Yields:
        ``pysam.VariantRecord`` or :class:`rnatools.io.vcf.MalformedRecord`.

    Raises:
        UsageError: (parameter ``regions``) a region on a contig that is neither declared in
            the header nor in the index (the message lists the contigs there).
    """
    from rnatools.io.vcf import MalformedRecord, iter_records

    if regions is None:
        yield from iter_records(vcf, path)
        return
    header_contigs = list(vcf.header.contigs)
    indexed = vcf.index is not None
    names = list(vcf.index.keys()) if indexed else header_contigs  # type: ignore[union-attr]
    known = ContigMap(names)
    _check_region_contigs(regions, [*header_contigs, *names], path)
    spelled: list[Interval] = []
    for region in regions:
        # Regions are spelled as in the VCF (chr prefix, MT rule) so that "chr1" and "1" merge.
        chrom = known.get(region.chrom) if names else region.chrom
        if chrom is None and indexed:
            log.info("no records on %s in %s (contig absent from the index)", region.chrom, path)
            continue
        spelled.append(Interval(chrom or region.chrom, region.start, region.end))
    merged = merge_intervals(spelled, header_contigs)
    if not indexed:
        contigs = ContigMap(r.chrom for r in merged)
        for record in iter_records(vcf, path):
            if isinstance(record, MalformedRecord) or _record_in(record, merged, contigs):
                yield record
        return
    for region in merged:
        fetched = vcf.fetch(region.chrom, region.start, region.end)
        for record in iter_records(fetched, path):  # type: ignore[arg-type]
            # fetch also returns records that start before the region and overlap it.
            if isinstance(record, MalformedRecord) or region.start <= record.pos - 1:
                yield record


def _block_key(record, block_nt: int) -> tuple[str, int] | None:
    if not hasattr(record, "pos"):  # MalformedRecord: stays with its neighbours
        return None
    return (record.chrom, (record.pos - 1) // block_nt)


def variant_shard_range(
    path: str | Path,
    shard: Shard,
    regions: Sequence[Interval] | None = None,
    block_nt: int = DEFAULT_VARIANT_BLOCK_NT,
) -> range:
    """Indexes (0-based, in the order :func:`region_records` yields them) of ``shard``'s records.

    Reads the VCF once without scoring anything (htslib parsing only), groups consecutive
    records of one genomic block (contig, ``POS // block_nt``) into runs and splits the runs with
    :func:`split_runs`.

    Raises:
        UsageError: (parameter ``shard``) ``path`` is standard input (a shard needs two passes
            over the file).
        InputError: the file is missing or not a VCF/BCF.
    """
    return _variant_shard_ranges(path, shard.count, regions, block_nt)[shard.index]


def _variant_shard_ranges(
    path: str | Path, count: int, regions: Sequence[Interval] | None, block_nt: int
) -> list[range]:
    """The record ranges of all ``count`` shards (see :func:`variant_shard_range`)."""
    from rnatools.io.vcf import open_vcf

    if str(path) == "-":
        raise UsageError(
            "a shard needs an input file: standard input cannot be read twice", parameter="shard"
        )
    with open_vcf(path) as vcf:
        lengths = run_lengths(
            _block_key(record, block_nt) for record in region_records(vcf, path, regions)
        )
    return split_runs(lengths, count)


def select_records(
    vcf: pysam.VariantFile,
    path: str | Path,
    *,
    regions: Sequence[Interval] | None = None,
    shard: Shard | None = None,
    block_nt: int = DEFAULT_VARIANT_BLOCK_NT,
) -> Iterator[pysam.VariantRecord | MalformedRecord]:
    """The records of an open VCF that a run restricted to ``regions`` and ``shard`` works on,
    in order.

    Drop-in for ``iter_records(vcf, path)`` in a command's main loop. With a shard, the file at
    ``path`` is first read once more (:func:`variant_shard_range`) and reading stops after the
    shard's last record. An empty shard is logged as a warning.

    Raises:
        UsageError: (parameter ``shard``) a shard with ``path == "-"``.
    """
    if shard is None:
        yield from region_records(vcf, path, regions)
        return
    parts = _variant_shard_ranges(path, shard.count, regions, block_nt)
    wanted, total = parts[shard.index], parts[-1].stop
    if not wanted:
        log.warning(
            "shard %s is empty: none of the %d records falls to it (records of one %s-nt block "
            "are not split); its output holds the header only",
            shard, total, f"{block_nt:,}",
        )  # fmt: skip
        return
    log.info("shard %s: records %d-%d of %d", shard, wanted.start + 1, wanted.stop, total)
    for number, record in enumerate(region_records(vcf, path, regions)):
        if number >= wanted.stop:
            return
        if number >= wanted.start:
            yield record


__all__ = [
    "DEFAULT_VARIANT_BLOCK_NT",
    "Shard",
    "parse_regions",
    "parse_shard",
    "region_records",
    "restrict_intervals",
    "run_lengths",
    "select_records",
    "shard_intervals",
    "shard_range",
    "split_runs",
    "variant_shard_range",
]
