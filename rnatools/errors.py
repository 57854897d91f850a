"""Typed errors of rnatools.

Library code raises these; only the command-line layer turns them into a one-line message and an
exit code (0 success, 1 data error, 2 usage error, 3 missing weights or dependency, 4 output not
writable; the table is in the README, "Exit codes").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class RnatoolsError(Exception):
    """Base class of every error rnatools reports to a user (exit code 1).

    Library code names the *parameter* a problem is about (``parameter="max_distance"``), never a
    command-line flag; the command-line layer maps the parameter to the flag the user typed.
    """

    exit_code = 1
    parameter: str | None = None


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


class UsageError(RnatoolsError, ValueError):
    """Options that contradict each other or are out of range (exit code 2).

    Args:
        message: what is wrong, in terms of the value (not of a flag).
        parameter: the settings field or function argument at fault (e.g. ``"max_distance"``).
    """

    exit_code = 2

    def __init__(self, message: str, parameter: str | None = None):
        self.parameter = parameter
        super().__init__(message)


class MissingWeightsError(RnatoolsError, FileNotFoundError):
    """Model weights or an optional dependency could not be found (exit code 3).

    Args:
        message: what is missing and how to get it.
        parameter: the settings field that names the weights (``"weights"``, ``"lm_weights"``).
    """

    exit_code = 3

    def __init__(self, message: str, parameter: str | None = None):
        self.parameter = parameter
        super().__init__(message)

    def __str__(self) -> str:  # FileNotFoundError would format (errno, strerror) otherwise
        return self.args[0]


class OutputError(RnatoolsError):
    """An output cannot be written (exit code 4): its folder is missing or not writable, the disk
    is full, the file system is read-only.

    The message names the path and the operating system's reason; the temporary files of the
    output have been removed when it is raised.

    Args:
        message: what could not be done (e.g. ``"cannot write the output"``).
        path: the output (or its folder) at fault.
        reason: the operating system's words (``strerror``), when there are some.
        errno: the ``errno`` of the underlying :class:`OSError`, when there is one.
    """

    exit_code = 4

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        reason: str | None = None,
        errno: int | None = None,
    ):
        self.message = message
        self.path = None if path is None else str(path)
        self.reason = reason
        text = f"{self.path}: {message}" if self.path is not None else message
        if reason:
            text = f"{text} ({reason})"
        super().__init__(text)
        self.errno = errno
        self.strerror = reason
        self.filename = self.path

    def __str__(self) -> str:  # an OSError subclass would format (errno, strerror) otherwise
        return self.args[0]


class OutputFolderMissingError(OutputError, FileNotFoundError):
    """The folder an output should go to does not exist (exit code 4, like every output error;
    also a ``FileNotFoundError``, what callers caught before)."""


class StdoutClosed(BaseException):
    """Standard output was closed by its reader (``rnatools ... | head -1``).

    Not a failure but an order to stop at once: a ``BaseException`` (like ``KeyboardInterrupt``),
    so that no ``except OSError`` or ``except Exception`` on the way swallows it and the work
    stops promptly. The command line exits 141 without a message (128 + SIGPIPE, what a shell
    reports for a program that a closed pipe ends).
    """


class IncompleteWeightsError(MissingWeightsError, InputError):
    """A weights folder that lacks a file the model needs (exit code 3, like missing weights):
    names the folder and the file; also an :class:`InputError` about that path."""

    def __init__(self, message: str, path: str | Path | None = None):
        InputError.__init__(self, message, path)
        self.parameter = None

    def __str__(self) -> str:
        return self.args[0]
