"""The shared test helpers that guard against hangs: they must turn a hang into a failure."""

from __future__ import annotations

import re
import time

import pytest
from helpers.process import in_thread, time_bound


def test_time_bound_fails_a_catastrophic_backtrack_with_a_message() -> None:
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"the backtrack: still running after"):
        with time_bound(0.5, "the backtrack"):
            re.match(r"(a+)+$", "a" * 64 + "b")
    assert time.monotonic() - started < 30


def test_time_bound_leaves_a_quick_block_alone() -> None:
    with time_bound(30, "a quick block"):
        assert sum(range(10)) == 45


def test_in_thread_fails_a_blocked_call_and_unblocks_it() -> None:
    released: list[bool] = []

    def blocked() -> None:
        while not released:
            time.sleep(0.01)

    with pytest.raises(pytest.fail.Exception, match="it blocked"):
        in_thread(blocked, 0.2, unblock=lambda: released.append(True))
