import pytest

from rnatools.errors import ContigNotFoundError, InputError
from rnatools.genome import ContigMap, Interval, match_contig


@pytest.mark.parametrize(
    ("query", "names", "expected"),
    [
        ("chr1", ["1", "2"], "1"),
        ("1", ["chr1", "chr2"], "chr1"),
        ("chr1", ["chr1", "1"], "chr1"),  # exact name wins
        ("MT", ["chrM"], "chrM"),
        ("chrM", ["MT"], "MT"),
        ("M", ["chrMT"], "chrMT"),
        ("chrX", ["X"], "X"),
    ],
)
def test_match_contig(query, names, expected):
    assert match_contig(query, names) == expected


def test_real_prefix_rule_not_str_strip():
    # SpliceAI's str.strip('chr') turns "chrchr" names and "rhc" suffixes into nonsense; ours only
    # removes a real prefix.
    with pytest.raises(ContigNotFoundError):
        match_contig("chr10", ["10c"])
    assert match_contig("chrUn_gl000220", ["Un_gl000220"]) == "Un_gl000220"


def test_unknown_contig_lists_names():
    with pytest.raises(ContigNotFoundError) as info:
        match_contig("chr99", [f"chr{i}" for i in range(1, 23)], path="ref.fa")
    message = str(info.value)
    assert "chr99" in message and "chr1, chr2" in message and "22 in all" in message
    assert message.startswith("ref.fa: ")
    assert isinstance(info.value, InputError)


def test_contig_map_caches_and_reports():
    contigs = ContigMap(["chr17", "chrM"])
    assert contigs["17"] == "chr17"
    assert "MT" in contigs
    assert contigs.get("18") is None
    with pytest.raises(ContigNotFoundError):
        contigs["18"]


def test_interval_validation():
    interval = Interval("chr1", 10, 20, "-")
    assert interval.length == 10
    assert str(interval) == "chr1:10-20(-)"
    with pytest.raises(ValueError):
        Interval("chr1", 20, 10)
    with pytest.raises(ValueError):
        Interval("chr1", 0, 10, "x")  # type: ignore[arg-type]


def test_parse_region_one_parser_names_its_parameter():
    from rnatools.errors import UsageError
    from rnatools.genome import parse_region

    expected = Interval("chr1", 1000, 2000, ".", "chr1:1,001-2,000")
    assert parse_region(" chr1:1,001-2,000 ") == expected
    with pytest.raises(UsageError, match="chrom:start-end") as info:
        parse_region("chr1", parameter="regions")
    assert info.value.parameter == "regions"
    with pytest.raises(UsageError, match="start <= end") as info:
        parse_region("chr1:0-5")
    assert info.value.parameter == "region"


def test_merge_intervals_unstranded_and_stranded():
    from rnatools.genome import merge_intervals

    intervals = [
        Interval("2", 0, 5, "-", "d"),
        Interval("1", 10, 20, "-", "c"),
        Interval("1", 0, 10, "+", "a"),
        Interval("1", 5, 12, "+", "b"),
        Interval("1", 12, 13, "-"),
    ]
    assert merge_intervals(intervals) == [Interval("2", 0, 5), Interval("1", 0, 20)]
    assert merge_intervals(intervals, ["1", "2"]) == [Interval("1", 0, 20), Interval("2", 0, 5)]
    assert merge_intervals(intervals, ["1", "2"], stranded=True) == [
        Interval("1", 0, 12, "+", "a"),
        Interval("1", 10, 20, "-", "c"),
        Interval("2", 0, 5, "-", "d"),
    ]
    assert merge_intervals([]) == []
