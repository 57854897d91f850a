"""Where the official SpliceAI weights are, without importing torch (``rnatools models`` uses it).

The Keras weight files (CC BY-NC 4.0) ship inside the PyPI package ``spliceai==1.3.1``; rnatools
locates them through ``importlib.metadata`` and never imports spliceai, keras or tensorflow.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

from rnatools.errors import MissingWeightsError

WEIGHTS_ENV = "RNATOOLS_SPLICEAI_WEIGHTS"
WEIGHT_FILES = tuple(f"spliceai{i}.h5" for i in range(1, 6))

INSTALL_HINT = (
    "install the official SpliceAI weights (CC BY-NC 4.0) with "
    "pip install 'rnatools[spliceai]' (or pip install spliceai==1.3.1), "
    f"or point --weights / ${WEIGHTS_ENV} at a folder holding spliceai1.h5 ... spliceai5.h5"
)


def _files_in(path: Path, source: str) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = [path / name for name in WEIGHT_FILES]
        if all(f.is_file() for f in files):
            return files
        missing = ", ".join(f.name for f in files if not f.is_file())
        raise MissingWeightsError(f"{source} {path}: missing {missing}; {INSTALL_HINT}")
    raise MissingWeightsError(f"{source} {path}: no such file or folder; {INSTALL_HINT}")


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


def find_spliceai_weights(weights: Path | None = None) -> list[Path]:
    """The SpliceAI weight files to load.

    Order: ``weights`` (a folder with ``spliceai1.h5 … spliceai5.h5``, or one ``.h5`` file), then
    the environment variable ``RNATOOLS_SPLICEAI_WEIGHTS`` (same forms), then the installed
    ``spliceai`` distribution.

    Raises:
        MissingWeightsError: nothing found, or an explicit path that does not hold them; the
            message says how to install them.
    """
    if weights is not None:
        return _files_in(Path(weights), "--weights")
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        return _files_in(Path(env), f"${WEIGHTS_ENV}")
    files = installed_weights()
    if files is None:
        raise MissingWeightsError(f"SpliceAI weights not found; {INSTALL_HINT}")
    return files
