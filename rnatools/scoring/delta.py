"""SpliceAI delta scores for VCF records, number for number with SpliceAI 1.3.1.

The behaviour (windows, skips, transcript-bound N-padding, indel alignment, masking, formatting)
is specified in ``docs/spliceai-scoring.md`` and the model in Jaganathan et al. 2019, Cell
176:535, doi:10.1016/j.cell.2018.12.015. This is an independent implementation.

How the work is organised (the numbers do not depend on it):

* The scorer knows the model only through :class:`~rnatools.models.base.SpliceModel`: its
  context per side (5,000 nt for SpliceAI), its acceptor and donor channels, and, when offered,
  its incremental-SNV capability. Any SpliceAI-family model scores the same way.
* The reference window of a variant is the contig centred on POS with every base outside the
  gene's transcript replaced by ``N``. That depends only on the gene, and every output position
  of the model depends only on the ``context`` nt on each side, so the reference probabilities
  of all variants of a gene are slices of one *reference track*: the gene's masked sequence run
  once over the union of positions the variants need (merged into intervals, cut into chunks).
* Each ALT allele needs one model call on its own window; windows of equal length (all SNVs,
  indels of equal length change) are stacked into batches by the engine. SNVs go through the
  model's incremental capability when it has one.
* Minus-strand genes are run on the reverse complement and the outputs reversed back, so every
  track is in + strand genome order.
* Records are checked by the shared planner (:mod:`rnatools.scoring.variants`) first.

Coordinates: VCF ``POS`` is 1-based (``pos1``); everything else is 0-based half-open.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

import numpy as np

from rnatools.engine import Engine
from rnatools.errors import UsageError
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneRow, GeneTable
from rnatools.models.base import SpliceModel
from rnatools.scoring.variants import (
    PlanSkip,
    Variant,
    is_ambiguous_allele,
    is_scorable_allele,
    plan_variant,
)
from rnatools.sequence import one_hot_batch, reverse_complement
from rnatools.windows import cut_window, mask_outside_range

log = logging.getLogger("rnatools.scoring.delta")

MAX_DISTANCE_LIMIT = 4999
"""Largest ``-D`` accepted (SpliceAI 1.3.1 allows 0-4999)."""

BATCH_NT_PER_WINDOW = 12_000
"""Default nucleotide budget of a model call, per window of the batch size: a batch of
``batch_size`` SNV windows (10,101 nt at D = 50) fits, long reference chunks get fewer rows."""


class SkipReason(str, Enum):
    """Why a record got no delta score (``--skip-report``, stderr summary)."""

    INTERGENIC = "intergenic"  # no annotated transcript contains POS (REF fits the FASTA)
    CONTIG_MISSING = "contig_missing"  # the contig is not in the FASTA (genes there or not)
    REF_MISMATCH = "ref_mismatch"  # REF differs from the FASTA (checked for every record)
    NEAR_CONTIG_END = "near_contig_end"  # the window runs past a contig end
    REF_TOO_LONG = "ref_too_long"  # len(REF) > 2·D
    SYMBOLIC_ALLELE = "symbolic_allele"  # every ALT is symbolic, '*', '.', or missing
    IUPAC_ALLELE = "iupac_allele"  # no scorable ALT, and one is an IUPAC code (R, Y, ...)
    MNV = "mnv"  # only REF>1 and ALT>1 alleles: entries of '.'
    MALFORMED = "malformed"  # not a VCF record (kept verbatim only when asked to)


@dataclass(frozen=True, slots=True)
class DeltaOptions:
    """Scoring settings.

    Attributes:
        max_distance: ``D`` in nt (0-4999): scores cover POS ± D.
        mask: SpliceAI's ``-M 1``: zero gains at and losses away from the nearest exon boundary.
        pad_contig_ends: score records whose window runs past a contig end by padding with N
            (SpliceAI 1.3.1 skips them; off by default).
    """

    max_distance: int = 50
    mask: bool = False
    pad_contig_ends: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.max_distance <= MAX_DISTANCE_LIMIT:
            raise UsageError(
                f"max_distance must be in 0-{MAX_DISTANCE_LIMIT} nt, got {self.max_distance}",
                parameter="max_distance",
            )

    @property
    def covered(self) -> int:
        """Positions scored per variant: ``2·D + 1``."""
        return 2 * self.max_distance + 1

    def window(self, context: int) -> int:
        """Reference window length in nt for a model with ``context`` nt per side:
        ``2·context + 2·D + 1`` (10,101 for SpliceAI at D = 50)."""
        return 2 * context + self.covered


@dataclass(slots=True)
class RecordAnnotation:
    """The INFO entries of one record and, when it got no numeric score, the reason."""

    entries: list[str] = field(default_factory=list)
    skip: SkipReason | None = None


class DeltaScores(NamedTuple):
    """Delta scores (probability differences) and their positions (nt from POS, + strand order)."""

    acceptor_gain: float
    acceptor_loss: float
    donor_gain: float
    donor_loss: float
    acceptor_gain_position: int
    acceptor_loss_position: int
    donor_gain_position: int
    donor_loss_position: int


_PLAN_SKIPS = {
    PlanSkip.SYMBOLIC_ALLELE: SkipReason.SYMBOLIC_ALLELE,
    PlanSkip.INTERGENIC: SkipReason.INTERGENIC,
    PlanSkip.CONTIG_MISSING: SkipReason.CONTIG_MISSING,
    PlanSkip.REF_MISMATCH: SkipReason.REF_MISMATCH,
}


# ---------------------------------------------------------------------------------------------
# Array kernels (no I/O): alignment, deltas, masking, formatting


def align_alt_track(alt_track: np.ndarray, ref_length: int, alt_length: int) -> np.ndarray:
    """Put an ALT track on the REF track's positions.

    Args:
        alt_track: ``(covered - ref_length + alt_length, 3)`` float32 ALT probabilities.
        ref_length, alt_length: allele lengths in nt (not both > 1).

    Returns:
        ``(covered, 3)``: for a deletion, ``ref_length - 1`` rows of zeros inserted right after
        the anchor base (the result is float64, as in SpliceAI 1.3.1, whose zeros are float64 and
        so make its deletion deltas float64); for an insertion, the rows of the inserted bases
        collapsed into their per-channel maximum at the anchor (float32); SNVs unchanged.
    """
    covered = alt_track.shape[0] - alt_length + ref_length
    center = covered // 2
    if ref_length > 1 and alt_length == 1:
        zeros = np.zeros((ref_length - 1, alt_track.shape[1]), dtype=np.float64)
        return np.concatenate(
            [alt_track[: center + 1], zeros, alt_track[center + 1 :]], axis=0, dtype=np.float64
        )
    if ref_length == 1 and alt_length > 1:
        collapsed = alt_track[center : center + alt_length].max(axis=0, keepdims=True)
        return np.concatenate([alt_track[:center], collapsed, alt_track[center + alt_length :]])
    return alt_track


def delta_scores(
    ref_track: np.ndarray,
    alt_track: np.ndarray,
    boundary: int | None = None,
    *,
    channels: tuple[int, int],
) -> DeltaScores:
    """Acceptor/donor gain and loss between aligned tracks, SpliceAI 1.3.1's rule.

    Args:
        ref_track: ``(covered, channels)`` float32 REF probabilities.
        alt_track: ``(covered, channels)`` aligned ALT probabilities (see
            :func:`align_alt_track`).
        boundary: with masking (``-M 1``), the signed distance from POS to the nearest exon
            boundary; ``None`` = no masking.
        channels: ``(acceptor, donor)`` channel indices of the model
            (:attr:`~rnatools.models.base.SpliceModel.splice_site_channels`).

    Returns:
        Each score is the maximum difference (ALT − REF for a gain, REF − ALT for a loss) at the
        first position of that maximum; positions count from POS (the centre). With masking a
        gain at ``boundary`` and a loss anywhere else is multiplied by 0 (a negative value
        becomes -0.0, which SpliceAI prints as ``-0.00``); positions are never masked.
    """
    center = ref_track.shape[0] // 2
    # numpy promotion reproduces the reference: float32 for SNVs/insertions, float64 for deletions
    columns = list(channels)
    gain = alt_track[:, columns] - ref_track[:, columns]
    loss = ref_track[:, columns] - alt_track[:, columns]
    values: list[float] = []
    positions: list[int] = []
    for deltas, is_gain in (
        (gain[:, 0], True),
        (loss[:, 0], False),
        (gain[:, 1], True),
        (loss[:, 1], False),
    ):
        index = int(np.argmax(deltas))
        position = index - center
        value = float(deltas[index])
        if boundary is not None and (position == boundary) == is_gain:
            value *= 0.0
        values.append(value)
        positions.append(position)
    acceptor_gain, acceptor_loss, donor_gain, donor_loss = values
    return DeltaScores(acceptor_gain, acceptor_loss, donor_gain, donor_loss, *positions)


def format_entry(alt: str, gene: str, scores: DeltaScores | None) -> str:
    """``ALT|GENE|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL`` (``.2f``; ``.`` when None)."""
    if scores is None:
        return f"{alt}|{gene}|.|.|.|.|.|.|.|."
    values = "|".join(format(value, ".2f") for value in scores[:4])
    positions = "|".join(str(position) for position in scores[4:])
    return f"{alt}|{gene}|{values}|{positions}"


def mask_outside_transcript(sequence: str, start0: int, gene: GeneRow) -> str:
    """``sequence`` (genome ``[start0, start0 + len)``) with bases outside the transcript as N."""
    return mask_outside_range(sequence, start0, gene.tx_start0, gene.tx_end0)


# ---------------------------------------------------------------------------------------------
# The batched engine


@dataclass(slots=True)
class _Job:
    record: int
    gene: GeneRow
    alt: str
    pos0: int
    ref_length: int
    alt_window: str  # gene-masked window with ALT substituted, + strand
    entry_slot: int  # index into the record's entries list
    alt_output: np.ndarray | None = None  # (covered - ref_length + alt_length, 3), + strand


@dataclass(slots=True)
class _Chunk:
    """Reference positions ``[start0, end0)`` of one gene computed in one model input."""

    gene: GeneRow
    chrom: str
    start0: int
    end0: int
    jobs: list[_Job] = field(default_factory=list)
    track: np.ndarray | None = None  # (end0 - start0, 3), + strand order


@dataclass(slots=True)
class _ModelInput:
    sequence: str  # + strand genome order
    strand: str
    output: np.ndarray | None = None  # (length, 3), + strand order


class DeltaScorer:
    """Scores blocks of VCF records with one splice-site model; reuses reference tracks.

    Args:
        model: the splice-site model (:class:`~rnatools.models.base.SpliceModel` with acceptor
            and donor channels), e.g. ``load_model("spliceai", engine=engine)``.
        fasta: the reference genome.
        genes: the annotation table.
        options: distance, masking, contig-end padding.
        engine: runs the model (default: fp32 on the CPU).
        batch_size: most windows per model call.
        max_batch_nt: most input nt per model call (bounds memory for long reference chunks);
            default ``batch_size ×`` :data:`BATCH_NT_PER_WINDOW`.
        chunk_length: longest reference chunk, in output positions.
        incremental: score SNVs through the model's incremental capability when it has one
            (sharing the reference chunk's activations); indels, and every ALT when False, run
            whole ALT windows.
    """

    def __init__(
        self,
        model: SpliceModel,
        fasta: Fasta,
        genes: GeneTable,
        options: DeltaOptions | None = None,
        *,
        engine: Engine | None = None,
        batch_size: int = 32,
        max_batch_nt: int | None = None,
        chunk_length: int = 10_000,
        incremental: bool = True,
    ):
        self.model = model
        self.fasta = fasta
        self.genes = genes
        self.options = options or DeltaOptions()
        self.engine = engine if engine is not None else Engine("cpu")
        self.batch_size = batch_size
        self.max_batch_nt = (
            max_batch_nt if max_batch_nt is not None else batch_size * BATCH_NT_PER_WINDOW
        )
        self.chunk_length = chunk_length
        self.incremental = model.incremental if incremental else None
        self.channels = model.splice_site_channels
        self.model_windows = 0  # windows run so far (for benchmarks)

    # -- planning ---------------------------------------------------------------------------
    def _plan(self, index: int, variant: Variant, jobs: list[_Job]) -> RecordAnnotation:
        options = self.options
        annotation = RecordAnnotation()
        planned = plan_variant(
            variant, self.fasta, self.genes.overlapping(variant.chrom, variant.pos1)
        )
        if isinstance(planned, PlanSkip):
            annotation.skip = _PLAN_SKIPS[planned]
            return annotation
        pos0, ref_length = planned.pos0, len(planned.ref)
        half = options.window(self.model.context) // 2
        window_start0 = pos0 - half
        window_end0 = pos0 + half + 1
        if (
            window_start0 < 0 or window_end0 > planned.contig_length
        ) and not options.pad_contig_ends:
            annotation.skip = SkipReason.NEAR_CONTIG_END
            return annotation
        if ref_length > 2 * options.max_distance:
            annotation.skip = SkipReason.REF_TOO_LONG
            return annotation
        scored = 0
        ambiguous = False
        for alt in planned.alts:
            if is_ambiguous_allele(alt):
                ambiguous = True
                continue
            if not is_scorable_allele(alt):
                continue
            for gene in planned.targets:
                if ref_length > 1 and len(alt) > 1:
                    annotation.entries.append(format_entry(alt, gene.name, None))
                    continue
                masked = self._masked_window(variant.chrom, window_start0, window_end0, gene)
                jobs.append(
                    _Job(
                        record=index,
                        gene=gene,
                        alt=alt,
                        pos0=pos0,
                        ref_length=ref_length,
                        alt_window=masked[:half] + alt.upper() + masked[half + ref_length :],
                        entry_slot=len(annotation.entries),
                    )
                )
                annotation.entries.append("")  # filled in once the model has run
                scored += 1
        if not scored:
            if annotation.entries:
                annotation.skip = SkipReason.MNV
            elif ambiguous:
                annotation.skip = SkipReason.IUPAC_ALLELE
            else:
                annotation.skip = SkipReason.SYMBOLIC_ALLELE
        return annotation

    def _masked_window(self, chrom: str, start0: int, end0: int, gene: GeneRow) -> str:
        """Genome ``[start0, end0)`` on the + strand, N past contig ends and outside the gene's
        transcript (SpliceAI's padding)."""
        return cut_window(self.fasta, chrom, start0, end0, "+", (gene.tx_start0, gene.tx_end0))

    def _chunks(self, jobs: list[_Job]) -> list[_Chunk]:
        """Reference chunks per gene: each job's ``pos0 ± D`` lies inside exactly one chunk.

        Jobs are taken in position order and added to the current chunk while it stays within
        ``chunk_length`` outputs and the gap is at most the model's context (computing a gap
        once is cheaper than a second pair of contexts).
        """
        distance = self.options.max_distance
        by_gene: dict[int, list[_Job]] = defaultdict(list)
        for job in jobs:
            by_gene[id(job.gene)].append(job)
        chunks: list[_Chunk] = []
        for gene_jobs in by_gene.values():
            gene_jobs.sort(key=lambda job: job.pos0)
            current: _Chunk | None = None
            for job in gene_jobs:
                start0, end0 = job.pos0 - distance, job.pos0 + distance + 1
                if (
                    current is not None
                    and start0 <= current.end0 + self.model.context
                    and max(end0, current.end0) - current.start0 <= self.chunk_length
                ):
                    current.end0 = max(current.end0, end0)
                else:
                    current = _Chunk(job.gene, self._chrom_of[id(job.gene)], start0, end0)
                    chunks.append(current)
                current.jobs.append(job)
        return chunks

    def _chunk_input(self, chunk: _Chunk) -> str:
        """The chunk's gene-masked input, ``+`` strand, the model's context on each side."""
        context = self.model.context
        gene = chunk.gene
        return cut_window(
            self.fasta,
            chunk.chrom,
            chunk.start0 - context,
            chunk.end0 + context,
            "+",
            (gene.tx_start0, gene.tx_end0),
        )

    # -- model ------------------------------------------------------------------------------
    def _run(self, inputs: list[_ModelInput]) -> None:
        """Fill ``output`` of every input, batching windows of equal length."""
        engine = self.engine
        for batch in engine.batches(
            inputs,
            length=lambda item: len(item.sequence),
            batch_size=self.batch_size,
            max_batch_nt=self.max_batch_nt,
            sort=True,
        ):
            sequences = [
                item.sequence if item.strand == "+" else reverse_complement(item.sequence)
                for item in batch
            ]
            outputs = engine.run(self.model.forward, one_hot_batch(sequences))
            self.model_windows += len(batch)
            for item, output in zip(batch, outputs, strict=True):
                item.output = output if item.strand == "+" else output[::-1]

    def _run_incremental(self, chunk: _Chunk, sequence: str) -> None:
        """REF track of ``chunk`` and ALT tracks of its SNVs through the incremental capability."""
        assert self.incremental is not None
        distance = self.options.max_distance
        context_start0 = chunk.start0 - self.model.context
        snvs = [job for job in chunk.jobs if job.ref_length == 1 and len(job.alt) == 1]
        centers = [job.pos0 - context_start0 for job in snvs]
        bases = [job.alt.upper() for job in snvs]
        if chunk.gene.strand == "-":
            sequence = reverse_complement(sequence)
            centers = [len(sequence) - 1 - center for center in centers]
            bases = [reverse_complement(base) for base in bases]
        reference, alternatives = self.incremental.run(
            self.engine, sequence, centers, bases, distance
        )
        self.model_windows += 1 + len(snvs)
        if chunk.gene.strand == "-":
            reference, alternatives = reference[::-1], alternatives[:, ::-1]
        chunk.track = reference
        for job, track in zip(snvs, alternatives, strict=True):
            job.alt_output = track

    # -- public -----------------------------------------------------------------------------
    def annotate(self, variants: Sequence[Variant]) -> list[RecordAnnotation]:
        """SpliceAI INFO entries for each record, in input order (ALT-major, then gene order).

        Raises:
            ContigNotFoundError: never for a contig missing from the FASTA (that is a skip);
                only from a broken FASTA index.
        """
        jobs: list[_Job] = []
        annotations = [self._plan(index, variant, jobs) for index, variant in enumerate(variants)]
        if not jobs:
            return annotations
        self._chrom_of = {id(job.gene): variants[job.record].chrom for job in jobs}
        chunks = self._chunks(jobs)
        window_inputs: list[tuple[_Job | _Chunk, _ModelInput]] = []
        for chunk in chunks:
            sequence = self._chunk_input(chunk)
            if self.incremental is not None:
                self._run_incremental(chunk, sequence)
            else:
                window_inputs.append((chunk, _ModelInput(sequence, chunk.gene.strand)))
        for job in jobs:
            if job.alt_output is None:
                window_inputs.append((job, _ModelInput(job.alt_window, job.gene.strand)))
        self._run([item for _, item in window_inputs])
        for owner, item in window_inputs:
            if isinstance(owner, _Chunk):
                owner.track = item.output
            else:
                owner.alt_output = item.output
        distance = self.options.max_distance
        for chunk in chunks:
            assert chunk.track is not None
            for job in chunk.jobs:
                first = job.pos0 - distance - chunk.start0
                ref_track = chunk.track[first : first + self.options.covered]
                assert job.alt_output is not None
                alt_track = align_alt_track(job.alt_output, job.ref_length, len(job.alt))
                boundary = job.gene.nearest_boundary(job.pos0 + 1) if self.options.mask else None
                scores = delta_scores(ref_track, alt_track, boundary, channels=self.channels)
                annotations[job.record].entries[job.entry_slot] = format_entry(
                    job.alt, job.gene.name, scores
                )
        return annotations


__all__ = [
    "MAX_DISTANCE_LIMIT",
    "DeltaOptions",
    "DeltaScorer",
    "DeltaScores",
    "RecordAnnotation",
    "SkipReason",
    "Variant",
    "align_alt_track",
    "delta_scores",
    "format_entry",
    "is_scorable_allele",
    "mask_outside_transcript",
]
