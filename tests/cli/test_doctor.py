"""`cockpit doctor` (issue 15): on the demo every check is ok; git missing from PATH, a
broken lane command, a tampered event, a stale runner lock and a config that does not load
each fail their own check, by name, and the doctor exits 1. Real workspaces, a real store,
real processes; the agent CLI is the `claude` stand-in (tests/standins)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.drivers import STANDINS
from helpers.workspace import CliResult

from cockpit.engine.runner.loop import RunnerLock
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace

Cli = Callable[..., CliResult]
NAMES = [
    "config",
    "git",
    "sandbox",
    "lane implementation",
    "lane scripted",
    "lane claude",
    "keys",
    "chain",
    "checkpoint",
    "replay",
    "counts",
    "runner lock",
    "queue",
    "disk",
]


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli) -> Path:
    """The demo as `cockpit init --demo` makes it (signed, its keys beside it), run once,
    with the `claude` stand-in on PATH."""
    for name in ("COCKPIT_WORKSPACE", "COCKPIT_PRINCIPAL", "COCKPIT_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", f"{STANDINS}{os.pathsep}{os.environ['PATH']}")
    root = tmp_path / "demo"
    assert cli("init", str(root), "--demo").code == 0
    assert cli("run", "--once", "--workspace", str(root)).code == 0
    return root


def doctor(cli: Cli, root: Path) -> tuple[int, dict[str, dict[str, str]]]:
    result = cli("doctor", "--workspace", str(root), "--json")
    document = json.loads(result.out)
    assert document["ok"] is (result.code == 0), document
    return result.code, {check["name"]: check for check in document["checks"]}


def failing(checks: dict[str, dict[str, str]]) -> list[str]:
    return [name for name, check in checks.items() if check["status"] == "fail"]


def test_every_check_is_ok_on_the_demo(cli: Cli, demo: Path) -> None:
    code, checks = doctor(cli, demo)
    assert code == 0
    assert list(checks) == NAMES
    assert {name: check["status"] for name, check in checks.items()} == dict.fromkeys(NAMES, "ok")
    assert "intact through seq" in checks["chain"]["detail"]
    assert "0 bad" in checks["chain"]["detail"]
    assert "claude" in checks["lane claude"]["detail"]  # the stand-in, and its version
    assert "events derive the live projections" in checks["replay"]["detail"]
    # The text form: one line per check, its status first, and a count.
    text = cli("doctor", "--workspace", str(demo))
    assert text.code == 0
    lines = text.out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["ok"] * len(NAMES)
    assert lines[-1] == f"{len(NAMES)} checks: 0 failed, 0 warned."


def test_git_missing_from_path_fails_the_git_check(
    cli: Cli, demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    for program in ("python3", "claude", "bwrap"):
        found = (STANDINS / program) if program == "claude" else Path(str(_which(program)))
        (bare / program).symlink_to(found)
    monkeypatch.setenv("PATH", str(bare))
    code, checks = doctor(cli, demo)
    assert code == 1
    assert failing(checks) == ["git"]
    assert checks["git"]["detail"] == "git is not on PATH"
    assert "install git" in checks["git"]["fix"]


def test_a_broken_lane_command_fails_its_lane(cli: Cli, demo: Path) -> None:
    config = demo / "cockpit.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("agents/scripted_agent.py", "agents/gone.py"), "utf-8")
    code, checks = doctor(cli, demo)
    assert code == 1
    assert failing(checks) == ["lane scripted"]
    assert "agents/gone.py" in checks["lane scripted"]["detail"]
    config.write_text(text.replace('["python3",', '["no-such-program-here",'), "utf-8")
    code, checks = doctor(cli, demo)
    assert failing(checks) == ["lane scripted"]
    assert "no-such-program-here" in checks["lane scripted"]["detail"]


def test_a_tampered_event_fails_the_chain_naming_its_seq(cli: Cli, demo: Path) -> None:
    db = demo / ".cockpit" / "cockpit.db"
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER events_no_update")  # what someone rewriting history does
        conn.execute("UPDATE events SET principal = 'human:mallory' WHERE seq = 5")
    code, checks = doctor(cli, demo)
    assert code == 1
    assert "chain" in failing(checks)
    assert "at seq 5" in checks["chain"]["detail"]


@pytest.fixture
def stale_lock(demo: Path) -> Iterator[int]:
    """The runner lock held by a process that is not the runner it names (that one has
    ended): what a runner's child that kept the lock leaves behind. Yields its pid."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = demo / ".cockpit" / "runner.lock"
    lock.write_text(json.dumps({"pid": int(gone.stdout), "host": socket.gethostname()}))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


HOLD = (
    "import fcntl, sys, time\n"
    "f = open(sys.argv[1], 'r')\n"
    "fcntl.flock(f, fcntl.LOCK_EX)\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_stale_runner_lock_fails_the_runner_lock_check(
    cli: Cli, demo: Path, stale_lock: int
) -> None:
    code, checks = doctor(cli, demo)
    assert code == 1
    assert failing(checks) == ["runner lock"]
    assert f"held by pid {stale_lock}" in checks["runner lock"]["detail"]
    assert "stop the process that keeps it" in checks["runner lock"]["fix"]


def test_a_config_that_does_not_load_fails_and_says_what_was_not_checked(
    cli: Cli, demo: Path
) -> None:
    config = demo / "cockpit.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "\nrunnr: {}\n", "utf-8")
    code, checks = doctor(cli, demo)
    assert code == 1
    assert failing(checks) == ["config", "workspace"]
    assert "runnr" in checks["config"]["detail"]
    assert list(checks) == ["config", "git", "workspace", "disk"]


