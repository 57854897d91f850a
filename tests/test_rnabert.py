"""RNABERT port: parity with the original code's outputs on the real ``bert_mul_2.pth``.

Oracle: ``fixtures/rnabert/oracle/rnabert_original.npz`` (mana438/RNABERT utils/bert.py run on the
real weights; see that folder's README). Weights: ``weights_dir/rnabert/bert_mul_2.pth``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnatools.errors import InputError
from rnatools.models.bert import rename_hf_bert_keys
from rnatools.models.lm import load_lm
from rnatools.models.rnabert import rnabert_state

pytestmark = pytest.mark.weights

ATOL = 1e-5


@pytest.fixture(scope="module")
def oracle(fixtures_dir):
    return np.load(fixtures_dir / "rnabert" / "oracle" / "rnabert_original.npz")


@pytest.fixture(scope="module")
def weights(weights_dir):
    return weights_dir / "rnabert" / "bert_mul_2.pth"


def _names(oracle) -> list[str]:
    return [str(n) for n in oracle["names"]]


def test_embeddings_alone_with_mask_match_original(oracle, weights):
    lm = load_lm("rnabert", weights)
    assert (lm.max_length, lm.hidden_size) == (440, 120)
    for name in _names(oracle):
        ids, mask = lm.encode([str(oracle[f"{name}/raw"])])
        np.testing.assert_array_equal(ids.numpy(), oracle[f"{name}/input_ids"])  # no CLS/EOS
        with torch.no_grad():
            out = lm.model(ids, mask, output_hidden_states=True)
        for layer, state in enumerate(out.hidden_states):
            np.testing.assert_allclose(
                state.numpy(), oracle[f"{name}/hidden_states"][layer], atol=ATOL
            )
        # the real heads are degenerate (|logits| ~ 4e-5): compare relatively
        np.testing.assert_allclose(
            out.logits.numpy(), oracle[f"{name}/logits"], rtol=1e-3, atol=1e-9
        )
    # the adapter, batched: padding masked, so every sequence equals its single run
    sequences = [str(oracle[f"{n}/raw"]) for n in _names(oracle)]
    for name, embedding in zip(_names(oracle), lm.embed(sequences, batch_size=4), strict=True):
        np.testing.assert_allclose(embedding, oracle[f"{name}/last_hidden_state"][0], atol=ATOL)


def test_padded_batch_matches_original_masked_batch(oracle, weights):
    lm = load_lm("rnabert", weights)
    attention_mask = torch.from_numpy(oracle["batch/attention_mask"])
    with torch.no_grad():
        out = lm.model(torch.from_numpy(oracle["batch/input_ids"]), attention_mask)
    valid = attention_mask.bool().numpy()
    np.testing.assert_allclose(
        out.last_hidden_state.numpy()[valid], oracle["batch/last_hidden_state"][valid], atol=ATOL
    )


def test_pad_to_440_reproduces_original_embedding_pipeline(oracle, weights):
    lm = load_lm("rnabert", weights, pad_to_max=True)
    sequences = [str(oracle[f"{n}/raw"]) for n in _names(oracle)]
    ids, mask = lm.encode(sequences)
    assert mask is None
    np.testing.assert_array_equal(ids.numpy(), oracle["pad440/input_ids"])
    for row, embedding in enumerate(lm.embed(sequences, batch_size=2)):
        expected = oracle["pad440/last_hidden_state"][row, : len(sequences[row])]
        np.testing.assert_allclose(embedding, expected, atol=ATOL)
    # and it differs from the masked run (the reason both modes exist)
    (alone,) = load_lm("rnabert", weights).embed(sequences[:1])
    assert np.abs(alone - lm.embed(sequences[:1])[0]).max() > 1e-2


def test_random_head_logits(oracle, weights, fixtures_dir):
    from safetensors.torch import load_file

    lm = load_lm("rnabert", weights)
    heads = load_file(fixtures_dir / "rnabert" / "oracle" / "rnabert_random_heads.safetensors")
    lm.model.load_state_dict(rename_hf_bert_keys(rnabert_state(heads)), strict=False)
    for name in _names(oracle):
        ids, _ = lm.encode([str(oracle[f"{name}/raw"])])
        with torch.no_grad():
            logits = lm.model(ids).logits.numpy()
        np.testing.assert_allclose(logits, oracle[f"randhead/{name}/logits"], atol=ATOL)
    # masking through the adapter: same ids as the original's masked input, same logits
    sequence = str(oracle["trna_phe/raw"])
    positions = oracle["masked/positions"].tolist()
    ids, _ = lm.encode([sequence], [positions])
    np.testing.assert_array_equal(ids.numpy(), oracle["masked/input_ids"])
    (logits,) = lm.nucleotide_logits([sequence], [positions])
    expected = oracle["randhead/masked/logits"][0][:, [2, 5, 4, 3]]  # A U G C -> A C G U
    np.testing.assert_allclose(logits, expected, atol=ATOL)


def test_letters_outside_acgu_and_long_sequences_are_refused(weights):
    lm = load_lm("rnabert", weights)
    with pytest.raises(InputError, match="'N' cannot be encoded"):
        lm.embed(["ACGUN"])
    with pytest.raises(InputError, match="longer than the 440 nt"):
        lm.embed(["A" * 441])
