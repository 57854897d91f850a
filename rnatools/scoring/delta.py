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
  model's incremental capability when it has one, and so do indels, MNVs and delins when it
  offers ``run_windows`` (:class:`~rnatools.models.base.IncrementalVariants`), which gets every
  chunk of a block in one call and batches REF passes and variants across chunks and genes.
* Minus-strand genes are run on the reverse complement and the outputs reversed back, so every
  track is in + strand genome order.
* Records are checked by the shared planner (:mod:`rnatools.scoring.variants`) first.

Opt-in extras (off by default, so the default output stays SpliceAI 1.3.1's; specified in
``docs/spliceai-scoring.md``, "Opt-in extras"): MNV/delins scoring (``score_mnv``), scoring the
left-aligned form of each ALT (``normalize``; records that are not normalised are counted
always), REF/ALT probabilities behind each entry (``raw_scores``), the per-transcript entry
format (``entry_format="transcript"`` with a table from
:func:`rnatools.io.transcripts.transcript_table`) and the tracks behind each entry
(``keep_tracks``).

Coordinates: VCF ``POS`` is 1-based (``pos1``); everything else is 0-based half-open.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, NamedTuple

import numpy as np

from rnatools.engine import Engine
from rnatools.errors import UsageError
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneRow, GeneTable
from rnatools.io.transcripts import priority
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
    is_normalized,
    is_scorable_allele,
    normalize_alleles,
    plan_variant,
)
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


@dataclass(frozen=True, slots=True)
class EntryTracks:
    """The probabilities behind one scored entry (``DeltaScorer(keep_tracks=True)``).

    Attributes:
        gene: the annotation row the entry was scored against (a gene, or a transcript).
        allele: the ALT as written in the VCF.
        start0: 0-based genome position of row 0: ``pos0 − D``, with ``pos0`` the position the
            allele was scored at (the left-aligned one with ``normalize=True``).
        ref: ``(covered, channels)`` float32 REF probabilities, + strand genome order: row ``i``
            is genome position ``start0 + i`` (``covered = 2·D + 1``).
        alt: ``(covered, channels)`` ALT probabilities aligned onto the REF positions as the
            delta scores use them (float64 for deletions: zero rows at deleted bases).
        acceptor_channel, donor_channel: the columns holding the acceptor and donor
            probabilities.
    """

    gene: GeneRow
    allele: str
    start0: int
    ref: np.ndarray
    alt: np.ndarray
    acceptor_channel: int
    donor_channel: int


