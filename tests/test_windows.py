"""rnatools.windows and ``rnatools windows``: slicing oracle, strands, N-padding, masking, CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.errors import ContigNotFoundError, InputError, UsageError
from rnatools.genome import Interval, parse_region
from rnatools.io.fasta import Fasta, read_fasta_records
from rnatools.io.gtf import canonical_transcript, read_genes, select_genes
from rnatools.sequence import reverse_complement
from rnatools.windows import (
    gene_windows,
    interval_windows,
    window_sequence,
)

EXAMPLE = Path(__file__).parents[1] / "examples" / "brca1"
EXAMPLE_FASTA = EXAMPLE / "GRCh38.chr17.brca1.fa.gz"
EXAMPLE_GTF = EXAMPLE / "brca1.gtf"
EXAMPLE_BED = EXAMPLE / "brca1.bed"
REGION_START0 = 42_424_999  # first real base of the example FASTA, 0-based
# BRCA1-001 (ENST00000357654) on GRCh38: hg19 41,196,312-41,277,387 + 1,847,983, 0-based
BRCA1_TX = (43_044_294, 43_125_370)


@pytest.fixture(scope="module")
def chr1(test_data: Path):
    with Fasta(test_data / "io" / "b37_chr1_1-200000.fa.gz") as fasta:
        yield fasta


@pytest.fixture(scope="module")
def chr1_sequence(test_data: Path) -> str:
    return read_fasta_records(test_data / "io" / "b37_chr1_1-200000.fa.gz")[0][1]


@pytest.fixture(scope="module")
def example_fasta():
    with Fasta(EXAMPLE_FASTA, build_index=False) as fasta:
        yield fasta


def _sliced(sequence: str, start: int, end: int) -> str:
    """Oracle: Python slicing, with N for positions outside the string."""
    return "".join(sequence[i] if 0 <= i < len(sequence) else "N" for i in range(start, end))


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 199_999),
    length=st.integers(0, 2_000),
    flank=st.integers(0, 6_000),
    strand=st.sampled_from(["+", "-", "."]),
)
def test_window_equals_slicing(chr1, chr1_sequence, start, length, flank, strand) -> None:
    end = min(start + length, 200_000)
    window = window_sequence(chr1, Interval("chr1", start, end, strand), flank)
    expected = _sliced(chr1_sequence, start - flank, end + flank)
    assert window == (reverse_complement(expected) if strand == "-" else expected)
    assert len(window) == end - start + 2 * flank


def test_n_padding_at_both_contig_ends(test_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "chrM.fasta"
    shutil.copyfile(test_data / "io" / "Homo_sapiens_assembly38.chrM.fasta", target)
    ((_, chrm),) = read_fasta_records(target)
    with Fasta(target) as fasta:
        whole = Interval("MT", 0, 16_569, "+")
        assert window_sequence(fasta, whole, 100) == "N" * 100 + chrm + "N" * 100
        minus = window_sequence(fasta, whole.with_strand("-"), 100)
        assert minus == "N" * 100 + reverse_complement(chrm) + "N" * 100
        # MT-ND2 (4,470-5,511) with a 12 kb flank runs past both ends
        (gene,) = read_genes(test_data / "io" / "test_MT.gtf.gz")
        (window,) = gene_windows([gene])
        sequence = window_sequence(fasta, window.interval, 12_000)
        assert sequence == "N" * (12_000 - 4_469) + chrm + "N" * (12_000 - (16_569 - 5_511))


def test_masking_outside_transcript(chr1, chr1_sequence) -> None:
    interval = Interval("1", 65_418, 71_585, "+")
    masked = window_sequence(chr1, interval, 5_000, mask_outside=(65_418, 71_585))
    assert masked == "N" * 5_000 + chr1_sequence[65_418:71_585] + "N" * 5_000
    partial = window_sequence(chr1, interval, 50, mask_outside=(65_400, 71_600))
    assert partial == "N" * 32 + chr1_sequence[65_400:71_600] + "N" * 35
    minus = window_sequence(chr1, interval.with_strand("-"), 50, mask_outside=(65_400, 71_600))
    assert minus == reverse_complement(partial)
    assert window_sequence(chr1, interval, 10, mask_outside=(0, 1)) == "N" * (6_167 + 20)


def test_unknown_contig_and_bad_flank(chr1) -> None:
    with pytest.raises(ContigNotFoundError, match="contigs there: 1"):
        window_sequence(chr1, Interval("chr7", 0, 10), 5)
    with pytest.raises(UsageError, match="flank must be >= 0"):
        window_sequence(chr1, Interval("1", 0, 10), -1)


def test_brca1_introns_are_gt_ag(example_fasta) -> None:
    (gene,) = read_genes(EXAMPLE_GTF)
    introns = [(t, intron) for t in gene.transcripts for intron in t.introns]
    assert len(introns) == 42
    for transcript, (start, end) in introns:
        sequence = window_sequence(
            example_fasta, Interval(transcript.chrom, start, end, transcript.strand), 0
        )
        assert sequence[:2] == "GT" and sequence[-2:] == "AG", (transcript.transcript_id, start)


def test_example_fasta_layout(example_fasta) -> None:
    assert example_fasta.lengths == {"chr17": 83_257_441}
    assert example_fasta.fetch("17", REGION_START0 - 5, REGION_START0 + 5) == "NNNNNATTTG"
    # the region file ends with ...GAAAGGCAG at chr17:43,600,000
    assert example_fasta.fetch("chr17", 43_600_000 - 3, 43_600_003) == "CAGNNN"
    assert example_fasta.fetch("chr17", 43_600_000, 43_600_010) == "N" * 10


def test_brca1_canonical_window(example_fasta) -> None:
    (gene,) = read_genes(EXAMPLE_GTF)
    (window,) = gene_windows([gene])
    assert window.name == "BRCA1|ENST00000357654"
    assert (window.interval.start, window.interval.end, window.interval.strand) == (*BRCA1_TX, "-")
    sequence = window_sequence(example_fasta, window.interval, 5_000)
    forward = example_fasta.fetch("chr17", BRCA1_TX[0] - 5_000, BRCA1_TX[1] + 5_000)
    assert sequence == reverse_complement(forward)
    # on the transcript's strand, the window starts with 5 kb upstream, then exon 1
    transcript = canonical_transcript(gene)
    exon1_start, exon1_end = transcript.exons[-1]
    exon1 = reverse_complement(example_fasta.fetch("chr17", exon1_start, exon1_end))
    assert sequence[5_000 : 5_000 + len(exon1)] == exon1


def test_parse_region() -> None:
    assert parse_region("chr17:43,044,295-43,125,483") == Interval(
        "chr17", 43_044_294, 43_125_483, ".", "chr17:43,044,295-43,125,483"
    )
    assert parse_region("MT:1-1").length == 1
    for bad in ("chr1", "chr1:10", "chr1:0-5", "chr1:10-5", "chr1:a-b"):
        with pytest.raises(UsageError):
            parse_region(bad)


def test_interval_windows_strands() -> None:
    intervals = [Interval("1", 10, 20), Interval("1", 30, 40, "-", "x")]
    both = list(interval_windows(intervals, "both"))
    assert [(w.name, w.interval.strand) for w in both] == [
        ("1:10-20", "+"), ("1:10-20", "-"), ("x", "-"),
    ]  # fmt: skip
    assert [w.interval.strand for w in interval_windows(intervals)] == ["+", "-"]
    masked = list(interval_windows(intervals, "+", mask_outside_interval=True))
    assert masked[0].mask_outside == (10, 20)


def test_select_genes(test_data: Path) -> None:
    genes = read_genes(test_data / "io" / "snakemake_gencode_chr1_start.gtf.gz")
    chosen = select_genes(genes, ["OR4F5", "ENSG00000227232"])  # name; id without version
    assert [g.gene_name for g in chosen] == ["WASH7P", "OR4F5"]
    assert len(list(gene_windows(chosen, "all"))) == 3
    with pytest.raises(InputError, match="gene\\(s\\) not found in the annotation: NOPE"):
        select_genes(genes, ["OR4F5", "NOPE"])


def test_select_genes_in_the_order_named(test_data: Path) -> None:
    # The order predict uses: each name's genes in turn, a gene named twice comes twice; exact
    # names and ids win over ids without their version.
    genes = read_genes(test_data / "io" / "snakemake_gencode_chr1_start.gtf.gz")
    chosen = select_genes(genes, ["OR4F5", "ENSG00000227232", " ", "OR4F5"], order="names")
    assert [g.gene_name for g in chosen] == ["OR4F5", "WASH7P", "OR4F5"]
    versioned = next(g for g in genes if g.gene_name == "WASH7P").gene_id
    assert select_genes(genes, [versioned], order="names") == select_genes(genes, ["WASH7P"])
    with pytest.raises(InputError, match="NOPE, NADA") as info:
        select_genes(genes, ["NOPE", "NADA"], path="genes.gtf")
    assert str(info.value).startswith("genes.gtf: ")
    assert select_genes(genes, None) == list(genes)


# -- command line --------------------------------------------------------------------------------

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["windows", "--fasta", str(EXAMPLE_FASTA), *args])


def test_cli_gtf_to_fasta_file(tmp_path: Path, example_fasta) -> None:
    out = tmp_path / "brca1.fa"
    result = _run("--gtf", str(EXAMPLE_GTF), "--flank", "100", "-o", str(out))
    assert result.exit_code == 0, result.output
    header, *lines = out.read_text().splitlines()
    assert header == f">BRCA1|ENST00000357654 chr17:{BRCA1_TX[0]}-{BRCA1_TX[1]}(-) flank=100"
    assert max(len(line) for line in lines) == 60
    forward = example_fasta.fetch("chr17", BRCA1_TX[0] - 100, BRCA1_TX[1] + 100)
    assert "".join(lines) == reverse_complement(forward)


def test_cli_all_transcripts_tsv_masked(tmp_path: Path, example_fasta) -> None:
    out = tmp_path / "windows.tsv"
    result = _run(
        "--gtf", str(EXAMPLE_GTF), "--transcripts", "all", "--genes", "BRCA1",
        "--flank", "50", "--mask-outside-transcript", "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header, *rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert header == ["name", "chrom", "start", "end", "strand", "flank", "sequence"]
    assert len(rows) == 31
    name, chrom, start, end, strand, flank, sequence = rows[0]
    assert (name, chrom, strand, flank) == ("BRCA1|ENST00000357654", "chr17", "-", "50")
    assert (int(start), int(end)) == BRCA1_TX
    transcript = reverse_complement(example_fasta.fetch("chr17", *BRCA1_TX))
    assert sequence == "N" * 50 + transcript + "N" * 50


def test_cli_bed_and_regions_stdout(example_fasta) -> None:
    result = _run(
        "--bed", str(EXAMPLE_BED), "--region", "chr17:43,044,295-43,044,304",
        "--strand", "both", "--flank", "3", "--line-width", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ">BRCA1 chr17:43044294-43125483(-) flank=3"
    assert lines[2] == ">chr17:43,044,295-43,044,304 chr17:43044294-43044304(+) flank=3"
    assert lines[3] == example_fasta.fetch("chr17", 43_044_291, 43_044_307)
    assert lines[4] == ">chr17:43,044,295-43,044,304 chr17:43044294-43044304(-) flank=3"
    assert lines[5] == reverse_complement(lines[3])
    assert len(lines) == 6


def test_cli_unknown_contig_exit_1_no_file(tmp_path: Path) -> None:
    out = tmp_path / "w.fa"
    result = _run("--region", "chr17:43044295-43044304", "--region", "chr5:1-10", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"rnatools: error: {EXAMPLE_FASTA}: contig 'chr5' not found; contigs there: chr17"
    )
    assert list(tmp_path.iterdir()) == []


def test_cli_region_past_contig_end_exit_1(tmp_path: Path) -> None:
    result = _run("--region", "chr17:83257000-83257442", "-o", str(tmp_path / "w.fa"))
    assert result.exit_code == 1
    assert "ends past the end of contig chr17 (83,257,441 nt)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_bed_exit_1(tmp_path: Path) -> None:
    bed = tmp_path / "bad.bed"
    bed.write_text("chr17\t43044294\t43125483\tBRCA1\t0\t-\nchr17\t100\t50\n")
    out = tmp_path / "w.tsv"
    result = _run("--bed", str(bed), "-o", str(out))
    assert result.exit_code == 1
    assert f"{bed}:2: expected 0 <= start <= end" in result.stderr
    assert not out.exists()


def test_cli_failure_keeps_existing_output(tmp_path: Path) -> None:
    out = tmp_path / "w.fa"
    out.write_text("previous\n")
    result = _run("--region", "chrX:1-10", "-o", str(out))
    assert result.exit_code == 1
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["w.fa"]


@pytest.mark.parametrize(
    "args",
    [
        [],  # no feature source
        ["--region", "chr17:10-5"],
        ["--region", "chr17:1-10", "--flank", "-1"],
        ["--region", "chr17:1-10", "--transcripts", "some"],
        ["--region", "chr17:1-10", "--genes", "BRCA1"],
        ["--region", "chr17:1-10", "-o", "out.bam"],
        ["--gtf", "/nonexistent.gtf"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    result = _run(*args)
    assert result.exit_code == 2, result.output


def test_pipeline_from_python_equals_cli(tmp_path: Path) -> None:
    from rnatools.pipelines.windows import WindowsSettings, run_windows

    settings = WindowsSettings(
        fasta=EXAMPLE_FASTA, output=tmp_path / "py.tsv", region="chr17:43,044,295-43,044,304",
        strand="both", flank=3,
    )  # fmt: skip
    summary = run_windows(settings)
    assert (summary.windows, summary.output_format, summary.flank) == (2, "tsv", 3)
    result = _run("--region", "chr17:43,044,295-43,044,304", "--strand", "both", "--flank", "3",
                  "-o", str(tmp_path / "cli.tsv"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "py.tsv").read_text() == (tmp_path / "cli.tsv").read_text()
    with pytest.raises(UsageError) as info:
        run_windows(WindowsSettings(fasta=EXAMPLE_FASTA, region=("chr17:1-10",), flank=-1))
    assert info.value.parameter == "flank"


def test_cli_strand_auto_is_refused() -> None:
    result = _run("--region", "chr17:43044295-43044304", "--strand", "auto")
    assert result.exit_code == 2
    assert "--strand auto" in result.stderr
