"""One copy of the demo: the top-level workspace/. A checkout (and an editable install)
reads it in place; a built wheel carries it as the package data cockpit/demo/."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cockpit.engine.workspace import scaffold
from cockpit.engine.workspace.layout import TEMPLATE_MARKER
from cockpit.engine.workspace.scaffold import demo_source, init_workspace
from cockpit.errors import ConfigError

# The checkout's root: the nearest folder above this file holding pyproject.toml (the file
# may move between test folders).
REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
WORKSPACE = REPO / "workspace"


def tracked_demo_files() -> list[str]:
    """workspace/'s files as git tracks them, relative to workspace/."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "workspace"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(name.removeprefix("workspace/") for name in out.split("\0") if name)


def test_the_checkout_has_one_copy_of_the_demo() -> None:
    assert not (REPO / "cockpit" / "demo" / "cockpit.yaml").exists()
    assert demo_source() == WORKSPACE


def test_init_demo_copies_the_checkout_workspace_without_its_runtime_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of workspace/ on which a runner has worked in place.
    source = tmp_path / "source"
    for name in tracked_demo_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((WORKSPACE / name).read_bytes())
    for leftover in (".cockpit/cockpit.db", "handoffs/a/WP-0001.yaml", "worktrees/WP-0006/x"):
        (source / leftover).parent.mkdir(parents=True, exist_ok=True)
        (source / leftover).write_text("runtime state\n")
    (source / "lib" / "__pycache__").mkdir()
    (source / "lib" / "__pycache__" / "pager.cpython-311.pyc").write_bytes(b"\0")
    monkeypatch.setattr(scaffold, "demo_source", lambda: source)

    target = tmp_path / "demo"
    init_workspace(target, demo=True)
    for name in tracked_demo_files():
        if name == TEMPLATE_MARKER:  # the copy is a workspace to work in, not a template
            assert not (target / name).exists()
            continue
        assert (target / name).read_bytes() == (WORKSPACE / name).read_bytes(), name
    assert not (target / ".cockpit" / "cockpit.db").exists()
    assert not (target / "handoffs" / "a").exists()
    assert not (target / "worktrees" / "WP-0006").exists()
    assert not (target / "lib" / "__pycache__").exists()


def test_no_demo_anywhere_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "cockpit"
    package.mkdir(parents=True)
    (package / "demo").mkdir()  # e.g. only __pycache__ leftovers: not a demo
    monkeypatch.setattr(scaffold.resources, "files", lambda _name: package)
    with pytest.raises(ConfigError, match="no demo workspace"):
        demo_source()
    with pytest.raises(ConfigError, match="no demo workspace"):
        init_workspace(tmp_path / "d", demo=True)


@pytest.mark.skipif(
    importlib.util.find_spec("hatchling") is None,
    reason="hatchling (the build backend) is not installed in this environment; "
    "`pip install -e '.[test]'` installs it",
)
def test_a_built_wheel_carries_the_workspace_as_the_demo(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path / "wheel"),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("cockpit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert (
            archive.read("cockpit/demo/cockpit.yaml") == (WORKSPACE / "cockpit.yaml").read_bytes()
        )
        demo = sorted(
            n.removeprefix("cockpit/demo/") for n in names if n.startswith("cockpit/demo/")
        )
        assert set(tracked_demo_files()) <= set(demo)
        assert not any(n.startswith(("workspace/", "cockpit/demo/.cockpit/")) for n in names)
        archive.extractall(tmp_path / "installed")

    # From the unpacked wheel, outside the checkout, `cockpit init --demo` finds the
    # wheel's cockpit/demo.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from cockpit.engine.workspace.scaffold import demo_source\n"
            "print(demo_source())\n"
            "from cockpit.cli import main\n"
            "sys.argv = ['cockpit', 'init', '--demo', 'made']\n"
            "main()\n",
        ],
        cwd=outside,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "installed")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == str(tmp_path / "installed" / "cockpit" / "demo")
    for name in tracked_demo_files():
        if name == TEMPLATE_MARKER:
            assert not (outside / "made" / name).exists()
            continue
        if name == "cockpit.yaml" or name.startswith("queue/new/"):
            # `init --demo` signs these (the demo runs signed); the rest is as bundled.
            assert (outside / "made" / name).exists(), name
            continue
        assert (outside / "made" / name).read_bytes() == (WORKSPACE / name).read_bytes(), name


def test_the_demo_has_a_claude_lane_that_nothing_is_dispatched_to(tmp_path: Path) -> None:
    """Issue 12: beside the scripted lane, a lane driven by Claude Code (it needs the real
    CLI); the demo's own work never goes there, so the walkthrough runs offline."""
    from cockpit.engine.runner.loop import run_once

    ws = init_workspace(tmp_path / "demo", demo=True)
    lane = ws.config.lanes["claude"]
    assert lane.driver == "claude-code" and lane.command is None
    assert ws.config.principals["agent:claude"].lanes == ["claude"]
    with ws.open_store() as store:
        run_once(ws, store)
        assert all(wp["lane"] != "claude" for wp in store.work_packages())
        assert not [e for e in store.events() if e.type == "agent_failed"]
