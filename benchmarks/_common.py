"""What every benchmark shares: how it runs rnatools, times a child process, and writes JSON.

Every script in ``benchmarks/`` takes ``--json FILE`` and writes one object through
:func:`write_json` (schema ``rnatools-benchmark/1``, described in ``benchmarks/README.md``):
the headline rate (``records_per_s``, ``snvs_per_s`` or ``nt_per_s``), ``seconds``,
``peak_rss_mb``, ``device``, ``precision``, ``threads``, the versions of torch and rnatools, the
git commit of the rnatools that ran, hostname, date, the comparison figure where there is one
(``comparison``), and every measured configuration under ``results``.

Benchmarks that run the command line go through :class:`Installation`: by default the rnatools
of this checkout (``PYTHONPATH`` = the repository root, this interpreter), or another one, e.g.
a git worktree of an older commit (``Installation(python=..., pythonpath=...)``) or any command
prefix (``Installation.from_prefix("...")``). Torch is never imported here.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # in-process benchmarks import this checkout's rnatools
    sys.path.insert(1, str(REPO))
EXAMPLES = REPO / "examples" / "brca1"
BRCA1_FASTA = EXAMPLES / "GRCh38.chr17.brca1.fa.gz"
BRCA1_GTF = EXAMPLES / "brca1.gtf"
BRCA1_CLINVAR = EXAMPLES / "clinvar_brca1.grch38.vcf.gz"
SCHEMA = "rnatools-benchmark/1"
RATE_KEYS = ("records_per_s", "snvs_per_s", "nt_per_s")
# `python -c` puts the working directory first on sys.path, ahead of PYTHONPATH: drop it, so that
# the rnatools run is the one PYTHONPATH names (not the checkout the benchmark is started from).
_DROP_CWD = "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
CLI_SNIPPET = _DROP_CWD + "from rnatools.cli.main import main; main()"

_INFO_SNIPPET = r"""
import importlib.metadata, json, os, sys
info = {"python": sys.executable, "python_version": sys.version.split()[0]}
try:
    import rnatools
    info["rnatools_version"] = rnatools.__version__
    info["rnatools_path"] = os.path.dirname(os.path.abspath(rnatools.__file__))
except Exception as error:
    info["rnatools_version"] = "-"
    info["rnatools_error"] = repr(error)
try:
    info["torch_version"] = importlib.metadata.version("torch")
except importlib.metadata.PackageNotFoundError:
    info["torch_version"] = "-"
if os.environ.get("_RNATOOLS_BENCH_CUDA") == "1":
    try:
        import torch
        info["cuda_available"] = torch.cuda.is_available()
        if info["cuda_available"]:
            info["device_name"] = torch.cuda.get_device_name(0)
            info["cuda_version"] = torch.version.cuda
    except Exception as error:
        info["cuda_error"] = repr(error)
print(json.dumps(info))
"""


def git_commit(folder: Path | str) -> tuple[str, bool | None]:
    """(HEAD commit of the git checkout holding ``folder``, whether tracked files differ from it);
    ``('-', None)`` outside a checkout or without git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=20,
        )
        if head.returncode != 0:
            return "-", None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=60,
        )
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
        return head.stdout.strip(), dirty
    except (OSError, subprocess.TimeoutExpired):
        return "-", None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _maxrss_mb(kib_or_bytes: int) -> float:
    """``ru_maxrss`` (KiB on Linux, bytes on macOS) in MB of 2**20 bytes (as ``annotate_memory``
    always reported it)."""
    scale = 1 if sys.platform == "darwin" else 1024
    return round(kib_or_bytes * scale / 2**20, 1)


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory in MB of this process (or of the largest child waited for)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return _maxrss_mb(resource.getrusage(who).ru_maxrss)


