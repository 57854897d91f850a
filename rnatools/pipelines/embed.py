"""``embed``: last-layer per-nucleotide embeddings of sequences or genomic features.

Records come from a FASTA of sequences, or from BED intervals / GTF genes (each gene's canonical
transcript) cut from a reference on their strand (reverse complement for ``-``; unstranded BED
lines on ``+``). ``regions`` keeps the features that overlap a region (whole features);
``shard`` ``I/N`` embeds the I-th contiguous part of the records.

Outputs (float32; row ``i`` is nucleotide ``i`` of the record, special tokens dropped):

- ``OUT.npz``: one array per record, keyed by name;
- ``OUT.h5`` / ``.hdf5``: ``/names`` and one dataset per record under ``/embeddings``, named by
  its index in the unsharded run (so the shards together hold exactly the unsharded datasets);
  ``/embeddings`` has the attribute ``model``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from rnatools.errors import InputError, UsageError
from rnatools.genome import ContigMap, Interval
from rnatools.io.atomic import atomic_output, atomic_paths
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.pipelines._lm import (
    LanguageModelSettings,
    load_language_model,
    read_sequences,
    shard_records,
)
from rnatools.sharding import parse_regions
from rnatools.windows import Window

log = logging.getLogger("rnatools.lm")

__all__ = ["EmbedSettings", "EmbedSummary", "run_embed"]


@dataclass(frozen=True, kw_only=True)
class EmbedSettings(LanguageModelSettings):
    """What ``embed`` does.

    Attributes:
        model: language model name (:func:`rnatools.models.registry.model_names` ``("mlm")``).
        output: ``.npz``, ``.h5`` or ``.hdf5`` file.
        sequences: FASTA of sequences (DNA or RNA letters); or give ``fasta`` with ``bed``/``gtf``.
        fasta: reference FASTA for ``bed``/``gtf``.
        bed: BED intervals (with ``fasta``).
        gtf: GTF/GFF3; one record per gene, its canonical transcript's pre-mRNA (with ``fasta``).
        pool: ``"none"``: ``(length, hidden)`` per record; ``"mean"``: ``(hidden,)``.
        tile: cut records longer than the model's maximum into half-overlapping tiles (each
            keeps its central half); without it such records are an error.
        weights: weights folder or file; ``None`` looks where the registry says.
        pad_to_max: RNABERT only: pad to 440 tokens and attend to the padding (original pipeline).
        device, precision, threads: the engine (:class:`rnatools.engine.Engine`).
        batch_size: windows per model call.
        regions: ``chrom:start-end`` texts (1-based inclusive); keep features overlapping them.
        regions_file: BED of regions, as ``regions``.
        shard: ``"I/N"``: the I-th contiguous part of the records.
    """

    output: Path
    sequences: Path | None = None
    fasta: Path | None = None
    bed: Path | None = None
    gtf: Path | None = None
    pool: Literal["none", "mean"] = "none"
    tile: bool = False
    pad_to_max: bool = False
    batch_size: int = 8
    regions: tuple[str, ...] = ()
    regions_file: Path | None = None
    shard: str | None = None


@dataclass(frozen=True)
class EmbedSummary:
    """What ``embed`` did: ``records`` embedded (``first`` = index of the first in the
    unsharded run), written to ``output``."""

    records: int
    first: int
    output: Path
    pool: str


def _overlapping(windows: list[Window], regions: list[Interval]) -> list[Window]:
    """The windows whose feature overlaps a region (chr-prefix/MT spellings match), whole."""
    contigs = ContigMap(region.chrom for region in regions)

    def overlaps(interval: Interval) -> bool:
        chrom = contigs.get(interval.chrom)
        return any(
            region.chrom == chrom and region.start < interval.end and interval.start < region.end
            for region in regions
        )

    return [window for window in windows if overlaps(window.interval)]


def _genomic_records(
    settings: EmbedSettings, regions: list[Interval] | None
) -> tuple[list[tuple[str, str]], int]:
    """Records of the BED/GTF features (overlapping ``regions``), then the shard's part."""
    from rnatools.io.fasta import Fasta
    from rnatools.windows import check_in_contig, gene_windows, interval_windows, window_sequence

    if (settings.bed is None) == (settings.gtf is None):
        raise UsageError("with fasta give exactly one of bed or gtf", parameter="bed")
    if settings.bed is not None:
        from rnatools.io.bed import read_bed

        windows = list(interval_windows(read_bed(settings.bed)))
    else:
        from rnatools.io.gtf import read_genes

        windows = list(gene_windows(read_genes(settings.gtf)))
    if regions is not None:
        windows = _overlapping(windows, regions)
    windows, first = shard_records(windows, settings.shard)
    records = []
    with Fasta(settings.fasta) as reference:
        for window in windows:
            check_in_contig(reference, window.interval)
            records.append((window.name, window_sequence(reference, window.interval, flank=0)))
    return records, first


