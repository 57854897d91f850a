"""``rnatools mlm``: options → :func:`rnatools.pipelines.mlm.run_mlm`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar
from rnatools.cli.lm_options import ModelOption
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


def mlm(
    model: ModelOption,
    sequences: Annotated[
        Path | None,
        typer.Option(
            "--sequences",
            "-s",
            exists=True,
            dir_okay=False,
            help="FASTA; records with <mask> are filled in, plain records get every position "
            "masked in turn (pseudo-log-likelihood).",
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Per-position TSV (.tsv, .tsv.gz or - ).")
    ] = Path("-"),
    pll: Annotated[
        Path | None,
        typer.Option(
            "--pll",
            help="Also write a per-record TSV: name, length, pseudo_log_likelihood (nats, sum "
            "over positions of ln P(ref) with that position masked), per_nt.",
        ),
    ] = None,
    top_k: Annotated[
        int, typer.Option("--top-k", min=1, max=4, help="Letters listed in the `top` column.")
    ] = 4,
    weights: WeightsOption = None,
    device: DeviceOption = "auto",
    batch_size: BatchSizeOption = 16,
    precision: PrecisionOption = PrecisionChoice.fp32,
    threads: ThreadsOption = 0,
    fasta: Annotated[
        Path | None,
        typer.Option(
            "--fasta",
            "-f",
            exists=True,
            dir_okay=False,
            help="Reference FASTA (plain or bgzip): with --regions/--regions-file, each region "
            "(forward strand) is a record named chrom:start-end (1-based inclusive).",
        ),
    ] = None,
    regions: RegionsOption = None,
    regions_file: RegionsFileOption = None,
    shard: ShardOption = None,
) -> None:
    """Masked-language-model probabilities of the four nucleotides.

    Output columns: name, position (1-based in the record), ref (the letter, or <mask>), p_A,
    p_C, p_G, p_T (probabilities over the four nucleotides only; T stands for U in RNA models),
    top (the top-k letters with probabilities), log_p_ref (nats; empty at <mask>). --shard I/N
    does the I-th contiguous part of the records; `rnatools merge` joins the shards' TSVs
    (and --pll TSVs) into the unsharded ones.
    """
    from rnatools.pipelines.mlm import MlmSettings, run_mlm

    settings = MlmSettings(
        model=model,
        sequences=sequences,
        output=output,
        pll=pll,
        top_k=top_k,
        weights=weights,
        device=device,
        precision=precision.value,
        threads=threads,
        batch_size=batch_size,
        fasta=fasta,
        regions=tuple(regions or ()),
        regions_file=regions_file,
        shard=shard,
    )
    run_mlm(settings, progress=progress_bar)


def register(app: typer.Typer) -> None:
    """Add ``rnatools mlm`` to ``app``."""
    app.command("mlm")(mlm)
