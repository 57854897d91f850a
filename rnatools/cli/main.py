"""The ``rnatools`` command: one Typer app, one error handler that maps errors to exit codes.

Exit codes: 0 success, 1 data error, 2 usage error, 3 missing weights or dependency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from rnatools import __version__
from rnatools.cli import console
from rnatools.errors import RnatoolsError


class _Group(TyperGroup):
    """Turns rnatools errors raised by any subcommand into a one-line message and an exit code."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except RnatoolsError as exc:
            console.error(str(exc))
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.error("interrupted")
            ctx.exit(130)


app = typer.Typer(
    cls=_Group,
    name="rnatools",
    help="Splicing and RNA language models on genomic data: SpliceAI tracks and delta scores, "
    "pre-mRNA windows, masked-LM scores. Logs go to stderr, data to stdout or -o.",
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
        bool, typer.Option("--verbose", "-v", help="Debug messages on stderr.")
    ] = False,
    log: Annotated[
        Path | None, typer.Option("--log", help="Also write the log to this file.")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    console.setup_logging(quiet=quiet, log_file=log, verbose=verbose)


def _register_commands() -> None:
    # Each module owns one subcommand (or a group) and exposes register(app).
    from rnatools.cli import commands

    for module in commands.modules():
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