def _which(program: str) -> Any:
    import shutil

    found = shutil.which(program)
    if found is None:
        pytest.skip(f"{program} is not installed here")
    return found


def test_a_runner_holding_the_lock_is_ok_and_named(cli: Cli, demo: Path) -> None:
    ws = Workspace.load(demo)
    with RunnerLock(ws):
        _, checks = doctor(cli, demo)
    assert checks["runner lock"]["status"] == "ok"
    assert checks["runner lock"]["detail"].startswith(f"held by a runner: pid {os.getpid()}")
    _, checks = doctor(cli, demo)
    assert checks["runner lock"]["detail"] == f"free (it last named pid {os.getpid()})"


def test_a_store_that_cannot_be_read_fails_the_store_checks_without_a_traceback(
    cli: Cli, demo: Path
) -> None:
    (demo / ".cockpit" / "cockpit.db").write_bytes(b"not a database at all" * 100)
    for name in ("cockpit.db-wal", "cockpit.db-shm"):
        (demo / ".cockpit" / name).unlink(missing_ok=True)
    code, checks = doctor(cli, demo)
    assert code == 1
    assert failing(checks) == ["chain", "checkpoint", "replay", "counts"]
    assert "cannot be read" in checks["chain"]["detail"]


def test_a_workspace_with_nothing_ingested_is_ok_and_left_as_it_was(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COCKPIT_WORKSPACE", raising=False)
    ws = init_workspace(tmp_path / "fresh", tenant="demo")
    before = sorted(p.relative_to(ws.root) for p in ws.root.rglob("*"))
    code, checks = doctor(cli, ws.root)
    assert code == 0, checks
    assert checks["chain"]["detail"] == "nothing ingested yet"
    assert list(checks) == [n for n in NAMES if n not in ("lane scripted", "lane claude")]
    assert sorted(p.relative_to(ws.root) for p in ws.root.rglob("*")) == before


def test_a_lock_kept_by_the_child_of_a_runner_that_ended_is_stale(cli: Cli, demo: Path) -> None:
    """/proc/locks goes on naming the process that took the lock after it ended, while a
    child it forked keeps it: that runner is not said to hold it, the lock is stale."""
    lock = demo / ".cockpit" / "runner.lock"
    keeper = subprocess.Popen(
        [sys.executable, "-c", FORK_AND_END, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert keeper.stdout is not None
        parent, child = (int(x) for x in keeper.stdout.readline().split())
        keeper.wait(timeout=10)  # the parent, which took the lock, has ended
        code, checks = doctor(cli, demo)
        assert code == 1
        detail = checks["runner lock"]["detail"]
        assert detail.startswith(f"stale: held by pid {parent} (ended"), detail
        assert f"names pid {parent}" in detail
    finally:
        os.kill(child, 9)


FORK_AND_END = (
    "import fcntl, json, os, socket, sys, time\n"
    "f = open(sys.argv[1], 'r+')\n"
    "fcntl.flock(f, fcntl.LOCK_EX)\n"
    "f.truncate(0); f.write(json.dumps({'pid': os.getpid(), 'host': socket.gethostname()}))\n"
    "f.flush()\n"
    "child = os.fork()\n"
    "if child == 0:\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "print(os.getpid(), child, flush=True)\n"
)


def test_a_signed_checkpoint_is_held_and_a_rewritten_payload_fails_without_a_traceback(
    cli: Cli, demo: Path
) -> None:
    assert cli("audit", "checkpoint", "--workspace", str(demo)).code == 0
    code, checks = doctor(cli, demo)
    assert code == 0
    assert checks["checkpoint"]["detail"].startswith("a signed checkpoint through seq ")
    with sqlite3.connect(demo / ".cockpit" / "cockpit.db") as conn:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("UPDATE events SET payload = 'not json' WHERE seq = 3")
    code, checks = doctor(cli, demo)
    assert code == 1
    assert failing(checks) == ["chain", "checkpoint", "replay"]
    assert checks["replay"]["detail"] == "not replayed: the chain does not verify"


def test_what_cannot_even_be_checked_fails_its_check_and_the_rest_are_run(
    cli: Cli, demo: Path
) -> None:
    new = demo / "queue" / "new"
    for name in os.listdir(new):
        (new / name).unlink()
    new.rmdir()
    new.write_text("a file where the queue's new/ belongs")
    code, checks = doctor(cli, demo)
    assert code == 1
    assert failing(checks) == ["queue"]
    assert checks["queue"]["detail"].startswith("could not be checked: NotADirectoryError")
    assert list(checks) == NAMES


def test_a_lane_argument_with_a_slash_is_not_taken_for_a_workspace_file(
    cli: Cli, demo: Path
) -> None:
    config = demo / "cockpit.yaml"
    text = config.read_text(encoding="utf-8")
    with_model = text.replace(
        '"agents/scripted_agent.py"]', '"agents/scripted_agent.py", "--model", "openai/gpt-4o"]'
    )
    assert with_model != text
    config.write_text(with_model, "utf-8")
    code, checks = doctor(cli, demo)
    assert code == 0, checks["lane scripted"]


def test_a_store_path_that_is_a_directory_fails(cli: Cli, tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "ws", tenant="demo")
    ws.db_path.parent.mkdir(exist_ok=True)
    ws.db_path.mkdir()
    code, checks = doctor(cli, ws.root)
    assert code == 1
    assert failing(checks) == ["chain", "checkpoint", "replay", "counts"]
    assert "is not a file" in checks["chain"]["detail"]
