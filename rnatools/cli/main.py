"""The ``rnatools`` command: one Typer app, one error handler that maps errors to exit codes.

Exit codes (the same for every subcommand; the README's table):

====  ========================================================================================
0     success
1     bad input data (a malformed VCF line, a contig that is not in the FASTA, ...)
2     usage: bad or contradictory options, detected before any work is done
3     model weights or an optional dependency missing
4     I/O error: an output folder missing or not writable, a disk full
70    internal error (a bug): one line, ``internal error: ..., please report it``; the
      traceback with ``--verbose`` or ``RNATOOLS_TRACEBACK=1``
130   interrupted by SIGINT (Ctrl-C)
141   standard output closed by its reader (``rnatools ... | head``): stops at once, quietly
143   interrupted by SIGTERM
====  ========================================================================================

Interrupted runs remove their temporary files (SIGTERM is turned into an exception so that the
atomic writers unwind) and print one line, ``interrupted``. Messages of errors that name a
settings field (``UsageError(..., parameter="max_distance")``) start with the flag the user
typed (``-d/--distance``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from rnatools import __version__
from rnatools.cli import console
from rnatools.errors import RnatoolsError, StdoutClosed

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


def _silence_stdout() -> None:
    """Point the stdout descriptor at /dev/null, so that Python's last flush of a closed pipe
    prints nothing."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _is_broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or (
        isinstance(exc, OSError) and exc.errno == errno.EPIPE
    )


def _internal_error(exc: BaseException) -> None:
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


class _Group(TyperGroup):
    """Turns every error raised by a subcommand into one line and an exit code (module doc)."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # click's own: usage errors (exit 2), --help, explicit exits
        except RnatoolsError as exc:
            command = None
            with contextlib.suppress(Exception):
                name = ctx.invoked_subcommand or (ctx.protected_args or [None])[0]
                command = self.get_command(ctx, name) if name else None
            console.error(describe(exc, command))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.plain("interrupted")
            ctx.exit(EXIT_SIGINT)
        except Terminated:
            console.plain("interrupted")
            ctx.exit(EXIT_SIGTERM)
        except StdoutClosed:
            _silence_stdout()
            ctx.exit(EXIT_SIGPIPE)
        except OSError as exc:
            if _is_broken_pipe(exc):
                _silence_stdout()
                ctx.exit(EXIT_SIGPIPE)
            reason = exc.strerror or str(exc)
            where = f"{exc.filename}: " if exc.filename else ""
            console.error(f"I/O error: {where}{reason}")
            ctx.exit(EXIT_IO)
        except Exception as exc:  # noqa: BLE001 - the one place that reports bugs
            _internal_error(exc)
            ctx.exit(EXIT_INTERNAL)


app = typer.Typer(
    cls=_Group,
    name="rnatools",
    help="Splicing and RNA language models on genomic data: SpliceAI tracks and delta scores, "
    "pre-mRNA windows, masked-LM scores. Logs go to stderr, data to stdout or -o. Exit codes: "
    "0 success, 1 bad input, 2 bad options, 3 missing weights or dependency, 4 I/O error, "
    "70 internal error, 130/143 interrupted, 141 stdout closed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnatools {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only warnings and errors on stderr.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Debug messages (and htslib's own) on stderr; tracebacks."
        ),
    ] = False,
    log: Annotated[
        Path | None,
        typer.Option("--log", help="Also write the log, and the final summary, to this file."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    if log is not None:
        from rnatools.io.atomic import check_output_folder

        check_output_folder(log)
    console.setup_logging(quiet=quiet, log_file=log, verbose=verbose)
    if verbose:
        from rnatools.io.vcf import set_htslib_verbosity

        set_htslib_verbosity(3)  # htslib's default; rnatools silences it otherwise


def _register_commands() -> None:
    # Each module owns one subcommand (or a group) and exposes register(app).
    from rnatools.cli import commands

    for module in commands.modules():
        module.register(app)


_register_commands()


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


def main(args: list[str] | None = None) -> None:
    """Console-script entry point: runs the app, then exits with the code of the table above."""
    install_signal_handlers()
    code: int | str | None = EXIT_OK
    try:
        app(args=args, prog_name="rnatools")
    except SystemExit as exc:
        code = exc.code
    except StdoutClosed:
        _silence_stdout()
        code = EXIT_SIGPIPE
    except Terminated:  # outside a subcommand (while options are parsed)
        console.plain("interrupted")
        code = EXIT_SIGTERM
    except KeyboardInterrupt:
        console.plain("interrupted")
        code = EXIT_SIGINT
    try:
        sys.stdout.flush()
    except OSError as exc:
        if not _is_broken_pipe(exc):
            raise
        _silence_stdout()
        code = EXIT_SIGPIPE
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(code)


if __name__ == "__main__":
    main()
