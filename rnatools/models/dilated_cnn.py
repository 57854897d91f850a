"""The residual dilated CNN shared by SpliceAI and its peers (OpenSpliceAI, Pangolin).

All three are the same network (Jaganathan et al. 2019, Cell 176:535,
doi:10.1016/j.cell.2018.12.015; OpenSpliceAI: Chao et al. 2025; Pangolin: Zeng & Li 2022,
Genome Biology 23:103, doi:10.1186/s13059-022-02664-4): a pointwise input convolution (4 → 32
channels), a pointwise skip convolution of its output, groups of pre-activation residual units
(norm → activation → dilated conv → norm → activation → dilated conv, added to the unit's input)
with a pointwise skip convolution after each group summed into the skip, a crop of the context,
and a pointwise head. The models differ only in the parameters of :class:`DilatedResNet`: the
(kernel, dilation) of each group, the activation's negative slope, the head's channels and its
output function, and (at load time) the BatchNorm epsilon folded into :class:`Affine`. Each
model's constants live in its own module (``spliceai``, ``openspliceai``, ``pangolin``); this
module has none.

The originals compute "same" convolutions over the whole input and crop ``context`` nt per side
at the end. Here every dilated convolution is *valid*, each residual unit crops its shortcut to
the shrunken length, and the skip sum is accumulated only at the output positions: the cropped
outputs are the same numbers (an output's receptive field is exactly ``±context``, so the
originals' zero padding never reaches it), for a fraction of the work on short outputs. The
second BatchNorm of a unit directly follows its first convolution and is folded into it when the
weights are read (:func:`fold_unit`). Stage capture (``logits(x, unit_stages, group_stages)``)
hands the activations to the incremental SNV path (:mod:`rnatools.models.incremental`).

Tensors inside the network are ``(batch, 32, 1, length)``: a 1-D convolution computed as a 2-D
one, which oneDNN runs several times faster on CPU (``benchmarks/predict_throughput.py``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnatools.models.base import SpliceModel

Head = Callable[[Tensor], Tensor]
"""``(batch, length, out_channels)`` logits → probabilities of the same shape."""


def softmax_head(logits: Tensor) -> Tensor:
    """Softmax over the channel (last) axis: SpliceAI's and OpenSpliceAI's head."""
    return torch.softmax(logits, dim=-1)


def crop(x: Tensor, length: int) -> Tensor:
    """The central ``length`` positions of ``x`` (..., L) (equal margins on both sides)."""
    margin = (x.shape[-1] - length) // 2
    return x[..., margin : margin + length]


class Conv(nn.Module):
    """A valid, dilated 1-D convolution computed as a 2-D one on ``(batch, C, 1, L)``.

    ``weight`` is ``(out, in, 1, kernel)``. ``use_conv2d=False`` switches to ``conv1d`` (same
    numbers to float rounding; slower on CPU).
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

    @property
    def radius(self) -> int:
        """nt each side an output reads: ``dilation · (kernel − 1) / 2``."""
        return self.shrink // 2

    def forward(self, x: Tensor) -> Tensor:  # x: (batch, C, 1, L)
        if self.use_conv2d:
            return F.conv2d(x, self.weight, self.bias, dilation=(1, self.dilation))
        y = F.conv1d(x.squeeze(2), self.weight.squeeze(2), self.bias, dilation=self.dilation)
        return y.unsqueeze(2)


