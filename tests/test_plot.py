"""rnatools plot variant / plot region: deterministic figures on synthetic arrays, and the real
BRCA1 example (SpliceAI weights, CPU): the SVG's delta labels equal annotate's entry; region
tracks computed equal the ones read back from predict's bigWigs."""

from __future__ import annotations

import builtins
import importlib.util
import io
import re
from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import cache_spliceai_work
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.errors import UsageError
from rnatools.io.gene_table import GeneRow
from rnatools.models.spliceai_weights import installed_weights
from rnatools.plotting import PlotDependencyError, require_matplotlib
from rnatools.plotting.style import save_figure
from rnatools.plotting.variant import VariantPanel, draw_variant_figure

ROOT = Path(__file__).parent.parent
FASTA = ROOT / "examples" / "brca1" / "GRCh38.chr17.brca1.fa.gz"
GTF = ROOT / "examples" / "brca1" / "brca1.gtf"
SUBSET = Path(__file__).parent / "data" / "plot" / "brca1_clinvar_subset.vcf"
needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="figures need matplotlib (pip install 'rnatools[plot]')",
)
needs_spliceai = pytest.mark.skipif(
    installed_weights() is None,
    reason="needs the spliceai package (pip install 'rnatools[spliceai]')",
)
LABEL = re.compile(r">(DS_A[GL]|DS_D[GL]) (-?\d+\.\d\d) at (-?\d+) nt[ <]")

_CACHE: dict[bytes, object] = {}


@pytest.fixture(autouse=True)
def shared_model_outputs(monkeypatch):
    cache_spliceai_work(monkeypatch, _CACHE)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _synthetic_panel() -> VariantPanel:
    gene = GeneRow("GENE1", "chr1", "-", 900, 2100, (950, 1400), (1100, 1600), transcript_id="T1")
    n = 201
    ref_acceptor = np.zeros(n, dtype=np.float32)
    ref_acceptor[40] = 0.9
    alt_acceptor = ref_acceptor.copy()
    alt_acceptor[40] = 0.2
    alt_acceptor[150] = 0.6
    donor = np.zeros(n, dtype=np.float32)
    donor[180] = 0.8
    return VariantPanel(
        "spliceai",
        gene,
        "T",
        1000 - 100,
        ref_acceptor,
        donor,
        alt_acceptor,
        donor.copy(),
        "T|GENE1|0.60|0.70|0.00|0.00|50|-60|0|-2",
    )


def _render(fmt: str) -> bytes:
    require_matplotlib()
    import matplotlib.pyplot as plt

    fig = draw_variant_figure("chr1", 1001, "C", [_synthetic_panel()])
    buffer = io.BytesIO()
    save_figure(fig, buffer, fmt, 100)
    plt.close(fig)
    return buffer.getvalue()


@needs_matplotlib
def test_svg_is_deterministic_and_holds_labels():
    first, second = _render("svg"), _render("svg")
    assert first == second
    text = first.decode()
    assert LABEL.findall(text) == [
        ("DS_AG", "0.60", "50"),
        ("DS_AL", "0.70", "-60"),
        ("DS_DG", "0.00", "0"),
        ("DS_DL", "0.00", "-2"),
    ]
    assert "DS_AL 0.70 at -60 nt (REF 0.90 → ALT 0.20)" in text
    assert "acceptor" in text and "probability" in text and "position on chr1 (nt" in text
    # minus strand: exon 1 is the right-most, outside the view; exon 2 is drawn
    assert "exon 2" in text and "exon 1" not in text and "GENE1 T1" in text
    assert "<dc:date>" not in text


@needs_matplotlib
def test_png_and_pdf_are_deterministic():
    png = _render("png")
    assert png == _render("png") and png.startswith(b"\x89PNG")
    assert b"Software\x00rnatools" in png
    pdf = _render("pdf")
    assert pdf == _render("pdf") and pdf.startswith(b"%PDF")
    assert b"CreationDate" not in pdf


