"""rnatools annotate / spliceai against SpliceAI 1.3.1's own outputs (real weights, CPU, fp32).

Oracles: the official test values and batch test (tests/data/annotate, see its PROVENANCE.md) and
the official CLI run on a synthetic genome (RNATOOLS_TEST_FIXTURES/spliceai_cli_synthetic).
Model outputs are cached per batch within this module, so runs that differ only in masking, in
the output format or in the command's spelling (annotate vs the drop-in spliceai) share them.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pysam
import pytest
from conftest import cache_spliceai_work
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.models.spliceai_weights import installed_weights

DATA = Path(__file__).parent / "data" / "annotate"


needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)

_CACHE: dict[bytes, object] = {}


@pytest.fixture(autouse=True)
def shared_model_outputs(monkeypatch):
    """Cache SpliceAI's work within this module (see ``conftest.cache_spliceai_work``)."""
    cache_spliceai_work(monkeypatch, _CACHE)


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def records(path: Path) -> list[str]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


def spliceai_fields(path: Path) -> list[tuple[str, str]]:
    """(record id, SpliceAI value or '') per record."""
    out = []
    with pysam.VariantFile(str(path)) as vcf:
        for record in vcf:
            value = record.info.get("SpliceAI")
            out.append((f"{record.id}:{record.pos}", ",".join(value) if value else ""))
    return out


# ---------------------------------------------------------------------------------------------
# Official test values (docs/spliceai-scoring.md; expected_delta_scores.tsv)


def _expected_rows() -> list[dict]:
    rows = []
    for line in (DATA / "expected_delta_scores.tsv").read_text().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        (repo, _, chrom, pos, ref, alt, distance, mask, annotation, expected, _note) = fields
        if "PR#65" in repo:  # needs the PR's GFF annotator (its gene symbol format)
            continue
        rows.append(
            dict(
                chrom=chrom,
                pos=int(pos),
                ref=ref,
                alt=alt,
                distance=int(distance),
                mask=int(mask),
                expected=expected,
            )
        )
    return rows


