"""SpliceAI in PyTorch against the official Keras outputs (fixtures/spliceai_keras_oracle.npz).

The oracle holds the outputs of spliceai1..5.h5 run by Keras 2.15 (SpliceAI 1.3.1) on random and
synthetic-gene sequences; see its README. Tolerance: 1e-5 max abs on probabilities (float32).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
import torch

from rnatools.engine import Engine
from rnatools.errors import MissingWeightsError
from rnatools.models import spliceai
from rnatools.models.registry import find_weights
from rnatools.models.spliceai import (
    SPLICEAI_FLANK,
    SpliceAIEnsemble,
    installed_weights,
    load_spliceai,
)
from rnatools.models.spliceai_weights import weight_files


def find_spliceai_weights(weights=None):
    """The files the registry's SpliceAI lookup and layout hook give (what load_spliceai reads)."""
    return weight_files(find_weights("spliceai", weights))


pytestmark = pytest.mark.skipif(
    installed_weights() is None, reason="the spliceai distribution (official weights) is missing"
)
ATOL = 1e-5


@pytest.fixture(scope="module")
def model() -> SpliceAIEnsemble:
    return load_spliceai()


@pytest.fixture(scope="module")
def net3() -> SpliceAIEnsemble:
    """Network 3 alone (``--weights spliceai3.h5``)."""
    return load_spliceai(installed_weights()[2])


@pytest.fixture(scope="module")
def oracle(fixtures_dir: Path):
    return np.load(fixtures_dir / "spliceai_keras_oracle.npz")


def _check_against_oracle(each: np.ndarray, mean: np.ndarray, oracle, name: str) -> None:
    expected_each = oracle[f"y_{name}_models"]
    assert each.shape == expected_each.shape
    for index in range(5):
        assert np.abs(each[index] - expected_each[index]).max() <= ATOL, f"spliceai{index + 1}"
    assert np.abs(mean - oracle[f"y_{name}_mean"]).max() <= ATOL
    # The exon-bearing sequences really test something: splice sites near 1.
    assert mean[..., 1:].max() > 0.5


@pytest.mark.weights
@pytest.mark.parametrize("name", [pytest.param("rand", marks=pytest.mark.slow), "N"])
def test_every_network_and_the_mean_match_keras(model, oracle, name):
    # rand2 is checked by test_committed_oracle_subset (it runs without shared/ too).
    rows = [0, 1, 3] if name == "rand" else [0]
    x = torch.from_numpy(oracle[f"x_{name}"][rows].astype(np.float32))
    with torch.inference_mode():
        each = model.forward_each(x).numpy()
    expected_each = oracle[f"y_{name}_models"][:, rows]
    for index in range(5):
        difference = np.abs(each[index] - expected_each[index]).max()
        assert difference <= ATOL, f"spliceai{index + 1}"
    mean = each.mean(axis=0, dtype=np.float32)
    assert np.abs(mean - oracle[f"y_{name}_mean"][rows]).max() <= ATOL
    assert mean[..., 1:].max() > 0.5


@pytest.mark.weights
def test_committed_oracle_subset(model, test_data):
    """Runs without shared/: tests/data/predict holds oracle sequence rand2 and its outputs."""
    from rnatools.sequence import one_hot

    subset = np.load(test_data / "predict" / "spliceai_oracle_rand2.npz")
    x = torch.from_numpy(one_hot(str(subset["seq"]))[None])
    with torch.inference_mode():
        each = model.forward_each(x).numpy()
    assert np.abs(each[0, 0] - subset["y_spliceai1"]).max() <= ATOL
    assert np.abs(each.mean(axis=0)[0] - subset["y_mean"]).max() <= ATOL
    assert subset["y_mean"][:, 1:].max() > 0.9


