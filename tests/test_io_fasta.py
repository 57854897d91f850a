"""rnatools.io.fasta: indexed access, contig names, padding, index building, errors."""

from __future__ import annotations

import gzip
import os
import shutil
import stat
from pathlib import Path

import pysam
import pytest

from rnatools.errors import ContigNotFoundError, InputError
from rnatools.io.fasta import Fasta, read_fasta_records

CHR1 = "b37_chr1_1-200000.fa.gz"
CHRM = "Homo_sapiens_assembly38.chrM.fasta"
# rCRS (J01415.2) begins with these bases.
CHRM_START = "GATCACAGGTCTATCACCCTATTAACCACTCACGGGAGCTCTCCATGCATTTGGTATTTTCGTCTGGGGG"


@pytest.fixture(scope="module")
def chr1_sequence(test_data: Path) -> str:
    """The oracle: the whole contig read without the index, by plain decompression."""
    ((name, sequence),) = read_fasta_records(test_data / "io" / CHR1)
    assert name == "1"
    return sequence


@pytest.fixture
def chrm_copy(test_data: Path, tmp_path: Path) -> Path:
    """The unindexed chrM FASTA copied into a writable folder."""
    target = tmp_path / CHRM
    shutil.copyfile(test_data / "io" / CHRM, target)
    return target


def test_lengths_and_contig_names(test_data: Path) -> None:
    with Fasta(test_data / "io" / CHR1) as fasta:
        assert fasta.lengths == {"1": 200_000}
        assert fasta.resolve("chr1") == "1"
        assert fasta.resolve("1") == "1"
        assert fasta.has("chr1") and not fasta.has("chr2")
        with pytest.raises(ContigNotFoundError, match=r"contig 'chr2' not found; contigs there: 1"):
            fasta.fetch("chr2", 0, 10)


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 10), (9_990, 10_010), (69_090, 69_093), (123_456, 125_000), (199_000, 200_000), (5, 5)],
)
def test_fetch_equals_slicing(test_data: Path, chr1_sequence: str, start: int, end: int) -> None:
    with Fasta(test_data / "io" / CHR1) as fasta:
        assert fasta.fetch("chr1", start, end) == chr1_sequence[start:end]


def test_known_bases(test_data: Path) -> None:
    with Fasta(test_data / "io" / CHR1) as fasta:
        # GRCh38 = GRCh37 here: OR4F5 coding sequence starts with ATG at chr1:69,091 (1-based).
        assert fasta.fetch("chr1", 69_090, 69_093) == "ATG"
        assert fasta.fetch("1", 0, 10_000) == "N" * 10_000  # telomere gap
        assert fasta.fetch("1", 10_000, 10_006) == "TAACCC"


def test_fetch_padded(test_data: Path, chr1_sequence: str) -> None:
    with Fasta(test_data / "io" / CHR1) as fasta:
        assert fasta.fetch_padded("chr1", 69_090, 69_093) == "ATG"
        assert fasta.fetch_padded("chr1", -5, 10_003) == "N" * 10_005 + chr1_sequence[10_000:10_003]
        tail = fasta.fetch_padded("chr1", 199_990, 200_020)
        assert tail == chr1_sequence[199_990:] + "N" * 20
        assert fasta.fetch_padded("chr1", 250_000, 250_010) == "N" * 10
        assert fasta.fetch_padded("chr1", -30, -10) == "N" * 20


def test_fetch_outside_contig_is_an_error(test_data: Path) -> None:
    with Fasta(test_data / "io" / CHR1) as fasta:
        with pytest.raises(InputError, match=r"outside the contig \[0, 200000\)"):
            fasta.fetch("chr1", 199_990, 200_001)
        with pytest.raises(InputError, match="outside the contig"):
            fasta.fetch("chr1", -1, 10)


def test_plain_fasta_index_is_built_and_mt_matches_chrm(chrm_copy: Path) -> None:
    assert not Path(f"{chrm_copy}.fai").exists()
    with Fasta(chrm_copy) as fasta:
        assert Path(f"{chrm_copy}.fai").exists()
        assert fasta.lengths == {"chrM": 16_569}
        assert fasta.resolve("MT") == "chrM"
        assert fasta.resolve("M") == "chrM"
        assert fasta.fetch("MT", 0, len(CHRM_START)) == CHRM_START


def test_bgzip_index_is_built(test_data: Path, tmp_path: Path, chr1_sequence: str) -> None:
    target = tmp_path / "copy.fa.gz"
    shutil.copyfile(test_data / "io" / CHR1, target)
    with Fasta(target) as fasta:
        assert Path(f"{target}.fai").exists() and Path(f"{target}.gzi").exists()
        assert fasta.fetch("1", 150_000, 150_500) == chr1_sequence[150_000:150_500]


def test_soft_masked_bases_are_upper_case(chrm_copy: Path, tmp_path: Path) -> None:
    masked = tmp_path / "masked.fa"
    masked.write_text(f">chrM\n{CHRM_START[:30].lower()}{CHRM_START[30:]}\n")
    with Fasta(masked) as fasta:
        assert fasta.fetch("chrM", 0, len(CHRM_START)) == CHRM_START
        assert fasta.fetch_padded("chrM", -2, 5) == "NN" + CHRM_START[:5]


def test_missing_index_in_read_only_folder(
    chrm_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = chrm_copy.parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    # root ignores permission bits, so also make the writability check say "no"
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode, **kw: False if mode == os.W_OK else real_access(path, mode)
    )
    try:
        with pytest.raises(InputError) as error:
            Fasta(chrm_copy)
        message = str(error.value)
        assert message.startswith(f"{chrm_copy}: ")
        assert "index Homo_sapiens_assembly38.chrM.fasta.fai is missing" in message
        assert "not writable" in message and "\n" not in message
    finally:
        folder.chmod(stat.S_IRWXU)
    assert not Path(f"{chrm_copy}.fai").exists()


def test_missing_index_without_building(chrm_copy: Path) -> None:
    with pytest.raises(InputError, match="samtools faidx"):
        Fasta(chrm_copy, build_index=False)


def test_plain_gzip_is_refused(chrm_copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "plain.fa.gz"
    target.write_bytes(gzip.compress(chrm_copy.read_bytes()))
    with pytest.raises(InputError, match="not bgzip"):
        Fasta(target)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="FASTA file not found"):
        Fasta(tmp_path / "absent.fa")


def test_read_fasta_records_matches_pysam(chrm_copy: Path) -> None:
    ((name, sequence),) = read_fasta_records(chrm_copy)
    with pysam.FastaFile(str(chrm_copy)) as reference:
        assert name == "chrM"
        assert sequence == reference.fetch("chrM").upper()
