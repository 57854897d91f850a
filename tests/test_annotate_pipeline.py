"""The annotate pipeline called from Python (no CLI): settings in, files and a summary out.

Oracle: SpliceAI 1.3.1's own batch test (tests/data/annotate, see its PROVENANCE.md): 18 records
on hg19 chr19, ``-A grch37 -D 50 -M 0``; the output must equal the official output byte for byte,
header included.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from rnatools.errors import InputError, UsageError
from rnatools.models.spliceai_weights import installed_weights
from rnatools.pipelines.annotate import AnnotateSettings, AnnotateSummary, run_annotate

DATA = Path(__file__).parent / "data" / "annotate"

needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)


class _Recorder:
    """A progress factory that keeps what the pipeline reported."""

    def __init__(self):
        self.calls: list[tuple[str, float | None, str]] = []
        self.advanced = 0.0

    @contextlib.contextmanager
    def __call__(self, description: str, total: float | None = None, unit: str = ""):
        self.calls.append((description, total, unit))
        yield self

    def advance(self, amount: float = 1) -> None:
        self.advanced += amount


@needs_spliceai
@pytest.mark.weights
@pytest.mark.slow
def test_batch_test_from_python(tmp_path):
    out = tmp_path / "out.vcf"
    report = tmp_path / "skips.tsv"
    progress = _Recorder()
    settings = AnnotateSettings(
        input=DATA / "batch_test.vcf",
        output=out,
        fasta=DATA / "chr19_grch37_small.fa.gz",
        annotation="grch37",
        max_distance=50,
        skip_report=report,
        device="cpu",
        threads=2,
        block_size=7,  # several blocks, the last one short
    )
    summary = run_annotate(settings, progress=progress)

    lines = out.read_text().splitlines(keepends=True)
    settings_lines = [line for line in lines if line.startswith("##rnatools_settings=")]
    assert len(settings_lines) == 1 and "distance=50" in settings_lines[0]
    assert "mask=0" in settings_lines[0] and "annotation=grch37" in settings_lines[0]
    kept = "".join(line for line in lines if line not in settings_lines)
    assert kept == (DATA / "batch_test_expected.vcf").read_text()
    assert isinstance(summary, AnnotateSummary)
    assert summary.records == 18
    assert summary.skipped == {"ref_mismatch": 4, "symbolic_allele": 1}  # issue 15, item 16
    assert summary.model_windows is not None and summary.model_windows > 14
    assert summary.lm_snv_scores is None
    assert summary.elapsed_s > 0
    assert (summary.output, summary.files, summary.device) == (str(out), (out, report), "cpu")
    assert [row.split("\t")[-1] for row in report.read_text().splitlines()[1:]] == [
        # issue 15 (item 16): REF is checked for every record; records 1-3 (19:1-3, REF C)
        # lie where the FASTA holds N, so they are ref_mismatch, no longer intergenic
        "ref_mismatch",
        "ref_mismatch",
        "ref_mismatch",
        "ref_mismatch",
        "symbolic_allele",
    ]
    assert progress.calls == [("annotating", None, "records")]
    assert progress.advanced == 18


@needs_spliceai
@pytest.mark.weights
@pytest.mark.slow
def test_overlapped_stages_write_the_official_output(tmp_path):
    """overlap=True on the CPU (reading and preparing on one thread, writing on another, the
    model on the caller's): the official batch test's output byte for byte, every block."""
    out = tmp_path / "out.vcf"
    progress = _Recorder()
    summary = run_annotate(
        AnnotateSettings(
            input=DATA / "batch_test.vcf",
            output=out,
            fasta=DATA / "chr19_grch37_small.fa.gz",
            annotation="grch37",
            max_distance=50,
            device="cpu",
            threads=2,
            block_size=2,
            overlap=True,
        ),
        progress=progress,
    )
    lines = out.read_text().splitlines(keepends=True)
    kept = "".join(line for line in lines if not line.startswith("##rnatools_settings="))
    assert kept == (DATA / "batch_test_expected.vcf").read_text()
    assert summary.records == 18 and progress.advanced == 18
    assert summary.skipped == {"ref_mismatch": 4, "symbolic_allele": 1}


HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=19,length=1500000>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def test_all_skipped_needs_no_model_work(tmp_path):
    vcf = tmp_path / "in.vcf"
    # REF as in the FASTA (issue 15: REF is checked for intergenic records too)
    vcf.write_text(HEADER + "19\t500003\ta\tC\tA\t.\t.\t.\n19\tx\tb\tC\tA\t.\t.\t.\n")
    table = tmp_path / "genes.txt"
    table.write_text(
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "G1\t19\t+\t1228000\t1229000\t1228000,\t1229000,\n"
    )
    summary = run_annotate(
        AnnotateSettings(
            input=vcf,
            output=tmp_path / "out.vcf",
            fasta=DATA / "chr19_grch37_small.fa.gz",
            annotation=table,
            device="cpu",
            keep_malformed=True,  # issue 15 (item 2): a malformed line is an error by default
        )
    )
    assert summary.records == 2
    assert summary.skipped == {"intergenic": 1, "malformed": 1}
    assert summary.model_windows == 0
    lines = (tmp_path / "out.vcf").read_text().splitlines()
    # issue 15 (item 2): kept verbatim, never dropped
    assert [line.split("\t")[2] for line in lines if not line.startswith("#")] == ["a", "b"]


@pytest.mark.parametrize("overlap", [False, True])
def test_errors_of_the_reading_and_writing_stages_stop_the_run(tmp_path, overlap):
    """With overlap the reader and the writer run on their own threads: a strict error found
    while reading and a malformed line met while writing (both line 7) still stop the run
    with the file and line named, and no output is left behind."""
    from rnatools.io.fasta import Fasta

    table = tmp_path / "genes.txt"
    table.write_text(
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "G1\t19\t+\t1228000\t1229000\t1228000,\t1229000,\n"
    )
    with Fasta(DATA / "chr19_grch37_small.fa.gz") as fasta:
        bases = fasta.fetch("19", 500_002, 500_006)  # POS 500003-500006
    intergenic = "".join(
        f"19\t{500_003 + i}\tr{i}\t{bases[i]}\t{'A' if bases[i] != 'A' else 'C'}\t.\t.\t.\n"
        for i in range(3)
    )  # data lines 4-6, REF as in the FASTA
    wrong_ref = "G" if bases[3] != "G" else "T"
    cases = {  # the offending record is data line 7 in both
        "strict": (HEADER + intergenic + f"19\t500006\tbad\t{wrong_ref}\tA\t.\t.\t.\n", True),
        "malformed": (HEADER + intergenic + "19\tx\tbad\tC\tA\t.\t.\t.\n", False),
    }
    for name, (text, strict) in cases.items():
        vcf = tmp_path / f"{name}.vcf"
        vcf.write_text(text)
        out = tmp_path / f"{name}.out.vcf"
        with pytest.raises(InputError) as caught:
            run_annotate(
                AnnotateSettings(
                    input=vcf,
                    output=out,
                    fasta=DATA / "chr19_grch37_small.fa.gz",
                    annotation=table,
                    device="cpu",
                    strict=strict,
                    block_size=1,
                    overlap=overlap,
                )
            )
        assert caught.value.line == 7, (name, str(caught.value))
        assert str(vcf) in str(caught.value)
        assert not out.exists() and list(tmp_path.glob(f"*{name}.out*")) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_distance", 5000),
        ("max_distance", -1),
        ("models", ("spliceai", "mmsplice")),
        ("models", ("openspliceai-mane", "openspliceai-mane-80")),
        ("models", ()),
        ("index", "bai"),
        ("batch_size", 0),
        ("block_size", 0),
        ("threads", -1),
        ("lm_model", "rnabert"),
        ("lm_window", 2),
        ("lm_strand", "x"),
    ],
)
def test_settings_name_the_field_at_fault(field, value):
    with pytest.raises(UsageError) as caught:
        AnnotateSettings(
            input="-", output="-", fasta="ref.fa", annotation="grch38", **{field: value}
        )
    assert caught.value.parameter == field


def test_settings_are_frozen_and_keyword_only():
    settings = AnnotateSettings(
        input="in.vcf", output="out.vcf", fasta="ref.fa", annotation="grch38", regions=["1:1-5"]
    )
    assert settings.regions == ("1:1-5",) and settings.models == ("spliceai",)
    with pytest.raises(AttributeError):
        settings.max_distance = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        AnnotateSettings("in.vcf", "out.vcf", "ref.fa", "grch38")  # type: ignore[misc]
