"""rnatools score: variant texts, and the numbers against annotate on a VCF of the same variants
(real SpliceAI weights, CPU; model work shared within this module)."""

from __future__ import annotations

import io
from pathlib import Path

import pysam
import pytest
from conftest import cache_spliceai_work
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.errors import UsageError
from rnatools.models.spliceai_weights import installed_weights
from rnatools.pipelines.score import (
    ScoreSettings,
    columns_for,
    format_tsv,
    parse_variant,
    parse_variants,
    read_variant_lines,
    run_score,
    write_vcf,
)
from rnatools.scoring.variants import Variant

ROOT = Path(__file__).parent.parent
FASTA = ROOT / "examples" / "brca1" / "GRCh38.chr17.brca1.fa.gz"
needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)
# Three ClinVar BRCA1 variants of examples/brca1 (IDs 37673, 267606, 125846), in the three forms.
TEXTS = ["chr17:43047642:C:T", "chr17-43045804-T-A", "chr17:43047704 C>G"]

_CACHE: dict[bytes, object] = {}


@pytest.fixture(autouse=True)
def shared_model_outputs(monkeypatch):
    cache_spliceai_work(monkeypatch, _CACHE)


def test_variant_forms():
    expected = Variant("chr17", 43047642, "C", ("T",))
    assert parse_variant("chr17:43047642:C:T") == expected
    assert parse_variant("chr17-43047642-C-T") == expected
    assert parse_variant("chr17:43047642 C>T") == expected
    assert parse_variant(" chr17:43047642:c:t ") == expected
    assert parse_variant("chr17:43047641:AC:A,G") == Variant("chr17", 43047641, "AC", ("A", "G"))
    assert parse_variants(["chr17:43047642", "C>T", "17-5-A-G"]) == [
        expected,
        Variant("17", 5, "A", ("G",)),
    ]
    assert read_variant_lines(io.StringIO("# comment\n\nchr1:5:A:G\n chr1-6-C-T \n")) == [
        "chr1:5:A:G",
        "chr1-6-C-T",
    ]


@pytest.mark.parametrize(
    "text",
    ["chr17:43047642", "chr17:0:C:T", "chr17:12:C:<DEL>", "rs123", "chr17:12:C>T", "chr17-12-C"],
)
def test_bad_variant_names_text_and_forms(text):
    with pytest.raises(UsageError) as info:
        parse_variants([text])
    message = str(info.value)
    assert repr(text) in message and "chr:pos:ref:alt" in message and "chr-pos-ref-alt" in message


def test_temporary_vcf_is_sorted_with_input_ids(tmp_path):
    variants = parse_variants(["chr17:43047704:C:G", "chr17:43045804:T:A", "chrUn:5:A:G"])
    write_vcf(tmp_path / "v.vcf", variants, FASTA)
    with pysam.VariantFile(str(tmp_path / "v.vcf")) as vcf:
        assert vcf.header.contigs["chr17"].length == 83_257_441
        rows = [(r.chrom, r.pos, r.id) for r in vcf]
    assert rows == [("chr17", 43045804, "v1"), ("chr17", 43047704, "v0"), ("chrUn", 5, "v2")]


def test_columns_by_model():
    assert columns_for(["spliceai"])[:5] == ("variant", "model", "allele", "gene", "ds_ag")
    assert "gain" in columns_for(["pangolin"]) and "ds_ag" not in columns_for(["pangolin"])
    assert columns_for(["spliceai"])[-1] == "skip"


def _annotate_entries(tmp_path: Path, variants: list[Variant], distance: int) -> list[str]:
    """annotate on a VCF of ``variants`` written here (input order), every SpliceAI entry."""
    from rnatools.pipelines.annotate import AnnotateSettings, run_annotate

    vcf = tmp_path / "three.vcf"
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr17,length=83257441>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    for v in sorted(variants, key=lambda v: v.pos1):
        lines.append(f"{v.chrom}\t{v.pos1}\t{v.chrom}:{v.pos1}\t{v.ref}\t{v.alts[0]}\t.\t.\t.")
    vcf.write_text("\n".join(lines) + "\n")
    out = tmp_path / "three.out.vcf"
    run_annotate(
        AnnotateSettings(
            input=vcf,
            output=out,
            fasta=FASTA,
            annotation="grch38",
            max_distance=distance,
            device="cpu",
        )
    )
    by_id = {}
    with pysam.VariantFile(str(out)) as annotated:
        for record in annotated:
            by_id[record.id] = list(record.info["SpliceAI"])
    return [entry for v in variants for entry in by_id[f"{v.chrom}:{v.pos1}"]]


