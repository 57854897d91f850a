"""Reduced precision against float32: how many SpliceAI delta scores change, by how much, how fast.

Runs ``rnatools annotate -d 50`` on the same input with ``--precision fp32`` and ``bf16`` (and
``fp16`` on CUDA), each as a child process, and compares every DS field (DS_AG, DS_AL, DS_DG,
DS_DL of every INFO entry) of each reduced-precision output with the float32 one: the fraction
of DS fields that differ at all (DS has 2 decimals, so any difference is >= 0.01), the fraction
off by more than 0.01, the largest and mean absolute difference, and the fraction of delta
positions (DP_*) that differ. The issue's target for CUDA: bf16 with <= 1% of DS fields off by
more than 0.01.

Input: by default the SNV-dense BRCA1 workload of ``snv_dense.py`` (``--exons``,
``--positions``); or any VCF with ``--input VCF -a ANNOTATION [-f FASTA]`` (``--records N``
keeps its first N records). ``*_per_s`` is all records over the wall time, start-up included;
``*_per_s_marginal`` leaves the start-up out ((N - 1) / (wall time of N records - that of the
first record alone); ``--no-startup`` skips those runs). Examples::

    python benchmarks/precision.py --positions 40 --threads 2          # CPU: fp32 vs bf16
    python benchmarks/precision.py --device cuda --exons canonical --json precision.json
    python benchmarks/precision.py --input examples/brca1/clinvar_brca1.grch38.vcf.gz \\
        -a examples/brca1/brca1.gtf --records 200
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

import _common as common
import snv_dense


def compare_ds(reference: list[list[str]], other: list[list[str]]) -> dict:
    """DS/DP differences of ``other`` against ``reference`` (entries of INFO, per record).

    An entry is ``ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL``; entries are
    paired by record and by order; a record whose entries do not pair (other count, allele or
    gene) counts under ``entries_unpaired`` and its fields are left out of the fractions.
    """
    ds_fields = ds_differ = ds_off = dp_fields = dp_differ = unpaired = 0
    max_abs = total_abs = 0.0
    for ref_entries, entries in zip(reference, other, strict=True):
        if len(ref_entries) != len(entries):
            unpaired += max(len(ref_entries), len(entries))
            continue
        for a, b in zip(ref_entries, entries, strict=True):
            fa, fb = a.split("|"), b.split("|")
            if len(fa) != 10 or len(fb) != 10 or fa[:2] != fb[:2]:
                unpaired += 1
                continue
            for x, y in zip(fa[2:6], fb[2:6], strict=True):
                try:
                    diff = abs(round(float(x) - float(y), 4))
                except ValueError:  # '.' in both, or in one
                    diff = 0.0 if x == y else 1.0
                ds_fields += 1
                ds_differ += x != y
                ds_off += diff > 0.0100001
                max_abs = max(max_abs, diff)
                total_abs += diff
            for x, y in zip(fa[6:10], fb[6:10], strict=True):
                dp_fields += 1
                dp_differ += x != y
    return {
        "ds_fields": ds_fields,
        "ds_fraction_differ": round(ds_differ / ds_fields, 6) if ds_fields else None,
        "ds_fraction_off_by_more_than_0.01": round(ds_off / ds_fields, 6) if ds_fields else None,
        "ds_max_abs_diff": round(max_abs, 4),
        "ds_mean_abs_diff": round(total_abs / ds_fields, 6) if ds_fields else None,
        "ds_mean_abs_diff_of_differing": round(total_abs / ds_differ, 6) if ds_differ else 0.0,
        "dp_fraction_differ": round(dp_differ / dp_fields, 6) if dp_fields else None,
        "entries_unpaired": unpaired,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=None,
                        help="VCF to annotate (default: the SNV-dense BRCA1 workload)")
    parser.add_argument("-a", "--annotation", default=str(common.BRCA1_GTF))
    parser.add_argument("-f", "--fasta", type=Path, default=common.BRCA1_FASTA)
    parser.add_argument("--records", type=int, default=None, help="first N records of --input")
    parser.add_argument("--exons", choices=["default", "canonical"], default="default")
    parser.add_argument("--positions", type=int, default=None,
                        help="SNV-dense workload: first N positions (3 SNVs each)")
    parser.add_argument("-d", "--distance", type=int, default=50)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--precisions", nargs="+", default=None,
                        help="default: fp32 bf16 (CPU), fp32 bf16 fp16 (CUDA); fp32 first")
    parser.add_argument("--info-key", default="SpliceAI",
                        help="INFO key to compare (e.g. OpenSpliceAI with --annotate-args)")
    parser.add_argument("--annotate-args", default="",
                        help="more annotate options for every run, e.g. '-m openspliceai-mane'")
    parser.add_argument("--no-startup", dest="startup", action="store_false",
                        help="skip the one-record runs that measure start-up")
    common.add_json_argument(parser)
    args = parser.parse_args()

    cuda = args.device.startswith("cuda")
    precisions = args.precisions or (["fp32", "bf16", "fp16"] if cuda else ["fp32", "bf16"])
    if precisions[0] != "fp32":
        precisions = ["fp32", *[p for p in precisions if p != "fp32"]]
    ours = common.Installation()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="rnatools-precision-") as folder:
        scratch = Path(folder)
        vcf = scratch / "input.vcf"
        if args.input:
            records = common.first_records(args.input, vcf, args.records)
            workload = {"input": str(args.input), "records": records}
        else:
            records = snv_dense.write_snv_vcf(vcf, snv_dense.exon_positions(args.exons,
                                                                             args.positions))
            workload = {"exons": args.exons, "positions": records // 3, "snvs": records}
        workload.update(distance=args.distance, annotation=args.annotation)
        first = scratch / "first.vcf"
        common.first_records(vcf, first, 1)
        outputs = {}

        def command(precision: str, source: Path, output: Path) -> list[str]:
            return ours.command(
                "annotate", "-i", str(source), "-o", str(output), "-f", str(args.fasta),
                "-a", args.annotation, "-d", str(args.distance), "--device", args.device,
                "--precision", precision, "--threads", str(args.threads),
                *shlex.split(args.annotate_args),
            )

        for precision in precisions:
            output = scratch / f"{precision}.vcf"
            run = common.run_child(command(precision, vcf, output), ours.env(args.threads))
            row = {"precision": precision, "records": records}
            if run.returncode != 0:
                row.update(skipped=True, reason=f"exit {run.returncode}: {run.last_line()}")
                print(f"{precision}: skipped ({row['reason']})", file=sys.stderr)
                if precision == "fp32":
                    raise SystemExit(run.stderr[-3000:])
                rows.append(row)
                continue
            outputs[precision] = common.spliceai_info_values(output, args.info_key)
            row.update(seconds=round(run.seconds, 3), cpu_seconds=round(run.cpu_seconds, 2),
                       peak_rss_mb=run.peak_rss_mb,
                       records_per_s=round(records / run.seconds, 3))
            if args.startup and records > 1:
                start = common.run_child(command(precision, first, scratch / "first.out.vcf"),
                                         ours.env(args.threads))
                if start.returncode == 0 and run.seconds > start.seconds:
                    row["startup_seconds"] = round(start.seconds, 3)
                    row["records_per_s_marginal"] = round(
                        (records - 1) / (run.seconds - start.seconds), 3)
            if precision != "fp32":
                row.update(compare_ds(outputs["fp32"], outputs[precision]))
                row["speedup_vs_fp32"] = round(rows[0]["seconds"] / run.seconds, 3)
            rows.append(row)
            print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    if not args.input:
        for row in rows:
            for key in ("records_per_s", "records_per_s_marginal"):
                if key in row:
                    row[key.replace("records", "snvs")] = row[key]
    env = common.environment(device=args.device, precision=",".join(precisions),
                             threads=args.threads, installation=ours.info(cuda=cuda))
    compared = [r for r in rows if r["precision"] != "fp32" and not r.get("skipped")]
    comparison = None
    if compared:
        best = next((r for r in compared if r["precision"] == "bf16"), compared[0])
        comparison = {
            "figure": f"{best['precision']}_vs_fp32",
            "value": best["ds_fraction_off_by_more_than_0.01"],
            "speedup": best["speedup_vs_fp32"],
            "speedup_marginal": round(best["records_per_s_marginal"]
                                      / rows[0]["records_per_s_marginal"], 3)
            if best.get("records_per_s_marginal") and rows[0].get("records_per_s_marginal")
            else None,
            "ds_fraction_differ": best["ds_fraction_differ"],
            "ds_max_abs_diff": best["ds_max_abs_diff"],
        }
    common.write_json(args.json, "precision", env=env, results=rows, comparison=comparison,
                      extra={"workload": workload})


if __name__ == "__main__":
    main()
