"""The annotate pipeline: SpliceAI delta scores and SpliceBERT zero-shot scores for a VCF/BCF.

``rnatools annotate`` (and the drop-in ``rnatools spliceai``) is a thin layer over
:func:`run_annotate`; Python callers use it directly::

    from rnatools.pipelines.annotate import AnnotateSettings, run_annotate

    summary = run_annotate(
        AnnotateSettings(input="in.vcf", output="out.vcf.gz", fasta="ref.fa", annotation="grch38")
    )
    print(summary.records, summary.skipped)

Records stream through in blocks of ``block_size``, in input order; every record is written,
annotated or not (a record htslib cannot parse is left out and counted as ``malformed``). The
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
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pysam

from rnatools.engine import Engine
from rnatools.errors import InputError, UsageError
from rnatools.io.atomic import atomic_output
from rnatools.io.fasta import Fasta
from rnatools.io.gene_table import GeneTable, load_gene_table
from rnatools.io.vcf import (
    END_INFO_HEADER,
    SPLICEAI_INFO_HEADER,
    MalformedRecord,
    VcfWriter,
    add_header_line,
    check_index,
    open_vcf,
)
from rnatools.models.registry import load_model
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.scoring.delta import (
    MAX_DISTANCE_LIMIT,
    DeltaOptions,
    DeltaScorer,
    RecordAnnotation,
    SkipReason,
)
from rnatools.scoring.lm_variants import (
    LM_INFO_KEY,
    LMRecordAnnotation,
    LMVariantOptions,
    LMVariantScorer,
    lm_info_header,
)
from rnatools.scoring.variants import Variant
from rnatools.sharding import parse_regions, parse_shard, select_records

log = logging.getLogger("rnatools.annotate")

ANNOTATE_MODELS = ("spliceai", "splicebert")
"""What ``models`` may hold: the INFO keys SpliceAI and SpliceBERT."""

LM_MODELS = ("splicebert", "splicebert-510", "splicebert-human-510")
"""SpliceBERT checkpoints ``lm_model`` may name (registry names)."""

INDEX_KINDS = ("tbi", "csi")

NOT_STRICT_SKIPS = frozenset({"intergenic", "lm_intergenic", "lm_not_snv"})
"""Skips that mean "nothing to score here" rather than "something is wrong": ``strict`` lets
them be."""

SKIP_REPORT_HEADER = "#CHROM\tPOS\tID\tREF\tALT\tREASON\n"


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
        strict: any skip other than :data:`NOT_STRICT_SKIPS` is an error.
        device, precision, threads: of the :class:`~rnatools.engine.Engine` (checked when the
            run starts).
        batch_size: windows per model call (>= 1).
        weights: SpliceAI weights (folder or ``.h5``); None = the registry's default.
        block_size: records read, scored and written per block (>= 1).
        full_windows: run every ALT window through the whole model (no incremental SNV path).
        regions: ``chrom:start-end`` texts (1-based inclusive) to restrict the run to.
        regions_file: BED file of regions to restrict the run to.
        shard: ``"I/N"``: part I of N (needs an input file).
        models: INFO keys to add, some of :data:`ANNOTATE_MODELS` (order kept).
        lm_model: SpliceBERT checkpoint, one of :data:`LM_MODELS`.
        lm_weights: its folder or file; None = ``$RNATOOLS_SPLICEBERT_WEIGHTS``.
        lm_window: SpliceBERT window (nt, >= 3), centred on the variant on the gene's strand.
        lm_strand: ``+`` or ``-`` to score variants outside every transcript on that strand.

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
    device: str = "auto"
    batch_size: int = 32
    threads: int = 0
    precision: str = "fp32"
    weights: str | Path | None = None
    block_size: int = 512
    full_windows: bool = False
    regions: tuple[str, ...] = ()
    regions_file: str | Path | None = None
    shard: str | None = None
    models: tuple[str, ...] = ("spliceai",)
    lm_model: str = "splicebert-510"
    lm_weights: str | Path | None = None
    lm_window: int = 510
    lm_strand: str | None = None

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
        if self.index not in (None, *INDEX_KINDS):
            raise UsageError(f"expected tbi or csi, got {self.index!r}", parameter="index")
        for name in ("batch_size", "block_size"):
            if getattr(self, name) < 1:
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
        lm_snv_scores: distinct SpliceBERT SNV scores computed (None without SpliceBERT).
        elapsed_s: wall-clock seconds from opening the inputs to the finished output.
        output: the output name as given (``-`` = standard output).
        files: files written: the output VCF (not for standard output), its index, the skip
            report.
        device: the device the models ran (or would have run) on.
    """

    records: int
    skipped: dict[str, int] = field(default_factory=dict)
    model_windows: int | None = None
    lm_snv_scores: int | None = None
    elapsed_s: float = 0.0
    output: str = "-"
    files: tuple[Path, ...] = ()
    device: str = "cpu"


