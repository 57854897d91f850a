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