class Affine(nn.Module):
    """Inference-time BatchNorm as a per-channel ``scale · x + shift`` (see :func:`batchnorm`)."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("scale", torch.ones(channels, 1, 1))
        self.register_buffer("shift", torch.zeros(channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.addcmul(self.shift, x, self.scale)


class ResidualUnit(nn.Module):
    """Pre-activation unit: norm → act → conv → (folded norm) → act → conv, plus the cropped input.

    Args:
        channels: width (32 for every model here).
        kernel_size, dilation: of both convolutions.
        negative_slope: 0 = ReLU; otherwise LeakyReLU with this slope.
    """

    def __init__(self, channels: int, kernel_size: int, dilation: int, negative_slope: float = 0.0):
        super().__init__()
        self.norm = Affine(channels)
        self.conv1 = Conv(channels, channels, kernel_size, dilation)
        self.conv2 = Conv(channels, channels, kernel_size, dilation)
        self.negative_slope = negative_slope

    @property
    def shrink(self) -> int:
        return self.conv1.shrink + self.conv2.shrink

    def act(self, x: Tensor) -> Tensor:
        """The unit's activation (ReLU, or LeakyReLU with :attr:`negative_slope`)."""
        if self.negative_slope == 0.0:
            return torch.relu(x)
        return F.leaky_relu(x, self.negative_slope)

    def act_(self, x: Tensor) -> Tensor:
        """:meth:`act` in place on ``x`` (a tensor nothing else holds): the same numbers,
        without a second tensor of the layer's size."""
        if self.negative_slope == 0.0:
            return torch.relu_(x)
        return F.leaky_relu_(x, self.negative_slope)

    def first(self, h: Tensor) -> Tensor:
        """The input of the second convolution: ``act(conv1'(act(norm(h))))`` (the
        activations applied in place on the fresh outputs of ``norm`` and ``conv1``)."""
        return self.act_(self.conv1(self.act_(self.norm(h))))

    def forward(self, h: Tensor, stages: list[Tensor] | None = None) -> Tensor:
        """``h`` ``(batch, C, 1, L)`` → ``(batch, C, 1, L − shrink)``.

        With ``stages``, appends the unit's input ``h`` and the input of its second
        convolution (what :mod:`rnatools.models.incremental` reuses).
        """
        b = self.first(h)
        if stages is not None:
            stages.extend((h, b))
        t = self.conv2(b)
        return t.add_(crop(h, t.shape[-1]))  # = cropped input + t, in place on the fresh t


class DilatedResNet(nn.Module):
    """One residual dilated CNN with valid convolutions.

    Args:
        groups: ``(kernel, dilation)`` of each group of residual units.
        out_channels: channels of the pointwise head.
        head: logits → probabilities (:func:`softmax_head`, or a model's own).
        negative_slope: of the activations (0 = ReLU).
        channels: width of the trunk.
        units_per_group: residual units per group.

    Attributes:
        context: nt of context per side, ``Σ shrink / 2``; an input of ``length + 2·context``
            nt gives ``length`` outputs.

    ``forward`` takes ``(batch, length + 2·context, 4)`` one-hot float (A, C, G, T; N = zero
    row) and returns ``(batch, length, out_channels)`` probabilities.
    """

    def __init__(
        self,
        groups: Sequence[tuple[int, int]],
        out_channels: int,
        head: Head = softmax_head,
        *,
        negative_slope: float = 0.0,
        channels: int = 32,
        units_per_group: int = 4,
    ):
        super().__init__()
        self.input_conv = Conv(4, channels, 1)
        self.skip_convs = nn.ModuleList(Conv(channels, channels, 1) for _ in range(len(groups) + 1))
        self.groups = nn.ModuleList(
            nn.ModuleList(
                ResidualUnit(channels, k, d, negative_slope) for _ in range(units_per_group)
            )
            for k, d in groups
        )
        self.output_conv = Conv(channels, out_channels, 1)
        self.head = head
        shrink = sum(unit.shrink for units in self.groups for unit in units)
        assert shrink % 2 == 0
        self.context = shrink // 2

    @property
    def out_channels(self) -> int:
        return self.output_conv.weight.shape[0]

    def set_conv2d(self, enabled: bool) -> None:
        """Compute convolutions with ``conv2d`` (default; faster on CPU) or ``conv1d``."""
        for module in self.modules():
            if isinstance(module, Conv):
                module.use_conv2d = enabled

    def logits(
        self,
        x: Tensor,
        unit_stages: list[Tensor] | None = None,
        group_stages: list[Tensor] | None = None,
    ) -> Tensor:
        """``(batch, length + 2·context, 4)`` → ``(batch, length, out_channels)`` pre-head scores.

        Args:
            x: one-hot input.
            unit_stages: when given, receives every residual unit's input and the input of its
                second convolution, in order (two per unit).
            group_stages: when given, receives the input convolution's output and the output of
                each group of units (the activations the skip convolutions read).

        Raises:
            ValueError: ``x`` is not ``(batch, length, 4)`` or not longer than ``2·context``.
        """
        if x.ndim != 3 or x.shape[-1] != 4:
            raise ValueError(f"expected (batch, length, 4), got {tuple(x.shape)}")
        length = x.shape[1] - 2 * self.context
        if length < 1:
            raise ValueError(f"input must be longer than {2 * self.context} nt, got {x.shape[1]}")
        h = self.input_conv(x.transpose(1, 2).unsqueeze(2))  # (batch, 32, 1, L + 2·context)
        if group_stages is not None:
            group_stages.append(h)
        # The skip sum is pointwise, so it is only ever needed at the `length` output positions.
        s = self.skip_convs[0](crop(h, length))
        for units, skip_conv in zip(self.groups, self.skip_convs[1:], strict=True):
            for unit in units:
                h = unit(h, unit_stages)
            if group_stages is not None:
                group_stages.append(h)
            s = s.add_(skip_conv(crop(h, length)))  # s is this pass's own running sum
        return self.output_conv(s).squeeze(2).transpose(1, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.logits(x))


