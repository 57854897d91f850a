"""OpenSpliceAI-MANE in PyTorch against outputs of openspliceai 0.0.7 (all four flanks).

Oracle: ``$RNATOOLS_TEST_FIXTURES/openspliceai/openspliceai_mane_oracle.npz`` (see its README);
weights: ``$RNATOOLS_TEST_WEIGHTS/openspliceai_mane/<F>nt/``. Tolerances (README): 1e-5 on
probabilities (per seed and ensemble mean), 1e-4 on logits. CPU, float32.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rnatools.engine import Engine
from rnatools.errors import InputError, MissingWeightsError, UsageError
from rnatools.models import openspliceai
from rnatools.models.dilated_cnn import Ensemble, mean_of
from rnatools.models.openspliceai import FLANKS, OpenSpliceAIModel, flank_of, weight_files
from rnatools.models.registry import load_model
from rnatools.sequence import one_hot

ATOL, ATOL_LOGITS = 1e-5, 1e-4


@pytest.fixture(scope="module")
def oracle(fixtures_dir: Path):
    return np.load(fixtures_dir / "openspliceai" / "openspliceai_mane_oracle.npz")


@pytest.fixture(scope="module")
def weights(weights_dir: Path) -> Path:
    folder = weights_dir / "openspliceai_mane"
    if not folder.is_dir():
        pytest.skip(f"{folder} is missing (OpenSpliceAI-MANE weights)")
    return folder


@pytest.fixture(scope="module")
def models(weights: Path) -> dict[int, OpenSpliceAIModel]:
    return {
        flank: load_model(f"openspliceai-mane-{flank}", weights, engine=Engine("cpu"))
        for flank in FLANKS
    }


def _run(model: OpenSpliceAIModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-seed probabilities, ensemble mean (the model's forward) and rs10 logits."""
    tensor = torch.from_numpy(x.astype(np.float32))
    with torch.inference_mode():
        logits = [net.logits(tensor) for net in model.ensemble.nets]
        each = [net.head(value) for net, value in zip(model.ensemble.nets, logits, strict=True)]
        return torch.stack(each).numpy(), mean_of(each).numpy(), logits[0].numpy()


def _max_error(actual: np.ndarray, expected: np.ndarray) -> float:
    assert actual.shape == expected.shape
    return float(np.abs(actual - expected).max())


