"""The bulk steps' pause of the cyclic collector: paused inside, restored after, even on error."""

from __future__ import annotations

import gc

import pytest

from directives.gcpause import paused_gc
from directives.runtime import Runtime
from flows import jobs


def test_the_collector_is_paused_inside_and_running_again_after() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_in_the_block_still_restores_the_collector() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_chase_leaves_the_collector_running(rt: Runtime) -> None:
    jobs.chase(rt)
    assert gc.isenabled()
