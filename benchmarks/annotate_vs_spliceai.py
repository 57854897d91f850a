"""Records per second of `rnatools annotate` and of the official SpliceAI 1.3.1 CLI, same input.

    python benchmarks/annotate_vs_spliceai.py                # rnatools only, CPU, 2 threads
    python benchmarks/annotate_vs_spliceai.py --run-official # also the official CLI
    python benchmarks/annotate_vs_spliceai.py --device cuda --threads 0

Defaults: the synthetic fixture `../shared/fixtures/spliceai_cli_synthetic` (or under
`$RNATOOLS_TEST_FIXTURES`; 242 records, custom annotation), `-D 50`. Without `--run-official`
the official figure is the one measured for that fixture and written in its README (0.52
records/s: 468.8 s wall on a 2-core VM), and the ratio is against it. `--run-official` builds
the official CLI's own environment in a temporary folder (tensorflow-cpu 2.15.1 with its Keras
2, numpy<2, setuptools<81, and the `spliceai` wheel installed with --no-deps; it needs network
access and ~2 GB), or reuses `--official-venv`. Both tools run one after the other on the same
machine, and both outputs are compared INFO by INFO (with `--expected FILE` too). Other
processes on the machine distort the figures: the script prints CPU seconds beside the wall time
for that reason. `--json FILE` writes the figures (records/s, peak RSS of each child, the ratio
under `comparison`; see benchmarks/README.md). The rnatools measured is the one of this checkout
(its root first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

import _common as common

REPO = Path(__file__).resolve().parent.parent
FIXTURE = (
    Path(os.environ["RNATOOLS_TEST_FIXTURES"]) if os.environ.get("RNATOOLS_TEST_FIXTURES")
    else REPO.parent / "shared" / "fixtures"
) / "spliceai_cli_synthetic"
DOCUMENTED_OFFICIAL_RECORDS_PER_S = 0.52  # fixture README, -D 50, 2-core VM
OFFICIAL_REQUIREMENTS = [
    "tensorflow-cpu==2.15.1",
    "numpy<2",
    "setuptools<81",
    "pandas",
    "pyfaidx",
    "pysam",
]


def _timed(command: list[str], env: dict | None = None) -> common.ChildRun:
    """Wall seconds, CPU seconds and peak RSS of a command; exits on a non-zero status."""
    run = common.run_child(command, env).check()
    sys.stderr.write(run.stderr)
    return run


def _count_records(path: Path) -> int:
    with open(path) as handle:
        return sum(1 for line in handle if line.strip() and not line.startswith("#"))


def _spliceai_values(path: Path) -> list[str]:
    import pysam

    with pysam.VariantFile(str(path)) as vcf:
        return [",".join(r.info.get("SpliceAI") or ()) for r in vcf]


def _compare(got: Path, expected: Path) -> str:
    a, b = _spliceai_values(got), _spliceai_values(expected)
    same = sum(x == y for x, y in zip(a, b, strict=True))
    return f"{same}/{len(b)} records with identical SpliceAI INFO"


def _official_venv(folder: Path) -> Path:
    print(f"building the official CLI's environment in {folder} ...", file=sys.stderr)
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", *OFFICIAL_REQUIREMENTS], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "spliceai==1.3.1"], check=True
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=FIXTURE / "in.vcf")
    parser.add_argument("--fasta", type=Path, default=FIXTURE / "ref.fa")
    parser.add_argument("--annotation", default=str(FIXTURE / "annot.txt"))
    parser.add_argument(
        "--expected",
        type=Path,
        default=FIXTURE / "out.D50.vcf",
        help="oracle output to compare with (skipped when missing)",
    )
    parser.add_argument("-d", "--distance", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument(
        "--full-windows",
        action="store_true",
        help="rnatools without SNV work sharing (every ALT window whole)",
    )
    parser.add_argument("--run-official", action="store_true")
    parser.add_argument(
        "--official-venv",
        type=Path,
        default=None,
        help="existing environment with the official spliceai CLI",
    )
    common.add_json_argument(parser)
    args = parser.parse_args()

    records = _count_records(args.input)
    ours_installation = common.Installation()
    env = ours_installation.env(args.threads)
    identical = identical_official = official_run = None
    with tempfile.TemporaryDirectory(prefix="rnatools-bench-") as scratch:
        out = Path(scratch) / "rnatools.vcf"
        command = ours_installation.command(
            "annotate",
            "-i",
            str(args.input),
            "-o",
            str(out),
            "-f",
            str(args.fasta),
            "-a",
            args.annotation,
            "-d",
            str(args.distance),
            "--threads",
            str(args.threads),
            "--device",
            args.device,
            "--precision",
            args.precision,
            *(["--full-windows"] if args.full_windows else []),
        )
        ours_run = _timed(command, env)
        wall, cpu = ours_run.seconds, ours_run.cpu_seconds
        ours = records / wall
        print(
            f"rnatools annotate: {records} records, {wall:.1f} s wall, {cpu:.1f} s CPU, "
            f"{ours:.2f} records/s ({args.device}, {args.threads} threads, {args.precision})"
        )
        if args.expected and args.expected.is_file():
            identical = _compare(out, args.expected)
            print(f"  vs {args.expected.name}: {identical}")

        official = DOCUMENTED_OFFICIAL_RECORDS_PER_S
        source = "documented in the fixture README (2-core VM)"
        if args.run_official:
            folder = args.official_venv or _official_venv(Path(scratch) / "official-venv")
            official_out = Path(scratch) / "official.vcf"
            official_env = common.Installation(pythonpath=None).env(
                args.threads, TF_CPP_MIN_LOG_LEVEL="1"
            )
            official_run = _timed(
                [
                    str(folder / "bin" / "spliceai"),
                    "-I",
                    str(args.input),
                    "-O",
                    str(official_out),
                    "-R",
                    str(args.fasta),
                    "-A",
                    args.annotation,
                    "-D",
                    str(args.distance),
                ],
                official_env,
            )
            wall_o, cpu_o = official_run.seconds, official_run.cpu_seconds
            official = records / wall_o
            source = "measured now"
            print(
                f"official spliceai: {wall_o:.1f} s wall, {cpu_o:.1f} s CPU, "
                f"{official:.2f} records/s"
            )
            identical_official = _compare(out, official_out)
            print(f"  rnatools vs official: {identical_official}")
        print(
            f"ratio rnatools / official: {ours / official:.1f}x (official {official:.2f} "
            f"records/s, {source})"
        )
    row = {
        "label": "rnatools",
        "records": records,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": ours_run.peak_rss_mb,
        "records_per_s": round(ours, 3),
        "distance": args.distance,
        "full_windows": args.full_windows,
        "identical_vs_expected": identical,
    }
    rows = [row]
    if official_run is not None:
        rows.append({
            "label": "official spliceai 1.3.1",
            "records": records,
            "seconds": round(official_run.seconds, 3),
            "cpu_seconds": round(official_run.cpu_seconds, 2),
            "peak_rss_mb": official_run.peak_rss_mb,
            "records_per_s": round(official, 3),
        })
    common.write_json(
        args.json,
        "annotate_vs_spliceai",
        env=common.environment(device=args.device, precision=args.precision,
                               threads=args.threads, installation=ours_installation.info(
                                   cuda=args.device.startswith("cuda"))),
        results=rows,
        comparison={
            "figure": "speedup_vs_official_cli",
            "value": round(ours / official, 3),
            "official_records_per_s": round(official, 3),
            "official_source": source,
            "identical_vs_official": identical_official,
        },
        extra={"workload": {"input": str(args.input), "records": records,
                            "annotation": args.annotation, "distance": args.distance}},
    )


if __name__ == "__main__":
    main()
