"""rnatools annotate --model splicebert: SpliceBERT zero-shot scores in VCF INFO.

Real data: a 10-record subset of the BRCA1 ClinVar example (examples/brca1; written here with
pysam), with the full-size random SpliceBERT.510nt fixture (RNATOOLS_TEST_FIXTURES/splicebert,
seeded random weights in the original layout) and the official SpliceAI weights. The SpliceBERT
numbers are checked against :func:`score_snvs` run directly on windows cut with plain pysam
slicing; the SpliceAI part against a ``--model spliceai`` run. Smaller checks use the small
random fixture (SpliceBERT.510nt-small) and a synthetic genome.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import cache_spliceai_work
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.io.fasta import Fasta
from rnatools.models.lm import load_lm
from rnatools.models.spliceai_weights import installed_weights
from rnatools.scoring.lm_variants import LMVariantOptions, variant_window
from rnatools.scoring.zero_shot import score_snvs

EXAMPLE = Path(__file__).parents[1] / "examples" / "brca1"
FASTA = EXAMPLE / "GRCh38.chr17.brca1.fa.gz"
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def revcomp(sequence: str) -> str:
    return sequence.translate(COMPLEMENT)[::-1]


def info_entries(path: Path, key: str) -> dict[str, tuple[str, ...] | None]:
    with pysam.VariantFile(str(path)) as vcf:
        return {record.id: record.info.get(key) for record in vcf}


@pytest.fixture(scope="module")
def full_model_dir(fixtures_dir) -> Path:
    folder = fixtures_dir / "splicebert" / "models" / "SpliceBERT.510nt"
    if not (folder / "pytorch_model.bin").is_file():
        pytest.skip("full-size SpliceBERT.510nt fixture missing")
    return folder


@pytest.fixture(scope="module")
def small_model_dir(fixtures_dir) -> Path:
    folder = fixtures_dir / "splicebert" / "models" / "SpliceBERT.510nt-small"
    if not (folder / "pytorch_model.bin").is_file():
        pytest.skip("SpliceBERT.510nt-small fixture missing")
    return folder


# ---------------------------------------------------------------------------------------------
# BRCA1 example, full-size model, both models in one pass


@pytest.fixture(scope="module")
def subset_vcf(tmp_path_factory) -> Path:
    """10 records: SNVs on BRCA1 (minus strand; two ALTs at one position), one on RND2 (plus
    strand), an intergenic SNV, a deletion and a record with an SNV and an insertion ALT."""
    path = tmp_path_factory.mktemp("lm_annotate") / "subset.vcf"
    reference = pysam.FastaFile(str(FASTA))
    source = pysam.VariantFile(str(EXAMPLE / "clinvar_brca1.grch38.vcf.gz"))
    clinvar = list(source)
    snvs = [r for r in clinvar if len(r.ref) == 1 and all(len(a) == 1 for a in r.alts)]
    deletion = next(r for r in clinvar if len(r.ref) > 1)
    out = pysam.VariantFile(str(path), "w", header=source.header)

    def synthetic(pos1: int, ident: str, alt_of=lambda ref: [("G" if ref != "G" else "A")]):
        ref = reference.fetch("chr17", pos1 - 1, pos1).upper()
        return out.new_record(contig="chr17", start=pos1 - 1, alleles=(ref, *alt_of(ref)), id=ident)

    chosen = [
        synthetic(43_030_000, "rnd2_snv"),  # RND2, + strand
        synthetic(43_040_000, "intergenic_snv"),  # between RND2 and BRCA1
        deletion,
        snvs[0],
        snvs[2],
        snvs[3],  # same position as snvs[2], other ALT
        synthetic(snvs[5].pos, "multi", lambda ref: [snvs[5].alts[0], ref + "T"]),
        snvs[9],
        snvs[10],
        snvs[20],
    ]
    assert snvs[2].pos == snvs[3].pos
    for record in sorted(chosen, key=lambda r: r.pos):
        out.write(record)
    out.close()
    source.close()
    reference.close()
    return path


_CACHE: dict[bytes, object] = {}


@pytest.fixture(scope="module")
def annotated(subset_vcf, full_model_dir):
    """Run ``--model spliceai,splicebert`` and ``--model spliceai`` once for the module.

    SpliceAI's model outputs are cached by input (as in test_annotate_cli), so the second run
    costs no model time; it still goes through the whole SpliceAI path of the command.
    """
    folder = subset_vcf.parent
    common = ("-i", subset_vcf, "-f", FASTA, "-a", "grch38", "--device", "cpu")
    with pytest.MonkeyPatch.context() as patch:
        cache_spliceai_work(patch, _CACHE)
        patch.delenv("RNATOOLS_SPLICEBERT_WEIGHTS", raising=False)
        both = invoke(
            "annotate",
            *common,
            "-o",
            folder / "both.vcf",
            "--model",
            "spliceai,splicebert",
            "--lm-weights",
            full_model_dir,
            "--lm-strand",
            "+",
            "--skip-report",
            folder / "both.skips.tsv",
        )
        assert both.exit_code == 0, both.output
        alone = invoke("annotate", *common, "-o", folder / "spliceai.vcf")
        assert alone.exit_code == 0, alone.output
    return folder


@needs_spliceai
@pytest.mark.weights
def test_both_info_keys_in_one_pass(annotated):
    text = (annotated / "both.vcf").read_text()
    headers = [line for line in text.splitlines() if line.startswith("##INFO=<ID=Splice")]
    assert [line.split(",")[0] for line in headers] == [
        "##INFO=<ID=SpliceAI",
        "##INFO=<ID=SpliceBERT",
    ]
    lm_header = headers[1]
    for words in (
        "Number=.",
        "Type=String",
        "splicebert-510",
        "510-nt window",
        "d=1..100",
        "N past contig ends",
        "ALLELE|SYMBOL|KL_CONTEXT|DELTA_LOGP",
    ):
        assert words in lm_header
    lm = info_entries(annotated / "both.vcf", "SpliceBERT")
    spliceai = info_entries(annotated / "both.vcf", "SpliceAI")
    number = r"-?\d+\.\d{4}"
    import re

    for ident, entries in lm.items():
        assert entries is not None, ident
        for entry in entries:
            allele, symbol, kl, delta = entry.split("|")
            if ident == "182075" or allele == "TT":  # deletion, insertion ALT: undefined
                assert (kl, delta) == (".", "."), entry
                continue
            assert re.fullmatch(number, kl) and re.fullmatch(number, delta), entry
            assert -2000 < float(kl) < 0 and abs(float(delta)) < 20, entry
            expected_symbol = {"rnd2_snv": "RND2", "intergenic_snv": "."}.get(ident, "BRCA1")
            assert symbol == expected_symbol
    assert lm["182075"] == ("A|BRCA1|.|.",)
    assert len(lm["multi"]) == 2 and lm["multi"][1] == "TT|BRCA1|.|."
    assert spliceai["intergenic_snv"] is None  # SpliceAI never scores outside transcripts
    skips = (annotated / "both.skips.tsv").read_text().splitlines()
    assert skips[0] == "#CHROM\tPOS\tID\tREF\tALT\tREASON"
    reasons = {tuple(row.split("\t")[i] for i in (2, 5)) for row in skips[1:]}
    assert reasons == {("intergenic_snv", "intergenic"), ("182075", "lm_not_snv")}


@needs_spliceai
@pytest.mark.weights
def test_spliceai_part_is_identical_to_a_spliceai_run(annotated):
    def without_splicebert(path: Path) -> list[str]:
        lines = []
        for line in path.read_text().splitlines():
            if line.startswith("##INFO=<ID=SpliceBERT"):
                continue
            if not line.startswith("#"):
                fields = line.split("\t")
                info = [i for i in fields[7].split(";") if not i.startswith("SpliceBERT=")]
                fields[7] = ";".join(info) or "."
                line = "\t".join(fields)
            lines.append(line)
        return lines

    assert "SpliceBERT" not in (annotated / "spliceai.vcf").read_text()
    assert without_splicebert(annotated / "both.vcf") == without_splicebert(
        annotated / "spliceai.vcf"
    )
    assert sum(v is not None for v in info_entries(annotated / "spliceai.vcf", "SpliceAI").values())
    assert info_entries(annotated / "both.vcf", "SpliceAI") == info_entries(
        annotated / "spliceai.vcf", "SpliceAI"
    )


@needs_spliceai
@pytest.mark.weights
def test_values_equal_score_snvs_on_the_strand_window(annotated, subset_vcf, full_model_dir):
    """The printed numbers are score_snvs on the window cut by plain slicing: reverse-complemented
    for the minus-strand BRCA1 SNV (REF/ALT complemented), forward for the RND2 SNV."""
    lm_entries = info_entries(annotated / "both.vcf", "SpliceBERT")
    model = load_lm("splicebert-510", full_model_dir, device="cpu")
    reference = pysam.FastaFile(str(FASTA))
    with pysam.VariantFile(str(subset_vcf)) as vcf:
        records = {r.id: (r.pos, r.ref, r.alts) for r in vcf}
    for ident, strand in (("182170", "-"), ("rnd2_snv", "+")):
        pos1, ref, alts = records[ident]
        pos0 = pos1 - 1
        forward = reference.fetch("chr17", pos0 - 255, pos0 + 255).upper()
        assert forward[255] == ref
        if strand == "-":
            window, index, alt = revcomp(forward), 254, alts[0].translate(COMPLEMENT)
            assert window[index] == ref.translate(COMPLEMENT)
        else:
            window, index, alt = forward, 255, alts[0]
        scores = score_snvs(model, [window], index, [alt])
        _, _, kl, delta = lm_entries[ident][0].split("|")
        # to the printed precision (.4f: half a unit of 1e-4), plus float32 noise from batching
        assert abs(float(kl) - scores.kl_context[0]) <= 5e-5 + 1e-4, (kl, scores.kl_context)
        assert abs(float(delta) - scores.delta_logp[0]) <= 5e-5 + 1e-6, (delta, scores)
    reference.close()


# ---------------------------------------------------------------------------------------------
# Windows


def test_minus_window_is_the_reverse_complement_of_the_plus_window():
    with Fasta(FASTA) as fasta:
        for pos0 in (43_045_793, 43_030_000, 43_045_794):
            plus, plus_index = variant_window(fasta, "chr17", pos0, 510, "+")
            minus, minus_index = variant_window(fasta, "chr17", pos0, 510, "-")
            assert len(plus) == len(minus) == 510
            assert minus == revcomp(plus)
            assert (plus_index, minus_index) == (255, 254)
            assert plus[plus_index] == fasta.fetch("chr17", pos0, pos0 + 1)
            assert minus[minus_index] == plus[plus_index].translate(COMPLEMENT)
            assert plus == fasta.fetch("chr17", pos0 - 255, pos0 + 255)
        # odd window, and N-padding past both contig ends
        plus, index = variant_window(fasta, "chr17", 3, 11, "+")
        assert (plus, index) == ("NN" + fasta.fetch("chr17", 0, 9), 5)
        end = fasta.length("chr17")
        minus, index = variant_window(fasta, "chr17", end - 2, 10, "-")
        assert minus == "NNN" + revcomp(fasta.fetch("chr17", end - 7, end)) and index == 4


# ---------------------------------------------------------------------------------------------
# Small model, synthetic genome: splicebert alone, N-padding, skips, errors


@pytest.fixture
def synthetic(tmp_path):
    """A 400-nt contig with a minus-strand gene over [20, 380) and a VCF near its start."""
    rng = np.random.default_rng(4)
    sequence = "".join(rng.choice(list("ACGT"), 400))
    (tmp_path / "ref.fa").write_text(f">c1\n{sequence}\n")
    (tmp_path / "genes.txt").write_text(
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "GENEM\tc1\t-\t20\t380\t20,300,\t100,380,\n"
    )
    pos1 = 30
    ref = sequence[pos1 - 1]
    alt = "A" if ref != "A" else "C"
    rows = [
        f"c1\t{pos1}\tnear_start\t{ref}\t{alt}",
        f"c1\t{pos1 + 1}\tindel\t{sequence[pos1]}\t{sequence[pos1]}GG",
        f"c1\t{pos1 + 2}\tmismatch\t{'A' if sequence[pos1 + 1] != 'A' else 'C'}\tG",
        "c1\t395\toutside\t" + sequence[394] + "\t" + ("A" if sequence[394] != "A" else "C"),
    ]
    (tmp_path / "in.vcf").write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=c1,length=400>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + "".join(f"{row}\t.\t.\t.\n" for row in rows)
    )
    return tmp_path, sequence, pos1, ref, alt


def _run_small(folder, model_dir, *extra):
    return invoke(
        "annotate",
        "-i",
        folder / "in.vcf",
        "-o",
        folder / "out.vcf",
        "-f",
        folder / "ref.fa",
        "-a",
        folder / "genes.txt",
        "--model",
        "splicebert",
        "--lm-weights",
        model_dir,
        "--lm-window",
        "101",
        "--weights",
        folder / "no_spliceai_weights_here",  # SpliceAI must not be loaded
        "--device",
        "cpu",
        "--skip-report",
        folder / "skips.tsv",
        *extra,
    )


def test_splicebert_alone_pads_with_n_and_reports_skips(synthetic, small_model_dir):
    folder, sequence, pos1, ref, alt = synthetic
    result = _run_small(folder, small_model_dir)
    assert result.exit_code == 0, result.output
    text = (folder / "out.vcf").read_text()
    assert "SpliceAI" not in text
    entries = info_entries(folder / "out.vcf", "SpliceBERT")
    assert entries["indel"] == (f"{sequence[pos1]}GG|GENEM|.|.",)
    assert entries["mismatch"] is None and entries["outside"] is None
    # the window of POS 30 (pos0 29) starts 21 nt before the contig: N-padded, then reversed
    pos0 = pos1 - 1
    forward = "N" * 21 + sequence[: pos0 + 51]
    assert len(forward) == 101
    window = revcomp(forward)
    model = load_lm("splicebert-510", small_model_dir, device="cpu")
    scores = score_snvs(model, [window], 50, [alt.translate(COMPLEMENT)])
    (entry,) = entries["near_start"]
    assert entry == f"{alt}|GENEM|{scores.kl_context[0]:.4f}|{scores.delta_logp[0]:.4f}"
    rows = (folder / "skips.tsv").read_text().splitlines()[1:]
    assert [(row.split("\t")[2], row.split("\t")[5]) for row in rows] == [
        ("indel", "lm_not_snv"),
        ("mismatch", "lm_ref_mismatch"),
        ("outside", "lm_intergenic"),
    ]
    # --lm-strand scores the record outside the gene on that strand, SYMBOL '.'
    result = _run_small(
        folder, small_model_dir, "--lm-strand", "-", "--strict", "--batch-size", "1"
    )
    assert result.exit_code == 1 and "lm_ref_mismatch" in result.output  # strict: mismatch only
    mismatch_free = (
        (folder / "in.vcf")
        .read_text()
        .replace(
            [line for line in (folder / "in.vcf").read_text().splitlines() if "mismatch" in line][0]
            + "\n",
            "",
        )
    )
    (folder / "in.vcf").write_text(mismatch_free)
    result = _run_small(
        folder, small_model_dir, "--lm-strand", "-", "--strict", "--batch-size", "1"
    )
    assert result.exit_code == 0, result.output  # lm_not_snv is not a --strict error
    outside = info_entries(folder / "out.vcf", "SpliceBERT")["outside"]
    outside_ref = sequence[394]
    outside_alt = "A" if outside_ref != "A" else "C"
    forward = sequence[394 - 50 :] + "N" * 45
    scores = score_snvs(model, [revcomp(forward)], 50, [outside_alt.translate(COMPLEMENT)])
    assert outside == (f"{outside_alt}|.|{scores.kl_context[0]:.4f}|{scores.delta_logp[0]:.4f}",)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--model", "spliceai,mmsplice"), 2, "comma-separated list"),
        (("--model", "splicebert", "--lm-window", "600"), 2, "exceeds the 510 nt"),
    ],
)
def test_usage_errors(synthetic, small_model_dir, args, code, message):
    folder = synthetic[0]
    result = _run_small(folder, small_model_dir, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not (folder / "out.vcf").exists()


def test_missing_lm_weights_exit_3_only_when_an_snv_needs_them(synthetic, monkeypatch):
    folder = synthetic[0]
    monkeypatch.delenv("RNATOOLS_SPLICEBERT_WEIGHTS", raising=False)
    common = ("annotate", "-f", folder / "ref.fa", "-a", folder / "genes.txt", "-m", "splicebert")
    result = invoke(*common, "-i", folder / "in.vcf", "-o", folder / "out.vcf")
    assert result.exit_code == 3 and "RNATOOLS_SPLICEBERT_WEIGHTS" in result.output
    only_indel = [
        line
        for line in (folder / "in.vcf").read_text().splitlines(keepends=True)
        if line.startswith("#") or "\tindel\t" in line
    ]
    (folder / "indel.vcf").write_text("".join(only_indel))
    result = invoke(*common, "-i", folder / "indel.vcf", "-o", folder / "indel.out.vcf")
    assert result.exit_code == 0, result.output


def test_options_reject_bad_values():
    with pytest.raises(Exception, match="strand"):
        LMVariantOptions(unannotated_strand="x")
    with pytest.raises(Exception, match=">= 3"):
        LMVariantOptions(window=2)