@dataclass(slots=True)
class RecordAnnotation:
    """The INFO entries of one record and, when it got no numeric score, the reason.

    Attributes:
        entries: INFO entries (``ALLELE|SYMBOL|DS_AG|...``, or the transcript format), ALT-major
            then annotation-row order.
        skip: why the record got no numeric score, or None.
        raw_entries: with ``raw_scores=True``, one ``ALLELE|SYMBOL|DS_AG_REF|DS_AG_ALT|...``
            entry per entry of :attr:`entries`, same order (see :func:`format_raw_entry`);
            empty otherwise.
        tracks: with ``keep_tracks=True``, one :class:`EntryTracks` per entry of
            :attr:`entries` (None for ``.`` entries); empty otherwise.
        not_normalized: the record's alleles are not left-aligned and parsimonious against the
            FASTA (:func:`rnatools.scoring.variants.normalize_alleles`); checked for records that
            pass the shared checks.
    """

    entries: list[str] = field(default_factory=list)
    skip: SkipReason | None = None
    raw_entries: list[str] = field(default_factory=list)
    tracks: list[EntryTracks | None] = field(default_factory=list)
    not_normalized: bool = False


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
        alt_track: ``(covered - ref_length + alt_length, channels)`` float32 ALT probabilities;
            row ``covered // 2`` is the first ALT base.
        ref_length, alt_length: allele lengths in nt.

    Returns:
        ``(covered, channels)``. With ``k = alt_length`` and ``m = ref_length``
        (``docs/spliceai-scoring.md``, "Indel alignment"):

        * ``k == m`` (SNVs, equal-length MNVs): unchanged, base for base;
        * ``k < m`` (deletions, shortening delins): the first ``k`` ALT rows face the first
          ``k`` REF bases and ``m - k`` rows of zeros the deleted ones; the result is float64,
          as in SpliceAI 1.3.1, whose zeros are float64 and so make its deletion deltas
          float64 (for ``k == 1`` this is SpliceAI's deletion rule);
        * ``k > m`` (insertions, lengthening delins): the first ``m - 1`` ALT rows face the
          first ``m - 1`` REF bases, and the rows of the last REF base and the inserted bases
          are collapsed into their per-channel maximum (float32; for ``m == 1`` this is
          SpliceAI's insertion rule).
    """
    covered = alt_track.shape[0] - alt_length + ref_length
    center = covered // 2
    if alt_length < ref_length:
        kept = center + alt_length
        zeros = np.zeros((ref_length - alt_length, alt_track.shape[1]), dtype=np.float64)
        return np.concatenate([alt_track[:kept], zeros, alt_track[kept:]], axis=0, dtype=np.float64)
    if alt_length > ref_length:
        first = center + ref_length - 1  # the last REF base, followed by the inserted bases
        last = center + alt_length
        collapsed = alt_track[first:last].max(axis=0, keepdims=True)
        return np.concatenate([alt_track[:first], collapsed, alt_track[last:]])
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


def format_transcript_entry(
    alt: str, gene: str, transcript: str, priority: str, scores: DeltaScores | None
) -> str:
    """``ALT|SYMBOL|TRANSCRIPT|PRIORITY|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL``:
    :func:`format_entry` with the transcript id and its priority
    (:func:`rnatools.io.transcripts.priority`) after the symbol."""
    gene_entry = format_entry(alt, gene, scores)
    rest = gene_entry[len(alt) + len(gene) + 2 :]
    return f"{alt}|{gene}|{transcript}|{priority}|{rest}"


RAW_DECIMALS = 3
"""Decimals of the REF/ALT probabilities in raw entries (``0.950`` → ``0.050``; a probability
below 0.0005 prints as ``0.000``)."""


class RawScores(NamedTuple):
    """REF and ALT probability at each of the four delta positions (probabilities)."""

    acceptor_gain_ref: float
    acceptor_gain_alt: float
    acceptor_loss_ref: float
    acceptor_loss_alt: float
    donor_gain_ref: float
    donor_gain_alt: float
    donor_loss_ref: float
    donor_loss_alt: float


def raw_scores(
    ref_track: np.ndarray,
    alt_track: np.ndarray,
    scores: DeltaScores,
    *,
    channels: tuple[int, int],
) -> RawScores:
    """The REF and ALT probabilities behind ``scores``.

    Args:
        ref_track, alt_track: the ``(covered, channels)`` tracks :func:`delta_scores` compared
            (``alt_track`` already aligned; its zero rows at deleted bases give ALT = 0).
        scores: their delta scores; positions are read relative to the centre row (unshifted).
        channels: ``(acceptor, donor)`` channel indices.

    Returns:
        Unmasked probabilities at ``DP_AG``, ``DP_AL`` (acceptor channel), ``DP_DG``, ``DP_DL``
        (donor channel).
    """
    center = ref_track.shape[0] // 2
    acceptor, donor = channels
    values: list[float] = []
    for position, channel in zip(scores[4:], (acceptor, acceptor, donor, donor), strict=True):
        row = center + position
        values.append(float(ref_track[row, channel]))
        values.append(float(alt_track[row, channel]))
    return RawScores(*values)


def format_raw_entry(alt: str, gene: str, raw: RawScores | None) -> str:
    """``ALT|GENE|DS_AG_REF|DS_AG_ALT|DS_AL_REF|DS_AL_ALT|DS_DG_REF|DS_DG_ALT|DS_DL_REF|
    DS_DL_ALT`` with :data:`RAW_DECIMALS` decimals (``.`` in every value when None)."""
    if raw is None:
        return f"{alt}|{gene}|" + "|".join(["."] * 8)
    return f"{alt}|{gene}|" + "|".join(format(value, f".{RAW_DECIMALS}f") for value in raw)


def raw_header_line(prefix: str = "SpliceAI") -> str:
    """The ``##INFO`` line of the raw-score key ``{prefix}_RAW`` (``SpliceAI_RAW``,
    ``OpenSpliceAI_RAW``)."""
    return (
        f'##INFO=<ID={prefix}_RAW,Number=.,Type=String,Description="{prefix} REF and ALT '
        f"probabilities at the four delta positions of each {prefix} entry, same order "
        f"(unmasked, {RAW_DECIMALS} decimals; ALT is 0 at a deleted base). Format: "
        "ALLELE|SYMBOL|DS_AG_REF|DS_AG_ALT|DS_AL_REF|DS_AL_ALT|DS_DG_REF|DS_DG_ALT|DS_DL_REF|"
        'DS_DL_ALT">'
    )


def transcript_header_line(key: str = "SpliceAI_TX") -> str:
    """The ``##INFO`` line of a per-transcript key (``SpliceAI_TX``, ``OpenSpliceAI_TX``)."""
    model = key[: -len("_TX")] if key.endswith("_TX") else key
    return (
        f'##INFO=<ID={key},Number=.,Type=String,Description="{model} delta scores (DS) and '
        "delta positions (DP) for acceptor gain (AG), acceptor loss (AL), donor gain (DG) and "
        "donor loss (DL) per transcript; PRIORITY is MANE_Select, MANE_Plus_Clinical, canonical "
        "or other. Format: ALLELE|SYMBOL|TRANSCRIPT|PRIORITY|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|"
        'DP_AL|DP_DG|DP_DL">'
    )


def mask_outside_transcript(sequence: str, start0: int, gene: GeneRow) -> str:
    """``sequence`` (genome ``[start0, start0 + len)``) with bases outside the transcript as N."""
    return mask_outside_range(sequence, start0, gene.tx_start0, gene.tx_end0)


# ---------------------------------------------------------------------------------------------
# The batched engine


@dataclass(slots=True)
class _Job:
    record: int
    gene: GeneRow
    alt: str  # as written in the VCF (the entry's ALLELE)
    pos0: int  # where the allele is scored (left-aligned with normalize=True)
    ref_length: int
    alt_bases: str  # the scored ALT, upper case
    shift: int  # pos0 − the record's pos0: added to the delta positions
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


@dataclass(slots=True)
class DeltaBatch:
    """A block of records planned by :meth:`DeltaScorer.prepare`, ready for the model.

    Attributes:
        annotations: one per record, entries still empty for the jobs to score.
        inputs: its reference chunks and their model inputs, already read and encoded.
    """

    annotations: list[RecordAnnotation]
    inputs: PreparedChunks = field(default_factory=PreparedChunks)


EntryFormat = Literal["gene", "transcript"]
ENTRY_FORMATS: tuple[str, ...] = ("gene", "transcript")


class DeltaScorer:
    """Scores blocks of VCF records with one splice-site model; reuses reference tracks.

    Args:
        model: the splice-site model (:class:`~rnatools.models.base.SpliceModel` with acceptor
            and donor channels), e.g. ``load_model("spliceai", engine=engine)``.
        fasta: the reference genome.
        genes: the annotation table: one row per gene, or per transcript
            (:func:`rnatools.io.transcripts.transcript_table`).
        options: distance, masking, contig-end padding.
        engine: runs the model (default: fp32 on the CPU).
        batch_size: most windows per model call.
        max_batch_nt: most input nt per model call (bounds memory for long reference chunks);
            default ``batch_size ×`` :data:`BATCH_NT_PER_WINDOW`.
        chunk_length: longest reference chunk, in output positions.
        incremental: score SNVs through the model's incremental capability when it has one
            (sharing the reference chunk's activations), and indels, MNVs and delins too when
            the capability offers ``run_windows``/``run_variants``; the others, and every ALT
            when False, run whole ALT windows.
        keep_tracks: fill :attr:`RecordAnnotation.tracks` with the REF and aligned ALT tracks of
            every scored entry (:class:`EntryTracks`).
        raw_scores: fill :attr:`RecordAnnotation.raw_entries` (:func:`format_raw_entry`).
        score_mnv: score ALTs with ``len(REF) > 1`` and ``len(ALT) > 1`` (MNVs, delins) instead
            of writing ``.`` entries (:func:`align_alt_track` gives the rule).
        normalize: score each ALT in its left-aligned, parsimonious form
            (:func:`rnatools.scoring.variants.normalize_alleles` on REF and that ALT); the entry
            keeps the ALT as written and its delta positions count from the record's POS.
        entry_format: ``"gene"`` (``ALLELE|SYMBOL|DS_AG|...``, the SpliceAI key) or
            ``"transcript"`` (``ALLELE|SYMBOL|TRANSCRIPT|PRIORITY|DS_AG|...``, the ``*_TX`` key:
            :func:`format_transcript_entry`).

    Attributes:
        not_normalized: records so far whose alleles are not left-aligned and parsimonious
            (counted whether ``normalize`` is on or not; see
            :attr:`RecordAnnotation.not_normalized`).
        model_windows: model windows run so far (for benchmarks).

    Raises:
        UsageError: an unknown ``entry_format`` (parameter ``entry_format``).
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
        keep_tracks: bool = False,
        raw_scores: bool = False,
        score_mnv: bool = False,
        normalize: bool = False,
        entry_format: EntryFormat = "gene",
    ):
        if entry_format not in ENTRY_FORMATS:
            raise UsageError(
                f"entry_format must be one of {', '.join(ENTRY_FORMATS)}, got {entry_format!r}",
                parameter="entry_format",
            )
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
        self.keep_tracks = keep_tracks
        self.raw_scores = raw_scores
        self.score_mnv = score_mnv
        self.normalize = normalize
        self.entry_format = entry_format
        self.model_windows = 0  # windows run so far (for benchmarks)
        self.not_normalized = 0

    # -- entries ----------------------------------------------------------------------------
    def _entry(self, alt: str, gene: GeneRow, scores: DeltaScores | None) -> str:
        if self.entry_format == "transcript":
            return format_transcript_entry(
                alt, gene.name, gene.transcript_id or gene.name, priority(gene), scores
            )
        return format_entry(alt, gene.name, scores)

    def _unscored_entry(self, annotation: RecordAnnotation, alt: str, gene: GeneRow) -> None:
        annotation.entries.append(self._entry(alt, gene, None))
        if self.raw_scores:
            annotation.raw_entries.append(format_raw_entry(alt, gene.name, None))
        if self.keep_tracks:
            annotation.tracks.append(None)

    # -- planning ---------------------------------------------------------------------------
    def _scored_forms(
        self, chrom: str, pos0: int, ref: str, alts: Sequence[str], annotation: RecordAnnotation
    ) -> dict[str, tuple[int, str, str]]:
        """``alt -> (pos0, REF, ALT)`` to score for each sequence ALT (upper case), and the
        record's normalisation check."""
        sequence_alts = [
            alt for alt in alts if is_scorable_allele(alt) and not is_ambiguous_allele(alt)
        ]
        if not sequence_alts:
            return {}
        upper = [alt.upper() for alt in sequence_alts]
        if not is_normalized(self.fasta, chrom, pos0, (ref, *upper)):
            annotation.not_normalized = True
            self.not_normalized += 1
        forms: dict[str, tuple[int, str, str]] = {}
        for alt, alt_upper in zip(sequence_alts, upper, strict=True):
            if self.normalize:
                form_pos0, (form_ref, form_alt) = normalize_alleles(
                    self.fasta, chrom, pos0, (ref, alt_upper)
                )
                forms[alt] = (form_pos0, form_ref, form_alt)
            else:
                forms[alt] = (pos0, ref, alt_upper)
        return forms

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
        forms = self._scored_forms(variant.chrom, pos0, planned.ref, planned.alts, annotation)
        half = options.window(self.model.context) // 2
        scored_positions = {pos0, *(form[0] for form in forms.values())}
        if (
            min(scored_positions) - half < 0
            or max(scored_positions) + half + 1 > planned.contig_length
        ) and not options.pad_contig_ends:
            annotation.skip = SkipReason.NEAR_CONTIG_END
            return annotation
        longest_ref = ref_length
        if self.normalize and forms:
            longest_ref = max(len(form[1]) for form in forms.values())
        if longest_ref > 2 * options.max_distance:
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
            form_pos0, form_ref, form_alt = forms[alt]
            for gene in planned.targets:
                if len(form_ref) > 1 and len(form_alt) > 1 and not self.score_mnv:
                    self._unscored_entry(annotation, alt, gene)
                    continue
                jobs.append(
                    _Job(
                        record=index,
                        gene=gene,
                        alt=alt,
                        pos0=form_pos0,
                        ref_length=len(form_ref),
                        alt_bases=form_alt,
                        shift=form_pos0 - pos0,
                        entry_slot=len(annotation.entries),
                    )
                )
                annotation.entries.append("")  # filled in once the model has run
                if self.raw_scores:
                    annotation.raw_entries.append("")
                if self.keep_tracks:
                    annotation.tracks.append(None)
                scored += 1
        if not scored:
            if annotation.entries:
                annotation.skip = SkipReason.MNV
            elif ambiguous:
                annotation.skip = SkipReason.IUPAC_ALLELE
            else:
                annotation.skip = SkipReason.SYMBOLIC_ALLELE
        return annotation

    def _alt_window(self, job: _Job, chrom: str) -> str:
        """The whole ALT window of ``job``: genome ``pos0 ± window/2`` on the + strand, N past
        contig ends and outside the gene's transcript (SpliceAI's padding), ALT substituted."""
        half = self.options.window(self.model.context) // 2
        gene = job.gene
        masked = cut_window(
            self.fasta, chrom, job.pos0 - half, job.pos0 + half + 1, "+",
            (gene.tx_start0, gene.tx_end0),
        )  # fmt: skip
        return masked[:half] + job.alt_bases + masked[half + job.ref_length :]

    def _chunks(self, jobs: list[_Job], chrom_of: dict[int, str]) -> list[_Chunk]:
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
                    current = _Chunk(job.gene, chrom_of[id(job.gene)], start0, end0)
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
        self.model_windows += run_whole_windows(
            self.engine,
            self.model,
            inputs,
            batch_size=self.batch_size,
            max_batch_nt=self.max_batch_nt,
        )

    def _incremental_jobs(self, chunk: _Chunk) -> list[_Job]:
        """The jobs of ``chunk`` the incremental capability scores (:func:`incremental_jobs`)."""
        snvs = [job for job in chunk.jobs if job.ref_length == 1 and len(job.alt_bases) == 1]
        return incremental_jobs(self.incremental, chunk.jobs, snvs)

    def _run_incremental(self, chunk: _Chunk, sequence: str) -> None:
        """REF track of ``chunk`` and ALT tracks of :meth:`_incremental_jobs` through the
        incremental capability without ``run_windows``: ``run_variants`` when every job is
        covered and the chunk has indels or MNVs, else ``run`` on its SNVs."""
        assert self.incremental is not None
        jobs = self._incremental_jobs(chunk)
        run_variants = getattr(self.incremental, "run_variants", None)
        if run_variants is not None and jobs is chunk.jobs:
            reference, alternatives = run_variants(self.engine, *self._cones(chunk, sequence))
            self.model_windows += 1 + len(alternatives)
            set_chunk_outputs(chunk, chunk.gene.strand, reference, alternatives)
            return
        reference, alternatives = run_snvs(
            self.engine,
            self.incremental,
            sequence,
            chunk.gene.strand,
            chunk.start0 - self.model.context,
            [(job.pos0, job.alt_bases) for job in jobs],
            self.options.max_distance,
        )
        self.model_windows += 1 + len(jobs)
        chunk.track = reference
        for job, track in zip(jobs, alternatives, strict=True):
            job.alt_output = track

    def _cones(self, chunk: _Chunk, sequence: str) -> tuple[str, list[VariantCone]]:
        """The chunk's input in the model's orientation and one :class:`VariantCone` per job:
        the ALT outputs a whole ALT window gives, ``pos0 − D`` onwards (``covered − len(REF) +
        len(ALT)`` rows; reversed on the reverse complement for a minus-strand gene)."""
        covered = self.options.covered
        changes = [
            (job.pos0, job.ref_length, job.alt_bases, covered - job.ref_length + len(job.alt_bases))
            for job in chunk.jobs
        ]
        return variant_cones(
            sequence,
            chunk.gene.strand,
            chunk.start0 - self.model.context,
            self.options.max_distance,
            changes,
        )

    def _score(self, job: _Job, chunk: _Chunk, annotation: RecordAnnotation) -> None:
        """Fill the entry (and raw entry, tracks) of ``job`` from its chunk's REF track."""
        assert chunk.track is not None
        distance = self.options.max_distance
        first = job.pos0 - distance - chunk.start0
        ref_track = chunk.track[first : first + self.options.covered]
        assert job.alt_output is not None
        alt_track = align_alt_track(job.alt_output, job.ref_length, len(job.alt_bases))
        boundary = job.gene.nearest_boundary(job.pos0 + 1) if self.options.mask else None
        scores = delta_scores(ref_track, alt_track, boundary, channels=self.channels)
        written = scores
        if job.shift:
            written = scores._replace(
                acceptor_gain_position=scores.acceptor_gain_position + job.shift,
                acceptor_loss_position=scores.acceptor_loss_position + job.shift,
                donor_gain_position=scores.donor_gain_position + job.shift,
                donor_loss_position=scores.donor_loss_position + job.shift,
            )
        annotation.entries[job.entry_slot] = self._entry(job.alt, job.gene, written)
        if self.raw_scores:
            raw = raw_scores(ref_track, alt_track, scores, channels=self.channels)
            annotation.raw_entries[job.entry_slot] = format_raw_entry(job.alt, job.gene.name, raw)
        if self.keep_tracks:
            annotation.tracks[job.entry_slot] = EntryTracks(
                gene=job.gene,
                allele=job.alt,
                start0=job.pos0 - distance,
                ref=np.array(ref_track, copy=True),
                alt=np.array(alt_track, copy=True),
                acceptor_channel=self.channels[0],
                donor_channel=self.channels[1],
            )

    # -- public -----------------------------------------------------------------------------
    def prepare(self, variants: Sequence[Variant]) -> DeltaBatch:
        """Plan a block of records and read and encode everything its model calls need.

        Every FASTA read and one-hot encoding of the block happens here and none in
        :meth:`run`, so a pipeline may prepare the next block on another thread while the
        current one is in the model (the two must not run on the same block at once).

        Raises:
            ContigNotFoundError: never for a contig missing from the FASTA (that is a skip);
                only from a broken FASTA index.
        """
        jobs: list[_Job] = []
        annotations = [self._plan(index, variant, jobs) for index, variant in enumerate(variants)]
        batch = DeltaBatch(annotations)
        if not jobs:
            return batch
        chrom_of = {id(job.gene): variants[job.record].chrom for job in jobs}
        by_windows = getattr(self.incremental, "run_windows", None) is not None
        batch.inputs = prepare_chunks(
            self._chunks(jobs, chrom_of),
            sequence=self._chunk_input,
            cones=self._cones if by_windows else None,
            covered=self._incremental_jobs,
            alt_input=lambda job, chunk: _ModelInput(
                self._alt_window(job, chunk.chrom), job.gene.strand
            ),
        )
        return batch

    def run(self, batch: DeltaBatch) -> list[RecordAnnotation]:
        """Run the model on a block from :meth:`prepare` and fill its entries.

        Returns:
            The SpliceAI INFO entries of each record, in input order (ALT-major, then gene
            order).
        """
        inputs = batch.inputs
        if not inputs.chunks:
            return batch.annotations
        self.model_windows += run_encoded(
            self.engine, self.incremental, inputs, lambda chunk: chunk.gene.strand
        )
        window_inputs: list[tuple[_Job | _Chunk, _ModelInput]] = []
        for chunk, sequence in inputs.unencoded():
            if self.incremental is not None:
                self._run_incremental(chunk, sequence)
            else:
                window_inputs.append((chunk, _ModelInput(sequence, chunk.gene.strand)))
        window_inputs.extend(inputs.alt_windows)
        self._run([item for _, item in window_inputs])
        set_window_outputs(window_inputs, _Chunk)
        for chunk in inputs.chunks:
            for job in chunk.jobs:
                self._score(job, chunk, batch.annotations[job.record])
        return batch.annotations

    def annotate(self, variants: Sequence[Variant]) -> list[RecordAnnotation]:
        """SpliceAI INFO entries for each record, in input order (ALT-major, then gene order):
        :meth:`run` of :meth:`prepare`.

        Raises:
            ContigNotFoundError: never for a contig missing from the FASTA (that is a skip);
                only from a broken FASTA index.
        """
        return self.run(self.prepare(variants))


__all__ = [
    "ENTRY_FORMATS",
    "MAX_DISTANCE_LIMIT",
    "RAW_DECIMALS",
    "DeltaBatch",
    "DeltaOptions",
    "DeltaScorer",
    "DeltaScores",
    "EntryFormat",
    "EntryTracks",
    "RawScores",
    "RecordAnnotation",
    "SkipReason",
    "Variant",
    "align_alt_track",
    "delta_scores",
    "format_entry",
    "format_raw_entry",
    "format_transcript_entry",
    "is_scorable_allele",
    "mask_outside_transcript",
    "raw_header_line",
    "raw_scores",
    "transcript_header_line",
]
