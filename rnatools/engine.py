"""The one inference engine: every model call in rnatools goes through an :class:`Engine`.

It owns what is the same for every model:

* **device** (``auto`` → the first CUDA device when there is one, else the CPU) and **threads**;
* **precision**: fp32 by default with TF32 switched off for the engine's own work (so results do
  not depend on the GPU generation), bf16/fp16 autocast only when asked for;
* ``torch.inference_mode`` around every call;
* **batching** by a count and a nucleotide (or token) budget, with length bucketing: inputs of one
  shape are stacked, and sorted inputs put equal lengths together;
* **transfers**: on CUDA, host batches are copied into pinned buffers that are reused across
  batches and sent with non-blocking copies, and a bounded background thread builds the next
  batch on the CPU while the device runs the current one (:meth:`Engine.prefetch`);
* **host memory**: with glibc, freed activation buffers stay in the process for the next batch
  instead of going back to the kernel (:func:`keep_host_buffers`).

Models plug in as plain callables on device tensors (``forward(x) -> y``): a splice-site model's
:meth:`~rnatools.models.base.SpliceModel.forward`, or a language model's network. The engine never
knows what a flank or a token is.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
import torch
from torch import Tensor

from rnatools.concurrency import ahead
from rnatools.errors import UsageError

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")

Tag = TypeVar("Tag")
Item = TypeVar("Item")

_PINNED_BUFFERS = 8  # distinct (shape, dtype) pinned buffers kept per engine


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """``auto`` → first CUDA device when available, else CPU; ``cpu``; ``cuda``; ``cuda:N``.

    Raises:
        UsageError: (parameter ``device``) an unknown spelling, CUDA asked for and not present,
            or a CUDA index past the devices that exist (the message lists them).
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    text = spec.strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or text.startswith("cuda:"):
        index_text = text[5:]
        if index_text and not index_text.isdigit():
            raise UsageError(
                f"{spec!r} is not a device: expected auto, cpu, cuda or cuda:N", parameter="device"
            )
        if not torch.cuda.is_available():
            raise UsageError(
                f"{spec!r}: CUDA is not available on this machine (devices here: cpu); "
                "use cpu or auto",
                parameter="device",
            )
        count = torch.cuda.device_count()
        if index_text and int(index_text) >= count:
            present = ", ".join(f"cuda:{i}" for i in range(count))
            raise UsageError(
                f"{spec!r}: no such CUDA device (devices here: cpu, {present})", parameter="device"
            )
        return torch.device(text)
    raise UsageError(
        f"{spec!r} is not a device: expected auto, cpu, cuda or cuda:N", parameter="device"
    )


def check_precision(device: torch.device, precision: str) -> Precision:
    """``precision`` when ``device`` can run it.

    Raises:
        UsageError: (parameter ``precision``) an unknown name, or fp16 on the CPU.
    """
    if precision not in PRECISIONS:
        raise UsageError(
            f"{precision!r}: expected one of {', '.join(PRECISIONS)}", parameter="precision"
        )
    if precision == "fp16" and device.type == "cpu":
        raise UsageError("fp16 needs a CUDA device; use bf16 or fp32 on CPU", parameter="precision")
    return precision  # type: ignore[return-value]


