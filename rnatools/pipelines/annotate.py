"""The annotate pipeline: splice-model delta scores and SpliceBERT zero-shot scores for a VCF/BCF.

``rnatools annotate`` (and the drop-in ``rnatools spliceai``) is a thin layer over
:func:`run_annotate`; Python callers use it directly::

    from rnatools.pipelines.annotate import AnnotateSettings, run_annotate

    summary = run_annotate(
        AnnotateSettings(input="in.vcf", output="out.vcf.gz", fasta="ref.fa", annotation="grch38")
    )
    print(summary.records, summary.skipped)

Several models run in one pass (``models``): the VCF and the FASTA are read once, each model
is one *annotator* (its INFO key, header lines, skip-reason prefix and scorer), and each key
equals what a single-model run writes. Records stream through in blocks of ``block_size``, in
input order; every record is written,
annotated or not, with INFO as it was apart from rnatools' own keys (entries of an earlier run
are removed first and counted). A data line that is not a VCF record stops the run with an error
naming file and line, or, with ``keep_malformed``, is written as it is and counted as
``malformed``. The
scoring itself is :class:`~rnatools.scoring.delta.DeltaScorer` (SpliceAI, number for number with
SpliceAI 1.3.1; ``docs/spliceai-scoring.md``) and
:class:`~rnatools.scoring.lm_variants.LMVariantScorer` (SpliceBERT; ``docs/zero-shot-scores.md``).

Weights are read only when a record needs them: the SpliceAI adapter reads its weight files on
its first window, SpliceBERT is loaded on the first SNV, so a VCF whose records are all skipped
needs neither.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import pysam

from rnatools.concurrency import Behind, ahead
from rnatools.engine import Engine
from rnatools.errors import InputError, MissingWeightsError, UsageError
from rnatools.io.atomic import atomic_output, check_output_folder
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneTable, load_gene_table
from rnatools.io.transcripts import TRANSCRIPT_MODES, transcript_table
from rnatools.io.vcf import (
    SPLICEAI_INFO_HEADER,
    MalformedRecord,
    VcfWriter,
    check_index,
    delta_info_header,
    max_header_line,
    open_vcf,
    shorten,
)
from rnatools.models.registry import find_weights, get_model_info, load_model
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.scoring.delta import (
    MAX_DISTANCE_LIMIT,
    DeltaOptions,
    DeltaScorer,
    SkipReason,
    raw_header_line,
    transcript_header_line,
)
from rnatools.scoring.entries import max_score
from rnatools.scoring.lm_variants import (
    LM_INFO_KEY,
    LMVariantOptions,
    LMVariantScorer,
    lm_info_header,
)
from rnatools.scoring.variants import PlanSkip, Variant, plan_variant, prepare_then_run
from rnatools.sharding import parse_regions, parse_shard, select_records

log = logging.getLogger("rnatools.annotate")

OPENSPLICEAI_MODELS = (
    "openspliceai-mane",
    "openspliceai-mane-80",
    "openspliceai-mane-400",
    "openspliceai-mane-2000",
    "openspliceai-mane-10000",
)
"""OpenSpliceAI-MANE checkpoints (registry names; one per run: they share the INFO key)."""

SPLICE_MODELS = ("spliceai", *OPENSPLICEAI_MODELS, "pangolin")
"""Splice-site models ``models`` may name (registry names)."""

ANNOTATE_MODELS = (*SPLICE_MODELS, "splicebert")
"""What ``models`` may hold: splice-site models and ``splicebert`` (SpliceBERT zero-shot)."""

INFO_KEYS = {
    "spliceai": "SpliceAI",
    **{name: "OpenSpliceAI" for name in OPENSPLICEAI_MODELS},
    "pangolin": "Pangolin",
    "splicebert": "SpliceBERT",
}
"""The INFO key each model writes."""

SKIP_PREFIXES = {"SpliceAI": "", "OpenSpliceAI": "openspliceai_", "Pangolin": "pangolin_"}
"""Skip reasons of a model's key are written with this prefix (SpliceBERT's carry ``lm_``)."""

_QUIET_SKIPS = ("intergenic", "not_precomputed")

LM_MODELS = ("splicebert", "splicebert-510", "splicebert-human-510")
"""SpliceBERT checkpoints ``lm_model`` may name (registry names)."""

INDEX_KINDS = ("tbi", "csi")

NOT_STRICT_SKIPS = frozenset(
    {"intergenic", "lm_intergenic", "lm_not_snv"}
    | {f"{prefix}{reason}" for prefix in SKIP_PREFIXES.values() for reason in _QUIET_SKIPS}
)
"""Skips that mean "nothing to score here" rather than "something is wrong": ``strict`` lets
them be."""

SKIP_REPORT_HEADER = "#CHROM\tPOS\tID\tREF\tALT\tREASON\n"

REPORT_ALLELE_WIDTH = 50
"""Longest REF/ALT text in skip-report rows and messages; longer ones read ``ACGT…(3000 nt)``."""


CPU_BLOCK_SIZE = 512
CUDA_BLOCK_SIZE = 4096  # records per block when AnnotateSettings.block_size is None


@dataclass(frozen=True, kw_only=True)
class AnnotateSettings:
    """Everything one annotate run needs.

    Attributes:
        input: VCF/BCF to annotate (``-`` = standard input).
        output: output VCF; type from the extension (``.vcf``, ``.vcf.gz``, ``.bcf``; ``-`` =
            standard output, uncompressed).
        fasta: reference FASTA, plain or bgzip.
        annotation: ``grch37``/``grch38``, a SpliceAI annotation table, or a GTF/GFF3.
        max_distance: ``D`` (nt, 0-4999): SpliceAI scores cover POS ± D.
        mask: SpliceAI's ``-M 1`` (zero gains of annotated sites, losses of unannotated ones).
        index: ``tbi`` or ``csi`` to index the output (``.vcf.gz``; ``.bcf`` takes csi only).
        pad_contig_ends: score records within 5,000 + D nt of a contig end by padding with N.
        skip_report: TSV to write with one row per record (and model) left without scores.
        strict: any skip other than :data:`NOT_STRICT_SKIPS` is an error, raised at the first
            offending record (its line named); so is a contig missing from the FASTA.
        keep_malformed: write a data line that is not a VCF record as it is (counted as
            ``malformed``, warned about, in the skip report) instead of stopping with an error.
        device, precision, threads: of the :class:`~rnatools.engine.Engine` (checked when the
            run starts).
        batch_size: windows per model call (>= 1).
        weights: weights of the first splice-site model of ``models`` (SpliceAI: folder or
            ``.h5``); None = the registry's lookup (environment variable, then default).
        model_weights: ``(model, path)`` pairs: weights of further models (registry names).
        block_size: records read, scored and written per block (>= 1); None (default) = 512
            on the CPU, 4,096 on CUDA (bigger blocks give the GPU bigger batches of cones).
        overlap: read and plan the next block (FASTA reads, one-hot encoding) and write the
            previous one on background threads while the model runs the current block; None
            (default) = on CUDA only (on the CPU the threads would take cores from the model).
            The output is the same either way.
        full_windows: run every ALT window through the whole model (no incremental SNV path).
        regions: ``chrom:start-end`` texts (1-based inclusive) to restrict the run to.
        regions_file: BED file of regions to restrict the run to.
        shard: ``"I/N"``: part I of N (needs an input file).
        models: models to run, some of :data:`ANNOTATE_MODELS` (order kept; INFO keys in
            :data:`INFO_KEYS`; at most one OpenSpliceAI checkpoint).
        lm_model: SpliceBERT checkpoint, one of :data:`LM_MODELS`.
        lm_weights: its folder or file; None = ``$RNATOOLS_SPLICEBERT_WEIGHTS``.
        lm_window: SpliceBERT window (nt, >= 3), centred on the variant on the gene's strand.
        lm_strand: ``+`` or ``-`` to score variants outside every transcript on that strand.
        precomputed: bgzipped, indexed VCFs whose entries are copied instead of computed
            (``docs/precomputed-scores.md``); only misses reach the models.
        precomputed_settings: ``distance=50,mask=0``: the settings of precomputed files that
            do not record their own (Illumina's).
        precomputed_only: run no model: records not found get no entry (``not_precomputed``).
        write_settings: record the run's settings in the output header
            (``##rnatools_settings``; the drop-in ``spliceai`` command leaves them out).
        raw_scores: also write ``<KEY>_RAW``: the REF and ALT probability at each of the four
            delta positions (SpliceAI-format keys).
        score_mnv: score MNVs and delins (``docs/spliceai-scoring.md``) instead of ``.``.
        normalize: score each indel's left-aligned, trimmed form (the record is written as
            it came); records that are not normalised are counted either way.
        transcripts: ``gene`` (one entry per gene, SpliceAI's rows), or ``canonical``,
            ``mane``, ``all``: also ``<KEY>_TX`` entries per transcript (GTF/GFF3 only).
        max_score: also write ``<KEY>_DS_max`` (``Pangolin_max``): the largest score of the
            record's entries.

    Raises:
        UsageError: a value out of range; ``parameter`` names the field.
    """

    input: str | Path
    output: str | Path
    fasta: str | Path
    annotation: str | Path
    max_distance: int = 50
    mask: bool = False
    index: str | None = None
    pad_contig_ends: bool = False
    skip_report: str | Path | None = None
    strict: bool = False
    keep_malformed: bool = False
    device: str = "auto"
    batch_size: int = 32
    threads: int = 0
    precision: str = "fp32"
    weights: str | Path | None = None
    model_weights: tuple[tuple[str, str | Path], ...] = ()
    block_size: int | None = None
    overlap: bool | None = None
    full_windows: bool = False
    regions: tuple[str, ...] = ()
    regions_file: str | Path | None = None
    shard: str | None = None
    models: tuple[str, ...] = ("spliceai",)
    lm_model: str = "splicebert-510"
    lm_weights: str | Path | None = None
    lm_window: int = 510
    lm_strand: str | None = None
    precomputed: tuple[str | Path, ...] = ()
    precomputed_settings: str | None = None
    precomputed_only: bool = False
    write_settings: bool = True
    raw_scores: bool = False
    score_mnv: bool = False
    normalize: bool = False
    transcripts: str = "gene"
    max_score: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(self.regions or ()))
        object.__setattr__(self, "models", tuple(self.models))
        if not 0 <= self.max_distance <= MAX_DISTANCE_LIMIT:
            raise UsageError(
                f"must be in 0-{MAX_DISTANCE_LIMIT}, got {self.max_distance}",
                parameter="max_distance",
            )
        if not self.models or any(name not in ANNOTATE_MODELS for name in self.models):
            raise UsageError(
                f"expected some of {', '.join(ANNOTATE_MODELS)}, got {self.models}",
                parameter="models",
            )
        if sum(name in OPENSPLICEAI_MODELS for name in self.models) > 1:
            raise UsageError(
                "one OpenSpliceAI checkpoint per run (they share the INFO key OpenSpliceAI)",
                parameter="models",
            )
        object.__setattr__(self, "model_weights", tuple(tuple(p) for p in self.model_weights))
        for name, _ in self.model_weights:
            if name not in self.models:
                raise UsageError(
                    f"weights given for {name}, which is not among the models "
                    f"{', '.join(self.models)}",
                    parameter="weights",
                )
        if self.index not in (None, *INDEX_KINDS):
            raise UsageError(f"expected tbi or csi, got {self.index!r}", parameter="index")
        for name in ("batch_size", "block_size"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise UsageError(f"must be >= 1, got {getattr(self, name)}", parameter=name)
        if self.threads < 0:
            raise UsageError(f"must be >= 0, got {self.threads}", parameter="threads")
        if self.lm_model not in LM_MODELS:
            raise UsageError(
                f"expected one of {', '.join(LM_MODELS)}, got {self.lm_model!r}",
                parameter="lm_model",
            )
        if self.lm_window < 3:
            raise UsageError(f"must be >= 3 nt, got {self.lm_window}", parameter="lm_window")
        object.__setattr__(self, "precomputed", tuple(self.precomputed or ()))
        if self.precomputed_only and not self.precomputed:
            raise UsageError("needs precomputed files", parameter="precomputed_only")
        if self.precomputed_only and "splicebert" in self.models:
            raise UsageError(
                "SpliceBERT scores are not looked up in precomputed files; leave splicebert "
                "out of the models or drop the lookup-only option",
                parameter="precomputed_only",
            )
        if self.transcripts not in TRANSCRIPT_MODES:
            raise UsageError(
                f"expected one of {', '.join(TRANSCRIPT_MODES)}, got {self.transcripts!r}",
                parameter="transcripts",
            )
        if self.precomputed_settings is not None and not self.precomputed:
            raise UsageError("needs precomputed files", parameter="precomputed_settings")
        if self.lm_strand not in (None, "+", "-"):
            raise UsageError(f"expected + or -, got {self.lm_strand!r}", parameter="lm_strand")


@dataclass(frozen=True)
class AnnotateSummary:
    """What one annotate run did.

    Attributes:
        records: records read (after ``regions``/``shard`` selection; malformed ones included).
        skipped: records left without scores, by reason (``intergenic``, ``lm_not_snv``, ...);
            a record can count once per model.
        model_windows: SpliceAI windows run (None when SpliceAI was not asked for).
        work: per INFO key, the model windows run (splice models) or SNV scores computed
            (SpliceBERT).
        precomputed: per INFO key looked up in precomputed files: ``hits``, ``misses`` and
            the hits of each file (by path).
        not_normalized: per SpliceAI-format key, records whose alleles are not left-aligned
            and parsimonious against the FASTA.
        lm_snv_scores: distinct SpliceBERT SNV scores computed (None without SpliceBERT).
        elapsed_s: wall-clock seconds from opening the inputs to the finished output.
        output: the output name as given (``-`` = standard output).
        files: files written: the output VCF (not for standard output), its index, the skip
            report.
        device: the device the models ran (or would have run) on.
        replaced: INFO entries of an earlier run (rnatools' keys) removed from records.
        scored: records that got a score from at least one model.
    """

    records: int
    skipped: dict[str, int] = field(default_factory=dict)
    model_windows: int | None = None
    lm_snv_scores: int | None = None
    elapsed_s: float = 0.0
    output: str = "-"
    files: tuple[Path, ...] = ()
    device: str = "cpu"
    replaced: int = 0
    scored: int = 0
    work: dict[str, int] = field(default_factory=dict)
    precomputed: dict[str, dict[str, int]] = field(default_factory=dict)
    not_normalized: dict[str, int] = field(default_factory=dict)


class _Sink:
    """Where scored records go: skip counts, the skip report, the ``strict`` check, the output.

    Also keeps what the end-of-run checks need: records scored, records whose contig is in the
    FASTA, and the contig names that are not.
    """

    def __init__(
        self,
        settings: AnnotateSettings,
        writer: VcfWriter,
        report: TextIO | None,
        fasta: Fasta,
        annotators: list[_Annotator],
    ):
        self.settings = settings
        self.writer = writer
        self.report = report
        self.fasta = fasta
        self.annotators = annotators
        self.path = str(settings.input)
        self.counts: Counter[str] = Counter()
        self.scored = 0
        self.known_contig = 0
        self.checked = 0  # records the REF check ran on (contig in the FASTA, an ALT)
        self.ref_mismatches = 0
        self.unknown_contigs: Counter[str] = Counter()

    def _skip(self, fields: tuple, reason: str) -> None:
        self.counts[reason] += 1
        if self.report is not None:
            self.report.write("\t".join(str(value) for value in fields) + f"\t{reason}\n")

    def malformed(self, line: int | None, record: MalformedRecord) -> None:
        """A line that is not a VCF record: an error, or (``keep_malformed``) written verbatim,
        counted, reported and warned about.

        Raises:
            InputError: naming file, line and problem (unless ``keep_malformed``; always with
                ``strict``).
        """
        if not self.settings.keep_malformed or self.settings.strict:
            raise record.error()
        where = f"{record.path or self.path}:{line}" if line is not None else self.path
        if record.text is None:
            log.warning(
                "%s: record %d is not a VCF record (%s) and cannot be written as it is; "
                "left out", where, record.number, record.message,
            )  # fmt: skip
        else:
            log.warning(
                "%s: not a VCF record (%s); written as it is, unscored",
                where, record.message,
            )  # fmt: skip
            self.writer.write_line(record.text)
        self._skip(record.fields(width=REPORT_ALLELE_WIDTH), SkipReason.MALFORMED.value)

    def check(self, line: int | None, record: pysam.VariantRecord) -> None:
        """The shared checks on one record as soon as it is read (``strict`` only), so that a
        run stops at the first offending record rather than after its block.

        Raises:
            InputError: the contig is not in the FASTA, REF differs from it, or no ALT.
        """
        planned = plan_variant(_variant(record), self.fasta, (None,))
        if not isinstance(planned, PlanSkip):
            return
        if planned is PlanSkip.CONTIG_MISSING:
            raise InputError(
                f"{record.chrom}:{record.pos}: {contig_message([record.chrom], self.fasta)}",
                self.path,
                line,
            )
        raise self._strict_error(line, record, self.annotators[0].reason(planned.value))

    def _strict_error(self, line: int | None, record: pysam.VariantRecord, reason: str):
        alts = ",".join(record.alts) if record.alts else "."
        return InputError(
            f"{record.chrom}:{record.pos} {shorten(record.ref or '.')}>{shorten(alts)}: "
            f"skipped ({reason}); strict makes every skip except intergenic (of any model) "
            "and lm_not_snv an error",
            self.path,
            line,
        )

    def record(self, line: int | None, record: pysam.VariantRecord, outcomes: list) -> None:
        """One record's results (one outcome per annotator): skips (counted, reported, strict),
        then the record written with rnatools' INFO keys replaced by the new entries.

        Raises:
            InputError: with ``strict``, a skip outside :data:`NOT_STRICT_SKIPS`.
        """
        if self.fasta.has(record.chrom):
            self.known_contig += 1
        else:
            self.unknown_contigs[record.chrom] += 1
        pairs = [
            (annotator, outcome)
            for annotator, outcome in zip(self.annotators, outcomes, strict=True)
            if annotator.reports_skips and outcome is not None
        ]
        reasons = [
            annotator.reason(outcome.skip.value) for annotator, outcome in pairs if outcome.skip
        ]
        if any(outcome.skip is None for _, outcome in pairs):
            self.scored += 1
        if record.alts and self.fasta.has(record.chrom):
            self.checked += 1
            if any(reason.endswith("ref_mismatch") for reason in reasons):
                self.ref_mismatches += 1
        if reasons:
            alts = ",".join(record.alts) if record.alts else "."
            fields = (
                record.chrom,
                record.pos,
                record.id or ".",
                shorten(record.ref or ".", REPORT_ALLELE_WIDTH),
                shorten(alts, REPORT_ALLELE_WIDTH),
            )
            for reason in reasons:
                self._skip(fields, reason)
                if self.settings.strict and reason not in NOT_STRICT_SKIPS:
                    raise self._strict_error(line, record, reason)
        info: dict[str, tuple[str, ...] | None] = {}
        for annotator, outcome in zip(self.annotators, outcomes, strict=True):
            info.update(annotator.info(outcome))
        self.writer.write(record, info)

    def finish(self, records: int) -> str | None:
        """The end-of-run checks: an error when no record's contig is in the FASTA; the loud
        warning (returned, logged after the output is in place) when most records do not fit
        the FASTA or none was scored.

        Raises:
            InputError: records were read and none of their contigs is in the FASTA.
        """
        if self.unknown_contigs and not self.known_contig:
            raise InputError(
                "no record's contig is in the FASTA: "
                + contig_message(list(self.unknown_contigs), self.fasta),
                self.path,
            )
        if records == 0 or records == self.counts.get(SkipReason.MALFORMED.value, 0):
            return None
        if self.checked and self.ref_mismatches * 2 > self.checked:
            return (
                f"{self.ref_mismatches} of {self.checked} records have a REF that differs from "
                f"the FASTA {self.fasta.path}: is the VCF of another genome build (GRCh37 vs "
                "GRCh38) or was it normalised against another reference?"
            )
        if self.scored == 0:
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.counts.items()))
            return (
                f"no record was scored ({reasons}): are the VCF, the FASTA and the annotation "
                "of the same genome build, with the same contig names?"
            )
        return None


def contig_message(unknown: list[str], fasta: Fasta) -> str:
    """``unknown`` names, the FASTA's first names, and a renaming hint where one applies."""
    names = list(fasta.lengths)
    shown = ", ".join(unknown[:8]) + (f" ... ({len(unknown)} in all)" if len(unknown) > 8 else "")
    there = ", ".join(names[:8]) + (f" ... ({len(names)} in all)" if len(names) > 8 else "")
    message = f"contig(s) not in the FASTA: {shown}; the FASTA has {there or '(none)'}"
    if any(name.startswith(("NC_", "NT_", "NW_")) for name in unknown):
        message += (
            "; the VCF names contigs by RefSeq accession: rename them to the FASTA's names "
            "(bcftools annotate --rename-chrs FILE)"
        )
    elif any(n.startswith("chr") for n in names) and not any(n.startswith("chr") for n in unknown):
        message += "; the FASTA's names carry a 'chr' prefix (e.g. chr1) and the VCF's do not"
    return message


def _variant(record: pysam.VariantRecord) -> Variant:
    return Variant(record.chrom, record.pos, record.ref or "", record.alts)


@dataclass
class _Annotator:
    """One model of the run: its INFO key, header lines, skip-reason prefix and scorer.

    ``scorer.annotate(variants)`` returns one outcome per variant (``.entries``: INFO entries;
    ``.skip``: None or an Enum whose value is the reason). ``build()`` makes the model's own
    scorer (it loads the model); with precomputed files the scorer is a
    :class:`~rnatools.scoring.precomputed.LookupFirst` that builds it at the first miss.
    """

    key: str
    model: str
    header_lines: list[str]
    build: Callable[[], Any]
    prefix: str = ""
    work_attribute: str = "model_windows"
    scorer: Any = None
    lookup: Any = None  # PrecomputedScores, when files were given
    reports_skips: bool = True  # False for per-transcript keys (the gene key reports them)
    raw_key: str | None = None  # <KEY>_RAW, from the outcomes' raw_entries
    max_key: str | None = None  # <KEY>_DS_max / Pangolin_max
    targets: Callable[[Variant], list[str]] | None = None  # gene labels, when not names
    run_settings: dict[str, str] | None = None  # the ##rnatools_settings of the key

    def reason(self, value: str) -> str:
        """The skip reason as reported: the model's prefix + ``value`` (a value that carries
        the prefix already, as SpliceBERT's own reasons do, is kept)."""
        return value if value.startswith(self.prefix) else self.prefix + value

    def info(self, outcome: Any) -> dict[str, tuple | None]:
        """INFO values of this annotator's keys for one record (None = key absent)."""
        entries = tuple(outcome.entries) if outcome and outcome.entries else None
        info = {self.key: entries}
        if self.raw_key is not None:
            raw = getattr(outcome, "raw_entries", None)
            info[self.raw_key] = tuple(raw) if raw else None
        if self.max_key is not None:
            best = max_score(self.key, entries) if entries else None
            info[self.max_key] = None if best is None else (round(best, 2),)
        return info

    def work(self) -> int:
        """Model work done so far (windows, or SNV scores for SpliceBERT)."""
        inner = self.scorer.scorer if self.lookup is not None else self.scorer
        return 0 if inner is None else getattr(inner, self.work_attribute, 0)


def _prepare_block(block: list, annotators: list[_Annotator]) -> tuple[list, list]:
    """``block`` of ``(line, record)`` with each model's part before the model done: per
    annotator, the call that runs the rest (:func:`~rnatools.scoring.variants.prepare_then_run`)."""
    records = [record for _, record in block if not isinstance(record, MalformedRecord)]
    variants = [_variant(record) for record in records]
    return block, [prepare_then_run(annotator.scorer, variants) for annotator in annotators]


def _write_block(block: list, results: list[list], sink: _Sink) -> None:
    """Hand every record of ``block`` to ``sink`` in input order, with its outcomes."""
    index = 0
    for line, record in block:
        if isinstance(record, MalformedRecord):
            sink.malformed(line, record)
        else:
            sink.record(line, record, [outcomes[index] for outcomes in results])
            index += 1


def _weights(settings: AnnotateSettings, name: str) -> str | Path | None:
    """The weights path given for model ``name`` (None: the registry's lookup)."""
    given = dict(settings.model_weights)
    if name in given:
        return given[name]
    first_splice = next((model for model in settings.models if model in SPLICE_MODELS), None)
    return settings.weights if name == first_splice else None


def _delta_annotators(
    settings: AnnotateSettings, name: str, engine: Engine, fasta: Fasta, genes: GeneTable
) -> list[_Annotator]:
    """A SpliceAI-format key (SpliceAI, OpenSpliceAI) through the registry and DeltaScorer,
    and its per-transcript key (``<KEY>_TX``) when ``transcripts`` asks for one."""
    options = DeltaOptions(settings.max_distance, settings.mask, settings.pad_contig_ends)
    loaded: list = []

    def model():  # one model for the gene and the transcript scorers
        if not loaded:
            loaded.append(load_model(name, _weights(settings, name), engine=engine))
        return loaded[0]

    def scorer(table: GeneTable, **extra) -> DeltaScorer:
        return DeltaScorer(
            model(),
            fasta,
            table,
            options,
            engine=engine,
            batch_size=settings.batch_size,
            incremental=not settings.full_windows,
            score_mnv=settings.score_mnv,
            normalize=settings.normalize,
            **extra,
        )

    key = INFO_KEYS[name]
    headers = [SPLICEAI_INFO_HEADER if key == "SpliceAI" else delta_info_header(key, name)]
    raw_key = max_key = None
    if settings.raw_scores:
        raw_key = f"{key}_RAW"
        headers.append(raw_header_line(key))
    if settings.max_score:
        max_key = f"{key}_DS_max"
        headers.append(max_header_line(max_key, key))
    annotators = [
        _Annotator(
            key,
            name,
            headers,
            lambda: scorer(genes, raw_scores=settings.raw_scores),
            SKIP_PREFIXES[key],
            raw_key=raw_key,
            max_key=max_key,
        )
    ]
    if settings.transcripts != "gene":
        table = transcript_table(settings.annotation, settings.transcripts)
        annotators.append(
            _Annotator(
                f"{key}_TX",
                name,
                [transcript_header_line(f"{key}_TX")],
                lambda: scorer(table, entry_format="transcript"),
                reports_skips=False,
            )
        )
    return annotators


def _pangolin_annotator(
    settings: AnnotateSettings, engine: Engine, fasta: Fasta, genes: GeneTable
) -> _Annotator:
    """Pangolin's key through the registry and its scorer (``docs/pangolin-scoring.md``)."""
    from rnatools.scoring.pangolin import (
        PangolinOptions,
        PangolinScorer,
        gene_labels,
        pangolin_info_header,
    )

    options = PangolinOptions(
        max_distance=settings.max_distance,
        mask=settings.mask,
        pad_contig_ends=settings.pad_contig_ends,
    )

    def build() -> PangolinScorer:
        model = load_model("pangolin", _weights(settings, "pangolin"), engine=engine)
        return PangolinScorer(
            model,
            fasta,
            genes,
            options,
            engine=engine,
            batch_size=settings.batch_size,
            incremental=not settings.full_windows,
        )

    headers = [pangolin_info_header(options)]
    max_key = None
    if settings.max_score:
        max_key = "Pangolin_max"
        headers.append(max_header_line(max_key, "Pangolin"))
    return _Annotator(
        "Pangolin",
        "pangolin",
        headers,
        build,
        SKIP_PREFIXES["Pangolin"],
        max_key=max_key,
        targets=gene_labels(genes),
    )


def _check_lm_weights(settings: AnnotateSettings) -> None:
    """``lm_weights`` names files the checkpoint's layout is complete in.

    Raises:
        MissingWeightsError: (``lm_weights``) the path does not exist, or lacks files (a folder
            holding only a ``config.json``, say).
    """
    path = find_weights(settings.lm_model, settings.lm_weights, parameter="lm_weights")
    info = get_model_info(settings.lm_model)
    try:
        info.weight_files(path)
    except InputError as exc:
        raise MissingWeightsError(
            f"{settings.lm_model} weights incomplete: {exc}; {info.how_to_get}",
            parameter="lm_weights",
        ) from exc


def _lm_annotator(
    settings: AnnotateSettings, engine: Engine, fasta: Fasta, genes: GeneTable
) -> _Annotator:
    """SpliceBERT scores; the model is loaded (through the registry) on the first SNV."""
    options = LMVariantOptions(
        window=settings.lm_window,
        unannotated_strand=settings.lm_strand,
        batch_size=settings.batch_size,
    )
    if settings.lm_weights is not None:  # checked before any work, even if no SNV needs it
        _check_lm_weights(settings)
    loaded: list = []

    def language_model():
        if not loaded:
            loaded.append(
                load_model(
                    settings.lm_model, settings.lm_weights, engine=engine, parameter="lm_weights"
                )
            )
        return loaded[0]

    return _Annotator(
        LM_INFO_KEY,
        "splicebert",
        [lm_info_header(settings.lm_model, options)],
        lambda: LMVariantScorer(language_model, fasta, genes, options),
        prefix="lm_",
        work_attribute="snvs_scored",
    )


def run_annotate(
    settings: AnnotateSettings, progress: ProgressFactory = no_progress
) -> AnnotateSummary:
    """Annotate ``settings.input`` into ``settings.output`` (and the skip report, if asked).

    Args:
        settings: what to run.
        progress: reports records done (``"annotating"``, total unknown, unit ``records``).

    Returns:
        Records seen, skips by reason, model work and elapsed time.

    Raises:
        UsageError: an output that cannot carry ``index``; bad ``regions``/``shard``; a device
            that is not here or fp16 on the CPU; ``lm_window`` longer than the model takes.
        InputError: unreadable inputs; a data line that is not a VCF record (unless
            ``keep_malformed``); no record's contig in the FASTA; with ``strict``, the first
            record skipped for a reason outside :data:`NOT_STRICT_SKIPS` or on a contig missing
            from the FASTA (``path:line`` named).
        OutputError: an output folder that does not exist or cannot be written, a full disk.
        MissingWeightsError: SpliceAI or SpliceBERT weights (or the grch37/grch38 tables) not
            found; ``parameter`` is ``weights`` or ``lm_weights``.
    """
    engine = Engine(settings.device, settings.precision, settings.threads)
    check_index(settings.output, settings.index)  # type: ignore[arg-type]
    genes = load_gene_table(settings.annotation)
    vcf = open_vcf(settings.input)
    started = time.perf_counter()
    records_seen = 0
    with ExitStack() as stack:
        stack.callback(vcf.close)
        if str(settings.output) != "-":
            check_output_folder(settings.output)
        if settings.skip_report is not None:
            check_output_folder(settings.skip_report)
        fasta = stack.enter_context(Fasta(settings.fasta))
        annotators = _annotators(settings, engine, fasta, genes, stack)
        if settings.write_settings:
            from rnatools.scoring.precomputed import set_settings_lines

            set_settings_lines(
                vcf.header,
                {
                    annotator.key: annotator.run_settings
                    for annotator in annotators
                    if annotator.run_settings is not None
                },
            )
        regions = parse_regions(settings.regions, settings.regions_file)
        shard = parse_shard(settings.shard)
        report = None
        if settings.skip_report is not None:
            report = stack.enter_context(atomic_output(settings.skip_report))
            report.write(SKIP_REPORT_HEADER)
        writer = stack.enter_context(
            VcfWriter(
                settings.output,  # type: ignore[arg-type]
                vcf.header,
                settings.index,  # type: ignore[arg-type]
                info_lines=[line for annotator in annotators for line in annotator.header_lines],
            )
        )
        sink = _Sink(settings, writer, report, fasta, annotators)
        selected = select_records(vcf, settings.input, regions=regions, shard=shard)

        block_size = settings.block_size or (
            CUDA_BLOCK_SIZE if engine.device.type == "cuda" else CPU_BLOCK_SIZE
        )

        def blocks() -> Iterator[list]:
            block: list = []
            for record in selected:
                line = record.line if isinstance(record, MalformedRecord) else vcf.line
                if settings.strict:
                    if isinstance(record, MalformedRecord):
                        raise record.error()
                    sink.check(line, record)
                block.append((line, record))
                if len(block) >= block_size:
                    yield block
                    block = []
            if block:
                yield block

        # overlap: reading and preparing block n + 1 and writing block n − 1 run on their own
        # threads while the model runs block n (one block waiting on each side)
        overlap = engine.device.type == "cuda" if settings.overlap is None else settings.overlap
        depth = 1 if overlap else 0
        with progress("annotating", None, "records") as bar:

            def write(item: tuple[list, list]) -> None:
                _write_block(*item, sink)
                bar.advance(len(item[0]))

            prepared = (_prepare_block(block, annotators) for block in blocks())
            with (
                Behind(write, depth, "rnatools-write") as writing,
                closing(ahead(prepared, depth, "rnatools-read")) as ahead_blocks,
            ):
                for block, runs in ahead_blocks:
                    records_seen += len(block)
                    writing.put((block, [run() for run in runs]))
        warning = sink.finish(records_seen)
    if warning is not None:
        log.warning(warning)
    work = {annotator.key: annotator.work() for annotator in annotators}
    not_normalized = {}
    for annotator in annotators:
        inner = annotator.scorer.scorer if annotator.lookup is not None else annotator.scorer
        if annotator.reports_skips and hasattr(inner, "not_normalized"):
            not_normalized[annotator.key] = inner.not_normalized
    precomputed = {
        annotator.key: annotator.lookup.counts()
        for annotator in annotators
        if annotator.lookup is not None
    }
    return AnnotateSummary(
        records=records_seen,
        skipped=dict(sink.counts),
        model_windows=work.get("SpliceAI"),
        lm_snv_scores=work.get(LM_INFO_KEY),
        elapsed_s=time.perf_counter() - started,
        output=str(settings.output),
        files=_files_written(settings),
        device=str(engine.device),
        replaced=writer.replaced,
        scored=sink.scored,
        work=work,
        precomputed=precomputed,
        not_normalized=not_normalized,
    )


def _annotators(
    settings: AnnotateSettings, engine: Engine, fasta: Fasta, genes: GeneTable, stack: ExitStack
) -> list[_Annotator]:
    """One annotator per model of ``settings.models``, in that order, each with its scorer:
    the model's own, or precomputed files first (the model loaded at the first miss; never
    with ``precomputed_only``)."""
    annotators = []
    for name in settings.models:
        if name == "splicebert":
            annotators.append(_lm_annotator(settings, engine, fasta, genes))
        elif name == "pangolin":
            annotators.append(_pangolin_annotator(settings, engine, fasta, genes))
        else:
            annotators.extend(_delta_annotators(settings, name, engine, fasta, genes))
    stated = None
    if settings.precomputed:
        from rnatools.scoring.precomputed import parse_stated_settings

        stated = parse_stated_settings(settings.precomputed_settings)
    if settings.precomputed or settings.write_settings:
        from rnatools.scoring.precomputed import annotation_checksum

        checksum = annotation_checksum(settings.annotation)  # read once for every key
        for annotator in annotators:
            if annotator.key != LM_INFO_KEY:
                annotator.run_settings = _run_settings(settings, annotator, checksum)
    for annotator in annotators:
        if not settings.precomputed or annotator.key == LM_INFO_KEY:
            annotator.scorer = annotator.build()
            continue
        from rnatools.scoring.precomputed import LookupFirst, PrecomputedScores

        if not settings.precomputed_only:  # missing weights are an error before any work
            find_weights(annotator.model, _weights(settings, annotator.model))
        annotator.lookup = stack.enter_context(
            PrecomputedScores(
                settings.precomputed,
                annotator.key,
                annotator.run_settings,
                stated,
                genes,
                targets=annotator.targets,
            )  # fmt: skip
        )
        annotator.scorer = LookupFirst(
            annotator.lookup, make_scorer=None if settings.precomputed_only else annotator.build
        )
    return annotators


def _run_settings(
    settings: AnnotateSettings, annotator: _Annotator, checksum: str
) -> dict[str, str]:
    """What the output header records about the scores of ``annotator`` (and what
    precomputed files must agree with)."""
    from rnatools.scoring.precomputed import run_settings

    return run_settings(
        model=annotator.model,
        distance=settings.max_distance,
        mask=settings.mask,
        annotation=settings.annotation,
        transcripts=settings.transcripts if annotator.key.endswith("_TX") else "gene",
        annotation_md5=checksum,
    )


def _files_written(settings: AnnotateSettings) -> tuple[Path, ...]:
    files = []
    if str(settings.output) != "-":
        files.append(Path(settings.output))
        if settings.index is not None:
            files.append(Path(f"{settings.output}.{settings.index}"))
    if settings.skip_report is not None:
        files.append(Path(settings.skip_report))
    return tuple(files)


__all__ = [
    "ANNOTATE_MODELS",
    "LM_MODELS",
    "NOT_STRICT_SKIPS",
    "AnnotateSettings",
    "AnnotateSummary",
    "run_annotate",
]
