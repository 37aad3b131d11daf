"""The owner is told when a new event needs them (issue 12): a notification naming the
work package and the reason, and the terminal bell when `notify.bell` is on; for events a
runner beside the TUI records and for the TUI's own sweeps, never for events that were
there when the app opened, nor for what the acting principal did. Real workspaces, the
real runner (`run_once` in a thread) driving the claude stand-in, no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.agents import events_of
from helpers.drivers import set_driver_lane
from helpers.workspace import Env
from textual.pilot import Pilot

import cockpit.app
from cockpit.app import CockpitApp
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens import modals
from tui.conftest import fixed_clock, sandboxed
from tui.test_pilot import (
    drive,
    drop,
    events,
    notes,
    override_through_ui,
    settled,
    wait_until,
    work_package,
)
from tui.test_transcript import book, runner

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

CLAIM_0003 = """schema: cockpit.entry/v1
kind: claim
id: CLM-0003-late
work_package: WP-0003
principal: agent:implementer-1
created: 2026-11-22T08:30:00Z
body:
  done_state: done
  owner: agent:implementer-1
  accountable: human:owner
  summary: the parser is hardened
"""


class BellCounting(CockpitApp):
    """The app, counting the terminal bells it rings."""

    CSS_PATH = Path(cockpit.app.__file__).parent / CockpitApp.CSS_PATH  # not beside this file
    rung = 0

    def bell(self) -> None:
        self.rung += 1


def bell_counting(ws: Workspace, *, ingest: bool = False) -> BellCounting:
    """The app as the tests make it (fixed clock, no blinking, a fixed sandbox probe); by
    default following the store, the runner in its thread ingesting."""
    return BellCounting(
        ws,
        principal="human:owner",
        clock=fixed_clock,
        blink=False,
        sandbox_probe=sandboxed,
        ingest=ingest,
    )


async def run_to_the_end(pilot: Pilot[None], env: Env) -> None:
    """The runner in its thread until it is done (the app goes on meanwhile)."""
    with runner(env) as thread:
        assert await wait_until(pilot, lambda: not thread.is_alive(), 60)


def failing_lane(env: Env, tmp_path: Path, notify: str = "") -> None:
    set_driver_lane(env, "claude-code", "--standin", "fail", "--standin-edit", "src/standin.txt")
    if notify:
        path = env.root / "cockpit.yaml"
        path.write_text(path.read_text(encoding="utf-8") + notify, encoding="utf-8")
        env.reload()
    book(env, tmp_path)


def needs_you(app: CockpitApp) -> list[str]:
    return [str(n.message) for n in notes(app) if n.title == "needs you"]


def test_an_agent_failure_recorded_by_a_runner_is_notified_with_the_bell(
    env: Env, tmp_path: Path
) -> None:
    failing_lane(env, tmp_path)
    app = bell_counting(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await run_to_the_end(pilot, env)
        [failed] = events_of(env, "agent_failed")
        assert failed.payload["reason"] == "cli_failed"
        assert await wait_until(pilot, lambda: bool(needs_you(app)), 10), notes(app)
        [said] = needs_you(app)
        assert said.startswith("WP-1 needs you: its agent failed (cli_failed)")
        assert app.rung == 1

    drive(app, scenario)


def test_events_already_there_when_the_app_opened_are_not_notified(
    env: Env, tmp_path: Path
) -> None:
    failing_lane(env, tmp_path)
    env.sweep()  # the agent failed before the app opened
    assert events_of(env, "agent_failed")
    app = bell_counting(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.pause(1.6)  # three looks at the store
        assert needs_you(app) == []
        assert app.rung == 0

    drive(app, scenario)


def test_notify_reasons_and_bell_are_obeyed(env: Env, tmp_path: Path) -> None:
    """`notify: {bell: false, reasons: [agent_failed]}`: the failure is told, without a bell."""
    failing_lane(env, tmp_path, "notify:\n  bell: false\n  reasons: [agent_failed]\n")
    app = bell_counting(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await run_to_the_end(pilot, env)
        assert await wait_until(pilot, lambda: bool(needs_you(app)), 10), notes(app)
        assert app.rung == 0

    drive(app, scenario)


def test_reasons_left_out_of_notify_reasons_are_not_told(env: Env, tmp_path: Path) -> None:
    failing_lane(env, tmp_path, "notify:\n  reasons: [claim_withheld]\n")
    app = bell_counting(env.ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await run_to_the_end(pilot, env)
        assert events_of(env, "agent_failed")
        await pilot.pause(1.6)  # three looks at the store after the failure
        assert needs_you(app) == []
        assert app.rung == 0

    drive(app, scenario)


def test_the_ingesting_app_tells_of_a_claim_its_own_sweep_withheld(demo_ws: Workspace) -> None:
    app = bell_counting(demo_ws, ingest=True)

    async def scenario(pilot: Pilot[None]) -> None:
        assert app.lock is not None  # the app ingests: the gate runs in its sweep
        drop(demo_ws, "90-CLM-0003.yaml", CLAIM_0003)
        assert await wait_until(pilot, lambda: bool(needs_you(app)), 15), notes(app)
        [said] = needs_you(app)
        assert said.startswith("WP-0003 needs you: the gate withheld its claim (blocked")
        assert said.endswith("· Harden input parsing")
        assert app.rung == 1

    drive(app, scenario)
    [verdict] = [e for e in events(demo_ws, "WP-0003") if e.type == "verify_completed"]
    assert verdict.payload["outcome"] == "blocked"


def test_a_verify_the_owner_ran_in_the_tui_is_not_told_back(demo_ws: Workspace) -> None:
    """The owner's own verify withholds the claim: the result dialog says so, and no
    notification repeats it."""
    app = bell_counting(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await override_through_ui(pilot, "WP-0002", "claimed", "re-check")
        await pilot.press("v")
        await settled(pilot)
        assert isinstance(app.screen, modals.VerifyResultModal)
        assert app.screen.document["outcome"] == "blocked"
        await pilot.pause(1.2)  # two looks at the store after the verdict
        assert needs_you(app) == []
        assert app.rung == 0

    drive(app, scenario)
    assert work_package(demo_ws, "WP-0002")["state"] == "blocked"
