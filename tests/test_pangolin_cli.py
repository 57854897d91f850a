"""rnatools pangolin (the drop-in): files, formats and errors with a stand-in network; the 36
BRCA1 records with the real weights against Pangolin's own strings."""

from __future__ import annotations

import csv
import sqlite3

import pysam
import pytest
from test_pangolin_scoring import (
    BRCA_START0,
    ORACLE,
    TinyPangolin,
    assert_same_text,
    brca1_row,
    write_chr17,
)
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import load_gene_table
from rnatools.scoring.pangolin import PangolinOptions, PangolinScorer, pangolin_info_header
from rnatools.scoring.variants import Variant


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def gtf_line(chrom, feature, start1, end1, strand, gene, transcript=None, name=None):
    attributes = f'gene_id "{gene}";'
    if transcript:
        attributes += f' transcript_id "{transcript}";'
    if name:
        attributes += f' gene_name "{name}";'
    return f"{chrom}\ttest\t{feature}\t{start1}\t{end1}\t.\t{strand}\t.\t{attributes}\n"


@pytest.fixture
def genome(tmp_path):
    """chr1 (600 nt) with a + gene (two transcripts) and a - gene; a GTF of them."""
    import numpy as np

    rng = np.random.default_rng(11)
    chr1 = "".join(rng.choice(list("ACGT"), 600))
    fasta = tmp_path / "genome.fa"
    fasta.write_text(f">chr1\n{chr1}\n")
    gtf = tmp_path / "genes.gtf"
    gtf.write_text(
        gtf_line("chr1", "gene", 101, 500, "+", "GP", name="PLUSGENE")
        + gtf_line("chr1", "transcript", 101, 500, "+", "GP", "TP1", "PLUSGENE")
        + gtf_line("chr1", "exon", 101, 200, "+", "GP", "TP1", "PLUSGENE")
        + gtf_line("chr1", "exon", 301, 500, "+", "GP", "TP1", "PLUSGENE")
        + gtf_line("chr1", "transcript", 101, 450, "+", "GP", "TP2", "PLUSGENE")
        + gtf_line("chr1", "exon", 101, 240, "+", "GP", "TP2", "PLUSGENE")
        + gtf_line("chr1", "exon", 331, 450, "+", "GP", "TP2", "PLUSGENE")
        + gtf_line("chr1", "gene", 150, 400, "-", "GM", name="MINUSGENE")
        + gtf_line("chr1", "transcript", 150, 400, "-", "GM", "TM1", "MINUSGENE")
        + gtf_line("chr1", "exon", 150, 230, "-", "GM", "TM1", "MINUSGENE")
        + gtf_line("chr1", "exon", 320, 400, "-", "GM", "TM1", "MINUSGENE")
    )
    return tmp_path, chr1, fasta, gtf


@pytest.fixture
def tiny_model(monkeypatch):
    """load_model('pangolin', ...) gives the stand-in network (no weights needed)."""
    import rnatools.pipelines.annotate as pipeline

    seen = []

    def fake_load_model(name, weights=None, *, engine=None, **kwargs):
        seen.append(name)
        return TinyPangolin(incremental=True)

    monkeypatch.setattr(pipeline, "load_model", fake_load_model)
    return seen


def expected(chrom_seq, fasta, gtf, variants, mask=True, distance=50):
    with Fasta(fasta) as reference:
        scorer = PangolinScorer(
            TinyPangolin(), reference, load_gene_table(gtf), PangolinOptions(distance, mask)
        )
        return [outcome.entries for outcome in scorer.annotate(variants)]


def test_vcf_dropin_writes_prefix_vcf_with_pangolin_groups(genome, tiny_model):
    folder, chr1, fasta, gtf = genome
    ref = {pos1: chr1[pos1 - 1] for pos1 in (210, 260, 50)}
    other = {pos1: "A" if base != "A" else "C" for pos1, base in ref.items()}
    vcf = folder / "in.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=600>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t210\tsnv2\t{ref[210]}\t{other[210]},<DEL>\t.\t.\t.\n"
        f"chr1\t260\tdel\t{chr1[259:262]}\t{chr1[259]}\t.\t.\t.\n"
        f"chr1\t50\tintergenic\t{ref[50]}\t{other[50]}\t.\t.\t.\n"
    )
    result = invoke("pangolin", vcf, fasta, gtf, folder / "out", "-d", "20")
    assert result.exit_code == 0, result.output
    assert tiny_model == ["pangolin"]
    assert "3 records" in result.output and "pangolin_intergenic 1" in result.output
    variants = [
        Variant("chr1", 210, ref[210], (other[210], "<DEL>")),
        Variant("chr1", 260, chr1[259:262], (chr1[259],)),
        Variant("chr1", 50, ref[50], (other[50],)),
    ]
    want = expected(chr1, fasta, gtf, variants, mask=True, distance=20)
    header_line = pangolin_info_header(PangolinOptions(20, True))
    with pysam.VariantFile(str(folder / "out.vcf")) as out:
        assert header_line in str(out.header)
        got = [list(record.info.get("Pangolin") or ()) for record in out]
    assert got == want
    entries = pytest.importorskip("rnatools.scoring.entries")
    parsed = entries.parse_entries("Pangolin", ",".join(got[0]), alts=(other[210], "<DEL>"))
    assert [(e.allele, e.gene) for e in parsed] == [(other[210], "GP"), (other[210], "GM")]
    first = got[0]
    assert first[1] == "." and first[0].startswith("GP|") and "|GM|" in first[0]
    assert first[0].count("Warnings:") == 2  # + gene, then - gene (Pangolin's order)