def test_missing_matplotlib_exits_3(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(PlotDependencyError):
        require_matplotlib()
    result = invoke(
        "plot", "variant", "chr17:43047642:C:T", "-f", FASTA, "-a", GTF, "-o", tmp_path / "x.png"
    )
    assert result.exit_code == 3
    assert "pip install 'rnatools[plot]'" in result.stderr
    assert not (tmp_path / "x.png").exists()


@needs_matplotlib
def test_bad_options_are_usage_errors(tmp_path):
    result = invoke(
        "plot", "variant", "chr17:43047642:C:T", "-f", FASTA, "-a", GTF, "-o", tmp_path / "x.jpg"
    )
    assert result.exit_code == 2 and "use .png, .svg or .pdf" in result.stderr
    result = invoke("plot", "variant", "-f", FASTA, "-a", GTF, "-o", tmp_path / "x.png")
    assert result.exit_code == 2 and "give a variant or a VCF record" in result.stderr
    result = invoke("plot", "region", "chr17:5-1", "-f", FASTA, "-o", tmp_path / "x.png")
    assert result.exit_code == 2 and "region 'chr17:5-1'" in result.stderr
    from rnatools.pipelines.plot import PlotRegionSettings

    with pytest.raises(UsageError, match="at most"):
        PlotRegionSettings(output="x.png", region="chr17:1-2000000", fasta=FASTA)


def test_region_strands_and_genes():
    from rnatools.io.gene_table import GeneTable
    from rnatools.pipelines.plot import bigwig_prefix, region_genes, region_strands

    minus = GeneRow("A", "chr17", "-", 100, 200, (100,), (200,))
    plus = GeneRow("B", "chr17", "+", 150, 400, (150,), (400,))
    table = GeneTable([minus, plus])
    assert region_genes(table, "chr17", 0, 120) == [minus]
    assert region_genes(table, "17", 190, 300) == [minus, plus]  # chr prefix rule
    assert region_genes(table, "chr17", 200, 300) == [plus]  # half-open: A ends at 200
    assert region_genes(table, "chr1", 0, 1000) == []
    assert region_strands("auto", [minus]) == ["-"]
    assert region_strands("auto", [minus, plus]) == ["+", "-"]
    assert region_strands("auto", []) == ["+", "-"]
    assert region_strands("+", [minus]) == ["+"]
    assert bigwig_prefix("out/brca1.bw") == "out/brca1" and bigwig_prefix("p") == "p"


def _annotate_entry(tmp_path: Path, distance: int) -> str:
    """annotate's SpliceAI entry for the README's BRCA1 variant (a one-record VCF)."""
    from rnatools.pipelines.annotate import AnnotateSettings, run_annotate

    vcf = tmp_path / "one.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr17\t43047642\t37673\tC\tT\t.\t.\t.\n"
    )
    run_annotate(
        AnnotateSettings(
            input=vcf,
            output=tmp_path / "one.out.vcf",
            fasta=FASTA,
            annotation="grch38",
            max_distance=distance,
            device="cpu",
        )
    )
    with pysam.VariantFile(str(tmp_path / "one.out.vcf")) as out:
        (record,) = list(out)
        (entry,) = record.info["SpliceAI"]
    return entry


def _labels_of(entry: str) -> list[tuple[str, str, str]]:
    fields = entry.split("|")
    return list(zip(("DS_AG", "DS_AL", "DS_DG", "DS_DL"), fields[2:6], fields[6:10], strict=True))


