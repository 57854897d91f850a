"""``ism``: in-silico saturation mutagenesis, all three SNVs at every position of regions.

Each SNV is scored in its own variant-centred window on ``strand`` with the KL-context score and
the masked marginal ``delta_logp`` (:func:`rnatools.scoring.zero_shot.saturation_mutagenesis`;
SpliceBERT, doi:10.1093/bib/bbae163; spec ``docs/zero-shot-scores.md``). Regions are done in the
order given, their rows one after the other. ``shard`` ``I/N`` does the I-th contiguous part of
the positions, cut in blocks of :data:`ISM_BLOCK_NT` from each region's start
(:func:`rnatools.sharding.shard_intervals`); the shards' TSVs joined by ``rnatools merge`` equal
the unsharded TSV byte for byte.

Outputs:

- TSV (``.tsv``, ``.tsv.gz``, ``.txt``, ``-``): ``chrom pos ref alt strand kl_context
  delta_logp``; ``pos`` 1-based, REF/ALT on the forward strand, three rows per position (ALT in
  A, C, G, T order; none where REF is not A/C/G/T), ``kl_context`` ``%.4f``, ``delta_logp``
  ``%.6f`` (empty when not computed).
- bigWig (``PREFIX.bw`` / ``PREFIX.bigwig``, one region, no shard): ``PREFIX.kl_context_max.bw``
  and ``PREFIX.delta_logp_min.bw``
  (:func:`rnatools.scoring.zero_shot.strongest_per_position`; the second only with the masked
  marginal).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np

from rnatools.errors import UsageError
from rnatools.genome import Interval
from rnatools.io.atomic import atomic_output
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.pipelines._lm import LanguageModelSettings, load_language_model
from rnatools.scoring.zero_shot import (
    SaturationMutagenesis,
    saturation_mutagenesis,
    strongest_per_position,
)

log = logging.getLogger("rnatools.lm")

__all__ = ["ISM_BLOCK_NT", "ISM_HEADER", "IsmSettings", "IsmSummary", "run_ism"]

ISM_BLOCK_NT = 64
"""Positions per ``saturation_mutagenesis`` chunk, and the block that ``shard`` never splits:
shard parts start on the same chunk boundaries as the unsharded run, so every chunk (and so
every batch of windows) is the same and the TSV shards concatenate to the unsharded TSV."""

ISM_HEADER = "chrom\tpos\tref\talt\tstrand\tkl_context\tdelta_logp\n"
DEFAULT_WINDOW = 510
"""Default window (nt), or the model's maximum if smaller."""

_TSV_SUFFIXES = (".tsv", ".tsv.gz", ".txt")
_BIGWIG_SUFFIXES = (".bw", ".bigwig")


@dataclass(frozen=True, kw_only=True)
class IsmSettings(LanguageModelSettings):
    """What ``ism`` does.

    Attributes:
        fasta: reference FASTA (plain or bgzip).
        output: TSV (``.tsv``, ``.tsv.gz``, ``.txt``, ``-``) or bigWig prefix (``PREFIX.bw``).
        regions: ``chrom:start-end`` texts (1-based inclusive), done in this order.
        regions_file: BED of regions, done after ``regions``.
        model: language model name.
        strand: ``+`` or ``-``: the strand scored (the transcript strand).
        window: window length in nt (>= 3), centred on each variant; ``None``: 510, or the
            model's maximum if smaller.
        max_distance: KL-context distance range ``d = 1..max_distance`` (nt).
        masked_marginal: also compute ``delta_logp`` (one more masked run per position).
        batch_size: windows per model call.
        shard: ``"I/N"``: the I-th contiguous part of the positions.
    """

    fasta: Path
    output: Path
    regions: tuple[str, ...] = ()
    regions_file: Path | None = None
    model: str = "splicebert"
    strand: Literal["+", "-"] = "+"
    window: int | None = None
    max_distance: int = 100
    masked_marginal: bool = True
    batch_size: int = 32
    shard: str | None = None


@dataclass(frozen=True)
class IsmSummary:
    """What ``ism`` did: ``positions`` mutated (``3 ×`` as many SNVs) in ``parts`` intervals,
    ``window`` nt each, written to ``outputs``."""

    positions: int
    parts: int
    window: int
    outputs: tuple[Path, ...]


def _check(settings: IsmSettings) -> tuple[list[Interval], bool]:
    """The regions and whether the output is bigWig."""
    from rnatools.sharding import parse_regions

    regions = parse_regions(settings.regions, settings.regions_file)
    if regions is None:
        raise UsageError("give the region(s) to mutate", parameter="regions")
    name = settings.output.name.lower()
    bigwig = name.endswith(_BIGWIG_SUFFIXES)
    if not bigwig and str(settings.output) != "-" and not name.endswith(_TSV_SUFFIXES):
        raise UsageError(f"{settings.output}: use a .tsv, .tsv.gz or .bw name", parameter="output")
    if bigwig and (len(regions) != 1 or settings.shard is not None):
        raise UsageError(
            "bigWig output takes one region and no shard; write TSV shards and join them "
            "with `rnatools merge`",
            parameter="output",
        )
    if settings.strand not in ("+", "-"):
        raise UsageError(f"strand must be + or -, got {settings.strand!r}", parameter="strand")
    if settings.window is not None and settings.window < 3:
        raise UsageError(f"window must be >= 3 nt, got {settings.window}", parameter="window")
    if settings.max_distance < 1:
        raise UsageError(
            f"max_distance must be >= 1 nt, got {settings.max_distance}", parameter="max_distance"
        )
    return regions, bigwig


