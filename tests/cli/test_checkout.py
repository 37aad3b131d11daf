"""A checkout stays as it was cloned (issue 15, findings 3 and 10): the bundled workspace/
is the demo's template, so `cockpit`, `cockpit status`, `cockpit run --once` (and every
other command) run in a fresh clone's root work on the demo copy, say so in one line on
stderr, and leave `git status` empty, ignored files included. The clone is of a temporary
repository holding a copy of the bundled workspace/; each command is a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.git import git
from helpers.process import clean_env

REPO = Path(__file__).resolve().parents[2]
LEFT_OUT = (".cockpit", "handoffs", "worktrees", "__pycache__", "*.pyc")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone of a repository whose workspace/ is a copy of the bundled one."""
    origin = tmp_path / "origin"
    shutil.copytree(
        REPO / "workspace", origin / "workspace", ignore=shutil.ignore_patterns(*LEFT_OUT)
    )
    (origin / "README.md").write_text("# a checkout\n")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-q", "-m", "c")
    git(tmp_path, "clone", "-q", str(origin), "clone")
    return tmp_path / "clone"


def cockpit(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`cockpit ARGS` run in the clone's root, with its own state directory (where the demo
    copy goes) and no terminal (so `cockpit` alone prints the board instead of the TUI)."""
    state = clone.parent / "state"
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        cwd=clone,
        env=clean_env(XDG_STATE_HOME=str(state)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def clean(clone: Path) -> str:
    return git(clone, "status", "--short", "--ignored")


def copy_of(clone: Path) -> Path:
    return clone.parent / "state" / "cockpit" / "demo"


def redirected(proc: subprocess.CompletedProcess[str], clone: Path) -> str:
    lines = [line for line in proc.stderr.splitlines() if "demo's template" in line]
    assert len(lines) == 1, proc.stderr
    assert str(clone / "workspace") in lines[0] and str(copy_of(clone)) in lines[0]
    return lines[0]


def test_the_tui_status_and_run_leave_a_fresh_clone_clean(clone: Path) -> None:
    assert clean(clone) == ""
    board = cockpit(clone)
    assert board.returncode == 0, board.stderr
    assert "(made now)" in redirected(board, clone)
    assert f"Workspace {copy_of(clone)}" in board.stdout
    assert "28 entries wait in queue/new" in board.stdout
    assert clean(clone) == ""

    status = cockpit(clone, "status")
    assert status.returncode == 0, status.stderr
    assert "(made now)" not in redirected(status, clone)
    assert "28 entries wait in queue/new: ingest with `cockpit run --once" in status.stdout
    assert clean(clone) == ""

    run = cockpit(clone, "run", "--once")
    assert run.returncode == 0, run.stderr
    redirected(run, clone)
    assert "WP-0001: success" in run.stdout
    assert clean(clone) == ""

    listed = cockpit(clone, "status", "--json")
    assert listed.returncode == 0, listed.stderr
    assert next(row["id"] for row in json.loads(listed.stdout)) == "WP-0001"
    for args in (["rejected"], ["audit", "verify"], ["metrics"], ["lineage", "WP-0002"], []):
        assert cockpit(clone, *args).returncode == 0, args
    assert clean(clone) == ""
    # The copy is the one `cockpit demo` keeps: it finds it there and opens it.
    demo = cockpit(clone, "demo")
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.splitlines()[0] == f"Demo workspace: {copy_of(clone)}"
    assert clean(clone) == ""


def test_the_template_is_never_written_even_when_named(clone: Path) -> None:
    named = cockpit(clone, "status", "--workspace", "workspace")
    assert named.returncode == 0, named.stderr
    redirected(named, clone)
    from cockpit.engine.workspace.layout import Workspace
    from cockpit.errors import InputError

    template = Workspace.load(clone / "workspace")
    with pytest.raises(InputError, match="template"):
        template.open_store()
    assert clean(clone) == ""


def test_a_workspace_in_use_that_someone_marked_as_a_template_is_refused_not_swapped(
    tmp_path: Path,
) -> None:
    """The marker only ever names a template that has no store: in a workspace in use (one
    with `.cockpit/`) it is refused loudly, never quietly swapped for the demo copy, where
    a tampered log would be verified as the demo's and the real queue never ingested."""
    from cockpit.engine.workspace.scaffold import init_workspace

    ws = init_workspace(tmp_path / "ws", tenant="demo")
    ws.open_store().close()  # in use: it has a store
    (ws.root / ".cockpit-template").touch()
    state = tmp_path / "state"
    env = {**clean_env(), "XDG_STATE_HOME": str(state)}
    for args in (["audit", "verify", "--json"], ["status"], ["run", "--once"]):
        result = subprocess.run(
            [sys.executable, "-m", "cockpit", "--workspace", str(ws.root), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "holds .cockpit-template but also a store" in result.stderr
        assert "remove" in result.stderr and "Traceback" not in result.stderr
    assert not state.exists()  # no demo copy was made in its place