def test_mask_false_and_csv_with_column_ids(genome, tiny_model):
    folder, chr1, fasta, gtf = genome
    path = folder / "in.csv"
    rows = [["id", "chromosome", "position", "reference", "alternative"]]
    for number, pos1 in enumerate((205, 305, 20)):
        base = chr1[pos1 - 1]
        rows.append([f"v{number}", "chr1", str(pos1), base.lower(), "G" if base != "G" else "T"])
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = invoke(
        "pangolin", path, fasta, gtf, folder / "scored", "-m", "False", "-d", "10",
        "-c", "chromosome,position,reference,alternative",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with open(folder / "scored.csv", newline="") as handle:
        out = list(csv.reader(handle))
    assert out[0] == [*rows[0], "Pangolin"]
    assert [row[:5] for row in out[1:]] == rows[1:]
    variants = [Variant("chr1", int(r[2]), r[3].upper(), (r[4],)) for r in rows[1:]]
    want = expected(chr1, fasta, gtf, variants, mask=False, distance=10)
    assert [row[5] for row in out[1:]] == [",".join(entries) for entries in want]
    assert out[3][5] == ""  # intergenic: no score, the row kept


def test_gffutils_database_is_refused(genome, tiny_model):
    folder, _, fasta, _ = genome
    database = folder / "genes.db"
    sqlite3.connect(database).execute("create table features (id text)").connection.close()
    vcf = folder / "in.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    result = invoke("pangolin", vcf, fasta, database, folder / "out")
    assert result.exit_code == 1
    assert "gffutils database" in result.output and "pass the GTF" in result.output
    assert not (folder / "out.vcf").exists() and tiny_model == []


@pytest.mark.parametrize(
    ("args", "message"),
    [(("-m", "yes"), "True or False"), (("-c", "CHROM,POS"), "4 column names")],
)
def test_usage_errors(genome, tiny_model, args, message):
    folder, _, fasta, gtf = genome
    path = folder / "in.csv"
    path.write_text("CHROM,POS,REF,ALT\nchr1,205,A,G\n")
    result = invoke("pangolin", path, fasta, gtf, folder / "out", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_input_must_be_vcf_or_csv(genome):
    folder, _, fasta, gtf = genome
    path = folder / "variants.tsv"
    path.write_text("x\n")
    result = invoke("pangolin", path, fasta, gtf, folder / "out")
    assert result.exit_code == 2 and ".vcf (.vcf.gz, .bcf) or .csv" in result.output


# ---------------------------------------------------------------------------------------------
# real weights: Pangolin's examples/brca.vcf records 1-3 (SNVs) through the drop-in (-m True)


def test_brca1_dropin_matches_pangolin(tmp_path):
    from test_pangolin_scoring import _weights

    weights = _weights()
    try:
        from rnatools.models.registry import get_model_info

        get_model_info("pangolin")
    except (ImportError, KeyError, ValueError) as exc:
        pytest.skip(f"Pangolin adapter not available: {exc}")
    fasta = write_chr17(tmp_path / "chr17.fa")
    row = brca1_row()
    gtf = tmp_path / "brca1.gtf"
    lines = [gtf_line("chr17", "gene", row.tx_start0 + 1, row.tx_end0, "-", row.gene_id)]
    lines.append(
        gtf_line("chr17", "transcript", row.tx_start0 + 1, row.tx_end0, "-", row.gene_id, "T")
    )
    for start0, end0 in row.site_exons0:
        lines.append(gtf_line("chr17", "exon", start0 + 1, end0, "-", row.gene_id, "T"))
    gtf.write_text("".join(lines))
    chosen = (1, 2, 3)
    body = "".join(
        f"17\t{int(ORACLE['var_pos_hg38'][i])}\tr{i}\t{ORACLE['var_ref'][i]}\t"
        f"{ORACLE['var_alt'][i]}\t.\t.\t.\n"
        for i in chosen
    )
    vcf = tmp_path / "brca.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=17>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + body
    )
    result = invoke(
        "pangolin", vcf, fasta, gtf, tmp_path / "out", "--weights", weights, "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as out:
        values = [record.info["Pangolin"] for record in out]
    assert len(values) == len(chosen) and BRCA_START0 < int(ORACLE["var_pos_hg38"][0])
    for i, (value,) in zip(chosen, values, strict=True):
        tolerance = 0.0100001 if i == 2 else 1e-9
        assert_same_text(value, str(ORACLE["var_pangolin_mask_true"][i]), tolerance)
