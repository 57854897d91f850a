"""rnatools plot variant / plot region: figures of splice-site probabilities (see
rnatools.pipelines.plot). Needs matplotlib: pip install 'rnatools[plot]'."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar, summary
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    PrecisionChoice,
    PrecisionOption,
    StrandChoice,
    ThreadsOption,
    WeightsOption,
)
from rnatools.cli.score import AnnotationOption, parse_model_list

OutputOption = Annotated[
    Path,
    typer.Option(
        "--output", "-o", help="Figure to write: .png, .svg or .pdf (from the extension)."
    ),
]
WidthOption = Annotated[float, typer.Option("--width", help="Figure width in inches.")]
HeightOption = Annotated[
    float | None, typer.Option("--height", help="Figure height in inches (default: by panels).")
]
DpiOption = Annotated[int, typer.Option("--dpi", help="Resolution of PNG output (dots per inch).")]
ModelsOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Splice-site models, comma-separated (SpliceAI family: spliceai, "
        "openspliceai-mane, ...); one panel each.",
    ),
]

_VARIANT_HELP = (
    "REF and ALT acceptor and donor probabilities over POS ± D for each gene containing the "
    "variant, its exons and introns below on the same axis, the variant marked and the four "
    "delta scores labelled at their positions (annotate's scorer: the numbers equal the VCF's "
    "at the same -d and --mask). One panel per model. The variant as in `rnatools score`, or "
    "--vcf FILE with --id ID or --record N."
)
_REGION_HELP = (
    "Acceptor and donor probabilities over chrom:start-end (1-based inclusive, at most 1 Mb) "
    "on both strands (or the strand of the annotated genes there), gene models below; "
    "--tracks PREFIX reads the bigWigs of `rnatools predict -o PREFIX.bw` instead of computing."
)


def register(app: typer.Typer) -> None:
    """Add the ``plot`` group (``plot variant``, ``plot region``) to ``app``."""
    plot_app = typer.Typer(
        help="Figures: a variant's REF/ALT tracks, a region's tracks.", no_args_is_help=True
    )

    @plot_app.command("variant", help=_VARIANT_HELP)
    def variant(
        output: OutputOption,
        fasta: Annotated[Path, typer.Option("--fasta", "-f", help="Reference FASTA.")],
        annotation: AnnotationOption,
        variant_words: Annotated[
            list[str] | None,
            typer.Argument(
                metavar="VARIANT", help="chr:pos:ref:alt, chr-pos-ref-alt or 'chr:pos ref>alt'."
            ),
        ] = None,
        vcf: Annotated[
            Path | None, typer.Option("--vcf", help="Take the variant from this VCF.")
        ] = None,
        record_id: Annotated[
            str | None, typer.Option("--id", help="With --vcf: the record with this ID.")
        ] = None,
        record_number: Annotated[
            int | None, typer.Option("--record", help="With --vcf: the N-th record (1-based).")
        ] = None,
        model: ModelsOption = "spliceai",
        distance: Annotated[
            int,
            typer.Option("--distance", "-d", min=0, max=4999, help="Draw and score POS ± D nt."),
        ] = 500,
        mask: Annotated[bool, typer.Option("--mask", help="SpliceAI -M 1.")] = False,
        width: WidthOption = 10.0,
        height: HeightOption = None,
        dpi: DpiOption = 150,
        device: DeviceOption = "auto",
        batch_size: BatchSizeOption = 32,
        threads: ThreadsOption = 0,
        precision: PrecisionOption = PrecisionChoice.fp32,
        weights: WeightsOption = None,
    ) -> None:
        from rnatools.errors import UsageError
        from rnatools.pipelines.plot import PlotVariantSettings, run_plot_variant
        from rnatools.pipelines.score import parse_variants

        parsed = None
        if variant_words:
            variants = parse_variants(variant_words)
            if len(variants) > 1:
                raise UsageError("plot variant draws one variant; give one")
            parsed = variants[0]
        result = run_plot_variant(
            PlotVariantSettings(
                output=output,
                fasta=fasta,
                annotation=annotation,
                variant=parsed,
                vcf=vcf,
                record_id=record_id,
                record_number=record_number,
                models=parse_model_list(model),
                max_distance=distance,
                mask=mask,
                width=width,
                height=height,
                dpi=dpi,
                device=device,
                precision=precision.value,
                threads=threads,
                batch_size=batch_size,
                weights=weights,
            ),
            progress=progress_bar,
        )
        summary(
            f"rnatools plot variant: {result.variant}: {result.panels} panel(s) "
            f"({'; '.join(result.entries) or 'no entry'}) -> {result.output} "
            f"in {result.elapsed_s:.1f} s"
        )

    @plot_app.command("region", help=_REGION_HELP)
    def region(
        region_text: Annotated[str, typer.Argument(metavar="CHROM:START-END")],
        output: OutputOption,
        fasta: Annotated[
            Path | None, typer.Option("--fasta", "-f", help="Reference FASTA (to compute).")
        ] = None,
        annotation: Annotated[
            str | None,
            typer.Option(
                "--annotation", "-a", help="Genes to draw: grch37, grch38, a table or a GTF/GFF3."
            ),
        ] = None,
        model: ModelsOption = "spliceai",
        tracks: Annotated[
            str | None,
            typer.Option(
                "--tracks",
                metavar="PREFIX",
                help="Read PREFIX.{acceptor,donor}.{plus,minus}.bw (rnatools predict "
                "-o PREFIX.bw) instead of computing.",
            ),
        ] = None,
        strand: Annotated[
            StrandChoice,
            typer.Option("--strand", help="auto (the genes' strand, else both), +, - or both."),
        ] = StrandChoice.auto,
        width: WidthOption = 10.0,
        height: HeightOption = None,
        dpi: DpiOption = 150,
        device: DeviceOption = "auto",
        batch_size: BatchSizeOption = 8,
        threads: ThreadsOption = 0,
        precision: PrecisionOption = PrecisionChoice.fp32,
        weights: WeightsOption = None,
    ) -> None:
        from rnatools.pipelines.plot import PlotRegionSettings, run_plot_region

        result = run_plot_region(
            PlotRegionSettings(
                output=output,
                region=region_text,
                fasta=fasta,
                annotation=annotation,
                models=parse_model_list(model),
                tracks=tracks,
                strand=strand.value,
                width=width,
                height=height,
                dpi=dpi,
                device=device,
                precision=precision.value,
                threads=threads,
                batch_size=batch_size,
                weights=weights,
            ),
            progress=progress_bar,
        )
        summary(
            f"rnatools plot region: {result.variant}: {result.panels} track panel(s) -> "
            f"{result.output} in {result.elapsed_s:.1f} s"
        )

    app.add_typer(plot_app, name="plot")
