"""The work package screen's Transcript tab (issue 12): a running agent's transcript tailed
live, the runs to step through, each row's raw record; and the owner told when a new event
needs them. Real workspaces, the real runner (`run_once` in a thread, as `cockpit run`
would run beside the TUI) driving the claude stand-in, no mocks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers.agents import drop_booking, drop_dispatch, events_of
from helpers.drivers import drop_scope_confirmed, set_driver_lane
from helpers.git import new_repo
from helpers.workspace import Env
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent

from cockpit.app import CockpitApp
from cockpit.engine.drivers.registry import driver
from cockpit.engine.drivers.transcript import TranscriptWriter, transcript_path
from cockpit.engine.runner.loop import run_once
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens.transcript import MAX_ROWS, TranscriptLog, TranscriptView
from cockpit.screens.work_package import WorkPackageScreen
from tui.conftest import NOW, make_app, reads_settled
from tui.test_pilot import drive, select_row, wait_until

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

FIXTURES = Path(__file__).parent / "fixtures"
CHECK = "grep -q 'stand-in' src/standin.txt"


def book(env: Env, tmp_path: Path) -> None:
    """WP-1 booked, dispatched and its scope confirmed (the lane's standing go starts the
    work), ingested without starting any agent: the app opens on it."""
    repo, _base = new_repo(tmp_path)
    drop_booking(env, repo, validation_commands=[CHECK])
    drop_dispatch(env)
    drop_scope_confirmed(env)
    env.single_sweep()


@contextmanager
def runner(env: Env) -> Iterator[threading.Thread]:
    """`run_once` in a thread with its own store (a runner beside the TUI); stopped and
    joined at the end."""
    stop = threading.Event()

    def run() -> None:
        with env.ws.open_store() as store:
            run_once(env.ws, store, stop=stop)

    thread = threading.Thread(target=run, name="runner", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(60)


def write_transcripts(ws: Workspace, wp_id: str, *runs: str) -> None:
    """Each fixture (raw CLI output) as one run's transcript, with a fixed clock, as the
    runner writes it."""
    seconds = iter(range(10_000))

    def clock() -> Any:
        return NOW.replace(second=next(seconds) % 60)

    for run, name in enumerate(runs, start=1):
        reader = driver("claude-code").reader()  # type: ignore[union-attr]
        writer = TranscriptWriter.start(
            ws, wp_id, run, "claude-code", FIXTURES / name, reader, clock
        )
        writer.pump()
        writer.finish({"exit_code": 0})


def view(app: CockpitApp) -> TranscriptView:
    screen = app.screen
    assert isinstance(screen, WorkPackageScreen)
    return screen.query_one(TranscriptView)


def head(app: CockpitApp) -> str:
    content = view(app).query_one("#transcript-head", Static).content
    return content.plain if isinstance(content, Text) else str(content)


def detail(app: CockpitApp) -> str:
    content = view(app).query_one("#transcript-detail", Static).content
    return content.plain if isinstance(content, Text) else str(content)


async def open_transcript(pilot: Pilot[None], wp_id: str) -> TranscriptLog:
    """Open the WP from the board and go to its Transcript tab with its key (`5`; `1`
    is the Lineage tab, wherever the focus is)."""
    await select_row(pilot, wp_id)
    await pilot.press("enter")
    await reads_settled(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, WorkPackageScreen)
    await pilot.press("4")
    assert screen.query_one(TabbedContent).active == "tab-audit"
    await pilot.press("5")
    await reads_settled(pilot)
    assert screen.query_one(TabbedContent).active == "tab-transcript"
    return screen.query_one(TranscriptLog)


def test_the_transcript_tab_tails_a_running_agent(env: Env, tmp_path: Path) -> None:
    """The claude stand-in prints 40 lines, 0.15 s apart: rows show while it still runs
    (no agent_exited yet), more arrive later, and the run ends on screen."""
    set_driver_lane(
        env,
        "claude-code",
        *("--standin", "slow", "--standin-lines", "40", "--standin-delay", "0.15"),
        *("--standin-edit", "src/standin.txt"),
    )
    book(env, tmp_path)
    app = make_app(env.ws, ingest=False)  # the runner below ingests

    async def scenario(pilot: Pilot[None]) -> None:
        log = await open_transcript(pilot, "WP-1")
        assert head(app) == "no agent run yet"
        assert not log.lines
        with runner(env) as thread:
            assert await wait_until(pilot, lambda: len(log.lines) >= 3, 20), head(app)
            early = len(log.lines)
            assert not events_of(env, "agent_exited"), "the agent ended before rows showed"
            assert thread.is_alive()
            assert head(app).startswith("run 1 of 1 · claude-code · live")
            assert all(line.kind != "end" for line in log.lines)
            assert await wait_until(pilot, lambda: len(log.lines) > early + 5, 10)
            assert log.follow and log.cursor == len(log.lines) - 1  # it follows the end
            assert await wait_until(pilot, lambda: not thread.is_alive(), 60)
        assert await wait_until(pilot, lambda: "ended" in head(app), 10), head(app)
        texts = [line.text for line in log.lines]
        assert sum("step" in t for t in texts) == 40, texts
        assert log.lines[-1].kind == "end"
        assert events_of(env, "agent_exited")

    drive(app, scenario)


def test_scrolling_up_stops_following_and_g_follows_again(env: Env, tmp_path: Path) -> None:
    set_driver_lane(
        env,
        "claude-code",
        *("--standin", "slow", "--standin-lines", "30", "--standin-delay", "0.1"),
        *("--standin-edit", "src/standin.txt"),
    )
    book(env, tmp_path)
    app = make_app(env.ws, ingest=False)

    async def scenario(pilot: Pilot[None]) -> None:
        log = await open_transcript(pilot, "WP-1")
        with runner(env):
            assert await wait_until(pilot, lambda: len(log.lines) >= 5, 20)
            log.focus()
            await pilot.press("up", "up")
            held = log.cursor
            assert not log.follow
            assert await wait_until(pilot, lambda: len(log.lines) > held + 6, 10)
            assert log.cursor == held  # new rows did not pull the cursor down
            assert "G follows" in head(app)
            await pilot.press("G")
            assert log.follow and log.cursor == len(log.lines) - 1

    drive(app, scenario)


def test_raw_record_and_run_selector(demo_ws: Workspace) -> None:
    write_transcripts(demo_ws, "WP-0001", "claude-run-1.jsonl", "claude-run-2.jsonl")
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        log = await open_transcript(pilot, "WP-0001")
        assert head(app).startswith("run 2 of 2 · claude-code · ended · 13 rows")
        assert log.lines[-1].kind == "end" and log.cursor == len(log.lines) - 1
        kinds = [line.kind for line in log.lines]
        assert kinds[:4] == ["system", "thinking", "message", "tool_call"]
        # The row's text, then its raw record (pretty JSON, as plain text) with `t`.
        log.focus()
        await pilot.press("up", "up", "up")
        line = log.lines[log.cursor]
        assert line.kind == "message" and "[bold red]not markup[/]" in line.text
        assert "[bold red]not markup[/]" in detail(app)  # shown literally, never styled
        assert "\\x1b[31m" in detail(app) and "\\u202e" in detail(app)
        await pilot.press("t")
        shown = detail(app)
        assert "(raw record, t: text)" in shown
        record = json.loads(shown.split("\n", 1)[1])
        assert record == line.raw and record["message"]["id"] == "msg_0010"
        await pilot.press("down")  # the raw view follows the selection
        assert json.loads(detail(app).split("\n", 1)[1])["type"] == "result"
        await pilot.press("t")
        assert "(t: raw record)" in detail(app)

        await pilot.press("left_square_bracket")
        await reads_settled(pilot)
        assert head(app).startswith("run 1 of 2 · claude-code · ended · 4 rows")
        assert [line.kind for line in log.lines] == ["system", "message", "result", "end"]
        assert "SCOPE: CONFIRMED" in log.lines[1].text
        await pilot.press("left_square_bracket")  # there is no run before the first
        await reads_settled(pilot)
        assert head(app).startswith("run 1 of 2")
        await pilot.press("right_square_bracket")
        await reads_settled(pilot)
        assert head(app).startswith("run 2 of 2")

        # The keys act on the Transcript tab only: elsewhere `t` and `[` do nothing.
        await pilot.press("shift+tab", "left")
        assert pilot.app.screen.query_one(TabbedContent).active == "tab-audit"
        await pilot.press("left_square_bracket")
        await reads_settled(pilot)
        assert head(app).startswith("run 2 of 2")

    drive(app, scenario)


def test_a_fast_agent_keeps_the_newest_rows_and_says_how_many_were_dropped(
    demo_ws: Workspace, tmp_path: Path
) -> None:
    """An agent that printed more than the view keeps: the newest MAX_ROWS are shown, the
    header counts the dropped ones, and the end is followed."""
    raw = tmp_path / "flood.jsonl"
    total = MAX_ROWS + 1200
    raw.write_text("".join(f"line {n} of the flood\n" for n in range(1, total + 1)))
    reader = driver("claude-code").reader()  # type: ignore[union-attr]
    writer = TranscriptWriter.start(demo_ws, "WP-0001", 1, "claude-code", raw, reader)
    writer.pump()
    writer.finish({"exit_code": 0})
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        log = await open_transcript(pilot, "WP-0001")
        assert await wait_until(pilot, lambda: log.lines and log.lines[-1].kind == "end", 10)
        assert len(log.lines) == MAX_ROWS
        assert log.dropped == total + 1 - MAX_ROWS  # the end row is a row too
        assert log.lines[-2].text == f"line {total} of the flood"
        assert f"({log.dropped} older rows dropped)" in head(app)

    drive(app, scenario)


def test_a_run_recorded_as_over_without_an_end_record_is_said_lost(
    env: Env, tmp_path: Path
) -> None:
    """The store says the run is over (its agent_exited is recorded) but its transcript
    has no end record, as when its runner died: the header says so, not `live`."""
    set_driver_lane(env, "claude-code", "--standin-edit", "src/standin.txt")
    book(env, tmp_path)
    env.sweep()
    assert events_of(env, "agent_exited")
    path = transcript_path(env.ws, "WP-1", 1)
    records = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"end"' in records[-1]
    path.write_text("".join(records[:-1]), encoding="utf-8")  # the end never written
    app = make_app(env.ws, ingest=False)

    async def scenario(pilot: Pilot[None]) -> None:
        log = await open_transcript(pilot, "WP-1")
        assert await wait_until(pilot, lambda: "lost" in head(app), 5), head(app)
        assert head(app).startswith("run 1 of 1 · claude-code · over, without an end record")
        assert log.lines and all(line.kind != "end" for line in log.lines)

    drive(app, scenario)
