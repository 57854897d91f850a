"""Byte-identity check of rnatools' output files against recorded SHA-256 checksums.

Runs a fixed list of ``rnatools`` commands (``CASES`` below: the README's annotate example, the
three annotate runs of the SpliceAI CLI fixture, ``predict`` / ``ism`` to TSV and bigWig,
``mlm``, ``embed`` and ``windows``), each in its own folder under a scratch directory, on CPU with
2 threads, and SHA-256s every file the command writes there (raw bytes: all these outputs are
byte-stable from run to run, including .gz/.bgz/.tbi, .npz, .h5 and .bw). ``--record`` stores the
hashes in ``benchmarks/output_checksums.json``; ``--check`` (the default) runs the same commands
and compares, printing one line per case: ``same``, ``DIFFERS`` (the files whose bytes changed;
for compressed files it also says whether the decompressed content changed), ``missing`` (no
recorded hash, or a recorded file was not written), ``FAILED`` (non-zero exit) or ``skipped``
(input data absent). Exit status 1 on any DIFFERS / missing / FAILED.

Inputs come from this checkout (``examples/brca1``, ``tests/data/lm``) and from the shared data:
the SpliceAI CLI fixture (``$RNATOOLS_TEST_FIXTURES/spliceai_cli_synthetic`` or
``../shared/fixtures/...`` next to the repository) and the RNABERT weights
(``$RNATOOLS_TEST_WEIGHTS/rnabert`` or ``../shared/data/weights/rnabert``); cases whose inputs
are absent are skipped. The inputs are copied into the scratch folder first (the commands read
the copies) and their SHA-256 are recorded too: a case whose input changed since the recording
is reported as DIFFERS without being run (record the old version again on the new input). The
annotate cases need the official SpliceAI weights (``pip install 'rnatools[spliceai]'``). A full
run takes about 7-8 minutes on 2 idle CPU cores (the four annotate cases dominate).

Examples (from the repository root)::

    python benchmarks/check_outputs.py                        # check the installed rnatools
    python benchmarks/check_outputs.py --only fixture-D50 --only mlm
    python benchmarks/check_outputs.py --record --pythonpath /path/to/old/checkout
    python benchmarks/check_outputs.py --workdir /tmp/outs    # keep the outputs there

``--pythonpath DIR`` runs the rnatools package found in DIR (prepended to PYTHONPATH) with
``--python`` (default: this interpreter); the script prints which rnatools it imported and the
versions of the libraries the bytes depend on (stored under ``recorded_with``). Model outputs
are floating point: another CPU (instruction set), torch or numpy build can change the last bits
and hence the bytes. On another machine, first record the old version there (``--record
--pythonpath OLD --checksums FILE``), then check the new one against that file.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKSUMS = ROOT / "benchmarks" / "output_checksums.json"
BRCA1 = ROOT / "examples" / "brca1"
LM_DATA = ROOT / "tests" / "data" / "lm"

# The CLI has no ``__main__`` module: call its console-script entry point.
RUNNER = "import sys; from rnatools.cli.main import main; sys.argv[0] = 'rnatools'; main()"
PROBE = (
    "import importlib.metadata as m, json, platform, rnatools\n"
    "def v(name):\n"
    "    try:\n"
    "        return m.version(name)\n"
    "    except m.PackageNotFoundError:\n"
    "        return None\n"
    "print(json.dumps({'rnatools': rnatools.__file__,\n"
    "                  'version': getattr(rnatools, '__version__', None),\n"
    "                  'python': platform.python_version(),\n"
    "                  **{n: v(n) for n in ('torch', 'numpy', 'pysam', 'h5py', 'pyBigWig',\n"
    "                                       'spliceai')}}))"
)
CPU = ["--device", "cpu", "--threads", "2"]
# Compressed outputs whose decompressed content is also hashed (to say, when the raw bytes
# differ, whether only the compression changed). BGZF (.vcf.gz, .bcf, .tbi, .csi) is gzip.
GZIP_SUFFIXES = (".gz", ".bgz", ".bcf", ".tbi", ".csi")


def shared_dir(variable: str, *fallback: str) -> Path:
    """The folder named by ``$variable``, else ``ROOT/../shared/<fallback>``."""
    value = os.environ.get(variable)
    return Path(value).resolve() if value else ROOT.parent.joinpath("shared", *fallback)


FIXTURE = shared_dir("RNATOOLS_TEST_FIXTURES", "fixtures") / "spliceai_cli_synthetic"
RNABERT = shared_dir("RNATOOLS_TEST_WEIGHTS", "data", "weights") / "rnabert"


@dataclass(frozen=True)
class Case:
    """One rnatools command; its inputs are checked for presence and hashed."""

    name: str
    args: list[str]
    inputs: list[Path] = field(default_factory=list)
    needs: str = ""  # what to say when an input is absent


def _annotate_fixture(name: str, *extra: str) -> Case:
    return Case(
        name,
        ["annotate", "-i", str(FIXTURE / "in.vcf"), "-o", "out.vcf", "-f", str(FIXTURE / "ref.fa"),
         "-a", str(FIXTURE / "annot.txt"), *extra, *CPU],
        [FIXTURE / "in.vcf", FIXTURE / "ref.fa", FIXTURE / "ref.fa.fai", FIXTURE / "annot.txt"],
        f"SpliceAI CLI fixture ({FIXTURE}; set RNATOOLS_TEST_FIXTURES)",
    )


def _rnabert(name: str, command: str, *args: str, inputs: list[Path]) -> Case:
    return Case(
        name,
        [command, "-m", "rnabert", "--weights", str(RNABERT), *args, *CPU],
        [RNABERT / "bert_mul_2.pth", RNABERT / "RNA_bert_config.json", *inputs],
        f"RNABERT weights ({RNABERT}; set RNATOOLS_TEST_WEIGHTS)",
    )


BRCA1_FASTA = BRCA1 / "GRCh38.chr17.brca1.fa.gz"
BRCA1_FASTA_FILES = [BRCA1_FASTA, BRCA1 / "GRCh38.chr17.brca1.fa.gz.fai",
                     BRCA1 / "GRCh38.chr17.brca1.fa.gz.gzi"]
CHRM = LM_DATA / "chrM_1-2000.fa"
CHRM_FILES = [CHRM, LM_DATA / "chrM_1-2000.fa.fai"]

CASES: list[Case] = [
    # README quick start: 1,041 ClinVar BRCA1 variants, ~2 min on 2 cores.
    Case("readme-example",
         ["annotate", "-i", str(BRCA1 / "clinvar_brca1.grch38.vcf.gz"), "-o", "OUT.vcf.gz",
          "-f", str(BRCA1_FASTA), "-a", "grch38", "-d", "50", "--index", "tbi", *CPU],
         [BRCA1 / "clinvar_brca1.grch38.vcf.gz", BRCA1 / "clinvar_brca1.grch38.vcf.gz.tbi",
          *BRCA1_FASTA_FILES]),
    # spliceai_cli_synthetic: the three official runs (-D 50, -D 500, -D 50 -M 1), ~75 s each.
    _annotate_fixture("fixture-D50", "-d", "50", "--skip-report", "skipped.tsv"),
    _annotate_fixture("fixture-D500", "-d", "500"),
    _annotate_fixture("fixture-D50-M1", "-d", "50", "--mask"),
    # SpliceAI tracks over the BRCA1 gene (81 kb, minus strand).
    Case("predict-brca1-tsv",
         ["predict", "--gtf", str(BRCA1 / "brca1.gtf"), "-f", str(BRCA1_FASTA),
          "-o", "OUT.tsv.gz", *CPU],
         [BRCA1 / "brca1.gtf", *BRCA1_FASTA_FILES]),
    Case("predict-brca1-bigwig",
         ["predict", "--gtf", str(BRCA1 / "brca1.gtf"), "-f", str(BRCA1_FASTA),
          "-o", "PREFIX.bw", *CPU],
         [BRCA1 / "brca1.gtf", *BRCA1_FASTA_FILES]),
    # In-silico mutagenesis of 200 nt of chrM with RNABERT (~30 s each): TSV on +, bigWig on -.
    _rnabert("ism-tsv", "ism", "-f", str(CHRM), "-r", "chrM:601-800", "--strand", "+",
             "-o", "OUT.tsv", inputs=CHRM_FILES),
    _rnabert("ism-bigwig", "ism", "-f", str(CHRM), "-r", "chrM:601-800", "--strand", "-",
             "-o", "PREFIX.bw", inputs=CHRM_FILES),
    # Fill-mask (records with <mask>) and pseudo-log-likelihood (plain records).
    _rnabert("mlm", "mlm", "-s", str(LM_DATA / "rna.fa"), "-o", "OUT.tsv", "--pll", "PLL.tsv",
             inputs=[LM_DATA / "rna.fa"]),
    # Per-nucleotide embeddings of two BED intervals (one per strand), .npz and .h5.
    _rnabert("embed", "embed", "-f", str(CHRM), "--bed", str(LM_DATA / "regions.bed"),
             "-o", "OUT.npz", inputs=[*CHRM_FILES, LM_DATA / "regions.bed"]),
    _rnabert("embed-h5", "embed", "-f", str(CHRM), "--bed", str(LM_DATA / "regions.bed"),
             "-o", "OUT.h5", inputs=[*CHRM_FILES, LM_DATA / "regions.bed"]),
    # Pre-mRNA windows: the canonical transcript (FASTA), and every transcript masked (TSV).
    Case("windows",
         ["windows", "-f", str(BRCA1_FASTA), "--gtf", str(BRCA1 / "brca1.gtf"), "-o", "OUT.fa"],
         [BRCA1 / "brca1.gtf", *BRCA1_FASTA_FILES]),
    Case("windows-all-tsv",
         ["windows", "-f", str(BRCA1_FASTA), "--gtf", str(BRCA1 / "brca1.gtf"),
          "--transcripts", "all", "--mask-outside-transcript", "--flank", "100",
          "-o", "OUT.tsv"],
         [BRCA1 / "brca1.gtf", *BRCA1_FASTA_FILES]),
]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_gunzip(path: Path) -> str | None:
    """SHA-256 of the decompressed bytes of a gzip/BGZF file, None if it is not gzip."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError):
        return None
    return digest.hexdigest()


