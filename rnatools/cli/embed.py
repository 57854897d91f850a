"""``rnatools embed``: options → :func:`rnatools.pipelines.embed.run_embed`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar
from rnatools.cli.lm_options import ModelOption, PadToMaxOption, PoolChoice, SequencesOption
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    PrecisionChoice,
    PrecisionOption,
    RegionsFileOption,
    RegionsOption,
    ShardOption,
    ThreadsOption,
    WeightsOption,
)


def embed(
    model: ModelOption,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="OUT.npz (one array per record, keyed by name) or OUT.h5 (one dataset per "
            "record under /embeddings, plus /names).",
        ),
    ],
    sequences: SequencesOption = None,
    fasta: Annotated[
        Path | None,
        typer.Option(
            "--fasta",
            "-f",
            exists=True,
            dir_okay=False,
            help="Reference FASTA (plain or bgzip) for --bed/--gtf.",
        ),
    ] = None,
    bed: Annotated[
        Path | None,
        typer.Option("--bed", exists=True, dir_okay=False, help="BED intervals (with --fasta)."),
    ] = None,
    gtf: Annotated[
        Path | None,
        typer.Option(
            "--gtf",
            exists=True,
            dir_okay=False,
            help="GTF/GFF3: the pre-mRNA of each gene's canonical transcript (with --fasta).",
        ),
    ] = None,
    pool: Annotated[
        PoolChoice,
        typer.Option("--pool", help="none: (length, hidden) per record; mean: (hidden,)."),
    ] = PoolChoice.none,
    tile: Annotated[
        bool,
        typer.Option(
            "--tile",
            help="Cut sequences longer than the model's maximum into half-overlapping tiles and "
            "keep each tile's central half (default: such sequences are an error).",
        ),
    ] = False,
    weights: WeightsOption = None,
    pad_to_max: PadToMaxOption = False,
    device: DeviceOption = "auto",
    batch_size: BatchSizeOption = 8,
    precision: PrecisionOption = PrecisionChoice.fp32,
    threads: ThreadsOption = 0,
    regions: RegionsOption = None,
    regions_file: RegionsFileOption = None,
    shard: ShardOption = None,
) -> None:
    """Per-nucleotide embeddings (last layer) of sequences or genomic intervals.

    Interval sequences are read on their strand (reverse complement for '-'), unstranded BED
    lines on '+'. Values are float32; row i is nucleotide i of the record (special tokens are
    dropped). --regions keeps the BED/GTF features that overlap a region (whole features);
    --shard I/N embeds the I-th contiguous part of the records (HDF5 datasets keep their index
    in the unsharded run, so the shards together hold exactly the unsharded output).
    """
    from rnatools.pipelines.embed import EmbedSettings, run_embed

    settings = EmbedSettings(
        model=model,
        output=output,
        sequences=sequences,
        fasta=fasta,
        bed=bed,
        gtf=gtf,
        pool=pool.value,
        tile=tile,
        weights=weights,
        pad_to_max=pad_to_max,
        device=device,
        precision=precision.value,
        threads=threads,
        batch_size=batch_size,
        regions=tuple(regions or ()),
        regions_file=regions_file,
        shard=shard,
    )
    run_embed(settings, progress=progress_bar)


def register(app: typer.Typer) -> None:
    """Add ``rnatools embed`` to ``app``."""
    app.command("embed")(embed)