def _write_vcf(path: Path, chrom: str, rows: list[dict]) -> None:
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={chrom},length=110000>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines += [
        f"{chrom}\t{r['pos']}\trow{i}\t{r['ref']}\t{r['alt']}\t.\t.\t." for i, r in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n")


@needs_spliceai
@pytest.mark.weights
@pytest.mark.parametrize("naming", ["chr10", "10"])
def test_official_and_gpf_test_values(tmp_path, naming):
    rows = _expected_rows()
    assert len(rows) == 7
    fasta = tmp_path / "test.fa"
    if naming == "chr10":
        shutil.copy(DATA / "test.fa", fasta)
    else:  # the same sequence named ">10", like SpliceAI's test_without_prefix.fa
        fasta.write_text((DATA / "test.fa").read_text().replace(">chr10", ">10", 1))
    for distance in sorted({r["distance"] for r in rows}):
        subset = [r for r in rows if r["distance"] == distance]
        vcf = tmp_path / f"in{distance}.vcf"
        _write_vcf(vcf, naming, subset)
        out = tmp_path / f"out{distance}.vcf"
        result = invoke(
            "annotate",
            "-i",
            vcf,
            "-o",
            out,
            "-f",
            fasta,
            "-a",
            "grch37",
            "-d",
            distance,
            "--threads",
            2,
        )
        assert result.exit_code == 0, result.output
        got = [value for _, value in spliceai_fields(out)]
        assert got == [r["expected"] for r in subset]


@needs_spliceai
@pytest.mark.weights
def test_gff3_annotation_matches_spliceai_pr65(tmp_path):
    """-a GFF3: one row built from RefSeq NM_177987.3 gives PR #65's numbers (its GffAnnotator)."""
    rows = [
        line.split("\t")
        for line in (DATA / "expected_delta_scores.tsv").read_text().splitlines()
        if "PR#65" in line
    ]
    assert len(rows) == 2
    vcf = tmp_path / "in.vcf"
    _write_vcf(vcf, "chr10", [dict(pos=int(r[3]), ref=r[4], alt=r[5]) for r in rows])
    out = tmp_path / "out.vcf"
    result = invoke(
        "annotate",
        "-i",
        vcf,
        "-o",
        out,
        "-f",
        DATA / "test.fa",
        "-a",
        DATA / "test.gff.gz",
        "-d",
        500,
        "--threads",
        2,
    )
    assert result.exit_code == 0, result.output
    # PR #65 names the gene GENE:TUBB8;NAME:NM_177987.3; the numbers are what must agree
    expected = [r[9].replace("GENE:TUBB8;NAME:NM_177987.3", "TUBB8") for r in rows]
    assert [value for _, value in spliceai_fields(out)] == expected


# ---------------------------------------------------------------------------------------------
# The official batch test (chr19, 19 records, -D 50)


@needs_spliceai
@pytest.mark.weights
def test_batch_test_dropin_and_annotate_forms(tmp_path):
    expected = DATA / "batch_test_expected.vcf"
    out = tmp_path / "dropin.vcf"
    result = invoke(
        "spliceai",
        "-I",
        DATA / "batch_test.vcf",
        "-O",
        out,
        "-R",
        DATA / "chr19_grch37_small.fa.gz",
        "-A",
        "grch37",
        "-D",
        50,
        "-M",
        0,
        "--threads",
        2,
    )
    assert result.exit_code == 0, result.output
    assert out.read_text() == expected.read_text()  # byte for byte, header included

    compressed = tmp_path / "annotate.vcf.gz"
    report = tmp_path / "skips.tsv"
    result = invoke(
        "annotate",
        "-i",
        DATA / "batch_test.vcf",
        "-o",
        compressed,
        "-f",
        DATA / "chr19_grch37_small.fa.gz",
        "-a",
        "grch37",
        "-d",
        50,
        "--index",
        "tbi",
        "--skip-report",
        report,
        "--threads",
        2,
    )
    assert result.exit_code == 0, result.output
    assert records(compressed) == records(expected)
    assert (tmp_path / "annotate.vcf.gz.tbi").is_file()
    assert [line.split("\t")[-1] for line in report.read_text().splitlines()[1:]] == [
        # issue 15 (item 16): REF is checked for every record; records 1-3 (19:1-3, REF C)
        # lie where the FASTA holds N, so they are ref_mismatch, no longer intergenic
        "ref_mismatch",
        "ref_mismatch",
        "ref_mismatch",
        "ref_mismatch",
        "symbolic_allele",
    ]
    assert "ref_mismatch 4, symbolic_allele 1" in result.stderr.replace("\n", " ")


# ---------------------------------------------------------------------------------------------
# Official CLI on the synthetic genome (242 records; 3 settings)


def _compare(got: Path, expected: Path) -> tuple[int, int]:
    """(score fields differing by exactly 0.01, score fields in all); anything else fails."""
    differing = total = 0
    for (gid, gvalue), (eid, evalue) in zip(
        spliceai_fields(got), spliceai_fields(expected), strict=True
    ):
        assert gid == eid
        if gvalue == evalue:
            total += 4 * evalue.count("|") // 9 if evalue else 0
            continue
        gentries, eentries = gvalue.split(","), evalue.split(",")
        assert len(gentries) == len(eentries), (gid, gvalue, evalue)
        for g, e in zip(gentries, eentries, strict=True):
            gf, ef = g.split("|"), e.split("|")
            assert gf[:2] == ef[:2] and gf[6:] == ef[6:], (gid, g, e)  # allele, gene, positions
            for a, b in zip(gf[2:6], ef[2:6], strict=True):
                total += 1
                if a != b:
                    assert abs(float(a) - float(b)) == pytest.approx(0.01), (gid, g, e)
                    differing += 1
    return differing, total


@pytest.fixture(scope="module")
def synthetic_dir(fixtures_dir):
    folder = fixtures_dir / "spliceai_cli_synthetic"
    if not folder.is_dir():
        pytest.skip("spliceai_cli_synthetic fixture missing")
    return folder


@needs_spliceai
@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.parametrize(
    ("form", "distance", "mask", "oracle"),
    [
        ("annotate", 50, 0, "out.D50.vcf"),
        ("spliceai", 50, 1, "out.D50.M1.vcf"),
        ("annotate", 500, 0, "out.D500.vcf"),
    ],
)
def test_synthetic_official_cli_outputs(tmp_path, synthetic_dir, form, distance, mask, oracle):
    folder = synthetic_dir
    out = tmp_path / "out.vcf"
    if form == "annotate":
        args = [
            "annotate",
            "-i",
            folder / "in.vcf",
            "-o",
            out,
            "-f",
            folder / "ref.fa",
            "-a",
            folder / "annot.txt",
            "-d",
            distance,
        ] + (["--mask"] if mask else [])
    else:
        args = [
            "spliceai",
            "-I",
            folder / "in.vcf",
            "-O",
            out,
            "-R",
            folder / "ref.fa",
            "-A",
            folder / "annot.txt",
            "-D",
            distance,
            "-M",
            mask,
        ]
    result = invoke(*args, "--threads", 2)
    assert result.exit_code == 0, result.output
    differing, total = _compare(out, folder / oracle)
    print(f"{oracle}: {differing} of {total} score fields differ by 0.01")
    assert total > 900
    assert differing <= 0.005 * total
    # columns 1-7 of every record are passed through unchanged
    assert [r.split("\t")[:7] for r in records(out)] == [
        r.split("\t")[:7] for r in records(folder / oracle)
    ]


# ---------------------------------------------------------------------------------------------
# Bad input (no weights needed: nothing reaches the model)

HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=19,length=1500000>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def _annotate(tmp_path, vcf_text: str, *extra: str, table: Path | None = None):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(vcf_text)
    if table is None:
        table = tmp_path / "genes.txt"
        table.write_text(
            "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
            "G1\t19\t+\t1228000\t1229000\t1228000,\t1229000,\n"
        )
    out = tmp_path / "out.vcf"
    result = invoke(
        "annotate",
        "-i",
        vcf,
        "-o",
        out,
        "-f",
        DATA / "chr19_grch37_small.fa.gz",
        "-a",
        table,
        *extra,
    )
    return result, out


def test_skips_are_reported_and_records_pass_through(tmp_path):
    text = HEADER + (
        "19\t500003\ta\tC\tA\t.\t.\t.\n"  # intergenic (REF as in the FASTA)
        "19\t1228434\tb\tZ\tA\t.\t.\t.\n"  # ref mismatch
        "19\tx\tc\tC\tA\t.\t.\t.\n"  # malformed: kept verbatim (--keep-malformed), reported
        "19\t1228443\td\tG\t<DEL>\t.\t.\t.\n"  # symbolic
        "19\t1228442\te\tGG\tCC\t.\t.\t.\n"  # MNV: '.' entry
        "19\t1228440\tf\tC\t.\t.\t.\t.\n"  # no ALT
        + "19\t1228441\tg\t"
        + "T" * 101
        + "\tT\t.\t.\t.\n"  # ref mismatch before ref too long
    )
    report = tmp_path / "skips.tsv"
    result, out = _annotate(tmp_path, text, "--skip-report", report, "--keep-malformed")
    assert result.exit_code == 0, result.output
    got = records(out)
    # issue 15 (item 2): a malformed line is never dropped; kept verbatim with the opt-in
    assert [line.split("\t")[2] for line in got] == ["a", "b", "c", "d", "e", "f", "g"]
    assert got[4].split("\t")[7].strip() == "SpliceAI=CC|G1|.|.|.|.|.|.|.|."
    reasons = [line.split("\t")[-1] for line in report.read_text().splitlines()[1:]]
    assert sorted(reasons) == sorted(
        [
            "intergenic",
            "ref_mismatch",
            "malformed",
            "symbolic_allele",
            "mnv",
            "symbolic_allele",
            "ref_mismatch",
        ]
    )


def test_strict_turns_skips_into_errors_and_leaves_no_output(tmp_path):
    result, out = _annotate(tmp_path, HEADER + "19\t1228434\tb\tZ\tA\t.\t.\t.\n", "--strict")
    assert result.exit_code == 1
    assert "ref_mismatch" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.vcf*"))
    intergenic_only, _ = _annotate(
        tmp_path, HEADER + "19\t500003\ta\tC\tA\t.\t.\t.\n", "--strict"
    )  # REF as in the FASTA: REF is checked for intergenic records too (issue 15)
    assert intergenic_only.exit_code == 0


def test_near_contig_end_and_ref_too_long(tmp_path):
    table = tmp_path / "edge.txt"
    table.write_text(
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "E\t19\t+\t0\t1500000\t0,\t1500000,\n"
    )
    with pysam.FastaFile(str(DATA / "chr19_grch37_small.fa.gz")) as fasta:
        end_base = fasta.fetch("chr19", 1_499_990, 1_499_991).upper()
        long_ref = fasta.fetch("chr19", 1_228_000, 1_228_101).upper()
    text = (
        HEADER + f"19\t1499991\tend\t{end_base}\tN\t.\t.\t.\n"
        f"19\t1228001\tlong\t{long_ref}\t{long_ref[0]}\t.\t.\t.\n"
    )
    report = tmp_path / "r.tsv"
    result, out = _annotate(tmp_path, text, "--skip-report", report, table=table)
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[-1] for line in report.read_text().splitlines()[1:]] == [
        "near_contig_end",
        "ref_too_long",
    ]
    assert len(records(out)) == 2


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-d", "5000"], 2, "--distance"),
        (["-d", "-1"], 2, "--distance"),
        (["--index", "tbi"], 2, "--index"),
    ],
)
def test_usage_errors(tmp_path, args, code, message):
    result, out = _annotate(tmp_path, HEADER, *args)
    assert result.exit_code == code
    assert message in result.output + result.stderr


