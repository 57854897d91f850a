"""rnatools report: one self-contained HTML page about an annotated VCF (see
rnatools.pipelines.report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar, summary
from rnatools.cli.options import DeviceOption, ThreadsOption, WeightsOption
from rnatools.cli.score import parse_model_list

_HELP = (
    "One self-contained HTML file (no network needed to view it) about a VCF annotated by "
    "rnatools: records and alleles scored, records not scored (--skip-report for the reasons), "
    "the distribution of the max delta score per model, a sortable table of the top variants "
    "by max delta score with the ClinGen SVI splicing class (SpliceAI >= 0.2 PP3, <= 0.1 BP4; "
    "Walker et al. 2023, doi:10.1016/j.ajhg.2023.06.002), per-gene counts; with -f and -a the "
    "variant figure of each top variant (needs matplotlib: pip install 'rnatools[plot]')."
)


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""

    @app.command("report", help=_HELP)
    def report(
        input_path: Annotated[Path, typer.Argument(metavar="ANNOTATED_VCF")],
        output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
        fasta: Annotated[
            Path | None, typer.Option("--fasta", "-f", help="Reference FASTA (for figures).")
        ] = None,
        annotation: Annotated[
            str | None,
            typer.Option("--annotation", "-a", help="Annotation annotate used (for figures)."),
        ] = None,
        top: Annotated[
            int, typer.Option("--top", min=1, help="Rows of the top-variant table.")
        ] = 50,
        plots: Annotated[
            int | None,
            typer.Option(
                "--plots",
                min=0,
                help="With -f/-a: figures of the first N top variants (default: all).",
            ),
        ] = None,
        skip_report: Annotated[
            Path | None,
            typer.Option("--skip-report", help="annotate's --skip-report TSV, for the reasons."),
        ] = None,
        model: Annotated[
            str, typer.Option("--model", "-m", help="Models drawn in the figures.")
        ] = "spliceai",
        distance: Annotated[
            int | None,
            typer.Option(
                "--distance",
                "-d",
                min=0,
                max=4999,
                help="D of the figures (default: the VCF's stated distance, else 50).",
            ),
        ] = None,
        mask: Annotated[
            bool | None,
            typer.Option("--mask/--no-mask", help="Masking of the figures (default: the VCF's)."),
        ] = None,
        device: DeviceOption = "auto",
        threads: ThreadsOption = 0,
        weights: WeightsOption = None,
    ) -> None:
        from rnatools.pipelines.report import ReportSettings, run_report

        result = run_report(
            ReportSettings(
                input=input_path,
                output=output,
                fasta=fasta,
                annotation=annotation,
                top=top,
                plots=plots,
                skip_report=skip_report,
                models=parse_model_list(model),
                max_distance=distance,
                mask=mask,
                device=device,
                threads=threads,
                weights=weights,
            ),
            progress=progress_bar,
        )
        scored = ", ".join(f"{key} {n}" for key, n in result.scored.items())
        summary(
            f"rnatools report: {result.records} records (scored: {scored or 'none'}); "
            f"{result.top_rows} top rows, {result.figures} figures -> {result.output} "
            f"in {result.elapsed_s:.1f} s"
        )
