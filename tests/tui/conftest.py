"""TUI fixtures: deterministic workspaces (fixed clock, fixed data) and app factories."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from cockpit.app import CockpitApp
from cockpit.engine.repo.sandbox import Availability
from cockpit.engine.runner.loop import RunnerLock, sweep_and_verify
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace

NOW = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)
SIZE = (120, 40)


Scenario = Callable[[Pilot[None]], Awaitable[None]]


def fixed_clock() -> datetime:
    return NOW


def drive(app: CockpitApp, scenario: Scenario, size: tuple[int, int] = SIZE) -> None:
    """Run `scenario` against the app in a headless terminal (the snapshots' size unless
    told otherwise), notifications on."""

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


def ingest(ws: Workspace) -> None:
    """Ingest the queue with the fixed clock, as the runner would."""
    with ws.open_store(fixed_clock) as store, RunnerLock(ws):
        sweep_and_verify(ws, store)


async def reads_settled(pilot: Any) -> None:
    """Wait until no screen worker is reading the store (group `*-read`); a read that
    shows its result may start another, so wait until none is left."""
    for _ in range(50):
        await pilot.pause()
        reading = [w for w in pilot.app.workers if w.group.endswith("-read") and not w.is_finished]
        if not reading:
            return
        await pilot.app.workers.wait_for_complete(reading)
    raise AssertionError("the screens kept reading")


def sandboxed(mode: str) -> Availability:
    """A fixed sandbox probe: bubblewrap works (the header must not depend on the host)."""
    return Availability("bubblewrap", "/usr/bin/bwrap", None)


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app looks for a signing key in ssh-agent and $COCKPIT_SIGNING_KEY: start from
    neither, so what a test sees does not depend on the developer's keys."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("COCKPIT_SIGNING_KEY", raising=False)


def make_app(ws: Workspace, **kwargs: object) -> CockpitApp:
    options: dict[str, object] = {
        "principal": "human:owner",
        "clock": fixed_clock,
        "blink": False,
        "sandbox_probe": sandboxed,
    }
    options.update(kwargs)
    return CockpitApp(ws, **options)  # type: ignore[arg-type]


@pytest.fixture
def demo_ws(tmp_path: Path) -> Workspace:
    """The demo walkthrough, ingested with a fixed clock (a directory named `demo`)."""
    ws = init_workspace(tmp_path / "demo", demo=True)
    ingest(ws)
    return ws


@pytest.fixture
def empty_ws(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "empty", tenant="demo")


@pytest.fixture
def app_for() -> Callable[..., CockpitApp]:
    return make_app


HOSTILE_TITLE = "[bold red]PWNED[/] \x1b[31mred\x1b[0m \u202eevil\u202c done"
HOSTILE_SUMMARY = "[link=http://x]click[/link] \x1b]0;owned\x07 \u202egnitset"


@pytest.fixture
def hostile_ws(tmp_path: Path) -> Workspace:
    """A workspace whose WP title and claim summary carry markup, ANSI and an RTL override."""
    ws = init_workspace(tmp_path / "hostile", tenant="demo")
    new = ws.queue_dir("new")
    entries = [
        (
            "1.yaml",
            f"""schema: cockpit.entry/v1
kind: work_package
id: WP-0666
work_package: WP-0666
principal: human:owner
created: 2026-11-21T10:00:00Z
body:
  title: {json.dumps(HOSTILE_TITLE)}
  objective: {json.dumps(HOSTILE_SUMMARY)}
  owner: agent:implementer-1
  accountable: human:owner
  tier: light
  lane: implementation
""",
        ),
        (
            "2.yaml",
            """schema: cockpit.entry/v1
kind: dispatch
id: DSP-0666
work_package: WP-0666
principal: human:owner
created: 2026-11-21T10:01:00Z
body: {to: agent:implementer-1}
""",
        ),
        (
            "3.yaml",
            """schema: cockpit.entry/v1
kind: scope_confirmation
id: SCP-0666
work_package: WP-0666
principal: agent:implementer-1
created: 2026-11-21T10:02:00Z
body: {confirmed: true}
""",
        ),
        (
            "4.yaml",
            """schema: cockpit.entry/v1
kind: review
id: REV-0666
work_package: WP-0666
principal: human:owner
created: 2026-11-21T10:03:00Z
body: {verdict: go}
""",
        ),
        (
            "5.yaml",
            f"""schema: cockpit.entry/v1
kind: claim
id: CLM-0666
work_package: WP-0666
principal: agent:implementer-1
created: 2026-11-21T10:04:00Z
body:
  done_state: done
  owner: agent:implementer-1
  accountable: human:owner
  summary: {json.dumps(HOSTILE_SUMMARY)}
""",
        ),
    ]
    for name, text in entries:
        (new / name).write_text(text, encoding="utf-8")
    ingest(ws)
    return ws


def copy_ws(ws: Workspace, target: Path) -> Workspace:
    shutil.copytree(ws.root, target)
    return Workspace.load(target)
