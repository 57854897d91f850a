"""Pangolin splice scores for VCF records, number for number with Pangolin 1.0.2.

Pangolin (Zeng & Li 2022, Genome Biology 23:103, doi:10.1186/s13059-022-02664-4) predicts, per
tissue (heart, liver, brain, testis), the probability that a position is spliced. A variant's
score is the change of that probability between the ALT and the REF sequence at the positions
``POS - d .. POS + d``: the largest increase over the tissues (*gain*) and the largest decrease
(*loss*), each with its position. The rules (window, indel alignment, masking, text) are
specified in ``docs/pangolin-scoring.md``; this is an independent implementation checked against
the original program's outputs.

How the work is organised (the numbers do not depend on it):

* The scorer knows the model only through :class:`~rnatools.models.base.SpliceModel` plus the
  Pangolin adapter's ``psplice_channels`` (the per-tissue P(splice) channels): its context per
  side, its channels, and its incremental-SNV capability.
* Pangolin's window is the raw genome (no transcript masking, ``N`` only past contig ends), so
  the REF probabilities do not depend on the gene nor on the variant: one *reference track* per
  contig and strand is run over the merged positions of a block's variants and sliced.
* SNVs go through the model's incremental capability (sharing the chunk's activations); so do
  indels and MNVs when it offers ``run_windows`` (every chunk of a block in one call, batched
  across chunks; otherwise they run whole ALT windows, batched by the engine).
* Minus-strand genes are scored on the reverse complement and the outputs reversed back, so
  every track is in + strand genome order. The score is computed once per strand and each gene
  of that strand is masked with its own annotated sites.

Coordinates: VCF ``POS`` is 1-based (``pos1``); everything else is 0-based half-open.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from rnatools.engine import Engine
from rnatools.errors import UsageError
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneRow, GeneTable
from rnatools.models.base import SpliceModel, VariantCone
from rnatools.scoring.model_calls import (
    PreparedChunks,
    incremental_jobs,
    prepare_chunks,
    run_encoded,
    run_snvs,
    run_whole_windows,
    set_chunk_outputs,
    set_window_outputs,
    variant_cones,
)
from rnatools.scoring.variants import (
    PlanSkip,
    Variant,
    is_ambiguous_allele,
    is_scorable_allele,
    plan_variant,
)

log = logging.getLogger("rnatools.scoring.pangolin")

PANGOLIN_INFO_KEY = "Pangolin"

MAX_DISTANCE_LIMIT = 4999
"""Largest ``-d`` accepted (nt), as for SpliceAI."""

NO_SITES_WARNING = "NoAnnotatedSitesToMaskForThisGene"
"""Pangolin's warning for a gene without annotated exons when masking is on."""

MISSING = "."
"""The INFO group of an ALT allele that was not scored."""

BATCH_NT_PER_WINDOW = 12_000
"""Default nucleotide budget of a model call, per window of the batch size."""


class PangolinSkip(str, Enum):
    """Why a record got no Pangolin score (unprefixed; the pipeline adds ``pangolin_``)."""

    INTERGENIC = "intergenic"  # no gene body contains POS
    CONTIG_MISSING = "contig_missing"  # the contig is not in the FASTA
    REF_MISMATCH = "ref_mismatch"  # REF differs from the FASTA
    NEAR_CONTIG_END = "near_contig_end"  # the window runs past a contig end (no padding asked)
    REF_TOO_LONG = "ref_too_long"  # len(REF) > 2·d (Pangolin: "Deletion too large")
    SYMBOLIC_ALLELE = "symbolic_allele"  # every ALT is symbolic, '*', '.', or missing
    IUPAC_ALLELE = "iupac_allele"  # no scorable ALT, and one is an IUPAC code (R, Y, ...)
    COMPLEX_INDEL = "complex_indel"  # only REF>1, ALT>1 alleles of unequal length


_PLAN_SKIPS = {
    PlanSkip.SYMBOLIC_ALLELE: PangolinSkip.SYMBOLIC_ALLELE,
    PlanSkip.INTERGENIC: PangolinSkip.INTERGENIC,
    PlanSkip.CONTIG_MISSING: PangolinSkip.CONTIG_MISSING,
    PlanSkip.REF_MISMATCH: PangolinSkip.REF_MISMATCH,
}


