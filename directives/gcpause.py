"""Bulk work without the cyclic garbage collector's pauses.

A national first chase builds a few hundred thousand small objects (rows, keys, texts) that
live until its transaction ends. Each of CPython's collections walks the objects alive, so as
they pile up the collections run longer and more often: a third of the chase's own CPU time
went to them, for no garbage (rows and texts form no reference cycles). A bulk step runs with
the collector paused; it resumes afterwards, and collects whatever cycles the step made.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector for the block (bounded work, not a long-running loop).

    Process-wide: two overlapping blocks (jobs on threads) keep it paused until the first
    one ends, which only costs what the pause saves.
    """
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
