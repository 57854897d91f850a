"""SpliceAI's weight layout and default location, without importing torch (``rnatools models``).

The Keras weight files (CC BY-NC 4.0) ship inside the PyPI package ``spliceai==1.3.1``; rnatools
locates them through ``importlib.metadata`` and never imports spliceai, keras or tensorflow.
Which path is used is decided by :func:`rnatools.models.registry.find_weights` (explicit path >
``$RNATOOLS_SPLICEAI_WEIGHTS`` > :func:`installed_folder`); :func:`weight_files` is the
registry's layout hook that lists the files of that path.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from rnatools.errors import MissingWeightsError

WEIGHTS_ENV = "RNATOOLS_SPLICEAI_WEIGHTS"
WEIGHT_FILES = tuple(f"spliceai{i}.h5" for i in range(1, 6))


def _how_to_get() -> str:
    from rnatools.models.registry import MODELS  # the registry imports this module

    return MODELS["spliceai"].how_to_get


def installed_weights() -> list[Path] | None:
    """The five ``.h5`` files of an installed ``spliceai`` distribution, or None.

    Uses ``importlib.metadata`` only: spliceai, keras and tensorflow are never imported.
    """
    try:
        dist = importlib.metadata.distribution("spliceai")
    except importlib.metadata.PackageNotFoundError:
        return None
    files = [Path(str(dist.locate_file(f"spliceai/models/{name}"))) for name in WEIGHT_FILES]
    return files if all(f.is_file() for f in files) else None


def installed_folder() -> Path | None:
    """The folder of the installed ``spliceai`` package's weights, or None (registry default)."""
    files = installed_weights()
    return None if files is None else files[0].parent


def weight_files(path: Path, name: str = "spliceai") -> list[Path]:
    """The SpliceAI weight files of a located path (the registry's layout hook).

    Args:
        path: one ``.h5`` file (a single network), or a folder holding ``spliceai1.h5 …
            spliceai5.h5`` (the ensemble).
        name: registry name (every SpliceAI entry has this layout).

    Returns:
        ``[path]`` for a file; the five files, in network order, for a folder.

    Raises:
        MissingWeightsError: a folder that lacks some of the five files (they are named), or a
            path that does not exist; the message says how to get the weights.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = [path / file_name for file_name in WEIGHT_FILES]
        if all(f.is_file() for f in files):
            return files
        missing = ", ".join(f.name for f in files if not f.is_file())
        raise MissingWeightsError(f"{name} weights {path}: missing {missing}; {_how_to_get()}")
    raise MissingWeightsError(f"{name} weights {path}: no such file or folder; {_how_to_get()}")


__all__ = [
    "WEIGHTS_ENV",
    "WEIGHT_FILES",
    "installed_folder",
    "installed_weights",
    "weight_files",
]
