"""What the splice-model scorers (:mod:`~rnatools.scoring.delta`, :mod:`~rnatools.scoring.pangolin`)
share when they call a model: whole windows batched through the engine, and tracks put back in
``+`` strand genome order.

Minus-strand inputs are run on the reverse complement and their outputs reversed back, so every
track a scorer keeps is in ``+`` strand order whatever the gene's strand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    others run whole ALT windows): every job — ``jobs`` itself, which callers test with
    ``is`` — when it offers ``run_windows``, or ``run_variants`` and the chunk has indels or
    MNVs; otherwise ``snvs`` (``run``); none without the capability (None)."""
    if incremental is None:
        return []
    if getattr(incremental, "run_windows", None) is not None or (
        getattr(incremental, "run_variants", None) is not None and len(snvs) < len(jobs)
    ):
        return jobs
    return snvs


@dataclass(slots=True)
class PreparedChunks:
    """A block's reference chunks and their model inputs, read and encoded ahead of the model
    (:func:`prepare_chunks`), so that running them reads nothing from the FASTA.

    Attributes:
        chunks: the reference chunks (objects with ``jobs``, ``track``), in order.
        encoded: with a ``run_windows`` capability, per chunk its input one-hot ``(length, 4)``
            in the model's orientation and its variants' cones (:func:`run_encoded`).
        chunk_inputs: otherwise, per chunk its input (``+`` strand text).
        alt_windows: ``(job, whole ALT window)`` for the jobs the incremental path leaves out.
    """

    chunks: list = field(default_factory=list)
    encoded: list[tuple[np.ndarray, list[VariantCone]]] = field(default_factory=list)
    chunk_inputs: list[str] = field(default_factory=list)
    alt_windows: list[tuple[Any, Any]] = field(default_factory=list)

    def unencoded(self) -> Iterable[tuple[Any, str]]:
        """``(chunk, input)`` pairs of the chunks not on the ``run_windows`` path."""
        if not self.chunk_inputs:
            return ()
        return zip(self.chunks, self.chunk_inputs, strict=True)


def prepare_chunks(
    chunks: list,
    *,
    sequence: Callable[[Any], str],
    cones: Callable[[Any, str], tuple[str, list[VariantCone]]] | None,
    covered: Callable[[Any], list],
    alt_input: Callable[[Any, Any], Any],
) -> PreparedChunks:
    """Read and encode the model inputs of a block's reference chunks ahead of the model.

    With ``cones`` (a ``run_windows`` capability) each chunk's input goes to ``encoded``
    one-hot ``(length, 4)`` in the model's orientation with its variants' cones; otherwise to
    ``chunk_inputs`` (``+`` strand text), and every job that ``covered(chunk)`` leaves out gets
    its whole ALT window ``alt_input(job, chunk)`` in ``alt_windows``.

    Args:
        chunks: objects with ``jobs``.
        sequence: a chunk's input, ``+`` strand (read from the FASTA).
    """
    prepared = PreparedChunks(chunks)
    for chunk in chunks:
        text = sequence(chunk)
        if cones is not None:
            model_sequence, chunk_cones = cones(chunk, text)
            prepared.encoded.append((one_hot(model_sequence), chunk_cones))
            continue
        prepared.chunk_inputs.append(text)
        kept = {id(job) for job in covered(chunk)}
        prepared.alt_windows.extend(
            (job, alt_input(job, chunk)) for job in chunk.jobs if id(job) not in kept
        )
    return prepared


def run_encoded(
    engine: Engine,
    incremental: Any,
    prepared: PreparedChunks,
    strand: Callable[[Any], str],
) -> int:
    """REF track of every chunk and ALT output of every job of ``prepared.encoded`` in one
    ``run_windows`` call (:class:`~rnatools.models.base.IncrementalVariants`), in ``+`` strand
    order (:func:`set_chunk_outputs`; ``strand(chunk)`` says how each was run).

    Returns:
        The number of windows the same work takes as whole windows (one REF per chunk, one
        ALT per job).
    """
    if not prepared.encoded:
        return 0
    windows = 0
    results = incremental.run_windows(engine, prepared.encoded)
    for chunk, (reference, alternatives) in zip(prepared.chunks, results, strict=True):
        windows += 1 + len(alternatives)
        set_chunk_outputs(chunk, strand(chunk), reference, alternatives)
    return windows


def set_window_outputs(window_inputs: Iterable[tuple[Any, ModelInput]], chunk_type: type) -> None:
    """After :func:`run_whole_windows`: each whole window's output becomes its owner's
    ``track`` (a reference chunk, an instance of ``chunk_type``) or ``alt_output`` (a job)."""
    for owner, item in window_inputs:
        if isinstance(owner, chunk_type):
            owner.track = item.output
        else:
            owner.alt_output = item.output


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
    "PreparedChunks",
    "incremental_jobs",
    "prepare_chunks",
    "run_encoded",
    "run_snvs",
    "run_whole_windows",
    "set_chunk_outputs",
    "set_window_outputs",
    "variant_cones",
]