def available_cores() -> int:
    """CPU cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota
    (``/sys/fs/cgroup/cpu.max``, how containers and batch schedulers limit CPUs)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS)
        cores = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    return max(1, cores)


def set_threads(threads: int | None) -> None:
    """Set the CPU threads of torch's intra-op pool.

    Args:
        threads: that many threads; 0 or None = every core this process may use
            (:func:`available_cores`), unless ``$OMP_NUM_THREADS`` is set, which is then kept.
    """
    if not threads:
        if os.environ.get("OMP_NUM_THREADS"):
            return
        threads = available_cores()
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # may only be set once per process
        torch.set_num_interop_threads(max(1, min(threads, 4)))


# glibc mallopt(3) parameters and the environment variables that set them
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_KEEP_BYTES = 1 << 30
_host_buffers_kept: bool | None = None


def keep_host_buffers() -> bool:
    """Let glibc keep freed host buffers of up to 1 GiB in the process (once per process).

    glibc's malloc serves blocks above its mmap threshold (at most 32 MiB by default) with a
    fresh ``mmap`` and returns them with ``munmap`` when freed, so every batch's large
    activation tensors (tens of MB for a batch of variant cones) were page-faulted in anew: on a
    2-core machine a quarter of annotate's wall time went to the kernel. With ``mallopt(3)``
    ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` at 1 GiB the freed blocks are reused by the
    next batch; peak memory is unchanged (RSS stays at its peak instead of falling between
    batches). Numbers are unaffected.

    Left alone when the user set ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or
    ``GLIBC_TUNABLES``, and where the C library is not glibc.

    Returns:
        Whether the thresholds were set (now or by an earlier call).
    """
    global _host_buffers_kept
    if _host_buffers_kept is None:
        _host_buffers_kept = False
        if not any(os.environ.get(name) for name in _MALLOC_ENV):
            with contextlib.suppress(OSError, AttributeError, TypeError):
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt"):
                    _host_buffers_kept = bool(
                        libc.mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)
                        and libc.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
                    )
    return _host_buffers_kept


@contextlib.contextmanager
def _tf32_off() -> Iterator[None]:
    """TF32 off for matmul and cuDNN inside the block; the caller's settings come back after."""
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
        torch.backends.cudnn.allow_tf32 = cudnn


def _batch_limit(length: int, batch_size: int, max_batch_nt: int | None) -> int:
    """The most items of ``length`` nt (or tokens) one batch may hold (>= 1)."""
    if max_batch_nt is None:
        return batch_size
    return max(1, min(batch_size, max_batch_nt // max(length, 1)))


MEMORY_FRACTION = 0.5
"""Share of the CUDA device's free memory one batch may plan to fill (:meth:`Engine.fit_batch`)."""


def fit_batch(budget: int | None, bytes_per_item: int, default: int, most: int) -> int:
    """Items per batch: ``default`` without a memory budget (the CPU); with one (CUDA) as many
    as fit ``budget`` bytes at ``bytes_per_item`` each, but no fewer than ``default`` and no
    more than ``most``."""
    if budget is None:
        return default
    return max(default, min(most, budget // max(1, bytes_per_item)))


class Engine:
    """Device, precision, threads, batching and transfers for every model call.

    Args:
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (validated here, before any work).
        precision: ``fp32`` (default; TF32 off), or ``bf16``/``fp16`` autocast (opt-in).
        threads: CPU threads for the model on the CPU (0 = every core the process may use,
            or ``$OMP_NUM_THREADS`` when set); on CUDA they only serve the CPU-side work.
        prefetch: batches built ahead on a background thread on CUDA (0 = none; never on CPU,
            where the builder would compete with the model for the cores).

    Two settings are process-wide, like torch's own thread count: the intra-op threads
    (:func:`set_threads`) and, with glibc, the malloc thresholds of :func:`keep_host_buffers`
    (set once, left alone when the user set them).

    Raises:
        UsageError: a device that does not exist here, fp16 on the CPU, ``prefetch < 0``.
    """

    def __init__(
        self,
        device: str | torch.device = "auto",
        precision: str = "fp32",
        threads: int = 0,
        prefetch: int = 2,
    ):
        if prefetch < 0:
            raise UsageError(f"prefetch must be >= 0, got {prefetch}", parameter="prefetch")
        set_threads(threads)
        keep_host_buffers()
        self.device = resolve_device(device)
        self.precision: Precision = check_precision(self.device, precision)
        self.prefetch_depth = prefetch if self.device.type == "cuda" else 0
        # (shape, dtype) → (pinned host buffer, event recorded after its last upload)
        self._pinned: dict[tuple[tuple[int, ...], torch.dtype], tuple[Tensor, object]] = {}

    def __repr__(self) -> str:
        return f"Engine(device={self.device}, precision={self.precision})"

    # -- memory -----------------------------------------------------------------------------
    def memory_budget(self) -> int | None:
        """Bytes the next batch may plan to fill: on CUDA :data:`MEMORY_FRACTION` of the
        device's free memory now (``torch.cuda.mem_get_info``); None on the CPU, where batch
        sizes stay as configured (host memory is bounded by them)."""
        if self.device.type != "cuda":
            return None
        free, _total = torch.cuda.mem_get_info(self.device)
        return int(free * MEMORY_FRACTION)

    def fit_batch(self, bytes_per_item: int, default: int, most: int) -> int:
        """Items per batch for items of ``bytes_per_item`` device bytes each (their largest
        live tensors): ``default`` on the CPU; on CUDA as many as :meth:`memory_budget` allows,
        within ``[default, most]`` (:func:`fit_batch`)."""
        return fit_batch(self.memory_budget(), bytes_per_item, default, most)

    # -- one call ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        """``inference_mode``, TF32 off and, when asked for, autocast: wrap every model call."""
        with _tf32_off(), torch.inference_mode(), self._autocast():
            yield

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def to_device(self, array: np.ndarray | Tensor) -> Tensor:
        """``array`` on the engine's device (same dtype).

        On CUDA the host data goes through a pinned buffer reused for every batch of the same
        shape, with a non-blocking copy; before a buffer is refilled the engine waits for the
        event recorded after its previous upload, so a copy still in flight is never
        overwritten.
        """
        if isinstance(array, np.ndarray):
            tensor = torch.from_numpy(np.ascontiguousarray(array))
        else:
            tensor = array
        if self.device.type != "cuda":
            return tensor.to(self.device)
        if tensor.device.type == "cuda":
            return tensor.to(self.device, non_blocking=True)
        key = (tuple(tensor.shape), tensor.dtype)
        slot = self._pinned.get(key)
        if slot is None:
            if len(self._pinned) >= _PINNED_BUFFERS:
                _, (_, oldest_event) = self._pinned.popitem()
                oldest_event.synchronize()  # type: ignore[attr-defined]
            slot = (
                torch.empty(tensor.shape, dtype=tensor.dtype).pin_memory(),
                torch.cuda.Event(),
            )
            self._pinned[key] = slot
        buffer, uploaded = slot
        uploaded.synchronize()  # type: ignore[attr-defined]  # the previous upload is done
        buffer.copy_(tensor)
        on_device = buffer.to(self.device, non_blocking=True)
        uploaded.record(torch.cuda.current_stream(self.device))  # type: ignore[attr-defined]
        return on_device

    @staticmethod
    def to_host(tensor: Tensor) -> np.ndarray:
        """``tensor`` as a float32 numpy array on the host (waits for the device)."""
        return tensor.float().cpu().numpy()

    def run(self, forward: Callable[[Tensor], Tensor], x: np.ndarray | Tensor) -> np.ndarray:
        """``forward`` on one batch ``x`` (float32 input; e.g. ``(batch, length, 4)`` one-hot).

        Returns:
            The output as a float32 numpy array (e.g. ``(batch, length, 3)``).
        """
        if isinstance(x, np.ndarray):
            x = np.ascontiguousarray(x, dtype=np.float32)
        with self.inference():
            return self.to_host(forward(self.to_device(x)))

    # -- many calls -------------------------------------------------------------------------
    def prefetch(self, iterator: Iterable[Item]) -> Iterator[Item]:
        """``iterator`` produced on a bounded background thread (CUDA with ``prefetch > 0``).

        The producer (window cutting, one-hot encoding, stacking) then overlaps with the model
        work of the consumer; order is kept, and an exception of the producer is raised here.
        On the CPU the items are produced in the caller's thread.
        """
        return ahead(iterator, self.prefetch_depth, "rnatools-prefetch")

    def batches(
        self,
        items: Iterable[Item],
        *,
        length: Callable[[Item], int],
        batch_size: int,
        max_batch_nt: int | None = None,
        sort: bool = False,
        same_length: bool = True,
    ) -> Iterator[list[Item]]:
        """Group ``items`` into batches by a count and a nucleotide (or token) budget.

        Args:
            items: anything; ``length(item)`` gives its size in nt or tokens.
            batch_size: most items per batch (>= 1).
            max_batch_nt: most ``items × longest length`` per batch; ``None`` = no budget.
            sort: bucket by length first (stable), so equal lengths share batches; needs the
                items in memory. Without it items stream and keep their order.
            same_length: a change of length ends a batch (inputs are stacked without padding).
                ``False`` lets a batch mix lengths (padded models); the budget then counts the
                longest item.

        Yields:
            Lists of consecutive items (consecutive after sorting when ``sort``).

        Raises:
            UsageError: ``batch_size < 1`` or ``max_batch_nt < 1``.
        """
        if batch_size < 1:
            raise UsageError(f"batch_size must be >= 1, got {batch_size}", parameter="batch_size")
        if max_batch_nt is not None and max_batch_nt < 1:
            raise UsageError(
                f"max_batch_nt must be >= 1 nt, got {max_batch_nt}", parameter="max_batch_nt"
            )
        if sort:
            items = sorted(items, key=length)
        batch: list[Item] = []
        longest = 0
        for item in items:
            size = length(item)
            if batch:
                limit = _batch_limit(max(longest, size), batch_size, max_batch_nt)
                if (same_length and size != longest) or len(batch) >= limit:
                    yield batch
                    batch, longest = [], 0
            batch.append(item)
            longest = max(longest, size)
        if batch:
            yield batch

    def map(
        self,
        forward: Callable[[Tensor], Tensor],
        items: Iterable[tuple[Tag, np.ndarray]],
        *,
        batch_size: int,
        max_batch_nt: int | None = None,
        sort: bool = False,
    ) -> Iterator[tuple[Tag, np.ndarray]]:
        """Run ``forward`` over many inputs in batches; yield ``(tag, output)`` per input.

        Inputs of one shape are stacked (a change of shape ends a batch); with ``sort`` they
        are first bucketed by length, otherwise they stream lazily in input order, so windows
        over a whole genome never sit in memory at once. On CUDA the next batch is stacked on
        a background thread while the device runs the current one.

        Args:
            forward: device tensor ``(batch, length, ...)`` → device tensor ``(batch, ...)``.
            items: ``(tag, x)`` pairs, ``x`` e.g. ``(length, 4)`` float32 one-hot.
            batch_size, max_batch_nt, sort: see :meth:`batches`.

        Yields:
            ``(tag, y)``, ``y`` the float32 output of ``x`` (batch axis removed), in batch
            order (input order unless ``sort``).
        """

        def stacked() -> Iterator[tuple[list[Tag], np.ndarray]]:
            for batch in self.batches(
                items,
                length=lambda item: item[1].shape[0],
                batch_size=batch_size,
                max_batch_nt=max_batch_nt,
                sort=sort,
            ):
                tags = [tag for tag, _ in batch]
                yield tags, np.stack([np.asarray(x, dtype=np.float32) for _, x in batch])

        for tags, x in self.prefetch(stacked()):
            yield from zip(tags, self.run(forward, x), strict=True)


__all__ = [
    "PRECISIONS",
    "Engine",
    "Precision",
    "check_precision",
    "resolve_device",
    "available_cores",
    "set_threads",
]
