"""The thread hand-offs the annotate pipeline overlaps its stages with (rnatools.concurrency)."""

from __future__ import annotations

import threading
import time
from contextlib import closing

import pytest

from rnatools.concurrency import Behind, ahead


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_ahead_keeps_order_and_runs_on_another_thread_when_asked(depth):
    threads = []

    def produce():
        for value in range(20):
            threads.append(threading.current_thread())
            yield value

    assert list(ahead(produce(), depth)) == list(range(20))
    on_caller = {thread is threading.current_thread() for thread in threads}
    assert on_caller == ({True} if depth == 0 else {False})


def test_ahead_raises_the_producers_error_where_it_happened():
    class Boom(Exception):
        pass

    def produce():
        yield 1
        yield 2
        raise Boom("third item")

    got = []
    with pytest.raises(Boom, match="third item"):
        for value in ahead(produce(), 2):
            got.append(value)
    assert got == [1, 2]


def test_ahead_stops_its_producer_when_the_caller_stops_early():
    produced = []

    def produce():
        for value in range(1_000):
            produced.append(value)
            yield value

    with closing(ahead(produce(), 2)) as items:
        for value in items:
            if value == 3:
                break
    time.sleep(0.3)
    # at most the bounded queue (2), the item being put and the one in hand past the 4 used
    assert 4 <= len(produced) <= 8


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_behind_consumes_everything_in_order(depth):
    seen = []

    def consume(item):
        time.sleep(0.001)
        seen.append((item, threading.current_thread() is threading.main_thread()))

    with Behind(consume, depth) as behind:
        for item in range(30):
            behind.put(item)
    assert [item for item, _ in seen] == list(range(30))
    assert {main for _, main in seen} == {depth == 0}


def test_behind_hands_the_consumers_error_to_the_producer_and_stops():
    seen = []

    def consume(item):
        if item == 5:
            raise OSError(28, "No space left on device")
        seen.append(item)

    with pytest.raises(OSError, match="No space left"), Behind(consume, 2) as behind:
        for item in range(100):
            behind.put(item)
    assert seen == [0, 1, 2, 3, 4]


def test_behind_error_raised_at_close_when_every_item_was_queued():
    def consume(item):
        if item == 2:
            raise BrokenPipeError("stdout closed")

    behind = Behind(consume, 8)
    for item in range(3):
        behind.put(item)
    with pytest.raises(BrokenPipeError):
        behind.close()


def test_behind_cancel_stops_after_the_current_item():
    started = threading.Event()
    release = threading.Event()
    seen = []

    def consume(item):
        started.set()
        release.wait(5)
        seen.append(item)

    behind = Behind(consume, 10)
    for item in range(5):
        behind.put(item)
    assert started.wait(5)
    timer = threading.Timer(0.2, release.set)  # item 0 finishes while cancel() waits
    timer.start()
    behind.cancel()
    timer.join()
    assert seen == [0]
