"""Atomic output files: never leave a partial file behind.

Data is written to a temporary file in the destination's folder (same file system, so the final
``os.replace`` is atomic) and moved over the destination only when the ``with`` block ends without
an exception; on an exception the temporary file is removed and the destination is left untouched.

Every failure to write an output — a folder that does not exist or is not writable, a full disk
(while writing or when the file is closed), a read-only file system — becomes one
:class:`~rnatools.errors.OutputError` (exit code 4) that names the path and the operating
system's reason, raised after the temporary files are removed. A closed standard output
raises :class:`~rnatools.errors.StdoutClosed` (a ``BaseException``: nothing on the way swallows
it), on which the command line stops at once, quietly.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Literal

from rnatools.errors import OutputError, OutputFolderMissingError, StdoutClosed

STDOUT_NAME = "standard output"
"""How messages name ``-`` as an output."""

DISK_ERRNOS = frozenset(
    code
    for code in (
        getattr(errno, "ENOSPC", None),
        getattr(errno, "EDQUOT", None),
        getattr(errno, "EFBIG", None),
        getattr(errno, "EROFS", None),
    )
    if code is not None
)
"""``errno`` values that can only mean "the output cannot be written" (disk full, quota, file
too large, read-only file system), wherever they are raised."""


def set_default_permissions(path: str | Path) -> None:
    """mkstemp creates files readable by the owner only; give the usual umask permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def is_disk_error(exc: BaseException) -> bool:
    """True for an :class:`OSError` that says the output cannot be written (disk full, quota,
    file too large, read-only file system), as opposed to a closed pipe or a missing input."""
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def output_error(path: str | Path, exc: OSError, message: str = "cannot write") -> OutputError:
    """The :class:`OutputError` for ``exc`` raised while writing ``path`` (not raised here).

    An ``exc`` that is already an :class:`OutputError` is returned as it is.
    """
    if isinstance(exc, OutputError):
        return exc
    code = exc.errno
    reason = exc.strerror
    if code is None and str(path) != "-" and _disk_is_full(path):
        # htslib (pysam) reports "write failed" without errno: say what the disk says.
        code = errno.ENOSPC
        reason = f"{os.strerror(code)}; {exc}" if str(exc) else os.strerror(code)
    reason = reason or str(exc) or type(exc).__name__
    name = STDOUT_NAME if str(path) == "-" else path
    return OutputError(message, name, reason, code)


def _disk_is_full(path: str | Path) -> bool:
    folder = Path(path).parent if str(Path(path).parent) else Path(".")
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


@contextlib.contextmanager
def output_errors(path: str | Path, message: str = "cannot write") -> Iterator[None]:
    """Turn any :class:`OSError` raised in the block (except ``BrokenPipeError``) into an
    :class:`OutputError` naming ``path``; for the steps that only touch the output (create,
    flush, close, rename)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OutputError:
        raise
    except OSError as exc:
        raise output_error(path, exc, message) from exc


def check_output_folder(path: str | Path) -> Path:
    """The folder ``path`` will be written into, checked before any work is done.

    Returns:
        The folder (``.`` for a bare file name).

    Raises:
        OutputFolderMissingError: the folder does not exist (also a ``FileNotFoundError``).
        OutputError: the folder is a file, or not writable by this user, or ``path`` is a folder.
    """
    destination = Path(path)
    folder = destination.parent if str(destination.parent) else Path(".")
    if not folder.exists():
        raise OutputFolderMissingError(
            f"cannot write: the folder {folder} does not exist (create it first)",
            destination,
            os.strerror(errno.ENOENT),
            errno.ENOENT,
        )
    if not folder.is_dir():
        raise OutputError(
            f"cannot write: {folder} is not a folder",
            destination,
            os.strerror(errno.ENOTDIR),
            errno.ENOTDIR,
        )
    if destination.is_dir():
        raise OutputError(
            "cannot write: it is a folder; give a file name",
            destination,
            os.strerror(errno.EISDIR),
            errno.EISDIR,
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write into the folder {folder}",
            destination,
            os.strerror(errno.EACCES),
            errno.EACCES,
        )
    return folder


def temporary_beside(destination: str | Path, suffix: str = ".tmp") -> str:
    """Create an empty temporary file in ``destination``'s folder and return its name.

    Raises:
        OutputError: the folder is missing or not writable (see :func:`check_output_folder`),
            or the file cannot be created.
    """
    folder = check_output_folder(destination)
    with output_errors(destination, f"cannot create a file in the folder {folder}"):
        descriptor, name = tempfile.mkstemp(
            prefix=f".{Path(destination).name}.", suffix=suffix, dir=folder
        )
    os.close(descriptor)
    return name


def remove_quietly(*paths: str | Path) -> None:
    """Remove files that may or may not exist (temporaries on the way out of an error)."""
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


class StdoutStream:
    """Standard output (text or bytes) whose writes raise
    :class:`~rnatools.errors.StdoutClosed` instead of ``BrokenPipeError`` when the reader has
    gone (``| head``); everything else is the stream's own."""

    def __init__(self, stream: IO):
        self._stream = stream

    def write(self, data):
        try:
            return self._stream.write(data)
        except BrokenPipeError as exc:
            raise StdoutClosed() from exc

    def writelines(self, lines) -> None:
        try:
            self._stream.writelines(lines)
        except BrokenPipeError as exc:
            raise StdoutClosed() from exc

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError as exc:
            raise StdoutClosed() from exc

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def atomic_paths(destinations: Sequence[str | Path], suffix: str = ".tmp") -> Iterator[list[Path]]:
    """Temporary paths beside each destination, all renamed onto them when the block ends cleanly.

    For writers that need a file name rather than a file object (pyBigWig, h5py, htslib). On an
    exception every temporary file is removed and the destinations are left untouched.

    Args:
        destinations: final paths; their folders must exist.
        suffix: end of the temporary names (some libraries choose the format from it).

    Yields:
        One temporary path per destination, in the same order.

    Raises:
        OutputError: a destination folder does not exist or is not writable, the disk is full
            (an ``OSError`` with a disk ``errno`` raised in the block), or a rename fails.
    """
    temporaries: list[Path] = []
    try:
        for destination in destinations:
            temporaries.append(Path(temporary_beside(destination, suffix)))
        try:
            yield temporaries
        except OSError as exc:
            if is_disk_error(exc) and not isinstance(exc, OutputError):
                names = ", ".join(str(d) for d in destinations)
                raise output_error(names, exc) from exc
            raise
        for temporary, destination in zip(temporaries, destinations, strict=True):
            with output_errors(destination):
                set_default_permissions(temporary)
                os.replace(temporary, destination)
    finally:
        remove_quietly(*temporaries)


