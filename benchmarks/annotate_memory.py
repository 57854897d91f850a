"""Peak memory and speed of ``rnatools annotate`` on a large VCF: it must stream.

Generates a sorted VCF of ``--records`` SNVs on the bundled example (``examples/brca1``,
GRCh38 chr17): ``--genic`` of them (default: one per thousand) inside genes of SpliceAI's
``grch38`` table in the real-sequence region 42,425,000-43,600,000, the rest on chr17 outside every
``grch38`` gene, where they pass through unscored (no model call). Then runs ``rnatools annotate``
as a child process and reports its peak resident memory (``wait4`` rusage, that child alone)
and records per second. The goal (issue 5): under 2 GB on CPU for 1,000,000 records, and not
growing with the number of records — ``--compare 100000`` also runs a file of that many records
with the same number in genes, and prints both. Examples::

    python benchmarks/annotate_memory.py                               # 1,000,000 records
    python benchmarks/annotate_memory.py --records 20000 --compare 2000 --threads 1
    python benchmarks/annotate_memory.py --device cuda --json result.json

``--json`` writes the runs in the format of ``benchmarks/README.md`` (the first run's figures at
the top level). The rnatools measured is this checkout's (its root first on ``PYTHONPATH``),
unless ``--rnatools COMMAND`` names another.

Needs the SpliceAI weights and tables (``pip install 'rnatools[spliceai]'``). On 2 CPU threads
the 1,000 scored records dominate the run time (about 1 s each); the pass-through records cost
microseconds.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shlex
import tempfile
import time
from pathlib import Path

import _common as common
import numpy as np
import pysam

ROOT = Path(__file__).resolve().parents[1]
FASTA = ROOT / "examples" / "brca1" / "GRCh38.chr17.brca1.fa.gz"
REAL_START1, REAL_END1 = 42_425_000, 43_600_000  # 1-based, real sequence in the example FASTA
EDGE = 5_100  # keep scored variants a full SpliceAI context away from the real-sequence edges
COMPLEMENT = {"A": "G", "C": "T", "G": "A", "T": "C", "N": "A"}


def grch38_chr17_genes() -> list[tuple[int, int]]:
    """(start1, end1) of SpliceAI's grch38 genes on chr17, sorted (1-based inclusive)."""
    table = importlib.metadata.distribution("spliceai").locate_file(
        "spliceai/annotations/grch38.txt"
    )
    genes = []
    with open(str(table)) as handle:
        next(handle)
        for line in handle:
            fields = line.split("\t")
            if fields[1] in ("17", "chr17"):
                genes.append((int(fields[3]), int(fields[4])))
    return sorted(genes)


def make_vcf(path: Path, records: int, genic: int, seed: int = 1) -> None:
    """Write a sorted VCF: ``genic`` SNVs inside genes, ``records - genic`` outside all genes."""
    rng = np.random.default_rng(seed)
    genes = grch38_chr17_genes()
    inside = [
        (max(s, REAL_START1 + EDGE), min(e, REAL_END1 - EDGE))
        for s, e in genes
        if s < REAL_END1 - EDGE and e > REAL_START1 + EDGE
    ]
    lengths = np.array([e - s + 1 for s, e in inside])
    picks = rng.choice(len(inside), size=genic, p=lengths / lengths.sum())
    genic_positions = [inside[i][0] + int(rng.integers(0, lengths[i])) for i in picks]
    with pysam.FastaFile(str(FASTA)) as fasta:
        contig_length = fasta.get_reference_length("chr17")
        gene_ends = np.array([e for _, e in genes])
        gene_starts = np.array([s for s, _ in genes])
        max_end = np.maximum.accumulate(gene_ends)
        intergenic: list[int] = []
        while len(intergenic) < records - genic:
            candidates = rng.integers(1, contig_length + 1, size=2 * (records - genic))
            # Outside every gene: no gene starting at or before pos ends at or after it.
            last = np.searchsorted(gene_starts, candidates, side="right") - 1
            covered = (last >= 0) & (max_end[np.maximum(last, 0)] >= candidates)
            intergenic.extend(candidates[~covered].tolist())
        positions = sorted(genic_positions + intergenic[: records - genic])
        real = fasta.fetch("chr17", REAL_START1 - 1, REAL_END1)
        with open(path, "w") as out:
            out.write(
                "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=83257441>\n"
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            )
            lines = []
            for pos1 in positions:
                offset = pos1 - REAL_START1
                ref = real[offset] if 0 <= offset < len(real) else "N"
                lines.append(f"chr17\t{pos1}\t.\t{ref}\t{COMPLEMENT[ref]}\t.\t.\t.\n")
                if len(lines) >= 100_000:
                    out.writelines(lines)
                    lines.clear()
            out.writelines(lines)


