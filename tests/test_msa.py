"""Alignment reading for RNA-MSM (rnatools.io.msa): FASTA/A2M/A3M rules of the original loader."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnatools.errors import InputError
from rnatools.io.msa import ALIGNMENT_ALPHABET, normalise_row, parse_msa, read_msa

# The rows the original RNA-MSM loader produced from tests/data/rnamsm/msa_depth3.a2m_msa2
# (fixture oracle key ``msa_rows_after_loader``; see tests/data/rnamsm/PROVENANCE.md).
EXPECTED_ROWS = [
    ("query", "AACGCCAUUUGAUUAGAACAGUCCAAGGACXUGGGUUCCGACACACGUGG"),
    ("hom1", "AACACCAUUUGAUUAGAACA---CAAGGACGUGGGUUCCGACACACGUGG"),
    ("hom2", "-----CAUUUGAXUAGAACAGUCCAAGGACCUGUGUUCCGACACACGUAG"),
]


def test_fixture_alignment_matches_the_original_loader(test_data: Path) -> None:
    rows = read_msa(test_data / "rnamsm" / "msa_depth3.a2m_msa2")
    assert rows == EXPECTED_ROWS
    raw = (test_data / "rnamsm" / "msa_depth3.a2m_msa2").read_text()
    assert "T" in raw and "ac" in raw and "N" in raw and "R" in raw  # the rules are exercised


def test_normalise_row_rules() -> None:
    # lowercase, '.' and '*' deleted; T→U; ambiguity codes (N included) → X; gaps kept
    assert normalise_row("acGT.*N-R") == "GUX-X"
    assert normalise_row("RYKMSWBDHVN") == "X" * 11
    assert normalise_row("ACGUX-") == "ACGUX-"


@pytest.mark.parametrize("row", ["ACGZ", "AC GU", "ACG1", "ACG?"])
def test_normalise_row_rejects_other_characters(row: str) -> None:
    with pytest.raises(ValueError, match="unexpected character"):
        normalise_row(row)


def test_multiline_records_headers_and_blank_lines() -> None:
    text = ["#A3M header\n", "\n", ">q desc\n", "ACG\n", "UU\n", ">h\n", "A-gggGUUu\n", "\n"]
    assert parse_msa(text) == [("q", "ACGUU"), ("h", "A-GUU")]


def test_unequal_rows_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.a3m"
    path.write_text(">q\nACGU\n>h1\nACGU\n>h2\nACG\n")
    with pytest.raises(InputError, match=r"bad\.a3m:5: record 'h2' has 3 aligned columns") as info:
        read_msa(path)
    assert info.value.line == 5


def test_bad_character_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.fasta"
    path.write_text(">q\nACGU\n>h1\nAC!U\n")
    with pytest.raises(InputError, match=r"bad\.fasta:3: record 'h1': unexpected character"):
        read_msa(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no alignment record"),
        ("ACGU\n>q\nACGU\n", "sequence text before the first '>' header"),
        (">q\nacgu\n", "has no aligned columns"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.a2m"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_msa(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read alignment"):
        read_msa(tmp_path / "absent.a3m")


@given(st.text(alphabet="ACGTURYKMSWBDHVNXacgtun-.*", max_size=60))
def test_normalised_rows_use_the_alphabet_and_are_stable(row: str) -> None:
    normalised = normalise_row(row)
    assert set(normalised) <= ALIGNMENT_ALPHABET
    assert normalise_row(normalised) == normalised
    # one output column per uppercase letter or gap of the input
    assert len(normalised) == sum(c.isupper() or c == "-" for c in row)