def mean_of(outputs: Sequence[Tensor]) -> Tensor:
    """Arithmetic mean, summed in network order (as the originals average their ensembles)."""
    total = outputs[0]
    for output in outputs[1:]:
        total = total + output
    return total / len(outputs)


class Ensemble(nn.Module):
    """Networks run on the same input, their probabilities combined.

    Args:
        nets: the networks (same context and head).
        combine: ``list of (batch, length, C) → (batch, length, C')``; default the mean.

    ``forward`` takes ``(batch, length + 2·context, 4)`` one-hot and returns the combined
    ``(batch, length, C')`` float32.
    """

    def __init__(
        self, nets: Sequence[DilatedResNet], combine: Callable[[Sequence[Tensor]], Tensor] = mean_of
    ):
        super().__init__()
        if not nets:
            raise ValueError("an ensemble needs at least one network")
        if len({net.context for net in nets}) != 1:
            raise ValueError("the networks of an ensemble must share one context")
        self.nets = nn.ModuleList(nets)
        self.combine = combine

    @property
    def context(self) -> int:
        return self.nets[0].context

    def set_conv2d(self, enabled: bool) -> None:
        for net in self.nets:
            net.set_conv2d(enabled)

    def forward_each(self, x: Tensor) -> Tensor:
        """``(n_nets, batch, length, C)`` probabilities of every network."""
        return torch.stack([net(x) for net in self.nets])

    def forward(self, x: Tensor) -> Tensor:
        if self.combine is mean_of:  # running sum: one network's output alive at a time
            total = self.nets[0](x)
            for net in self.nets[1:]:
                total = total + net(x)
            return total / len(self.nets)
        return self.combine([net(x) for net in self.nets])


# --------------------------------------------------------------------------------------------
# Weights (shared helpers; each model's module maps its checkpoint's names onto these)