@pytest.mark.weights
@pytest.mark.slow
@pytest.mark.parametrize("flank", FLANKS)
def test_every_seed_mean_and_logits_match_openspliceai(models, oracle, flank):
    model = models[flank]
    assert model.context == flank // 2 and model.channels == ("neither", "acceptor", "donor")
    # random, exon-bearing and N-containing sequences: centred windows of 5000 + F nt
    x = oracle["x_rand"][:, 5000 - flank // 2 : 10000 + flank // 2]
    each, mean, logits = _run(model, x)
    assert _max_error(each, oracle[f"osai{flank}_rand_models"]) <= ATOL
    assert _max_error(mean, oracle[f"osai{flank}_rand_mean"]) <= ATOL
    assert _max_error(logits, oracle[f"osai{flank}_rand_logits_rs10"]) <= ATOL_LOGITS
    # real BRCA1 region, both strands, whole 15,000-nt inputs
    each, mean, _ = _run(model, oracle["x_brca"])
    assert _max_error(mean, oracle[f"osai{flank}_brca_mean"]) <= ATOL
    if f"osai{flank}_brca_models" in oracle.files:
        assert _max_error(each, oracle[f"osai{flank}_brca_models"]) <= ATOL
    # the ensemble's own forward (running sum) is the same mean
    with torch.inference_mode():
        if flank == 10_000:  # (the incremental test runs it at 10,000)
            return
        forward = model(torch.from_numpy(oracle["x_brca"][1:].astype(np.float32))).numpy()
    assert _max_error(forward, oracle[f"osai{flank}_brca_mean"][1:]) <= ATOL
    # the test tests something: BRCA1 exon 2's acceptor (reverse strand) is a strong site
    assert mean[1, 7502 - flank // 2, 1] > (0.03 if flank == 80 else 0.9)


@pytest.mark.weights
@pytest.mark.parametrize("flank", [80, 10_000])
def test_incremental_alt_tracks_equal_whole_alt_windows(models, oracle, flank):
    """SNVs around BRCA1 exon 2's acceptor (reverse strand, slice index 7502)."""
    context, distance, start = flank // 2, 6, 7490
    nets = models[flank].ensemble.nets
    # two seeds are enough to test the sum (and keep the 10,000-nt case quick)
    model = OpenSpliceAIModel(f"openspliceai-mane-{flank}", ensemble=Ensemble(nets[:2]))
    sequence = str(oracle["seq_brca"][1])[start - context : start + 40 + context]
    centers = [context + distance, context + 11, context + 40 - 1 - distance]  # 11: the AG's G
    bases = ["A" if sequence[c] != "A" else "G" for c in centers]
    ref, alt = assert_incremental_equals_whole_windows(model, sequence, centers, bases, distance)
    assert ref.shape == (40, 3) and alt.shape == (3, 2 * distance + 1, 3)
    ref_around = np.stack(
        [ref[c - context - distance : c - context + distance + 1] for c in centers]
    )
    assert ref[12, 1] > (0.01 if flank == 80 else 0.9)  # the acceptor (weak at 80 nt)
    assert np.abs(alt - ref_around).max() > (0.01 if flank == 80 else 0.1)  # its AG matters


def test_names_and_flanks():
    assert flank_of("openspliceai-mane") == 10_000
    assert [flank_of(f"openspliceai-mane-{f}") for f in FLANKS] == list(FLANKS)
    with pytest.raises(UsageError, match="openspliceai-mane-400") as info:
        flank_of("openspliceai-mane-500")
    assert info.value.parameter == "model"


def test_weight_layout_picks_the_flank_folder(tmp_path):
    for flank in (400, 10_000):
        (tmp_path / f"{flank}nt").mkdir()
        for seed in (12, 10, 11):
            (tmp_path / f"{flank}nt" / f"model_{flank}nt_rs{seed}.pt").write_bytes(b"")
    files = weight_files(tmp_path, "openspliceai-mane")
    assert [f.name for f in files] == [f"model_10000nt_rs{s}.pt" for s in (10, 11, 12)]
    assert weight_files(tmp_path / "400nt", "openspliceai-mane-400")[0].parent.name == "400nt"
    assert weight_files(files[0], "openspliceai-mane") == [files[0]]
    with pytest.raises(MissingWeightsError, match=r"no 80nt/ folder.*holds 10000nt, 400nt"):
        weight_files(tmp_path, "openspliceai-mane-80")
    with pytest.raises(MissingWeightsError, match="needs the 10000nt models, but .* 400nt"):
        weight_files(tmp_path / "400nt", "openspliceai-mane")
    with pytest.raises(MissingWeightsError, match="RNATOOLS_OPENSPLICEAI_WEIGHTS"):
        weight_files(tmp_path / "absent", "openspliceai-mane")


def test_registry_finds_weights_through_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RNATOOLS_OPENSPLICEAI_WEIGHTS", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="no 10000nt/ folder") as info:
        load_model("openspliceai-mane", engine=Engine("cpu"))
    assert info.value.parameter == "weights" and info.value.exit_code == 3
    monkeypatch.delenv("RNATOOLS_OPENSPLICEAI_WEIGHTS")
    with pytest.raises(MissingWeightsError, match=r"\$RNATOOLS_OPENSPLICEAI_WEIGHTS"):
        load_model("openspliceai-mane-80", engine=Engine("cpu"))


def test_a_checkpoint_of_another_flank_is_refused(tmp_path, weights):
    wrong = tmp_path / "80nt"
    wrong.mkdir()
    source = weights / "400nt" / "model_400nt_rs10.pt"
    (wrong / "model_x.pt").write_bytes(source.read_bytes())
    model = load_model("openspliceai-mane-80", wrong, engine=Engine("cpu"))
    with pytest.raises(InputError, match="not an OpenSpliceAI-MANE 80nt state dict"):
        model.forward(torch.zeros(1, 81, 4))
    (wrong / "model_x.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(MissingWeightsError, match="not a PyTorch state dict"):
        openspliceai.load_net(wrong / "model_x.pt", 80)


def assert_incremental_equals_whole_windows(model, sequence, centers, bases, distance):
    """The incremental REF track of ``sequence`` and ALT tracks of its SNVs, checked against
    the whole windows run through ``model`` (atol 1e-5); returns ``(ref, alt)``."""
    context = model.context
    ref, alt = model.incremental.run(Engine("cpu"), sequence, centers, bases, distance)
    windows = []
    for center, base in zip(centers, bases, strict=True):
        window = sequence[center - context - distance : center + context + distance + 1]
        windows.append(window[: context + distance] + base + window[context + distance + 1 :])
    with torch.inference_mode():
        whole_ref = model(torch.from_numpy(one_hot(sequence)[None]))[0].numpy()
        whole = model(torch.from_numpy(np.stack([one_hot(w) for w in windows]))).numpy()
    np.testing.assert_allclose(ref, whole_ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(alt, whole, rtol=0, atol=1e-5)
    return ref, alt
