"""rnatools embed / mlm / ism: masked RNA language models (SpliceBERT, RNABERT, ...)."""

from __future__ import annotations

import contextlib
import logging
import re
from enum import Enum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from rnatools.cli.console import progress_bar
from rnatools.cli.options import (
    BatchSizeOption,
    DeviceOption,
    FastaOption,
    PrecisionChoice,
    PrecisionOption,
    RegionsFileOption,
    RegionsOption,
    ShardOption,
    ThreadsOption,
    WeightsOption,
)
from rnatools.errors import InputError, UsageError
from rnatools.io.atomic import atomic_output, atomic_paths

log = logging.getLogger("rnatools.lm")

ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Language model: splicebert (1024 nt), splicebert-510, splicebert-human-510, "
        "rnabert (440 nt), rnamsm (single sequence as a depth-1 alignment).",
    ),
]
SequencesOption = Annotated[
    Path | None,
    typer.Option(
        "--sequences",
        "-s",
        exists=True,
        dir_okay=False,
        help="FASTA of sequences (DNA or RNA letters; plain or gzip).",
    ),
]
PadToMaxOption = Annotated[
    bool,
    typer.Option(
        "--pad-to-max",
        help="RNABERT only: pad every sequence to 440 tokens and attend to the padding, as the "
        "original embedding pipeline does (default: each sequence alone, padding masked).",
    ),
]

_MASK = re.compile(r"<mask>", re.IGNORECASE)

ISM_BLOCK_NT = 64
"""Positions per ``saturation_mutagenesis`` chunk, and the block that ``ism --shard`` never
splits: shard parts start on the same chunk boundaries as the unsharded run, so every chunk (and
so every batch of windows) is the same and the TSV shards concatenate to the unsharded TSV."""


class PoolChoice(str, Enum):
    none = "none"
    mean = "mean"


class StrandChoice(str, Enum):
    plus = "+"
    minus = "-"


def _load(model, weights, device, precision, threads, pad_to_max=False):
    from rnatools.models.lm import load_lm
    from rnatools.runtime import resolve_device, set_threads

    set_threads(threads)
    options = {"pad_to_max": True} if pad_to_max else {}
    if pad_to_max and model != "rnabert":
        raise UsageError("--pad-to-max is an RNABERT option")
    resolved = resolve_device(device)
    lm = load_lm(
        model, weights, device=resolved, precision=PrecisionChoice(precision).value, **options
    )
    log.info("%s on %s (%s, max %d nt)", model, resolved, lm.precision, lm.max_length)
    return lm


def _shard_records(records: list, shard: str | None) -> tuple[list, int]:
    """Shard ``I/N``'s contiguous part of ``records`` (:func:`rnatools.sharding.shard_range`) and
    the index of its first record in the whole list."""
    from rnatools.sharding import parse_shard, shard_range

    part = shard_range(len(records), parse_shard(shard))
    if shard is not None:
        log.info("shard %s: records %d-%d of %d", shard, part.start + 1, part.stop, len(records))
    return records[part.start : part.stop], part.start


def _overlaps(interval, regions) -> bool:
    from rnatools.genome import ContigMap

    contigs = ContigMap(region.chrom for region in regions)
    chrom = contigs.get(interval.chrom)
    return any(
        region.chrom == chrom and region.start < interval.end and interval.start < region.end
        for region in regions
    )


def _read_sequences(path: Path) -> list[tuple[str, str]]:
    from rnatools.io.fasta import read_fasta_records

    records = read_fasta_records(path)
    if not records:
        raise InputError("no FASTA record", path)
    seen: set[str] = set()
    for name, sequence in records:
        if name in seen:
            raise InputError(f"record name {name!r} appears twice", path)
        if not sequence:
            raise InputError(f"record {name!r} has no sequence", path)
        seen.add(name)
    return records


