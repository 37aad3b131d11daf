"""The runner lock (issue 11, point 8): `.cockpit/runner.lock` is never followed through a
symlink nor truncated when it is not a regular file of its own."""

from __future__ import annotations

import os

import pytest
from helpers.workspace import Env

from cockpit.engine.runner.lock import RunnerLock
from cockpit.errors import RunnerLocked


def test_a_symlinked_runner_lock_is_refused_and_its_target_untouched(env: Env) -> None:
    victim = env.root.parent / "victim.txt"
    victim.write_bytes(b"precious bytes\n" * 10)
    lock = env.ws.lock_path
    lock.unlink(missing_ok=True)
    os.symlink(victim, lock)
    result = env.cli("run", "--once")
    assert result.code == 2, (result.out, result.err)
    assert str(lock) in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert victim.read_bytes() == b"precious bytes\n" * 10
    assert os.path.islink(lock)  # left for the owner to look at


def test_a_runner_lock_that_is_a_directory_is_refused(env: Env) -> None:
    lock = env.ws.lock_path
    lock.unlink(missing_ok=True)
    lock.mkdir()
    result = env.cli("run", "--once")
    assert result.code == 2, (result.out, result.err)
    assert str(lock) in result.err and "regular file" in result.err


def test_a_runner_lock_hard_linked_to_another_file_is_refused_and_not_truncated(
    env: Env,
) -> None:
    victim = env.root.parent / "victim.txt"
    victim.write_bytes(b"precious bytes\n")
    lock = env.ws.lock_path
    lock.unlink(missing_ok=True)
    os.link(victim, lock)
    result = env.cli("run", "--once")
    assert result.code == 2, (result.out, result.err)
    assert str(lock) in result.err
    assert victim.read_bytes() == b"precious bytes\n"


def test_a_refused_runner_is_told_whether_a_runner_or_the_tui_holds_the_workspace(
    env: Env,
) -> None:
    """Whoever is refused learns who holds the lock: the TUI ingests too (without starting
    agents), which a person running `cockpit run` beside an open `cockpit` would not guess."""
    with RunnerLock(env.ws, agents=False):
        with pytest.raises(RunnerLocked, match=r"the TUI \(`cockpit`\) open on it, pid \d+"):
            RunnerLock(env.ws).acquire()
    with RunnerLock(env.ws):
        with pytest.raises(RunnerLocked) as refused:
            RunnerLock(env.ws, agents=False).acquire()
        said = str(refused.value)
        assert "TUI" not in said and f"pid {os.getpid()} on host" in said


@pytest.mark.parametrize("held", ["[1]", '"x"', "{}", '{"pid": 1}', "not json", ""])
def test_a_lock_file_that_says_nothing_usable_names_the_holder_unknown(env: Env, held: str) -> None:
    """Whatever the lock file holds, a refused runner gets a sentence, not a traceback."""
    with RunnerLock(env.ws) as lock:
        assert lock._handle is not None
        lock._handle.seek(0)
        lock._handle.truncate()
        lock._handle.write(held)
        lock._handle.flush()
        with pytest.raises(RunnerLocked, match=r"\(holder unknown\)"):
            RunnerLock(env.ws).acquire()