def _check(settings: EmbedSettings) -> list[Interval] | None:
    regions = parse_regions(settings.regions, settings.regions_file)
    if regions is not None and settings.sequences is not None:
        raise UsageError(
            "regions select genomic features: give fasta with bed or gtf instead of sequences",
            parameter="fasta",
        )
    if not settings.output.name.lower().endswith((".npz", ".h5", ".hdf5")):
        raise UsageError(f"{settings.output}: use a .npz or .h5 name", parameter="output")
    if (settings.sequences is None) == (settings.fasta is None):
        raise UsageError("give either sequences or fasta with bed or gtf", parameter="sequences")
    if settings.pool not in ("none", "mean"):
        raise UsageError(f"pool must be none or mean, got {settings.pool!r}", parameter="pool")
    return regions


def _write(settings: EmbedSettings, names: list[str], arrays: list, first: int) -> None:
    if settings.output.name.lower().endswith(".npz"):
        with atomic_output(settings.output, "wb") as handle:
            np.savez(handle, **dict(zip(names, arrays, strict=True)))
        return
    import h5py

    with atomic_paths([settings.output]) as (temporary,), h5py.File(temporary, "w") as store:
        store.create_dataset("names", data=np.array(names, dtype=object), dtype=h5py.string_dtype())
        group = store.create_group("embeddings")
        group.attrs["model"] = settings.model
        for index, array in enumerate(arrays, start=first):
            group.create_dataset(str(index), data=array)


def run_embed(settings: EmbedSettings, progress: ProgressFactory = no_progress) -> EmbedSummary:
    """Embed the records and write ``settings.output`` (atomically).

    ``progress`` is accepted for uniformity with the other pipelines; ``embed`` reports none.

    Raises:
        UsageError: contradictory or missing inputs (parameters ``fasta``, ``sequences``,
            ``bed``, ``output``, ``pool``, ``shard``, ``regions``, ``model``, ``pad_to_max``,
            ``device``, ``precision``).
        InputError: unreadable inputs, duplicate record names, a record longer than the model
            takes without ``tile``.
        MissingWeightsError: no weights (parameter ``weights``).
    """
    regions = _check(settings)
    if settings.sequences is not None:
        records, first = shard_records(read_sequences(settings.sequences), settings.shard)
    else:
        records, first = _genomic_records(settings, regions)
    lm = load_language_model(settings, pad_to_max=settings.pad_to_max)
    names = [name for name, _ in records]
    if len(set(names)) != len(names):
        raise InputError("record names are not unique; embeddings are keyed by name")
    if not settings.tile:
        for name, sequence in records:
            lm.check_length(sequence, f"record {name!r}")
    arrays = lm.embed(
        [sequence for _, sequence in records],
        batch_size=settings.batch_size,
        tile=settings.tile,
        pool=None if settings.pool == "none" else settings.pool,
    )
    _write(settings, names, arrays, first)
    log.info("wrote %d embeddings (%s) to %s", len(arrays), settings.pool, settings.output)
    return EmbedSummary(len(arrays), first, settings.output, settings.pool)
