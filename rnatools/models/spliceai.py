"""SpliceAI-10k in PyTorch: the residual dilated CNN with valid convolutions, and its weights.

Architecture: Jaganathan et al. 2019, Cell 176:535, doi:10.1016/j.cell.2018.12.015, as read off
the Keras files of ``spliceai==1.3.1`` and written down in ``docs/spliceai-scoring.md`` (this is
an independent implementation; no SpliceAI code is used). The official weights are licensed
CC BY-NC 4.0 and are never shipped with rnatools: they are read from the user's installation of
the ``spliceai`` package (``pip install 'rnatools[spliceai]'``) or from ``--weights``.

Each network sees exactly ±5,000 nt around a position, so an input of ``L + 10,000`` nt gives
``L`` outputs. The Keras model computes "same" convolutions over the whole input and crops 5,000
per side at the end; here every dilated convolution is *valid*, each residual unit crops its
shortcut to the shrunken length, and the skip sum is accumulated only at the ``L`` output
positions. The numbers are the same (checked against the Keras outputs to 1e-5); the work is a
fraction of it for short outputs. The network itself is the generic
:class:`~rnatools.models.dilated_cnn.DilatedResNet` (shared with OpenSpliceAI and Pangolin); this
module holds SpliceAI's constants (groups, Keras' BatchNorm epsilon 1e-3, ReLU, 3-way softmax)
and reads its Keras weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from rnatools.errors import MissingWeightsError
from rnatools.models.dilated_cnn import (
    DilatedCNNModel,
    DilatedResNet,
    Ensemble,
    batchnorm,
    fold_unit,
    freeze,
    set_conv,
    softmax_head,
)
from rnatools.models.spliceai_weights import (  # noqa: F401 (re-exported)
    WEIGHT_FILES,
    WEIGHTS_ENV,
    installed_weights,
    weight_files,
)

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.engine import Engine

SPLICEAI_FLANK = 5000
"""nt of context per side; an input of ``L + 10,000`` nt gives ``L`` outputs."""

CHANNELS = 32
BN_EPS = 1e-3  # Keras' BatchNormalization default, not PyTorch's 1e-5
# (kernel size, dilation) of the four groups of four residual units.
GROUPS: tuple[tuple[int, int], ...] = ((11, 1), (11, 4), (21, 10), (41, 25))
UNITS_PER_GROUP = 4
OUTPUT_CHANNELS = ("neither", "acceptor", "donor")


class SpliceAINet(DilatedResNet):
    """One SpliceAI-10k network with valid convolutions (:class:`DilatedResNet`: ReLU, four
    groups, 3-way softmax head).

    ``forward`` takes ``(batch, length + 10000, 4)`` one-hot float (A, C, G, T; N = zero row) and
    returns ``(batch, length, 3)`` softmax probabilities (neither, acceptor, donor).
    """

    flank = SPLICEAI_FLANK

    def __init__(self) -> None:
        super().__init__(
            GROUPS,
            len(OUTPUT_CHANNELS),
            softmax_head,
            channels=CHANNELS,
            units_per_group=UNITS_PER_GROUP,
        )
        assert self.context == SPLICEAI_FLANK


class SpliceAIEnsemble(Ensemble):
    """The five SpliceAI-10k networks; the output is the mean of their softmax probabilities.

    ``forward`` takes ``(batch, length + 10000, 4)`` one-hot float (channels A, C, G, T; N is an
    all-zero row) and returns ``(batch, length, 3)`` float32: the arithmetic mean of the networks'
    probabilities of 0 = neither, 1 = acceptor, 2 = donor (as SpliceAI 1.3.1 averages them).
    """

    flank: int = SPLICEAI_FLANK

    def __init__(self, nets: list[SpliceAINet]):
        super().__init__(nets)


# --------------------------------------------------------------------------------------------
# Weights


def _keras_array(group, layer: str, name: str) -> np.ndarray:
    return np.asarray(group[layer][layer][f"{name}:0"], dtype=np.float64)


def _conv_weights(group, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Keras kernel ``[K, C_in, C_out]`` → ``[C_out, C_in, 1, K]`` (no flip), and the bias."""
    kernel = _keras_array(group, f"conv1d_{index}", "kernel")
    bias = _keras_array(group, f"conv1d_{index}", "bias")
    return kernel.transpose(2, 1, 0)[:, :, None, :], bias


