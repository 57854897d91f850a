"""Shared test fixtures.

Tests that need third-party material read folders from environment variables that ``.ci/run``
sets, and skip with a reason when they are unset:

- ``RNATOOLS_TEST_WEIGHTS``: ``shared/data/weights`` (OpenSpliceAI, Pangolin, RNABERT, configs)
- ``RNATOOLS_TEST_FIXTURES``: ``shared/fixtures`` (oracle outputs of the original implementations)
- ``RNATOOLS_TEST_DATA``: ``shared/data`` (larger real genomic data)

The official SpliceAI weights come from the installed ``spliceai`` package
(the ``[spliceai]`` extra).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_DATA = Path(__file__).parent / "data"


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


@pytest.fixture(scope="session")
def test_data() -> Path:
    """Small real files committed under ``tests/data`` (each with its provenance)."""
    return TEST_DATA


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    return _require("RNATOOLS_TEST_WEIGHTS")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return _require("RNATOOLS_TEST_FIXTURES")


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    return _require("RNATOOLS_TEST_DATA")
