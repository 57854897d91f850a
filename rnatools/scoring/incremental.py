"""SpliceAI on a reference chunk and on its single-nucleotide variants, sharing the work.

An SNV changes one input base. SpliceAI's first layer is pointwise and every later convolution
widens the changed region by its radius ``dilation·(kernel − 1)/2``, so at each layer the ALT
activations differ from the REF activations only within a known distance of the variant; and
only the ``2·D + 1`` outputs around it are wanted, which bounds the region from the other side.
This module runs the reference chunk once, keeps every layer's activations, and computes each
SNV's activations only on the intersection of "changed" and "needed", taking the REF values
everywhere else. It calls the network's own layers (``rnatools.models.spliceai``) in the order
``SpliceAINet.logits`` does, so every number is computed the same way as a full forward pass of
the ALT window (up to the summation order of the convolution library, ~1e-7). The work per SNV
is about a quarter of a full 10,101-nt window at ``D = 50``.

Architecture: Jaganathan et al. 2019, Cell 176:535, doi:10.1016/j.cell.2018.12.015;
``docs/spliceai-scoring.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from rnatools.models.spliceai import SPLICEAI_FLANK, SpliceAIEnsemble, SpliceAINet
from rnatools.runtime import Precision, autocast
from rnatools.sequence import one_hot


def _radius(conv) -> int:
    return conv.dilation * (conv.kernel_size - 1) // 2


@dataclass
class _Stage:
    """A stored REF activation ``(1, 32, 1, length)``; element 0 is input index ``offset``."""

    values: Tensor
    offset: int


def _crop(x: Tensor, length: int) -> Tensor:
    margin = (x.shape[-1] - length) // 2
    return x[..., margin : margin + length]


def _gather(
    stage: _Stage, starts: list[int], lo: int, hi: int, alt: Tensor | None, alt_lo: int, alt_hi: int
) -> Tensor:
    """``(n, 32, 1, hi - lo)``: REF values at ``center + [lo, hi)``, ALT values where known.

    ``starts`` are the SNV centres as indices into ``stage``; ``alt`` holds ALT activations at
    ``center + [alt_lo, alt_hi)`` (the same offsets for every SNV).
    """
    values = stage.values[0]
    gathered = torch.stack([values[..., start + lo : start + hi] for start in starts])
    if alt is not None:
        start, end = max(lo, alt_lo), min(hi, alt_hi)
        if end > start:
            gathered[..., start - lo : end - lo] = alt[..., start - alt_lo : end - alt_lo]
    return gathered


def _starts(stage: _Stage, centers: list[int]) -> list[int]:
    return [center - stage.offset for center in centers]


def _reference_pass(net: SpliceAINet, x: Tensor) -> tuple[Tensor, list[_Stage], list[_Stage]]:
    """Full REF forward of one network on ``x`` ``(1, length + 10000, 4)``.

    Returns:
        ``(1, length, 3)`` probabilities, the input of every residual unit and of every unit's
        second convolution (in order, two per unit), and the activation after each group
        (preceded by the input convolution's output).
    """
    length = x.shape[1] - 2 * SPLICEAI_FLANK
    h = net.input_conv(x.transpose(1, 2).unsqueeze(2))
    offset = 0
    unit_stages: list[_Stage] = []
    group_stages: list[_Stage] = [_Stage(h, 0)]
    s = net.skip_convs[0](_crop(h, length))
    for units, skip_conv in zip(net.groups, net.skip_convs[1:], strict=True):
        for unit in units:
            radius = _radius(unit.conv1)
            unit_stages.append(_Stage(h, offset))
            b = torch.relu(unit.conv1(torch.relu(unit.norm(h))))
            unit_stages.append(_Stage(b, offset + radius))
            t = unit.conv2(b)
            h = _crop(h, t.shape[-1]) + t
            offset += 2 * radius
        group_stages.append(_Stage(h, offset))
        s = s + skip_conv(_crop(h, length))
    probabilities = torch.softmax(net.output_conv(s).squeeze(2).transpose(1, 2), dim=-1)
    return probabilities, unit_stages, group_stages


def _snv_pass(
    net: SpliceAINet,
    unit_stages: list[_Stage],
    group_stages: list[_Stage],
    centers: list[int],
    alt_rows: Tensor,
    distance: int,
) -> Tensor:
    """ALT probabilities ``(n, 2·distance + 1, 3)`` of one network for SNVs at input ``centers``.

    ``alt_rows`` ``(n, 4)``: the one-hot ALT base of each SNV.
    """
    # After the pointwise input convolution only the SNV's own position differs.
    alt = net.input_conv(alt_rows[:, :, None, None])
    alt_lo, alt_hi = 0, 1
    changed = 0  # the ALT differs from the REF within ±changed
    remaining = SPLICEAI_FLANK  # receptive radius of the layers still to come
    s = net.skip_convs[0](
        _gather(
            group_stages[0],
            _starts(group_stages[0], centers),
            -distance,
            distance + 1,
            alt,
            alt_lo,
            alt_hi,
        )
    )
    stage_index = 0
    for group_index, (units, skip_conv) in enumerate(
        zip(net.groups, net.skip_convs[1:], strict=True)
    ):
        for unit in units:
            radius = _radius(unit.conv1)
            h_stage, b_stage = unit_stages[stage_index], unit_stages[stage_index + 1]
            stage_index += 2
            # first convolution: output needed within distance + remaining - radius
            r1 = min(changed + radius, distance + remaining - radius)
            h_starts = _starts(h_stage, centers)
            h_in = _gather(h_stage, h_starts, -r1 - radius, r1 + radius + 1, alt, alt_lo, alt_hi)
            b = torch.relu(unit.conv1(torch.relu(unit.norm(h_in))))
            # second convolution and the residual sum
            r2 = min(changed + 2 * radius, distance + remaining - 2 * radius)
            b_in = _gather(
                b_stage, _starts(b_stage, centers), -r2 - radius, r2 + radius + 1, b, -r1, r1 + 1
            )
            t = unit.conv2(b_in)
            # the shortcut is the centre of the first convolution's input (r2 <= r1 + radius)
            margin = r1 + radius - r2
            alt = h_in[..., margin : margin + 2 * r2 + 1] + t
            alt_lo, alt_hi = -r2, r2 + 1
            changed += 2 * radius
            remaining -= 2 * radius
        group_stage = group_stages[group_index + 1]
        s = s + skip_conv(
            _gather(
                group_stage,
                _starts(group_stage, centers),
                -distance,
                distance + 1,
                alt,
                alt_lo,
                alt_hi,
            )
        )
    return torch.softmax(net.output_conv(s).squeeze(2).transpose(1, 2), dim=-1)


class IncrementalSNVRunner:
    """REF track of a chunk plus ALT tracks of SNVs inside it, for a SpliceAI ensemble.

    Args:
        model: the ensemble (its networks are called layer by layer).
        device: where ``model`` lives.
        precision: ``fp32`` (default) or an autocast precision.
        snv_batch: SNVs computed together.
    """

    def __init__(
        self,
        model: SpliceAIEnsemble,
        device: torch.device | str = "cpu",
        precision: Precision = "fp32",
        snv_batch: int = 64,
    ):
        self.model = model
        self.device = torch.device(device)
        self.precision = precision
        self.snv_batch = snv_batch

    def run(
        self, sequence: str, centers: list[int], alt_bases: list[str], distance: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Model-orientation REF track of ``sequence`` and ALT tracks of its SNVs.

        Args:
            sequence: input window, ``length + 10,000`` nt (as given to the model: minus-strand
                genes already reverse-complemented).
            centers: input indices of the SNVs; each needs ``center ± distance`` to lie within
                the ``length`` output positions ``[5000, 5000 + length)``.
            alt_bases: the ALT base of each SNV (in the same orientation as ``sequence``).
            distance: ``D``; ALT tracks cover ``center ± D``.

        Returns:
            ``(length, 3)`` float32 REF probabilities and ``(n, 2·D + 1, 3)`` float32 ALT
            probabilities (mean of the networks, summed in network order like the ensemble).

        Raises:
            ValueError: an SNV whose outputs do not all lie in the chunk.
        """
        length = len(sequence) - 2 * SPLICEAI_FLANK
        for center in centers:
            if center - distance < SPLICEAI_FLANK or center + distance >= SPLICEAI_FLANK + length:
                raise ValueError(f"SNV at input index {center} is not inside the chunk's outputs")
        x = torch.from_numpy(one_hot(sequence)[None]).to(self.device)
        alt_rows = torch.from_numpy(one_hot("".join(alt_bases))).to(
            self.device
        )
        ref_total: Tensor | None = None
        alt_total: Tensor | None = None
        with torch.inference_mode(), autocast(self.device, self.precision):
            for net in self.model.nets:
                ref, unit_stages, group_stages = _reference_pass(net, x)
                parts = [
                    _snv_pass(
                        net,
                        unit_stages,
                        group_stages,
                        list(centers[first : first + self.snv_batch]),
                        alt_rows[first : first + self.snv_batch],
                        distance,
                    )
                    for first in range(0, len(centers), self.snv_batch)
                ]
                alt = (
                    torch.cat(parts)
                    if parts
                    else torch.zeros((0, 2 * distance + 1, 3), device=self.device)
                )
                ref_total = ref if ref_total is None else ref_total + ref
                alt_total = alt if alt_total is None else alt_total + alt
                del unit_stages, group_stages
        assert ref_total is not None and alt_total is not None
        count = len(self.model.nets)
        return (
            (ref_total / count)[0].float().cpu().numpy(),
            (alt_total / count).float().cpu().numpy(),
        )


class LazyIncrementalRunner(IncrementalSNVRunner):
    """An :class:`IncrementalSNVRunner` whose model is loaded on first use.

    Args:
        load_model: returns the ensemble (called once, when the first chunk is run).
    """

    def __init__(
        self, load_model, device: torch.device | str = "cpu", precision: Precision = "fp32"
    ):
        self._load_model = load_model
        super().__init__(None, device, precision)  # type: ignore[arg-type]

    def run(self, sequence, centers, alt_bases, distance):  # noqa: D102 - see the base class
        if self.model is None:
            self.model = self._load_model()
        return super().run(sequence, centers, alt_bases, distance)


__all__ = ["IncrementalSNVRunner", "LazyIncrementalRunner"]
