"""rnatools.io.gtf: real GTF/GFF3 files, exact counts and coordinates, canonical transcripts."""

from __future__ import annotations

import gzip
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rnatools.errors import InputError
from rnatools.io.gtf import Gene, Transcript, canonical_transcript, detect_format, read_genes

EXAMPLE_GTF = Path(__file__).parents[1] / "examples" / "brca1" / "brca1.gtf"


def _counts(genes: list[Gene]) -> tuple[int, int, int]:
    transcripts = [t for gene in genes for t in gene.transcripts]
    return len(genes), len(transcripts), sum(len(t.exons) for t in transcripts)


def _transcript(genes: list[Gene], transcript_id: str) -> Transcript:
    (found,) = [t for gene in genes for t in gene.transcripts if t.transcript_id == transcript_id]
    return found


def test_gencode_gtf(test_data: Path) -> None:
    genes = read_genes(test_data / "io" / "snakemake_gencode_chr1_start.gtf.gz")
    # 11 gene lines; AL627309.3 has no transcript in this excerpt and is dropped.
    assert _counts(genes) == (10, 19, 58)
    assert [g.gene_name for g in genes][:4] == ["DDX11L1", "WASH7P", "MIR6859-1", "MIR1302-2HG"]
    wash7p = genes[1]
    assert (wash7p.gene_id, wash7p.chrom, wash7p.strand) == ("ENSG00000227232.5", "chr1", "-")
    assert (wash7p.start, wash7p.end) == (14_403, 29_570)  # GTF 14404-29570, 1-based inclusive
    transcript = wash7p.transcripts[0]
    assert transcript.transcript_id == "ENST00000488147.1"
    assert transcript.biotype == "unprocessed_pseudogene"
    assert transcript.tags == frozenset({"basic"})
    # the 11 exon lines of the file (1-based inclusive), sorted by start, converted to 0-based
    exons1 = [
        (14404, 14501), (15005, 15038), (15796, 15947), (16607, 16765), (16858, 17055),
        (17233, 17368), (17606, 17742), (17915, 18061), (18268, 18366), (24738, 24891),
        (29534, 29570),
    ]  # fmt: skip
    assert transcript.exons == tuple((start1 - 1, end1) for start1, end1 in exons1)
    assert transcript.introns[0] == (14_501, 15_004)


def test_ensembl_gtf_without_chr_prefix(test_data: Path) -> None:
    genes = read_genes(test_data / "io" / "pyranges_ensembl_human.gtf.gz")
    assert _counts(genes) == (84, 280, 1_323)
    assert {g.chrom for g in genes} == {"1"}
    first = _transcript(genes, "ENST00000456328")
    assert first.biotype == "lncRNA"  # Ensembl's transcript_biotype
    assert first.exons == ((11_868, 12_227), (12_612, 12_721), (13_220, 14_409))


def test_mt_gtf(test_data: Path) -> None:
    (gene,) = read_genes(test_data / "io" / "test_MT.gtf.gz")
    assert (gene.gene_name, gene.chrom, gene.strand, gene.start, gene.end) == (
        "MT-ND2", "MT", "+", 4_469, 5_511,
    )  # fmt: skip
    assert gene.transcripts[0].exons == ((4_469, 5_511),)


def test_brca1_gtf_and_canonical(test_data: Path) -> None:
    (gene,) = read_genes(test_data / "io" / "mmsplice_BRCA1_ensembl_hg19.gtf.gz")
    assert (gene.gene_id, gene.gene_name, gene.strand) == ("ENSG00000012048", "BRCA1", "-")
    assert (gene.start, gene.end) == (41_196_311, 41_277_500)
    assert len(gene.transcripts) == 31
    # 5 transcript lines have no exon line in this excerpt: kept, with exons == ()
    assert sum(not t.exons for t in gene.transcripts) == 5
    # No MANE/Ensembl_canonical/basic tags in this old Ensembl file: the longest exon length
    # decides, and it picks BRCA1-001, the transcript that became Ensembl's canonical one.
    canonical = canonical_transcript(gene)
    assert canonical.transcript_id == "ENST00000357654"
    assert len(canonical.exons) == 23 and canonical.exon_length == 7_094
    assert canonical.exons[-1] == (41_277_287, 41_277_387)  # exon 1 (minus strand), file 41277288
    assert (canonical.start, canonical.end) == (41_196_311, 41_277_387)


