"""Engine settings that are not about one model: host memory reuse (keep_host_buffers)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys

import pytest

# In a fresh interpreter: allocate a 64 MiB buffer and report whether glibc served it from the
# heap (kept for reuse once freed) or from its own mmap (given back to the kernel when freed).
_SCRIPT = """
import ctypes, ctypes.util, sys
import numpy as np
from rnatools.engine import keep_host_buffers

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
kept = keep_host_buffers() if sys.argv[1] == "keep" else False
buffer = np.ones(16 << 20, dtype=np.float32)
during = libc.mallinfo2()
del buffer
after = libc.mallinfo2()
print(kept, during.hblkhd >= 64 << 20, after.fordblks >= 64 << 20)
"""


def _has_mallinfo2() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    return hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallinfo2")


needs_glibc = pytest.mark.skipif(
    not _has_mallinfo2(), reason="needs glibc 2.33 or newer (mallopt, mallinfo2)"
)


def _run(mode: str, **env: str) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
    }
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    return done.stdout.strip()


@needs_glibc
def test_large_host_buffers_are_kept_for_the_next_batch():
    # default glibc: a 64 MiB block is its own mmap, returned to the kernel when freed
    assert _run("default") == "False True False"
    # kept: served from the heap, and still there (free, reusable) once freed
    assert _run("keep") == "True False True"


@needs_glibc
def test_the_users_malloc_settings_are_left_alone():
    assert _run("keep", MALLOC_MMAP_THRESHOLD_="131072").startswith("False")
    assert _run("keep", GLIBC_TUNABLES="glibc.malloc.trim_threshold=1").startswith("False")


def test_fit_batch_uses_the_budget_within_its_bounds():
    from rnatools.engine import Engine, fit_batch

    assert fit_batch(None, 1000, 64, 8192) == 64  # the CPU: the configured size
    assert fit_batch(1_000_000, 1000, 64, 8192) == 1000
    assert fit_batch(10_000, 1000, 64, 8192) == 64  # never below the configured size
    assert fit_batch(10**12, 1000, 64, 8192) == 8192  # never above the cap
    assert Engine("cpu").memory_budget() is None
    assert Engine("cpu").fit_batch(1000, 64, 8192) == 64
