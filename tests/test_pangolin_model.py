"""Pangolin in PyTorch against outputs of tkzeng/Pangolin @ 5cf94b8 (all 12 networks).

Oracle: ``$RNATOOLS_TEST_FIXTURES/pangolin/pangolin_oracle.npz`` (see its README); weights:
``$RNATOOLS_TEST_WEIGHTS/pangolin/final.{1,2,3}.{0,2,4,6}.3.v2``. Tolerance (README): 1e-5 on
every network's 12 channels and on the tissue means. CPU, float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_openspliceai import assert_incremental_equals_whole_windows

from rnatools.engine import Engine
from rnatools.errors import InputError, MissingWeightsError, UsageError
from rnatools.models import pangolin
from rnatools.models.dilated_cnn import Ensemble
from rnatools.models.pangolin import (
    OUTPUT_CHANNELS,
    WEIGHT_FILES,
    PangolinModel,
    combine_tissues,
    weight_files,
)
from rnatools.models.registry import load_model

ATOL = 1e-5


@pytest.fixture(scope="module")
def oracle(fixtures_dir: Path):
    return np.load(fixtures_dir / "pangolin" / "pangolin_oracle.npz")


@pytest.fixture(scope="module")
def weights(weights_dir: Path) -> Path:
    folder = weights_dir / "pangolin"
    if not folder.is_dir():
        pytest.skip(f"{folder} is missing (Pangolin weights)")
    return folder


@pytest.fixture(scope="module")
def model(weights: Path) -> PangolinModel:
    return load_model("pangolin", weights, engine=Engine("cpu"))


def _max_error(actual: np.ndarray, expected: np.ndarray) -> float:
    assert actual.shape == expected.shape
    return float(np.abs(actual - expected).max())


@pytest.mark.weights
@pytest.mark.slow
def test_every_network_and_tissue_mean_match_pangolin(model, oracle):
    assert model.context == 5000 and model.channels == OUTPUT_CHANNELS
    assert model.tissues == ("heart", "liver", "brain", "testis")
    assert model.psplice_channels == (0, 2, 4, 6)
    assert model.acceptor_channel is None and model.donor_channel is None
    # random, exon-bearing and N-containing sequences, then BRCA1 forward and reverse complement
    x = np.concatenate([oracle["x_rand"], oracle["x_brca"]]).astype(np.float32)
    with torch.inference_mode():
        each_tensor = model.forward_each(torch.from_numpy(x))  # (12, 5, 5000, 12)
        combined = combine_tissues(list(each_tensor)).numpy()
    each = each_tensor.numpy()
    assert _max_error(each[:, :3], oracle["pang_rand_models"]) <= ATOL
    assert _max_error(each[:, 4], oracle["pang_brca_rc_models"]) <= ATOL
    assert (
        _max_error(each[:, 3][..., [1, 4, 7, 10]], oracle["pang_brca_fwd_models_psplice"]) <= ATOL
    )
    psplice = combined[..., [0, 2, 4, 6]].transpose(2, 0, 1)  # (tissue, input, position)
    assert _max_error(psplice[:, :3], oracle["pang_rand_tissue_psplice_mean"]) <= ATOL
    assert _max_error(psplice[:, 3:], oracle["pang_brca_tissue_psplice_mean"]) <= ATOL
    # usage = mean of the tissue's networks' sigmoid channel; max_psplice = max over tissues
    for t in range(4):
        usage = each[3 * t : 3 * t + 3, ..., 3 * t + 2].mean(axis=0)
        assert _max_error(combined[..., 2 * t + 1], usage) <= 1e-6
    assert np.array_equal(combined[..., 8], combined[..., [0, 2, 4, 6]].max(axis=-1))
    # BRCA1 exon 2 (reverse complement): acceptor 43,124,115 and donor 43,124,017 stand out
    for genomic in (43_124_115, 43_124_017):
        assert combined[4, 43_126_617 - genomic, 8] > 0.7


@pytest.mark.weights
def test_forward_is_the_combined_ensemble(model, oracle):
    x = torch.from_numpy(oracle["x_brca"][1:, 2400:12600].astype(np.float32))  # outputs 7400..7599
    with torch.inference_mode():
        out = model(x).numpy()
    assert out.shape == (1, 200, 9) and out.dtype == np.float32
    expected = oracle["pang_brca_tissue_psplice_mean"][:, 1, 2400:2600].T
    assert _max_error(out[0][:, [0, 2, 4, 6]], expected) <= ATOL


@pytest.mark.weights
def test_incremental_alt_tracks_equal_whole_alt_windows(model, oracle):
    """SNVs around BRCA1 exon 2's acceptor (reverse complement, slice index 7502)."""
    context, distance, start = 5000, 5, 7490
    sequence = str(oracle["seq_brca"][1])[start - context : start + 30 + context]
    centers = [context + distance, context + 11, context + 30 - 1 - distance]  # 11: the AG's G
    bases = ["A" if sequence[c] != "A" else "G" for c in centers]
    ref, alt = assert_incremental_equals_whole_windows(model, sequence, centers, bases, distance)
    assert ref.shape == (30, 9) and alt.shape == (3, 2 * distance + 1, 9)
    ref_around = np.stack(
        [ref[c - context - distance : c - context + distance + 1] for c in centers]
    )
    assert ref[12, 8] > 0.7  # the acceptor
    assert np.abs(alt - ref_around).max() > 0.1  # breaking its AG matters


