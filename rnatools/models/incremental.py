"""Incremental SNVs for the residual dilated CNNs: a reference window and its SNVs, sharing work.

An SNV changes one input base. The first layer of a :class:`~rnatools.models.dilated_cnn.
DilatedResNet` is pointwise and every later convolution widens the changed region by its radius
``dilation·(kernel − 1)/2``, so at each layer the ALT activations differ from the REF activations
only within a known distance of the variant; and only the ``2·D + 1`` outputs around it are
wanted, which bounds the region from the other side. The reference window is run once through
:meth:`DilatedResNet.logits`, which hands back every layer's activations, and each SNV's
activations are computed only on the intersection of "changed" and "needed", taking the REF
values everywhere else, with the network's own layers, so every number is computed the same way
as a full forward pass of the ALT window (up to the summation order of the convolution library,
~1e-7). The work per SNV is about a quarter of a full 10,101-nt window at ``D = 50`` for a
10,000-nt context.

:class:`DilatedIncremental` is the :class:`~rnatools.models.base.IncrementalSNV` capability of
every model built on :class:`~rnatools.models.dilated_cnn.Ensemble` (SpliceAI, OpenSpliceAI,
Pangolin): the per-network REF and ALT tracks are combined with the ensemble's own ``combine``.
Architecture: Jaganathan et al. 2019, Cell 176:535, doi:10.1016/j.cell.2018.12.015;
``docs/spliceai-scoring.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from rnatools.sequence import one_hot

if TYPE_CHECKING:  # pragma: no cover  (the model modules build this one: no import cycle)
    from rnatools.engine import Engine
    from rnatools.models.dilated_cnn import DilatedResNet, Ensemble


@dataclass
class _Stage:
    """A stored REF activation ``(1, 32, 1, length)``; element 0 is input index ``offset``."""

    values: Tensor
    offset: int


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


def _reference_pass(net: DilatedResNet, x: Tensor) -> tuple[Tensor, list[_Stage], list[_Stage]]:
    """Full REF forward of one network on ``x`` ``(1, length + 2·context, 4)``.

    Returns:
        ``(1, length, C)`` probabilities, the input of every residual unit and of every unit's
        second convolution (in order, two per unit), and the activation after each group
        (preceded by the input convolution's output). Valid convolutions shrink symmetrically,
        so element 0 of a stage of ``n`` positions is input index ``(len(x) − n) / 2``.
    """
    unit_values: list[Tensor] = []
    group_values: list[Tensor] = []
    probabilities = net.head(net.logits(x, unit_values, group_values))
    width = x.shape[1]

    def stages(values: list[Tensor]) -> list[_Stage]:
        return [_Stage(value, (width - value.shape[-1]) // 2) for value in values]

    return probabilities, stages(unit_values), stages(group_values)


def _snv_pass(
    net: DilatedResNet,
    unit_stages: list[_Stage],
    group_stages: list[_Stage],
    centers: list[int],
    alt_rows: Tensor,
    distance: int,
) -> Tensor:
    """ALT probabilities ``(n, 2·distance + 1, C)`` of one network for SNVs at input ``centers``.

    ``alt_rows`` ``(n, 4)``: the one-hot ALT base of each SNV.
    """
    # After the pointwise input convolution only the SNV's own position differs.
    alt = net.input_conv(alt_rows[:, :, None, None])
    alt_lo, alt_hi = 0, 1
    changed = 0  # the ALT differs from the REF within ±changed
    remaining = net.context  # receptive radius of the layers still to come
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
            radius = unit.conv1.radius
            h_stage, b_stage = unit_stages[stage_index], unit_stages[stage_index + 1]
            stage_index += 2
            # first convolution: output needed within distance + remaining - radius
            r1 = min(changed + radius, distance + remaining - radius)
            h_starts = _starts(h_stage, centers)
            h_in = _gather(h_stage, h_starts, -r1 - radius, r1 + radius + 1, alt, alt_lo, alt_hi)
            b = unit.first(h_in)
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
    return net.head(net.output_conv(s).squeeze(2).transpose(1, 2))


class DilatedIncremental:
    """REF track of a window plus ALT tracks of SNVs inside it, for an ensemble of
    :class:`~rnatools.models.dilated_cnn.DilatedResNet` networks.

    Implements :class:`rnatools.models.base.IncrementalSNV`.

    Args:
        ensemble: returns the :class:`~rnatools.models.dilated_cnn.Ensemble` (called on first
            use, so its weights are read only when a window is run).
        snv_batch: SNVs computed together.
    """

    def __init__(self, ensemble: Callable[[], Ensemble], snv_batch: int = 64):
        self._ensemble = ensemble
        self.snv_batch = snv_batch

    def run(
        self,
        engine: Engine,
        sequence: str,
        centers: Sequence[int],
        alt_bases: Sequence[str],
        distance: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`rnatools.models.base.IncrementalSNV.run`.

        ``sequence`` is ``length + 2·context`` nt; each SNV needs ``center ± distance`` inside
        the outputs ``[context, context + length)``. Returns ``(length, C)`` float32 REF
        probabilities and ``(n, 2·distance + 1, C)`` float32 ALT probabilities, each the
        ensemble's ``combine`` of its networks' outputs (for a mean: summed in network order,
        like the ensemble's forward).

        Raises:
            ValueError: an SNV whose outputs do not all lie in the window's outputs.
        """
        ensemble = self._ensemble()
        nets = ensemble.nets
        context = nets[0].context
        length = len(sequence) - 2 * context
        for center in centers:
            if center - distance < context or center + distance >= context + length:
                raise ValueError(f"SNV at input index {center} is not inside the chunk's outputs")
        refs: list[Tensor] = []
        alts: list[Tensor] = []
        with engine.inference():
            x = engine.to_device(one_hot(sequence)[None])
            alt_rows = engine.to_device(one_hot("".join(alt_bases)))
            for net in nets:
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
                    else torch.zeros((0, 2 * distance + 1, net.out_channels), device=engine.device)
                )
                refs.append(ref)
                alts.append(alt)
                del unit_stages, group_stages
            return engine.to_host(ensemble.combine(refs)[0]), engine.to_host(ensemble.combine(alts))


__all__ = ["DilatedIncremental"]
