"""rnatools report: the HTML page of an annotated VCF (tests/data/plot: 51 ClinVar BRCA1
records annotated by rnatools annotate), parsed back; figures with the real SpliceAI weights;
a headless-Chromium screenshot when a browser is installed."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pysam
import pytest
from conftest import cache_spliceai_work
from typer.testing import CliRunner

from rnatools.cli.main import app
from rnatools.models.spliceai_weights import installed_weights
from rnatools.plotting.html import clingen_class
from rnatools.scoring.entries import max_score

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "plot"
ANNOTATED = DATA / "brca1_clinvar_subset.spliceai.vcf"
FASTA = ROOT / "examples" / "brca1" / "GRCh38.chr17.brca1.fa.gz"
VOID = {"meta", "br", "img", "hr", "input", "link", "rect", "line"}

_CACHE: dict[bytes, object] = {}


@pytest.fixture(autouse=True)
def shared_model_outputs(monkeypatch):
    cache_spliceai_work(monkeypatch, _CACHE)


class Page(HTMLParser):
    """Checks that every element is closed in order and collects the tables' cells."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.table: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.images: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("src", "href"):
            value = attributes.get(name) or ""
            if value and not value.startswith("data:"):
                self.external.append(value)
        if tag == "img":
            self.images.append(attributes.get("src", ""))
        if tag == "script":
            self.scripts += 1
        if tag not in VOID and not (tag == "path"):
            self.stack.append(tag)
        if tag == "table":
            self.table = attributes.get("id", "")
            self.tables[self.table] = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()
        if tag in ("td", "th") and self.row is not None:
            self.row.append("".join(self.cell or []))
            self.cell = None
        elif tag == "tr" and self.table is not None:
            self.tables[self.table].append(self.row or [])
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert page.stack == [], page.stack
    return page


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _record_maxima() -> list[float]:
    with pysam.VariantFile(str(ANNOTATED)) as vcf:
        return [max_score("SpliceAI", list(r.info["SpliceAI"])) for r in vcf]


def test_report_tables(tmp_path):
    out = tmp_path / "report.html"
    skips = tmp_path / "skips.tsv"  # annotate --skip-report's format (rows made up here)
    skips.write_text(
        "#CHROM\tPOS\tID\tREF\tALT\tREASON\nchr17\t5\t.\tA\tG\tintergenic\n"
        "chr17\t6\t.\tA\t<DEL>\tsymbolic_allele\nchr17\t7\t.\tA\tG\tintergenic\n"
    )
    result = invoke("report", ANNOTATED, "-o", out, "--top", 12, "--skip-report", skips)
    assert result.exit_code == 0, result.output
    page = parse(out)
    assert page.external == [] and page.scripts == 1
    header, *rows = page.tables["top"]
    assert header[:6] == ["rank", "variant", "ID", "gene", "allele", "max score"]
    assert len(rows) == 12
    scores = [float(row[5]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    maxima = sorted(_record_maxima(), reverse=True)
    assert scores == [float(f"{m:.2f}") for m in maxima[:12]]
    for row in rows:
        assert row[9] == clingen_class(float(row[8]))
    assert rows[0][2] == "125856" and rows[0][9] == "PP3"
    assert page.tables["skips"][1:] == [["intergenic", "2"], ["symbolic_allele", "1"]]
    overview = dict(tuple(r) for r in page.tables["overview"][1:])
    assert overview["records"] == "51"
    assert overview["SpliceAI: records with a numeric score"] == "51"
    genes = page.tables["genes"][1:]
    assert genes[0][0] == "BRCA1" and genes[0][1] == "51"
    assert int(genes[0][2]) == sum(m >= 0.2 for m in maxima)
    assert int(genes[0][3]) == sum(m <= 0.1 for m in maxima)
    text = out.read_text()
    assert "doi:10.1016/j.ajhg.2023.06.002" in text and "<svg" in text
    assert "records (count)" in text and "max delta score (probability)" in text


def test_histogram_counts_every_record():
    from rnatools.pipelines.report import ReportSettings, build_report

    data, summary = build_report(ReportSettings(input=ANNOTATED, output="x.html"))
    (histogram,) = data.histograms
    assert sum(histogram.counts) == 51 == summary.records
    maxima = _record_maxima()
    assert histogram.counts[-1] == sum(m >= 0.95 for m in maxima)
    assert data.skip_source.startswith("Derived from the VCF")


def test_user_text_is_escaped_and_skips_derived(tmp_path):
    vcf = tmp_path / "odd.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
        '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAI">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t10\t<script>x</script>\tA\tG\t.\t.\tSpliceAI=G|<b>G&1</b>|0.30|0.00|0.00|0.00|2|0|0|0\n"
        "chr1\t20\tr2\tAC\tGT\t.\t.\tSpliceAI=GT|G1|.|.|.|.|.|.|.|.\n"
        "chr1\t30\tr3\tA\tG\t.\t.\t.\n"
    )
    out = tmp_path / "odd.html"
    result = invoke("report", vcf, "-o", out)
    assert result.exit_code == 0, result.output
    page = parse(out)
    assert page.scripts == 1  # the ID did not become a script
    text = out.read_text()
    assert "&lt;script&gt;x&lt;/script&gt;" in text and "&lt;b&gt;G&amp;1&lt;/b&gt;" in text
    (row,) = page.tables["top"][1:]
    assert row[1:4] == ["chr1:10 A>G", "<script>x</script>", "<b>G&1</b>"]
    assert row[9] == "PP3"
    skips = dict(tuple(r) for r in page.tables["skips"][1:])
    assert list(skips.values()) == ["1", "1"]
    assert any("MNV" in reason for reason in skips)


def test_bad_entry_is_an_input_error(tmp_path):
    vcf = tmp_path / "bad.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=1000>\n"
        '##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAI">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr1\t10\tr1\tA\tG\t.\t.\tSpliceAI=G|X|0.30\n"
    )
    result = invoke("report", vcf, "-o", tmp_path / "bad.html")
    assert result.exit_code == 1 and "chr1:10" in result.stderr
    assert not (tmp_path / "bad.html").exists()
    result = invoke("report", vcf, "-o", tmp_path / "x.html", "-f", FASTA)
    assert result.exit_code == 2 and "-a/--annotation" in result.stderr


@pytest.mark.skipif(installed_weights() is None, reason="needs the spliceai package")
@pytest.mark.weights
def test_report_embeds_figures(tmp_path):
    pytest.importorskip("matplotlib", reason="figures need matplotlib")
    out = tmp_path / "figures.html"
    result = invoke(
        "report",
        ANNOTATED,
        "-o",
        out,
        "--top",
        5,
        "--plots",
        1,
        "-f",
        FASTA,
        "-a",
        "grch38",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    page = parse(out)
    assert len(page.images) == 1 and page.images[0].startswith("data:image/png;base64,")
    text = out.read_text()
    assert "#1 chr17:43045803 C&gt;T (ID 125856), ±50 nt" in text


def test_opens_in_headless_chromium(tmp_path):
    browser = next(
        (
            shutil.which(name)
            for name in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(name)
        ),
        None,
    )
    if browser is None:
        pytest.skip("no Chromium installed (chromium, chromium-browser or google-chrome on PATH)")
    out = tmp_path / "report.html"
    assert invoke("report", ANNOTATED, "-o", out).exit_code == 0
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            out.as_uri(),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
