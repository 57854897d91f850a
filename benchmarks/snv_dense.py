"""SNVs per second of `rnatools annotate -d 50` on every SNV of a few hundred nt of BRCA1 exons.

The input is written on the fly from the bundled example (``examples/brca1``: GRCh38 chr17 FASTA
and ``brca1.gtf``): the 3 SNVs of every position (one ALT per record, sorted) of three exons of
BRCA1's canonical transcript ENST00000357654 (1-based 43,070,928-43,071,238, 43,074,331-43,074,521
and 43,082,404-43,082,575: 674 nt, 2,022 SNVs), or of all its 23 exons with ``--exons
canonical`` (7,094 nt, 21,282 SNVs; for a GPU). ``--positions N`` keeps the first N positions
(smoke tests). The command is ``rnatools annotate -a examples/brca1/brca1.gtf -d 50``, run as a
child process whose wall time, CPU time and peak RSS are measured alone.

Two rates are reported: ``snvs_per_s`` (all SNVs / wall time, start-up and model loading
included: what a user sees) and ``snvs_per_s_marginal`` ((N - 1) / (wall time of N SNVs - wall
time of the first SNV alone)), the rate once the process runs; ``--no-startup`` skips the
one-SNV run.

With ``--vs COMMAND_PREFIX``, ``--baseline-python PATH`` and/or ``--baseline-pythonpath DIR``
another installation (e.g. a git worktree of an older commit) runs the same input in the same
session, alternating with this one (``--rounds R``, best of R kept for each), and the speed-up
(baseline seconds / these seconds) is reported with the number of records whose SpliceAI INFO
is identical in both outputs. Examples::

    python benchmarks/snv_dense.py --threads 2                      # 2,022 SNVs on CPU
    python benchmarks/snv_dense.py --positions 5 --no-startup        # smoke test (15 SNVs)
    python benchmarks/snv_dense.py --baseline-pythonpath /tmp/rnatools-old --rounds 2 \\
        --threads 2 --json snv_dense.json
    python benchmarks/snv_dense.py --device cuda --exons canonical --json snv_dense_cuda.json
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import _common as common

DEFAULT_EXONS = [(43_070_928, 43_071_238), (43_074_331, 43_074_521), (43_082_404, 43_082_575)]
CANONICAL_TRANSCRIPT = "ENST00000357654"
CONTIG, CONTIG_LENGTH = "chr17", 83_257_441


def canonical_exons(gtf: Path = common.BRCA1_GTF) -> list[tuple[int, int]]:
    """(start1, end1) of every exon of ENST00000357654 in ``brca1.gtf``, ascending."""
    exons = []
    with open(gtf) as handle:
        for line in handle:
            fields = line.split("\t")
            if len(fields) > 8 and fields[2] == "exon" and CANONICAL_TRANSCRIPT in fields[8]:
                exons.append((int(fields[3]), int(fields[4])))
    return sorted(exons)


def exon_positions(exons: str = "default", positions: int | None = None) -> list[int]:
    """1-based positions of the chosen exons, ascending; the first ``positions`` of them."""
    spans = DEFAULT_EXONS if exons == "default" else canonical_exons()
    pos1s = [p for start1, end1 in spans for p in range(start1, end1 + 1)]
    return pos1s[:positions] if positions is not None else pos1s


def write_snv_vcf(path: Path, pos1s: list[int], fasta: Path = common.BRCA1_FASTA) -> int:
    """Write the 3 SNVs of every position in ``pos1s`` (sorted VCF, one ALT per record).

    Returns:
        The number of records written.
    """
    import pysam

    lines = [
        "##fileformat=VCFv4.2\n",
        f"##contig=<ID={CONTIG},length={CONTIG_LENGTH}>\n",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n",
    ]
    with pysam.FastaFile(str(fasta)) as reference:
        for pos1 in sorted(pos1s):
            ref = reference.fetch(CONTIG, pos1 - 1, pos1).upper()
            for alt in "ACGT":
                if alt != ref and ref in "ACGT":
                    lines.append(f"{CONTIG}\t{pos1}\t.\t{ref}\t{alt}\t.\t.\t.\n")
    path.write_text("".join(lines))
    return len(lines) - 3


def annotate_args(vcf: Path, output: Path, args: argparse.Namespace) -> list[str]:
    return [
        "annotate", "-i", str(vcf), "-o", str(output), "-f", str(common.BRCA1_FASTA),
        "-a", args.annotation, "-d", str(args.distance), "--device", args.device,
        "--precision", args.precision, "--threads", str(args.threads),
        *shlex.split(args.annotate_args or ""),
    ]


def measure(
    installations: list[common.Installation],
    vcf: Path,
    snvs: int,
    scratch: Path,
    args: argparse.Namespace,
    first_vcf: Path | None,
) -> list[dict]:
    """Time every installation on ``vcf``, alternating, ``args.rounds`` times (best kept)."""
    rows = [{"label": inst.label, "snvs": snvs, "all_seconds": []} for inst in installations]
    for round_index in range(max(1, args.rounds)):
        for inst, row in zip(installations, rows, strict=True):
            output = scratch / f"{inst.label}.vcf"
            run = common.run_child(
                inst.command(*annotate_args(vcf, output, args)), inst.env(args.threads)
            ).check()
            row["all_seconds"].append(round(run.seconds, 3))
            if round_index == 0 or run.seconds <= min(row["all_seconds"]):
                row.update(seconds=round(run.seconds, 3), cpu_seconds=round(run.cpu_seconds, 2),
                           peak_rss_mb=run.peak_rss_mb, output=output)
            print(f"  {inst.label}: {snvs} SNVs in {run.seconds:.2f} s "
                  f"({snvs / run.seconds:.2f} SNVs/s, {run.cpu_seconds:.1f} s CPU, "
                  f"peak RSS {run.peak_rss_mb} MB)", file=sys.stderr, flush=True)
    for inst, row in zip(installations, rows, strict=True):
        row["snvs_per_s"] = round(snvs / row["seconds"], 3)
        values = common.spliceai_info_values(row["output"])
        row["annotated_records"] = sum(1 for v in values if v)
        if first_vcf is not None and snvs > 1:
            run = common.run_child(
                inst.command(*annotate_args(first_vcf, scratch / "first.vcf", args)),
                inst.env(args.threads),
            ).check()
            row["startup_seconds"] = round(run.seconds, 3)
            net = row["seconds"] - run.seconds
            row["snvs_per_s_marginal"] = round((snvs - 1) / net, 3) if net > 0 else None
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exons", choices=["default", "canonical"], default="default",
                        help="default: 3 exons, 674 nt; canonical: all 23 exons, 7,094 nt")
    parser.add_argument("--positions", type=int, default=None,
                        help="keep the first N positions (3 SNVs each)")
    parser.add_argument("-d", "--distance", type=int, default=50)
    parser.add_argument("-a", "--annotation", default=str(common.BRCA1_GTF),
                        help="annotate's -a (default: examples/brca1/brca1.gtf; grch38 works too)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--threads", type=int, default=0,
                        help="--threads of annotate (0 = its default); also OMP_NUM_THREADS")
    parser.add_argument("--annotate-args", default="",
                        help="more annotate options for every run, e.g. '--batch-size 64'")
    parser.add_argument("--no-startup", dest="startup", action="store_false",
                        help="skip the one-SNV run that measures start-up")
    parser.add_argument("--keep", type=Path, default=None, help="copy the VCF here")
    common.add_baseline_arguments(parser)
    common.add_json_argument(parser)
    args = parser.parse_args()

    ours = common.Installation(label="rnatools")
    installations = [ours]
    baseline = common.baseline_from_args(args)
    if baseline is not None:
        installations.append(baseline)
    cuda = args.device.startswith("cuda")
    with tempfile.TemporaryDirectory(prefix="rnatools-snv-dense-") as folder:
        scratch = Path(folder)
        pos1s = exon_positions(args.exons, args.positions)
        vcf = scratch / "snvs.vcf"
        snvs = write_snv_vcf(vcf, pos1s)
        if args.keep:
            args.keep.write_text(vcf.read_text())
        first_vcf = None
        if args.startup:
            first_vcf = scratch / "first.in.vcf"
            common.first_records(vcf, first_vcf, 1)
        print(f"{snvs} SNVs at {len(pos1s)} positions ({args.exons} exons), -d {args.distance}, "
              f"{args.device}, {args.precision}, threads {args.threads}", file=sys.stderr)
        rows = measure(installations, vcf, snvs, scratch, args, first_vcf)
        comparison = None
        if baseline is not None:
            a, b = (common.spliceai_info_values(r["output"]) for r in rows)
            same = sum(x == y for x, y in zip(a, b, strict=True)) if len(a) == len(b) else 0
            comparison = {
                "figure": "speedup_vs_baseline",
                "value": round(rows[1]["seconds"] / rows[0]["seconds"], 3),
                "marginal_value": round(rows[0]["snvs_per_s_marginal"]
                                        / rows[1]["snvs_per_s_marginal"], 3)
                if rows[0].get("snvs_per_s_marginal") and rows[1].get("snvs_per_s_marginal")
                else None,
                "identical_spliceai_info": f"{same}/{len(a)}",
                "baseline": baseline.info(cuda=cuda),
            }
    for row in rows:
        row.pop("output", None)
        marginal = row.get("snvs_per_s_marginal")
        print(f"{row['label']}: {row['snvs']} SNVs, {row['seconds']} s, {row['snvs_per_s']} "
              f"SNVs/s" + (f" ({marginal} SNVs/s after start-up)" if marginal else "")
              + f", peak RSS {row['peak_rss_mb']} MB, {row['annotated_records']} annotated")
    if comparison:
        marginal = comparison["marginal_value"]
        print(f"speed-up vs baseline: {comparison['value']}x"
              + (f" (after start-up: {marginal}x)" if marginal else "")
              + f"; identical SpliceAI INFO {comparison['identical_spliceai_info']}")
    env = common.environment(device=args.device, precision=args.precision,
                             threads=args.threads, installation=ours.info(cuda=cuda))
    common.write_json(
        args.json, "snv_dense", env=env, results=rows, comparison=comparison,
        extra={"workload": {"exons": args.exons, "positions": len(pos1s), "snvs": snvs,
                            "distance": args.distance, "annotation": args.annotation}},
    )


if __name__ == "__main__":
    main()