def test_combine_needs_twelve_networks():
    outputs = [torch.full((1, 2, 12), float(i)) for i in range(12)]
    combined = combine_tissues(outputs)
    assert combined.shape == (1, 2, 9)
    # tissue t: networks 3t..3t+2, mean i.e. 3t+1
    assert combined[0, 0].tolist() == [1, 1, 4, 4, 7, 7, 10, 10, 10]
    with pytest.raises(ValueError, match="12 networks"):
        combine_tissues(outputs[:5])
    with pytest.raises(ValueError, match="12 weight files"):
        PangolinModel(["a"])
    assert isinstance(PangolinModel(ensemble=Ensemble([pangolin.PangolinNet()])), PangolinModel)


def test_weight_layout_names_missing_files(tmp_path, monkeypatch):
    for name in WEIGHT_FILES[:10]:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(
        MissingWeightsError, match=r"missing final\.2\.6\.3\.v2, final\.3\.6\.3\.v2"
    ) as info:
        weight_files(tmp_path)
    assert "RNATOOLS_PANGOLIN_WEIGHTS" in str(info.value)
    with pytest.raises(MissingWeightsError, match="expected a folder"):
        weight_files(tmp_path / WEIGHT_FILES[0])
    for name in WEIGHT_FILES[10:]:
        (tmp_path / name).write_bytes(b"")
    assert [f.name for f in weight_files(tmp_path)] == list(WEIGHT_FILES)
    assert WEIGHT_FILES[:4] == (
        "final.1.0.3.v2",
        "final.2.0.3.v2",
        "final.3.0.3.v2",
        "final.1.2.3.v2",
    )
    monkeypatch.setenv("RNATOOLS_PANGOLIN_WEIGHTS", str(tmp_path))
    model = load_model("pangolin", engine=Engine("cpu"))  # found; read on first use
    with pytest.raises(MissingWeightsError, match="not a PyTorch state dict"):
        model.forward(torch.zeros(1, 10_001, 4))
    with pytest.raises(UsageError, match="no model options"):
        load_model("pangolin", engine=Engine("cpu"), batch=3)
    monkeypatch.delenv("RNATOOLS_PANGOLIN_WEIGHTS")
    with pytest.raises(MissingWeightsError, match=r"\$RNATOOLS_PANGOLIN_WEIGHTS") as info:
        load_model("pangolin", engine=Engine("cpu"))
    assert info.value.exit_code == 3


def test_a_foreign_state_dict_is_refused(tmp_path):
    path = tmp_path / "final.1.0.3.v2"
    torch.save({"conv1.weight": torch.zeros(32, 4, 1)}, path)
    with pytest.raises(InputError, match="not a Pangolin state dict"):
        pangolin.load_net(path)
