"""Atomic output files: never leave a partial file behind.

Data is written to a temporary file in the destination's folder (same file system, so the final
``os.replace`` is atomic) and moved over the destination only when the ``with`` block ends without
an exception; on an exception the temporary file is removed and the destination is left untouched.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Literal


def set_default_permissions(path: str | Path) -> None:
    """mkstemp creates files readable by the owner only; give the usual umask permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


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
        OSError: a destination folder does not exist or is not writable.
    """
    temporaries: list[Path] = []
    try:
        for destination in map(Path, destinations):
            folder = destination.parent if str(destination.parent) else Path(".")
            descriptor, name = tempfile.mkstemp(
                prefix=f".{destination.name}.", suffix=suffix, dir=folder
            )
            os.close(descriptor)
            temporaries.append(Path(name))
        yield temporaries
        for temporary, destination in zip(temporaries, destinations, strict=True):
            set_default_permissions(temporary)
            os.replace(temporary, destination)
    finally:
        for temporary in temporaries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


@contextlib.contextmanager
def atomic_output(
    path: str | Path, mode: Literal["w", "wb"] = "w", *, compress: bool | None = None
) -> Iterator[IO]:
    """Open ``path`` for writing atomically; ``"-"`` means standard output.

    Args:
        path: destination file, or ``"-"`` for stdout (written directly, not closed).
        mode: ``"w"`` (text, UTF-8, ``\\n`` newlines) or ``"wb"`` (bytes).
        compress: gzip the data; ``None`` (default) gzips when ``path`` ends with ``.gz``.

    Yields:
        A writable file object.

    Raises:
        ValueError: ``mode`` is neither ``"w"`` nor ``"wb"``.
        OSError: the destination folder does not exist or is not writable.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    if str(path) == "-":
        if mode == "w":
            yield sys.stdout
            sys.stdout.flush()
        else:
            yield sys.stdout.buffer
            sys.stdout.buffer.flush()
        return
    destination = Path(path)
    if compress is None:
        compress = destination.name.endswith(".gz")
    folder = destination.parent if str(destination.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=folder
    )
    try:
        with os.fdopen(descriptor, "wb") as raw:
            binary: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compress else raw
            try:
                if mode == "w":
                    text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
                    try:
                        yield text
                    finally:
                        text.flush()
                        text.detach()
                else:
                    yield binary
            finally:
                if compress:
                    binary.close()
        set_default_permissions(temporary)
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
