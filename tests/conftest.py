"""Shared test fixtures.

Third-party material comes from folders named by environment variables that ``.ci/run`` sets
(pointing into ``../shared``):

- ``RNATOOLS_TEST_WEIGHTS``: ``shared/data/weights`` (OpenSpliceAI, Pangolin, RNABERT, configs)
- ``RNATOOLS_TEST_FIXTURES``: ``shared/fixtures`` (oracle outputs of the original implementations)
- ``RNATOOLS_TEST_DATA``: ``shared/data`` (larger real genomic data)

On a fresh clone (variables unset) ``fixtures_dir`` and ``shared_data_dir`` fall back to the
copies committed under ``tests/data/fixtures`` (the SpliceAI parity oracles: official CLI outputs
and Keras arrays) and ``tests/data/shared_data`` (two annotation files), same layout and names;
a test that reaches for a part that is not copied (models and weights that are not on the
package index) skips, as do the tests that need ``weights_dir``. The official SpliceAI weights
come from the installed ``spliceai`` package (the ``[spliceai]`` extra).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_DATA = Path(__file__).parent / "data"
COMMITTED_FIXTURES = TEST_DATA / "fixtures"
COMMITTED_SHARED_DATA = TEST_DATA / "shared_data"


def _env_dir(variable: str) -> Path | None:
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value)
    return path if path.is_dir() else None


def _require(variable: str) -> Path:
    path = _env_dir(variable)
    if path is None:
        pytest.skip(f"{variable} is not set to a folder (.ci/run points it into ../shared)")
    return path


class CommittedSubset(type(Path())):  # type: ignore[misc]
    """A committed copy of part of a ``../shared`` folder: a path to a part that is not in it
    skips the test that asks for it (naming the variable that gives the whole folder)."""

    variable = ""

    def __truediv__(self, key):
        child = super().__truediv__(key)
        if not os.path.lexists(child):
            pytest.skip(
                f"{child.relative_to(TEST_DATA)} is not committed under tests/data; set "
                f"{self.variable} to the ../shared folder to run this test"
            )
        return child

    def _make_child_relpath(self, part):  # Path.iterdir/glob children: plain paths
        return Path(super()._make_child_relpath(part))


class _CommittedFixtures(CommittedSubset):
    variable = "RNATOOLS_TEST_FIXTURES"


class _CommittedSharedData(CommittedSubset):
    variable = "RNATOOLS_TEST_DATA"


def _fallback(variable: str, committed: type[CommittedSubset], folder: Path) -> Path:
    path = _env_dir(variable)
    return path if path is not None else committed(folder)


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Small real files committed under ``tests/data`` (each with its provenance)."""
    return TEST_DATA


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    return _require("RNATOOLS_TEST_WEIGHTS")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``$RNATOOLS_TEST_FIXTURES``, else ``tests/data/fixtures`` (SpliceAI oracles only)."""
    return _fallback("RNATOOLS_TEST_FIXTURES", _CommittedFixtures, COMMITTED_FIXTURES)


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``$RNATOOLS_TEST_DATA``, else ``tests/data/shared_data`` (two annotation files)."""
    return _fallback("RNATOOLS_TEST_DATA", _CommittedSharedData, COMMITTED_SHARED_DATA)


def cache_spliceai_work(patch: pytest.MonkeyPatch, cache: dict[bytes, object]) -> None:
    """Make SpliceAI's work reusable within a test module: network reads, whole-window runs
    (keyed by input bytes, shape, dtype, device, autocast) and incremental SNV runs (keyed by
    window, SNVs, distance, precision) are taken from ``cache`` when seen before.

    Identical inputs give identical outputs by construction, so runs that differ only in masking,
    output format or the command's spelling share the model's work.
    """
    import hashlib

    import numpy as np
    import torch

    import rnatools.models.spliceai
    from rnatools.models.spliceai import SpliceAIModel
    from rnatools.models.spliceai_incremental import SpliceAIIncremental

    load_net = rnatools.models.spliceai.load_keras_net
    forward = SpliceAIModel.forward
    run_snvs = SpliceAIIncremental.run

    def cached(key: bytes, compute):
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    def cached_load_net(path):
        return cached(f"net {path}".encode(), lambda: load_net(path))

    def cached_forward(self, x):
        data = np.ascontiguousarray(x.detach().cpu().numpy()).tobytes()
        setting = f"{tuple(x.shape)} {x.dtype} {x.device} {torch.is_autocast_enabled()}"
        key = b"w" + hashlib.sha1(data).digest() + setting.encode()
        return cached(key, lambda: forward(self, x))

    def cached_run_snvs(self, engine, sequence, centers, alt_bases, distance):
        text = f"{sequence}|{list(centers)}|{list(alt_bases)}|{distance}|{engine.precision}"
        key = b"s" + hashlib.sha1(text.encode()).digest()
        return cached(key, lambda: run_snvs(self, engine, sequence, centers, alt_bases, distance))

    patch.setattr(rnatools.models.spliceai, "load_keras_net", cached_load_net)
    patch.setattr(SpliceAIModel, "forward", cached_forward)
    patch.setattr(SpliceAIIncremental, "run", cached_run_snvs)
    run_windows = SpliceAIIncremental.run_windows

    def window_text(sequence) -> str:  # text, or one-hot (length, 4) from a scorer's prepare
        if isinstance(sequence, str):
            return sequence
        return hashlib.sha1(np.ascontiguousarray(sequence).tobytes()).hexdigest()

    def cached_run_windows(self, engine, windows):
        text = f"{[(window_text(s), list(v)) for s, v in windows]}|{engine.precision}"
        key = b"v" + hashlib.sha1(text.encode()).digest()
        return cached(key, lambda: run_windows(self, engine, windows))

    patch.setattr(SpliceAIIncremental, "run_windows", cached_run_windows)
