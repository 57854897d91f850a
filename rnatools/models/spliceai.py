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
fraction of it for short outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnatools.errors import MissingWeightsError
from rnatools.models.base import SpliceModel
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


def _crop(x: Tensor, length: int) -> Tensor:
    """The central ``length`` positions of ``x`` (..., L) (equal margins on both sides)."""
    margin = (x.shape[-1] - length) // 2
    return x[..., margin : margin + length]


class _Conv(nn.Module):
    """A valid, dilated 1-D convolution computed as a 2-D one on ``(batch, C, 1, L)``.

    On CPU, oneDNN's 2-D convolution is several times faster than ``conv1d`` for these shapes
    (see ``benchmarks/predict_throughput.py``); ``use_conv2d=False`` switches back.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_channels, in_channels, 1, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.dilation = dilation
        self.kernel_size = kernel_size
        self.use_conv2d = True

    @property
    def shrink(self) -> int:
        """nt lost by the valid convolution: ``dilation · (kernel − 1)``."""
        return self.dilation * (self.kernel_size - 1)

    def forward(self, x: Tensor) -> Tensor:  # x: (batch, C, 1, L)
        if self.use_conv2d:
            return F.conv2d(x, self.weight, self.bias, dilation=(1, self.dilation))
        y = F.conv1d(x.squeeze(2), self.weight.squeeze(2), self.bias, dilation=self.dilation)
        return y.unsqueeze(2)


class _Affine(nn.Module):
    """Inference-time BatchNorm as a per-channel ``scale · x + shift``."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("scale", torch.ones(channels, 1, 1))
        self.register_buffer("shift", torch.zeros(channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.addcmul(self.shift, x, self.scale)


class _ResidualUnit(nn.Module):
    """Pre-activation unit: BN → ReLU → conv → BN → ReLU → conv, added to the cropped input.

    The second BatchNorm directly follows the first convolution, so it is folded into that
    convolution's weights at load time.
    """

    def __init__(self, kernel_size: int, dilation: int):
        super().__init__()
        self.norm = _Affine(CHANNELS)
        self.conv1 = _Conv(CHANNELS, CHANNELS, kernel_size, dilation)
        self.conv2 = _Conv(CHANNELS, CHANNELS, kernel_size, dilation)

    @property
    def shrink(self) -> int:
        return self.conv1.shrink + self.conv2.shrink

    def forward(self, h: Tensor, stages: list[Tensor] | None = None) -> Tensor:
        """``h`` ``(batch, 32, 1, L)`` → ``(batch, 32, 1, L − shrink)``.

        With ``stages``, appends the unit's input ``h`` and the input of its second
        convolution (what :mod:`rnatools.models.spliceai_incremental` reuses).
        """
        b = torch.relu(self.conv1(torch.relu(self.norm(h))))
        if stages is not None:
            stages.extend((h, b))
        t = self.conv2(b)
        return _crop(h, t.shape[-1]) + t


class SpliceAINet(nn.Module):
    """One SpliceAI-10k network with valid convolutions.

    ``forward`` takes ``(batch, length + 10000, 4)`` one-hot float (A, C, G, T; N = zero row) and
    returns ``(batch, length, 3)`` softmax probabilities (neither, acceptor, donor).
    """

    flank = SPLICEAI_FLANK

    def __init__(self) -> None:
        super().__init__()
        self.input_conv = _Conv(4, CHANNELS, 1)
        self.skip_convs = nn.ModuleList(
            _Conv(CHANNELS, CHANNELS, 1) for _ in range(len(GROUPS) + 1)
        )
        self.groups = nn.ModuleList(
            nn.ModuleList(_ResidualUnit(k, d) for _ in range(UNITS_PER_GROUP)) for k, d in GROUPS
        )
        self.output_conv = _Conv(CHANNELS, 3, 1)
        assert sum(u.shrink for g in self.groups for u in g) == 2 * SPLICEAI_FLANK

    def set_conv2d(self, enabled: bool) -> None:
        """Compute convolutions with ``conv2d`` (default; faster on CPU) or ``conv1d``."""
        for module in self.modules():
            if isinstance(module, _Conv):
                module.use_conv2d = enabled

    def logits(
        self,
        x: Tensor,
        unit_stages: list[Tensor] | None = None,
        group_stages: list[Tensor] | None = None,
    ) -> Tensor:
        """``(batch, length + 10000, 4)`` → ``(batch, length, 3)`` pre-softmax scores.

        Args:
            x: one-hot input.
            unit_stages: when given, receives every residual unit's input and the input of its
                second convolution, in order (two per unit).
            group_stages: when given, receives the input convolution's output and the output of
                each group of units (the activations the skip convolutions read).

        Raises:
            ValueError: ``x`` is not ``(batch, length, 4)`` or not longer than 10,000 nt.
        """
        if x.ndim != 3 or x.shape[-1] != 4:
            raise ValueError(f"expected (batch, length, 4), got {tuple(x.shape)}")
        length = x.shape[1] - 2 * SPLICEAI_FLANK
        if length < 1:
            raise ValueError(f"input must be longer than {2 * SPLICEAI_FLANK} nt, got {x.shape[1]}")
        h = self.input_conv(x.transpose(1, 2).unsqueeze(2))  # (batch, 32, 1, L + 10000)
        if group_stages is not None:
            group_stages.append(h)
        # The skip sum is pointwise, so it is only ever needed at the `length` output positions.
        s = self.skip_convs[0](_crop(h, length))
        for units, skip_conv in zip(self.groups, self.skip_convs[1:], strict=True):
            for unit in units:
                h = unit(h, unit_stages)
            if group_stages is not None:
                group_stages.append(h)
            s = s + skip_conv(_crop(h, length))
        return self.output_conv(s).squeeze(2).transpose(1, 2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.softmax(self.logits(x), dim=-1)


class SpliceAIEnsemble(nn.Module):
    """The five SpliceAI-10k networks; the output is the mean of their softmax probabilities.

    ``forward`` takes ``(batch, length + 10000, 4)`` one-hot float (channels A, C, G, T; N is an
    all-zero row) and returns ``(batch, length, 3)`` float32: the arithmetic mean of the networks'
    probabilities of 0 = neither, 1 = acceptor, 2 = donor (as SpliceAI 1.3.1 averages them).
    """

    flank: int = SPLICEAI_FLANK

    def __init__(self, nets: list[SpliceAINet]):
        super().__init__()
        if not nets:
            raise ValueError("an ensemble needs at least one network")
        self.nets = nn.ModuleList(nets)

    def set_conv2d(self, enabled: bool) -> None:
        for net in self.nets:
            net.set_conv2d(enabled)

    def forward_each(self, x: Tensor) -> Tensor:
        """``(n_nets, batch, length, 3)`` probabilities of every network."""
        return torch.stack([net(x) for net in self.nets])

    def forward(self, x: Tensor) -> Tensor:
        total = self.nets[0](x)
        for net in self.nets[1:]:
            total = total + net(x)
        return total / len(self.nets)


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
    gamma = _keras_array(group, layer, "gamma")
    beta = _keras_array(group, layer, "beta")
    mean = _keras_array(group, layer, "moving_mean")
    variance = _keras_array(group, layer, "moving_variance")
    scale = gamma / np.sqrt(variance + BN_EPS)
    return scale, beta - mean * scale


def _set_conv(conv: _Conv, weight: np.ndarray, bias: np.ndarray) -> None:
    if tuple(conv.weight.shape) != weight.shape:
        raise ValueError(f"weight shape {weight.shape}, expected {tuple(conv.weight.shape)}")
    conv.weight.data = torch.from_numpy(weight.astype(np.float32))
    conv.bias.data = torch.from_numpy(bias.astype(np.float32))


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
            _set_conv(net.input_conv, *_conv_weights(group, 1))
            conv_index, norm_index = 2, 1
            _set_conv(net.skip_convs[0], *_conv_weights(group, conv_index))
            conv_index += 1
            for g, units in enumerate(net.groups):
                for unit in units:
                    scale, shift = _batchnorm(group, norm_index)
                    unit.norm.scale.copy_(torch.from_numpy(scale.astype(np.float32))[:, None, None])
                    unit.norm.shift.copy_(torch.from_numpy(shift.astype(np.float32))[:, None, None])
                    # Fold the second BatchNorm into the first convolution (in float64).
                    weight, bias = _conv_weights(group, conv_index)
                    scale2, shift2 = _batchnorm(group, norm_index + 1)
                    weight = weight * scale2[:, None, None, None]
                    _set_conv(unit.conv1, weight, bias * scale2 + shift2)
                    _set_conv(unit.conv2, *_conv_weights(group, conv_index + 1))
                    conv_index += 2
                    norm_index += 2
                _set_conv(net.skip_convs[g + 1], *_conv_weights(group, conv_index))
                conv_index += 1
            _set_conv(net.output_conv, *_conv_weights(group, conv_index))
    except (OSError, KeyError, ValueError) as exc:
        raise MissingWeightsError(f"{path}: not a SpliceAI Keras weight file ({exc})") from exc
    net.eval()
    net.requires_grad_(False)
    return net


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


class SpliceAIModel(SpliceModel):
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

    def __init__(
        self,
        weight_files: Sequence[Path] = (),
        device: torch.device | str = "cpu",
        *,
        ensemble: SpliceAIEnsemble | None = None,
    ):
        from rnatools.models.spliceai_incremental import SpliceAIIncremental

        if ensemble is None and not weight_files:
            raise ValueError("SpliceAIModel needs weight files or an ensemble")
        self.weight_files = list(weight_files)
        self.device = torch.device(device)
        self._ensemble = ensemble
        self.incremental = SpliceAIIncremental(lambda: self.ensemble)

    @property
    def ensemble(self) -> SpliceAIEnsemble:
        """The networks, read from :attr:`weight_files` on first use.

        Raises:
            MissingWeightsError: a file cannot be read as SpliceAI weights.
        """
        if self._ensemble is None:
            self._ensemble = _read_ensemble(self.weight_files, self.device)
        return self._ensemble

    def forward(self, x: Tensor) -> Tensor:
        return self.ensemble(x)


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