@contextlib.contextmanager
def atomic_output(
    path: str | Path, mode: Literal["w", "wb"] = "w", *, compress: bool | None = None
) -> Iterator[IO]:
    """Open ``path`` for writing atomically; ``"-"`` means standard output.

    Text is UTF-8; characters that stand for undecodable input bytes (``surrogateescape``, as
    pysam hands them out) are written back as those bytes.

    Args:
        path: destination file, or ``"-"`` for stdout (written directly, not closed).
        mode: ``"w"`` (text, UTF-8, ``\\n`` newlines) or ``"wb"`` (bytes).
        compress: gzip the data; ``None`` (default) gzips when ``path`` ends with ``.gz``.

    Yields:
        A writable file object.

    Raises:
        ValueError: ``mode`` is neither ``"w"`` nor ``"wb"``.
        OutputError: the destination folder does not exist (an
            :class:`~rnatools.errors.OutputFolderMissingError`) or is not writable, or the disk
            fills up; the temporary file is removed first.
        StdoutClosed: standard output was closed by the reader (``| head``).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    if str(path) == "-":
        try:
            stream = StdoutStream(sys.stdout if mode == "w" else sys.stdout.buffer)
            if mode == "wb":
                sys.stdout.flush()
            yield stream  # type: ignore[misc]
            stream.flush()
        except OSError as exc:
            if is_disk_error(exc) and not isinstance(exc, OutputError):
                raise output_error("-", exc) from exc
            raise
        return
    destination = Path(path)
    if compress is None:
        compress = destination.name.endswith(".gz")
    temporary = temporary_beside(destination)
    raw: IO[bytes] | None = None
    binary: IO[bytes] | None = None
    text: io.TextIOWrapper | None = None
    try:
        with output_errors(destination):
            raw = open(temporary, "wb")  # noqa: SIM115 - closed below, on both paths
        binary = gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) if compress else raw
        if mode == "w":
            text = io.TextIOWrapper(
                binary, encoding="utf-8", errors="surrogateescape", newline="\n"
            )
        try:
            yield text if text is not None else binary
        except OSError as exc:
            if is_disk_error(exc) and not isinstance(exc, OutputError):
                raise output_error(destination, exc) from exc
            raise
        with output_errors(destination):
            if text is not None:
                text.flush()
                text.detach()
                text = None
            if compress:
                binary.close()
            raw.close()
            set_default_permissions(temporary)
            os.replace(temporary, destination)
    except BaseException:
        if text is not None:
            with contextlib.suppress(Exception):
                text.detach()
        if compress and binary is not None:
            # Closing would write the gzip trailer; drop the buffer instead.
            with contextlib.suppress(Exception):
                binary.fileobj = None  # type: ignore[union-attr]
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()
        remove_quietly(temporary)
        raise


__all__ = [
    "DISK_ERRNOS",
    "STDOUT_NAME",
    "StdoutStream",
    "atomic_output",
    "atomic_paths",
    "check_output_folder",
    "is_disk_error",
    "output_error",
    "output_errors",
    "remove_quietly",
    "set_default_permissions",
    "temporary_beside",
]
