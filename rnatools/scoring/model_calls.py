"""What the splice-model scorers (:mod:`~rnatools.scoring.delta`, :mod:`~rnatools.scoring.pangolin`)
share when they call a model: whole windows batched through the engine, and tracks put back in
``+`` strand genome order.

Minus-strand inputs are run on the reverse complement and their outputs reversed back, so every
track a scorer keeps is in ``+`` strand order whatever the gene's strand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rnatools.engine import Engine
from rnatools.models.base import SpliceModel
from rnatools.sequence import one_hot_batch, reverse_complement


class ModelInput(Protocol):
    """One whole window: ``sequence`` (``+`` strand), ``strand``, and ``output`` to fill."""

    sequence: str
    strand: str
    output: np.ndarray | None


def run_whole_windows(
    engine: Engine,
    model: SpliceModel,
    inputs: Sequence[ModelInput],
    *,
    batch_size: int,
    max_batch_nt: int | None,
) -> int:
    """Fill ``output`` of every input with the model's ``(length, channels)`` float32
    probabilities in ``+`` strand order, batching windows of equal length.

    Returns:
        The number of windows run.
    """
    windows = 0
    for batch in engine.batches(
        list(inputs),
        length=lambda item: len(item.sequence),
        batch_size=batch_size,
        max_batch_nt=max_batch_nt,
        sort=True,
    ):
        sequences = [
            item.sequence if item.strand == "+" else reverse_complement(item.sequence)
            for item in batch
        ]
        outputs = engine.run(model.forward, one_hot_batch(sequences))
        windows += len(batch)
        for item, output in zip(batch, outputs, strict=True):
            item.output = output if item.strand == "+" else output[::-1]
    return windows


def set_chunk_outputs(
    chunk: Any, strand: str, reference: np.ndarray, alternatives: Sequence[np.ndarray]
) -> None:
    """Store a reference chunk's REF track (``chunk.track``) and its jobs' ALT outputs
    (``job.alt_output``, in ``chunk.jobs`` order), reversed back to ``+`` strand order when
    they were computed on the reverse complement (``strand == "-"``)."""
    if strand == "-":
        reference = reference[::-1]
        alternatives = [track[::-1] for track in alternatives]
    chunk.track = reference
    for job, track in zip(chunk.jobs, alternatives, strict=True):
        job.alt_output = track


__all__ = ["ModelInput", "run_whole_windows", "set_chunk_outputs"]
