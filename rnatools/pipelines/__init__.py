"""Library entry points of the subcommands: settings in, summary out, no printing.

Each module holds one pipeline (``annotate``, ``predict``, ``windows``, ``embed``, ``mlm``,
``ism``): a frozen settings dataclass, a ``run_<name>(settings, progress=...)`` function and a
summary it returns. The command-line layer (:mod:`rnatools.cli`) only parses options, builds the
settings, calls the pipeline and prints the summary; Python users call the pipelines directly::

    from rnatools.pipelines.annotate import AnnotateSettings, run_annotate
    summary = run_annotate(AnnotateSettings(input="in.vcf", output="out.vcf.gz", ...))

Errors are the typed errors of :mod:`rnatools.errors`; a :class:`~rnatools.errors.UsageError`
names the settings field at fault (``parameter``), which the CLI maps to its flag.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol


class Progress(Protocol):
    """What a pipeline reports progress to: ``advance(amount)`` after each piece of work."""

    def advance(self, amount: float = 1) -> None: ...


ProgressFactory = Callable[[str, "float | None", str], contextlib.AbstractContextManager[Progress]]
"""``factory(description, total, unit)`` → context manager yielding a :class:`Progress`
(``total`` None when unknown). The CLI passes its progress bar; the default shows nothing."""


class _NullProgress:
    def advance(self, amount: float = 1) -> None:
        pass


@contextlib.contextmanager
def no_progress(description: str, total: float | None = None, unit: str = "") -> Iterator[Progress]:
    """A :data:`ProgressFactory` that reports nothing (the default of every pipeline)."""
    yield _NullProgress()


__all__ = ["Progress", "ProgressFactory", "no_progress"]