def _region_records(
    fasta: Path | None, regions: list[str] | None, regions_file: Path | None
) -> list[tuple[str, str]]:
    """Forward-strand sequences of the regions, named ``chrom:start-end`` (1-based inclusive)."""
    from rnatools.io.fasta import Fasta
    from rnatools.sharding import parse_regions
    from rnatools.windows import check_in_contig

    wanted = parse_regions(regions, regions_file)
    if fasta is None or wanted is None:
        raise UsageError("give --sequences, or --fasta with --regions/--regions-file")
    records = []
    with Fasta(fasta) as reference:
        for region in wanted:
            chrom = check_in_contig(reference, region)
            name = f"{chrom}:{region.start + 1}-{region.end}"
            records.append((name, reference.fetch(chrom, region.start, region.end)))
    return records


def _genomic_records(
    fasta: Path,
    bed: Path | None,
    gtf: Path | None,
    regions=None,
    shard: str | None = None,
) -> tuple[list[tuple[str, str]], int]:
    """Records of the BED/GTF features overlapping ``regions`` (all when None), whole, then
    shard ``I/N``'s part; returns them and the index of the first in the unsharded list."""
    from rnatools.io.fasta import Fasta
    from rnatools.windows import (
        check_in_contig,
        gene_windows,
        interval_windows,
        window_sequence,
    )

    if (bed is None) == (gtf is None):
        raise UsageError("with --fasta give exactly one of --bed or --gtf")
    if bed is not None:
        from rnatools.io.bed import read_bed

        windows = list(interval_windows(read_bed(bed)))
    else:
        from rnatools.io.gtf import read_genes

        windows = list(gene_windows(read_genes(gtf)))
    if regions is not None:
        windows = [window for window in windows if _overlaps(window.interval, regions)]
    windows, first = _shard_records(windows, shard)
    records = []
    with Fasta(fasta) as reference:
        for window in windows:
            check_in_contig(reference, window.interval)
            records.append((window.name, window_sequence(reference, window.interval, flank=0)))
    return records, first


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
    from rnatools.sharding import parse_regions

    wanted = parse_regions(regions, regions_file)
    if wanted is not None and sequences is not None:
        raise UsageError(
            "--regions/--regions-file select genomic features: use --fasta with --bed/--gtf"
        )
    suffix = output.name.lower()
    if not suffix.endswith((".npz", ".h5", ".hdf5")):
        raise UsageError(f"--output {output}: use a .npz or .h5 name")
    if (sequences is None) == (fasta is None):
        raise UsageError("give either --sequences or --fasta with --bed/--gtf")
    if sequences is not None:
        records, first = _shard_records(_read_sequences(sequences), shard)
    else:
        records, first = _genomic_records(fasta, bed, gtf, wanted, shard)
    lm = _load(model, weights, device, precision, threads, pad_to_max)
    names = [name for name, _ in records]
    if len(set(names)) != len(names):
        raise InputError("record names are not unique; embeddings are keyed by name")
    if not tile:
        for name, sequence in records:
            lm.check_length(sequence, f"record {name!r}")
    arrays = lm.embed(
        [sequence for _, sequence in records],
        batch_size=batch_size,
        tile=tile,
        pool=None if pool == PoolChoice.none else pool.value,
    )
    if suffix.endswith(".npz"):
        with atomic_output(output, "wb") as handle:
            np.savez(handle, **dict(zip(names, arrays, strict=True)))
    else:
        import h5py

        with atomic_paths([output]) as (temporary,), h5py.File(temporary, "w") as store:
            store.create_dataset(
                "names", data=np.array(names, dtype=object), dtype=h5py.string_dtype()
            )
            group = store.create_group("embeddings")
            group.attrs["model"] = model
            for index, array in enumerate(arrays, start=first):
                group.create_dataset(str(index), data=array)
    log.info("wrote %d embeddings (%s) to %s", len(arrays), pool.value, output)


