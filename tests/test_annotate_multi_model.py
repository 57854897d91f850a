"""Four models in one annotate pass (issue 10): SpliceAI, Pangolin, OpenSpliceAI-MANE and
SpliceBERT read the VCF and the FASTA once, and each INFO key equals its single-model run.

Real weights: SpliceAI from the installed spliceai package, Pangolin and OpenSpliceAI from
``$RNATOOLS_TEST_WEIGHTS`` (``pangolin/``, ``openspliceai_mane/``), SpliceBERT the full-size
random SpliceBERT.510nt fixture of ``$RNATOOLS_TEST_FIXTURES`` (the numbers are the model's,
whatever its weights). Skipped with the reason when one is missing.
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from rnatools.models.spliceai_weights import installed_weights
from rnatools.pipelines.annotate import AnnotateSettings, run_annotate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "brca1"
KEYS = {"spliceai": "SpliceAI", "pangolin": "Pangolin", "openspliceai-mane": "OpenSpliceAI"}


@pytest.fixture(scope="module")
def model_weights(weights_dir, fixtures_dir) -> dict[str, Path]:
    if installed_weights() is None:
        pytest.skip("needs the SpliceAI weights: pip install spliceai==1.3.1")
    found = {
        "pangolin": weights_dir / "pangolin",
        "openspliceai-mane": weights_dir / "openspliceai_mane",
        "splicebert": fixtures_dir / "splicebert" / "models" / "SpliceBERT.510nt",
    }
    for name, path in found.items():
        if not path.exists():
            pytest.skip(f"{name} weights missing: {path}")
    return found


@pytest.fixture(scope="module")
def subset(tmp_path_factory) -> Path:
    """8 ClinVar BRCA1 records: SNVs, a deletion, and a record with two ALTs."""
    path = tmp_path_factory.mktemp("multi") / "subset.vcf"
    with pysam.VariantFile(str(EXAMPLE / "clinvar_brca1.grch38.vcf.gz")) as source:
        records = list(source)
        deletion = next(r for r in records if len(r.ref) > 1)
        snvs = [r for r in records if len(r.ref) == 1 and all(len(a) == 1 for a in r.alts)]
        chosen = sorted([deletion, *snvs[:3], *snvs[40:44]], key=lambda r: r.pos)
        with pysam.VariantFile(str(path), "w", header=source.header) as out:
            for record in chosen:
                out.write(record)
    return path


def _run(tmp_path: Path, source: Path, models: tuple[str, ...], weights: dict[str, Path]):
    output = tmp_path / f"{'+'.join(models)}.vcf"
    summary = run_annotate(
        AnnotateSettings(
            input=source,
            output=output,
            fasta=EXAMPLE / "GRCh38.chr17.brca1.fa.gz",
            annotation=EXAMPLE / "brca1.gtf",
            models=models,
            model_weights=tuple((m, weights[m]) for m in models if m in KEYS and m != "spliceai"),
            lm_weights=weights["splicebert"] if "splicebert" in models else None,
            device="cpu",
            threads=2,
        )
    )
    with pysam.VariantFile(str(output)) as vcf:
        info = [dict(record.info) for record in vcf]
        header = str(vcf.header)
    return summary, info, header


def test_four_models_in_one_pass_equal_single_runs(tmp_path, subset, model_weights):
    models = ("spliceai", "pangolin", "openspliceai-mane", "splicebert")
    summary, together, header = _run(tmp_path, subset, models, model_weights)
    for key in ("SpliceAI", "Pangolin", "OpenSpliceAI", "SpliceBERT"):
        assert f"##INFO=<ID={key}," in header
        assert any(key in record for record in together), key
    assert summary.records == 8
    assert set(summary.work) == {"SpliceAI", "Pangolin", "OpenSpliceAI", "SpliceBERT"}
    for model in models:
        _, alone, _ = _run(tmp_path, subset, (model,), model_weights)
        key = KEYS.get(model, "SpliceBERT")
        assert [record.get(key) for record in together] == [record.get(key) for record in alone]
    # the deletion has SpliceAI-family entries but no SpliceBERT one (lm_not_snv)
    assert summary.skipped.get("lm_not_snv") == 1
    pangolin = [record["Pangolin"] for record in together if "Pangolin" in record]
    assert all(entry.startswith("ENSG00000012048|") for value in pangolin for entry in value)