def test_example_gtf_is_shifted_copy(test_data: Path) -> None:
    hg19 = read_genes(test_data / "io" / "mmsplice_BRCA1_ensembl_hg19.gtf.gz")[0]
    grch38 = read_genes(EXAMPLE_GTF)[0]
    assert grch38.chrom == "chr17"
    offset = 1_847_983
    for old, new in zip(hg19.transcripts, grch38.transcripts, strict=True):
        assert new.exons == tuple((s + offset, e + offset) for s, e in old.exons)
        assert (new.start, new.end) == (old.start + offset, old.end + offset)


def test_mane_gff3_without_exons(test_data: Path) -> None:
    path = test_data / "io" / "MANE.GRCh38.v1.3.refseq_genomic_10_sample.gff.gz"
    with pytest.raises(InputError, match=r"no exon records found \(240 genes, 241 transcripts\)"):
        read_genes(path)
    genes = read_genes(path, require_exons=False)
    assert _counts(genes) == (240, 241, 0)
    or4f5 = genes[0]
    assert (or4f5.gene_id, or4f5.gene_name, or4f5.start, or4f5.end) == (
        "gene-OR4F5", "OR4F5", 65_418, 71_585,
    )  # fmt: skip
    transcript = or4f5.transcripts[0]
    assert transcript.transcript_id == "NM_001005484.2"
    assert transcript.tags == frozenset({"MANE_Select"})  # "MANE Select" in the file
    assert transcript.biotype == "protein_coding"
    # WNK1 lists its MANE Plus Clinical transcript first; MANE Select wins.
    (wnk1,) = [g for g in genes if g.gene_name == "WNK1"]
    assert [t.transcript_id for t in wnk1.transcripts] == ["NM_213655.5", "NM_018979.4"]
    assert wnk1.transcripts[0].tags == frozenset({"MANE_Plus_Clinical"})
    assert canonical_transcript(wnk1).transcript_id == "NM_018979.4"


def test_gff3_chr22_scale(shared_data_dir: Path) -> None:
    began = time.perf_counter()
    genes = read_genes(shared_data_dir / "annotations" / "openspliceai_chr22_MANE.gff.gz")
    elapsed = time.perf_counter() - began
    assert _counts(genes) == (423, 423, 4_198)
    assert elapsed < 2.0
    xkr3 = _transcript(genes, "NM_001386955.1")
    assert (xkr3.gene_name, xkr3.chrom, xkr3.strand) == ("XKR3", "chr22", "-")
    # exon lines of the file: 16825291-16825411, 16807739-16808083, 16799771-16800024,
    # 16783480-16784409 (1-based inclusive)
    assert xkr3.exons == (
        (16_783_479, 16_784_409), (16_799_770, 16_800_024),
        (16_807_738, 16_808_083), (16_825_290, 16_825_411),
    )  # fmt: skip
    assert all(t.tags == frozenset({"MANE_Select"}) for g in genes for t in g.transcripts)


def test_minichr2_gtf(shared_data_dir: Path) -> None:
    genes = read_genes(shared_data_dir / "hg19_chr2_160560000-162100000" / "minichr2.gtf.gz")
    # 14 gene lines; 2 genes and 5 transcripts exist only through their exon lines
    assert _counts(genes) == (16, 83, 702)
    (rbms1,) = [g for g in genes if g.gene_name == "RBMS1"]
    assert len(rbms1.transcripts) == 15
    canonical = canonical_transcript(rbms1)
    assert canonical.transcript_id == "ENST00000348849.3"
    assert canonical.biotype == "protein_coding" and "basic" in canonical.tags


def _tx(transcript_id: str, exons: tuple[tuple[int, int], ...], tags=(), biotype=None):
    return Transcript(
        transcript_id, "G", "G", "chr1", "+", exons[0][0], exons[-1][1], exons,
        frozenset(tags), biotype,
    )  # fmt: skip


