"""The one batched, device-aware inference loop every model-running command goes through.

Models take ``(batch, length, 4)`` float32 arrays and return float32 arrays. Inference runs
under ``torch.inference_mode()``, in fp32 unless reduced precision is asked for (autocast, opt-in),
with pinned host memory and non-blocking copies on CUDA.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
import torch

from rnatools.runtime import Precision, autocast

Tag = TypeVar("Tag")


def _to_device(x: np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def run_model(
    model: torch.nn.Module,
    x: np.ndarray,
    device: torch.device | str,
    precision: Precision = "fp32",
) -> np.ndarray:
    """Run ``model`` on one batch.

    Args:
        model: a module already on ``device`` and in eval mode.
        x: ``(batch, length, 4)`` float32 one-hot (or any float array the model takes).
        device: where ``model`` lives.
        precision: ``fp32`` (default; TF32 is off, see ``runtime.resolve_device``), or ``bf16`` /
            ``fp16`` autocast.

    Returns:
        The model's output as a float32 numpy array (e.g. ``(batch, length, 3)`` for SpliceAI).

    Raises:
        UsageError: fp16 asked for on CPU.
    """
    device = torch.device(device)
    with torch.inference_mode(), autocast(device, precision):
        output = model(_to_device(x, device))
    return output.float().cpu().numpy()


def predict_batches(
    model: torch.nn.Module,
    items: Iterable[tuple[Tag, np.ndarray]],
    device: torch.device | str,
    precision: Precision = "fp32",
    batch_size: int = 8,
) -> Iterator[tuple[Tag, np.ndarray]]:
    """Run ``model`` over many inputs in batches and yield the outputs in input order.

    Consecutive inputs of the same shape are stacked into batches of up to ``batch_size``; a change
    of shape ends a batch early. Inputs are consumed lazily, so a generator of windows over a whole
    genome never sits in memory at once.

    Args:
        items: ``(tag, x)`` pairs, ``x`` of shape ``(length, 4)``; the tag travels with the output.
        batch_size: inputs per model call (>= 1).

    Yields:
        ``(tag, y)`` with ``y`` the model output for ``x`` (batch axis removed), in input order.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    tags: list = []
    arrays: list[np.ndarray] = []

    def flush() -> Iterator[tuple[Tag, np.ndarray]]:
        output = run_model(model, np.stack(arrays), device, precision)
        yield from zip(tags, output, strict=True)
        tags.clear()
        arrays.clear()

    for tag, x in items:
        if arrays and (x.shape != arrays[0].shape or len(arrays) >= batch_size):
            yield from flush()
        tags.append(tag)
        arrays.append(x)
    if arrays:
        yield from flush()
