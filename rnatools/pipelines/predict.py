"""The ``predict`` pipeline: per-nucleotide splice-site probabilities → TSV, bedGraph or bigWig.

Any splice model of the registry (``model``: ``spliceai``, ``openspliceai-mane[-F]``,
``pangolin``). Models with acceptor and donor channels (SpliceAI, OpenSpliceAI) write those two;
Pangolin writes its nine channels (per tissue ``<tissue>_psplice`` and ``<tissue>_usage`` for
heart, liver, brain, testis, then ``max_psplice``) as TSV columns and in the file names
(``PREFIX.heart_psplice.plus.bw`` …), see
:func:`rnatools.scoring.splice_sites.track_channels`.

Inputs (exactly one): BED intervals, the genes of a GTF/GFF3 (their span and strand), ``region``
texts (``chrom:start-end``, 1-based inclusive; each an interval to predict), or plain sequences
(each predicted with the model's context of ``N`` per side, 5,000 for SpliceAI: its recipe; no
reference needed). Every
nucleotide sees the model's full context: real genomic flanks, ``N`` past contig ends
(:func:`rnatools.scoring.splice_sites.predict_splice_sites`). Minus-strand rows are predicted on
the reverse complement and written in genome order; coordinates in the output are 0-based
half-open. Acceptor = first nucleotide of an exon, donor = last nucleotide of an exon, in
transcript orientation.

Output (:mod:`rnatools.io.tracks`): ``-`` or ``.tsv(.gz)`` is one table in input order;
``PREFIX.bedgraph(.gz)`` and ``PREFIX.bw`` are one file per channel and strand
(``PREFIX.acceptor.plus.bw`` ...), for which overlapping intervals are merged and sorted
(:func:`rnatools.genome.merge_intervals`). ``regions``/``regions_file`` restrict the work to
genomic ranges and ``shard`` computes part ``I/N`` of it (:mod:`rnatools.sharding`); the shards'
outputs, joined by ``rnatools merge``, are the unsharded output.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rnatools.engine import Engine
from rnatools.errors import InputError, UsageError
from rnatools.genome import Interval, merge_intervals, parse_region
from rnatools.io.atomic import check_output_folder
from rnatools.io.tracks import split_suffix, track_paths
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.scoring import splice_sites
from rnatools.scoring.splice_sites import DEFAULT_CHUNK_SIZE
from rnatools.sharding import (
    Shard,
    parse_regions,
    parse_shard,
    restrict_intervals,
    shard_intervals,
)
from rnatools.windows import SequenceSource

log = logging.getLogger("rnatools.predict")

StrandMode = Literal["auto", "+", "-", "both"]
DEFAULT_BATCH_SIZE = 16
_INPUTS = ("bed", "gtf", "gff3", "region", "sequences")


@dataclass(frozen=True)
class PredictSettings:
    """What ``rnatools predict`` does; field names are the parameters errors name.

    Attributes:
        output: ``-`` or ``.tsv(.gz)`` (a table), ``PREFIX.bedgraph(.gz)`` or ``PREFIX.bw`` (one
            file per channel and strand).
        fasta: reference FASTA (plain or bgzip) for genomic inputs.
        bed: BED3-6 intervals to predict (strand from column 6).
        gtf: GTF: predict over each gene's span and strand.
        gff3: GFF3: the same.
        genes: with ``gtf``/``gff3``: only these genes (names or ids), in this order.
        region: intervals to predict, ``chrom:start-end`` 1-based inclusive.
        sequences: FASTA of plain sequences (no ``fasta``); rows are named by the records.
        strand: ``auto`` (the feature's strand, both for unstranded ones), ``+``, ``-`` or
            ``both``.
        min_score: only write nucleotides whose acceptor or donor probability reaches this.
        chunk_size: output nt per model input (results do not depend on it).
        batch_size: model inputs per call.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        threads: CPU threads (0: library default).
        precision: ``fp32``, ``bf16`` or ``fp16``.
        weights: the model's weights (file or folder); None: its environment variable
            (``$RNATOOLS_SPLICEAI_WEIGHTS``, …) or, for SpliceAI, the installed ``spliceai``
            package.
        model: a splice model of the registry (``spliceai``, ``openspliceai-mane``,
            ``openspliceai-mane-80|400|2000|10000``, ``pangolin``).
        regions: restrict the work to these ranges (``chrom:start-end``, 1-based inclusive):
            the intervals are clipped to them (for splitting a run).
        regions_file: the same from a BED file.
        shard: compute part ``I/N`` of the (restricted) nucleotides.
    """

    output: str = "-"
    fasta: Path | None = None
    bed: Path | None = None
    gtf: Path | None = None
    gff3: Path | None = None
    genes: tuple[str, ...] | None = None
    region: tuple[str, ...] = ()
    sequences: Path | None = None
    strand: StrandMode = "auto"
    min_score: float | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    batch_size: int = DEFAULT_BATCH_SIZE
    device: str = "auto"
    threads: int = 0
    precision: str = "fp32"
    weights: Path | None = None
    regions: tuple[str, ...] = ()
    regions_file: Path | None = None
    shard: str | Shard | None = None
    model: str = "spliceai"

    def __post_init__(self) -> None:
        # A single string where a tuple is expected: one region, comma-separated genes.
        for name in ("region", "regions"):
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, (getattr(self, name),))
        if isinstance(self.genes, str):
            object.__setattr__(self, "genes", tuple(self.genes.split(",")))


@dataclass(frozen=True)
class PredictSummary:
    """What a predict run did.

    Attributes:
        output: the output name as given.
        files: files written (none for standard output; one per channel and strand for
            bedGraph/bigWig, e.g. ``X.acceptor.plus.bw``).
        intervals: stranded intervals predicted (after merging, restriction and sharding).
        nucleotides: nt predicted, strands counted separately.
        strands: strands written (``+`` before ``-``).
        device: the device the model ran on.
        channels: the channels written (``acceptor``, ``donor``; Pangolin's nine).
    """

    output: str
    files: tuple[Path, ...]
    intervals: int
    nucleotides: int
    strands: tuple[str, ...]
    device: str
    channels: tuple[str, ...] = ("acceptor", "donor")


def _check(settings: PredictSettings) -> None:
    from rnatools.models.registry import get_model_info

    get_model_info(settings.model, kind="splice")  # UsageError (model) before any work
    given = [name for name in _INPUTS if getattr(settings, name)]
    if len(given) != 1:
        raise UsageError(
            f"give exactly one of {', '.join(_INPUTS)}"
            + (f" (got {', '.join(given)})" if given else ""),
        )
    if settings.sequences is not None and settings.fasta is not None:
        raise UsageError("sequences carry their own sequences; drop fasta", parameter="fasta")
    if settings.sequences is None and settings.fasta is None:
        raise UsageError(f"{given[0]} needs fasta (the reference genome)", parameter="fasta")
    if settings.genes and not (settings.gtf or settings.gff3):
        raise UsageError("genes needs gtf or gff3", parameter="genes")
    if settings.strand not in ("auto", "+", "-", "both"):
        raise UsageError(f"{settings.strand!r}: expected auto, +, - or both", parameter="strand")
    if settings.min_score is not None and not 0.0 <= settings.min_score <= 1.0:
        raise UsageError(f"{settings.min_score} is not in [0, 1]", parameter="min_score")
    for name in ("chunk_size", "batch_size"):
        if getattr(settings, name) < 1:
            raise UsageError(f"must be >= 1, got {getattr(settings, name)}", parameter=name)
    split_suffix(settings.output)  # an unknown extension fails before any work
    if str(settings.output) != "-":
        # the same error (OutputError, exit 4) as every other output: missing or read-only folder
        check_output_folder(settings.output)


def _gene_intervals(path: Path, fmt: Literal["gtf", "gff3"], genes) -> list[Interval]:
    from rnatools.io.gtf import read_genes, select_genes

    chosen = select_genes(read_genes(path, fmt), genes, order="names", path=path)
    return [
        Interval(gene.chrom, gene.start, gene.end, gene.strand, gene.gene_name or gene.gene_id)  # type: ignore[arg-type]
        for gene in chosen
    ]


def _source_and_intervals(
    settings: PredictSettings, stack: contextlib.ExitStack
) -> tuple[SequenceSource, list[Interval]]:
    """The sequence source and the intervals the input names (unstranded ones stay ``.``)."""
    from rnatools.io.fasta import Fasta, read_fasta_records

    if settings.sequences is not None:
        path = settings.sequences
        if not Path(path).is_file():
            raise InputError("file not found", path)
        records = read_fasta_records(path)
        if not records:
            raise InputError("no FASTA records", path)
        source = splice_sites.InMemorySequences(records, str(path))
        intervals = [Interval(name, 0, len(seq), "+", name) for name, seq in records]
        if any(iv.length == 0 for iv in intervals):
            raise InputError("a record has an empty sequence", path)
        return source, intervals
    fasta = stack.enter_context(Fasta(settings.fasta))  # type: ignore[arg-type]
    if settings.bed is not None:
        from rnatools.io.bed import read_bed

        intervals = list(read_bed(settings.bed))
    elif settings.gtf is not None:
        intervals = _gene_intervals(settings.gtf, "gtf", settings.genes)
    elif settings.gff3 is not None:
        intervals = _gene_intervals(settings.gff3, "gff3", settings.genes)
    else:
        intervals = [parse_region(text, parameter="region") for text in settings.region]
    return fasta, intervals


def plan_intervals(
    settings: PredictSettings, source: SequenceSource, intervals: list[Interval]
) -> list[Interval]:
    """The stranded intervals to predict, in writing order: strands expanded, contigs spelled
    as in ``source``, merged and sorted for bedGraph/bigWig, clipped to ``regions`` and cut to
    ``shard``'s part.

    Raises:
        InputError: no interval, an empty one, or one past its contig's end.
        ContigNotFoundError: an unknown contig.
    """
    if not intervals:
        raise InputError("no intervals to predict")
    stranded = [
        splice_sites.check_interval(source, stranded_iv)
        for iv in intervals
        for stranded_iv in splice_sites.expand_strands(iv, settings.strand)
    ]
    fmt, _, _ = split_suffix(settings.output)
    if fmt != "tsv":
        stranded = merge_intervals(stranded, list(source.lengths), stranded=True)
    restriction = parse_regions(settings.regions, settings.regions_file)
    return shard_intervals(
        restrict_intervals(stranded, restriction),
        parse_shard(settings.shard),
        settings.chunk_size,
    )


def run_predict(
    settings: PredictSettings, progress: ProgressFactory = no_progress
) -> PredictSummary:
    """Predict and write the tracks of ``settings`` (see the module docstring).

    The device and precision are checked (:class:`~rnatools.engine.Engine`) before any input is
    read, and the weights are loaded after the inputs are checked. The output files appear
    together at the end, or not at all.

    Raises:
        UsageError: contradictory or out-of-range settings (the parameter is named).
        OutputError: the output's folder does not exist or cannot be written (checked first).
        InputError: unreadable inputs, a gene not in the annotation, an interval past its
            contig's end.
        ContigNotFoundError: an interval on a contig the reference lacks.
        MissingWeightsError: (parameter ``weights``) no weights for the model.
    """
    from rnatools.io.tracks import open_track_writer
    from rnatools.models.registry import load_model

    _check(settings)
    engine = Engine(settings.device, settings.precision, settings.threads)
    with contextlib.ExitStack() as stack:
        source, intervals = _source_and_intervals(settings, stack)
        planned = plan_intervals(settings, source, intervals)
        strands = [s for s in ("+", "-") if any(iv.strand == s for iv in planned)]
        total = sum(iv.length for iv in planned)
        log.info("predicting %d nt on %d interval(s)", total, len(planned))
        model = load_model(settings.model, settings.weights, engine=engine)
        channels, indices = splice_sites.track_channels(model)
        label = "SpliceAI" if settings.model == "spliceai" else settings.model
        with (
            open_track_writer(
                settings.output,
                dict(source.lengths),
                strands,
                min_score=settings.min_score,
                channels=channels,
            ) as writer,
            progress(label, total, "nt") as bar,
        ):
            common: dict[str, Any] = dict(
                engine=engine,
                batch_size=settings.batch_size,
                chunk_size=settings.chunk_size,
                on_chunk=bar.advance,
            )
            if channels == splice_sites.SPLICE_SITE_CHANNELS:
                for track in splice_sites.predict_splice_sites(model, source, planned, **common):
                    writer.write(
                        track.chrom, track.start, track.strand, track.acceptor, track.donor
                    )
            else:
                for chunk in splice_sites.predict_tracks(
                    model, source, planned, channels=indices, **common
                ):
                    writer.write(chunk.chrom, chunk.start, chunk.strand, *chunk.values.T)
    return PredictSummary(
        output=settings.output,
        files=tuple(track_paths(settings.output, strands, channels)),
        intervals=len(planned),
        nucleotides=total,
        strands=tuple(strands),
        device=str(engine.device),
        channels=channels,
    )


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "PredictSettings",
    "PredictSummary",
    "plan_intervals",
    "run_predict",
]
