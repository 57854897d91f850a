"""rnatools predict: per-nucleotide splice-site probabilities (see rnatools.pipelines.predict)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    PrecisionChoice,
    PrecisionOption,
    ShardOption,
    StrandChoice,
    ThreadsOption,
    WeightsOption,
)
from rnatools.errors import UsageError

log = logging.getLogger("rnatools.predict")

DEFAULT_CHUNK_SIZE = 20_000
"""= :data:`rnatools.scoring.splice_sites.DEFAULT_CHUNK_SIZE` (a test checks it); not imported,
which would import torch and slow down ``--help``."""

PredictModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        help="Splice model: spliceai, openspliceai-mane (= openspliceai-mane-10000), "
        "openspliceai-mane-80|400|2000|10000 or pangolin (see rnatools models). SpliceAI and "
        "OpenSpliceAI write the channels acceptor and donor; pangolin writes heart_psplice, "
        "heart_usage, liver_psplice, liver_usage, brain_psplice, brain_usage, testis_psplice, "
        "testis_usage and max_psplice (P(splice) = mean of the tissue's 3 networks, usage "
        "likewise; max_psplice = max over tissues): the TSV columns, and the files "
        "PREFIX.<channel>.<plus|minus>.bw / .bedgraph.",
    ),
]
PredictRegionsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--regions",
        metavar="CHROM:START-END",
        help="Restrict the work to chrom:start-end (1-based inclusive; repeatable): the "
        "intervals of --bed/--gtf/--gff3/--region are clipped to it, to split a long run "
        "(with --shard). Not an interval to predict: that is --region.",
    ),
]
PredictRegionsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--regions-file",
        metavar="BED",
        help="Restrict the work to the intervals of this BED file (as --regions).",
    ),
]


def predict(
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Output; format from the extension: - or .tsv(.gz) = table; PREFIX.bedgraph(.gz) "
            "or PREFIX.bw = one file per channel and strand (PREFIX.acceptor.plus.bw, ...).",
        ),
    ] = "-",
    fasta: Annotated[
        Path | None,
        typer.Option("--fasta", "-f", help="Reference FASTA (plain or bgzip) for genomic inputs."),
    ] = None,
    bed: Annotated[
        Path | None, typer.Option("--bed", help="BED3-6 intervals to predict (strand from col 6).")
    ] = None,
    gtf: Annotated[
        Path | None, typer.Option("--gtf", help="GTF: predict over each gene's span and strand.")
    ] = None,
    gff3: Annotated[
        Path | None, typer.Option("--gff3", help="GFF3: predict over each gene's span and strand.")
    ] = None,
    genes: Annotated[
        str | None,
        typer.Option(
            "--genes", help="With --gtf/--gff3: only these genes (names or IDs, comma-separated)."
        ),
    ] = None,
    region: Annotated[
        list[str] | None,
        typer.Option(
            "--region",
            "-r",
            help="An interval to predict: chrom:start-end, 1-based inclusive (repeatable). "
            "(--regions instead clips the other inputs.)",
        ),
    ] = None,
    sequences: Annotated[
        Path | None,
        typer.Option(
            "--sequences",
            help="FASTA of plain sequences, each padded with the model's context of N per side "
            "(5,000 for SpliceAI: its recipe); no --fasta needed; output chrom = record name, "
            "coordinates within the record.",
        ),
    ] = None,
    strand: Annotated[
        StrandChoice,
        typer.Option(
            "--strand",
            help="auto: the feature's strand, both strands when it has none; +, - or both force "
            "it. "
            "--sequences default to + under auto.",
        ),
    ] = StrandChoice.auto,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            min=0.0,
            max=1.0,
            help="Only write nucleotides where some channel (acceptor or donor) reaches this.",
        ),
    ] = None,
    chunk_size: Annotated[
        int,
        typer.Option(
            "--chunk-size",
            min=1,
            help="Output nt per model input (each input adds the model's context, 5,000 nt per "
            "side for SpliceAI); "
            "larger is faster (less repeated context), smaller needs less memory. Results do not "
            "depend on it.",
        ),
    ] = DEFAULT_CHUNK_SIZE,
    batch_size: BatchSizeOption = 16,
    device: DeviceOption = "auto",
    threads: ThreadsOption = 0,
    precision: PrecisionOption = PrecisionChoice.fp32,
    weights: WeightsOption = None,
    regions: PredictRegionsOption = None,
    regions_file: PredictRegionsFileOption = None,
    shard: ShardOption = None,
    model: PredictModelOption = "spliceai",
) -> None:
    """Per-nucleotide splice-site probabilities (SpliceAI, OpenSpliceAI, Pangolin) over regions,
    genes or sequences.

    Every nucleotide sees the model's full context (+-5,000 nt for SpliceAI): real genomic
    flanks, N past contig ends.
    Minus-strand rows are predicted on the reverse complement and written in genome order.
    Acceptor = first nucleotide of an exon, donor = last nucleotide of an exon, in transcript
    orientation. Coordinates in the output are 0-based half-open (BED-like). The files written
    are listed at the end.
    """
    from rnatools.pipelines.predict import PredictSettings, run_predict

    inputs = [
        name
        for name, value in (
            ("--bed", bed),
            ("--gtf", gtf),
            ("--gff3", gff3),
            ("--region", region),
            ("--sequences", sequences),
        )
        if value
    ]
    if len(inputs) != 1:
        raise UsageError(
            "give exactly one of --bed, --gtf, --gff3, --region, --sequences"
            + (f" (got {', '.join(inputs)})" if inputs else "")
        )
    if sequences is not None and fasta is not None:
        raise UsageError("--sequences carries its own sequences; drop --fasta")
    if sequences is None and fasta is None:
        raise UsageError(f"{inputs[0]} needs --fasta (the reference genome)")
    if genes and not (gtf or gff3):
        raise UsageError("--genes needs --gtf or --gff3")
    settings = PredictSettings(
        output=output,
        fasta=fasta,
        bed=bed,
        gtf=gtf,
        gff3=gff3,
        genes=tuple(genes.split(",")) if genes else None,
        region=tuple(region or ()),
        sequences=sequences,
        strand=strand.value,  # type: ignore[arg-type]
        min_score=min_score,
        chunk_size=chunk_size,
        batch_size=batch_size,
        device=device,
        threads=threads,
        precision=precision.value,
        weights=weights,
        regions=tuple(regions or ()),
        regions_file=regions_file,
        shard=shard,
        model=model,
    )
    summary = run_predict(settings, progress_bar)
    if summary.files:
        log.info("wrote %s", ", ".join(str(path) for path in summary.files))


def register(app: typer.Typer) -> None:
    """Add ``rnatools predict`` to ``app``."""
    app.command("predict")(predict)
