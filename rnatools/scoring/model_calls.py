"""What the splice-model scorers (:mod:`~rnatools.scoring.delta`, :mod:`~rnatools.scoring.pangolin`)
share when they call a model: whole windows batched through the engine, and tracks put back in
``+`` strand genome order.

Minus-strand inputs are run on the reverse complement and their outputs reversed back, so every
track a scorer keeps is in ``+`` strand order whatever the gene's strand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from rnatools.engine import Engine
from rnatools.models.base import IncrementalSNV, SpliceModel, VariantCone
from rnatools.sequence import one_hot, one_hot_batch, reverse_complement


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


def variant_cones(
    sequence: str,
    strand: str,
    input_start0: int,
    distance: int,
    changes: Sequence[tuple[int, int, str, int]],
) -> tuple[str, list[VariantCone]]:
    """A reference chunk's input in the model's orientation and one cone per variant.

    Args:
        sequence: the chunk's input, ``+`` strand, genome ``[input_start0, …)``.
        strand: ``-`` to run the chunk on the reverse complement.
        input_start0: genome position of ``sequence[0]``.
        distance: outputs start ``distance`` nt before the first REF base.
        changes: ``(pos0, ref_length, alt, rows)`` per variant: the ALT outputs wanted are the
            ``rows`` a whole ALT window gives from ``pos0 − distance`` on.

    Returns:
        The input in the model's orientation and a :class:`VariantCone` per change, in the
        same order (on the reverse complement the same outputs, in reverse order).
    """
    length = len(sequence)
    cones: list[VariantCone] = []
    for pos0, ref_length, alt, rows in changes:
        first = pos0 - input_start0  # first REF base, input index
        if strand == "+":
            start = first - distance
            cones.append(VariantCone(first, ref_length, alt, start, start + rows))
        else:
            end = length + len(alt) - ref_length - (first - distance)
            rc_first = length - first - ref_length
            cones.append(
                VariantCone(rc_first, ref_length, reverse_complement(alt), end - rows, end)
            )
    return (sequence if strand == "+" else reverse_complement(sequence)), cones


def run_snvs(
    engine: Engine,
    incremental: IncrementalSNV,
    sequence: str,
    strand: str,
    input_start0: int,
    snvs: Sequence[tuple[int, str]],
    distance: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The REF track of a reference chunk and the ALT tracks of its SNVs through the model's
    incremental capability, in ``+`` strand order.

    Args:
        sequence: the chunk's input, ``+`` strand, genome ``[input_start0, …)``.
        strand: ``-`` to run the chunk on the reverse complement.
        snvs: ``(pos0, alt_base)`` per SNV (``+`` strand base).
        distance: ALT tracks cover ``pos0 ± distance``.

    Returns:
        ``(length, channels)`` REF and ``(n, 2·distance + 1, channels)`` ALT probabilities.
    """
    centers = [pos0 - input_start0 for pos0, _ in snvs]
    bases = [alt for _, alt in snvs]
    if strand == "-":
        sequence = reverse_complement(sequence)
        centers = [len(sequence) - 1 - center for center in centers]
        bases = [reverse_complement(base) for base in bases]
    reference, alternatives = incremental.run(engine, sequence, centers, bases, distance)
    if strand == "-":
        reference, alternatives = reference[::-1], alternatives[:, ::-1]
    return reference, alternatives


def incremental_jobs(incremental: object | None, jobs: list, snvs: list) -> list:
    """The jobs of one reference chunk that a model's incremental capability scores (the
    others run whole ALT windows): every job when it offers ``run_windows``, or
    ``run_variants`` and the chunk has indels or MNVs; otherwise ``snvs`` (``run``); none
    without the capability (None)."""
    if incremental is None:
        return []
    if getattr(incremental, "run_windows", None) is not None or (
        getattr(incremental, "run_variants", None) is not None and len(snvs) < len(jobs)
    ):
        return jobs
    return snvs


class PreparedInputs(Protocol):
    """Where :func:`prepare_chunks` puts a block's model inputs (a scorer's batch object)."""

    encoded: list[tuple[np.ndarray, list[VariantCone]]]
    chunk_inputs: list[str]
    alt_windows: list[tuple[Any, Any]]


def prepare_chunks(
    chunks: Sequence[Any],
    inputs: PreparedInputs,
    *,
    sequence: Callable[[Any], str],
    cones: Callable[[Any, str], tuple[str, list[VariantCone]]] | None,
    covered: Callable[[Any], list],
    alt_input: Callable[[Any, Any], Any],
) -> None:
    """Read and encode the model inputs of a block's reference chunks ahead of the model.

    With ``cones`` (a ``run_windows`` capability) each chunk's input goes to ``inputs.encoded``
    one-hot ``(length, 4)`` in the model's orientation with its variants' cones; otherwise to
    ``inputs.chunk_inputs`` (``+`` strand text), and every job that ``covered(chunk)`` leaves
    out gets its whole ALT window ``alt_input(job, chunk)`` in ``inputs.alt_windows``.

    Args:
        chunks: objects with ``jobs``.
        sequence: a chunk's input, ``+`` strand (read from the FASTA).
    """
    for chunk in chunks:
        text = sequence(chunk)
        if cones is not None:
            model_sequence, chunk_cones = cones(chunk, text)
            inputs.encoded.append((one_hot(model_sequence), chunk_cones))
            continue
        inputs.chunk_inputs.append(text)
        kept = {id(job) for job in covered(chunk)}
        inputs.alt_windows.extend(
            (job, alt_input(job, chunk)) for job in chunk.jobs if id(job) not in kept
        )


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


__all__ = [
    "ModelInput",
    "PreparedInputs",
    "incremental_jobs",
    "prepare_chunks",
    "run_snvs",
    "run_whole_windows",
    "set_chunk_outputs",
    "variant_cones",
]
