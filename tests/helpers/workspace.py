"""Real workspaces for tests: `Env` (a workspace in a temporary directory that drops
entries, sweeps and calls the CLI the way users do), entry builders and readers of what a
rejection or the event log recorded."""

from __future__ import annotations

import json
import os
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cockpit.cli import main as cli_main
from cockpit.engine.runner.loop import RunnerLock, RunSummary, run_once, sweep_and_verify
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.store import Store

# SPEC 7: the hashed event object has exactly these fields (written out here, independently
# of the code under test).
SPEC_EVENT_FIELDS = (
    "seq",
    "event_id",
    "parent_seq",
    "ts",
    "type",
    "work_package",
    "principal",
    "entry_id",
    "payload",
)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> CliResult:
    """Run `cockpit ARGS` in-process; the exit code and what it printed."""
    capsys.readouterr()
    try:
        cli_main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


class Env:
    """A real workspace in a temporary directory, with helpers to drop entries, run the
    sweep and call the CLI the way users do."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.ws = init_workspace(root, tenant="demo")
        self._capsys = capsys

    def reload(self) -> Workspace:
        self.ws = Workspace.load(self.root)
        return self.ws

    @property
    def new(self) -> Path:
        return self.ws.queue_dir("new")

    @property
    def rejected_dir(self) -> Path:
        return self.ws.queue_dir("rejected")

    @property
    def done(self) -> Path:
        return self.ws.queue_dir("done")

    def drop(self, name: str, text: str | bytes, *, age: float = 5.0) -> Path:
        """Write an entry straight into queue/new/ (as a `cp` would), aged `age` seconds so
        the sweep does not treat it as still being written."""
        path = self.new / name
        data = text if isinstance(text, bytes) else textwrap.dedent(text).lstrip().encode()
        path.write_bytes(data)
        if age:
            past = time.time() - age
            os.utime(path, (past, past))
        return path

    def sweep(self) -> RunSummary:
        with self.ws.open_store() as store:
            return run_once(self.ws, store)

    def single_sweep(self) -> RunSummary:
        """Exactly one sweep (no second look at young files, unlike `run --once`)."""
        with self.ws.open_store() as store, RunnerLock(self.ws):
            return sweep_and_verify(self.ws, store)

    def store(self) -> Store:
        return self.ws.open_store()

    def wp(self, wp_id: str) -> dict[str, Any] | None:
        with self.store() as store:
            return store.work_package(wp_id)

    def events(self, wp_id: str | None = None) -> list[Any]:
        with self.store() as store:
            return store.events(wp_id)

    def cli(self, *args: str) -> CliResult:
        """Run `cockpit ARGS --workspace ROOT` in-process and capture its output."""
        return run_cli(self._capsys, [*args, "--workspace", str(self.root)])


def entry(
    kind: str,
    entry_id: str,
    wp: str,
    principal: str,
    body: str = "",
    *,
    created: str = "2026-11-21T10:00:00Z",
    refs: str | None = None,
    extra: str = "",
) -> str:
    """The YAML text of an entry; `body` is YAML indented under `body:`."""
    lines = [
        "schema: cockpit.entry/v1",
        f"kind: {kind}",
        f"id: {entry_id}",
        f"work_package: {wp}",
        f"principal: {principal}",
        f"created: {created}",
    ]
    if refs is not None:
        lines.append(f"refs: {refs}")
    if extra:
        lines.append(textwrap.dedent(extra).strip())
    body_text = textwrap.dedent(body).strip()
    if body_text:
        lines.append("body:")
        lines += ["  " + line for line in body_text.splitlines()]
    return "\n".join(lines) + "\n"


def work_package(
    wp: str = "WP-1", *, principal: str = "human:owner", body: str = "", **kw: Any
) -> str:
    default = """
        title: A task
        objective: do the thing
        owner: agent:implementer-1
        accountable: human:owner
        tier: standard
        lane: implementation
    """
    return entry("work_package", wp, wp, principal, body or default, **kw)


def t(minute: int) -> str:
    """A `created` timestamp `minute` minutes into the test day."""
    return f"2026-11-21T10:{minute:02d}:00Z"


def book_to_in_progress(env: Env) -> None:
    """Drop (without sweeping) WP-1's booking, dispatch, scope confirmation and go."""
    book_to_scope_confirmed(env)
    env.drop("d.yaml", entry("review", "REV-1", "WP-1", "human:owner", "verdict: go", created=t(3)))


def book_to_scope_confirmed(env: Env) -> None:
    """Drop (without sweeping) WP-1's booking, dispatch and scope confirmation."""
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop(
        "b.yaml",
        entry("dispatch", "DSP-1", "WP-1", "human:owner", "to: agent:implementer-1", created=t(1)),
    )
    env.drop(
        "c.yaml",
        entry(
            "scope_confirmation",
            "SCP-1",
            "WP-1",
            "agent:implementer-1",
            "confirmed: true",
            created=t(2),
        ),
    )


def dispatch(
    wp: str = "WP-1",
    minute: int = 1,
    to: str = "agent:implementer-1",
    *,
    entry_id: str | None = None,
) -> str:
    """The owner's dispatch of `wp` to `to` (id DSP-<wp>-<minute> unless given)."""
    return entry(
        "dispatch",
        entry_id or f"DSP-{wp}-{minute}",
        wp,
        "human:owner",
        f"to: {to}",
        created=t(minute),
    )


def rejection_reason(env: Env, name: str) -> dict[str, Any]:
    """queue/rejected/NAME.reason.json, parsed."""
    reason: dict[str, Any] = json.loads(
        (env.rejected_dir / f"{name}.reason.json").read_text(encoding="utf-8")
    )
    return reason


def rejected_rows(env: Env) -> list[dict[str, Any]]:
    """`cockpit rejected --json`."""
    result = env.cli("rejected", "--json")
    assert result.code == 0, result.err
    rows: list[dict[str, Any]] = result.json()
    return rows


def count_events(env: Env, kind: str) -> int:
    return sum(1 for e in env.events() if e.type == kind)


def edit_config(env: Env, *edits: tuple[str, str]) -> None:
    """Apply (old, new) replacements to cockpit.yaml (each `old` must be there), reload."""
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    env.reload()