class _Sink:
    """Where scored records go: skip counts, the skip report, the ``strict`` check, the output.

    The output VCF is opened with the first block: htslib adds END to symbolic-allele records
    on output and fails on a header without it, so a first block holding one gets the END line.
    """

    def __init__(
        self,
        settings: AnnotateSettings,
        header: pysam.VariantHeader,
        stack: ExitStack,
        report: TextIO | None,
    ):
        self.settings = settings
        self.header = header
        self.stack = stack
        self.report = report
        self.counts: Counter[str] = Counter()
        self.writer: VcfWriter | None = None

    def open(self, block: list) -> VcfWriter:
        if self.writer is None:
            symbolic = any(
                not isinstance(record, MalformedRecord)
                and any(alt.startswith("<") for alt in record.alts or ())
                for record in block
            )
            if symbolic:
                add_header_line(self.header, END_INFO_HEADER)
            writer = VcfWriter(self.settings.output, self.header, self.settings.index)  # type: ignore[arg-type]
            self.writer = self.stack.enter_context(writer)
        return self.writer

    def _skip(self, fields: tuple, reason: str) -> None:
        self.counts[reason] += 1
        if self.report is not None:
            self.report.write("\t".join(str(value) for value in fields) + f"\t{reason}\n")

    def malformed(self, record: MalformedRecord) -> None:
        """A record htslib could not parse: counted, reported, left out (an error if strict)."""
        reason = SkipReason.MALFORMED.value
        log.warning(
            "record %d could not be parsed and is left out (%s)", record.number, record.message
        )
        self._skip((".", ".", f"record{record.number}", ".", "."), reason)
        if self.settings.strict:
            raise InputError(f"record {record.number} is malformed", self.settings.input)

    def record(
        self,
        record: pysam.VariantRecord,
        result: RecordAnnotation | None,
        lm_result: LMRecordAnnotation | None,
    ) -> None:
        """One record's results: INFO entries, skips (counted, reported, strict), then write.

        Raises:
            InputError: with ``strict``, a skip outside :data:`NOT_STRICT_SKIPS`.
        """
        if result is not None and result.entries:
            record.info["SpliceAI"] = tuple(result.entries)
        if lm_result is not None and lm_result.entries:
            record.info[LM_INFO_KEY] = tuple(lm_result.entries)
        for outcome in (result, lm_result):
            if outcome is None or outcome.skip is None:
                continue
            reason = outcome.skip.value
            alts = ",".join(record.alts) if record.alts else "."
            self._skip((record.chrom, record.pos, record.id or ".", record.ref, alts), reason)
            if self.settings.strict and reason not in NOT_STRICT_SKIPS:
                raise InputError(
                    f"{record.chrom}:{record.pos} {record.ref}>{alts}: skipped ({reason}); "
                    "--strict makes every skip except intergenic, lm_intergenic and "
                    "lm_not_snv an error",
                    self.settings.input,
                )
        assert self.writer is not None
        try:
            self.writer.write(record)
        except OSError as exc:  # a symbolic allele after a first block without END
            self.counts[SkipReason.MALFORMED.value] += 1
            log.warning(
                "%s:%s could not be written and is left out (%s)", record.chrom, record.pos, exc
            )