def test_canonical_rule_order() -> None:
    long = ((0, 1000),)
    short = ((0, 10),)
    mane = _tx("T9", short, {"MANE_Select"})
    ensembl = _tx("T8", short, {"Ensembl_canonical"})
    basic_coding = _tx("T7", short, {"basic"}, "protein_coding")
    basic_noncoding = _tx("T6", long, {"basic"}, "lncRNA")
    longest = _tx("T5", long)
    tie = _tx("T4", long)

    def pick(*transcripts: Transcript) -> str:
        gene = Gene("G", "G", "chr1", "+", 0, 1000, list(transcripts))
        return canonical_transcript(gene).transcript_id

    assert pick(longest, basic_coding, ensembl, mane) == "T9"
    assert pick(longest, basic_coding, ensembl) == "T8"
    assert pick(longest, basic_noncoding, basic_coding) == "T7"
    assert pick(short_tx := _tx("T1", short), longest) == "T5"
    assert pick(longest, tie) == "T4"  # equal exon length: lowest transcript_id
    assert pick(replace(short_tx, exons=((0, 5), (10, 20))), short_tx) == "T1"
    with pytest.raises(InputError, match="has no transcripts"):
        canonical_transcript(Gene("G", "G", "chr1", "+", 0, 1, []))


def test_gtf_without_exons_is_an_error(test_data: Path, tmp_path: Path) -> None:
    source = test_data / "io" / "snakemake_gencode_chr1_start.gtf.gz"
    lines = gzip.open(source, "rt").read().splitlines(keepends=True)
    path = tmp_path / "no_exons.gtf"
    path.write_text("".join(line for line in lines if line.split("\t")[2] != "exon"))
    with pytest.raises(InputError) as error:
        read_genes(path)
    assert str(error.value) == (
        f"{path}: no exon records found (11 genes, 19 transcripts); "
        "expected a GTF with 'exon' features"
    )


@pytest.mark.parametrize(
    ("bad", "expectation"),
    [
        ("chr1\tHAVANA\texon\t11869\t12227\t.\t+", "expected 9 tab-separated columns, got 7"),
        (
            'chr1\tHAVANA\texon\tx\t12227\t.\t+\t.\tgene_id "G"; transcript_id "T";',
            "expected integer start and end in columns 4-5, got 'x' and '12227'",
        ),
        (
            'chr1\tHAVANA\texon\t300\t200\t.\t+\t.\tgene_id "G"; transcript_id "T";',
            "expected 1 <= start <= end (1-based inclusive), got 300 and 200",
        ),
        ('chr1\tHAVANA\texon\t1\t2\t.\t+\t.\tgene_id "G";', "expected a transcript_id attribute"),
    ],
)
def test_bad_gtf_line(tmp_path: Path, bad: str, expectation: str) -> None:
    path = tmp_path / "bad.gtf"
    good = 'chr1\tHAVANA\texon\t1\t2\t.\t+\t.\tgene_id "G"; transcript_id "T";'
    path.write_text(f"#!header\n{good}\n{bad}\n")
    with pytest.raises(InputError) as error:
        read_genes(path)
    assert str(error.value).startswith(f"{path}:3: {expectation}")


def test_format_detection(test_data: Path, tmp_path: Path) -> None:
    gff = test_data / "io" / "MANE.GRCh38.v1.3.refseq_genomic_10_sample.gff.gz"
    gtf = test_data / "io" / "test_MT.gtf.gz"
    assert detect_format(gff) == "gff3" and detect_format(gtf) == "gtf"
    unnamed_gff, unnamed_gtf = tmp_path / "a.txt.gz", tmp_path / "b.txt.gz"
    shutil.copyfile(gff, unnamed_gff)
    shutil.copyfile(gtf, unnamed_gtf)
    assert detect_format(unnamed_gff) == "gff3" and detect_format(unnamed_gtf) == "gtf"
    assert len(read_genes(unnamed_gtf)) == 1