def _parse_masks(name: str, sequence: str) -> tuple[str, list[int]]:
    """Replace each ``<mask>`` with a placeholder letter; return its 0-based positions."""
    parts = _MASK.split(sequence)
    positions, pieces, length = [], [], 0
    for index, part in enumerate(parts):
        if "<" in part or ">" in part:
            raise InputError(f"record {name!r}: only <mask> may appear between angle brackets")
        pieces.append(part)
        length += len(part)
        if index < len(parts) - 1:
            positions.append(length)
            pieces.append("A")  # placeholder: the position is masked anyway
            length += 1
    return "".join(pieces), positions


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
    import torch

    if sequences is not None:
        if fasta is not None or regions or regions_file is not None:
            raise UsageError("give either --sequences or --fasta with --regions/--regions-file")
        records = _read_sequences(sequences)
    else:
        records = _region_records(fasta, regions, regions_file)
    records, _ = _shard_records(records, shard)
    lm = _load(model, weights, device, precision, threads)
    rows: list[str] = []
    summaries: list[str] = []
    letters = "ACGT"
    with progress_bar("mlm", total=len(records), unit="records") as bar:
        for name, raw in records:
            sequence, masks = _parse_masks(name, raw)
            lm.check_length(sequence, f"record {name!r}")
            if masks:
                (logits,) = lm.nucleotide_logits([sequence], [masks])
                positions = masks
                probabilities = torch.softmax(torch.from_numpy(logits[masks]).double(), -1)
            else:
                positions = list(range(len(sequence)))
                windows = [sequence] * len(sequence)
                logits = lm.nucleotide_logits(
                    windows, [[p] for p in positions], batch_size=batch_size
                )
                rows_logits = np.stack([logits[p][p] for p in positions])
                probabilities = torch.softmax(torch.from_numpy(rows_logits).double(), -1)
            probabilities = probabilities.numpy()
            total = 0.0
            for row, position in enumerate(positions):
                p = probabilities[row]
                order = np.argsort(-p, kind="stable")[:top_k]
                top = ",".join(f"{letters[i]}:{p[i]:.4f}" for i in order)
                if masks:
                    ref, log_p_ref = "<mask>", ""
                else:
                    ref = sequence[position].upper()
                    ref_index = letters.find(ref.replace("U", "T"))
                    value = np.log(p[ref_index]) if ref_index >= 0 else np.nan
                    total += value
                    log_p_ref = f"{value:.6f}"
                probs = "\t".join(f"{x:.6f}" for x in p)
                rows.append(f"{name}\t{position + 1}\t{ref}\t{probs}\t{top}\t{log_p_ref}\n")
            if not masks:
                summaries.append(
                    f"{name}\t{len(sequence)}\t{total:.6f}\t{total / len(sequence):.6f}\n"
                )
            bar.advance(1)
    with atomic_output(output, "w") as handle:
        handle.write("name\tposition\tref\tp_A\tp_C\tp_G\tp_T\ttop\tlog_p_ref\n")
        handle.writelines(rows)
    if pll is not None:
        with atomic_output(pll, "w") as handle:
            handle.write("name\tlength\tpseudo_log_likelihood\tper_nt\n")
            handle.writelines(summaries)