def _annotate_block(
    block: list, scorer: DeltaScorer | None, lm_scorer: LMVariantScorer | None, sink: _Sink
) -> None:
    """Score one block with each model, then hand every record to ``sink`` in input order."""
    records = [record for record in block if not isinstance(record, MalformedRecord)]
    variants = [
        Variant(record.chrom, record.pos, record.ref or "", record.alts) for record in records
    ]
    results = iter(scorer.annotate(variants) if scorer is not None else [None] * len(variants))
    lm_results = iter(
        lm_scorer.annotate(variants) if lm_scorer is not None else [None] * len(variants)
    )
    sink.open(block)
    for record in block:
        if isinstance(record, MalformedRecord):
            sink.malformed(record)
        else:
            sink.record(record, next(results), next(lm_results))


def _delta_scorer(
    settings: AnnotateSettings, engine: Engine, fasta: Fasta, genes: GeneTable
) -> DeltaScorer:
    """SpliceAI through the registry (its weight files are read on the first window)."""
    model = load_model("spliceai", settings.weights, engine=engine)
    options = DeltaOptions(settings.max_distance, settings.mask, settings.pad_contig_ends)
    return DeltaScorer(
        model,
        fasta,
        genes,
        options,
        engine=engine,
        batch_size=settings.batch_size,
        incremental=not settings.full_windows,
    )


def _lm_scorer(
    settings: AnnotateSettings, engine: Engine, fasta: Fasta, genes: GeneTable
) -> LMVariantScorer:
    """SpliceBERT scores; the model is loaded (through the registry) on the first SNV."""
    options = LMVariantOptions(
        window=settings.lm_window,
        unannotated_strand=settings.lm_strand,
        batch_size=settings.batch_size,
    )
    loaded: list = []

    def language_model():
        if not loaded:
            loaded.append(
                load_model(
                    settings.lm_model, settings.lm_weights, engine=engine, parameter="lm_weights"
                )
            )
        return loaded[0]

    return LMVariantScorer(language_model, fasta, genes, options)


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
        InputError: unreadable inputs; with ``strict``, the first record skipped for a reason
            outside :data:`NOT_STRICT_SKIPS`.
        MissingWeightsError: SpliceAI or SpliceBERT weights (or the grch37/grch38 tables) not
            found; ``parameter`` is ``weights`` or ``lm_weights``.
    """
    engine = Engine(settings.device, settings.precision, settings.threads)
    check_index(settings.output, settings.index)  # type: ignore[arg-type]
    genes = load_gene_table(settings.annotation)
    vcf = open_vcf(settings.input)
    started = time.perf_counter()
    records_seen = 0
    scorer: DeltaScorer | None = None
    lm_scorer: LMVariantScorer | None = None
    with ExitStack() as stack:
        stack.callback(vcf.close)
        fasta = stack.enter_context(Fasta(settings.fasta))
        if "spliceai" in settings.models:
            scorer = _delta_scorer(settings, engine, fasta, genes)
            add_header_line(vcf.header, SPLICEAI_INFO_HEADER)
        if "splicebert" in settings.models:
            lm_scorer = _lm_scorer(settings, engine, fasta, genes)
            add_header_line(vcf.header, lm_info_header(settings.lm_model, lm_scorer.options))
        report = None
        if settings.skip_report is not None:
            report = stack.enter_context(atomic_output(settings.skip_report))
            report.write(SKIP_REPORT_HEADER)
        sink = _Sink(settings, vcf.header, stack, report)
        regions = parse_regions(settings.regions, settings.regions_file)
        selected = select_records(
            vcf, settings.input, regions=regions, shard=parse_shard(settings.shard)
        )
        block: list = []
        with progress("annotating", None, "records") as bar:
            for record in selected:
                block.append(record)
                records_seen += 1
                if len(block) >= settings.block_size:
                    _annotate_block(block, scorer, lm_scorer, sink)
                    bar.advance(len(block))
                    block = []
            if block or sink.writer is None:
                _annotate_block(block, scorer, lm_scorer, sink)
                bar.advance(len(block))
    return AnnotateSummary(
        records=records_seen,
        skipped=dict(sink.counts),
        model_windows=scorer.model_windows if scorer is not None else None,
        lm_snv_scores=lm_scorer.snvs_scored if lm_scorer is not None else None,
        elapsed_s=time.perf_counter() - started,
        output=str(settings.output),
        files=_files_written(settings),
        device=str(engine.device),
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