def batchnorm(gamma, beta, mean, variance, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Inference BatchNorm ``γ(x − μ)/√(σ² + eps) + β`` as float64 ``(scale, shift)``."""
    gamma, beta, mean, variance = (
        np.asarray(a, dtype=np.float64) for a in (gamma, beta, mean, variance)
    )
    scale = gamma / np.sqrt(variance + eps)
    return scale, beta - mean * scale


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """A PyTorch state dict from ``path`` (``torch.load(weights_only=True)`` on the CPU: the
    published checkpoints were saved from CUDA).

    Raises:
        MissingWeightsError: the file cannot be read as a PyTorch state dict.
        InputError: the file holds something other than a mapping of tensors.
    """
    from rnatools.errors import InputError, MissingWeightsError

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors alike
        raise MissingWeightsError(f"{path}: not a PyTorch state dict ({exc})") from exc
    if not isinstance(state, dict):
        raise InputError("expected a state dict (a mapping of tensors)", path)
    return state


class StateDictParameters:
    """float64 parameters of a PyTorch state dict, by module prefix.

    Args:
        state: the state dict.
        eps: the BatchNorm epsilon of the network that was trained.

    Raises:
        KeyError: (from the methods) a missing key.
    """

    def __init__(self, state: dict[str, Tensor], eps: float):
        self.state = state
        self.eps = eps

    def array(self, key: str) -> np.ndarray:
        return self.state[key].detach().cpu().double().numpy()

    def conv(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """``(weight, bias)`` of the convolution ``prefix``."""
        return self.array(f"{prefix}.weight"), self.array(f"{prefix}.bias")

    def norm(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """The BatchNorm ``prefix`` at inference as ``(scale, shift)`` (:func:`batchnorm`)."""
        names = ("weight", "bias", "running_mean", "running_var")
        return batchnorm(*(self.array(f"{prefix}.{name}") for name in names), eps=self.eps)


def set_conv(conv: Conv, weight, bias) -> None:
    """Copy ``weight`` (``(out, in, K)`` or ``(out, in, 1, K)``) and ``bias`` into ``conv``.

    Raises:
        ValueError: the shapes do not fit.
    """
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim == 3:
        weight = weight[:, :, None, :]
    if tuple(conv.weight.shape) != weight.shape:
        raise ValueError(f"weight shape {weight.shape}, expected {tuple(conv.weight.shape)}")
    bias = np.asarray(bias, dtype=np.float64)
    if tuple(conv.bias.shape) != bias.shape:
        raise ValueError(f"bias shape {bias.shape}, expected {tuple(conv.bias.shape)}")
    conv.weight.data = torch.from_numpy(weight.astype(np.float32))
    conv.bias.data = torch.from_numpy(bias.astype(np.float32))


def fold_unit(
    unit: ResidualUnit,
    norm1: tuple[np.ndarray, np.ndarray],
    conv1: tuple[np.ndarray, np.ndarray],
    norm2: tuple[np.ndarray, np.ndarray],
    conv2: tuple[np.ndarray, np.ndarray],
) -> None:
    """Set a unit from its layers: ``norm*`` are :func:`batchnorm` ``(scale, shift)`` pairs,
    ``conv*`` ``(weight (out, in, [1,] K), bias)``. The second norm is folded into the first
    convolution in float64."""
    scale, shift = norm1
    unit.norm.scale.copy_(torch.from_numpy(np.asarray(scale).astype(np.float32))[:, None, None])
    unit.norm.shift.copy_(torch.from_numpy(np.asarray(shift).astype(np.float32))[:, None, None])
    weight, bias = (np.asarray(a, dtype=np.float64) for a in conv1)
    scale2, shift2 = norm2
    weight = weight * scale2.reshape((-1,) + (1,) * (weight.ndim - 1))
    set_conv(unit.conv1, weight, bias * scale2 + shift2)
    set_conv(unit.conv2, *conv2)


def freeze(module: nn.Module) -> nn.Module:
    """``module`` in eval mode without gradients."""
    module.eval()
    module.requires_grad_(False)
    return module


class DilatedCNNModel(SpliceModel):
    """A :class:`~rnatools.models.base.SpliceModel` whose networks are an :class:`Ensemble` of
    :class:`DilatedResNet`, read from their weight files on first use (so a run none of whose
    inputs reaches the model reads none), with the incremental path of
    :mod:`rnatools.models.incremental`.

    A model module subclasses it with its constants (``name``, ``context``, ``channels``, …)
    and :meth:`read_ensemble`.

    Args:
        weight_files: the files :meth:`read_ensemble` reads.
        device: where the networks live.
        ensemble: an already built ensemble (instead of ``weight_files``).

    Raises:
        ValueError: neither weight files nor an ensemble.
    """

    def __init__(
        self,
        weight_files: Sequence[Path] = (),
        device: torch.device | str = "cpu",
        *,
        ensemble: Ensemble | None = None,
    ):
        if ensemble is None and not weight_files:
            raise ValueError(f"{type(self).__name__} needs weight files or an ensemble")
        self.weight_files = list(weight_files)
        self.device = torch.device(device)
        self._ensemble = ensemble
        self.incremental = self.make_incremental()

    def make_incremental(self):
        """The incremental capability (reads :attr:`ensemble` only when first run)."""
        from rnatools.models.incremental import DilatedIncremental

        return DilatedIncremental(lambda: self.ensemble)

    @abstractmethod
    def read_ensemble(self) -> Ensemble:
        """Read :attr:`weight_files` into the ensemble, on :attr:`device`, in eval mode.

        Raises:
            MissingWeightsError: a file cannot be read as the model's weights.
            InputError: weights of another architecture.
        """

    @property
    def ensemble(self) -> Ensemble:
        """The networks, read by :meth:`read_ensemble` on first use."""
        if self._ensemble is None:
            self._ensemble = self.read_ensemble()
        return self._ensemble

    def forward(self, x: Tensor) -> Tensor:
        return self.ensemble(x)

    def forward_each(self, x: Tensor) -> Tensor:
        """``(n_nets, batch, length, channels)`` outputs of every network (before combining)."""
        return self.ensemble.forward_each(x)


__all__ = [
    "DilatedCNNModel",
    "StateDictParameters",
    "read_state_dict",
    "Affine",
    "Conv",
    "DilatedResNet",
    "Ensemble",
    "ResidualUnit",
    "batchnorm",
    "crop",
    "fold_unit",
    "freeze",
    "mean_of",
    "set_conv",
    "softmax_head",
]
