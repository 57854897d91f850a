"""SpliceBERT port: parity with the reference (HF BertForMaskedLM) on the random-weight fixtures.

Oracles: ``fixtures/splicebert/oracle/<model>.npz`` (see that folder's README). Tolerances from
the README: atol 1e-4 on logits and hidden states (float32, CPU).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from rnatools.errors import InputError, MissingWeightsError
from rnatools.models.lm import load_lm, tile_spans
from rnatools.models.splicebert import weight_files

pytestmark = pytest.mark.weights

SMALL = ["SpliceBERT.510nt-small", "SpliceBERT.1024nt-small", "SpliceBERT-human.510nt-small"]
# original id -> MultiMolecule id ([PAD] [UNK] [CLS] [SEP] [MASK] N A C G T)
MULTIMOLECULE_IDS = np.array([0, 3, 1, 2, 4, 10, 6, 7, 8, 9])
ATOL = 1e-4


def _oracle(fixtures_dir: Path, model: str):
    return np.load(fixtures_dir / "splicebert" / "oracle" / f"{model}.npz")


def _sequences(oracle) -> list[str]:
    return [n for n in ("seq64", "seq200", "seq510", "seq1024") if f"{n}/input_ids" in oracle]


def _check_model(lm, oracle, id_map=None, columns=slice(None)):
    for name in _sequences(oracle):
        ids, mask = lm.encode([str(oracle[f"{name}/raw"])])
        expected_ids = oracle[f"{name}/input_ids"]
        if id_map is not None:
            expected_ids = id_map[expected_ids]
        np.testing.assert_array_equal(ids.numpy(), expected_ids)
        assert mask is None
        with torch.no_grad():
            out = lm.model(ids, output_hidden_states=True)
        np.testing.assert_allclose(
            out.logits.numpy()[..., columns],
            oracle[f"{name}/logits"][..., columns],
            atol=ATOL,
            rtol=1e-4,
        )
        hidden = oracle[f"{name}/hidden_states"]
        assert len(out.hidden_states) == hidden.shape[0]
        for layer, state in enumerate(out.hidden_states):
            np.testing.assert_allclose(state.numpy(), hidden[layer], atol=ATOL, rtol=1e-4)
    # padded batch, valid positions only
    ids = torch.from_numpy(oracle["batch/input_ids"])
    if id_map is not None:
        ids = torch.from_numpy(id_map[oracle["batch/input_ids"]])
    attention_mask = torch.from_numpy(oracle["batch/attention_mask"])
    with torch.no_grad():
        out = lm.model(ids, attention_mask)
    valid = attention_mask.bool().numpy()
    np.testing.assert_allclose(
        out.logits.numpy()[..., columns][valid],
        oracle["batch/logits"][..., columns][valid],
        atol=ATOL,
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        out.last_hidden_state.numpy()[valid],
        oracle["batch/last_hidden_state"][valid],
        atol=ATOL,
        rtol=1e-4,
    )


@pytest.mark.parametrize("weights", ["pytorch_model.bin", "model.safetensors", ""])
@pytest.mark.parametrize("model", SMALL)
def test_small_models_match_reference(fixtures_dir, model, weights):
    folder = fixtures_dir / "splicebert" / "models" / model
    lm = load_lm("splicebert", folder / weights if weights else folder)
    _check_model(lm, _oracle(fixtures_dir, model))


@pytest.mark.parametrize("model", SMALL)
def test_multimolecule_conversion_matches_reference(fixtures_dir, model):
    lm = load_lm("splicebert", fixtures_dir / "splicebert" / "multimolecule" / model)
    assert lm.model.config.vocab_size == 28
    _check_model(lm, _oracle(fixtures_dir, model), MULTIMOLECULE_IDS, columns=slice(6, 10))


@pytest.mark.slow
def test_full_size_model_matches_reference(fixtures_dir):
    lm = load_lm("splicebert-510", fixtures_dir / "splicebert" / "models")
    assert lm.model.num_parameters() == 19_447_306  # README count (tied decoder counted once)
    assert lm.max_length == 510
    _check_model(lm, _oracle(fixtures_dir, "SpliceBERT.510nt"))


def test_adapter_hides_offset_and_restricts_to_nucleotides(fixtures_dir):
    model = "SpliceBERT.510nt-small"
    oracle = _oracle(fixtures_dir, model)
    original = load_lm("splicebert", fixtures_dir / "splicebert" / "models" / model)
    converted = load_lm("splicebert", fixtures_dir / "splicebert" / "multimolecule" / model)
    names = [str(n) for n in oracle["batch/names"]]
    sequences = [str(oracle[f"{n}/raw"]) for n in names]
    for lm in (original, converted):
        logits = lm.nucleotide_logits(sequences, batch_size=3)
        for name, sequence, values in zip(names, sequences, logits, strict=True):
            assert values.shape == (len(sequence), 4)
            np.testing.assert_allclose(values, oracle[f"{name}/logits"][0, 1:-1, 6:10], atol=ATOL)
        batched = lm.embed(sequences, batch_size=3)
        single = lm.embed(sequences, batch_size=1)
        for name, a, b in zip(names, batched, single, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
            np.testing.assert_allclose(a, oracle[f"{name}/hidden_states"][-1, 0, 1:-1], atol=ATOL)


def test_too_long_window_is_refused_or_tiled(fixtures_dir):
    lm = load_lm("splicebert", fixtures_dir / "splicebert" / "models" / "SpliceBERT.510nt-small")
    sequence = str(_oracle(fixtures_dir, "SpliceBERT.510nt-small")["seq510/normalised"]) * 2
    with pytest.raises(InputError, match="longer than the 510 nt"):
        lm.embed([sequence])
    (tiled,) = lm.embed([sequence], tile=True)
    assert tiled.shape == (1020, 64)
    # the first tile is the sequence's first 510 nt; its first half is kept as is
    (head,) = lm.embed([sequence[:510]])
    np.testing.assert_allclose(tiled[:255], head[:255], atol=1e-5)
    assert not np.allclose(tiled[255:510], head[255:510], atol=1e-3)


def test_tile_spans_cover_each_position_once():
    for length, window in [(10, 10), (11, 10), (1020, 510), (5000, 510), (1025, 1024)]:
        covered = np.zeros(length, int)
        for start, keep0, keep1 in tile_spans(length, window):
            assert 0 <= start and start + window <= max(length, window)
            assert 0 <= keep0 < keep1 <= window
            covered[start + keep0 : start + keep1] += 1
        assert (covered == 1).all()


def test_missing_weights_error_says_where(monkeypatch):
    monkeypatch.delenv("RNATOOLS_SPLICEBERT_WEIGHTS", raising=False)
    with pytest.raises(MissingWeightsError, match="RNATOOLS_SPLICEBERT_WEIGHTS.*chenkenbio"):
        load_lm("splicebert")


def test_folder_without_weights_is_an_input_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match="pytorch_model.bin"):
        load_lm("splicebert", tmp_path)


def test_weights_from_environment_variable(fixtures_dir, monkeypatch):
    folder = fixtures_dir / "splicebert" / "models" / "SpliceBERT-human.510nt-small"
    monkeypatch.setenv("RNATOOLS_SPLICEBERT_WEIGHTS", str(folder))
    lm = load_lm("splicebert-human-510")
    assert (lm.name, lm.max_length, lm.hidden_size) == ("splicebert-human-510", 510, 64)
    monkeypatch.setenv("RNATOOLS_SPLICEBERT_WEIGHTS", str(folder / "missing"))
    with pytest.raises(MissingWeightsError, match="RNATOOLS_SPLICEBERT_WEIGHTS .*missing"):
        load_lm("splicebert-human-510")


def _tiny_release(folder: Path) -> Path:
    """A random one-layer SpliceBERT release folder holding both pytorch_model.bin and
    model.safetensors (same tensors; the .safetensors without the tied decoder copy)."""
    hidden, ffn, positions, vocab = 8, 16, 34, 10
    layer = "bert.encoder.layer.0."
    shapes = {
        "bert.embeddings.word_embeddings.weight": (vocab, hidden),
        "bert.embeddings.position_embeddings.weight": (positions, hidden),
        "bert.embeddings.token_type_embeddings.weight": (2, hidden),
        f"{layer}intermediate.dense.weight": (ffn, hidden),
        f"{layer}intermediate.dense.bias": (ffn,),
        f"{layer}output.dense.weight": (hidden, ffn),
        f"{layer}output.dense.bias": (hidden,),
        "cls.predictions.bias": (vocab,),
    }
    for dense in (
        f"{layer}attention.self.query",
        f"{layer}attention.self.key",
        f"{layer}attention.self.value",
        f"{layer}attention.output.dense",
        "cls.predictions.transform.dense",
    ):
        shapes[f"{dense}.weight"], shapes[f"{dense}.bias"] = (hidden, hidden), (hidden,)
    for norm in (
        "bert.embeddings.LayerNorm",
        f"{layer}attention.output.LayerNorm",
        f"{layer}output.LayerNorm",
        "cls.predictions.transform.LayerNorm",
    ):
        shapes[f"{norm}.weight"] = shapes[f"{norm}.bias"] = (hidden,)
    generator = torch.Generator().manual_seed(11)
    state = {key: torch.randn(*shape, generator=generator) * 0.5 for key, shape in shapes.items()}
    save_file(state, str(folder / "model.safetensors"))
    tied = {
        "cls.predictions.decoder.weight": state["bert.embeddings.word_embeddings.weight"],
        "cls.predictions.decoder.bias": state["cls.predictions.bias"],
    }
    torch.save(state | tied, folder / "pytorch_model.bin")
    config = {
        "hidden_act": "gelu",
        "hidden_size": hidden,
        "intermediate_size": ffn,
        "max_position_embeddings": positions,
        "num_attention_heads": 2,
        "num_hidden_layers": 1,
        "vocab_size": vocab,
    }
    (folder / "config.json").write_text(json.dumps(config))
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "N", "A", "C", "G", "T"]
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n")
    return folder


def test_folder_with_both_weight_files_loads_the_safetensors(tmp_path):
    folder = _tiny_release(tmp_path)
    assert weight_files(folder, "splicebert") == [
        folder / "config.json",
        folder / "vocab.txt",
        folder / "model.safetensors",
    ]
    sequences = ["ACGTNACGTTGCAUU", "ttgaca", "A" * 32]
    from_bin = load_lm("splicebert", folder / "pytorch_model.bin")
    expected = from_bin.nucleotide_logits(sequences, batch_size=2)
    for path in (folder, folder / "model.safetensors"):
        lm = load_lm("splicebert", path)
        assert lm.engine.device.type == "cpu" and lm.precision == "fp32"
        for got, want in zip(lm.nucleotide_logits(sequences, batch_size=2), expected, strict=True):
            np.testing.assert_array_equal(got, want)
