"""Processes for tests: `cockpit` as a subprocess of this interpreter, a clean environment,
deadlines that turn a hang into a failure with a message, and cleanup of the processes a
test's runner started."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def cockpit_cmd(*args: str) -> list[str]:
    """`cockpit ARGS` as a subprocess of this interpreter."""
    return [sys.executable, "-m", "cockpit", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any COCKPIT_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")}
    env.update(extra)
    return env


@contextlib.contextmanager
def time_bound(seconds: float, what: str) -> Iterator[None]:
    """Fail the test if the block is still running after `seconds` (a watchdog, not a
    speed assertion: the bound is far above any normal run). SIGALRM interrupts pure
    Python and the `re` engine; use it on the test's (main) thread only."""
    assert threading.current_thread() is threading.main_thread(), "time_bound needs SIGALRM"

    def expired(signum: int, frame: Any) -> None:
        pytest.fail(f"{what}: still running after {seconds} s (it hangs)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def in_thread(
    fn: Callable[[], Any], timeout: float, unblock: Callable[[], None] | None = None
) -> Any:
    """Run `fn` in a daemon thread; fail (after trying to unblock it) if it is still running
    after `timeout` seconds. Re-raises what `fn` raised; returns what it returned."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        if unblock is not None:
            unblock()
        thread.join(5)
        pytest.fail(f"still running after {time.monotonic() - started:.1f} s (it blocked)")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def unblock_fifos(paths: list[Path]) -> None:
    """Open each FIFO for writing and close it, so a reader blocked in open() gets EOF."""
    for path in paths:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno not in (errno.ENXIO, errno.ENOENT):
                raise
            continue
        os.close(fd)


def kill_workspace_processes(workspace: Path) -> None:
    """SIGKILL processes whose environment names `workspace` as COCKPIT_WORKSPACE: only the
    validation commands a runner of this test started can carry it."""
    marker = f"COCKPIT_WORKSPACE={workspace}".encode()
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            environ = (pid_dir / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_dir.name), signal.SIGKILL)