def _batchnorm(group, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Inference BatchNorm ``γ(x − μ)/√(σ² + 1e-3) + β`` as ``(scale, shift)``."""
    layer = f"batch_normalization_{index}"
    names = ("gamma", "beta", "moving_mean", "moving_variance")
    return batchnorm(*(_keras_array(group, layer, name) for name in names), eps=BN_EPS)


def load_keras_net(path: Path) -> SpliceAINet:
    """One network from an official Keras ``spliceai{1..5}.h5`` file (read with h5py).

    Layer names (``docs/spliceai-scoring.md``): input ``conv1d_1``; skip convs ``conv1d_2, 11,
    20, 29, 38``; residual convs ``conv1d_3…10``, ``12…19``, ``21…28``, ``30…37``; BatchNorms
    ``batch_normalization_1…32``, two per unit; output ``conv1d_39``.

    Raises:
        MissingWeightsError: the file cannot be read as SpliceAI weights.
    """
    import h5py

    net = SpliceAINet()
    try:
        with h5py.File(path, "r") as h5:
            group = h5["model_weights"] if "model_weights" in h5 else h5
            set_conv(net.input_conv, *_conv_weights(group, 1))
            conv_index, norm_index = 2, 1
            set_conv(net.skip_convs[0], *_conv_weights(group, conv_index))
            conv_index += 1
            for g, units in enumerate(net.groups):
                for unit in units:
                    # The second BatchNorm is folded into the first convolution (in float64).
                    fold_unit(
                        unit,
                        _batchnorm(group, norm_index),
                        _conv_weights(group, conv_index),
                        _batchnorm(group, norm_index + 1),
                        _conv_weights(group, conv_index + 1),
                    )
                    conv_index += 2
                    norm_index += 2
                set_conv(net.skip_convs[g + 1], *_conv_weights(group, conv_index))
                conv_index += 1
            set_conv(net.output_conv, *_conv_weights(group, conv_index))
    except (OSError, KeyError, ValueError) as exc:
        raise MissingWeightsError(f"{path}: not a SpliceAI Keras weight file ({exc})") from exc
    return freeze(net)


def load_spliceai(
    weights: Path | None = None, device: torch.device | str = "cpu"
) -> SpliceAIEnsemble:
    """The SpliceAI ensemble (five networks, or one from a single ``.h5``) in eval mode.

    Args:
        weights: a folder with ``spliceai1.h5 … spliceai5.h5`` or one ``.h5``; None = the
            registry's lookup (``$RNATOOLS_SPLICEAI_WEIGHTS``, then the installed package).

    Raises:
        MissingWeightsError: see :func:`rnatools.models.registry.find_weights`.
    """
    from rnatools.models.registry import find_weights

    return _read_ensemble(weight_files(find_weights("spliceai", weights)), device)


def _read_ensemble(files: Sequence[Path], device: torch.device | str) -> SpliceAIEnsemble:
    model = SpliceAIEnsemble([load_keras_net(path) for path in files]).eval()
    model.requires_grad_(False)
    return model.to(device)


# --------------------------------------------------------------------------------------------
# The adapter


class SpliceAIModel(DilatedCNNModel):
    """SpliceAI behind the :class:`~rnatools.models.base.SpliceModel` interface.

    ``forward`` maps ``(batch, length + 10000, 4)`` one-hot to ``(batch, length, 3)`` ensemble
    mean probabilities (neither, acceptor, donor); :attr:`incremental` scores many SNVs of one
    window from its reference activations (:mod:`rnatools.models.spliceai_incremental`).

    The weight files are read on first use, so a run none of whose inputs reaches the model
    reads none.

    Args:
        weight_files: the Keras ``.h5`` files (five for the ensemble, or one network).
        device: where the networks live.
        ensemble: an already built ensemble (instead of ``weight_files``).
    """

    name = "spliceai"
    context = SPLICEAI_FLANK
    channels = OUTPUT_CHANNELS
    acceptor_channel = OUTPUT_CHANNELS.index("acceptor")
    donor_channel = OUTPUT_CHANNELS.index("donor")

    def make_incremental(self):
        from rnatools.models.spliceai_incremental import SpliceAIIncremental

        return SpliceAIIncremental(lambda: self.ensemble)

    def read_ensemble(self) -> SpliceAIEnsemble:
        """The Keras networks (mean of their softmax).

        Raises:
            MissingWeightsError: a file cannot be read as SpliceAI weights.
        """
        return _read_ensemble(self.weight_files, self.device)


def load_spliceai_model(name: str, path: Path, engine: Engine, **options) -> SpliceAIModel:
    """The registry's loader: SpliceAI from a located weight path, on ``engine``'s device.

    Args:
        name: ``spliceai``.
        path: a folder holding ``spliceai1.h5 … spliceai5.h5``, or one ``.h5`` network.
        engine: gives the device.

    Raises:
        MissingWeightsError: the path does not hold SpliceAI weights.
        UsageError: an option SpliceAI does not take.
    """
    from rnatools.errors import UsageError

    if options:
        raise UsageError(f"SpliceAI takes no model options, got {', '.join(options)}")
    return SpliceAIModel(weight_files(Path(path)), engine.device)