def describe_file(path: Path) -> dict:
    entry = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    if path.name.endswith(GZIP_SUFFIXES):
        content = sha256_gunzip(path)
        if content is not None:
            entry["content_sha256"] = content
    return entry


def _bases() -> list[tuple[Path, str]]:
    """Where inputs come from, and the prefix of their key (the shared folders first)."""
    return [(FIXTURE.parent, "fixtures/"), (RNABERT.parent, "weights/"), (ROOT, "")]


def input_key(path: Path) -> str | None:
    """An input's key: its path relative to the repository, or to a shared folder."""
    for base, prefix in _bases():
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return None


def stage_inputs(cases: list[Case], folder: Path) -> dict[str, str]:
    """Copy the cases' inputs to ``folder/<key>`` and return {key: sha256} of the copies.

    The commands read the copies, so an input that someone rewrites during a run cannot break
    it, and the hashes are those of the bytes the commands read.
    """
    hashes = {}
    for case in cases:
        for path in case.inputs:
            key = input_key(path)
            if key is None or key in hashes:
                continue
            target = folder / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            hashes[key] = sha256_file(target)
    return hashes


def localise(args: list[str], folder: Path) -> list[str]:
    """The arguments with every input path (file or folder) pointed at its copy in folder."""
    result = []
    for arg in args:
        key = input_key(Path(arg)) if os.path.isabs(arg) else None
        result.append(str(folder / key) if key is not None else arg)
    return result


