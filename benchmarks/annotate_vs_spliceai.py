"""Records per second of `rnatools annotate` and of the official SpliceAI 1.3.1 CLI, same input.

    python benchmarks/annotate_vs_spliceai.py                # rnatools only, CPU, 2 threads
    python benchmarks/annotate_vs_spliceai.py --run-official # also the official CLI
    python benchmarks/annotate_vs_spliceai.py --device cuda --threads 0

Defaults: the synthetic fixture `../shared/fixtures/spliceai_cli_synthetic` (242 records, custom
annotation), `-D 50`. Without `--run-official` the official figure is the one measured for that
fixture and written in its README (0.52 records/s: 468.8 s wall on a 2-core VM), and the ratio
is against it. `--run-official` builds the official CLI's own environment in a temporary folder
(tensorflow-cpu 2.15.1 with its Keras 2, numpy<2, setuptools<81, and the `spliceai` wheel
installed with --no-deps; it needs network access and ~2 GB), or reuses `--official-venv`.
Both tools run one after the other on the same machine, and both outputs are compared INFO by
INFO (with `--expected FILE` too). Other processes on the machine distort the figures: the
script prints CPU seconds beside the wall time for that reason.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO.parent / "shared" / "fixtures" / "spliceai_cli_synthetic"
DOCUMENTED_OFFICIAL_RECORDS_PER_S = 0.52  # fixture README, -D 50, 2-core VM
OFFICIAL_REQUIREMENTS = [
    "tensorflow-cpu==2.15.1",
    "numpy<2",
    "setuptools<81",
    "pandas",
    "pyfaidx",
    "pysam",
]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of a command; raises on a non-zero exit."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return time.perf_counter() - started, _children_cpu() - cpu_before


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
    args = parser.parse_args()

    records = _count_records(args.input)
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory(prefix="rnatools-bench-") as scratch:
        out = Path(scratch) / "rnatools.vcf"
        command = [
            sys.executable,
            "-c",
            "from rnatools.cli.main import main; main()",
            "--quiet",
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
        ] + (["--full-windows"] if args.full_windows else [])
        wall, cpu = _timed(command, env)
        ours = records / wall
        print(
            f"rnatools annotate: {records} records, {wall:.1f} s wall, {cpu:.1f} s CPU, "
            f"{ours:.2f} records/s ({args.device}, {args.threads} threads, {args.precision})"
        )
        if args.expected and args.expected.is_file():
            print(f"  vs {args.expected.name}: {_compare(out, args.expected)}")

        official = DOCUMENTED_OFFICIAL_RECORDS_PER_S
        source = "documented in the fixture README (2-core VM)"
        if args.run_official:
            folder = args.official_venv or _official_venv(Path(scratch) / "official-venv")
            official_out = Path(scratch) / "official.vcf"
            official_env = dict(env, TF_CPP_MIN_LOG_LEVEL="1")
            wall_o, cpu_o = _timed(
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
            official = records / wall_o
            source = "measured now"
            print(
                f"official spliceai: {wall_o:.1f} s wall, {cpu_o:.1f} s CPU, "
                f"{official:.2f} records/s"
            )
            print(f"  rnatools vs official: {_compare(out, official_out)}")
        print(
            f"ratio rnatools / official: {ours / official:.1f}x (official {official:.2f} "
            f"records/s, {source})"
        )


if __name__ == "__main__":
    main()
