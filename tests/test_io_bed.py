"""rnatools.io.bed: BED3-6 parsing and error messages naming file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rnatools.errors import InputError
from rnatools.genome import Interval
from rnatools.io.bed import read_bed

EXAMPLE_BED = Path(__file__).parents[1] / "examples" / "brca1" / "brca1.bed"


def test_example_bed() -> None:
    assert list(read_bed(EXAMPLE_BED)) == [Interval("chr17", 43_044_294, 43_125_483, "-", "BRCA1")]


def test_bed3_to_bed6_and_skipped_lines(tmp_path: Path) -> None:
    path = tmp_path / "mixed.bed"
    path.write_text(
        "# comment\n"
        'track name="x"\n'
        "browser position chr1:1-100\n"
        "\n"
        "chr1\t10\t20\n"
        "chr1\t30\t40\tfour\n"
        "chr1\t50\t60\tfive\t0\n"
        "chr1\t70\t80\tsix\t0\t-\n"
        "chrM\t0\t16569\t.\t0\t.\textra\tcolumns\n"
    )
    assert list(read_bed(path)) == [
        Interval("chr1", 10, 20, ".", None),
        Interval("chr1", 30, 40, ".", "four"),
        Interval("chr1", 50, 60, ".", "five"),
        Interval("chr1", 70, 80, "-", "six"),
        Interval("chrM", 0, 16_569, ".", None),
    ]


def test_gzip_bed(tmp_path: Path) -> None:
    path = tmp_path / "a.bed.gz"
    path.write_bytes(gzip.compress(EXAMPLE_BED.read_bytes()))
    assert [i.name for i in read_bed(path)] == ["BRCA1"]


@pytest.mark.parametrize(
    ("line", "expectation"),
    [
        ("chr1\t20\t10", "expected 0 <= start <= end (0-based half-open), got start=20 end=10"),
        ("chr1\tten\t20", "expected integer start and end in columns 2-3, got 'ten' and '20'"),
        ("chr1\t1.5\t20", "expected integer start and end"),
        ("chr1\t-1\t20", "expected 0 <= start <= end"),
        ("chr1\t10", "expected at least 3 tab-separated columns (chrom, start, end), got 2"),
        ("chr1\t10\t20\tx\t0\t*", "expected strand '+', '-' or '.' in column 6, got '*'"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, line: str, expectation: str) -> None:
    path = tmp_path / "bad.bed"
    path.write_text(f"# header\nchr1\t0\t5\n{line}\nchr1\t0\t5\n")
    with pytest.raises(InputError) as error:
        list(read_bed(path))
    assert str(error.value) == f"{path}:3: {expectation}" or str(error.value).startswith(
        f"{path}:3: {expectation}"
    )
    assert error.value.line == 3


def test_missing_bed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="BED file not found"):
        list(read_bed(tmp_path / "absent.bed"))
