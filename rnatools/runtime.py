"""Device, precision and thread settings shared by every model-running command."""

from __future__ import annotations

import contextlib
import os
from typing import Literal

import torch

from rnatools.errors import UsageError

Precision = Literal["fp32", "bf16", "fp16"]


def set_threads(threads: int | None) -> None:
    """Cap CPU threads used by torch and by htslib-style libraries (0/None = library default)."""
    if threads:
        torch.set_num_threads(threads)
        with contextlib.suppress(RuntimeError):  # may only be set once per process
            torch.set_num_interop_threads(max(1, min(threads, 4)))
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` → first CUDA device when available, else CPU; ``cpu``; ``cuda``; ``cuda:N``.

    Also makes results deterministic by default: TF32 is switched off for matmul and cuDNN.

    Raises:
        UsageError: an unknown spelling, or CUDA asked for and not available.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    spec = spec.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(
                f"--device {spec}: CUDA is not available on this machine (use cpu or auto)"
            )
        device = torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(
                f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present"
            )
        return device
    raise UsageError(f"--device must be auto, cpu, cuda or cuda:N, got {spec!r}")


def autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager:
    """Autocast context for reduced precision (opt-in); a no-op for fp32.

    Raises:
        UsageError: fp16 asked for on CPU.
    """
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and device.type == "cpu":
        raise UsageError("--precision fp16 needs a CUDA device; use bf16 or fp32 on CPU")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)