@dataclass
class ChildRun:
    """One finished child process: wall and CPU seconds, its own peak RSS (MB), exit status."""

    command: list[str]
    returncode: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    stderr: str

    def last_line(self) -> str:
        """The last non-empty line of stderr (the command's one-line error), or ''."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def check(self) -> ChildRun:
        if self.returncode != 0:
            raise SystemExit(
                f"command failed (exit {self.returncode}): {shlex.join(self.command)}\n"
                f"{self.stderr[-3000:]}"
            )
        return self


def run_child(command: list[str], env: dict[str, str] | None = None) -> ChildRun:
    """Run ``command`` and measure it alone: wall time, CPU time and peak RSS from ``wait4``.

    stdout is discarded, stderr captured (through a temporary file, so that a chatty child
    cannot block on a full pipe).
    """
    import tempfile

    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    return ChildRun(
        command=list(command),
        returncode=child.returncode,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=_maxrss_mb(usage.ru_maxrss),
        stderr=stderr,
    )


@dataclass
class Installation:
    """An rnatools to run as a child process: a command prefix and its environment.

    Default: this interpreter with the repository of this script first on ``PYTHONPATH``
    (works with or without ``pip install -e``). ``pythonpath`` = the root of another checkout
    (a git worktree of an older commit) runs that one; ``python`` = another interpreter (that
    checkout's own venv).
    """

    python: str = sys.executable
    pythonpath: str | None = str(REPO)
    prefix: list[str] | None = None
    label: str = "rnatools"
    extra_env: dict[str, str] = field(default_factory=dict)
    _info: dict | None = None

    @classmethod
    def from_prefix(cls, prefix: str, label: str = "baseline") -> Installation:
        """Any command that behaves as ``rnatools`` (``shlex`` syntax), e.g.
        ``"/old/.venv/bin/rnatools"`` or ``"env PYTHONPATH=/old python -m ..."``."""
        return cls(python="", pythonpath=None, prefix=shlex.split(prefix), label=label)

    def env(self, threads: int = 0, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (self.pythonpath, os.environ.get("PYTHONPATH")) if p
            )
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        env.update(self.extra_env)
        env.update(extra)
        return env

    def command(self, *args: str, quiet: bool = True) -> list[str]:
        head = list(self.prefix) if self.prefix else [self.python, "-c", CLI_SNIPPET]
        return head + (["--quiet"] if quiet else []) + list(args)

    def info(self, cuda: bool = False) -> dict:
        """Versions and git commit of this installation (asked of its own interpreter)."""
        if self._info is not None and (not cuda or "cuda_available" in self._info):
            return self._info
        info: dict = {}
        if self.prefix is None:
            env = self.env(_RNATOOLS_BENCH_CUDA="1" if cuda else "0")
            done = subprocess.run(
                [self.python, "-c", _DROP_CWD + _INFO_SNIPPET],
                capture_output=True, text=True, env=env,
            )
            if done.returncode == 0 and done.stdout.strip():
                info = json.loads(done.stdout.strip().splitlines()[-1])
        else:
            done = subprocess.run(
                [*self.prefix, "--version"], capture_output=True, text=True, env=self.env()
            )
            info = {"rnatools_version": (done.stdout.strip() or "-").split()[-1],
                    "torch_version": "-"}
        path = info.get("rnatools_path")
        commit, dirty = git_commit(path) if path else ("-", None)
        command = (shlex.join(self.prefix) if self.prefix
                   else f"{self.python} -c '{CLI_SNIPPET.replace(_DROP_CWD, '')}'")
        info.update(git_commit=commit, git_dirty=dirty, label=self.label, command=command,
                    pythonpath=self.pythonpath)
        self._info = info
        return info


def baseline_from_args(args) -> Installation | None:
    """The installation named by ``--vs`` / ``--baseline-python`` / ``--baseline-pythonpath``."""
    if getattr(args, "vs", None):
        return Installation.from_prefix(args.vs)
    python = getattr(args, "baseline_python", None)
    path = getattr(args, "baseline_pythonpath", None)
    if python or path:
        return Installation(python=python or sys.executable, pythonpath=path, label="baseline")
    return None


def add_baseline_arguments(parser) -> None:
    group = parser.add_argument_group("comparison with another rnatools (same run, pair by pair)")
    group.add_argument(
        "--vs", metavar="COMMAND_PREFIX", default=None,
        help="command that runs the other rnatools, e.g. '/old/.venv/bin/rnatools'",
    )
    group.add_argument(
        "--baseline-python", metavar="PATH", default=None,
        help="interpreter of the other installation (e.g. /old/.venv/bin/python)",
    )
    group.add_argument(
        "--baseline-pythonpath", metavar="DIR", default=None,
        help="checkout of the other version put first on PYTHONPATH (e.g. a git worktree of "
        "an older commit; with this repository's interpreter unless --baseline-python)",
    )
    group.add_argument("--rounds", type=int, default=1,
                       help="timed runs of each installation, alternating (best is kept)")


def add_json_argument(parser) -> None:
    parser.add_argument("--json", type=Path, default=None, metavar="FILE",
                        help="write the results to FILE (see benchmarks/README.md)")


def environment(
    *, device: str, precision: str | None, threads: int | None, installation: dict | None = None
) -> dict:
    """The fields that describe the run's machine and software.

    ``installation``: :meth:`Installation.info` of the rnatools that ran as a child; without
    it, the rnatools and torch imported by this process (imported here only if already loaded
    or importable without torch).
    """
    info = dict(installation or {})
    if not installation:
        try:
            import rnatools

            info["rnatools_version"] = rnatools.__version__
            info["rnatools_path"] = os.path.dirname(os.path.abspath(rnatools.__file__))
        except ImportError:
            info["rnatools_version"] = "-"
        torch = sys.modules.get("torch")
        if torch is not None:
            info["torch_version"] = torch.__version__
            info["torch_threads"] = torch.get_num_threads()
            if device.startswith("cuda") and torch.cuda.is_available():
                info["device_name"] = torch.cuda.get_device_name(0)
                info["cuda_version"] = torch.version.cuda
        else:
            import importlib.metadata

            try:
                info["torch_version"] = importlib.metadata.version("torch")
            except importlib.metadata.PackageNotFoundError:
                info["torch_version"] = "-"
        commit, dirty = git_commit(info.get("rnatools_path", REPO))
        info.update(git_commit=commit, git_dirty=dirty)
    info.setdefault("device_name", _cpu_model() if device == "cpu" else "-")
    return {
        "device": device,
        "device_name": info.pop("device_name"),
        "precision": precision,
        "threads": threads,
        "torch_version": info.pop("torch_version", "-"),
        "rnatools_version": info.pop("rnatools_version", "-"),
        "git_commit": info.pop("git_commit", "-"),
        "git_dirty": info.pop("git_dirty", None),
        "hostname": socket.gethostname(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python_version": info.pop("python_version", sys.version.split()[0]),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu_model": _cpu_model(),
        "cpu_count": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "installation": info,
    }


def write_json(
    path: Path | str | None,
    benchmark: str,
    *,
    env: dict,
    results: list[dict],
    headline: dict | None = None,
    comparison: dict | None = None,
    peak_rss: float | None = None,
    extra: dict | None = None,
) -> dict | None:
    """Write one benchmark's JSON to ``path`` (atomically; nothing when ``path`` is None).

    Args:
        env: :func:`environment`'s dict (device, precision, threads, versions, commit, ...).
        results: one dict per measured configuration.
        headline: the figures copied to the top level: any of ``records_per_s``,
            ``snvs_per_s``, ``nt_per_s``, ``seconds``, ``peak_rss_mb`` (default: the first
            result's).
        comparison: the comparison figure, e.g. ``{"figure": "speedup_vs_official_cli",
            "value": 7.5, "baseline": ...}``.
        peak_rss: peak RSS in MB (default: the headline's, else the largest of the results',
            else this process's or its children's, whichever is larger).

    Returns:
        The written object.
    """
    head = dict(headline if headline is not None else (results[0] if results else {}))
    top = {k: head[k] for k in (*RATE_KEYS, "seconds") if head.get(k) is not None}
    if peak_rss is None:
        peak_rss = head.get("peak_rss_mb")
    if peak_rss is None:
        rss = [r["peak_rss_mb"] for r in results if r.get("peak_rss_mb") is not None]
        peak_rss = max(rss) if rss else max(peak_rss_mb(), peak_rss_mb(children=True))
    document = {
        "schema": SCHEMA,
        "benchmark": benchmark,
        **top,
        "peak_rss_mb": peak_rss,
        **env,
        "comparison": comparison,
        "argv": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else [],
        "results": results,
        **(extra or {}),
    }
    if path is None:
        return document
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=2, default=str) + "\n")
    os.replace(temporary, path)
    return document


def merge_json(paths: list[Path | str], output: Path | str, **extra) -> dict:
    """One JSON of several benchmark JSONs: ``{"schema", "benchmarks": {name: document}, "missing":
    [...]}``; a file that is absent or unreadable is listed under ``missing`` (keyed by the file
    name without ``.json`` when two documents share a benchmark name)."""
    merged: dict = {"schema": SCHEMA + "+suite", "benchmarks": {}, "missing": [], **extra}
    for path in map(Path, paths):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            merged["missing"].append({"file": path.name, "reason": str(error)})
            continue
        merged["benchmarks"][path.stem] = document
    output = Path(output)
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(merged, indent=2, default=str) + "\n")
    os.replace(temporary, output)
    return merged


def spliceai_info_values(path: Path | str, key: str = "SpliceAI") -> list[list[str]]:
    """Per data line of a plain or gzipped VCF: the entries of INFO ``key`` (``[]`` when absent).

    Plain text parsing (no pysam), so that it also reads an output written by another version.
    """
    import gzip

    opener = gzip.open if str(path).endswith((".gz", ".bgz")) else open
    prefix = key + "="
    values: list[list[str]] = []
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            info = line.rstrip("\n").split("\t")[7] if line.count("\t") >= 7 else "."
            entries: list[str] = []
            for item in info.split(";"):
                if item.startswith(prefix):
                    entries = item[len(prefix):].split(",")
            values.append(entries)
    return values


def count_records(path: Path | str) -> int:
    """Data lines of a plain or gzipped VCF."""
    import gzip

    opener = gzip.open if str(path).endswith((".gz", ".bgz")) else open
    with opener(path, "rt") as handle:
        return sum(1 for line in handle if line.strip() and not line.startswith("#"))


def first_records(source: Path | str, destination: Path | str, records: int | None) -> int:
    """Copy the header and the first ``records`` data lines (all when None) of a plain or
    gzipped VCF to a plain ``destination``; returns the number of data lines copied."""
    import gzip

    opener = gzip.open if str(source).endswith((".gz", ".bgz")) else open
    copied = 0
    with opener(source, "rt") as handle, open(destination, "w") as out:
        for line in handle:
            if line.startswith("#"):
                out.write(line)
            elif line.strip():
                if records is not None and copied >= records:
                    break
                out.write(line)
                copied += 1
    return copied
