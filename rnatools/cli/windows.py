"""rnatools windows: pre-mRNA windows as FASTA or TSV."""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.options import FastaOption
from rnatools.errors import UsageError
from rnatools.io.atomic import atomic_output
from rnatools.io.bed import read_bed
from rnatools.io.fasta import Fasta
from rnatools.io.gtf import read_genes
from rnatools.windows import (
    DEFAULT_FLANK,
    Window,
    check_in_contig,
    gene_windows,
    interval_windows,
    parse_region,
    select_genes,
    window_sequence,
)

log = logging.getLogger("rnatools.windows")

_FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz", ".fna.gz")
_TSV_SUFFIXES = (".tsv", ".tsv.gz", ".txt", ".txt.gz")


class TranscriptsChoice(str, Enum):
    canonical = "canonical"
    all = "all"


class StrandChoice(str, Enum):
    plus = "+"
    minus = "-"
    both = "both"


class OutputFormat(str, Enum):
    fasta = "fasta"
    tsv = "tsv"


def output_format(output: Path, requested: OutputFormat | None) -> OutputFormat:
    """The format named by ``--format``, else by the output's extension; FASTA on stdout."""
    if requested is not None:
        return requested
    if str(output) == "-":
        return OutputFormat.fasta
    name = output.name.lower()
    if name.endswith(_FASTA_SUFFIXES):
        return OutputFormat.fasta
    if name.endswith(_TSV_SUFFIXES):
        return OutputFormat.tsv
    raise UsageError(
        f"cannot tell the output format of {output}: use a .fa/.fasta/.fa.gz or .tsv name, "
        "or --format"
    )


def _wrap(sequence: str, width: int) -> str:
    if width <= 0:
        return sequence
    return "\n".join(sequence[i : i + width] for i in range(0, len(sequence), width))


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
    regions: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-r",
            help="chrom:start-end, 1-based inclusive as samtools (repeatable).",
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
            "(two windows). Stranded features keep their own strand.",
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
    output_format_option: Annotated[
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
    if annotation is None and bed is None and not regions:
        raise UsageError("give at least one of --gtf, --bed or --region")
    if genes is not None and annotation is None:
        raise UsageError("--genes needs --gtf")
    fmt = output_format(output, output_format_option)

    selected: list[Window] = []
    if annotation is not None:
        names = genes.split(",") if genes is not None else None
        chosen = select_genes(read_genes(annotation), names)
        selected += gene_windows(chosen, transcripts.value, mask_outside_transcript)
    if bed is not None:
        selected += interval_windows(read_bed(bed), strand.value, mask_outside_transcript)
    if regions:
        parsed = [parse_region(region) for region in regions]
        selected += interval_windows(parsed, strand.value, mask_outside_transcript)

    with Fasta(fasta) as reference:
        # Check every feature first, so that a bad one fails before anything is written.
        contigs = [check_in_contig(reference, window.interval) for window in selected]
        with atomic_output(output) as handle:
            if fmt is OutputFormat.tsv:
                handle.write("name\tchrom\tstart\tend\tstrand\tflank\tsequence\n")
            for window, chrom in zip(selected, contigs, strict=True):
                interval = window.interval
                sequence = window_sequence(reference, interval, flank, window.mask_outside)
                if fmt is OutputFormat.tsv:
                    handle.write(
                        f"{window.name}\t{chrom}\t{interval.start}\t{interval.end}\t"
                        f"{interval.strand}\t{flank}\t{sequence}\n"
                    )
                else:
                    handle.write(
                        f">{window.name} {chrom}:{interval.start}-{interval.end}"
                        f"({interval.strand}) flank={flank}\n{_wrap(sequence, line_width)}\n"
                    )
    log.info("wrote %d windows (flank %d nt) to %s", len(selected), flank, output)


def register(app: typer.Typer) -> None:
    """Add this module's subcommand(s) to ``app``."""
    app.command("windows")(windows)