@dataclass(frozen=True, slots=True)
class PangolinOptions:
    """Scoring settings.

    Attributes:
        max_distance: ``d`` in nt (0-4999): scores cover ``POS - d .. POS + len(REF) - 1 + d``.
        mask: Pangolin's ``-m True`` (its default): gains at annotated splice sites and losses
            away from them are set to 0.
        pad_contig_ends: score records whose window runs past a contig end by padding with N
            (Pangolin skips them).

    Raises:
        UsageError: ``max_distance`` out of range (``parameter="max_distance"``).
    """

    max_distance: int = 50
    mask: bool = True
    pad_contig_ends: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.max_distance <= MAX_DISTANCE_LIMIT:
            raise UsageError(
                f"max_distance must be in 0-{MAX_DISTANCE_LIMIT} nt, got {self.max_distance}",
                parameter="max_distance",
            )


def pangolin_info_header(options: PangolinOptions) -> str:
    """The ``##INFO=<ID=Pangolin,...>`` header line (no newline) describing the entries."""
    return (
        f'##INFO=<ID={PANGOLIN_INFO_KEY},Number=A,Type=String,Description="Pangolin splice '
        "scores. Format: gene|pos:score_change|pos:score_change|warnings, for each ALT allele "
        "in ALT order (. = allele not scored); several genes of one allele follow each other "
        "as gene|pos:score_change|pos:score_change|warnings|gene|... The first score is the "
        "largest increase of P(splice) over the tissues, the second the largest decrease, pos "
        f"in nt from POS (distance {options.max_distance}, "
        f'mask {"True" if options.mask else "False"}; rnatools)">'
    )


# ---------------------------------------------------------------------------------------------
# Array kernels (no I/O): alignment, gain and loss, masking, text


def align_alt_track(
    alt_track: np.ndarray, ref_length: int, alt_length: int, distance: int
) -> np.ndarray:
    """Put a Pangolin ALT track on the REF track's positions (+ strand genome order).

    Args:
        alt_track: ``(2·d + alt_length, ...)`` ALT values, row ``i`` = genome ``POS - d + i``.
        ref_length, alt_length: allele lengths in nt.
        distance: ``d`` in nt.

    Returns:
        ``(2·d + ref_length, ...)``: for a deletion (``ref_length > 1 == alt_length``)
        ``ref_length - 1`` rows of zeros inserted right after the anchor row ``d``; for an
        insertion (``ref_length == 1 < alt_length``) the anchor row and the inserted rows
        replaced by their maximum; SNVs and MNVs (equal lengths) unchanged.
    """
    ndiff = abs(ref_length - alt_length)
    if ref_length > alt_length:
        zeros = np.zeros((ndiff, *alt_track.shape[1:]), dtype=alt_track.dtype)
        return np.concatenate([alt_track[: distance + 1], zeros, alt_track[distance + 1 :]])
    if ref_length < alt_length:
        collapsed = alt_track[distance : distance + ndiff + 1].max(axis=0, keepdims=True)
        return np.concatenate([alt_track[:distance], collapsed, alt_track[distance + ndiff + 1 :]])
    return alt_track


