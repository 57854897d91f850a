"""How failures become one line and an exit code: the exit-code table, the option a settings
field was typed as, internal errors, closed pipes and SIGTERM (used by :mod:`rnatools.cli.main`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import traceback

from rnatools.cli import console
from rnatools.errors import RnatoolsError

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_MISSING = 3
EXIT_IO = 4
EXIT_INTERNAL = 70
EXIT_SIGINT = 130
EXIT_SIGPIPE = 141
EXIT_SIGTERM = 143

TRACEBACK_ENV = "RNATOOLS_TRACEBACK"
"""Set to 1 to see the traceback of an internal error (as ``--verbose`` does)."""

PARAMETER_FLAGS: dict[str, str] = {
    "max_distance": "-d/--distance",
    "distance": "-d/--distance",
    "device": "--device",
    "weights": "--weights",
    "lm_weights": "--lm-weights",
    "lm_model": "--lm-model",
    "lm_window": "--lm-window",
    "lm_strand": "--lm-strand",
    "batch_size": "--batch-size",
    "block_size": "--block-size",
    "chunk_size": "--chunk-size",
    "regions": "--regions",
    "regions_file": "--regions-file",
    "region": "--region",
    "shard": "--shard",
    "precision": "--precision",
    "threads": "--threads",
    "index": "--index",
    "models": "-m/--model",
    "model": "-m/--model",
    "input": "-i/--input",
    "output": "-o/--output",
    "fasta": "-f/--fasta",
    "annotation": "-a/--annotation",
    "skip_report": "--skip-report",
    "strand": "--strand",
    "flank": "--flank",
    "window": "--window",
}
"""Settings field (``parameter`` of an error) → the flag shown when the command has no option
of that name; an option of the running command that matches (by its name or an alias below)
takes precedence, so ``rnatools spliceai`` shows ``-D`` where ``annotate`` shows
``-d/--distance``."""

_PARAMETER_ALIASES: dict[str, tuple[str, ...]] = {
    "max_distance": ("distance", "max_distance"),
    "input": ("input_path", "input"),
    "output": ("output_path", "output"),
    "fasta": ("fasta", "reference"),
    "models": ("model", "models"),
}


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that ``with`` blocks clean up as they unwind."""


def _option_spelling(opts: list[str]) -> str:
    short = sorted((o for o in opts if not o.startswith("--")), key=len)
    long = [o for o in opts if o.startswith("--")]
    return "/".join(short + long)


def flag_for(parameter: str, command=None) -> str:
    """The flag the user typed for settings field ``parameter`` of ``command`` (a click
    command, when known)."""
    if command is not None:
        names = _PARAMETER_ALIASES.get(parameter, (parameter,))
        for name in names:
            for param in getattr(command, "params", ()):
                opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
                if param.name == name and opts:
                    return _option_spelling(opts)
    return PARAMETER_FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def describe(exc: RnatoolsError, command=None) -> str:
    """The one-line message of ``exc``, led by the flag of its ``parameter`` when it has one."""
    message = str(exc)
    parameter = getattr(exc, "parameter", None)
    if not parameter:
        return message
    flag = flag_for(parameter, command)
    spellings = flag.split("/")
    if any(message.startswith(spelling) for spelling in spellings):
        return message
    return f"{flag}: {message}"


def silence_stdout() -> None:
    """Point the stdout descriptor at /dev/null, so that Python's last flush of a closed pipe
    prints nothing."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def is_broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or (
        isinstance(exc, OSError) and exc.errno == errno.EPIPE
    )


def report_internal_error(exc: BaseException) -> None:
    name = type(exc).__name__
    text = str(exc).replace("\n", " ").strip()
    hint = ""
    if "out of memory" in text.lower() or name == "OutOfMemoryError":
        hint = " (out of memory: lower --batch-size)"
    show = console.verbose() or os.environ.get(TRACEBACK_ENV, "") not in ("", "0")
    if show:
        sys.stderr.write("".join(traceback.format_exception(exc)))
    console.error(
        f"internal error: {name}: {text}{hint}; please report it"
        + ("" if show else f" (run with --verbose or {TRACEBACK_ENV}=1 for the traceback)")
    )


def _on_sigterm(signum, frame) -> None:
    # A second SIGTERM while the first unwinds is ignored: the cleanup must finish.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def install_signal_handlers() -> None:
    """SIGTERM raises :class:`Terminated` in the main thread (SIGINT already raises
    ``KeyboardInterrupt``); a closed stdout gives ``BrokenPipeError`` (SIGPIPE stays ignored,
    as Python sets it)."""
    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, _on_sigterm)