@pytest.mark.weights
@pytest.mark.parametrize("conv2d", [True, False], ids=["conv2d", "conv1d"])
def test_both_convolution_kernels_match_keras(model, oracle, conv2d):
    x = torch.from_numpy(oracle["x_short"].astype(np.float32))
    model.set_conv2d(conv2d)
    try:
        with torch.inference_mode():
            each = model.forward_each(x).numpy()
    finally:
        model.set_conv2d(True)
    _check_against_oracle(each, each.mean(axis=0, dtype=np.float32), oracle, "short")


@pytest.mark.weights
def test_forward_and_run_model_give_the_ensemble_mean(model, oracle):
    x = oracle["x_short"].astype(np.float32)
    out = Engine("cpu").run(model, x)
    assert out.dtype == np.float32 and out.shape == (1, 101, 3)
    assert np.abs(out - oracle["y_short_mean"]).max() <= ATOL
    assert np.abs(out.sum(axis=-1) - 1).max() <= 1e-6


@pytest.mark.weights
def test_predict_batches_keeps_order_and_tags(oracle, net3):
    x = oracle["x_short"][0].astype(np.float32)
    expected = oracle["y_short_models"][2, 0]
    # Batches break on a change of shape; outputs come back in input order with their tags.
    items = [("a", x), ("b", x), ("c", x[:10050])]
    results = list(Engine("cpu").map(net3, items, batch_size=2))
    assert [tag for tag, _ in results] == ["a", "b", "c"]
    assert np.abs(results[0][1] - expected).max() <= ATOL
    assert np.abs(results[1][1] - expected).max() <= ATOL
    # Output i of a cropped input is output i of the full one (valid convolutions, no edge).
    assert results[2][1].shape == (50, 3)
    assert np.abs(results[2][1] - expected[:50]).max() <= ATOL
    with pytest.raises(ValueError, match="batch_size"):
        list(Engine("cpu").map(net3, items, batch_size=0))


def test_input_must_carry_the_full_context(model):
    with pytest.raises(ValueError, match="longer than 10000"):
        model(torch.zeros(1, 2 * SPLICEAI_FLANK, 4))
    with pytest.raises(ValueError, match="expected"):
        model(torch.zeros(1, 10001, 5))


def test_weight_lookup_order(tmp_path, monkeypatch):
    installed = installed_weights()
    assert installed is not None and [p.name for p in installed] == list(spliceai.WEIGHT_FILES)
    monkeypatch.delenv(spliceai.WEIGHTS_ENV, raising=False)
    assert find_spliceai_weights() == installed
    # The environment variable wins over the installed package ...
    monkeypatch.setenv(spliceai.WEIGHTS_ENV, str(installed[0]))
    assert find_spliceai_weights() == [installed[0]]
    # ... and an explicit path wins over both.
    assert find_spliceai_weights(installed[1].parent) == installed
    with pytest.raises(MissingWeightsError, match="spliceai3.h5"):
        (tmp_path / "spliceai1.h5").write_bytes(b"")
        find_spliceai_weights(tmp_path)
    monkeypatch.setenv(spliceai.WEIGHTS_ENV, str(tmp_path / "absent"))
    with pytest.raises(MissingWeightsError, match="RNATOOLS_SPLICEAI_WEIGHTS"):
        find_spliceai_weights()


def test_missing_distribution_says_how_to_install(monkeypatch):
    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.delenv(spliceai.WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(MissingWeightsError, match=r"pip install 'rnatools\[spliceai\]'") as info:
        load_spliceai()
    assert info.value.exit_code == 3


def test_a_file_that_is_not_keras_weights(tmp_path):
    bad = tmp_path / "model.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(MissingWeightsError, match="not a SpliceAI Keras weight file"):
        load_spliceai(bad)


def test_single_network_from_one_file(net3):
    one = net3
    assert len(one.nets) == 1
    # Keras counts 698,787 per network, 32 BatchNorms x 4 x 32 of them; here the second BN of
    # each unit is folded into a convolution and the first is a (scale, shift) buffer pair.
    assert sum(p.numel() for p in one.parameters()) == 698_787 - 32 * 4 * 32
    assert sum(b.numel() for b in one.buffers()) == 16 * 2 * 32