def gain_loss(ref_track: np.ndarray, alt_track: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-position gain and loss of P(splice) over tissues.

    Args:
        ref_track: ``(positions, tissues)`` REF P(splice) (probability), one column per tissue.
        alt_track: ``(positions, tissues)`` aligned ALT P(splice) (:func:`align_alt_track`).

    Returns:
        ``(gain, loss)``, each ``(positions,)`` float32: the per-tissue delta ``ALT − REF``,
        its maximum over tissues (gain) and its minimum (loss).
    """
    delta = np.asarray(alt_track, dtype=np.float32) - np.asarray(ref_track, dtype=np.float32)
    return delta.max(axis=1), delta.min(axis=1)


def annotated_sites0(gene: GeneRow) -> np.ndarray:
    """0-based genome positions Pangolin treats as annotated splice sites of ``gene``: the first
    and the last base of every exon of every transcript (``site_exons0``; the row's own exons
    when that is empty). Sorted, unique, int64; empty when the gene has no exons."""
    exons = gene.site_exons0 or tuple(zip(gene.exon_starts0, gene.exon_ends0, strict=True))
    sites = [site for start0, end0 in exons for site in (start0, end0 - 1)]
    return np.unique(np.asarray(sites, dtype=np.int64))


def mask_gain_loss(
    gain: np.ndarray, loss: np.ndarray, site_indices: np.ndarray
) -> tuple[np.ndarray, np.ndarray, str]:
    """Pangolin's masking (``-m True``) of one gene.

    Args:
        gain, loss: ``(positions,)`` unmasked values (not modified).
        site_indices: the gene's annotated sites as indices into the arrays (site − (POS − d),
            0-based); those outside ``[0, positions)`` are ignored. Empty = the gene has no
            annotated site at all.

    Returns:
        ``(gain, loss, warning)``: gain at annotated sites is ``min(gain, 0)``; loss at every
        other position is ``max(loss, 0)``. A gene with no annotated site keeps its gains, has
        every loss clamped and the warning :data:`NO_SITES_WARNING` (else ``""``).
    """
    gain = np.array(gain, copy=True)
    loss = np.array(loss, copy=True)
    if len(site_indices) == 0:
        return gain, np.maximum(loss, 0), NO_SITES_WARNING
    sites = np.asarray(site_indices, dtype=np.int64)
    sites = sites[(sites >= 0) & (sites < len(loss))]
    annotated = np.zeros(len(loss), dtype=bool)
    annotated[sites] = True
    gain[annotated] = np.minimum(gain[annotated], 0)
    loss[~annotated] = np.maximum(loss[~annotated], 0)
    return gain, loss, ""


def format_score(value: float) -> str:
    """A score as Pangolin rounds it (numpy's ``round(value, 2)`` on float32), printed as the
    shortest decimal text: ``0.13`` (Pangolin prints the same float32 as
    ``0.12999999523162842``), ``0.0``, ``-0.0``, ``-0.83``."""
    rounded = np.round(np.float32(value), 2)
    return repr(round(float(rounded), 2))


def gene_text(gene: str, gain: np.ndarray, loss: np.ndarray, distance: int, warnings: str) -> str:
    """``GENE|POS:GAIN|POS:LOSS|Warnings:TEXT`` for one gene.

    Positions are the first index of the largest gain and of the largest loss, minus
    ``distance`` (nt from POS; 0 = the variant's first REF base).
    """
    g = int(np.argmax(gain))
    lo = int(np.argmin(loss))
    return (
        f"{gene}|{g - distance}:{format_score(gain[g])}|{lo - distance}:{format_score(loss[lo])}"
        f"|Warnings:{warnings}"
    )


@dataclass(frozen=True, slots=True)
class GeneScore:
    """Unmasked gain and loss of one ALT allele for one gene.

    Attributes:
        gene: the annotation row.
        label: the text written for it (``gene_id``, else the row's name).
        gain, loss: ``(2·d + len(REF),)`` float32; index ``i`` = genome ``POS - d + i``.
        site_indices: the gene's annotated sites as indices into ``gain``/``loss`` (any range;
            see :func:`mask_gain_loss`).
    """

    gene: GeneRow
    label: str
    gain: np.ndarray
    loss: np.ndarray
    site_indices: np.ndarray

    def text(self, distance: int, mask: bool) -> str:
        """This gene's ``GENE|POS:GAIN|POS:LOSS|Warnings:`` text, masked or not."""
        gain, loss, warnings = self.gain, self.loss, ""
        if mask:
            gain, loss, warnings = mask_gain_loss(gain, loss, self.site_indices)
        return gene_text(self.label, gain, loss, distance, warnings)


def allele_group(scores: Sequence[GeneScore] | None, distance: int, mask: bool) -> str:
    """One ALT allele's INFO group: its genes' texts joined by ``|``, or ``.`` (not scored)."""
    if scores is None:
        return MISSING
    return "|".join(score.text(distance, mask) for score in scores)


def gene_label(gene: GeneRow) -> str:
    """What Pangolin writes for a gene: its ``gene_id``, else the row's name."""
    return gene.gene_id or gene.name


# ---------------------------------------------------------------------------------------------
# The scorer


@dataclass(slots=True)
class PangolinAnnotation:
    """One record's outcome.

    Attributes:
        entries: INFO groups, one per ALT allele (ALT order); empty when ``skip`` is set.
        skip: why no ALT allele was scored, or None.
        scores: per ALT allele, the unmasked :class:`GeneScore` of each gene (``+`` strand
            genes first, each strand in annotation order), or None for an allele not scored.
    """

    entries: list[str] = field(default_factory=list)
    skip: PangolinSkip | None = None
    scores: list[list[GeneScore] | None] = field(default_factory=list)


@dataclass(slots=True)
class _Job:
    record: int
    allele: int
    chrom: str
    strand: str
    pos0: int
    ref_length: int
    alt: str
    alt_output: np.ndarray | None = None  # (2·d + len(alt), channels), + strand order
    gain: np.ndarray | None = None
    loss: np.ndarray | None = None


@dataclass(slots=True)
class _Chunk:
    """Reference positions ``[start0, end0)`` of one contig and strand, one model input."""

    chrom: str
    strand: str
    start0: int
    end0: int
    jobs: list[_Job] = field(default_factory=list)
    track: np.ndarray | None = None  # (end0 - start0, channels), + strand order


@dataclass(slots=True)
class _ModelInput:
    sequence: str  # + strand genome order
    strand: str
    output: np.ndarray | None = None  # + strand order


@dataclass(slots=True)
class PangolinBatch:
    """A block of records planned by :meth:`PangolinScorer.prepare`, ready for the model.

    Attributes:
        planned: per record, its outcome (scores still empty) and the genes it is scored in.
        positions1: per record, its 1-based POS.
        jobs: one per ALT allele and strand to score.
        inputs: its reference chunks and their model inputs, already read and encoded.
    """

    planned: list[tuple[PangolinAnnotation, list[GeneRow]]]
    positions1: list[int]
    jobs: list[_Job]
    inputs: PreparedChunks = field(default_factory=PreparedChunks)


class _GeneSpans:
    """Genes whose body (transcripts and every annotated exon) contains a position, as
    Pangolin selects them (gene features containing POS)."""

    def __init__(self, genes: GeneTable):
        self.genes = genes
        by_chrom: dict[str, list[GeneRow]] = defaultdict(list)
        for row in genes.rows:
            by_chrom[row.chrom].append(row)
        self._index: dict[str, tuple[list[GeneRow], np.ndarray, np.ndarray]] = {}
        for chrom, rows in by_chrom.items():
            starts = [min([row.tx_start0, *(s for s, _ in row.site_exons0)]) for row in rows]
            ends = [max([row.tx_end0, *(e for _, e in row.site_exons0)]) for row in rows]
            self._index[chrom] = (rows, np.asarray(starts), np.asarray(ends))

    def containing(self, chrom: str, pos1: int) -> list[GeneRow]:
        """Genes containing 1-based ``pos1``: ``+`` strand first, each strand in table order."""
        name = self.genes.contigs.get(chrom)
        if name is None or name not in self._index:
            return []
        rows, starts0, ends0 = self._index[name]
        hits = [rows[i] for i in np.flatnonzero((starts0 < pos1) & (pos1 <= ends0))]
        return [row for row in hits if row.strand == "+"] + [
            row for row in hits if row.strand != "+"
        ]


def gene_labels(genes: GeneTable) -> Callable[[Variant], list[str]]:
    """The GENE labels Pangolin entries of a variant carry, in the order the scorer writes them
    (``+`` strand genes first): what a precomputed Pangolin entry is matched against."""
    spans = _GeneSpans(genes)

    def labels(variant: Variant) -> list[str]:
        return [gene_label(gene) for gene in spans.containing(variant.chrom, variant.pos1)]

    return labels


class PangolinScorer:
    """Scores blocks of VCF records with Pangolin; reuses reference tracks.

    Args:
        model: the Pangolin adapter (``load_model("pangolin", path, engine=engine)``): a
            :class:`~rnatools.models.base.SpliceModel` with ``psplice_channels``.
        fasta: the reference genome.
        genes: the annotation (a GTF/GFF3 table carries every transcript's exons).
        options: distance, masking, contig-end padding.
        engine: runs the model (default: fp32 on the CPU).
        batch_size: most windows per model call.
        max_batch_nt: most input nt per model call; default ``batch_size ×``
            :data:`BATCH_NT_PER_WINDOW`.
        chunk_length: longest reference chunk, in output positions.
        incremental: score SNVs (and indels and MNVs, when it offers ``run_windows``) through
            the model's incremental capability when it has one.

    Raises:
        UsageError: the model has no per-tissue P(splice) channels (``parameter="models"``).
    """

    def __init__(
        self,
        model: SpliceModel,
        fasta: Fasta,
        genes: GeneTable,
        options: PangolinOptions | None = None,
        *,
        engine: Engine | None = None,
        batch_size: int = 32,
        max_batch_nt: int | None = None,
        chunk_length: int = 10_000,
        incremental: bool = True,
    ):
        channels = getattr(model, "psplice_channels", None)
        if not channels:
            raise UsageError(
                f"{model.name} gives no per-tissue P(splice) channels; Pangolin scores need the "
                "pangolin model",
                parameter="models",
            )
        self.model = model
        self.fasta = fasta
        self.genes = genes
        self.options = options or PangolinOptions()
        self.engine = engine if engine is not None else Engine("cpu")
        self.batch_size = batch_size
        self.max_batch_nt = (
            max_batch_nt if max_batch_nt is not None else batch_size * BATCH_NT_PER_WINDOW
        )
        self.chunk_length = chunk_length
        self.incremental_enabled = incremental
        self.channels = list(channels)
        self.spans = _GeneSpans(genes)
        self.model_windows = 0  # windows run so far (for benchmarks)

    # -- planning ---------------------------------------------------------------------------
    def _plan(
        self, index: int, variant: Variant, jobs: list[_Job]
    ) -> tuple[PangolinAnnotation, list[GeneRow]]:
        d = self.options.max_distance
        annotation = PangolinAnnotation()
        planned = plan_variant(
            variant, self.fasta, self.spans.containing(variant.chrom, variant.pos1)
        )
        if isinstance(planned, PlanSkip):
            annotation.skip = _PLAN_SKIPS[planned]
            return annotation, []
        pos0, ref_length = planned.pos0, len(planned.ref)
        context = self.model.context
        if (
            pos0 - d - context < 0 or pos0 + ref_length + d + context > planned.contig_length
        ) and not self.options.pad_contig_ends:
            annotation.skip = PangolinSkip.NEAR_CONTIG_END
            return annotation, []
        if ref_length > 2 * d:
            annotation.skip = PangolinSkip.REF_TOO_LONG
            return annotation, []
        genes = list(planned.targets)
        strands = list(dict.fromkeys(gene.strand for gene in genes))
        reasons: set[PangolinSkip] = set()
        for allele, alt in enumerate(planned.alts):
            annotation.scores.append(None)
            if is_ambiguous_allele(alt):
                reasons.add(PangolinSkip.IUPAC_ALLELE)
                continue
            if not is_scorable_allele(alt):
                reasons.add(PangolinSkip.SYMBOLIC_ALLELE)
                continue
            if ref_length > 1 and len(alt) > 1 and ref_length != len(alt):
                reasons.add(PangolinSkip.COMPLEX_INDEL)
                continue
            annotation.scores[allele] = []  # filled in once the model has run
            for strand in strands:
                jobs.append(
                    _Job(index, allele, variant.chrom, strand, pos0, ref_length, alt.upper())
                )
        if all(scores is None for scores in annotation.scores):
            for reason in (
                PangolinSkip.COMPLEX_INDEL,
                PangolinSkip.IUPAC_ALLELE,
                PangolinSkip.SYMBOLIC_ALLELE,
            ):
                if reason in reasons:
                    annotation.skip = reason
                    break
        return annotation, genes

    def _chunks(self, jobs: list[_Job]) -> list[_Chunk]:
        """Reference chunks per contig and strand: each job's positions lie in one chunk.

        Jobs are taken in position order and added to the current chunk while it stays within
        ``chunk_length`` outputs and the gap is at most the model's context.
        """
        d = self.options.max_distance
        groups: dict[tuple[str, str], list[_Job]] = defaultdict(list)
        for job in jobs:
            groups[(job.chrom, job.strand)].append(job)
        chunks: list[_Chunk] = []
        for (chrom, strand), group in groups.items():
            group.sort(key=lambda job: job.pos0)
            current: _Chunk | None = None
            for job in group:
                start0, end0 = job.pos0 - d, job.pos0 + job.ref_length + d
                if (
                    current is not None
                    and start0 <= current.end0 + self.model.context
                    and max(end0, current.end0) - current.start0 <= self.chunk_length
                ):
                    current.end0 = max(current.end0, end0)
                else:
                    current = _Chunk(chrom, strand, start0, end0)
                    chunks.append(current)
                current.jobs.append(job)
        return chunks

    def _genome(self, chrom: str, start0: int, end0: int) -> str:
        """Genome ``[start0, end0)``, + strand, upper case, N past contig ends."""
        return self.fasta.fetch_padded(chrom, start0, end0)

    # -- model ------------------------------------------------------------------------------
    def _run(self, inputs: list[_ModelInput]) -> None:
        """Fill ``output`` of every input, batching windows of equal length."""
        self.model_windows += run_whole_windows(
            self.engine,
            self.model,
            inputs,
            batch_size=self.batch_size,
            max_batch_nt=self.max_batch_nt,
        )

    def _run_incremental(self, chunk: _Chunk, sequence: str, snvs: list[_Job]) -> None:
        """REF track of ``chunk`` and ALT tracks of its SNVs through the incremental capability."""
        incremental = self.model.incremental
        assert incremental is not None
        reference, alternatives = run_snvs(
            self.engine,
            incremental,
            sequence,
            chunk.strand,
            chunk.start0 - self.model.context,
            [(job.pos0, job.alt) for job in snvs],
            self.options.max_distance,
        )
        self.model_windows += 1 + len(snvs)
        chunk.track = reference
        for job, track in zip(snvs, alternatives, strict=True):
            job.alt_output = track

    def _run_variants(self, chunk: _Chunk, sequence: str, run_variants) -> None:
        """REF track of ``chunk`` and the ALT outputs of every job through ``run_variants``."""
        reference, alternatives = run_variants(self.engine, *self._cones(chunk, sequence))
        self.model_windows += 1 + len(alternatives)
        set_chunk_outputs(chunk, chunk.strand, reference, alternatives)

    def _cones(self, chunk: _Chunk, sequence: str) -> tuple[str, list[VariantCone]]:
        """The chunk's input in the model's orientation and one :class:`VariantCone` per job:
        the outputs a whole ALT window gives, ``pos0 − d`` onwards (``2·d + len(ALT)`` rows;
        reversed on the reverse complement for the minus strand)."""
        d = self.options.max_distance
        changes = [(job.pos0, job.ref_length, job.alt, 2 * d + len(job.alt)) for job in chunk.jobs]
        return variant_cones(sequence, chunk.strand, chunk.start0 - self.model.context, d, changes)

    def _incremental_jobs(self, chunk: _Chunk) -> list[_Job]:
        """The jobs of ``chunk`` the incremental capability scores (:func:`incremental_jobs`;
        none with ``incremental=False``)."""
        snvs = [job for job in chunk.jobs if job.ref_length == 1 and len(job.alt) == 1]
        incremental = self.model.incremental if self.incremental_enabled else None
        return incremental_jobs(incremental, chunk.jobs, snvs)

    def _alt_window(self, job: _Job) -> str:
        """The whole ALT window of ``job`` (+ strand, N past contig ends)."""
        d, context = self.options.max_distance, self.model.context
        window = self._genome(
            job.chrom, job.pos0 - d - context, job.pos0 + job.ref_length + d + context
        )
        anchor = context + d
        return window[:anchor] + job.alt + window[anchor + job.ref_length :]

    def _prepare_jobs(self, jobs: list[_Job]) -> PreparedChunks:
        """Chunks, their inputs (one-hot with cones on the ``run_windows`` path) and the whole
        ALT windows of the jobs the incremental path does not cover."""
        context = self.model.context
        by_windows = (
            self.incremental_enabled
            and getattr(self.model.incremental, "run_windows", None) is not None
        )
        return prepare_chunks(
            self._chunks(jobs),
            sequence=lambda chunk: self._genome(
                chunk.chrom, chunk.start0 - context, chunk.end0 + context
            ),
            cones=self._cones if by_windows else None,
            covered=self._incremental_jobs,
            alt_input=lambda job, _chunk: _ModelInput(self._alt_window(job), job.strand),
        )

    def _run_jobs(self, inputs: PreparedChunks) -> None:
        """Run the model for every job of ``inputs`` and set its unmasked ``gain`` and
        ``loss``."""
        d = self.options.max_distance
        self.model_windows += run_encoded(
            self.engine, self.model.incremental, inputs, lambda chunk: chunk.strand
        )
        window_inputs: list[tuple[_Job | _Chunk, _ModelInput]] = []
        for chunk, sequence in inputs.unencoded():
            covered = self._incremental_jobs(chunk)
            run_variants = getattr(self.model.incremental, "run_variants", None)
            if covered and covered is chunk.jobs and run_variants is not None:
                self._run_variants(chunk, sequence, run_variants)
            elif covered:
                self._run_incremental(chunk, sequence, covered)
            else:
                window_inputs.append((chunk, _ModelInput(sequence, chunk.strand)))
        window_inputs.extend(inputs.alt_windows)
        self._run([item for _, item in window_inputs])
        set_window_outputs(window_inputs, _Chunk)
        for chunk in inputs.chunks:
            assert chunk.track is not None
            for job in chunk.jobs:
                first = job.pos0 - d - chunk.start0
                ref_track = chunk.track[first : first + 2 * d + job.ref_length, self.channels]
                assert job.alt_output is not None
                alt_track = align_alt_track(
                    job.alt_output[:, self.channels], job.ref_length, len(job.alt), d
                )
                job.gain, job.loss = gain_loss(ref_track, alt_track)

    # -- public -----------------------------------------------------------------------------
    def prepare(self, variants: Sequence[Variant]) -> PangolinBatch:
        """Plan a block of records and read and encode everything its model calls need.

        Every FASTA read and one-hot encoding of the block happens here and none in
        :meth:`run`, so a pipeline may prepare the next block on another thread while the
        current one is in the model.

        Raises:
            ContigNotFoundError: never for a contig missing from the FASTA (that is a skip);
                only from a broken FASTA index.
        """
        jobs: list[_Job] = []
        planned = [self._plan(index, variant, jobs) for index, variant in enumerate(variants)]
        batch = PangolinBatch(planned, [variant.pos1 for variant in variants], jobs)
        if jobs:
            batch.inputs = self._prepare_jobs(jobs)
        return batch

    def run(self, batch: PangolinBatch) -> list[PangolinAnnotation]:
        """Run the model on a block from :meth:`prepare`: the unmasked gain/loss arrays of
        every ALT allele and gene (``.scores``) and the INFO groups (``.entries``, masked as
        ``options.mask`` says), one outcome per record in input order."""
        if batch.jobs:
            self._run_jobs(batch.inputs)
        by_key = {(job.record, job.allele, job.strand): job for job in batch.jobs}
        d = self.options.max_distance
        outcomes = []
        for index, (annotation, genes) in enumerate(batch.planned):
            if annotation.skip is None and annotation.scores:
                pos0 = batch.positions1[index] - 1
                for allele, scores in enumerate(annotation.scores):
                    if scores is None:
                        continue
                    for gene in genes:
                        job = by_key[(index, allele, gene.strand)]
                        assert job.gain is not None and job.loss is not None
                        scores.append(
                            GeneScore(
                                gene,
                                gene_label(gene),
                                job.gain,
                                job.loss,
                                annotated_sites0(gene) - (pos0 - d),
                            )
                        )
                annotation.entries = [
                    allele_group(scores, d, self.options.mask) for scores in annotation.scores
                ]
            outcomes.append(annotation)
        return outcomes

    def score(self, variants: Sequence[Variant]) -> list[PangolinAnnotation]:
        """:meth:`run` of :meth:`prepare`. :meth:`annotate` is the same.

        Raises:
            ContigNotFoundError: never for a contig missing from the FASTA (that is a skip);
                only from a broken FASTA index.
        """
        return self.run(self.prepare(variants))

    def annotate(self, variants: Sequence[Variant]) -> list[PangolinAnnotation]:
        """Pangolin INFO groups for each record, in input order (the annotate protocol)."""
        return self.score(variants)


__all__ = [
    "MAX_DISTANCE_LIMIT",
    "MISSING",
    "NO_SITES_WARNING",
    "PANGOLIN_INFO_KEY",
    "GeneScore",
    "PangolinAnnotation",
    "PangolinBatch",
    "PangolinOptions",
    "PangolinScorer",
    "PangolinSkip",
    "align_alt_track",
    "allele_group",
    "annotated_sites0",
    "format_score",
    "gain_loss",
    "gene_label",
    "gene_text",
    "mask_gain_loss",
    "pangolin_info_header",
]
