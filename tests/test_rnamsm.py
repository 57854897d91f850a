"""RNA-MSM (rnatools.models.rnamsm): parity with the original code on a small random model.

The oracle (``$RNATOOLS_TEST_FIXTURES/rnamsm``, see its README) holds the outputs of the
original RNA-MSM code (yikunpku/RNA-MSM @ faadd57) for a seeded random 2-layer, 4-head, 64-wide
model, saved in the original checkpoint layout (``.ckpt`` and ``.safetensors``) and converted to
the MultiMolecule layout. Tests without the fixtures use a randomly initialised model.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from rnatools.engine import Engine
from rnatools.errors import InputError, MissingWeightsError, UsageError
from rnatools.io.msa import read_msa
from rnatools.models import lm
from rnatools.models.rnamsm import (
    MASK_ID,
    VOCABULARY,
    WEIGHTS_ENVIRONMENT_VARIABLE,
    RNAMSMAdapter,
    RNAMSMConfig,
    RNAMSMLanguageModel,
    RNAMSMModel,
    find_rnamsm_weights,
    load_rnamsm,
    load_rnamsm_lm,
    read_weights_file,
)

LAYOUTS = {
    "original-ckpt": "weights/rnamsm_small_original.ckpt",
    "original-safetensors": "weights/rnamsm_small_original.safetensors",
    "multimolecule-folder": "multimolecule/RNA-MSM-small",
}


@pytest.fixture(scope="module")
def rnamsm_fixtures(fixtures_dir: Path) -> Path:
    folder = fixtures_dir / "rnamsm"
    if not (folder / "oracle" / "rnamsm_small_oracle.npz").is_file():
        pytest.skip(f"no RNA-MSM oracle under {folder}")
    return folder


@pytest.fixture(scope="module")
def oracle(rnamsm_fixtures: Path) -> dict[str, np.ndarray]:
    with np.load(rnamsm_fixtures / "oracle" / "rnamsm_small_oracle.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def msa_rows(test_data: Path) -> list[tuple[str, str]]:
    return read_msa(test_data / "rnamsm" / "msa_depth3.a2m_msa2")


@pytest.fixture(scope="module")
def random_adapter() -> RNAMSMAdapter:
    torch.manual_seed(7)
    config = RNAMSMConfig(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64)
    model = RNAMSMModel(config)
    with torch.no_grad():  # non-trivial LayerNorm and per-row parameters
        for name, parameter in model.named_parameters():
            if "norm" in name or name == "embeddings.row":
                parameter.add_(0.2 * torch.randn_like(parameter))
    return RNAMSMAdapter(model)


@pytest.mark.weights
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("tag", ["msa", "single"])
def test_parity_with_original(
    rnamsm_fixtures: Path,
    oracle: dict[str, np.ndarray],
    msa_rows: list[tuple[str, str]],
    layout: str,
    tag: str,
) -> None:
    adapter = load_rnamsm(rnamsm_fixtures / LAYOUTS[layout])
    assert adapter.config.num_heads == 4 and adapter.config.num_layers == 2
    msa = msa_rows if tag == "msa" else msa_rows[:1]
    tokens = adapter.encode(msa)
    np.testing.assert_array_equal(tokens.numpy(), oracle[f"{tag}/tokens"][0])

    output = adapter.forward(msa)
    depth = len(msa)
    assert output.logits.shape == (depth, 50, len(VOCABULARY))
    assert len(output.hidden_states) == 3
    assert output.row_attentions.shape == (2, 4, 50, 50)
    assert output.contacts.shape == (50, 50)
    # the oracle keeps <cls> at index 0 of every row; ours drops it
    np.testing.assert_allclose(output.logits, oracle[f"{tag}/logits"][0, :, 1:], rtol=0, atol=1e-4)
    for index, hidden in enumerate(output.hidden_states):
        expected = oracle[f"{tag}/hidden_states"][index, 0, :, 1:]
        np.testing.assert_allclose(hidden, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        output.row_attentions, oracle[f"{tag}/row_attentions"][0, :, :, 1:, 1:], rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(output.contacts, oracle[f"{tag}/contacts"][0], rtol=0, atol=1e-5)
    # what RNA_MSM_Inference.py saves: query embedding and the layer-major attention stack
    np.testing.assert_allclose(
        adapter.embed(msa), oracle[f"{tag}/inference_emb"], rtol=0, atol=1e-5
    )
    np.testing.assert_allclose(
        output.row_attentions.reshape(-1, 50, 50), oracle[f"{tag}/inference_atp"], rtol=0, atol=1e-5
    )


@pytest.mark.weights
def test_lightning_checkpoint_with_pickled_configs_loads(
    rnamsm_fixtures: Path, tmp_path: Path, oracle: dict[str, np.ndarray]
) -> None:
    """A real RNA-MSM .ckpt pickles training-config classes that are not importable here."""
    state = read_weights_file(rnamsm_fixtures / LAYOUTS["original-safetensors"])
    module = types.ModuleType("rnamsm_training_config_for_test")

    @dataclasses.dataclass
    class TrainingConfig:
        learning_rate: float = 3e-4

    class Mode(enum.Enum):
        PRETRAIN = "pretrain"

    for cls in (TrainingConfig, Mode):
        cls.__module__, cls.__qualname__ = module.__name__, cls.__name__
        setattr(module, cls.__name__, cls)
    sys.modules[module.__name__] = module
    try:
        checkpoint = {
            "epoch": 3,
            "state_dict": state,
            "hyper_parameters": {"config": TrainingConfig(), "mode": Mode.PRETRAIN},
        }
        torch.save(checkpoint, tmp_path / "lightning.ckpt")
    finally:
        del sys.modules[module.__name__]
    with pytest.raises(Exception, match="rnamsm_training_config_for_test"):
        torch.load(tmp_path / "lightning.ckpt", weights_only=True)

    adapter = load_rnamsm(tmp_path)  # a folder with one .ckpt
    contacts = adapter.forward(oracle["single_row_after_loader"][0]).contacts
    np.testing.assert_allclose(contacts, oracle["single/contacts"][0], rtol=0, atol=1e-5)


def test_batch_equals_one_at_a_time(random_adapter: RNAMSMAdapter, msa_rows) -> None:
    rows = [row for _, row in msa_rows]
    inputs = [rows, "acgunACGUR", [row[:20] for row in rows[:2]], "GGGAAACCC" * 3]
    alone = [random_adapter.forward(item) for item in inputs]
    batch = random_adapter.forward_batch(inputs)
    for single, batched in zip(alone, batch, strict=True):
        assert single.logits.shape == batched.logits.shape
        pairs = [
            (single.logits, batched.logits),
            (single.row_attentions, batched.row_attentions),
            (single.contacts, batched.contacts),
            *zip(single.hidden_states, batched.hidden_states, strict=True),
        ]
        for a, b in pairs:
            torch.testing.assert_close(a, b, rtol=0, atol=2e-5)


def test_fused_attention_path_matches_explicit_softmax(
    random_adapter: RNAMSMAdapter, msa_rows
) -> None:
    explicit = random_adapter.forward(msa_rows)
    fused = random_adapter.forward(msa_rows, row_attentions=False, contacts=False)
    assert fused.row_attentions is None and fused.contacts is None
    torch.testing.assert_close(fused.logits, explicit.logits, rtol=0, atol=2e-5)
    for a, b in zip(fused.hidden_states, explicit.hidden_states, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=2e-5)


def test_attention_and_contact_properties(random_adapter: RNAMSMAdapter, msa_rows) -> None:
    output = random_adapter.forward(msa_rows)
    # without <cls> each attention row sums to a bit less than 1
    sums = output.row_attentions.sum(-1)
    assert bool(((sums > 0) & (sums < 1 + 1e-6)).all())
    torch.testing.assert_close(output.contacts, output.contacts.T)
    assert bool(((output.contacts > 0) & (output.contacts < 1)).all())


def test_row_order_of_homologs_does_not_change_the_query(
    random_adapter: RNAMSMAdapter, msa_rows
) -> None:
    """Tied row attention sums over rows and column attention is permutation-equivariant,
    so only the per-row embedding (removed by LayerNorm up to rounding) tells rows apart."""
    rows = [row for _, row in msa_rows]
    reordered = [rows[0], rows[2], rows[1]]
    model = random_adapter.model
    saved = model.embeddings.row.detach().clone()
    with torch.no_grad():
        model.embeddings.row.zero_()
    try:
        a = random_adapter.forward(rows)
        b = random_adapter.forward(reordered)
    finally:
        with torch.no_grad():
            model.embeddings.row.copy_(saved)
    torch.testing.assert_close(a.logits[0], b.logits[0], rtol=0, atol=2e-5)
    torch.testing.assert_close(a.contacts, b.contacts, rtol=0, atol=2e-5)
    torch.testing.assert_close(a.logits[1], b.logits[2], rtol=0, atol=2e-5)


def test_encode_rules(random_adapter: RNAMSMAdapter) -> None:
    ids = {token: index for index, token in enumerate(VOCABULARY)}
    # a plain string is one unaligned sequence: upper-cased, T→U, N→X
    expected = [ids["<cls>"], ids["A"], ids["C"], ids["G"], ids["U"], ids["U"], ids["X"]]
    assert random_adapter.encode("acgtuN")[0].tolist() == expected
    # alignment rows: lowercase is an insertion and disappears
    assert random_adapter.encode(["ACgGU", "A-gG-"]).tolist() == [
        [ids["<cls>"], ids["A"], ids["C"], ids["G"], ids["U"]],
        [ids["<cls>"], ids["A"], ids["-"], ids["G"], ids["-"]],
    ]


@pytest.mark.parametrize(
    ("msa", "message"),
    [
        ([], "empty alignment"),
        (["ACGU", "ACG"], "differ in length"),
        (["ACGJ"], "unexpected character"),
        ("A" * 1024, "at most 1023"),
    ],
)
def test_encode_errors(random_adapter: RNAMSMAdapter, msa, message: str) -> None:
    with pytest.raises(InputError, match=message):
        random_adapter.encode(msa)


def test_missing_weights_say_where_to_get_them(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(WEIGHTS_ENVIRONMENT_VARIABLE, raising=False)
    for weights in (None, tmp_path / "absent", tmp_path):
        with pytest.raises(MissingWeightsError) as info:
            load_rnamsm(weights)
        message = str(info.value)
        assert "github.com/yikunpku/RNA-MSM" in message
        assert "huggingface.co/multimolecule/rnamsm" in message
        assert WEIGHTS_ENVIRONMENT_VARIABLE in message
        assert info.value.exit_code == 3


def test_environment_variable_and_ambiguous_folder(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "a.ckpt").write_bytes(b"")
    monkeypatch.setenv(WEIGHTS_ENVIRONMENT_VARIABLE, str(tmp_path))
    assert find_rnamsm_weights() == tmp_path / "a.ckpt"
    (tmp_path / "b.ckpt").write_bytes(b"")
    with pytest.raises(UsageError, match="several RNA-MSM weight files"):
        find_rnamsm_weights()


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"something": torch.zeros(2)}, path)
    with pytest.raises(InputError, match="not an RNA-MSM checkpoint"):
        load_rnamsm(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="not a readable PyTorch checkpoint"):
        load_rnamsm(path)


@pytest.mark.weights
def test_language_model_interface_matches_the_oracle(
    rnamsm_fixtures: Path, oracle: dict[str, np.ndarray]
) -> None:
    model = lm.load_lm("rnamsm", rnamsm_fixtures / LAYOUTS["multimolecule-folder"])
    assert isinstance(model, RNAMSMLanguageModel)
    assert (model.max_length, model.hidden_size) == (1023, 64)
    query = str(oracle["single_row_after_loader"][0])
    out = model.forward_batch([query, "acgtn"], logits=True, hidden=True)
    assert out.nucleotide_logits.shape == (2, 50, 4) and out.lengths.tolist() == [50, 5]
    columns = [VOCABULARY.index(letter) for letter in "ACGU"]
    np.testing.assert_allclose(
        out.nucleotide_logits[0], oracle["single/logits"][0, 0, 1:][:, columns], rtol=0, atol=1e-4
    )
    np.testing.assert_allclose(
        out.hidden[0], oracle["single/last_hidden_state"][0, 0, 1:], rtol=0, atol=1e-5
    )
    # masking: same as feeding the adapter the token row with <mask> at nucleotide 7
    masked = model.forward_batch([query], [[7]]).nucleotide_logits[0]
    tokens = model.msa.encode(query)
    tokens[0, 8] = MASK_ID
    expected = model.msa.forward(tokens, contacts=False).logits[0][:, columns]
    torch.testing.assert_close(masked, expected, rtol=0, atol=2e-5)
    assert float((masked[7] - out.nucleotide_logits[0, 7]).abs().max()) > 1e-3


def test_language_model_rejects_options_and_bad_masks(random_adapter: RNAMSMAdapter) -> None:
    with pytest.raises(UsageError, match="no model options"):
        load_rnamsm_lm("rnamsm", Path("unused"), Engine("cpu"), pad_to_max=True)
    model = RNAMSMLanguageModel(random_adapter)
    with pytest.raises(InputError, match="mask position outside sequence 1"):
        model.forward_batch(["ACGU"], [[4]])


def test_column_attention_chunks_give_the_same_result(
    random_adapter: RNAMSMAdapter, msa_rows, monkeypatch
) -> None:
    whole = random_adapter.forward(msa_rows, contacts=False)
    monkeypatch.setattr("rnatools.models.rnamsm._COLUMN_ATTENTION_CHUNK_ELEMENTS", 4 * 9 * 7)
    chunked = random_adapter.forward(msa_rows, contacts=False)  # 7 columns per chunk
    for a, b in zip(whole.hidden_states, chunked.hidden_states, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