def test_unreadable_inputs_are_one_line_errors(tmp_path):
    result, _ = _annotate(tmp_path, "19\t5\ta\tC\tA\t.\t.\t.\n")  # no header
    assert result.exit_code == 1 and "header" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    bad_table = tmp_path / "bad.txt"
    bad_table.write_text("NAME\tCHROM\n")
    result, _ = _annotate(tmp_path, HEADER, table=bad_table)
    assert result.exit_code == 1 and "header" in result.stderr
    result = invoke(
        "annotate", "-i", tmp_path / "missing.vcf", "-f", DATA / "test.fa", "-a", bad_table
    )
    assert result.exit_code == 1


def test_header_line_is_the_reference_tools(tmp_path):
    result, out = _annotate(tmp_path, HEADER + "19\t5\ta\tC\tA\t.\t.\t.\n")
    assert result.exit_code == 0
    expected = [
        line
        for line in (DATA / "batch_test_expected.vcf").read_text().splitlines()
        if line.startswith("##INFO=<ID=SpliceAI")
    ]
    assert [
        line for line in out.read_text().splitlines() if line.startswith("##INFO=<ID=SpliceAI")
    ] == expected


def test_bcf_output_with_csi_index(tmp_path):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(HEADER + "19\t5\ta\tC\tA\t.\t.\t.\n19\t6\tb\tC\tA\t.\t.\t.\n")
    out = tmp_path / "out.bcf"
    result = invoke(
        "annotate",
        "-i",
        vcf,
        "-o",
        out,
        "-f",
        DATA / "chr19_grch37_small.fa.gz",
        "-a",
        DATA / "test.gff.gz",
        "--index",
        "csi",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.bcf.csi").is_file()
    with pysam.VariantFile(str(out)) as bcf:
        assert [r.id for r in bcf] == ["a", "b"]
        assert "SpliceAI" in bcf.header.info
    wrong = invoke(
        "annotate",
        "-i",
        vcf,
        "-o",
        tmp_path / "x.bcf",
        "-f",
        DATA / "test.fa",
        "-a",
        DATA / "test.gff.gz",
        "--index",
        "tbi",
    )
    assert wrong.exit_code == 2


def test_unsorted_input_with_index_is_a_one_line_error(tmp_path):
    vcf = tmp_path / "in.vcf"
    vcf.write_text(HEADER + "19\t6\tb\tC\tA\t.\t.\t.\n19\t5\ta\tC\tA\t.\t.\t.\n")  # unsorted
    out = tmp_path / "out.vcf.gz"
    result = invoke(
        "annotate", "-i", vcf, "-o", out, "-f", DATA / "chr19_grch37_small.fa.gz",
        "-a", DATA / "test.gff.gz", "--index", "tbi",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "not sorted" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf"]  # nothing half-written
