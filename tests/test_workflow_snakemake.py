"""The Snakemake example workflow, run for real: shard, annotate, merge == one annotate run."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.models.spliceai_weights import installed_weights

ROOT = Path(__file__).parents[1]
SNAKEFILE = ROOT / "examples" / "workflows" / "snakemake" / "Snakefile"
FASTA = ROOT / "examples" / "brca1" / "GRCh38.chr17.brca1.fa.gz"

# 1-based positions on the bundled chr17 example: three in genes of SpliceAI's grch38 table
# (ATP6V0A1, G6PC, NBR1; three 100-kb blocks, so each shard gets work) and three intergenic
# ones that pass through unscored.
POSITIONS = [42_430_000, 42_460_000, 42_900_900, 43_200_000, 43_350_000, 43_590_000]
COMPLEMENT = {"A": "G", "C": "T", "G": "A", "T": "C"}


def _rnatools_command() -> str:
    found = shutil.which("rnatools", path=str(Path(sys.executable).parent)) or shutil.which(
        "rnatools"
    )
    if found is None:
        pytest.skip("the rnatools console script is not installed (pip install -e .)")
    return found


def _requirements() -> None:
    pytest.importorskip("snakemake", reason="needs snakemake (pip install 'rnatools[test]')")
    if installed_weights() is None:
        pytest.skip("needs the SpliceAI weights: pip install 'rnatools[spliceai]'")


def _write_vcf(path: Path) -> None:
    with pysam.FastaFile(str(FASTA)) as fasta:
        rows = []
        for number, pos1 in enumerate(POSITIONS):
            ref = fasta.fetch("chr17", pos1 - 1, pos1)
            rows.append(f"chr17\t{pos1}\tvariant{number}\t{ref}\t{COMPLEMENT[ref]}\t.\t.\t.")
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr17,length=83257441>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    path.write_text("\n".join(header + rows) + "\n")


@pytest.mark.slow
@pytest.mark.weights
def test_snakemake_shard_and_merge_equals_one_shot(tmp_path):
    _requirements()
    rnatools = _rnatools_command()
    vcf = tmp_path / "input.vcf"
    _write_vcf(vcf)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"vcf: {vcf}\nfasta: {FASTA}\nannotation: grch38\ndistance: 50\nmask: false\n"
        "shards: 2\nthreads: 1\ndevice: cpu\ngpus_per_shard: 1\n"
        f"output: results/annotated.vcf.gz\nrnatools: {rnatools}\n"
    )
    workdir = tmp_path / "run"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(SNAKEFILE),
            "--directory",
            str(workdir),
            "--configfile",
            str(config),
            "--cores",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]

    one_shot = tmp_path / "one_shot.vcf.gz"
    result = CliRunner().invoke(
        app,
        [
            "annotate",
            "-i",
            str(vcf),
            "-o",
            str(one_shot),
            "-f",
            str(FASTA),
            "-a",
            "grch38",
            "--device",
            "cpu",
            "--threads",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    merged = workdir / "results" / "annotated.vcf.gz"
    text = gzip.decompress(merged.read_bytes()).decode()
    assert text == gzip.decompress(one_shot.read_bytes()).decode()
    assert merged.read_bytes() == one_shot.read_bytes()  # BGZF framing too
    assert text.count("SpliceAI=") == 3  # the three records in genes
    with pysam.VariantFile(str(merged)) as indexed:  # the .tbi works
        assert [r.id for r in indexed.fetch("chr17", 43_199_000, 43_201_000)] == ["variant3"]
    assert not (workdir / "shards").exists() or not any((workdir / "shards").iterdir())
