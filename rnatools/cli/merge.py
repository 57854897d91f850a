"""rnatools merge: join the outputs of ``--shard I/N`` runs into the output of one run."""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rnatools.errors import UsageError

log = logging.getLogger("rnatools.merge")

_HELP = (
    "Join the outputs of --shard runs into the output of one unsharded run, byte for byte. "
    "Give them in shard order (1/N first). VCF shards -> .vcf, .vcf.gz (BGZF, tbi index by "
    "default) or .bcf; TSV shards -> TSV, or bigWig files PREFIX.acceptor.plus.bw ... with "
    "-o PREFIX.bw (contig sizes from --fasta or --chrom-sizes); bedGraph shards (files, or the "
    "PREFIX.bedgraph name of predict's file sets) -> bedGraph, or bigWig from predict's sets. "
    "Headers must be equal and are written once. The output appears complete or not at all."
)


class MergeIndexChoice(str, Enum):
    auto = "auto"
    tbi = "tbi"
    csi = "csi"
    none = "none"


def run_merge(
    inputs: list[str],
    output: str,
    *,
    index: str = "auto",
    fasta: Path | None = None,
    chrom_sizes: Path | None = None,
) -> int:
    """Merge ``inputs`` into ``output``; returns the number of records/rows/lines written.

    Raises:
        UsageError: mixed input kinds, an output format the inputs cannot become, bigWig output
            without contig sizes.
        InputError: missing inputs, headers that differ (see :mod:`rnatools.io.merge`).
    """
    from rnatools.io.merge import (
        bedgraphs_to_bigwig,
        input_kind,
        merge_bedgraphs,
        merge_tables,
        merge_vcfs,
        read_chrom_sizes,
        tables_to_bigwig,
    )

    if not inputs:
        raise UsageError("give the shard outputs to merge, in shard order")
    kinds = {input_kind(path) for path in inputs}
    families = {"vcf" if kind in ("vcf", "bcf") else kind for kind in kinds}
    if len(families) > 1:
        raise UsageError(f"shard outputs of one kind expected, got {', '.join(sorted(kinds))}")
    family = families.pop()
    output_kind = family if output == "-" else _output_kind(output)
    if family == "vcf":
        if output_kind not in ("vcf", "bcf"):
            raise UsageError(f"-o {output}: VCF shards merge into .vcf, .vcf.gz, .bcf or -")
        return merge_vcfs(inputs, output, index)  # type: ignore[arg-type]
    if index not in ("auto", "none"):
        raise UsageError("--index applies to VCF/BCF outputs only")
    if family == "tsv":
        if output_kind == "tsv":
            return merge_tables(inputs, output)
        if output_kind == "bigwig":
            if (fasta is None) == (chrom_sizes is None):
                raise UsageError("bigWig output needs contig sizes: --fasta or --chrom-sizes")
            return tables_to_bigwig(inputs, output, _sizes(fasta, chrom_sizes, read_chrom_sizes))
        raise UsageError(f"-o {output}: TSV shards merge into .tsv(.gz), - or PREFIX.bw")
    if output_kind == "bigwig":
        if (fasta is None) == (chrom_sizes is None):
            raise UsageError("bigWig output needs contig sizes: --fasta or --chrom-sizes")
        return bedgraphs_to_bigwig(inputs, output, _sizes(fasta, chrom_sizes, read_chrom_sizes))
    if output_kind != "bedgraph":
        raise UsageError(f"-o {output}: bedGraph shards merge into .bedgraph(.gz) or PREFIX.bw")
    return merge_bedgraphs(inputs, output)


def _output_kind(output: str) -> str:
    from rnatools.io.merge import input_kind
    from rnatools.io.tracks import split_suffix

    lower = output.lower()
    if lower.endswith((".bw", ".bigwig")):
        return "bigwig"
    try:
        return input_kind(output)
    except UsageError:
        split_suffix(output)  # raises the track writer's message for unknown extensions
        raise


def _sizes(fasta: Path | None, chrom_sizes: Path | None, read_chrom_sizes) -> dict[str, int]:
    if chrom_sizes is not None:
        return read_chrom_sizes(chrom_sizes)
    from rnatools.io.fasta import Fasta

    with Fasta(fasta) as reference:  # type: ignore[arg-type]
        return dict(reference.lengths)


def register(app: typer.Typer) -> None:
    """Add ``rnatools merge`` to ``app``."""

    @app.command("merge", help=_HELP)
    def merge(
        inputs: Annotated[
            list[str],
            typer.Argument(
                help="Shard outputs in shard order (1/N first).", metavar="SHARD_OUTPUT"
            ),
        ],
        output: Annotated[
            str,
            typer.Option(
                "--output", "-o", help="Merged output; format from the extension; - = stdout."
            ),
        ] = "-",
        index: Annotated[
            MergeIndexChoice,
            typer.Option(
                "--index",
                help="Index of a VCF output: auto = tbi for .vcf.gz, csi for .bcf, none for "
                ".vcf; or tbi, csi, none.",
            ),
        ] = MergeIndexChoice.auto,
        fasta: Annotated[
            Path | None,
            typer.Option("--fasta", "-f", help="Reference FASTA: contig sizes of a bigWig output."),
        ] = None,
        chrom_sizes: Annotated[
            Path | None,
            typer.Option(
                "--chrom-sizes", help="chrom<TAB>length file (or .fai): contig sizes for bigWig."
            ),
        ] = None,
    ) -> None:
        count = run_merge(inputs, output, index=index.value, fasta=fasta, chrom_sizes=chrom_sizes)
        log.info("merged %d shard outputs (%d records/rows) into %s", len(inputs), count, output)
