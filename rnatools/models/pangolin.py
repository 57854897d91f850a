"""Pangolin: tissue-specific splice-site strength from the SpliceAI architecture, 12 networks.

Zeng & Li 2022, Genome Biology 23:103, doi:10.1186/s13059-022-02664-4. This is an independent
implementation from the architecture notes of ``shared/fixtures/pangolin/README.md``, checked
against outputs of github tkzeng/Pangolin @ 5cf94b8 (``tests/test_pangolin_model.py``); no
Pangolin code is used. The weights (GPL-3.0) are installed by the user and never shipped.

Each network is a :class:`~rnatools.models.dilated_cnn.DilatedResNet` (ReLU, BatchNorm epsilon
1e-5, SpliceAI-10k's four groups: ±5,000 nt of context) whose head has 12 channels: for tissue
t (0 heart, 1 liver, 2 brain, 3 testis) channels ``3t, 3t+1`` are a 2-way softmax (P(no
splice), P(splice)) and channel ``3t+2`` is a sigmoid (splice-site usage). Acceptor and donor
are not told apart. Pangolin's 12 weight files ``final.{1,2,3}.{0,2,4,6}.3.v2`` are three
replicates per tissue (``0, 2, 4, 6`` = heart, liver, brain, testis); the adapter's output, per
tissue t, is the mean over that tissue's three networks of channel ``3t+1`` (P(splice), the one
``pangolin.py`` reads) and of channel ``3t+2`` (usage), plus ``max_psplice``, the largest of the
four tissue P(splice) values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
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
)

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.engine import Engine

NAME = "pangolin"
WEIGHTS_ENV = "RNATOOLS_PANGOLIN_WEIGHTS"
CONTEXT = 5000
"""nt of context per side; an input of ``L + 10,000`` nt gives ``L`` outputs."""
BN_EPS = 1e-5
GROUPS: tuple[tuple[int, int], ...] = ((11, 1), (11, 4), (21, 10), (41, 25))
UNITS_PER_GROUP = 4
TISSUES = ("heart", "liver", "brain", "testis")
NET_CHANNELS = 3 * len(TISSUES)
"""Channels of one network: per tissue P(no splice), P(splice), usage."""
REPLICATES = (1, 2, 3)
TISSUE_MODEL_NUMBERS = (0, 2, 4, 6)  # the P(splice) model of each tissue in Pangolin's numbering
WEIGHT_FILES = tuple(
    f"final.{replicate}.{number}.3.v2"
    for number in TISSUE_MODEL_NUMBERS
    for replicate in REPLICATES
)
"""Network order: tissue-major, replicates 1..3 (networks ``3t … 3t+2`` belong to tissue t)."""
OUTPUT_CHANNELS = (
    *(f"{tissue}_{kind}" for tissue in TISSUES for kind in ("psplice", "usage")),
    "max_psplice",
)
PSPLICE_CHANNELS = tuple(2 * t for t in range(len(TISSUES)))
"""Output channels of the per-tissue P(splice): ``(0, 2, 4, 6)``."""


def pangolin_head(logits: Tensor) -> Tensor:
    """``(batch, length, 12)`` logits → per tissue softmax over ``[3t, 3t+1]`` and sigmoid of
    ``3t+2`` (Pangolin's eight heads, concatenated in its order)."""
    grouped = logits.unflatten(-1, (len(TISSUES), 3))
    probabilities = torch.cat(
        (torch.softmax(grouped[..., :2], dim=-1), torch.sigmoid(grouped[..., 2:])), dim=-1
    )
    return probabilities.flatten(-2)


def combine_tissues(outputs: Sequence[Tensor]) -> Tensor:
    """The adapter's 9 channels from the 12 networks' ``(…, 12)`` outputs (in
    :data:`WEIGHT_FILES` order): per tissue the mean over its 3 networks of P(splice) (channel
    ``3t+1``) and of usage (``3t+2``), then the maximum of the four P(splice)."""
    per = len(REPLICATES)
    if len(outputs) != per * len(TISSUES):
        raise ValueError(f"Pangolin combines {per * len(TISSUES)} networks, got {len(outputs)}")
    columns = []
    for t in range(len(TISSUES)):
        nets = outputs[per * t : per * (t + 1)]
        for channel in (3 * t + 1, 3 * t + 2):
            total = nets[0][..., channel]
            for net in nets[1:]:
                total = total + net[..., channel]
            columns.append(total / per)
    psplice = torch.stack(columns[0::2], dim=-1)
    return torch.stack((*columns, psplice.amax(dim=-1)), dim=-1)


class PangolinNet(DilatedResNet):
    """One Pangolin network: ``(batch, length + 10000, 4)`` one-hot → ``(batch, length, 12)``
    probabilities (per tissue P(no splice), P(splice), usage)."""

    def __init__(self) -> None:
        super().__init__(GROUPS, NET_CHANNELS, pangolin_head, units_per_group=UNITS_PER_GROUP)
        assert self.context == CONTEXT


def _how_to_get() -> str:
    from rnatools.models.registry import MODELS  # the registry names this module's hooks

    return MODELS[NAME].how_to_get


def weight_files(path: Path, name: str = NAME) -> list[Path]:
    """The 12 weight files of a located folder, in :data:`WEIGHT_FILES` order (layout hook).

    Raises:
        MissingWeightsError: not a folder, or one that lacks some of the files (named).
    """
    path = Path(path)
    if not path.is_dir():
        raise MissingWeightsError(
            f"{name} weights {path}: expected a folder holding {WEIGHT_FILES[0]} … "
            f"{WEIGHT_FILES[-1]}; {_how_to_get()}"
        )
    files = [path / file_name for file_name in WEIGHT_FILES]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise MissingWeightsError(
            f"{name} weights {path}: missing {', '.join(missing)}; {_how_to_get()}"
        )
    return files


def net_from_state_dict(state: dict[str, Tensor], source: str = "") -> PangolinNet:
    """One network from a Pangolin state dict (``conv1``, ``skip``, ``resblocks.{0..15}.{bn1,
    conv1, bn2, conv2}``, ``convs.{0..3}``, ``conv_last{1..8}``); the eight heads become one
    12-channel pointwise convolution in Pangolin's concatenation order.

    Raises:
        InputError: keys or shapes that are not Pangolin's.
    """

    parameters = StateDictParameters(state, BN_EPS)
    conv, norm = parameters.conv, parameters.norm

    net = PangolinNet()
    try:
        set_conv(net.input_conv, *conv("conv1"))
        set_conv(net.skip_convs[0], *conv("skip"))
        k = 0
        for g, units in enumerate(net.groups):
            for unit in units:
                prefix = f"resblocks.{k}"
                fold_unit(
                    unit,
                    norm(f"{prefix}.bn1"),
                    conv(f"{prefix}.conv1"),
                    norm(f"{prefix}.bn2"),
                    conv(f"{prefix}.conv2"),
                )
                k += 1
            set_conv(net.skip_convs[g + 1], *conv(f"convs.{g}"))
        heads = [conv(f"conv_last{i}") for i in range(1, 2 * len(TISSUES) + 1)]
        set_conv(
            net.output_conv,
            np.concatenate([w for w, _ in heads]),
            np.concatenate([b for _, b in heads]),
        )
    except (KeyError, ValueError) as exc:
        raise InputError(f"not a Pangolin state dict ({exc})", source) from exc
    # conv1, skip; 14 per unit (2 BatchNorms of 5 incl. num_batches_tracked, 2 convs); 4 skip
    # convs; 8 heads
    expected = 4 + 14 * k + 2 * len(GROUPS) + 2 * 2 * len(TISSUES)
    if len(state) != expected:
        raise InputError(
            f"not a Pangolin state dict ({len(state)} tensors, not {expected})", source
        )
    return freeze(net)


def load_net(path: Path) -> PangolinNet:
    """One network from a Pangolin weight file (``torch.load(weights_only=True)`` on the CPU).

    Raises:
        MissingWeightsError: the file cannot be read as a PyTorch state dict.
        InputError: a state dict of another architecture.
    """
    return net_from_state_dict(read_state_dict(path), str(path))


class PangolinModel(DilatedCNNModel):
    """Pangolin behind the :class:`~rnatools.models.base.SpliceModel` interface.

    ``forward`` maps ``(batch, length + 10000, 4)`` one-hot to ``(batch, length, 9)`` float32:
    per tissue (heart, liver, brain, testis) the mean P(splice) and mean usage of its three
    networks, then ``max_psplice`` (:data:`OUTPUT_CHANNELS`). :attr:`incremental` gives the same
    9 channels for SNVs (:mod:`rnatools.models.incremental`). Acceptor and donor are not told
    apart (``acceptor_channel = donor_channel = None``). The weight files are read on first use.

    Attributes:
        tissues: ``("heart", "liver", "brain", "testis")``.
        psplice_channels: output channel of each tissue's P(splice), ``(0, 2, 4, 6)``.

    Args:
        weight_files: the 12 files in :data:`WEIGHT_FILES` order.
        device: where the networks live.
        ensemble: an already built ensemble of 12 :class:`PangolinNet` (instead of files).
    """

    name = NAME
    context = CONTEXT
    channels = OUTPUT_CHANNELS
    acceptor_channel = None
    donor_channel = None
    tissues = TISSUES
    psplice_channels = PSPLICE_CHANNELS

    def __init__(
        self,
        weight_files: Sequence[Path] = (),
        device: torch.device | str = "cpu",
        *,
        ensemble: Ensemble | None = None,
    ):
        if ensemble is None and len(weight_files) != len(WEIGHT_FILES):
            raise ValueError(f"PangolinModel needs {len(WEIGHT_FILES)} weight files or an ensemble")
        super().__init__(weight_files, device, ensemble=ensemble)

    def read_ensemble(self) -> Ensemble:
        """The 12 networks, combined by :func:`combine_tissues`.

        Raises:
            MissingWeightsError: a file cannot be read as a state dict.
            InputError: a state dict that is not Pangolin's.
        """
        nets = [load_net(path) for path in self.weight_files]
        return freeze(Ensemble(nets, combine_tissues)).to(self.device)


def load_pangolin(name: str, path: Path, engine: Engine, **options) -> PangolinModel:
    """The registry's loader: Pangolin from a folder holding the 12 weight files.

    Raises:
        MissingWeightsError: the folder lacks some of the files.
        UsageError: a model option (Pangolin takes none).
    """
    if options:
        raise UsageError(f"Pangolin takes no model options, got {', '.join(options)}")
    return PangolinModel(weight_files(Path(path), name), engine.device)


__all__ = [
    "CONTEXT",
    "OUTPUT_CHANNELS",
    "PSPLICE_CHANNELS",
    "TISSUES",
    "WEIGHT_FILES",
    "PangolinModel",
    "PangolinNet",
    "combine_tissues",
    "load_net",
    "load_pangolin",
    "net_from_state_dict",
    "pangolin_head",
    "weight_files",
]
