"""Speed of the precomputed-score lookup (``annotate --precomputed``), in lookups per second.

Writes a synthetic precomputed file shaped like Illumina's SNV files (one ALT per line, the three
ALTs of every position, SpliceAI entries; ``--genes 2`` puts two overlapping genes on every
position) with ``--records`` lines, bgzips and indexes it in a temporary folder, then looks up
every one of its records, in file order, through :class:`rnatools.scoring.precomputed.
PrecomputedScores` (every lookup hits) on one CPU core. With ``--half`` it also looks up the same
number of records of which every other one is absent (half misses). Examples::

    python benchmarks/precomputed_lookup.py                       # 100,000 records
    python benchmarks/precomputed_lookup.py --records 1000000 --genes 2 --json lookup.json

Prints one line per run and, with ``--json PATH``, writes the figures (lookups per second of
wall time and of CPU time, which a busy machine does not distort; peak RSS; Python, torch and
pysam versions; git commit). Add ``--sparse N`` to look up only every N-th record as well (a
sorted VCF much sparser than the precomputed file).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pysam

from rnatools.io.gene_table import GeneRow, GeneTable
from rnatools.scoring.precomputed import PrecomputedScores, run_settings, settings_header_line
from rnatools.scoring.variants import Variant

ROOT = Path(__file__).resolve().parents[1]
BASES = "ACGT"


def make_file(path: Path, records: int, genes: int, spacing: int, settings: dict) -> list:
    """Write the precomputed VCF (bgzip + tabix); return the variants it holds, in order."""
    plain = path.with_suffix("")
    variants = []
    with open(plain, "w") as handle:
        handle.write("##fileformat=VCFv4.2\n")
        handle.write('##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAI scores">\n')
        handle.write(settings_header_line("SpliceAI", settings) + "\n")
        handle.write("##contig=<ID=1,length=248956422>\n")
        handle.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        pos1 = 10_001
        written = 0
        while written < records:
            ref = BASES[pos1 % 4]
            for alt in BASES:
                if alt == ref or written == records:
                    continue
                entries = ",".join(
                    f"{alt}|GENE{g}|0.{(pos1 + g) % 100:02d}|0.00|0.01|0.00|{pos1 % 50 - 25}|"
                    f"-3|12|-40"
                    for g in range(genes)
                )
                handle.write(f"1\t{pos1}\t.\t{ref}\t{alt}\t.\t.\tSpliceAI={entries}\n")
                variants.append(Variant("chr1", pos1, ref, (alt,)))
                written += 1
            pos1 += spacing
    pysam.tabix_compress(str(plain), str(path), force=True)
    plain.unlink()
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return variants


def gene_table(genes: int, end0: int) -> GeneTable:
    return GeneTable(
        [
            GeneRow(f"GENE{g}", "chr1", "+", 5_000 + g, end0 + 10_000, (5_000 + g,), (end0,))
            for g in range(genes)
        ],
        "<synthetic>",
    )


def measure(path: Path, variants: list, genes: GeneTable, settings: dict) -> dict:
    started = time.perf_counter()
    with PrecomputedScores([path], "SpliceAI", settings, None, genes) as scores:
        opened = time.perf_counter()
        cpu_started = time.process_time()
        for variant in variants:
            scores.lookup(variant)
        seconds = time.perf_counter() - opened
        cpu_seconds = time.process_time() - cpu_started
        hits, misses = scores.hits, scores.misses
    return {
        "lookups": len(variants),
        "hits": hits,
        "misses": misses,
        "open_seconds": round(opened - started, 4),
        "seconds": round(seconds, 3),
        "lookups_per_s": round(len(variants) / seconds, 1),
        "cpu_seconds": round(cpu_seconds, 3),
        "lookups_per_cpu_s": round(len(variants) / cpu_seconds, 1),
    }


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="lines of the file")
    parser.add_argument("--genes", type=int, default=1, help="overlapping genes per position")
    parser.add_argument("--spacing", type=int, default=1, help="nt between positions")
    parser.add_argument(
        "--half", action="store_true", help="also time lookups of which every other one misses"
    )
    parser.add_argument(
        "--sparse", type=int, default=0, help="also time lookups of every N-th record only"
    )
    parser.add_argument(
        "--cpu", type=int, default=None, help="pin to this CPU (default: the first one allowed)"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    settings = run_settings(
        model="spliceai", distance=50, mask=False, annotation=ROOT / "examples/brca1/brca1.gtf"
    )
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "precomputed.vcf.gz"
        started = time.perf_counter()
        variants = make_file(path, args.records, args.genes, args.spacing, settings)
        generated = time.perf_counter() - started
        genes = gene_table(args.genes, variants[-1].pos1 + 1)
        result = measure(path, variants, genes, settings)
        result.update(kind="all_hit", file_bytes=path.stat().st_size)
        runs.append(result)
        if args.half:
            absent = [
                variant
                if index % 2 == 0
                else Variant(variant.chrom, variant.pos1, variant.ref, (variant.alts[0] + "A",))
                for index, variant in enumerate(variants)
            ]
            result = measure(path, absent, genes, settings)
            result.update(kind="half_hit")
            runs.append(result)
        if args.sparse > 1:
            result = measure(path, variants[:: args.sparse], genes, settings)
            result.update(kind=f"every_{args.sparse}th")
            runs.append(result)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    for run in runs:
        print(
            f"{run['kind']:>8}: {run['lookups']} lookups ({run['hits']} hits) in "
            f"{run['seconds']} s = {run['lookups_per_s']:,.0f} lookups/s "
            f"({run['lookups_per_cpu_s']:,.0f} per CPU second); "
            f"file of {args.records} records, {args.genes} gene(s) per position",
            flush=True,
        )
    print(f"peak RSS {peak:.1f} MB (file generated in {generated:.1f} s)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "benchmark": "precomputed_lookup",
                    "records": args.records,
                    "genes_per_position": args.genes,
                    "spacing_nt": args.spacing,
                    "runs": runs,
                    "peak_rss_mb": round(peak, 1),
                    "generate_seconds": round(generated, 1),
                    "cpu_cores_used": 1,
                    "machine": platform.machine(),
                    "processor": platform.processor(),
                    "python": sys.version.split()[0],
                    "torch": _version("torch"),
                    "pysam": _version("pysam"),
                    "rnatools_commit": _commit(),
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
