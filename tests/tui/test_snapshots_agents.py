"""Snapshots (120x40, fixed clock and data) of what agent CLIs add to the screens (issue
12): a run's transcript on the work package screen, its raw records, and what the agents
cost on the metrics screen and the board. Each SVG under __snapshots__ has been looked at.

The transcripts are written by the runner's own TranscriptWriter from fixed CLI output
(tests/tui/fixtures) with a fixed clock; the costs come from real runs of the claude
stand-in through the runner and the gate, recorded with a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.agents import drop_booking, drop_dispatch
from helpers.drivers import set_driver_lane
from helpers.git import new_repo
from helpers.workspace import Env

from cockpit.app import CockpitApp
from cockpit.engine.runner.loop import run_once
from cockpit.engine.workspace.layout import Workspace
from tui.conftest import SIZE, fixed_clock
from tui.test_snapshots import pressing
from tui.test_transcript import write_transcripts

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

Snap = Callable[..., bool]
AppFor = Callable[..., CockpitApp]
TRANSCRIPT_TAB = ("enter", ("right", "right", "right", "right"))
CHECK = "grep -q 'stand-in' src/standin.txt"


@pytest.fixture
def transcribed_ws(demo_ws: Workspace) -> Workspace:
    """The demo, WP-0001 with two claude runs: a scope run, then the work (with a line of
    markup, ANSI escapes and a bidi override, and a line that is not JSON)."""
    write_transcripts(demo_ws, "WP-0001", "claude-run-1.jsonl", "claude-run-2.jsonl")
    return demo_ws


@pytest.fixture
def costed_ws(env: Env, tmp_path: Path) -> Workspace:
    """Two WPs run by the claude stand-in ($0.0106 a run, scope and work): WP-1 accepted,
    WP-2 withheld by the gate (its evidence floor is above what the driver proves)."""
    set_driver_lane(env, "claude-code", "--standin-edit", "src/standin.txt")
    repo, _base = new_repo(tmp_path)
    drop_booking(env, repo, validation_commands=[CHECK])
    drop_dispatch(env)
    drop_booking(env, repo, "WP-2", validation_commands=[CHECK], evidence_floor="runtime_proof")
    drop_dispatch(env, "WP-2")
    with env.ws.open_store(fixed_clock) as store:
        run_once(env.ws, store)
    return env.ws


def test_work_package_transcript(
    snap_compare: Snap, transcribed_ws: Workspace, app_for: AppFor
) -> None:
    """The latest run, ended, its last row selected; the rows' text shown literally."""
    run = pressing(*TRANSCRIPT_TAB)
    assert snap_compare(app_for(transcribed_ws), run_before=run, terminal_size=SIZE)


def test_work_package_transcript_raw(
    snap_compare: Snap, transcribed_ws: Workspace, app_for: AppFor
) -> None:
    """The hostile message selected, its raw record shown as pretty JSON (plain text)."""
    run = pressing(*TRANSCRIPT_TAB, "tab", ("up", "up", "up"), "t")
    assert snap_compare(app_for(transcribed_ws), run_before=run, terminal_size=SIZE)


def test_work_package_transcript_earlier_run(
    snap_compare: Snap, transcribed_ws: Workspace, app_for: AppFor
) -> None:
    run = pressing(*TRANSCRIPT_TAB, "left_square_bracket")
    assert snap_compare(app_for(transcribed_ws), run_before=run, terminal_size=SIZE)


def test_work_package_transcript_empty(
    snap_compare: Snap, demo_ws: Workspace, app_for: AppFor
) -> None:
    run = pressing(*TRANSCRIPT_TAB)
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SIZE)


def test_metrics_with_cost(snap_compare: Snap, costed_ws: Workspace, app_for: AppFor) -> None:
    """Scrolled to the tokens and cost section: totals and shares with their denominators,
    per lane, per work package."""

    async def scrolled(pilot: Any) -> None:
        await pressing("M")(pilot)
        pilot.app.screen.query_one("#usage").scroll_visible(top=True, animate=False)
        await pilot.pause()

    assert snap_compare(app_for(costed_ws), run_before=scrolled, terminal_size=SIZE)


def test_board_with_cost(snap_compare: Snap, costed_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(costed_ws), terminal_size=SIZE)
