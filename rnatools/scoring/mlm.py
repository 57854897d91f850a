"""Masked-language-model predictions of single positions: fill-mask and pseudo-log-likelihood.

Specification: ``docs/zero-shot-scores.md`` (sections "Nucleotide distributions" and
"Pseudo-log-likelihood"). The pseudo-log-likelihood of masked language models is the score of
Salazar et al., *Masked Language Model Scoring*, ACL 2020, doi:10.18653/v1/2020.acl-main.240;
the nucleotide models are those of :mod:`rnatools.models.lm` (SpliceBERT doi:10.1093/bib/bbae163,
RNABERT doi:10.1093/nargab/lqac012, RNA-MSM doi:10.1093/nar/gkad1031).

For a masked position ``i`` of a sequence, ``P(i, b)`` is the softmax of the model's four
nucleotide logits (A, C, G, T/U; every other vocabulary row is left out), computed in float64
from the model's float32 logits. Without ``<mask>`` tokens every position is masked in turn (one
model run per position), and

* ``log_p_ref(i) = ln P(i, REF_i)`` (nats; NaN when ``REF_i`` is not one of A, C, G, T/U);
* ``pseudo_log_likelihood = Σ_i log_p_ref(i)`` summed in position order (nats), and
  ``per_nt = pseudo_log_likelihood / length``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from rnatools.errors import InputError
from rnatools.models.lm import NUCLEOTIDE_COLUMNS, LanguageModel

__all__ = [
    "MASK_TOKEN",
    "MaskedPrediction",
    "fill_mask",
    "masked_every_position",
    "nucleotide_softmax",
    "parse_masks",
    "pseudo_log_likelihood",
    "top_letters",
]

MASK_TOKEN = "<mask>"
"""How a masked position is written in an input sequence (any case)."""

_MASK = re.compile(re.escape(MASK_TOKEN), re.IGNORECASE)
_PLACEHOLDER = "A"  # stands at a masked position; the model never sees it (the position is masked)


class MaskedPrediction(NamedTuple):
    """The model's nucleotide distribution at masked positions of one sequence.

    Attributes:
        positions: ``(n,)`` 0-based positions in the sequence, each masked.
        probabilities: ``(n, 4)`` float64 probabilities of A, C, G, T/U (rows sum to 1).
        log_p_ref: ``(n,)`` float64 ``ln P(REF)`` in nats (NaN where REF is not a nucleotide),
            or ``None`` for filled-in ``<mask>`` positions, which have no reference letter.
    """

    positions: list[int]
    probabilities: np.ndarray
    log_p_ref: np.ndarray | None


def parse_masks(name: str, sequence: str) -> tuple[str, list[int]]:
    """Replace each ``<mask>`` of ``sequence`` with a placeholder letter.

    Args:
        name: record name, for error messages.
        sequence: letters with optional ``<mask>`` tokens (any case).

    Returns:
        The sequence with one letter per masked position, and the 0-based masked positions.

    Raises:
        InputError: anything other than ``<mask>`` between angle brackets.
    """
    parts = _MASK.split(sequence)
    positions, pieces, length = [], [], 0
    for index, part in enumerate(parts):
        if "<" in part or ">" in part:
            raise InputError(f"record {name!r}: only <mask> may appear between angle brackets")
        pieces.append(part)
        length += len(part)
        if index < len(parts) - 1:
            positions.append(length)
            pieces.append(_PLACEHOLDER)
            length += 1
    return "".join(pieces), positions


def nucleotide_softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities of A, C, G, T/U from their logits.

    Args:
        logits: ``(n, 4)`` float32 nucleotide logits (:data:`NUCLEOTIDE_COLUMNS` order).

    Returns:
        ``(n, 4)`` float64 softmax over the last axis.
    """
    return torch.softmax(torch.from_numpy(logits).double(), -1).numpy()


def fill_mask(model: LanguageModel, sequence: str, positions: Sequence[int]) -> MaskedPrediction:
    """Distributions at ``positions``, all masked together in one run of ``sequence``.

    Args:
        model: a loaded language model.
        sequence: nucleotides (``<mask>`` already replaced, see :func:`parse_masks`).
        positions: 0-based positions to mask (at least one).

    Returns:
        :class:`MaskedPrediction` with ``log_p_ref`` ``None``.

    Raises:
        InputError: sequence empty or longer than the model takes, a position outside it.
    """
    positions = list(positions)
    (logits,) = model.nucleotide_logits([sequence], [positions])
    return MaskedPrediction(positions, nucleotide_softmax(logits[positions]), None)


def masked_every_position(
    model: LanguageModel, sequence: str, *, batch_size: int = 16
) -> MaskedPrediction:
    """Each position of ``sequence`` masked alone (one run per position, ``batch_size`` a call).

    Args:
        model: a loaded language model.
        sequence: nucleotides (DNA or RNA letters, any case).
        batch_size: masked copies of the sequence per model call.

    Returns:
        :class:`MaskedPrediction` of every position, with ``log_p_ref`` (nats).

    Raises:
        InputError: sequence empty or longer than the model takes.
    """
    positions = list(range(len(sequence)))
    logits = model.nucleotide_logits(
        [sequence] * len(sequence), [[p] for p in positions], batch_size=batch_size
    )
    probabilities = nucleotide_softmax(np.stack([logits[p][p] for p in positions]))
    log_p_ref = np.empty(len(positions))
    for row, position in enumerate(positions):
        column = NUCLEOTIDE_COLUMNS.find(sequence[position].upper().replace("U", "T"))
        log_p_ref[row] = np.log(probabilities[row][column]) if column >= 0 else np.nan
    return MaskedPrediction(positions, probabilities, log_p_ref)


def pseudo_log_likelihood(log_p_ref: np.ndarray) -> float:
    """``Σ_i log_p_ref(i)`` in nats, added in position order (NaN if any term is NaN)."""
    total = 0.0
    for value in log_p_ref:
        total += value
    return float(total)


def top_letters(probabilities: np.ndarray, k: int) -> list[tuple[str, float]]:
    """The ``k`` most probable letters of one ``(4,)`` distribution, ties in A, C, G, T order."""
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(NUCLEOTIDE_COLUMNS[i], float(probabilities[i])) for i in order]
