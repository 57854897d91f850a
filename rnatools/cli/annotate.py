"""rnatools annotate: SpliceAI delta scores (and SpliceBERT zero-shot scores) for VCFs.

Parses options into :class:`rnatools.pipelines.annotate.AnnotateSettings`, runs
:func:`rnatools.pipelines.annotate.run_annotate` and prints its summary. The drop-in
``rnatools spliceai`` and ``rnatools annotation build`` live in :mod:`rnatools.cli.spliceai_cmd`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rnatools.cli.annotate_options import (
    AnnotateWeightsOption,
    BlockSizeOption,
    IndexChoice,
    KeepMalformedOption,
    LMModelChoice,
    LMModelOption,
    LMStrandOption,
    LMWeightsOption,
    LMWindowOption,
    MaxScoreOption,
    ModelOption,
    NormalizeOption,
    OverlapOption,
    PrecomputedOnlyOption,
    PrecomputedOption,
    PrecomputedSettingsOption,
    RawScoresOption,
    ScoreMnvOption,
    SkipReportOption,
    TranscriptsChoice,
    TranscriptsOption,
    parse_models,
    parse_weights,
)
from rnatools.cli.console import progress_bar, summary
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    PrecisionChoice,
    PrecisionOption,
    RegionsFileOption,
    RegionsOption,
    ShardOption,
    ThreadsOption,
    strand_value,
)

if TYPE_CHECKING:  # pragma: no cover
    from rnatools.pipelines.annotate import AnnotateSettings, AnnotateSummary

_HELP = (
    "SpliceAI delta scores for every record of a VCF/BCF, number for number with SpliceAI 1.3.1 "
    "(INFO key SpliceAI: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL). Records "
    "stream through in input order; every record is written, annotated or not. Needs the "
    "official weights: pip install 'rnatools[spliceai]'. With --model splicebert (or "
    "spliceai,splicebert) each SNV also gets SpliceBERT zero-shot scores per overlapping gene "
    "(INFO SpliceBERT: ALLELE|SYMBOL|KL_CONTEXT|DELTA_LOGP, nats, 4 decimals; Chen et al. 2024, "
    "doi:10.1093/bib/bbae163) from a 510-nt window on the gene's strand; indels and MNVs get "
    "'.' (the score is defined for SNVs only)."
)


def summary_line(summary: AnnotateSummary) -> str:
    """``rnatools annotate: N records in X s (work); not scored: reason count, ...``."""
    skipped = ", ".join(f"{reason} {count}" for reason, count in sorted(summary.skipped.items()))
    work = []
    if summary.model_windows is not None:
        work.append(f"{summary.model_windows} model windows")
    for key, count in summary.work.items():
        if key not in ("SpliceAI", "SpliceBERT"):
            work.append(f"{count} {key} model windows")
    if summary.lm_snv_scores is not None:
        work.append(f"{summary.lm_snv_scores} SpliceBERT SNV scores")
    for key, counts in summary.precomputed.items():
        files = ", ".join(
            f"{count} from {Path(path).name}"
            for path, count in counts.items()
            if path not in ("hits", "misses")
        )
        work.append(f"{key} precomputed: {counts['hits']} found ({files}), {counts['misses']} not")
    for key, count in summary.not_normalized.items():
        if count:
            work.append(f"{key}: {count} records not left-aligned (not_normalized)")
    replaced = f"; replaced {summary.replaced} old entries" if summary.replaced else ""
    return (
        f"rnatools annotate: {summary.records} records in {summary.elapsed_s:.1f} s "
        f"({'; '.join(work)}); not scored: {skipped or 'none'}{replaced}"
    )


def annotate_and_report(settings: AnnotateSettings) -> AnnotateSummary:
    """Run the pipeline with a progress bar; its summary line goes to stderr (and ``--log``)."""
    from rnatools.pipelines.annotate import run_annotate

    result = run_annotate(settings, progress=progress_bar)
    summary(summary_line(result))
    return result


def register(app: typer.Typer) -> None:
    """Add ``annotate``, the drop-in ``spliceai`` and the ``annotation`` group to ``app``."""

    @app.command("annotate", help=_HELP)
    def annotate(
        fasta: Annotated[
            Path, typer.Option("--fasta", "-f", help="Reference FASTA, plain or bgzip (indexed).")
        ],
        annotation: Annotated[
            str,
            typer.Option(
                "--annotation",
                "-a",
                help="grch37 or grch38 (tables of the installed spliceai package), a table in "
                "that format, or a GTF/GFF3 (gzip ok; one canonical transcript per gene).",
            ),
        ],
        input_path: Annotated[
            str, typer.Option("--input", "-i", help="VCF/BCF to annotate (- = stdin).")
        ] = "-",
        output_path: Annotated[
            str,
            typer.Option(
                "--output",
                "-o",
                help="Output; type from the extension: .vcf, .vcf.gz (bgzip), .bcf; - = stdout.",
            ),
        ] = "-",
        distance: Annotated[
            int,
            typer.Option(
                "--distance", "-d", min=0, max=4999, help="Score positions within D nt of POS."
            ),
        ] = 50,
        mask: Annotated[
            bool,
            typer.Option(
                "--mask",
                help="SpliceAI -M 1: zero gains of annotated sites and losses of unannotated ones.",
            ),
        ] = False,
        index: Annotated[
            IndexChoice | None,
            typer.Option("--index", help="Index a .vcf.gz (tbi or csi) or .bcf (csi) output."),
        ] = None,
        pad_contig_ends: Annotated[
            bool,
            typer.Option(
                "--pad-contig-ends",
                help="Score variants within 5,000+D nt of a contig end by padding with N "
                "(SpliceAI 1.3.1 skips them).",
            ),
        ] = False,
        skip_report: SkipReportOption = None,
        strict: Annotated[
            bool,
            typer.Option(
                "--strict",
                help="Any skip except intergenic, lm_intergenic and lm_not_snv, and any contig "
                "missing from the FASTA, is an error (exit 1) at the first such record.",
            ),
        ] = False,
        keep_malformed: KeepMalformedOption = False,
        device: DeviceOption = "auto",
        batch_size: BatchSizeOption = 32,
        threads: ThreadsOption = 0,
        precision: PrecisionOption = PrecisionChoice.fp32,
        weights: AnnotateWeightsOption = None,
        block_size: BlockSizeOption = None,
        overlap: OverlapOption = None,
        full_windows: Annotated[
            bool,
            typer.Option(
                "--full-windows",
                hidden=True,
                help="Run every ALT window through the whole model (no SNV work sharing); "
                "for benchmarks and checks.",
            ),
        ] = False,
        regions: RegionsOption = None,
        regions_file: RegionsFileOption = None,
        shard: ShardOption = None,
        model: ModelOption = "spliceai",
        lm_model: LMModelOption = LMModelChoice.splicebert_510,
        lm_weights: LMWeightsOption = None,
        lm_window: LMWindowOption = 510,
        lm_strand: LMStrandOption = None,
        precomputed: PrecomputedOption = None,
        precomputed_settings: PrecomputedSettingsOption = None,
        precomputed_only: PrecomputedOnlyOption = False,
        transcripts: TranscriptsOption = TranscriptsChoice.gene,
        raw_scores: RawScoresOption = False,
        score_mnv: ScoreMnvOption = False,
        normalize: NormalizeOption = False,
        max_score: MaxScoreOption = False,
    ) -> None:
        from rnatools.pipelines.annotate import AnnotateSettings

        models = parse_models(model)
        first_weights, model_weights = parse_weights(weights, models)
        annotate_and_report(
            AnnotateSettings(
                input=input_path,
                output=output_path,
                fasta=fasta,
                annotation=annotation,
                max_distance=distance,
                mask=mask,
                index=index.value if index else None,
                pad_contig_ends=pad_contig_ends,
                skip_report=skip_report,
                strict=strict,
                keep_malformed=keep_malformed,
                device=device,
                batch_size=batch_size,
                threads=threads,
                precision=precision.value,
                weights=first_weights,
                model_weights=model_weights,
                block_size=block_size,
                overlap=overlap,
                full_windows=full_windows,
                regions=tuple(regions or ()),
                regions_file=regions_file,
                shard=shard,
                models=models,
                lm_model=lm_model.value,
                lm_weights=lm_weights,
                lm_window=lm_window,
                lm_strand=strand_value(lm_strand, ("+", "-"), "--lm-strand") if lm_strand else None,
                precomputed=tuple(precomputed or ()),
                precomputed_settings=precomputed_settings,
                precomputed_only=precomputed_only,
                transcripts=transcripts.value,
                raw_scores=raw_scores,
                score_mnv=score_mnv,
                normalize=normalize,
                max_score=max_score,
            )
        )
