"""rnatools windows: pre-mRNA windows as FASTA or TSV (:mod:`rnatools.pipelines.windows`)."""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar
from rnatools.cli.options import FastaOption, StrandChoice, strand_value
from rnatools.errors import UsageError

DEFAULT_FLANK = 5000  # rnatools.windows.DEFAULT_FLANK (the CLI does not import numpy)

log = logging.getLogger("rnatools.windows")


class TranscriptsChoice(str, Enum):
    canonical = "canonical"
    all = "all"


class OutputFormat(str, Enum):
    fasta = "fasta"
    tsv = "tsv"


def windows(
    fasta: FastaOption,
    annotation: Annotated[
        Path | None,
        typer.Option(
            "--gtf",
            "--gff",
            exists=True,
            dir_okay=False,
            help="GTF or GFF3 (gzip allowed): one window per gene (canonical transcript) "
            "or per transcript with --transcripts all.",
        ),
    ] = None,
    bed: Annotated[
        Path | None,
        typer.Option(
            "--bed", exists=True, dir_okay=False, help="BED intervals (BED3-6, 0-based half-open)."
        ),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-r",
            help="chrom:start-end, 1-based inclusive as samtools (repeatable): a window each.",
        ),
    ] = None,
    genes: Annotated[
        str | None,
        typer.Option("--genes", help="Comma-separated gene names or ids to keep (with --gtf)."),
    ] = None,
    transcripts: Annotated[
        TranscriptsChoice,
        typer.Option(
            "--transcripts",
            help="canonical: one window per gene, on the transcript chosen by MANE_Select > "
            "Ensembl_canonical > basic protein_coding > longest exon length > lowest id; "
            "all: one window per transcript.",
        ),
    ] = TranscriptsChoice.canonical,
    flank: Annotated[
        int, typer.Option("--flank", min=0, help="nt of context added on each side.")
    ] = DEFAULT_FLANK,
    mask_outside_transcript: Annotated[
        bool,
        typer.Option(
            "--mask-outside-transcript",
            help="Write N for every base outside the transcript (BED/region: outside the "
            "interval), as SpliceAI does.",
        ),
    ] = False,
    strand: Annotated[
        StrandChoice,
        typer.Option(
            "--strand",
            help="Strand for unstranded BED lines and --region: + (default), - or both "
            "(two windows); auto is not taken here. Stranded features keep their own strand.",
        ),
    ] = StrandChoice.plus,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Output file; format from the extension (.fa/.fasta/.fa.gz FASTA, .tsv TSV). "
            "Default: FASTA on stdout.",
        ),
    ] = Path("-"),
    output_format: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="Output format (overrides the extension)."),
    ] = None,
    line_width: Annotated[
        int,
        typer.Option("--line-width", min=0, help="FASTA line width in nt (0: one line)."),
    ] = 60,
) -> None:
    """Cut pre-mRNA windows: each feature's sequence on its strand (reverse complement for -),
    with FLANK nt per side, N past contig ends, optionally N outside the transcript.

    FASTA headers read '>NAME chrom:start-end(strand) flank=N', where chrom is the contig as
    named in the FASTA and start-end are the feature's 0-based half-open bounds; NAME is
    GENE|TRANSCRIPT for genes, the BED name (or chrom:start-end) for intervals, the region text
    for --region. TSV columns: name, chrom, start, end, strand, flank, sequence.
    """
    if annotation is None and bed is None and not region:
        raise UsageError("give at least one of --gtf, --bed or --region")
    if genes is not None and annotation is None:
        raise UsageError("--genes needs --gtf")
    from rnatools.pipelines.windows import WindowsSettings, run_windows

    settings = WindowsSettings(
        fasta=fasta,
        output=output,
        annotation=annotation,
        bed=bed,
        region=tuple(region or ()),
        genes=tuple(genes.split(",")) if genes is not None else None,
        transcripts=transcripts.value,  # type: ignore[arg-type]
        flank=flank,
        mask_outside_transcript=mask_outside_transcript,
        strand=strand_value(strand, ("+", "-", "both")),  # type: ignore[arg-type]
        output_format=output_format.value if output_format else None,  # type: ignore[arg-type]
        line_width=line_width,
    )
    summary = run_windows(settings, progress_bar)
    log.info("wrote %d windows (flank %d nt) to %s", summary.windows, summary.flank, summary.output)


def register(app: typer.Typer) -> None:
    """Add this module's subcommand(s) to ``app``."""
    app.command("windows")(windows)
