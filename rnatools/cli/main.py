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
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from rnatools import __version__
from rnatools.cli import console
from rnatools.cli.exits import (  # noqa: F401 (flag_for, describe: re-exported)
    EXIT_INTERNAL,
    EXIT_IO,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGPIPE,
    EXIT_SIGTERM,
    Terminated,
    describe,
    flag_for,
    install_signal_handlers,
    is_broken_pipe,
    report_internal_error,
    silence_stdout,
)
from rnatools.errors import RnatoolsError, StdoutClosed


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
            silence_stdout()
            ctx.exit(EXIT_SIGPIPE)
        except OSError as exc:
            if is_broken_pipe(exc):
                silence_stdout()
                ctx.exit(EXIT_SIGPIPE)
            reason = exc.strerror or str(exc)
            where = f"{exc.filename}: " if exc.filename else ""
            console.error(f"I/O error: {where}{reason}")
            ctx.exit(EXIT_IO)
        except Exception as exc:  # noqa: BLE001 - the one place that reports bugs
            report_internal_error(exc)
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


def main(args: list[str] | None = None) -> None:
    """Console-script entry point: runs the app, then exits with the code of the table above."""
    install_signal_handlers()
    code: int | str | None = EXIT_OK
    try:
        app(args=args, prog_name="rnatools")
    except SystemExit as exc:
        code = exc.code
    except StdoutClosed:
        silence_stdout()
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
        if not is_broken_pipe(exc):
            raise
        silence_stdout()
        code = EXIT_SIGPIPE
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.exit(code)


if __name__ == "__main__":
    main()
