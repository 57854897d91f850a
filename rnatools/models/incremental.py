"""Incremental variants for the residual dilated CNNs: a reference window and its variants,
sharing work.

A variant replaces ``m`` input bases at index ``p`` by ``a`` others (an SNV: ``m = a = 1``; an
indel or delins: ``k = a − m ≠ 0``). The first layer of a :class:`~rnatools.models.dilated_cnn.
DilatedResNet` is pointwise and every later convolution is *valid* and widens the changed region
by its radius ``dilation·(kernel − 1)/2``. So at each layer, in ALT input coordinates, the ALT
activations equal the REF activations at the same index left of the change's *cone*
``[p − c, p + a + c)`` (``c`` the radius grown so far), equal the REF activations ``k`` positions
earlier right of it, and differ only inside it; and only the wanted outputs (``2·D + 1`` around
the variant for a SNV) are needed, which bounds the region from the other side. The reference
window is run once through :meth:`DilatedResNet.logits`, which hands back every layer's
activations, and each variant's activations are computed only on the intersection of "changed"
and "needed", reading the REF values (shifted by ``k`` right of the cone) everywhere else, with
the network's own layers, so every number is computed the same way as a full forward pass of the
ALT window (up to the summation order of the convolution library, ~1e-7). The work per SNV is
about a quarter of a full 10,101-nt window at ``D = 50`` for a 10,000-nt context.

Many windows (the reference chunks of a block, of several genes) are run in one call
(:meth:`DilatedIncremental.run_windows`): windows of equal length, once padded with N to a
multiple of 512 nt, share a batched REF pass, and
the variants whose cones have the same shape (same ``a``, ``k`` and output range relative to
``p``: all SNVs), whatever their window, are computed together: per layer one copy of the stored
REF activations (a sliding-window view indexed by the variants' starts) and one call of each
layer. Everything stays in the channels-last memory layout the REF pass produces, in which
oneDNN convolves about 1.5 times faster on the CPU.

:class:`DilatedIncremental` is the :class:`~rnatools.models.base.IncrementalSNV` capability of
every model built on :class:`~rnatools.models.dilated_cnn.Ensemble` (SpliceAI, OpenSpliceAI,
Pangolin): the per-network REF and ALT tracks are combined with the ensemble's own ``combine``.
Architecture: Jaganathan et al. 2019, Cell 176:535, doi:10.1016/j.cell.2018.12.015;
``docs/spliceai-scoring.md``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from rnatools.models.base import VariantCone
from rnatools.sequence import one_hot

if TYPE_CHECKING:  # pragma: no cover  (the model modules build this one: no import cycle)
    from rnatools.engine import Engine
    from rnatools.models.dilated_cnn import DilatedResNet, Ensemble


_MOST_CONES = 8192  # cones per batch on CUDA, however much memory is free
_LENGTH_QUANTUM = 512  # REF windows are padded with N to a multiple of this many nt
_LADDER = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
_MOST_WINDOW_NT = 2_000_000  # input nt of REF windows per batch on CUDA


@dataclass
class _Stage:
    """A stored REF activation ``(1, 32, 1, length)``; element 0 is input index ``offset``."""

    values: Tensor
    offset: int


@dataclass(frozen=True)
class _Shape:
    """What the variants of one batch share (all relative to the change's first index ``p``)."""

    alt_length: int  # a
    shift: int  # k = a − m
    out_lo: int  # outputs wanted: ALT input indices p + [out_lo, out_hi)
    out_hi: int


def _windows(values: Tensor, starts: Tensor, first: int, width: int) -> Tensor:
    """``(n, width, C)``: rows ``start + first + [0, width)`` of ``values`` ``(L, C)`` for every
    start (one copy of ``n`` contiguous blocks through a sliding-window view)."""
    count = values.shape[0] - width + 1
    sliding = values.as_strided(
        (count, width, values.shape[1]), (values.stride(0),) + values.stride()
    )
    return sliding.index_select(0, starts + first)


def _gather(
    stage: _Stage,
    windows: Tensor,
    starts: Tensor,
    shape: _Shape,
    changed: int,
    lo: int,
    hi: int,
    alt: Tensor | None,
    alt_lo: int,
    alt_hi: int,
) -> Tensor:
    """``(n, C, 1, hi − lo)`` (channels-last memory): the ALT activations at ALT indices
    ``p + [lo, hi)`` of window ``windows[i]`` for ``p = starts[i]``.

    Left of the cone ``[−changed, a + changed)`` they are the REF values at the same index,
    right of it the REF values ``k`` indices earlier (one indexed copy per part for the whole
    batch); inside it they are ``alt``, which holds the ALT activations at ``p + [alt_lo,
    alt_hi)`` and must cover the cone's part of ``[lo, hi)``.
    """
    batch, channels, _, length = stage.values.shape
    # (batch·L, C): a view, as the REF pass keeps channels-last memory
    values = stage.values.permute(0, 2, 3, 1).reshape(batch * length, channels)
    starts = windows * length + starts
    n = starts.shape[0]
    cone_lo = min(max(lo, -changed), hi)
    cone_hi = max(min(hi, shape.alt_length + changed), cone_lo)
    if cone_hi > cone_lo:
        assert alt is not None and alt_lo <= cone_lo and cone_hi <= alt_hi
        middle = alt[..., cone_lo - alt_lo : cone_hi - alt_lo].permute(0, 2, 3, 1).flatten(1, 2)
    if shape.shift == 0:  # one block per variant, the cone written over it
        gathered = _windows(values, starts, lo - stage.offset, hi - lo)
        if cone_hi > cone_lo:
            gathered[:, cone_lo - lo : cone_hi - lo] = middle
    else:
        parts = []
        if cone_lo > lo:
            parts.append(_windows(values, starts, lo - stage.offset, cone_lo - lo))
        if cone_hi > cone_lo:
            parts.append(middle)
        if hi > cone_hi:
            first = cone_hi - shape.shift - stage.offset
            parts.append(_windows(values, starts, first, hi - cone_hi))
        gathered = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0].contiguous()
    # (n, hi - lo, C) -> (n, C, 1, hi - lo) in channels-last memory, the layout oneDNN convolves
    # fastest on the CPU (and the one the REF pass keeps)
    return gathered.view(n, 1, hi - lo, -1).permute(0, 3, 1, 2)


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