def display(args: list[str]) -> str:
    """The command line with this machine's folders replaced by portable names."""
    text = shlex.join(["rnatools", *args])
    for base, name in ((FIXTURE, "$FIXTURES/spliceai_cli_synthetic"), (RNABERT, "$WEIGHTS/rnabert"),
                       (ROOT, ".")):
        text = text.replace(str(base), name)
    return text


def child_env(pythonpath: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if pythonpath:
        parts = [str(Path(pythonpath).resolve())]
        if env.get("PYTHONPATH"):
            parts.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


@dataclass
class Result:
    status: str  # ok, skipped, FAILED
    seconds: float = 0.0
    files: dict[str, dict] = field(default_factory=dict)
    message: str = ""


def absent_input(case: Case) -> str:
    """Why the case cannot run here ('' when all its inputs exist)."""
    absent = [p for p in case.inputs if not p.is_file()]
    return f"{case.needs or 'input'} absent: {absent[0]}" if absent else ""


def run_case(case: Case, python: str, env: dict[str, str], workdir: Path, inputs: Path) -> Result:
    folder = workdir / case.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    command = [python, "-c", RUNNER, *localise(case.args, inputs)]
    process = subprocess.run(command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        tail = " | ".join(process.stderr.strip().splitlines()[-3:])
        return Result("FAILED", seconds, message=f"exit {process.returncode}: {tail}")
    files = {p.relative_to(folder).as_posix(): describe_file(p)
             for p in sorted(folder.rglob("*")) if p.is_file()}
    if not files:
        return Result("FAILED", seconds, message="wrote no file")
    return Result("ok", seconds, files)


def compare(recorded: dict[str, dict], written: dict[str, dict]) -> tuple[str, str]:
    """(status, detail): same, DIFFERS or missing, with the files concerned."""
    lost = sorted(set(recorded) - set(written))
    extra = sorted(set(written) - set(recorded))
    changed = []
    for name in sorted(set(recorded) & set(written)):
        old, new = recorded[name], written[name]
        if old["sha256"] == new["sha256"]:
            continue
        note = ""
        if "content_sha256" in old and "content_sha256" in new:
            same_content = old["content_sha256"] == new["content_sha256"]
            note = " (decompressed content same)" if same_content else " (content differs)"
        changed.append(f"{name}{note}")
    details = []
    if changed:
        details.append("changed: " + ", ".join(changed))
    if extra:
        details.append("new file: " + ", ".join(extra))
    if lost:
        details.append("not written: " + ", ".join(lost))
    if changed or extra:
        return "DIFFERS", "; ".join(details)
    if lost:
        return "missing", "; ".join(details)
    return "same", ", ".join(sorted(written))


def probe(python: str, env: dict[str, str]) -> dict:
    """Where the child interpreter imports rnatools from, and the versions outputs depend on."""
    process = subprocess.run([python, "-c", PROBE], env=env, capture_output=True, text=True,
                             cwd=tempfile.gettempdir())
    if process.returncode != 0:
        sys.exit(f"cannot import rnatools with {python}: {process.stderr.strip()}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--record", action="store_true",
                      help=f"write the hashes into {CHECKSUMS.relative_to(ROOT)}")
    mode.add_argument("--check", action="store_true",
                      help="compare with the recorded hashes (default)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter that runs rnatools (default: this one)")
    parser.add_argument("--pythonpath", help="folder holding the rnatools package to run "
                        "(prepended to PYTHONPATH), e.g. an old checkout")
    parser.add_argument("--only", action="append", metavar="NAME", choices=[c.name for c in CASES],
                        help="run only this case (repeatable); --record then updates only it")
    parser.add_argument("--workdir", type=Path,
                        help="keep the outputs in this folder (default: a temporary folder, "
                        "deleted unless something differs)")
    parser.add_argument("--checksums", type=Path, default=CHECKSUMS,
                        help=f"checksum file (default: {CHECKSUMS.relative_to(ROOT)})")
    options = parser.parse_args()

    env = child_env(options.pythonpath)
    environment = probe(options.python, env)
    print("rnatools: " + ", ".join(f"{k} {v}" for k, v in environment.items()), flush=True)
    selected = [c for c in CASES if not options.only or c.name in options.only]

    stored = json.loads(options.checksums.read_text()) if options.checksums.exists() else {}
    if not options.record and not stored:
        sys.exit(f"{options.checksums} does not exist: run with --record first")
    recorded_cases: dict = stored.get("cases", {})
    recorded_inputs: dict = stored.get("inputs", {})

    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="rnatools-check-outputs-"))
    workdir.mkdir(parents=True, exist_ok=True)
    inputs_dir = workdir / "_inputs"
    if inputs_dir.exists():
        shutil.rmtree(inputs_dir)
    cases = [c for c in selected if not absent_input(c)]
    staged = stage_inputs(cases, inputs_dir)

    width = max(len(c.name) for c in selected)
    bad = False
    new_cases: dict = {}
    for case in selected:
        why_not = absent_input(case)
        if why_not:
            print(f"{case.name:<{width}}  skipped   {why_not}", flush=True)
            continue
        keys = [k for k in map(input_key, case.inputs) if k is not None]
        if not options.record:
            changed = [k for k in keys if k in recorded_inputs and recorded_inputs[k] != staged[k]]
            if changed:
                bad = True
                print(f"{case.name:<{width}}  DIFFERS   input changed since the recording: "
                      f"{', '.join(changed)} (record the old version again on it)", flush=True)
                continue
        result = run_case(case, options.python, env, workdir, inputs_dir)
        timing = f"{result.seconds:6.1f} s"
        if result.status == "FAILED":
            bad = True
            print(f"{case.name:<{width}}  FAILED    {timing}  {result.message}", flush=True)
            continue
        if options.record:
            new_cases[case.name] = {"command": display(case.args),
                                    "seconds": round(result.seconds, 1), "files": result.files}
            recorded_inputs.update({k: staged[k] for k in keys})
            print(f"{case.name:<{width}}  recorded  {timing}  {', '.join(result.files)}",
                  flush=True)
            continue
        if case.name not in recorded_cases:
            status, detail = "missing", "no recorded hashes for this case"
        else:
            status, detail = compare(recorded_cases[case.name]["files"], result.files)
        bad |= status != "same"
        print(f"{case.name:<{width}}  {status:<8}  {timing}  {detail}", flush=True)

    if options.record and new_cases:
        recorded_cases.update(new_cases)
        stored = {
            "about": "SHA-256 of every file the rnatools commands of benchmarks/check_outputs.py "
                     "write (raw bytes; content_sha256 = decompressed bytes of gzip/BGZF files), "
                     "and of the inputs they read. Regenerate with the version to freeze: "
                     "python benchmarks/check_outputs.py --record [--pythonpath OLD_CHECKOUT]",
            "recorded_with": environment,
            "cases": {c.name: recorded_cases[c.name] for c in CASES if c.name in recorded_cases},
            "inputs": dict(sorted(recorded_inputs.items())),
        }
        options.checksums.write_text(json.dumps(stored, indent=1) + "\n")
        print(f"wrote {options.checksums} ({len(new_cases)} case(s) recorded)")

    if options.workdir is None:
        if bad:
            print(f"outputs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
