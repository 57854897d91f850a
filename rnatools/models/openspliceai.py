"""OpenSpliceAI-MANE: the SpliceAI architecture retrained on MANE transcripts, four flanks.

Chao et al. 2025, eLife 14 (reviewed preprint 107454), doi:10.7554/eLife.107454 (preprint
doi:10.1101/2025.03.20.644351). This is an independent implementation from the architecture
notes of ``shared/fixtures/openspliceai/README.md``, checked against outputs of
``openspliceai==0.0.7`` (``tests/test_openspliceai.py``); no OpenSpliceAI code is used. The
weights (GPL-3.0) are installed by the user and never shipped.

The network is :class:`~rnatools.models.dilated_cnn.DilatedResNet` with LeakyReLU (slope 0.1),
PyTorch's BatchNorm epsilon 1e-5 and a 3-way softmax head (0 = neither, 1 = acceptor, 2 =
donor). The flank F (80, 400, 2000 or 10,000 nt: the sum of the receptive field on both sides)
decides the groups of residual units; the context per side is F/2. The ensemble output is the
mean of the five seeds' softmax probabilities (rs10 … rs14, summed in that order).

Weights: ``.pt`` state dicts (``model_<F>nt_rs1{0..4}.pt``), read with
``torch.load(weights_only=True)``. A located path is one ``.pt`` file (one network), a folder
of them (one flank), or a parent folder holding ``<F>nt/`` folders (the flank of the model name
is chosen).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from rnatools.errors import InputError, MissingWeightsError, UsageError
from rnatools.models.dilated_cnn import (
    DilatedCNNModel,
    DilatedResNet,
    Ensemble,
    StateDictParameters,
    fold_unit,
    freeze,
    read_state_dict,
    set_conv,
    softmax_head,
)

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.engine import Engine

FLANKS = (80, 400, 2000, 10_000)
"""The published OpenSpliceAI-MANE flanks (nt of receptive field, both sides together)."""
DEFAULT_FLANK = 10_000
NAME = "openspliceai-mane"
WEIGHTS_ENV = "RNATOOLS_OPENSPLICEAI_WEIGHTS"
BN_EPS = 1e-5
NEGATIVE_SLOPE = 0.1
UNITS_PER_GROUP = 4
OUTPUT_CHANNELS = ("neither", "acceptor", "donor")
# (kernel size, dilation) of the groups of four residual units; flank F uses the first ones.
_ALL_GROUPS: tuple[tuple[int, int], ...] = ((11, 1), (11, 4), (21, 10), (41, 25))
GROUPS: dict[int, tuple[tuple[int, int], ...]] = {
    flank: _ALL_GROUPS[: FLANKS.index(flank) + 1] for flank in FLANKS
}
_FILE_FLANK = re.compile(r"_(\d+)nt_")


def flank_of(name: str) -> int:
    """The flank of a registry name: ``openspliceai-mane`` → 10000, ``…-400`` → 400.

    Raises:
        UsageError: (``model``) not an OpenSpliceAI-MANE name.
    """
    if name == NAME:
        return DEFAULT_FLANK
    prefix, _, flank = name.rpartition("-")
    if prefix == NAME and flank.isdigit() and int(flank) in FLANKS:
        return int(flank)
    choices = ", ".join([NAME, *(f"{NAME}-{f}" for f in FLANKS)])
    raise UsageError(f"unknown OpenSpliceAI model {name!r}; choose one of {choices}", "model")


def _how_to_get() -> str:
    from rnatools.models.registry import MODELS  # the registry names this module's hooks

    return MODELS[NAME].how_to_get


def weight_files(path: Path, name: str = NAME) -> list[Path]:
    """The ``.pt`` files of a located path (the registry's layout hook).

    Args:
        path: one ``.pt`` file (a single network); a folder of ``.pt`` files of one flank; or a
            parent folder holding ``<F>nt/`` folders (``80nt/ … 10000nt/``).
        name: registry name (gives the flank).

    Returns:
        The files, sorted by name (seeds rs10 … rs14: the order of the ensemble's sum).

    Raises:
        MissingWeightsError: no such path, no ``.pt`` file for the flank, or files named for
            another flank (``model_400nt_rs10.pt`` for ``openspliceai-mane``); the message says
            what is missing and how to get the weights.
    """
    flank = flank_of(name)
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise MissingWeightsError(f"{name} weights {path}: no such file or folder; {_how_to_get()}")
    folder = path / f"{flank}nt" if (path / f"{flank}nt").is_dir() else path
    files = sorted(folder.glob("*.pt"))
    if not files:
        subfolders = sorted(p.name for p in path.glob("*nt") if p.is_dir())
        found = f" (it holds {', '.join(subfolders)})" if subfolders else ""
        raise MissingWeightsError(
            f"{name} weights {path}: no {flank}nt/ folder and no .pt files (model_{flank}nt_"
            f"rs10.pt … model_{flank}nt_rs14.pt){found}; {_how_to_get()}"
        )
    others = sorted({int(m.group(1)) for f in files if (m := _FILE_FLANK.search(f.name))} - {flank})
    if others:
        raise MissingWeightsError(
            f"{name} needs the {flank}nt models, but {folder} holds "
            f"{', '.join(f'{f}nt' for f in others)} models; {_how_to_get()}"
        )
    return files


class OpenSpliceAINet(DilatedResNet):
    """One OpenSpliceAI network of flank ``flank`` with valid convolutions.

    ``forward`` takes ``(batch, length + flank, 4)`` one-hot float (A, C, G, T; N = zero row)
    and returns ``(batch, length, 3)`` softmax probabilities (neither, acceptor, donor).
    """

    def __init__(self, flank: int = DEFAULT_FLANK):
        if flank not in GROUPS:
            raise ValueError(f"flank must be one of {FLANKS}, got {flank}")
        super().__init__(
            GROUPS[flank],
            len(OUTPUT_CHANNELS),
            softmax_head,
            negative_slope=NEGATIVE_SLOPE,
            units_per_group=UNITS_PER_GROUP,
        )
        self.flank = flank
        assert 2 * self.context == flank


def _expected_keys(flank: int) -> set[str]:
    keys = {"initial_conv", "initial_skip.conv", "final_conv"}
    for g in range(len(GROUPS[flank])):
        keys.add(f"residual_units.{5 * g + 4}.conv")
        for u in range(UNITS_PER_GROUP):
            keys |= {f"residual_units.{5 * g + u}.conv1", f"residual_units.{5 * g + u}.conv2"}
    return {f"{k}.{p}" for k in keys for p in ("weight", "bias")} | {
        f"residual_units.{5 * g + u}.batchnorm{i}.{p}"
        for g in range(len(GROUPS[flank]))
        for u in range(UNITS_PER_GROUP)
        for i in (1, 2)
        for p in ("weight", "bias", "running_mean", "running_var")
    }


def net_from_state_dict(state: dict[str, Tensor], flank: int, source: str = "") -> OpenSpliceAINet:
    """One network from an OpenSpliceAI state dict.

    Key layout (``checkpoint_layout.json``): ``initial_conv``, ``initial_skip.conv``; residual
    unit k of the ModuleList at index ``k + k // 4`` (``batchnorm1``, ``conv1``, ``batchnorm2``,
    ``conv2``); the skip convolution after group g at ``5g + 4`` (``.conv``); ``final_conv``.

    Raises:
        InputError: keys or shapes that are not those of an OpenSpliceAI ``flank`` network
            (e.g. the checkpoint of another flank).
    """
    have = {k for k in state if not k.endswith("num_batches_tracked")}
    want = _expected_keys(flank)
    if have != want:
        missing, extra = sorted(want - have), sorted(have - want)
        detail = (f"missing {', '.join(missing[:3])}" if missing else "") + (
            f"{'; ' if missing else ''}unexpected {', '.join(extra[:3])}" if extra else ""
        )
        raise InputError(f"not an OpenSpliceAI-MANE {flank}nt state dict ({detail})", source)

    parameters = StateDictParameters(state, BN_EPS)
    conv, norm = parameters.conv, parameters.norm

    net = OpenSpliceAINet(flank)
    try:
        set_conv(net.input_conv, *conv("initial_conv"))
        set_conv(net.skip_convs[0], *conv("initial_skip.conv"))
        for g, units in enumerate(net.groups):
            for u, unit in enumerate(units):
                prefix = f"residual_units.{5 * g + u}"
                fold_unit(
                    unit,
                    norm(f"{prefix}.batchnorm1"),
                    conv(f"{prefix}.conv1"),
                    norm(f"{prefix}.batchnorm2"),
                    conv(f"{prefix}.conv2"),
                )
            set_conv(net.skip_convs[g + 1], *conv(f"residual_units.{5 * g + 4}.conv"))
        set_conv(net.output_conv, *conv("final_conv"))
    except ValueError as exc:
        raise InputError(f"not an OpenSpliceAI-MANE {flank}nt state dict ({exc})", source) from exc
    return freeze(net)


def load_net(path: Path, flank: int) -> OpenSpliceAINet:
    """One network from a ``.pt`` state dict (``torch.load(weights_only=True)`` on the CPU).

    Raises:
        MissingWeightsError: the file cannot be read as a PyTorch state dict.
        InputError: a state dict of another architecture or flank.
    """
    return net_from_state_dict(read_state_dict(path), flank, str(path))


class OpenSpliceAIModel(DilatedCNNModel):
    """OpenSpliceAI-MANE behind the :class:`~rnatools.models.base.SpliceModel` interface.

    ``forward`` maps ``(batch, length + flank, 4)`` one-hot to ``(batch, length, 3)`` ensemble
    mean probabilities (neither, acceptor, donor); :attr:`incremental` scores many SNVs of one
    window from its reference activations (:mod:`rnatools.models.incremental`). The weight files
    are read on first use.

    Args:
        name: registry name (``openspliceai-mane``, ``openspliceai-mane-400`` …).
        weight_files: the ``.pt`` files (five seeds, or one network).
        device: where the networks live.
        ensemble: an already built ensemble (instead of ``weight_files``).
    """

    channels = OUTPUT_CHANNELS
    acceptor_channel = OUTPUT_CHANNELS.index("acceptor")
    donor_channel = OUTPUT_CHANNELS.index("donor")

    def __init__(
        self,
        name: str = NAME,
        weight_files: Sequence[Path] = (),
        device: torch.device | str = "cpu",
        *,
        ensemble: Ensemble | None = None,
    ):
        self.name = name
        self.flank = flank_of(name)
        self.context = self.flank // 2
        super().__init__(weight_files, device, ensemble=ensemble)

    def read_ensemble(self) -> Ensemble:
        """The seeds' networks (mean of their softmax).

        Raises:
            MissingWeightsError: a file cannot be read as a state dict.
            InputError: a state dict of another flank or architecture.
        """
        nets = [load_net(path, self.flank) for path in self.weight_files]
        return freeze(Ensemble(nets)).to(self.device)


def load_openspliceai(name: str, path: Path, engine: Engine, **options) -> OpenSpliceAIModel:
    """The registry's loader: OpenSpliceAI-MANE of ``name``'s flank, on ``engine``'s device.

    Raises:
        MissingWeightsError: the path does not hold the flank's ``.pt`` files.
        UsageError: a model option (OpenSpliceAI takes none).
    """
    if options:
        raise UsageError(f"OpenSpliceAI takes no model options, got {', '.join(options)}")
    return OpenSpliceAIModel(name, weight_files(Path(path), name), engine.device)


__all__ = [
    "FLANKS",
    "GROUPS",
    "OUTPUT_CHANNELS",
    "OpenSpliceAIModel",
    "OpenSpliceAINet",
    "flank_of",
    "load_net",
    "load_openspliceai",
    "net_from_state_dict",
    "weight_files",
]
