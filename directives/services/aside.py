"""Work handed to a thread that runs a few chunks ahead of its consumer.

SQLite computes in-process but releases the GIL while it steps a statement, and psycopg while
it waits on the network: a thread that fetches (or formats) chunks lets that work run on the
other core while this one does the Python part.
"""

from __future__ import annotations

from collections.abc import Iterator
from queue import Full, Queue
from threading import Event, Thread
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


def fetched_aside(chunks: Iterator[T]) -> Iterator[T]:
    """``chunks``, produced by a thread a few ahead of the consumer. An error in the thread is
    raised here; a consumer that stops early makes the thread stop.

    What the thread touches is its alone until the last chunk (a connection it fetches from:
    the consumer only formats what it is given)."""
    queue: Queue[Any] = Queue(maxsize=4)
    stop = Event()

    def put(item: Any) -> bool:
        """Queue ``item`` unless the consumer stopped (then False)."""
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def fetch() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)

    thread = Thread(target=fetch, name="fetched-aside", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