def _contexts(
    fasta: Path, regions: list[Interval], parts: list[Interval], window: int
) -> tuple[list[tuple[str, int, int, str]], dict[str, int]]:
    """Per part ``(chrom, start0, end0, context)``: the forward-strand letters of
    ``[start0 - window // 2, end0 + window - 1 - window // 2)`` (``N`` past contig ends), and
    the reference's contig sizes."""
    from rnatools.io.fasta import Fasta
    from rnatools.windows import check_in_contig, window_sequence

    half = window // 2
    short = 2 * half + 1 - window  # window_sequence adds `half` per side: one too many if even
    contexts = []
    with Fasta(fasta) as reference:
        for interval in regions:
            check_in_contig(reference, interval)
        for part in parts:
            chrom = reference.resolve(part.chrom)
            padded = window_sequence(reference, Interval(chrom, part.start, part.end), flank=half)
            contexts.append((chrom, part.start, part.end, padded[: len(padded) - short]))
        sizes = dict(reference.lengths)
    return contexts, sizes


def _write_tsv(
    handle: IO[str], chrom: str, start0: int, result: SaturationMutagenesis, strand: str
) -> None:
    for offset in range(len(result.ref)):
        pos1 = start0 + offset + 1
        ref = result.ref[offset]
        for column in range(3):
            alt = result.alt[offset, column]
            if alt == "N":
                continue
            kl = result.kl_context[offset, column]
            delta = result.delta_logp[offset, column]
            delta_text = "" if np.isnan(delta) else f"{delta:.6f}"
            handle.write(f"{chrom}\t{pos1}\t{ref}\t{alt}\t{strand}\t{kl:.4f}\t{delta_text}\n")


def _write_bigwigs(settings: IsmSettings, results: list, sizes: dict[str, int]) -> tuple[Path, ...]:
    from rnatools.io.tracks import split_suffix, write_value_bigwigs

    ((chrom, start0, result),) = results
    _, prefix, _ = split_suffix(settings.output)
    kl_max, delta_min = strongest_per_position(result)
    tracks = {Path(f"{prefix}.kl_context_max.bw"): kl_max}
    if settings.masked_marginal:
        tracks[Path(f"{prefix}.delta_logp_min.bw")] = delta_min
    written = write_value_bigwigs(tracks, sizes, chrom, start0)
    for path in written:
        log.info("wrote %s", path)
    return tuple(written)


def run_ism(settings: IsmSettings, progress: ProgressFactory = no_progress) -> IsmSummary:
    """Mutate every position of the regions and write ``settings.output`` (atomically).

    Raises:
        UsageError: no region (parameter ``regions``), an output name that is neither TSV nor
            bigWig or a bigWig with several regions or a shard (``output``), a window longer
            than the model takes or below 3 nt (``window``), ``strand``, ``max_distance``,
            ``shard``, ``model``, ``device``, ``precision``.
        InputError: unknown contig, region past a contig end, unreadable FASTA.
        MissingWeightsError: no weights (parameter ``weights``).
    """
    from rnatools.sharding import parse_shard, shard_intervals

    regions, bigwig = _check(settings)
    parts = shard_intervals(regions, parse_shard(settings.shard), ISM_BLOCK_NT)
    if settings.shard is not None:
        log.info(
            "shard %s: %s", settings.shard, ", ".join(str(part) for part in parts) or "nothing"
        )
    lm = load_language_model(settings)
    window = settings.window or min(DEFAULT_WINDOW, lm.max_length)
    if window > lm.max_length:
        raise UsageError(
            f"window {window} exceeds the {lm.max_length} nt {settings.model} takes",
            parameter="window",
        )
    contexts, sizes = _contexts(settings.fasta, regions, parts, window)
    total = sum(end0 - start0 for _, start0, end0, _ in contexts)
    log.info(
        "ism: %d nt (%d SNVs) in %d part(s), %d-nt windows", total, 3 * total, len(parts), window
    )
    results = []
    with progress("ism", total, "positions") as bar:
        for chrom, start0, end0, context in contexts:
            result = saturation_mutagenesis(
                lm,
                context,
                end0 - start0,
                window,
                strand=settings.strand,
                max_distance=settings.max_distance,
                batch_size=settings.batch_size,
                masked_marginal=settings.masked_marginal,
                chunk_positions=ISM_BLOCK_NT,
                progress=bar.advance,
            )
            results.append((chrom, start0, result))
    if bigwig:
        outputs = _write_bigwigs(settings, results, sizes)
    else:
        with atomic_output(settings.output, "w") as handle:
            handle.write(ISM_HEADER)
            for chrom, start0, result in results:
                _write_tsv(handle, chrom, start0, result, settings.strand)
        outputs = () if str(settings.output) == "-" else (settings.output,)
    return IsmSummary(total, len(parts), window, outputs)
