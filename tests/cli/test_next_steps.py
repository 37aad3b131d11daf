"""What a new user is told to do next (issue 15): `init` prints the next commands, `demo`
says where its copy lives (and how to use it from the CLI) before it ingests and opens,
and `status` on a workspace that has ingested nothing says what to run. Commands that only
read never create anything in the workspace they read (not even `.cockpit/`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.workspace import CliResult, Env, work_package

from cockpit.engine.workspace.layout import TEMPLATE_MARKER
from cockpit.engine.workspace.scaffold import init_workspace

pytestmark = pytest.mark.usefixtures("no_ambient_principal")
Cli = Callable[..., CliResult]


def test_init_prints_the_next_commands(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "ws"
    result = cli("init", str(target))
    assert result.code == 0, result.err
    out = result.out
    assert f"Created workspace {target}" in out
    for step in (
        f"export COCKPIT_WORKSPACE={target}",
        "cockpit new work_package WP-1",
        "cockpit submit WP-1.yaml",
        "cockpit run --once",
        "cockpit dispatch WP-1 --to agent:implementer-1",
    ):
        assert step in out, step
    lines = out.splitlines()
    assert any(line.strip().startswith("cockpit ") and "TUI" in line for line in lines)


def test_init_demo_prints_how_to_ingest_and_look(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "d"
    result = cli("init", "--demo", str(target))
    assert result.code == 0, result.err
    for step in ("cockpit run --once", "cockpit status", "the TUI"):
        assert step in result.out, step
    assert f"--workspace {target}" in result.out


def test_status_says_what_to_run(tmp_path: Path, cli: Cli, env: Env) -> None:
    empty = env.cli("status")
    assert empty.code == 0, empty.err
    assert "No work packages yet" in empty.out and "cockpit new work_package WP-1" in empty.out
    assert f"--workspace {env.root}" in empty.out  # it was named: the hints name it too
    env.drop("a.yaml", work_package("WP-1"))
    env.drop("b.yaml", work_package("WP-2"))
    waiting = env.cli("status")
    assert "2 entries wait in queue/new: ingest with `cockpit run --once" in waiting.out
    assert env.cli("run", "--once").code == 0
    listed = env.cli("status")
    assert "WP-1" in listed.out and "wait in queue/new" not in listed.out
    env.drop("c.yaml", work_package("WP-3"))
    assert "1 entry waits in queue/new" in env.cli("status").out


def test_read_commands_create_nothing_in_the_workspace_they_read(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "ws"
    init_workspace(root)
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    (root / ".cockpit").rmdir()  # as a workspace is when cloned with its config alone
    for name in ("tmp", "cur", "done", "rejected"):
        (root / "queue" / name).rmdir()
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    for args in (
        ["status"],
        ["status", "--json"],
        ["rejected", "--json"],
        ["audit", "verify", "--json"],
        ["audit", "log", "--json"],
        ["metrics", "--json"],
        ["candidates", "--json"],
        ["canon", "--json"],
        ["replay", "--json"],
        [],
    ):
        result = cli(*args, "--workspace", str(root))
        assert result.code == 0, (args, result.err)
        assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == left, args
    assert left != before
    assert cli("run", "--once", "--workspace", str(root)).code == 0  # a writer makes them
    assert (root / ".cockpit" / "cockpit.db").is_file()


def test_demo_says_where_its_copy_is_before_it_ingests(tmp_path: Path, cli: Cli) -> None:
    target = tmp_path / "demo"
    result = cli("demo", str(target))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"Demo workspace: {target} (made now)"
    assert lines[1] == f"From the command line: cockpit --workspace {target} status"
    assert lines[2].startswith("Ingested ")
    assert not (target / TEMPLATE_MARKER).exists()
    again = cli("demo", str(target))
    assert again.out.splitlines()[0] == f"Demo workspace: {target}"


def test_demo_is_never_made_in_a_directory_holding_other_files(tmp_path: Path, cli: Cli) -> None:
    """`--fresh` deletes the whole copy, so the copy is never made among someone's files:
    they would go with it."""
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    refused = cli("demo", str(target))
    assert refused.code == 2 and "not empty and not a demo copy" in refused.err
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("demo", str(empty)).code == 0  # an empty directory is fine
    assert cli("demo", str(empty), "--fresh").code == 0
