"""Two bounded hand-offs between threads, for pipelines that overlap their stages.

* :func:`ahead` runs a producer (reading, planning, encoding the next batch) on a background
  thread, a bounded number of items in front of the consumer;
* :class:`Behind` runs a consumer (writing finished batches) on a background thread, so that the
  thread producing them (the model) does not wait for it.

Both keep the order of the items, hand an exception of the background thread to the calling
thread (the same exception object, raised at its next hand-off), and stop their thread when the
caller stops early (an error, Ctrl-C, a closed output): a stopped :class:`Behind` has finished
the item it was on (waited for up to 5 s), so whatever it writes to can then be closed safely; a
stopped :func:`ahead` is waited for up to 1 s (a producer blocked on a read that never returns,
such as standard input, is left to end with the process).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

Item = TypeVar("Item")

_END = object()
# How long a stopped stage is waited for. Short: a reader blocked on standard input (no more
# records coming) must not delay Ctrl-C; the threads are daemons and finish their current
# item, or die with the process.
_AHEAD_JOIN_S = 1.0
_BEHIND_JOIN_S = 5.0


def ahead(iterator: Iterable[Item], depth: int, name: str = "rnatools-ahead") -> Iterator[Item]:
    """The items of ``iterator``, produced on a background thread at most ``depth`` items in
    front of the caller (``depth`` 0: produced in the caller's thread, nothing overlaps).

    Raises:
        whatever the producer raised, when the caller reaches that point of the sequence.
    """
    if depth <= 0:
        yield from iterator
        return
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                slots.put(entry, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for item in iterator:
                if not put((item, None)):
                    return
            put((_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put((_END, exc))

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join(_AHEAD_JOIN_S)


class Behind(Generic[Item]):
    """Hand items to ``consume`` on a background thread, at most ``depth`` waiting (``depth``
    0: ``consume`` runs in the caller's thread, at :meth:`put`).

    Use as a context manager: leaving it normally waits for every item (:meth:`close`); leaving
    it on an exception stops the thread after its current item and drops the rest.

    Raises:
        from :meth:`put` and :meth:`close`: the exception ``consume`` raised (then no further
        item is consumed).
    """

    def __init__(
        self, consume: Callable[[Item], None], depth: int, name: str = "rnatools-behind"
    ) -> None:
        self._consume = consume
        self._error: BaseException | None = None
        self._worker: threading.Thread | None = None
        if depth > 0:
            self._slots: queue.Queue = queue.Queue(maxsize=depth)
            self._stop = threading.Event()
            self._worker = threading.Thread(target=self._run, name=name, daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._slots.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _END:
                return
            try:
                self._consume(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the producer
                self._error = exc
                return

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, item: Item) -> None:
        """Queue ``item`` (waits while ``depth`` items are waiting)."""
        if self._worker is None:
            self._consume(item)
            return
        while True:
            self._raise()
            if not self._worker.is_alive():
                raise RuntimeError("the consumer thread stopped")
            with contextlib.suppress(queue.Full):
                self._slots.put(item, timeout=0.1)
                return

    def close(self) -> None:
        """Wait until every queued item is consumed; raise the consumer's exception if any."""
        if self._worker is None:
            return
        while self._worker.is_alive():
            self._raise()
            with contextlib.suppress(queue.Full):
                self._slots.put(_END, timeout=0.1)
                break
        self._worker.join()
        self._raise()

    def cancel(self) -> None:
        """Stop the thread after its current item; queued items are dropped."""
        if self._worker is None:
            return
        self._stop.set()
        self._worker.join(_BEHIND_JOIN_S)

    def __enter__(self) -> Behind[Item]:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.cancel()


__all__ = ["Behind", "ahead"]
