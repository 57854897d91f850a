"""SpliceBERT zero-shot scores for VCF records (``rnatools annotate --model splicebert``).

For each SNV and each gene of the annotation table whose transcript contains it, a window of
``window`` nt (510 by default) centred on the variant is cut from the reference on the gene's
strand (reverse complement for minus-strand genes, REF and ALT complemented), and scored with
:func:`rnatools.scoring.zero_shot.score_snvs`:

* ``KL_CONTEXT`` — the KL-context score of SpliceBERT (Chen et al., Briefings in Bioinformatics
  2024, doi:10.1093/bib/bbae163; spec ``docs/zero-shot-scores.md``):
  ``Σ_{d=1..100} ln(max((KL(p−d) + KL(p+d)) / 2, 1e-6))`` with ``KL(i) = KL(P_alt(i) ‖ P_ref(i))``
  of the unmasked A/C/G/T distributions (nats; higher = more disruptive);
* ``DELTA_LOGP`` — the masked marginal ``ln P(ALT) − ln P(REF)`` at the masked variant (nats).

Window geometry: the genomic window is ``[pos0 − window // 2, pos0 − window // 2 + window)``
whatever the strand, so the minus-strand window is exactly the reverse complement of the plus-
strand one; the variant sits at index ``window // 2`` on ``+`` and ``window − 1 − window // 2`` on
``−``. Positions past a contig end are ``N`` (a SpliceBERT token). KL positions past the window
edge drop out of the sum (never with 510 nt and d ≤ 100).

Only SNVs with REF and ALT in A/C/G/T get numbers; the KL-context score is not defined for
indels and MNVs, whose entries read ``ALLELE|SYMBOL|.|.`` (reason ``lm_not_snv``). Entries come
in SpliceAI's order: for each ALT, for each overlapping gene (annotation order).

Coordinates: VCF ``POS`` is 1-based (``pos1``); everything else is 0-based half-open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from rnatools.errors import UsageError
from rnatools.genome import Interval
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneTable
from rnatools.models.lm import LanguageModel
from rnatools.scoring.variants import (
    PlanSkip,
    Variant,
    is_ambiguous_allele,
    is_scorable_allele,
    plan_variant,
)
from rnatools.scoring.zero_shot import KL_FLOOR, score_snvs
from rnatools.sequence import complement
from rnatools.windows import window_sequence

__all__ = [
    "DEFAULT_LM_WINDOW",
    "KL_MAX_DISTANCE",
    "LM_INFO_KEY",
    "SCORE_FORMAT",
    "LMRecordAnnotation",
    "LMSkipReason",
    "LMVariantOptions",
    "LMVariantScorer",
    "format_lm_entry",
    "lm_info_header",
    "variant_window",
]

log = logging.getLogger("rnatools.scoring.lm_variants")

LM_INFO_KEY = "SpliceBERT"
"""INFO key of the entries ``ALLELE|SYMBOL|KL_CONTEXT|DELTA_LOGP``."""

DEFAULT_LM_WINDOW = 510
"""Window length in nt (SpliceBERT's 510-nt models; the paper's variant-centred ISM window)."""

KL_MAX_DISTANCE = 100
"""``d`` range of the KL-context sum (nt), as in the paper."""

SCORE_FORMAT = ".4f"
"""Fixed precision of both numbers in the INFO entries."""

_NUCLEOTIDES = frozenset("ACGT")


class LMSkipReason(str, Enum):
    """Why a record got no SpliceBERT number (``--skip-report``, stderr summary).

    The ``lm_`` prefix keeps these apart from SpliceAI's reasons when both models run.
    """

    INTERGENIC = "lm_intergenic"  # no transcript contains POS and no --lm-strand was given
    CONTIG_MISSING = "lm_contig_missing"  # the contig is not in the FASTA
    REF_MISMATCH = "lm_ref_mismatch"  # REF differs from the FASTA (or runs past the contig)
    SYMBOLIC_ALLELE = "lm_symbolic_allele"  # every ALT is symbolic, '*', '.', or missing
    IUPAC_ALLELE = "lm_iupac_allele"  # no scorable ALT, and one is an IUPAC code (R, Y, ...)
    NOT_SNV = "lm_not_snv"  # no ALT is an A/C/G/T substitution of one A/C/G/T base


_PLAN_SKIPS = {
    PlanSkip.SYMBOLIC_ALLELE: LMSkipReason.SYMBOLIC_ALLELE,
    PlanSkip.INTERGENIC: LMSkipReason.INTERGENIC,
    PlanSkip.CONTIG_MISSING: LMSkipReason.CONTIG_MISSING,
    PlanSkip.REF_MISMATCH: LMSkipReason.REF_MISMATCH,
}


@dataclass(frozen=True, slots=True)
class LMVariantOptions:
    """Settings of :class:`LMVariantScorer`.

    Attributes:
        window: window length in nt, centred on the variant (<= the model's maximum).
        max_distance: KL-context ``d`` range (nt).
        unannotated_strand: ``+`` or ``-`` to score variants outside every transcript on that
            strand (SYMBOL ``.``); ``None`` leaves them unscored (``lm_intergenic``).
        batch_size: windows per model call.
    """

    window: int = DEFAULT_LM_WINDOW
    max_distance: int = KL_MAX_DISTANCE
    unannotated_strand: str | None = None
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.window < 3:
            raise UsageError(f"the language-model window must be >= 3 nt, got {self.window}")
        if self.max_distance < 1:
            raise UsageError(f"KL-context max distance must be >= 1 nt, got {self.max_distance}")
        if self.unannotated_strand not in (None, "+", "-"):
            raise UsageError(f"strand must be + or -, got {self.unannotated_strand!r}")
        if self.batch_size < 1:
            raise UsageError(f"batch size must be >= 1, got {self.batch_size}")


@dataclass(slots=True)
class LMRecordAnnotation:
    """The SpliceBERT INFO entries of one record and, when none holds a number, the reason."""

    entries: list[str] = field(default_factory=list)
    skip: LMSkipReason | None = None


def lm_info_header(model_name: str, options: LMVariantOptions) -> str:
    """The ``##INFO`` line of the SpliceBERT key: window, model, formulas, precision."""
    window, distance = options.window, options.max_distance
    intergenic = (
        f"variants outside every transcript are scored on the {options.unannotated_strand} "
        "strand with SYMBOL '.'"
        if options.unannotated_strand
        else "variants outside every transcript are not scored"
    )
    return (
        f'##INFO=<ID={LM_INFO_KEY},Number=.,Type=String,Description="SpliceBERT zero-shot SNV '
        f"scores (Chen et al. 2024 doi:10.1093/bib/bbae163), model {model_name}, "
        f"{window}-nt window centred on the variant on the gene strand (reverse complement for "
        f"minus-strand genes; N past contig ends); {intergenic}. "
        f"KL_CONTEXT: sum over d=1..{distance} of ln(max((KL(p-d)+KL(p+d))/2; {KL_FLOOR:g})) "
        "with KL(i) = KL(P_alt(i)||P_ref(i)) of the unmasked A/C/G/T probabilities (nats; higher "
        "= more disruptive; positions past the window edge drop out). DELTA_LOGP: ln P(ALT) - "
        "ln P(REF) at the masked variant position (nats). Both to 4 decimals; '.' for indels "
        'and MNVs (not defined). Format: ALLELE|SYMBOL|KL_CONTEXT|DELTA_LOGP">'
    )


def format_lm_entry(alt: str, symbol: str, scores: tuple[float, float] | None) -> str:
    """``ALLELE|SYMBOL|KL_CONTEXT|DELTA_LOGP`` (:data:`SCORE_FORMAT`; ``.`` when None or NaN)."""
    if scores is None:
        return f"{alt}|{symbol}|.|."
    texts = ["." if value != value else format(value, SCORE_FORMAT) for value in scores]
    return f"{alt}|{symbol}|{texts[0]}|{texts[1]}"


def variant_window(
    fasta: Fasta, chrom: str, pos0: int, window: int, strand: str
) -> tuple[str, int]:
    """The ``window``-nt sequence centred on ``pos0`` on ``strand`` and the variant's index in it.

    Args:
        fasta: reference genome.
        chrom: contig (any accepted spelling).
        pos0: 0-based variant position.
        window: window length in nt.
        strand: ``+`` (forward) or ``-`` (reverse complement of the same genomic span).

    Returns:
        ``(sequence, index)``: upper-case letters, ``N`` past contig ends; ``index`` is
        ``window // 2`` on ``+`` and ``window - 1 - window // 2`` on ``-``.

    Raises:
        ContigNotFoundError: unknown contig.
    """
    half = window // 2
    start0 = pos0 - half
    # Interval cannot start below 0: cut a valid span and N-pad the part before the contig.
    inside = Interval(chrom, max(start0, 0), max(start0 + window, 0), strand)
    sequence = window_sequence(fasta, inside, flank=0)
    missing = "N" * (inside.start - start0)
    if strand == "-":
        return sequence + missing, window - 1 - half
    return missing + sequence, half


@dataclass(slots=True)
class _Job:
    window: str
    index: int
    alt: str  # on the window's strand
    # (record, entry index, ALT as written in the VCF, gene symbol) of each entry it fills
    slots: list[tuple[int, int, str, str]] = field(default_factory=list)


class LMVariantScorer:
    """Scores blocks of VCF records with a masked language model, batching across the block.

    Identical (contig, position, strand, ALT) jobs of a block are scored once (two genes on the
    same strand share one window); :func:`score_snvs` runs each distinct reference window once.

    Args:
        model: a callable returning the loaded :class:`LanguageModel`; called on the first SNV,
            so a block without SNVs needs no weights.
        fasta: reference genome.
        genes: annotation table (gene symbols and strands).
        options: window, KL distance, unannotated strand, batch size.
    """

    def __init__(
        self,
        model: Callable[[], LanguageModel],
        fasta: Fasta,
        genes: GeneTable,
        options: LMVariantOptions | None = None,
    ):
        self.model = model
        self.fasta = fasta
        self.genes = genes
        self.options = options or LMVariantOptions()
        self.snvs_scored = 0  # distinct (position, strand, ALT) scores computed so far
        self._checked_length = False

    def _targets(self, variant: Variant) -> list[tuple[str, str]]:
        genes = self.genes.overlapping(variant.chrom, variant.pos1)
        if genes:
            return [(gene.name, gene.strand) for gene in genes]
        if self.options.unannotated_strand is not None:
            return [(".", self.options.unannotated_strand)]
        return []

    def _plan(self, record: int, variant: Variant, jobs: dict[tuple, _Job]) -> LMRecordAnnotation:
        annotation = LMRecordAnnotation()
        planned = plan_variant(variant, self.fasta, self._targets(variant))
        if isinstance(planned, PlanSkip):
            annotation.skip = _PLAN_SKIPS[planned]
            return annotation
        alts = [
            alt for alt in planned.alts if is_scorable_allele(alt) and not is_ambiguous_allele(alt)
        ]
        if not alts:
            if any(is_ambiguous_allele(alt) for alt in planned.alts):
                annotation.skip = LMSkipReason.IUPAC_ALLELE
            else:
                annotation.skip = LMSkipReason.SYMBOLIC_ALLELE
            return annotation
        pos0, ref = planned.pos0, planned.ref
        window = self.options.window
        windows: dict[str, tuple[str, int]] = {}
        scored = 0
        for alt in alts:
            alt_upper = alt.upper()
            snv = (
                len(ref) == 1
                and len(alt_upper) == 1
                and ref in _NUCLEOTIDES
                and alt_upper in _NUCLEOTIDES
                and alt_upper != ref
            )
            for symbol, strand in planned.targets:
                if not snv:
                    annotation.entries.append(format_lm_entry(alt, symbol, None))
                    continue
                if strand not in windows:
                    windows[strand] = variant_window(
                        self.fasta, variant.chrom, pos0, window, strand
                    )
                text, index = windows[strand]
                strand_alt = alt_upper if strand == "+" else complement(alt_upper)
                key = (self.fasta.resolve(variant.chrom), pos0, strand, strand_alt)
                job = jobs.setdefault(key, _Job(text, index, strand_alt))
                job.slots.append((record, len(annotation.entries), alt, symbol))
                annotation.entries.append("")  # filled in once the model has run
                scored += 1
        if not scored:
            annotation.skip = LMSkipReason.NOT_SNV
        return annotation

    def _loaded_model(self) -> LanguageModel:
        model = self.model()
        if not self._checked_length:
            if self.options.window > model.max_length:
                raise UsageError(
                    f"the language-model window of {self.options.window} nt exceeds the "
                    f"{model.max_length} nt that {model.name} takes"
                )
            self._checked_length = True
        return model

    def annotate(self, variants: Sequence[Variant]) -> list[LMRecordAnnotation]:
        """One :class:`LMRecordAnnotation` per variant, in input order.

        Raises:
            UsageError: the window is longer than the model takes.
            MissingWeightsError, InputError: from loading the model (first SNV only).
        """
        jobs: dict[tuple, _Job] = {}
        annotations = [self._plan(i, variant, jobs) for i, variant in enumerate(variants)]
        if not jobs:
            return annotations
        job_list = list(jobs.values())
        scores = score_snvs(
            self._loaded_model(),
            [job.window for job in job_list],
            [job.index for job in job_list],
            [job.alt for job in job_list],
            max_distance=self.options.max_distance,
            batch_size=self.options.batch_size,
        )
        self.snvs_scored += len(job_list)
        for job, kl, delta in zip(job_list, scores.kl_context, scores.delta_logp, strict=True):
            for record, slot, alt, symbol in job.slots:
                annotations[record].entries[slot] = format_lm_entry(
                    alt, symbol, (float(kl), float(delta))
                )
        return annotations