def _write_bigwigs(
    prefix: str, chrom: str, start0: int, tracks: dict[str, np.ndarray], sizes: dict[str, int]
) -> list[Path]:
    import pyBigWig

    written = []
    with contextlib.ExitStack() as stack:
        for track, values in tracks.items():
            destination = Path(f"{prefix}.{track}.bw")
            (temporary,) = stack.enter_context(atomic_paths([destination]))
            bigwig = pyBigWig.open(str(temporary), "w")
            if bigwig is None:
                raise OSError(f"cannot write bigWig {destination}")
            bigwig.addHeader([(name, int(size)) for name, size in sizes.items()])
            finite = np.isfinite(values)
            # one entry list per run of finite values (positions with REF = N have none)
            edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
            for run_start, run_end in zip(edges[::2], edges[1::2], strict=True):
                bigwig.addEntries(
                    chrom,
                    int(start0 + run_start),
                    values=values[run_start:run_end].tolist(),
                    span=1,
                    step=1,
                )
            bigwig.close()
            written.append(destination)
    return written


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
    from rnatools.io.fasta import Fasta
    from rnatools.scoring.zero_shot import saturation_mutagenesis
    from rnatools.sharding import parse_regions, parse_shard, shard_intervals
    from rnatools.windows import check_in_contig

    wanted = parse_regions([*([region] if region else []), *(regions or [])], regions_file)
    if wanted is None:
        raise UsageError("give the region(s) to mutate: --region, --regions or --regions-file")
    name = output.name.lower()
    bigwig = name.endswith((".bw", ".bigwig"))
    if not bigwig and str(output) != "-" and not name.endswith((".tsv", ".tsv.gz", ".txt")):
        raise UsageError(f"--output {output}: use a .tsv, .tsv.gz or .bw name")
    if bigwig and (len(wanted) != 1 or shard is not None):
        raise UsageError(
            "bigWig output takes one region and no --shard; write TSV shards and join them "
            "with `rnatools merge`"
        )
    parts = shard_intervals(wanted, parse_shard(shard), ISM_BLOCK_NT)
    if shard is not None:
        log.info("shard %s: %s", shard, ", ".join(str(part) for part in parts) or "nothing")
    lm = _load(model, weights, device, precision, threads)
    window = window or min(510, lm.max_length)
    if window > lm.max_length:
        raise UsageError(f"--window {window} exceeds the {lm.max_length} nt {model} takes")
    half = window // 2
    with Fasta(fasta) as reference:
        for interval in wanted:
            check_in_contig(reference, interval)
        contexts = []
        for part in parts:
            chrom = reference.resolve(part.chrom)
            context = reference.fetch_padded(chrom, part.start - half, part.end + window - 1 - half)
            contexts.append((chrom, part.start, part.end, context))
        sizes = dict(reference.lengths)
    total = sum(end0 - start0 for _, start0, end0, _ in contexts)
    log.info(
        "ism: %d nt (%d SNVs) in %d part(s), %d-nt windows", total, 3 * total, len(parts), window
    )
    results = []
    with progress_bar("ism", total=total, unit="positions") as bar:
        for chrom, start0, end0, context in contexts:
            result = saturation_mutagenesis(
                lm,
                context,
                end0 - start0,
                window,
                strand=strand.value,
                max_distance=max_distance,
                batch_size=batch_size,
                masked_marginal=masked_marginal,
                chunk_positions=ISM_BLOCK_NT,
                progress=bar.advance,
            )
            results.append((chrom, start0, result))
    if bigwig:
        ((chrom, start0, result),) = results
        prefix = (
            str(output)[: -len(".bw")] if name.endswith(".bw") else str(output)[: -len(".bigwig")]
        )
        # NaN (REF = N) never wins the max/min; a position with no finite value stays NaN
        kl_max = np.where(np.isnan(result.kl_context), -np.inf, result.kl_context).max(axis=1)
        delta_min = np.where(np.isnan(result.delta_logp), np.inf, result.delta_logp).min(axis=1)
        tracks = {
            "kl_context_max": np.where(np.isfinite(kl_max), kl_max, np.nan),
            "delta_logp_min": np.where(np.isfinite(delta_min), delta_min, np.nan),
        }
        if not masked_marginal:
            del tracks["delta_logp_min"]
        for path in _write_bigwigs(prefix, chrom, start0, tracks, sizes):
            log.info("wrote %s", path)
        return
    with atomic_output(output, "w") as handle:
        handle.write("chrom\tpos\tref\talt\tstrand\tkl_context\tdelta_logp\n")
        for chrom, start0, result in results:
            _write_ism_rows(handle, chrom, start0, result, strand.value)


def _write_ism_rows(handle, chrom: str, start0: int, result, strand: str) -> None:
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


def register(app: typer.Typer) -> None:
    """Add this module's subcommand(s) to ``app``."""
    app.command("embed")(embed)
    app.command("mlm")(mlm)
    app.command("ism")(ism)
