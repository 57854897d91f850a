"""Zero-shot variant-effect scores from masked nucleotide language models.

Source: Chen et al., SpliceBERT, Briefings in Bioinformatics 25(3):bbae163 (2024),
doi:10.1093/bib/bbae163; specification: ``docs/zero-shot-scores.md`` (sections "KL-context
score", "Masked marginal", "Windows on the gene strand"). Windows are on the transcript strand:
callers reverse-complement windows of minus-strand genes and complement REF and ALT
(:func:`saturation_mutagenesis` does so itself).

KL-context score of an SNV at 0-based index ``p`` of a window:

1. ``P_ref(i)``, ``P_alt(i)`` = softmax of the *unmasked* MLM logits restricted to A, C, G, T/U.
2. ``KL(i) = Σ_b P_alt(i,b) · ln(P_alt(i,b) / P_ref(i,b))`` (nats; KL(alt‖ref)).
3. ``k(d) = (KL(p−d) + KL(p+d)) / 2`` for ``d = 1 … max_distance`` (``p`` itself excluded).
4. ``kl_context = Σ_d ln(max(k(d), 1e-6))``. Higher (less negative) = more disruptive.

Positions past a window edge drop out: a missing ``KL(p±d)`` counts as 0 inside ``k(d)``, and a
distance with both sides missing is left out of the sum. With the default variant-centred 510-nt
window and ``max_distance`` 100 no position is missing.

Masked marginal: mask ``p`` in the reference window, ``delta_logp = ln P(ALT) − ln P(REF)`` from
the log-softmax over A, C, G, T/U at ``p`` (nats; negative = ALT less expected). ``NaN`` when
REF is not one of A, C, G, T/U.

KL values are computed in float64 from the model's float32 logits. Model runs are grouped by the
model's engine (``model.engine.batches``) into consecutive groups of ``batch_size`` windows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple, TypeVar

import numpy as np
import torch
from torch import Tensor

from rnatools.errors import InputError
from rnatools.models.lm import NUCLEOTIDE_COLUMNS, LanguageModel
from rnatools.sequence import complement, reverse_complement

__all__ = [
    "KL_FLOOR",
    "SaturationMutagenesis",
    "ZeroShotScores",
    "kl_context",
    "kl_per_position",
    "masked_log_ratio",
    "saturation_mutagenesis",
    "score_snvs",
    "strongest_per_position",
]

KL_FLOOR = 1e-6
"""Lower clip of ``k(d)`` before the logarithm (SpliceBERT's value)."""

_BASE_INDEX = {base: i for i, base in enumerate(NUCLEOTIDE_COLUMNS)} | {"U": 3}

Item = TypeVar("Item")


def _batches(
    model: LanguageModel, items: Sequence[Item], length: Callable[[Item], int], batch_size: int
) -> Iterator[list[Item]]:
    """Consecutive groups of ``batch_size`` items (padded batches may mix lengths)."""
    return model.engine.batches(items, length=length, batch_size=batch_size, same_length=False)


class ZeroShotScores(NamedTuple):
    """Scores of a batch of SNVs, ``(n,)`` float64 each.

    Attributes:
        kl_context: KL-context score (sum of ln nats; higher = more disruptive).
        delta_logp: masked-marginal ``ln P(ALT) − ln P(REF)`` (nats), NaN if not computed.
    """

    kl_context: np.ndarray
    delta_logp: np.ndarray


def kl_per_position(ref_logits: Tensor, alt_logits: Tensor) -> Tensor:
    """KL(alt‖ref) of the nucleotide distributions at every position.

    Args:
        ref_logits: ``(..., length, 4)`` logits of A, C, G, T/U for the reference window.
        alt_logits: same shape, for the alternative window.

    Returns:
        ``(..., length)`` float64, nats.
    """
    ref_log = torch.log_softmax(ref_logits.double(), dim=-1)
    alt_log = torch.log_softmax(alt_logits.double(), dim=-1)
    return (alt_log.exp() * (alt_log - ref_log)).sum(dim=-1)


def kl_context(
    kl: Tensor,
    variant_index: Tensor | Sequence[int] | int,
    *,
    max_distance: int = 100,
    floor: float = KL_FLOOR,
    lengths: Tensor | Sequence[int] | None = None,
) -> Tensor:
    """KL-context score from per-position KL values.

    Args:
        kl: ``(batch, length)`` KL(alt‖ref) per position (nats), e.g. from :func:`kl_per_position`.
        variant_index: 0-based index of each variant in its window, ``(batch,)`` or one int.
        max_distance: largest distance ``d`` (nt) summed over.
        floor: lower clip of ``k(d)``.
        lengths: valid length of each row (positions past it count as outside the window).

    Returns:
        ``(batch,)`` float64 scores.
    """
    batch, length = kl.shape
    device = kl.device
    index = torch.as_tensor(variant_index, device=device).reshape(-1).expand(batch)
    valid_length = (
        torch.full((batch,), length, device=device)
        if lengths is None
        else torch.as_tensor(lengths, device=device).reshape(batch)
    )
    distance = torch.arange(1, max_distance + 1, device=device)
    left = index[:, None] - distance[None, :]
    right = index[:, None] + distance[None, :]
    left_ok = left >= 0
    right_ok = right < valid_length[:, None]
    kl = kl.double()
    left_kl = torch.where(left_ok, kl.gather(1, left.clamp(0, length - 1)), 0.0)
    right_kl = torch.where(right_ok, kl.gather(1, right.clamp(0, length - 1)), 0.0)
    k = ((left_kl + right_kl) / 2).clamp_min(floor).log()
    return torch.where(left_ok | right_ok, k, 0.0).sum(dim=1)


def masked_log_ratio(
    masked_logits: Tensor, ref_base: Sequence[str], alt_base: Sequence[str]
) -> Tensor:
    """``ln P(ALT) − ln P(REF)`` over A, C, G, T/U at the masked position.

    Args:
        masked_logits: ``(batch, 4)`` logits of A, C, G, T/U at the masked variant position.
        ref_base, alt_base: one letter each per row; a REF outside ACGTU gives NaN.

    Returns:
        ``(batch,)`` float64, nats.
    """
    log_probs = torch.log_softmax(masked_logits.double(), dim=-1)
    ref = torch.tensor([_BASE_INDEX.get(b.upper(), -1) for b in ref_base], device=log_probs.device)
    alt = torch.tensor([_BASE_INDEX[b.upper()] for b in alt_base], device=log_probs.device)
    rows = torch.arange(len(alt), device=log_probs.device)
    ratio = log_probs[rows, alt] - log_probs[rows, ref.clamp_min(0)]
    return torch.where(ref >= 0, ratio, torch.nan)


def _check_variants(
    ref_windows: Sequence[str], indices: list[int], alt_bases: Sequence[str]
) -> list[str]:
    if not (len(ref_windows) == len(indices) == len(alt_bases)):
        raise InputError(
            f"{len(ref_windows)} windows, {len(indices)} indices and {len(alt_bases)} ALT bases "
            "differ in number"
        )
    alt_windows = []
    for row, (window, index, alt) in enumerate(zip(ref_windows, indices, alt_bases, strict=True)):
        if not 0 <= index < len(window):
            raise InputError(
                f"variant {row + 1}: index {index} outside its {len(window)}-nt window"
            )
        if alt.upper() not in _BASE_INDEX:
            raise InputError(f"variant {row + 1}: ALT {alt!r} is not one of A, C, G, T/U")
        if window[index].upper().replace("U", "T") == alt.upper().replace("U", "T"):
            raise InputError(f"variant {row + 1}: ALT {alt!r} equals the REF base of the window")
        alt_windows.append(window[:index] + alt + window[index + 1 :])
    return alt_windows


def score_snvs(
    model: LanguageModel,
    ref_windows: Sequence[str],
    variant_index: int | Sequence[int],
    alt_bases: Sequence[str],
    *,
    max_distance: int = 100,
    batch_size: int = 16,
    masked_marginal: bool = True,
) -> ZeroShotScores:
    """Score SNVs with the KL-context and masked-marginal formulas (module docstring).

    Each identical reference window is run once (unmasked) and each identical
    ``(window, index)`` pair once (masked), so the three ALTs of a position share their
    reference runs; the ALT windows run in batches of ``batch_size``.

    Args:
        model: a loaded :class:`~rnatools.models.lm.LanguageModel`.
        ref_windows: per variant, the reference window on the transcript strand (nt).
        variant_index: per variant (or one for all), 0-based index of the variant in its window.
        alt_bases: per variant, the ALT letter (transcript strand).
        max_distance: ``d`` range of the KL-context sum (nt).
        batch_size: windows per model call.
        masked_marginal: also compute ``delta_logp`` (one more masked run per position).

    Returns:
        :class:`ZeroShotScores` of ``(n,)`` float64 arrays, in input order.

    Raises:
        InputError: mismatched lengths, index outside a window, ALT not a nucleotide or equal to
            REF, window longer than the model takes.
    """
    count = len(ref_windows)
    indices = (
        [int(variant_index)] * count
        if isinstance(variant_index, int | np.integer)
        else [int(i) for i in variant_index]
    )
    alt_windows = _check_variants(ref_windows, indices, alt_bases)
    kl_scores = np.full(count, np.nan)
    delta = np.full(count, np.nan)
    if count == 0:
        return ZeroShotScores(kl_scores, delta)

    # Unique reference windows: run once each, keep their logits on the device.
    unique_windows: dict[str, int] = {}
    window_of = [unique_windows.setdefault(w, len(unique_windows)) for w in ref_windows]
    windows = list(unique_windows)
    ref_logits: list[Tensor] = []
    for chunk in _batches(model, windows, len, batch_size):
        out = model.forward_batch(chunk)
        ref_logits.extend(out.nucleotide_logits[i, : len(w)] for i, w in enumerate(chunk))

    for rows in _batches(model, range(count), lambda r: len(alt_windows[r]), batch_size):
        chunk = [alt_windows[r] for r in rows]
        alt = model.forward_batch(chunk).nucleotide_logits
        ref = torch.zeros_like(alt)
        for i, r in enumerate(rows):
            ref[i, : len(chunk[i])] = ref_logits[window_of[r]]
        lengths = torch.tensor([len(w) for w in chunk], device=alt.device)
        kl = kl_per_position(ref, alt)
        scores = kl_context(
            kl, [indices[r] for r in rows], max_distance=max_distance, lengths=lengths
        )
        kl_scores[rows[0] : rows[0] + len(chunk)] = scores.cpu().numpy()

    if masked_marginal:
        unique_sites: dict[tuple[int, int], int] = {}
        site_of = [
            unique_sites.setdefault((window_of[r], indices[r]), len(unique_sites))
            for r in range(count)
        ]
        sites = list(unique_sites)
        site_logits = []
        for chunk in _batches(model, sites, lambda site: len(windows[site[0]]), batch_size):
            out = model.forward_batch(
                [windows[w] for w, _ in chunk], [[index] for _, index in chunk]
            )
            rows_ = torch.arange(len(chunk), device=out.nucleotide_logits.device)
            positions = torch.tensor([index for _, index in chunk], device=rows_.device)
            site_logits.append(out.nucleotide_logits[rows_, positions])
        per_site = torch.cat(site_logits)
        ratio = masked_log_ratio(
            per_site[torch.tensor(site_of, device=per_site.device)],
            [ref_windows[r][indices[r]] for r in range(count)],
            list(alt_bases),
        )
        delta[:] = ratio.cpu().numpy()
    return ZeroShotScores(kl_scores, delta)


class SaturationMutagenesis(NamedTuple):
    """Every SNV of a region, genomic-forward order (``region`` = region length in nt).

    Attributes:
        ref: ``(region,)`` reference letters (forward strand).
        alt: ``(region, 3)`` alternative letters (forward strand), in A, C, G, T order.
        kl_context: ``(region, 3)`` KL-context scores (NaN where REF is not A/C/G/T).
        delta_logp: ``(region, 3)`` masked-marginal scores in nats (NaN where not computed).
    """

    ref: np.ndarray
    alt: np.ndarray
    kl_context: np.ndarray
    delta_logp: np.ndarray


def saturation_mutagenesis(
    model: LanguageModel,
    context: str,
    region_length: int,
    window: int,
    *,
    strand: str = "+",
    max_distance: int = 100,
    batch_size: int = 16,
    masked_marginal: bool = True,
    chunk_positions: int = 64,
    progress: Callable[[int], object] | None = None,
) -> SaturationMutagenesis:
    """Score all three SNVs at every position of a region, each in a variant-centred window.

    Args:
        model: a loaded language model.
        context: forward-strand letters of ``[start - window // 2, end + window - 1 - window // 2)``
            (``region_length + window - 1`` letters; ``N`` past contig ends).
        region_length: nt in the region.
        window: window length in nt (<= the model's maximum); the variant sits at index
            ``window // 2`` on the scored strand.
        strand: ``+`` scores the forward strand; ``-`` scores reverse-complemented windows
            (transcript strand of a minus-strand gene, :func:`rnatools.sequence.reverse_complement`)
            with complemented ALTs; REF and ALT are returned on the forward strand.
        max_distance, batch_size, masked_marginal: as in :func:`score_snvs`.
        chunk_positions: positions scored per call of :func:`score_snvs` (bounds memory).
        progress: optional callable receiving the number of positions done per chunk.

    Returns:
        :class:`SaturationMutagenesis`; the reference window of each position is run once for
        its three ALTs.

    Raises:
        InputError: ``context`` has the wrong length; window longer than the model takes.
    """
    context = context.upper().replace("U", "T")
    if len(context) != region_length + window - 1:
        raise InputError(
            f"context is {len(context)} nt, expected region {region_length} + window {window} - 1"
        )
    model.check_length("A" * window, f"window of {window} nt")
    half = window // 2
    if strand == "-":
        scored = reverse_complement(context)
        index = window - 1 - half
    else:
        scored = context
        index = half
    ref = np.array(list(context[half : half + region_length]))
    alt = np.empty((region_length, 3), dtype="<U1")
    kl_scores = np.full((region_length, 3), np.nan)
    delta = np.full((region_length, 3), np.nan)
    for first in range(0, region_length, chunk_positions):
        windows, indices, alts, targets = [], [], [], []
        for position in range(first, min(first + chunk_positions, region_length)):
            bases = [b for b in NUCLEOTIDE_COLUMNS if b != ref[position]]
            alt[position] = bases[:3] if len(bases) == 3 else ["N", "N", "N"]
            if len(bases) != 3:
                continue
            start = position if strand == "+" else region_length - 1 - position
            text = scored[start : start + window]
            for column, base in enumerate(bases):
                windows.append(text)
                indices.append(index)
                alts.append(base if strand == "+" else complement(base))
                targets.append((position, column))
        if windows:
            scores = score_snvs(
                model,
                windows,
                indices,
                alts,
                max_distance=max_distance,
                batch_size=batch_size,
                masked_marginal=masked_marginal,
            )
            rows, columns = np.array(targets).T
            kl_scores[rows, columns] = scores.kl_context
            delta[rows, columns] = scores.delta_logp
        if progress is not None:
            progress(min(chunk_positions, region_length - first))
    return SaturationMutagenesis(ref, alt, kl_scores, delta)


def strongest_per_position(result: SaturationMutagenesis) -> tuple[np.ndarray, np.ndarray]:
    """Per position, the most disruptive of its three SNVs (the ``ism`` bigWig tracks).

    Args:
        result: scores of a region, ``(region, 3)`` each.

    Returns:
        ``(kl_context_max, delta_logp_min)``, ``(region,)`` float64 each: the highest KL-context
        score and the most negative ``delta_logp`` (nats) of the position's SNVs. NaN scores
        (REF not a nucleotide, masked marginal not computed) never win; a position without a
        finite score is NaN.
    """
    kl_max = np.where(np.isnan(result.kl_context), -np.inf, result.kl_context).max(axis=1)
    delta_min = np.where(np.isnan(result.delta_logp), np.inf, result.delta_logp).min(axis=1)
    return (
        np.where(np.isfinite(kl_max), kl_max, np.nan),
        np.where(np.isfinite(delta_min), delta_min, np.nan),
    )
