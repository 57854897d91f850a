"""Zero-shot SNV scores (KL-context, masked marginal) against the SpliceBERT fixtures.

Oracle: ``fixtures/splicebert/oracle/<model>.npz`` ``variants/*`` (3 SNVs on seq510), computed by
the fixture's driver from the reference BertForMaskedLM; formulas in docs/zero-shot-scores.md.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnatools.errors import InputError
from rnatools.models.lm import load_lm
from rnatools.scoring.zero_shot import kl_context, kl_per_position, masked_log_ratio, score_snvs

MODELS = [
    "SpliceBERT.510nt",
    "SpliceBERT.510nt-small",
    "SpliceBERT.1024nt-small",
    "SpliceBERT-human.510nt-small",
]


def _variants(fixtures_dir, model):
    oracle = np.load(fixtures_dir / "splicebert" / "oracle" / f"{model}.npz")
    positions = oracle["variants/pos"].astype(int)
    refs = [str(b) for b in oracle["variants/ref"]]
    alts = [str(b) for b in oracle["variants/alt"]]
    return oracle, positions, refs, alts


@pytest.mark.weights
@pytest.mark.parametrize("model", MODELS)
def test_score_functions_on_stored_logits(fixtures_dir, model):
    oracle, positions, refs, alts = _variants(fixtures_dir, model)
    wild_type = torch.from_numpy(oracle["variants/wt_logits"][:, 1:-1, 6:10])
    mutant = torch.from_numpy(oracle["variants/mt_logits"][:, 1:-1, 6:10])
    kl = kl_per_position(wild_type.expand_as(mutant), mutant)
    np.testing.assert_allclose(kl.numpy(), oracle["variants/kl_per_position"], atol=1e-6)
    scores = kl_context(kl, torch.from_numpy(positions)).numpy()
    np.testing.assert_allclose(scores, oracle["variants/kl_context_score_f64"], atol=1e-3)
    if model == "SpliceBERT.510nt":  # no clipping there: the float32 oracle agrees too
        np.testing.assert_allclose(scores, oracle["variants/kl_context_score"], atol=1e-3)
    masked = oracle["variants/masked_logits"][np.arange(3), positions + 1, 6:10]
    ratio = masked_log_ratio(torch.from_numpy(masked), refs, alts).numpy()
    np.testing.assert_allclose(ratio, oracle["variants/masked_logratio_4nt_f64"], atol=1e-6)


@pytest.mark.weights
@pytest.mark.slow
def test_full_size_model_scores(fixtures_dir):
    model = "SpliceBERT.510nt"
    oracle, positions, refs, alts = _variants(fixtures_dir, model)
    lm = load_lm("splicebert-510", fixtures_dir / "splicebert" / "models" / model)
    window = str(oracle["seq510/normalised"])
    assert [window[p] for p in positions] == refs
    scores = score_snvs(lm, [window] * 3, positions.tolist(), alts)
    np.testing.assert_allclose(scores.kl_context, oracle["variants/kl_context_score"], atol=0.02)
    np.testing.assert_allclose(scores.delta_logp, oracle["variants/masked_logratio_4nt"], atol=1e-4)


@pytest.mark.weights
@pytest.mark.parametrize("model", MODELS[1:])
def test_small_model_scores_and_batch_invariance(fixtures_dir, model):
    oracle, positions, refs, alts = _variants(fixtures_dir, model)
    lm = load_lm("splicebert", fixtures_dir / "splicebert" / "models" / model)
    window = str(oracle["seq510/normalised"])
    one = score_snvs(lm, [window] * 3, positions.tolist(), alts, batch_size=1)
    many = score_snvs(lm, [window] * 3, positions.tolist(), alts, batch_size=3)
    np.testing.assert_allclose(one.kl_context, many.kl_context, atol=1e-6)
    np.testing.assert_allclose(one.delta_logp, many.delta_logp, atol=1e-6)
    # clipping makes the small models' float32 scores sensitive to rounding (README: ~0.5)
    np.testing.assert_allclose(many.kl_context, oracle["variants/kl_context_score"], atol=0.5)
    np.testing.assert_allclose(many.delta_logp, oracle["variants/masked_logratio_4nt"], atol=1e-4)


def test_kl_context_formula_by_hand():
    kl = torch.zeros(1, 11, dtype=torch.float64)
    kl[0, 3], kl[0, 7] = 0.2, 0.4  # d = 2 around index 5
    score = kl_context(kl, 5, max_distance=3).item()
    expected = np.log(1e-6) + np.log(0.3) + np.log(1e-6)
    assert score == pytest.approx(expected)
    # index 1: d = 1 uses both sides; d = 2, 3 only the right side (left is past the edge)
    kl = torch.tensor([[0.5, 9.0, 0.1, 0.2, 0.3]], dtype=torch.float64)
    score = kl_context(kl, 1, max_distance=5).item()
    expected = np.log(0.3) + np.log(0.1) + np.log(0.15)  # d = 4, 5: both sides missing
    assert score == pytest.approx(expected)


def test_kl_per_position_is_zero_for_equal_logits_and_positive_otherwise():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 7, 4, generator=generator)
    assert torch.allclose(kl_per_position(logits, logits), torch.zeros(2, 7, dtype=torch.float64))
    other = torch.randn(2, 7, 4, generator=generator)
    assert (kl_per_position(logits, other) > 0).all()


def test_masked_log_ratio_nan_for_unknown_ref():
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]])
    ratio = masked_log_ratio(logits, ["A", "N"], ["U", "C"]).numpy()
    assert ratio[0] == pytest.approx(3.0)
    assert np.isnan(ratio[1])


def test_score_snvs_rejects_bad_variants():
    with pytest.raises(InputError, match="equals the REF"):
        score_snvs(None, ["ACGT"], 1, ["C"])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="outside its 4-nt window"):
        score_snvs(None, ["ACGT"], 4, ["C"])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="not one of"):
        score_snvs(None, ["ACGT"], 0, ["N"])  # type: ignore[arg-type]


@pytest.mark.weights
def test_bf16_autocast_runs_on_cpu_and_stays_close(fixtures_dir):
    model = "SpliceBERT.510nt-small"
    oracle, positions, _, alts = _variants(fixtures_dir, model)
    folder = fixtures_dir / "splicebert" / "models" / model
    lm = load_lm("splicebert", folder, precision="bf16")
    window = str(oracle["seq510/normalised"])
    output = lm.forward_batch([window])
    assert output.nucleotide_logits.dtype == torch.float32
    np.testing.assert_allclose(
        output.nucleotide_logits[0].numpy(), oracle["seq510/logits"][0, 1:-1, 6:10], atol=0.25
    )
    scores = score_snvs(lm, [window] * 3, positions.tolist(), alts)
    np.testing.assert_allclose(scores.delta_logp, oracle["variants/masked_logratio_4nt"], atol=0.1)
