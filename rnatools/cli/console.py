"""Diagnostics on stderr: logging, progress, one-line errors, the final summary.

Everything here prints the user's text as it is: no console markup (``[red]``), no emoji codes
(``:x:``), no highlighting, no wrapping — one message is one line, in any terminal width.

- Log messages go to stderr as ``rnatools: warning: ...`` (``--quiet``: warnings and errors
  only; ``--verbose``: debug messages too) and, with ``--log FILE``, to that file with times.
- Progress: a bar on an interactive stderr; otherwise (a pipeline's log) a plain line at most
  every :data:`PLAIN_PROGRESS_INTERVAL_S` seconds with the work done, the rate and, when the
  total is known, the ETA. ``--quiet`` shows neither (the ``--log`` file still gets the lines).
- :func:`summary` prints a command's final line on stderr and into the ``--log`` file.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr = Console(stderr=True, highlight=False, markup=False, emoji=False)
"""The stderr console (progress bars); prints user text literally."""

stdout = Console(highlight=False, markup=False, emoji=False)
"""A stdout console for tables; prints user text literally (pass ``markup=True`` only for
markup built from escaped text)."""

log = logging.getLogger("rnatools")
_summary_log = logging.getLogger("rnatools.summary")  # only the --log file (stderr is printed)
_summary_log.propagate = False
_summary_log.addHandler(logging.NullHandler())  # not logging's last-resort stderr printer
_progress_log = logging.getLogger("rnatools.progress")

PLAIN_PROGRESS_INTERVAL_S = 30.0
"""Seconds between two progress lines when stderr is not a terminal."""

_state: dict = {"quiet": False, "verbose": False}

_LEVEL_WORDS = {
    logging.DEBUG: "debug: ",
    logging.INFO: "",
    logging.WARNING: "warning: ",
    logging.ERROR: "error: ",
    logging.CRITICAL: "error: ",
}


class _OneLineFormatter(logging.Formatter):
    """``rnatools: warning: message`` — newlines inside a message become spaces."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\r", " ").replace("\n", " ")
        return f"rnatools: {_LEVEL_WORDS.get(record.levelno, '')}{message}"


class _StderrHandler(logging.Handler):
    """Writes through the stderr console, so lines print above a live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            stderr.print(text, markup=False, emoji=False, highlight=False, soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging must not raise
            self.handleError(record)


def setup_logging(quiet: bool = False, log_file: Path | None = None, verbose: bool = False) -> None:
    """Log to stderr (warnings only with ``quiet``) and, optionally, to ``log_file`` too."""
    _state["quiet"] = quiet
    _state["verbose"] = verbose
    root = logging.getLogger("rnatools")
    for handler in root.handlers + _summary_log.handlers:
        handler.close()
    root.handlers.clear()
    _summary_log.handlers.clear()
    root.propagate = False
    _summary_log.propagate = False
    _summary_log.addHandler(logging.NullHandler())
    _summary_log.setLevel(logging.INFO)
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    root.setLevel(logging.DEBUG if log_file else level)
    handler = _StderrHandler()
    handler.setFormatter(_OneLineFormatter())
    handler.setLevel(level)
    root.addHandler(handler)
    if log_file is not None:
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        file_handler.setLevel(logging.DEBUG)
        root.addHandler(file_handler)
        _summary_log.addHandler(file_handler)


def verbose() -> bool:
    """Whether ``--verbose`` was given."""
    return bool(_state["verbose"])


def quiet() -> bool:
    """Whether ``--quiet`` was given."""
    return bool(_state["quiet"])


def progress_enabled() -> bool:
    """Progress bars are drawn only on an interactive stderr and without ``--quiet``."""
    return not _state["quiet"] and sys.stderr.isatty()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


class _PlainProgress:
    """Progress as a log line at most every ``interval`` seconds (stderr is not a terminal)."""

    def __init__(self, description: str, total: float | None, unit: str, interval: float):
        self.description = description
        self.total = total
        self.unit = unit
        self.interval = interval
        self.done = 0.0
        self.started = time.monotonic()
        self.last = self.started

    def advance(self, amount: float = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            _progress_log.info(self.line(now))

    def line(self, now: float | None = None) -> str:
        """``annotating: 12,288 records, 41.0 records/s, 5m00s elapsed[, 25%, ETA 15m00s]``."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        unit = f" {self.unit}" if self.unit else ""
        text = (
            f"{self.description}: {self.done:,.0f}{unit}, {rate:,.1f}{unit}/s, "
            f"{_duration(elapsed)} elapsed"
        )
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            text += f", {fraction:.0%}"
            if rate > 0:
                text += f", ETA {_duration(max(self.total - self.done, 0) / rate)}"
        return text


class _TaskProgress:
    def __init__(self, progress: Progress, task: int):
        self._progress = progress
        self._task = task

    def advance(self, amount: float = 1) -> None:
        self._progress.advance(self._task, amount)


@contextmanager
def progress_bar(description: str, total: float | None, unit: str = "") -> Iterator:
    """Progress on stderr; yields an object with ``advance(n)``.

    A bar on an interactive stderr; otherwise a plain line at most every
    :data:`PLAIN_PROGRESS_INTERVAL_S` seconds (work done, rate, ETA when ``total`` is known),
    through the log (so ``--quiet`` hides it and ``--log FILE`` keeps it).
    """
    if not progress_enabled():
        yield _PlainProgress(description, total, unit, PLAIN_PROGRESS_INTERVAL_S)
        return
    columns = [
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit, markup=False),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    # No redirection: data written to stdout must never be routed through the stderr console.
    with Progress(
        *columns, console=stderr, transient=True, redirect_stdout=False, redirect_stderr=False
    ) as progress:
        yield _TaskProgress(progress, progress.add_task(description, total=total))


def summary(text: str) -> None:
    """A command's final line (records, time, what was skipped): on stderr, and in the
    ``--log`` file when there is one."""
    stderr.print(text, markup=False, emoji=False, highlight=False, soft_wrap=True)
    _summary_log.info(text)


def error(message: str) -> None:
    """Print a one-line error to stderr (``rnatools: error: message``)."""
    message = message.replace("\r", " ").replace("\n", " ")
    stderr.print(
        f"rnatools: error: {message}", markup=False, emoji=False, highlight=False, soft_wrap=True
    )
    _summary_log.error(message)


def plain(message: str) -> None:
    """Print one line to stderr as it is (e.g. ``interrupted``)."""
    stderr.print(message, markup=False, emoji=False, highlight=False, soft_wrap=True)
    _summary_log.info(message)
