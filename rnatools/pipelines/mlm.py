"""``mlm``: masked-language-model probabilities of the four nucleotides, per position.

Records with ``<mask>`` tokens are filled in (all masks of a record in one run); plain records
get every position masked in turn (pseudo-log-likelihood, :mod:`rnatools.scoring.mlm`; spec
``docs/zero-shot-scores.md``).

Output TSV, one row per reported position: ``name position ref p_A p_C p_G p_T top log_p_ref``;
``position`` 1-based in the record, ``ref`` the letter (upper case) or ``<mask>``, probabilities
over A, C, G, T/U ``%.6f``, ``top`` the ``top_k`` letters as ``X:0.1234`` (most probable first),
``log_p_ref`` nats ``%.6f`` (empty at ``<mask>``). ``pll`` TSV, one row per plain record:
``name length pseudo_log_likelihood per_nt`` (nats, ``%.6f``). ``shard`` ``I/N`` does the I-th
contiguous part of the records; ``rnatools merge`` joins the shards' TSVs into the unsharded ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from rnatools.errors import UsageError
from rnatools.io.atomic import atomic_output
from rnatools.pipelines import ProgressFactory, no_progress
from rnatools.pipelines._lm import (
    LanguageModelSettings,
    load_language_model,
    read_sequences,
    shard_records,
)
from rnatools.scoring.mlm import (
    MASK_TOKEN,
    MaskedPrediction,
    fill_mask,
    masked_every_position,
    parse_masks,
    pseudo_log_likelihood,
    top_letters,
)

log = logging.getLogger("rnatools.lm")

__all__ = ["MLM_HEADER", "PLL_HEADER", "MlmSettings", "MlmSummary", "run_mlm"]

MLM_HEADER = "name\tposition\tref\tp_A\tp_C\tp_G\tp_T\ttop\tlog_p_ref\n"
PLL_HEADER = "name\tlength\tpseudo_log_likelihood\tper_nt\n"


@dataclass(frozen=True, kw_only=True)
class MlmSettings(LanguageModelSettings):
    """What ``mlm`` does.

    Attributes:
        model: language model name.
        sequences: FASTA of records (``<mask>`` allowed); or give ``fasta`` with ``regions``.
        output: per-position TSV (``.tsv``, ``.tsv.gz``, or ``-`` for standard output).
        pll: also write the per-record pseudo-log-likelihood TSV here.
        top_k: letters listed in the ``top`` column (1-4).
        batch_size: masked copies per model call (pseudo-log-likelihood).
        fasta: reference FASTA; each region (forward strand) is a record ``chrom:start-end``.
        regions: ``chrom:start-end`` texts (1-based inclusive).
        regions_file: BED of regions.
        shard: ``"I/N"``: the I-th contiguous part of the records.
    """

    sequences: Path | None = None
    output: Path = Path("-")
    pll: Path | None = None
    top_k: int = 4
    batch_size: int = 16
    fasta: Path | None = None
    regions: tuple[str, ...] = ()
    regions_file: Path | None = None
    shard: str | None = None


@dataclass(frozen=True)
class MlmSummary:
    """What ``mlm`` did: records done, TSV rows written, records with a pseudo-log-likelihood."""

    records: int
    positions: int
    pll_records: int
    output: Path
    pll: Path | None


def _region_records(settings: MlmSettings) -> list[tuple[str, str]]:
    """Forward-strand sequences of the regions, named ``chrom:start-end`` (1-based inclusive)."""
    from rnatools.io.fasta import Fasta
    from rnatools.sharding import parse_regions
    from rnatools.windows import check_in_contig, window_sequence

    wanted = parse_regions(settings.regions, settings.regions_file)
    if settings.fasta is None or wanted is None:
        raise UsageError("give sequences, or fasta with regions", parameter="sequences")
    records = []
    with Fasta(settings.fasta) as reference:
        for region in wanted:
            chrom = check_in_contig(reference, region)
            name = f"{chrom}:{region.start + 1}-{region.end}"
            records.append((name, window_sequence(reference, region, flank=0)))
    return records


def _rows(name: str, sequence: str, prediction: MaskedPrediction, top_k: int) -> list[str]:
    rows = []
    for row, position in enumerate(prediction.positions):
        p = prediction.probabilities[row]
        top = ",".join(f"{letter}:{value:.4f}" for letter, value in top_letters(p, top_k))
        if prediction.log_p_ref is None:
            ref, log_p_ref = MASK_TOKEN, ""
        else:
            ref, log_p_ref = sequence[position].upper(), f"{prediction.log_p_ref[row]:.6f}"
        probs = "\t".join(f"{x:.6f}" for x in p)
        rows.append(f"{name}\t{position + 1}\t{ref}\t{probs}\t{top}\t{log_p_ref}\n")
    return rows


def run_mlm(settings: MlmSettings, progress: ProgressFactory = no_progress) -> MlmSummary:
    """Score the records and write ``settings.output`` (and ``settings.pll``), atomically.

    Raises:
        UsageError: contradictory or missing inputs (parameters ``sequences``, ``top_k``,
            ``shard``, ``regions``, ``model``, ``device``, ``precision``).
        InputError: unreadable inputs, a record longer than the model takes, a bad ``<...>``.
        MissingWeightsError: no weights (parameter ``weights``).
    """
    if not 1 <= settings.top_k <= 4:
        raise UsageError(f"top_k must be in 1-4, got {settings.top_k}", parameter="top_k")
    if settings.sequences is not None:
        if settings.fasta is not None or settings.regions or settings.regions_file is not None:
            raise UsageError("give either sequences or fasta with regions", parameter="sequences")
        records = read_sequences(settings.sequences)
    else:
        records = _region_records(settings)
    records, _ = shard_records(records, settings.shard)
    lm = load_language_model(settings)
    rows: list[str] = []
    summaries: list[str] = []
    with progress("mlm", len(records), "records") as bar:
        for name, raw in records:
            sequence, masks = parse_masks(name, raw)
            lm.check_length(sequence, f"record {name!r}")
            if masks:
                prediction = fill_mask(lm, sequence, masks)
            else:
                prediction = masked_every_position(lm, sequence, batch_size=settings.batch_size)
                total = pseudo_log_likelihood(prediction.log_p_ref)
                per_nt = total / len(sequence)
                summaries.append(f"{name}\t{len(sequence)}\t{total:.6f}\t{per_nt:.6f}\n")
            rows.extend(_rows(name, sequence, prediction, settings.top_k))
            bar.advance(1)
    with atomic_output(settings.output, "w") as handle:
        handle.write(MLM_HEADER)
        handle.writelines(rows)
    if settings.pll is not None:
        with atomic_output(settings.pll, "w") as handle:
            handle.write(PLL_HEADER)
            handle.writelines(summaries)
    return MlmSummary(len(records), len(rows), len(summaries), settings.output, settings.pll)
