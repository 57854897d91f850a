"""Typed errors of rnatools.

Library code raises these; only the command-line layer turns them into a one-line message and an
exit code (0 success, 1 data error, 2 usage error, 3 missing weights or dependency).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class RnatoolsError(Exception):
    """Base class of every error rnatools reports to a user (exit code 1)."""

    exit_code = 1


class InputError(RnatoolsError, ValueError):
    """Bad user data: names the file, the line (1-based) and what was expected.

    Args:
        message: what is wrong and what was expected.
        path: the file that holds the bad data, when there is one.
        line: 1-based line number inside ``path``, when known.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(f"{where}{message}")


class ContigNotFoundError(InputError, KeyError):
    """A contig name matches none of the names a file holds, even after chr/MT renaming."""

    def __init__(self, name: str, available: Iterable[str], path: str | Path | None = None):
        names = list(available)
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
        self.name = name
        super().__init__(f"contig {name!r} not found; contigs there: {shown or '(none)'}", path)

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.args[0]


class UsageError(RnatoolsError):
    """Options that contradict each other or are out of range (exit code 2)."""

    exit_code = 2


class MissingWeightsError(RnatoolsError, FileNotFoundError):
    """Model weights or an optional dependency could not be found (exit code 3)."""

    exit_code = 3