def _cone_pass(
    net: DilatedResNet,
    unit_stages: list[_Stage],
    group_stages: list[_Stage],
    windows: Tensor,
    starts: Tensor,
    alt_rows: Tensor,
    shape: _Shape,
) -> Tensor:
    """ALT probabilities ``(n, out_hi − out_lo, C)`` of one network for variants of one shape.

    ``windows``, ``starts`` ``(n,)``: each variant's window (row of the REF batch) and its
    change's first input index ``p`` (int64, on the device);
    ``alt_rows`` ``(n, a, 4)``: the one-hot ALT bases.
    """
    a, out_lo, out_hi = shape.alt_length, shape.out_lo, shape.out_hi
    # After the pointwise input convolution only the ALT bases themselves differ.
    alt = net.input_conv(alt_rows.transpose(1, 2).unsqueeze(2))
    alt_lo, alt_hi = 0, a
    changed = 0  # the ALT differs from the (shifted) REF within p + [-changed, a + changed)
    remaining = net.context  # receptive radius of the layers still to come
    s = net.skip_convs[0](
        _gather(
            group_stages[0], windows, starts, shape, changed, out_lo, out_hi, alt, alt_lo, alt_hi
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
            # first convolution: outputs both changed and needed by the layers still to come
            lo1 = max(-changed - radius, out_lo - remaining + radius)
            hi1 = min(a + changed + radius, out_hi + remaining - radius)
            h_in = _gather(
                h_stage,
                windows,
                starts,
                shape,
                changed,
                lo1 - radius,
                hi1 + radius,
                alt,
                alt_lo,
                alt_hi,
            )
            b = unit.first(h_in)  # activations in place: h_in itself is kept
            # second convolution and the residual sum
            lo2 = max(-changed - 2 * radius, out_lo - remaining + 2 * radius)
            hi2 = min(a + changed + 2 * radius, out_hi + remaining - 2 * radius)
            b_in = _gather(
                b_stage,
                windows,
                starts,
                shape,
                changed + radius,
                lo2 - radius,
                hi2 + radius,
                b,
                lo1,
                hi1,
            )
            del b
            t = unit.conv2(b_in)
            del b_in
            # the shortcut is inside the first convolution's input (lo1 - radius <= lo2)
            margin = lo2 - (lo1 - radius)
            alt = t.add_(h_in[..., margin : margin + hi2 - lo2])  # = shortcut + t, in place
            del h_in, t
            alt_lo, alt_hi = lo2, hi2
            changed += 2 * radius
            remaining -= 2 * radius
        group_stage = group_stages[group_index + 1]
        s = s.add_(
            skip_conv(
                _gather(
                    group_stage,
                    windows,
                    starts,
                    shape,
                    changed,
                    out_lo,
                    out_hi,
                    alt,
                    alt_lo,
                    alt_hi,
                )
            )
        )
    return net.head(net.output_conv(s).squeeze(2).transpose(1, 2))


def _snv_cones(
    centers: Sequence[int], alt_bases: Sequence[str], distance: int
) -> list[VariantCone]:
    return [
        VariantCone(center, 1, base, center - distance, center + distance + 1)
        for center, base in zip(centers, alt_bases, strict=True)
    ]


class DilatedIncremental:
    """REF track of a window plus ALT tracks of variants inside it, for an ensemble of
    :class:`~rnatools.models.dilated_cnn.DilatedResNet` networks.

    Implements :class:`rnatools.models.base.IncrementalSNV` (SNVs, :meth:`run`) and its
    extension to any substitution, deletion, insertion or delins (:meth:`run_variants`).

    Args:
        ensemble: returns the :class:`~rnatools.models.dilated_cnn.Ensemble` (called on first
            use, so its weights are read only when a window is run).
        snv_batch: variants of one cone shape computed together on the CPU (bounds memory:
            the widest layer holds ``snv_batch × 32 × ~context`` floats per tensor); on CUDA
            the batch grows to what half the device's free memory holds (at most 8,192).
        window_nt: most input nt of the windows whose REF passes run together on the CPU
            (:meth:`run_windows`; bounds the kept activations: ~4 kB per input nt and network);
            on CUDA it grows with free memory likewise (at most 2,000,000 nt).
    """

    def __init__(
        self, ensemble: Callable[[], Ensemble], snv_batch: int = 64, window_nt: int = 45_000
    ):
        self._ensemble = ensemble
        self.snv_batch = snv_batch
        self.window_nt = window_nt

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
        context = self._ensemble().nets[0].context
        length = len(sequence) - 2 * context
        for center in centers:
            if center - distance < context or center + distance >= context + length:
                raise ValueError(f"SNV at input index {center} is not inside the chunk's outputs")
        reference, alternatives = self.run_variants(
            engine, sequence, _snv_cones(centers, alt_bases, distance)
        )
        channels = reference.shape[-1]
        if not alternatives:
            return reference, np.zeros((0, 2 * distance + 1, channels), dtype=np.float32)
        return reference, np.stack(alternatives)

    def run_variants(
        self, engine: Engine, sequence: str, variants: Sequence[VariantCone]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """:meth:`rnatools.models.base.IncrementalVariants.run_variants`: :meth:`run_windows`
        with one window.

        Returns:
            ``(length, C)`` float32 REF probabilities and, per variant, ``(out_end − out_start,
            C)`` float32 ALT probabilities (the ensemble's ``combine`` of its networks).

        Raises:
            ValueError: see :meth:`run_windows`.
        """
        return self.run_windows(engine, [(sequence, variants)])[0]

    def run_windows(
        self, engine: Engine, windows: Sequence[tuple[str | np.ndarray, Sequence[VariantCone]]]
    ) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """:meth:`rnatools.models.base.IncrementalVariants.run_windows` (sequences as text or
        already one-hot encoded, ``(length, 4)`` float32).

        Windows of equal padded length (N appended up to a multiple of 512 nt) are run
        together, at most :attr:`window_nt` input nt at a time (at least one window): one
        batched REF pass per network (every layer's activations kept: about ``2·units·32``
        floats per input nt per window), then the cones of all their variants, those of equal
        shape (``len(alt)``, length change, output range relative to ``start``) in batches of
        standard sizes up to :attr:`snv_batch` whatever their window.

        Returns:
            per window, in order: ``(length, C)`` float32 REF probabilities and, per variant,
            ``(out_end − out_start, C)`` float32 ALT probabilities (the ensemble's ``combine``
            of its networks).

        Raises:
            ValueError: a variant that does not fit its window, whose outputs are not all
                outputs of the ALT sequence, or whose outputs lie farther than the context from
                its change (its ALT track would then be a slice of the REF track).
        """
        ensemble = self._ensemble()
        results: list[tuple[np.ndarray, list[np.ndarray]] | None] = [None] * len(windows)
        by_length: dict[int, list[int]] = defaultdict(list)
        for index, (sequence, _) in enumerate(windows):
            by_length[_padded_length(len(sequence))].append(index)
        channels = ensemble.nets[0].input_conv.weight.shape[0]
        units = sum(len(group) for group in ensemble.nets[0].groups)
        # the REF pass keeps every unit's two stages and each group's output: bytes per input nt
        kept_per_nt = (2 * units + len(ensemble.nets[0].groups) + 2) * channels * 4
        window_nt = engine.fit_batch(kept_per_nt, self.window_nt, most=_MOST_WINDOW_NT)
        for length, members in by_length.items():
            per_call = max(1, window_nt // length)
            for first in range(0, len(members), per_call):
                group = members[first : first + per_call]
                outputs = self._run_group(engine, ensemble, [windows[i] for i in group], length)
                for index, output in zip(group, outputs, strict=True):
                    results[index] = output
        return results  # type: ignore[return-value]

    def _cone_batch(self, engine: Engine, ensemble: Ensemble, shape: _Shape) -> int:
        """Cones of ``shape`` per batch: :attr:`snv_batch` on the CPU, as many as the device's
        free memory allows on CUDA (:meth:`~rnatools.engine.Engine.fit_batch`)."""
        net = ensemble.nets[0]
        # the widest layer of a cone spans at most its outputs and the context on both sides;
        # about four tensors of that width are alive at once (input, conv1, conv2, residual)
        widest = 2 * net.context + shape.out_hi - shape.out_lo + shape.alt_length
        per_cone = 4 * widest * net.input_conv.weight.shape[0] * 4
        return engine.fit_batch(per_cone, self.snv_batch, most=_MOST_CONES)

    def _run_group(
        self,
        engine: Engine,
        ensemble: Ensemble,
        windows: Sequence[tuple[str | np.ndarray, Sequence[VariantCone]]],
        width: int,
    ) -> list[tuple[np.ndarray, list[np.ndarray]]]:
        """:meth:`run_windows` for windows of one padded length, ``width`` nt, in one REF
        batch."""
        context = ensemble.nets[0].context
        groups: dict[_Shape, list[tuple[int, int]]] = defaultdict(list)
        for window, (sequence, variants) in enumerate(windows):
            for index, variant in enumerate(variants):
                groups[_check(variant, len(sequence), context)].append((window, index))
        batches = []
        for shape, members in groups.items():
            size = self._cone_batch(engine, ensemble, shape)
            first = 0
            for count in _ladder_split(len(members), size):
                batches.append((shape, members[first : first + count]))
                first += count
        refs: list[Tensor] = []
        alts: list[list[Tensor]] = [[] for _ in batches]
        with engine.inference():
            # a stacked array, never ``one_hot(...)[None]``: its zero batch stride makes the
            # convolutions fall back to the (slower) channels-first layout
            x = engine.to_device(np.stack([_encoded(sequence, width) for sequence, _ in windows]))
            inputs = []
            for _, members in batches:
                cones = [windows[window][1][index] for window, index in members]
                inputs.append(
                    (
                        torch.tensor([window for window, _ in members], device=x.device),
                        torch.tensor([cone.start for cone in cones], device=x.device),
                        engine.to_device(np.stack([one_hot(cone.alt) for cone in cones])),
                    )
                )
            for net in ensemble.nets:
                ref, unit_stages, group_stages = _reference_pass(net, x)
                refs.append(ref)
                for slot, ((shape, _), (window_rows, starts, rows)) in enumerate(
                    zip(batches, inputs, strict=True)
                ):
                    alts[slot].append(
                        _cone_pass(net, unit_stages, group_stages, window_rows, starts, rows, shape)
                    )
                del unit_stages, group_stages
            reference = engine.to_host(ensemble.combine(refs))
            tracks: list[list[np.ndarray | None]] = [[None] * len(v) for _, v in windows]
            for (_, members), per_net in zip(batches, alts, strict=True):
                combined = engine.to_host(ensemble.combine(per_net))
                for row, (window, index) in enumerate(members):
                    tracks[window][index] = combined[row]
        # each window's own outputs: the N padding on its right only adds outputs past its end
        return [
            (reference[window, : len(sequence) - 2 * context], tracks[window])
            for window, (sequence, _) in enumerate(windows)
        ]  # type: ignore[misc]


def _encoded(sequence: str | np.ndarray, width: int) -> np.ndarray:
    """``(width, 4)`` float32 one-hot of ``sequence`` (text, or already encoded), followed by
    all-zero rows (N) up to ``width``."""
    encoded = one_hot(sequence) if isinstance(sequence, str) else sequence
    if len(encoded) == width:
        return encoded
    padded = np.zeros((width, 4), dtype=encoded.dtype)
    padded[: len(encoded)] = encoded
    return padded


def _padded_length(length: int) -> int:
    """``length`` rounded up to a multiple of :data:`_LENGTH_QUANTUM`: windows are run at a
    few standard lengths, so that the convolution library builds its kernels for a handful of
    shapes and reuses them (building one for a new shape costs about a third of a 10-kb pass)."""
    return -(-length // _LENGTH_QUANTUM) * _LENGTH_QUANTUM


def _ladder_split(count: int, most: int) -> list[int]:
    """``count`` cones as batches of standard sizes (:data:`_LADDER` up to ``most``, and
    ``most`` itself), largest first, for the same reason as :func:`_padded_length`."""
    sizes = sorted({size for size in _LADDER if size < most} | {most}, reverse=True)
    parts = []
    while count:
        size = next(size for size in sizes if size <= count)
        parts.append(size)
        count -= size
    return parts


def _check(variant: VariantCone, length: int, context: int) -> _Shape:
    """The cone shape of ``variant`` in a window of ``length`` input nt.

    Raises:
        ValueError: see :meth:`DilatedIncremental.run_variants`.
    """
    start, m, a = variant.start, variant.ref_length, len(variant.alt)
    shift = a - m
    if a < 1 or m < 0 or start < 0 or start + m > length:
        raise ValueError(f"variant at input index {start} does not fit the window")
    if not (context <= variant.out_start < variant.out_end <= length + shift - context):
        raise ValueError(f"variant at input index {start} is not inside the chunk's outputs")
    shape = _Shape(a, shift, variant.out_start - start, variant.out_end - start)
    if shape.out_hi <= -context or shape.out_lo >= a + context:
        raise ValueError(f"the outputs of the variant at input index {start} do not see it")
    return shape


__all__ = ["DilatedIncremental"]
