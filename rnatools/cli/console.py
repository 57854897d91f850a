"""Diagnostics on stderr: logging, progress bars (only on a TTY), one-line errors."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr = Console(stderr=True, highlight=False)
log = logging.getLogger("rnatools")

_state = {"quiet": False}


def setup_logging(quiet: bool = False, log_file: Path | None = None, verbose: bool = False) -> None:
    """Log to stderr (warnings only with ``quiet``) and, optionally, to ``log_file`` too."""
    _state["quiet"] = quiet
    root = logging.getLogger("rnatools")
    root.handlers.clear()
    root.propagate = False
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    root.setLevel(logging.DEBUG if log_file else level)
    handler = RichHandler(console=stderr, show_time=False, show_path=False, markup=False)
    handler.setLevel(level)
    root.addHandler(handler)
    if log_file is not None:
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        file_handler.setLevel(logging.DEBUG)
        root.addHandler(file_handler)


def progress_enabled() -> bool:
    """Progress bars are drawn only on an interactive stderr and without ``--quiet``."""
    return not _state["quiet"] and sys.stderr.isatty()


class _NullProgress:
    def advance(self, amount: float = 1) -> None:
        pass


class _TaskProgress:
    def __init__(self, progress: Progress, task: int):
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)


@contextmanager
def progress_bar(description: str, total: float | None, unit: str = "") -> Iterator:
    """A progress bar on stderr; yields an object with ``advance(n)``. Silent when not a TTY."""
    if not progress_enabled():
        yield _NullProgress()
        return
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=stderr, transient=True) as progress:
        yield _TaskProgress(progress, progress.add_task(description, total=total))


def error(message: str) -> None:
    """Print a one-line error to stderr."""
    stderr.print(f"rnatools: error: {message}", markup=False, soft_wrap=True)