@needs_spliceai
@pytest.mark.weights
@needs_matplotlib
def test_plot_variant_labels_equal_annotate(tmp_path):
    entry = _annotate_entry(tmp_path, 50)
    assert entry == "T|BRCA1|0.00|0.00|0.37|0.95|-4|34|-4|1"
    common = ["-f", FASTA, "-a", "grch38", "-d", "50", "--device", "cpu"]
    for suffix in ("svg", "png", "pdf"):
        result = invoke(
            "plot", "variant", "chr17:43047642:C:T", *common, "-o", tmp_path / f"v.{suffix}"
        )
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"v.{suffix}").stat().st_size > 1000
    svg = (tmp_path / "v.svg").read_text()
    assert LABEL.findall(svg) == _labels_of(entry)
    assert entry in result.stderr  # the summary names the entry it drew
    # the same record taken from a VCF, by ID and by number: the same bytes
    by_id = invoke(
        "plot", "variant", "--vcf", SUBSET, "--id", "37673", *common, "-o", tmp_path / "id.svg"
    )
    assert by_id.exit_code == 0, by_id.output
    number = 1 + [r.id for r in pysam.VariantFile(str(SUBSET))].index("37673")
    by_number = invoke(
        "plot", "variant", "--vcf", SUBSET, "--record", number, *common, "-o", tmp_path / "n.svg"
    )
    assert by_number.exit_code == 0, by_number.output
    assert (tmp_path / "id.svg").read_bytes() == svg.encode() == (tmp_path / "n.svg").read_bytes()
    missing = invoke(
        "plot", "variant", "--vcf", SUBSET, "--id", "nope", *common, "-o", tmp_path / "m.svg"
    )
    assert missing.exit_code == 1 and "no record with ID 'nope'" in missing.stderr


@needs_spliceai
@pytest.mark.weights
@needs_matplotlib
def test_plot_variant_intergenic_is_an_input_error(tmp_path):
    result = invoke(
        "plot",
        "variant",
        "chr17:42500000:N:A",
        "-f",
        FASTA,
        "-a",
        GTF,
        "--device",
        "cpu",
        "-o",
        tmp_path / "x.png",
    )
    assert result.exit_code == 1
    assert "not scored" in result.stderr and not (tmp_path / "x.png").exists()


@needs_spliceai
@pytest.mark.weights
@needs_matplotlib
def test_plot_region_computed_equals_bigwig_tracks(tmp_path):
    from rnatools.pipelines.plot import PlotRegionSettings, read_bigwig_tracks, region_panels
    from rnatools.pipelines.predict import PredictSettings, run_predict

    region = "chr17:43047600-43047720"
    run_predict(
        PredictSettings(
            output=str(tmp_path / "t.bw"),
            fasta=FASTA,
            region=(region,),
            strand="both",
            device="cpu",
        )
    )
    settings = PlotRegionSettings(
        output=tmp_path / "r.png", region=region, fasta=FASTA, device="cpu"
    )
    computed = region_panels(settings, "chr17", 43047599, 43047720, ["+", "-"])
    for panel in computed:
        acceptor, donor = read_bigwig_tracks(
            str(tmp_path / "t"), "chr17", 43047599, 43047720, panel.strand
        )
        np.testing.assert_allclose(panel.acceptor, acceptor, atol=1e-6)
        np.testing.assert_allclose(panel.donor, donor, atol=1e-6)
    # BRCA1's donor at 43047642 (the README variant's neighbour) is a real site on the - strand
    minus = computed[1]
    assert minus.donor[43047643 - 43047600] > 0.5
    result = invoke(
        "plot", "region", region, "-a", GTF, "--tracks", tmp_path / "t.bw", "-o", tmp_path / "r.svg"
    )
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "r.svg").read_text()
    assert "bigWig t" in svg and "BRCA1" in svg and "minus" in svg and "plus" not in svg
    result = invoke(
        "plot",
        "region",
        region,
        "-f",
        FASTA,
        "-a",
        GTF,
        "--device",
        "cpu",
        "-o",
        tmp_path / "r.png",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    missing = invoke(
        "plot", "region", region, "--tracks", tmp_path / "none", "-o", tmp_path / "m.png"
    )
    assert missing.exit_code == 1 and "bigWig not found" in missing.stderr