def run_annotate(vcf: Path, output: Path, args: argparse.Namespace) -> dict:
    installation = (
        common.Installation.from_prefix(args.rnatools) if args.rnatools
        else common.Installation()
    )
    command = installation.command(
        "annotate", "-i", str(vcf), "-o", str(output), "-f", str(FASTA), "-a", "grch38",
        "--device", args.device, "--threads", str(args.threads), "--batch-size",
        str(args.batch_size), "--precision", args.precision,
    )
    # wait4: wall time and the peak RSS of that child alone.
    run = common.run_child(command, installation.env())
    if run.returncode != 0:
        raise SystemExit(f"rnatools annotate failed ({run.returncode}):\n{run.stderr[-3000:]}")
    records = sum(1 for line in pysam.BGZFile(str(output)) if not line.startswith(b"#"))
    return {
        "records": records,
        "seconds": round(run.seconds, 1),
        "records_per_s": round(records / run.seconds, 1),
        "peak_rss_mb": run.peak_rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--genic", type=int, default=None,
                        help="records inside genes (default: records / 1000, at least 1)")
    parser.add_argument("--compare", type=int, default=None,
                        help="also run this many records (same number in genes) to show that "
                        "peak RSS does not grow with the number of records")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--rnatools", default=None,
                        help="command that runs rnatools (default: this checkout's)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here")
    common.add_json_argument(parser)
    args = parser.parse_args()

    sizes = [args.records] + ([args.compare] if args.compare else [])
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for records in sizes:
            # The same number of scored records in every run: only the pass-through ones change.
            genic = args.genic if args.genic is not None else max(1, args.records // 1000)
            vcf = folder / f"records{records}.vcf"
            started = time.perf_counter()
            make_vcf(vcf, records, genic)
            generated = time.perf_counter() - started
            result = run_annotate(vcf, folder / f"records{records}.annotated.vcf.gz", args)
            result.update(genic=genic, generate_seconds=round(generated, 1), device=args.device,
                          threads=args.threads)
            results.append(result)
            print(
                f"{records:>9} records ({genic} in genes): peak RSS {result['peak_rss_mb']} MB, "
                f"{result['records_per_s']} records/s ({result['seconds']} s; "
                f"VCF generated in {result['generate_seconds']} s)",
                flush=True,
            )
    if args.json:
        installation = (
            common.Installation.from_prefix(args.rnatools) if args.rnatools
            else common.Installation()
        )
        common.write_json(
            args.json, "annotate_memory",
            env=common.environment(device=args.device, precision=args.precision,
                                   threads=args.threads, installation=installation.info(
                                       cuda=args.device.startswith("cuda"))),
            results=results, peak_rss=max(r["peak_rss_mb"] for r in results),
            comparison={"figure": "peak_rss_mb_by_input_size",
                        "value": [r["peak_rss_mb"] for r in results],
                        "records": [r["records"] for r in results]}
            if len(results) > 1 else None,
            extra={"workload": {"annotation": "grch38", "command": shlex.join(
                installation.command("annotate"))}},
        )


if __name__ == "__main__":
    main()