@needs_spliceai
@pytest.mark.weights
def test_score_equals_annotate(tmp_path):
    variants = parse_variants(TEXTS)
    result = run_score(
        ScoreSettings(variants=variants, fasta=FASTA, annotation="grch38", device="cpu")
    )
    expected = _annotate_entries(tmp_path, variants, 50)
    assert len(expected) == 3
    got = [
        "|".join(
            [row["allele"], row["gene"]]
            + [
                row[c]
                for c in ("ds_ag", "ds_al", "ds_dg", "ds_dl", "dp_ag", "dp_al", "dp_dg", "dp_dl")
            ]
        )
        for row in result.rows
    ]
    assert got == expected
    # The README's BRCA1 donor variant: a strong donor loss one nt away.
    assert expected[0] == "T|BRCA1|0.00|0.00|0.37|0.95|-4|34|-4|1"
    assert [row["variant"] for row in result.rows] == [
        "chr17:43047642:C:T",
        "chr17:43045804:T:A",
        "chr17:43047704:C:G",
    ]
    assert all(row["skip"] == "." for row in result.rows)
    assert float(result.rows[0]["ds_max"]) == 0.95


@needs_spliceai
@pytest.mark.weights
def test_cli_tsv_when_piped_stdin_and_skips():
    stdin = "# variants\nchr17:43047642:C:T\nchr17:43047642:A:T\n"
    result = CliRunner().invoke(
        app,
        ["score", "-", "chr17-100-N-A", "-f", str(FASTA), "-a", "grch38", "--device", "cpu"],
        input=stdin,
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines[0].startswith("#variant\tmodel\tallele\tgene\tds_ag")
    rows = [line.split("\t") for line in lines[1:]]
    assert rows[0][:4] == ["chr17:43047642:C:T", "spliceai", "T", "BRCA1"]
    assert rows[0][4:12] == ["0.00", "0.00", "0.37", "0.95", "-4", "34", "-4", "1"]
    assert (rows[1][0], rows[1][-1]) == ("chr17:43047642:A:T", "ref_mismatch")
    assert (rows[2][0], rows[2][-1]) == ("chr17:100:N:A", "intergenic")
    assert "not scored: intergenic 1, ref_mismatch 1" in result.stderr


def test_cli_bad_variant_is_a_usage_error():
    result = CliRunner().invoke(app, ["score", "chr17:43047642:C", "-f", str(FASTA), "-a", "x"])
    assert result.exit_code == 2
    assert "variant 'chr17:43047642:C': expected chr:pos:ref:alt" in result.stderr


def test_format_tsv():
    from rnatools.pipelines.score import ScoreResult

    result = ScoreResult(
        ("variant", "model", "skip"), [{"variant": "a", "model": "m", "skip": "."}]
    )
    assert format_tsv(result) == "#variant\tmodel\tskip\na\tm\t.\n"


def test_entry_rows_of_each_format():
    from rnatools.errors import InputError
    from rnatools.pipelines.score import entry_rows

    (delta,) = entry_rows("v", "spliceai", "SpliceAI", ["GT|G1|.|.|.|.|.|.|.|."])
    assert (delta["allele"], delta["ds_ag"], delta["dp_dl"], delta["ds_max"]) == (
        "GT",
        ".",
        ".",
        ".",
    )
    (masked,) = entry_rows("v", "spliceai", "SpliceAI", ["A|G1|-0.00|0.12|0.00|0.30|1|-2|3|-4"])
    assert (masked["ds_ag"], masked["ds_max"], masked["dp_dl"]) == ("-0.00", "0.30", "-4")
    pangolin = entry_rows(
        "v",
        "pangolin",
        "Pangolin",
        ["G1|-4:0.18|1:-0.73|Warnings:", "G1|2:0.01|-3:0.00|Warnings:"],
        ("T", "C"),
    )
    got = [(r["allele"], r["gain"], r["gain_pos"], r["loss"], r["loss_pos"]) for r in pangolin]
    assert got == [("T", "0.18", "-4", "-0.73", "1"), ("C", "0.01", "2", "0.00", "-3")]
    (lm,) = entry_rows("v", "splicebert", "SpliceBERT", ["A|G1|0.0123|-0.4567"])
    assert (lm["kl_context"], lm["delta_logp"]) == ("0.0123", "-0.4567")
    with pytest.raises(InputError, match="SpliceAI entry"):
        entry_rows("v", "spliceai", "SpliceAI", ["A|G1|0.1"])


def test_terminal_table_prints_text_literally():
    from rnatools.cli import score as score_cli
    from rnatools.pipelines.score import ScoreResult

    columns = columns_for(["spliceai"])
    row = {column: "." for column in columns}
    row.update(variant="chr1:5:A:G", model="spliceai", allele="G", gene="[red]G1", ds_ag="0.42")
    with score_cli.stdout.capture() as captured:
        score_cli._print_table(ScoreResult(columns, [row]))
    text = captured.get()
    assert "[red]G1" in text and "0.42" in text and "ds_ag" in text
    assert "dp_dl" not in text  # columns holding only '.' are left out
