"""``rnatools ism``: options → :func:`rnatools.pipelines.ism.run_ism`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar
from rnatools.cli.lm_options import ModelOption
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    FastaOption,
    PrecisionChoice,
    PrecisionOption,
    RegionsFileOption,
    RegionsOption,
    ShardOption,
    StrandChoice,
    ThreadsOption,
    WeightsOption,
    strand_value,
)


def ism(
    fasta: FastaOption,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="OUT.tsv / .tsv.gz / - : one row per SNV; PREFIX.bw: two bigWig tracks, "
            "PREFIX.kl_context_max.bw (per position, the highest KL-context score of its three "
            "SNVs) and PREFIX.delta_logp_min.bw (the most negative masked log-ratio).",
        ),
    ],
    model: ModelOption = "splicebert",
    strand: Annotated[
        StrandChoice,
        typer.Option("--strand", help="Strand scored (the transcript strand): + or -."),
    ] = StrandChoice.plus,
    window: Annotated[
        int | None,
        typer.Option(
            "--window",
            min=3,
            help="Window length in nt, centred on each variant (default: 510, or the model's "
            "maximum if smaller).",
        ),
    ] = None,
    max_distance: Annotated[
        int, typer.Option("--max-distance", min=1, help="KL-context distance range d = 1..N nt.")
    ] = 100,
    masked_marginal: Annotated[
        bool,
        typer.Option(
            "--masked-marginal/--no-masked-marginal",
            help="Also compute delta_logp (one more masked run per position).",
        ),
    ] = True,
    weights: WeightsOption = None,
    device: DeviceOption = "auto",
    batch_size: BatchSizeOption = 32,
    precision: PrecisionOption = PrecisionChoice.fp32,
    threads: ThreadsOption = 0,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            "-r",
            help="chrom:start-end, 1-based inclusive (or use --regions / --regions-file).",
        ),
    ] = None,
    regions: RegionsOption = None,
    regions_file: RegionsFileOption = None,
    shard: ShardOption = None,
) -> None:
    """In-silico saturation mutagenesis: all three SNVs at every position of a region.

    Several regions (--region, --regions, --regions-file) are done in the order given, their
    rows one after the other. --shard I/N does the I-th contiguous part of the positions (cut
    in blocks of 64 nt from each region's start, see rnatools.sharding.shard_intervals); the N
    TSV shards joined by `rnatools merge` equal the unsharded TSV byte for byte. bigWig output
    takes one region and no --shard.

    kl_context (SpliceBERT, doi:10.1093/bib/bbae163): sum over d = 1..max-distance of
    ln(max((KL(p-d) + KL(p+d)) / 2, 1e-6)), KL(i) = KL(P_alt(i) || P_ref(i)) of the unmasked
    nucleotide distributions; higher = more disruptive. Positions past the window edge drop out.
    delta_logp: ln P(ALT) - ln P(REF) at the masked variant position (nats). Columns: chrom, pos
    (1-based), ref, alt (forward strand), strand, kl_context, delta_logp.
    """
    from rnatools.pipelines.ism import IsmSettings, run_ism

    settings = IsmSettings(
        fasta=fasta,
        output=output,
        regions=(*([region] if region else []), *(regions or [])),
        regions_file=regions_file,
        model=model,
        strand=strand_value(strand, ("+", "-")),
        window=window,
        max_distance=max_distance,
        masked_marginal=masked_marginal,
        weights=weights,
        device=device,
        precision=precision.value,
        threads=threads,
        batch_size=batch_size,
        shard=shard,
    )
    run_ism(settings, progress=progress_bar)


def register(app: typer.Typer) -> None:
    """Add ``rnatools ism`` to ``app``."""
    app.command("ism")(ism)
