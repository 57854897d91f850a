"""rnatools predict: per-nucleotide splice-site probabilities."""

from __future__ import annotations

import logging
import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from rnatools.cli.console import progress_bar
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
from rnatools.errors import InputError, UsageError
from rnatools.genome import Interval

log = logging.getLogger("rnatools.predict")

_REGION = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,]+)-(?P<end>[\d,]+)$")


class StrandChoice(str, Enum):
    auto = "auto"
    plus = "+"
    minus = "-"
    both = "both"


def parse_region(text: str) -> Interval:
    """``chrom:start-end``, 1-based inclusive like samtools → a 0-based half-open Interval.

    Raises:
        UsageError: not of that form, or start < 1, or end < start.
    """
    match = _REGION.match(text.strip())
    if not match:
        raise UsageError(f"--region {text!r}: expected chrom:start-end (1-based, inclusive)")
    start1 = int(match["start"].replace(",", ""))
    end1 = int(match["end"].replace(",", ""))
    if start1 < 1 or end1 < start1:
        raise UsageError(f"--region {text!r}: need 1 <= start <= end")
    return Interval(match["chrom"], start1 - 1, end1)


def _gene_intervals(path: Path, fmt: str, genes: str | None) -> list[Interval]:
    from rnatools.io.gtf import read_genes

    records = read_genes(path, fmt)  # type: ignore[arg-type]
    if genes:
        wanted = [name.strip() for name in genes.split(",") if name.strip()]
        by_name: dict[str, list] = {}
        for gene in records:
            by_name.setdefault(gene.gene_name, []).append(gene)
            by_name.setdefault(gene.gene_id, []).append(gene)
        missing = [name for name in wanted if name not in by_name]
        if missing:
            raise InputError(f"gene(s) not in the annotation: {', '.join(missing)}", path)
        records = [gene for name in wanted for gene in by_name[name]]
    return [
        Interval(gene.chrom, gene.start, gene.end, gene.strand, gene.gene_name or gene.gene_id)
        for gene in records
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
        typer.Option("--region", "-r", help="chrom:start-end, 1-based inclusive (repeatable)."),
    ] = None,
    sequences: Annotated[
        Path | None,
        typer.Option(
            "--sequences",
            help="FASTA of plain sequences, each padded with 5,000 N per side (SpliceAI's recipe); "
            "no --fasta needed; output chrom = record name, coordinates within the record.",
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
            help="Only write nucleotides whose acceptor or donor probability reaches this.",
        ),
    ] = None,
    chunk_size: Annotated[
        int,
        typer.Option(
            "--chunk-size",
            min=1,
            help="Output nt per model input (each input adds 5,000 nt of context per side); "
            "larger is faster (less repeated context), smaller needs less memory. Results do not "
            "depend on it.",
        ),
    ] = 20_000,  # = scoring.splice_sites.DEFAULT_CHUNK_SIZE (not imported: keeps --help fast)
    batch_size: BatchSizeOption = 16,
    device: DeviceOption = "auto",
    threads: ThreadsOption = 0,
    precision: PrecisionOption = PrecisionChoice.fp32,
    weights: WeightsOption = None,
    regions: RegionsOption = None,
    regions_file: RegionsFileOption = None,
    shard: ShardOption = None,
) -> None:
    """Per-nucleotide SpliceAI acceptor and donor probabilities over regions, genes or sequences.

    Every nucleotide sees its full +-5,000 nt context: real genomic flanks, N past contig ends.
    Minus-strand rows are predicted on the reverse complement and written in genome order.
    Acceptor = first nucleotide of an exon, donor = last nucleotide of an exon, in transcript
    orientation. Coordinates in the output are 0-based half-open (BED-like).
    """
    from rnatools.io.fasta import Fasta, read_fasta_records
    from rnatools.io.tracks import open_track_writer, split_suffix
    from rnatools.models.spliceai import load_spliceai
    from rnatools.runtime import autocast, resolve_device, set_threads
    from rnatools.scoring.splice_sites import (
        InMemorySequences,
        check_interval,
        expand_strands,
        merge_intervals,
        predict_splice_sites,
    )

    inputs = [
        name
        for name, value in (
            ("--bed", bed), ("--gtf", gtf), ("--gff3", gff3), ("--region", region),
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
    fmt, _, _ = split_suffix(output)  # unknown extension -> UsageError before any work
    if output != "-" and not Path(output).resolve().parent.is_dir():
        raise UsageError(f"-o {output}: the folder {Path(output).parent} does not exist")

    set_threads(threads)
    torch_device = resolve_device(device)
    autocast(torch_device, precision.value)  # type: ignore[arg-type]  # fp16 on CPU: fail early

    if sequences is not None:
        if not sequences.is_file():
            raise InputError("file not found", sequences)
        records = read_fasta_records(sequences)
        if not records:
            raise InputError("no FASTA records", sequences)
        source = InMemorySequences(records, str(sequences))
        intervals = [Interval(name, 0, len(seq), "+", name) for name, seq in records]
        if any(iv.length == 0 for iv in intervals):
            raise InputError("a record has an empty sequence", sequences)
    else:
        source = Fasta(fasta)  # type: ignore[arg-type]
        if bed is not None:
            from rnatools.io.bed import read_bed

            intervals = list(read_bed(bed))
        elif gtf is not None or gff3 is not None:
            intervals = _gene_intervals(gtf or gff3, "gtf" if gtf else "gff3", genes)  # type: ignore[arg-type]
        else:
            intervals = [parse_region(text) for text in region or []]
    if not intervals:
        raise InputError("no intervals to predict")

    stranded = [
        check_interval(source, stranded_iv)
        for iv in intervals
        for stranded_iv in expand_strands(iv, strand.value)  # type: ignore[arg-type]
    ]
    if fmt != "tsv":
        stranded = merge_intervals(stranded, list(source.lengths))
    from rnatools.sharding import parse_regions, parse_shard, restrict_intervals, shard_intervals

    stranded = shard_intervals(
        restrict_intervals(stranded, parse_regions(regions, regions_file)),
        parse_shard(shard),
        chunk_size,
    )
    strands = [s for s in ("+", "-") if any(iv.strand == s for iv in stranded)]
    total = sum(iv.length for iv in stranded)
    log.info("predicting %d nt on %d interval(s)", total, len(stranded))

    model = load_spliceai(weights, torch_device)
    try:
        with open_track_writer(
            output, dict(source.lengths), strands, min_score=min_score
        ) as writer, progress_bar("SpliceAI", total, "nt") as bar:
            for track in predict_splice_sites(
                model,
                source,
                stranded,
                device=torch_device,
                precision=precision.value,  # type: ignore[arg-type]
                batch_size=batch_size,
                chunk_size=chunk_size,
                on_chunk=bar.advance,
            ):
                writer.write(track.chrom, track.start, track.strand, track.acceptor, track.donor)
    finally:
        if isinstance(source, Fasta):
            source.close()


def register(app: typer.Typer) -> None:
    """Add ``rnatools predict`` to ``app``."""
    app.command("predict")(predict)
