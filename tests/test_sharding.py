"""rnatools.sharding: shard and region rules (pure properties) and VCF record selection."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnatools.errors import InputError, UsageError
from rnatools.genome import Interval
from rnatools.genome import merge_intervals as merge_regions
from rnatools.sharding import (
    Shard,
    parse_regions,
    parse_shard,
    restrict_intervals,
    run_lengths,
    select_records,
    shard_intervals,
    shard_range,
    split_runs,
    variant_shard_range,
)

BATCH_VCF = Path(__file__).parent / "data" / "annotate" / "batch_test.vcf"


# --- parsing -----------------------------------------------------------------------------------


def test_parse_shard():
    assert parse_shard("1/1") == Shard(0, 1)
    assert parse_shard(" 3 / 8 ") == Shard(2, 8)
    assert str(parse_shard("3/8")) == "3/8"
    assert parse_shard("3/8").number == 3
    assert parse_shard(None) is None


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "1-4", "a/b", "", "2/", "-1/3"])
def test_parse_shard_rejects(text):
    with pytest.raises(UsageError, match="I/N"):
        parse_shard(text)


def test_parse_regions_text_and_bed(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("track name=x\nchr17\t100\t200\tfirst\t0\t-\n")
    regions = parse_regions(["chr17:1,001-2,000"], bed)
    # 1-based inclusive text -> 0-based half-open; BED as is; strands dropped.
    assert [(r.chrom, r.start, r.end, r.strand) for r in regions] == [
        ("chr17", 1000, 2000, "."),
        ("chr17", 100, 200, "."),
    ]
    assert parse_regions(None, None) is None
    with pytest.raises(UsageError, match="chrom:start-end"):
        parse_regions(["chr17-5-1"])
    with pytest.raises(UsageError, match="start <= end"):
        parse_regions(["chr17:5-1"])
    empty = tmp_path / "empty.bed"
    empty.write_text("# nothing\n")
    with pytest.raises(InputError, match="no regions"):
        parse_regions(None, empty)


def test_merge_regions_orders_by_contig_list_and_merges():
    regions = [
        Interval("2", 50, 60),
        Interval("1", 10, 20),
        Interval("1", 20, 25),
        Interval("1", 5, 12),
        Interval("3", 0, 1),
    ]
    merged = merge_regions(regions, ["1", "2"])
    assert [(r.chrom, r.start, r.end) for r in merged] == [
        ("1", 5, 25),
        ("2", 50, 60),
        ("3", 0, 1),
    ]


def test_restrict_intervals_clips_and_matches_chr_prefix():
    intervals = [Interval("chr1", 0, 100, "-", "g"), Interval("chr2", 0, 100, "+")]
    regions = [Interval("1", 90, 200), Interval("1", 10, 20)]
    assert restrict_intervals(intervals, regions) == [
        Interval("chr1", 10, 20, "-", "g"),
        Interval("chr1", 90, 100, "-", "g"),
    ]
    assert restrict_intervals(intervals, None) == intervals


# --- pure rules: union of shards == whole, in order, disjoint ---------------------------------


@given(total=st.integers(0, 500), count=st.integers(1, 40))
def test_shard_range_partitions(total, count):
    parts = [shard_range(total, Shard(k, count)) for k in range(count)]
    assert [i for part in parts for i in part] == list(range(total))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_shard_range_values():
    assert [list(shard_range(10, Shard(k, 3))) for k in range(3)] == [
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8, 9],
    ]
    assert shard_range(7, None) == range(7)


def test_run_lengths():
    assert run_lengths(["a", "a", None, "b", "a", "a"]) == [3, 1, 2]
    assert run_lengths([None, None, "x"]) == [2, 1]
    assert run_lengths([]) == []


@given(
    lengths=st.lists(st.integers(1, 30), max_size=40),
    count=st.integers(1, 12),
)
def test_split_runs_partitions_without_splitting_runs(lengths, count):
    parts = split_runs(lengths, count)
    total = sum(lengths)
    assert len(parts) == count
    assert [i for part in parts for i in part] == list(range(total))
    run_starts = {0}
    offset = 0
    for length in lengths:
        offset += length
        run_starts.add(offset)
    for part in parts:  # every boundary is a run boundary
        assert part.start in run_starts and part.stop in run_starts


def test_split_runs_balances_equal_runs():
    assert split_runs([10] * 8, 4) == [range(0, 20), range(20, 40), range(40, 60), range(60, 80)]
    # A run goes where its midpoint falls; a long run cannot be split and leaves a shard empty.
    assert split_runs([5, 100, 5], 3) == [range(0, 5), range(5, 105), range(105, 110)]
    assert split_runs([100, 5, 5], 3) == [range(0, 0), range(0, 100), range(100, 110)]
    assert split_runs([], 2) == [range(0, 0), range(0, 0)]


intervals_strategy = st.lists(
    st.builds(
        lambda chrom, start, length, strand: Interval(chrom, start, start + length, strand),
        st.sampled_from(["chr1", "chr2"]),
        st.integers(0, 1000),
        st.integers(1, 300),
        st.sampled_from(["+", "-"]),
    ),
    min_size=1,
    max_size=8,
)


def _positions(intervals):
    return [(iv.chrom, iv.strand, p) for iv in intervals for p in range(iv.start, iv.end)]


@settings(max_examples=60, deadline=None)
@given(intervals=intervals_strategy, count=st.integers(1, 9), block=st.integers(1, 120))
def test_shard_intervals_partition_nucleotides_on_block_bounds(intervals, count, block):
    named = [
        Interval(iv.chrom, iv.start, iv.end, iv.strand, str(i)) for i, iv in enumerate(intervals)
    ]
    parts = [shard_intervals(named, Shard(k, count), block) for k in range(count)]
    assert [p for part in parts for p in _positions(part)] == _positions(named)
    for part in parts:
        for piece in part:
            source = named[int(piece.name)]
            # Pieces start on the model's chunk grid of their interval: same inputs as one shot.
            assert (piece.start - source.start) % block == 0
            assert piece.end == source.end or (piece.end - source.start) % block == 0


def test_shard_intervals_values():
    intervals = [Interval("chr1", 100, 350, "+", "a"), Interval("chr1", 0, 50, "-", "b")]
    got = [shard_intervals(intervals, Shard(k, 2), 100) for k in range(2)]
    # Blocks a[100,200) a[200,300) a[300,350) b[0,50): midpoints 50, 150, 225, 275 of 300 nt
    # -> shards 0, 1, 1, 1 (shard 0 holds [0, 150)).
    assert got == [
        [Interval("chr1", 100, 200, "+", "a")],
        [Interval("chr1", 200, 350, "+", "a"), Interval("chr1", 0, 50, "-", "b")],
    ]
    assert shard_intervals(intervals, None, 100) == intervals
    with pytest.raises(UsageError):
        shard_intervals(intervals, Shard(0, 2), 0)


# --- VCF records ------------------------------------------------------------------------------


def _write_vcf(path: Path, positions: list[tuple[str, int]], *, index: bool = False) -> Path:
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=1>", "##contig=<ID=2>"]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    lines += [f"{c}\t{p}\tv{i}\tA\tG\t.\t.\t." for i, (c, p) in enumerate(positions)]
    text = "\n".join(lines) + "\n"
    if not index:
        path.write_text(text)
        return path
    plain = path.with_suffix("")
    plain.write_text(text)
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


def _ids(vcf_path, **options):
    with pysam.VariantFile(str(vcf_path)) as vcf:
        return [record.id for record in select_records(vcf, str(vcf_path), **options)]


POSITIONS = [("1", 10), ("1", 20), ("1", 150), ("1", 160), ("1", 170), ("1", 305), ("2", 5)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 9])
def test_select_records_shards_concatenate_to_whole(tmp_path, count):
    vcf = _write_vcf(tmp_path / "in.vcf", POSITIONS)
    whole = _ids(vcf)
    assert whole == [f"v{i}" for i in range(7)]
    parts = [_ids(vcf, shard=Shard(k, count), block_nt=100) for k in range(count)]
    assert [i for part in parts for i in part] == whole


def test_select_records_keeps_genomic_blocks_together(tmp_path):
    vcf = _write_vcf(tmp_path / "in.vcf", POSITIONS)
    # Blocks of 100 nt: {v0,v1} {v2,v3,v4} {v5} {v6}: midpoints 1, 3.5, 5.5, 6.5 of 7 records;
    # shard 1 of 2 holds [0, 3.5).
    assert [_ids(vcf, shard=Shard(k, 2), block_nt=100) for k in range(2)] == [
        ["v0", "v1"],
        ["v2", "v3", "v4", "v5", "v6"],
    ]
    assert variant_shard_range(vcf, Shard(1, 2), block_nt=100) == range(2, 7)
    assert [_ids(vcf, shard=Shard(k, 3), block_nt=100) for k in range(3)] == [
        ["v0", "v1"],
        ["v2", "v3", "v4"],
        ["v5", "v6"],
    ]


def test_select_records_unsorted_input_still_exact(tmp_path):
    unsorted = [("2", 5), ("1", 300), ("1", 10), ("2", 7), ("1", 12), ("1", 11)]
    vcf = _write_vcf(tmp_path / "in.vcf", unsorted)
    whole = _ids(vcf)
    for count in (2, 3, 5):
        parts = [_ids(vcf, shard=Shard(k, count), block_nt=100) for k in range(count)]
        assert [i for part in parts for i in part] == whole


def test_select_records_regions_scan_and_index_agree(tmp_path):
    plain = _write_vcf(tmp_path / "in.vcf", POSITIONS)
    indexed = _write_vcf(tmp_path / "ix.vcf.gz", POSITIONS, index=True)
    regions = parse_regions(["chr1:150-170", "1:300-400", "2:1-5", "1:160-160"])
    expected = ["v2", "v3", "v4", "v5", "v6"]
    assert _ids(plain, regions=regions) == expected
    with pysam.VariantFile(str(indexed)) as vcf:
        assert vcf.index is not None  # really read by region
    assert _ids(indexed, regions=regions) == expected
    parts = [_ids(indexed, regions=regions, shard=Shard(k, 2), block_nt=100) for k in range(2)]
    assert parts == [["v2", "v3", "v4"], ["v5", "v6"]]


def test_select_records_region_excludes_overlapping_deletion_start_before(tmp_path):
    path = tmp_path / "del.vcf.gz"
    plain = tmp_path / "del.vcf"
    plain.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "1\t98\tdel\tAAAAA\tA\t.\t.\t.\n1\t101\tsnv\tA\tG\t.\t.\t.\n"
    )
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    regions = parse_regions(["1:100-200"])
    # The deletion overlaps the region but starts before it: it belongs to the region of POS.
    assert _ids(path, regions=regions) == ["snv"]
    assert _ids(plain, regions=regions) == ["snv"]


def test_select_records_real_vcf_and_stdin_rejected():
    parts = [_ids(BATCH_VCF, shard=Shard(k, 4)) for k in range(4)]
    assert [i for part in parts for i in part] == _ids(BATCH_VCF)
    assert sum(map(len, parts)) == 18
    with pysam.VariantFile(str(BATCH_VCF)) as vcf:
        with pytest.raises(UsageError, match="standard input"):
            list(select_records(vcf, "-", shard=Shard(0, 2)))


def test_empty_shard_is_said_to_be_empty(tmp_path, caplog):
    # 20 records in one 100 kb block form one run: with 2 shards, shard 1/2 gets none of them.
    vcf = _write_vcf(tmp_path / "small.vcf", [("1", 1000 + i) for i in range(20)])
    with caplog.at_level("WARNING", logger="rnatools.sharding"):
        assert _ids(vcf, shard=Shard(0, 2)) == []
    assert "shard 1/2 is empty" in caplog.text and "20 records" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="rnatools.sharding"):
        assert len(_ids(vcf, shard=Shard(1, 2))) == 20
        assert shard_range(2, Shard(0, 3)) == range(0, 0)
    assert "shard 2/2" not in caplog.text
    assert "shard 1/3 is empty: 2 records for 3 shards" in caplog.text
    with caplog.at_level("WARNING", logger="rnatools.sharding"):
        assert shard_intervals([Interval("1", 0, 10, "+")], Shard(0, 2), 100) == []
    assert "shard 1/2 is empty" in caplog.text


def test_errors_name_parameters_not_flags():
    with pytest.raises(UsageError) as shard_error:
        parse_shard("5/4")
    assert shard_error.value.parameter == "shard" and "--" not in str(shard_error.value)
    with pytest.raises(UsageError) as region_error:
        parse_regions(["chr1:5-1"])
    assert region_error.value.parameter == "regions" and "--" not in str(region_error.value)
    with pytest.raises(UsageError) as block_error:
        shard_intervals([], None, 0)
    assert block_error.value.parameter == "block_nt"
    with pytest.raises(UsageError) as stdin_error, pysam.VariantFile(str(BATCH_VCF)) as vcf:
        list(select_records(vcf, "-", shard=Shard(0, 2)))
    assert stdin_error.value.parameter == "shard" and "--" not in str(stdin_error.value)
