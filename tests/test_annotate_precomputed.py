"""annotate with precomputed scores (issue 13): copied entries, only misses computed.

Real SpliceAI weights (the installed spliceai package) on 10 ClinVar BRCA1 records; the
precomputed files are rnatools' own outputs of the same records (tests/data/precomputed).
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

import rnatools.pipelines.annotate as annotate_pipeline
from rnatools.errors import UsageError
from rnatools.models.spliceai_weights import installed_weights
from rnatools.pipelines.annotate import AnnotateSettings, run_annotate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "precomputed"
EXAMPLE = ROOT / "examples" / "brca1"

pytestmark = pytest.mark.skipif(
    installed_weights() is None, reason="needs the SpliceAI weights: pip install spliceai==1.3.1"
)


def _settings(tmp_path: Path, name: str, **extra) -> AnnotateSettings:
    return AnnotateSettings(
        input=DATA / "query.vcf",
        output=tmp_path / name,
        fasta=EXAMPLE / "GRCh38.chr17.brca1.fa.gz",
        annotation=EXAMPLE / "brca1.gtf",
        device="cpu",
        threads=1,
        **extra,
    )


def _index(plain: Path) -> Path:
    compressed = Path(f"{plain}.gz")
    pysam.tabix_compress(str(plain), str(compressed), force=True)
    pysam.tabix_index(str(compressed), preset="vcf", force=True)
    return compressed


@pytest.fixture(scope="module")
def computed(tmp_path_factory) -> tuple[Path, Path]:
    """The computed output of query.vcf and a bgzipped, indexed copy of it."""
    folder = tmp_path_factory.mktemp("computed")
    summary = run_annotate(_settings(folder, "computed.vcf"))
    assert summary.work["SpliceAI"] > 0
    return folder / "computed.vcf", _index(folder / "computed.vcf")


def _refuse_models(monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(annotate_pipeline, "load_model", no_model)


def test_every_record_found_loads_no_model(tmp_path, computed, monkeypatch):
    plain, indexed = computed
    _refuse_models(monkeypatch)
    summary = run_annotate(_settings(tmp_path, "out.vcf", precomputed=(indexed,)))
    assert (tmp_path / "out.vcf").read_bytes() == plain.read_bytes()
    assert summary.precomputed["SpliceAI"]["hits"] == 10
    assert summary.precomputed["SpliceAI"]["misses"] == 0
    assert summary.work["SpliceAI"] == 0


def test_half_found_equals_the_full_computation(tmp_path, computed):
    plain, _ = computed
    lines = plain.read_text().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    records = [line for line in lines if not line.startswith("#")]
    half = tmp_path / "half.vcf"
    half.write_text("".join(header + records[::2]))
    summary = run_annotate(_settings(tmp_path, "out.vcf", precomputed=(_index(half),)))
    assert (tmp_path / "out.vcf").read_bytes() == plain.read_bytes()
    assert summary.precomputed["SpliceAI"]["hits"] == 5
    assert summary.precomputed["SpliceAI"]["misses"] == 5
    assert 0 < summary.work["SpliceAI"]


def test_lookup_only_counts_the_misses(tmp_path, computed, monkeypatch):
    plain, _ = computed
    lines = plain.read_text().splitlines(keepends=True)
    records = [line for line in lines if not line.startswith("#")]
    half = tmp_path / "half.vcf"
    half.write_text("".join([line for line in lines if line.startswith("#")] + records[:4]))
    _refuse_models(monkeypatch)
    summary = run_annotate(
        _settings(tmp_path, "out.vcf", precomputed=(_index(half),), precomputed_only=True)
    )
    assert summary.skipped == {"not_precomputed": 6}
    written = [
        line for line in (tmp_path / "out.vcf").read_text().splitlines() if line[0] != "#"
    ]
    assert written[:4] == [line.rstrip("\n") for line in records[:4]]
    assert all("SpliceAI=" not in line for line in written[4:])


def test_other_settings_are_refused_naming_the_setting(tmp_path, computed):
    _, indexed = computed
    with pytest.raises(UsageError) as caught:
        run_annotate(_settings(tmp_path, "out.vcf", precomputed=(indexed,), max_distance=500))
    assert caught.value.parameter == "precomputed"
    assert "distance" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out.vcf").exists()
