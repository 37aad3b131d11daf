"""Pilot tests: every action driven through the TUI as a user would (keys, dialog fields,
buttons), with the result read back through the engine: the WP's state and the audit
event, with its principal. Real workspaces, real SQLite, no mocks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, TextArea

from cockpit.app import CockpitApp
from cockpit.engine.runner.loop import RunnerLock, sweep_and_verify
from cockpit.engine.runner.monitor import Monitor
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens import modals
from cockpit.screens.audit import AuditScreen
from cockpit.screens.board import BoardScreen
from cockpit.screens.board_table import BoardTable, row_text
from cockpit.screens.help import HelpScreen
from cockpit.screens.metrics import MetricsScreen
from cockpit.screens.rejected import RejectedScreen
from cockpit.screens.stepper import StepperScreen
from cockpit.screens.work_package import WorkPackageScreen
from cockpit.store import Event
from tui.conftest import NOW, drive, fixed_clock, make_app, reads_settled

# -- driving the app ------------------------------------------------------------------------


async def settled(pilot: Pilot[None], group: str = "action") -> None:
    """Wait for the app's workers of `group` (never the queue watcher, which runs on)."""
    await pilot.pause()
    workers = [w for w in pilot.app.workers if w.group == group]
    if workers:  # an empty list would mean "every worker", the endless queue watcher too
        await pilot.app.workers.wait_for_complete(workers)
    await pilot.pause()


def board(pilot: Pilot[None]) -> BoardTable:
    screen = next(s for s in pilot.app.screen_stack if isinstance(s, BoardScreen))
    return screen.query_one(BoardTable)


def shown_ids(table: BoardTable) -> list[str]:
    return [row["id"] for i in range(table.total) if (row := table.row_at(i)) is not None]


async def select_row(pilot: Pilot[None], wp_id: str) -> None:
    """Move the board's cursor onto `wp_id` with the keys a user would press."""
    table = board(pilot)
    await pilot.press("g")
    for _ in range(table.total):
        if table.selected_id() == wp_id:
            return
        await pilot.press("down")
    assert table.selected_id() == wp_id, f"{wp_id} is not on the board"


async def type_into(pilot: Pilot[None], selector: str, text: str) -> None:
    """Click a text field, clear what it holds and type `text`."""
    await pilot.click(selector)
    widget = pilot.app.screen.query_one(selector)
    assert pilot.app.focused is widget, f"clicking {selector} did not focus it"
    if isinstance(widget, Input):
        await pilot.press("home", "ctrl+k")
    await pilot.press(*text)


async def choose(pilot: Pilot[None], selector: str, value: str) -> None:
    """Open a Select with a click and walk its menu with the arrow keys to `value`."""
    select = pilot.app.screen.query_one(selector, Select)
    await pilot.click(selector)
    if not select.expanded:
        await pilot.press("enter")
    assert select.expanded, f"{selector} did not open"
    values = [v for _, v in select._options]
    assert value in values, f"{value!r} is not offered by {selector}: {values}"
    overlay: Any = pilot.app.focused
    for _ in range(len(values) + 1):
        if overlay.highlighted is not None and values[overlay.highlighted] == value:
            break
        await pilot.press("down")
    await pilot.press("enter")
    assert select.value == value


async def wait_until(pilot: Pilot[None], check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await pilot.pause(0.1)
    return check()


def row_of(table: BoardTable, wp_id: str) -> dict[str, Any] | None:
    for index in range(table.total):
        row = table.row_at(index)
        if row is not None and row["id"] == wp_id:
            return row
    return None


def state_shown(table: BoardTable, wp_id: str) -> str | None:
    row = row_of(table, wp_id)
    return None if row is None else str(row["state"])


def notes(app: CockpitApp) -> list[Any]:
    return list(app._notifications)


def problem(screen: Any) -> str:
    return str(screen.query_one("#problem", Label).content)


# -- reading the engine -----------------------------------------------------------------------


def work_package(ws: Workspace, wp_id: str) -> dict[str, Any]:
    with ws.open_store(fixed_clock) as store:
        wp = store.work_package(wp_id)
    assert wp is not None
    return wp


def events(ws: Workspace, wp_id: str | None = None) -> list[Event]:
    with ws.open_store(fixed_clock) as store:
        return store.events(wp_id)


def head(ws: Workspace) -> int:
    with ws.open_store(fixed_clock) as store:
        return store.head_seq()


def appended(ws: Workspace, since: int) -> list[Event]:
    return [e for e in events(ws) if e.seq > since]


# -- 1-9: every action through its dialog -------------------------------------------------------


def test_dispatch_booked_wp_to_an_agent(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0005")
        await pilot.press("d")
        assert isinstance(app.screen, modals.DispatchModal)
        await choose(pilot, "#to", "agent:implementer-1")
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert isinstance(app.screen, BoardScreen)
        table = board(pilot)
        shown = await wait_until(pilot, lambda: state_shown(table, "WP-0005") == "dispatched", 3)
        assert shown, f"the board shows WP-0005 {state_shown(table, 'WP-0005')}"
        row = row_of(table, "WP-0005")
        assert row is not None and row["assignee"] == "agent:implementer-1"

    drive(app, scenario)
    assert work_package(demo_ws, "WP-0005")["state"] == "dispatched"
    new = appended(demo_ws, before)
    assert [(e.type, e.work_package, e.principal) for e in new] == [
        ("dispatched", "WP-0005", "human:owner")
    ]
    assert new[0].payload["to"] == "agent:implementer-1"


async def override_through_ui(pilot: Pilot[None], wp_id: str, to: str, reason: str) -> None:
    await select_row(pilot, wp_id)
    await pilot.press("o")
    assert isinstance(pilot.app.screen, modals.OverrideModal)
    await choose(pilot, "#to", to)
    await type_into(pilot, "#reason", reason)
    await pilot.press("ctrl+s")
    assert isinstance(pilot.app.screen, modals.ConfirmModal)
    await pilot.press("y")
    await settled(pilot)


def test_verify_shows_the_gate_decision(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    verifies_before = [e.seq for e in events(demo_ws, "WP-0002") if e.type == "verify_completed"]

    async def scenario(pilot: Pilot[None]) -> None:
        await override_through_ui(pilot, "WP-0002", "claimed", "re-check")
        assert work_package(demo_ws, "WP-0002")["state"] == "claimed"
        await pilot.press("v")
        await settled(pilot)
        screen = app.screen
        assert isinstance(screen, modals.VerifyResultModal)
        assert screen.wp_id == "WP-0002"
        assert screen.document["outcome"] == "blocked"
        assert screen.document["acceptance_status"] == "withheld"
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)
    wp = work_package(demo_ws, "WP-0002")
    assert wp["state"] == "blocked"
    assert wp["overridden"]
    verifies = [
        e
        for e in events(demo_ws, "WP-0002")
        if e.type == "verify_completed" and e.seq not in verifies_before
    ]
    assert [(e.principal, e.payload["outcome"]) for e in verifies] == [("human:owner", "blocked")]


def test_recover_blocked_wp(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0002")
        await pilot.press("r")
        assert isinstance(app.screen, modals.RecoverModal)
        await type_into(pilot, "#owner", "agent:implementer-2")
        await type_into(pilot, "#next_action", "rerun checks")
        await pilot.press("ctrl+s")
        await settled(pilot)

    drive(app, scenario)
    assert work_package(demo_ws, "WP-0002")["state"] == "recovering"
    new = appended(demo_ws, before)
    assert [(e.type, e.principal) for e in new] == [("recovery_packet_created", "human:owner")]
    assert new[0].payload["recovery_owner"] == "agent:implementer-2"
    assert new[0].payload["next_action"] == "rerun checks"


def test_review_accepted_completes_the_wp(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0001")
        await pilot.press("e")
        assert isinstance(app.screen, modals.ReviewModal)
        await choose(pilot, "#verdict", "accepted")
        await pilot.click("#findings")
        assert isinstance(app.focused, TextArea)
        await pilot.press(*"tests ok", "enter", *"docs ok")
        await pilot.press("ctrl+s")
        await settled(pilot)

    drive(app, scenario)
    assert work_package(demo_ws, "WP-0001")["state"] == "complete"
    new = appended(demo_ws, before)
    assert [(e.type, e.principal) for e in new] == [
        ("review_recorded", "human:owner"),
        ("task_completed", "human:owner"),
    ]
    assert new[0].payload["verdict"] == "accepted"
    assert new[0].payload["findings"] == ["tests ok", "docs ok"]


def test_override_with_reason_and_confirmation(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await override_through_ui(pilot, "WP-0003", "accepted", "merged by hand")
        assert isinstance(app.screen, BoardScreen)
        table = board(pilot)
        shown = await wait_until(pilot, lambda: state_shown(table, "WP-0003") == "accepted", 3)
        assert shown, f"the board shows WP-0003 {state_shown(table, 'WP-0003')}"
        row = table.row_at(table.cursor)
        assert row is not None and row["id"] == "WP-0003"
        assert row["overridden"]
        assert "⚑" in row_text(row, 118, NOW).plain

    drive(app, scenario)
    wp = work_package(demo_ws, "WP-0003")
    assert wp["state"] == "accepted"
    assert wp["overridden"]
    new = appended(demo_ws, before)
    assert [(e.type, e.principal) for e in new] == [("override_applied", "human:owner")]
    assert new[0].payload["reason"] == "merged by hand"
    assert new[0].payload["transition"] == {"from": "in_progress", "to": "accepted"}


def test_override_without_reason_or_confirmation_appends_nothing(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0003")
        await pilot.press("o")
        await choose(pilot, "#to", "accepted")
        await pilot.press("ctrl+s")
        screen = app.screen
        assert isinstance(screen, modals.OverrideModal), "the dialog closed without a reason"
        assert "An override needs a reason." in problem(screen)
        await type_into(pilot, "#reason", "   ")  # blank is no reason either
        await pilot.click("#ok")
        assert app.screen is screen
        await settled(pilot)
        assert head(demo_ws) == before
        # Now with a reason, but the confirmation is answered "n".
        await type_into(pilot, "#reason", "merged by hand")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, modals.ConfirmModal)
        await pilot.press("n")
        await settled(pilot)
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)
    assert appended(demo_ws, before) == []
    wp = work_package(demo_ws, "WP-0003")
    assert wp["state"] == "in_progress"
    assert not wp["overridden"]


def test_cancel_with_reason_and_confirmation(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0004")
        await pilot.press("c")
        assert isinstance(app.screen, modals.ReasonModal)
        await type_into(pilot, "#reason", "superseded")
        await pilot.click("#ok")
        assert isinstance(app.screen, modals.ConfirmModal)
        await pilot.click("#yes")
        await settled(pilot)

    drive(app, scenario)
    assert work_package(demo_ws, "WP-0004")["state"] == "cancelled"
    new = appended(demo_ws, before)
    assert [(e.type, e.principal) for e in new] == [("task_cancelled", "human:owner")]
    assert new[0].payload["reason"] == "superseded"


def test_veto_raise_then_lift(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0004")
        await pilot.press("x")
        assert isinstance(app.screen, modals.VetoModal)
        # No veto stands: the dialog raises one, and offers nothing else.
        assert str(app.screen.query_one("#ok", Button).label) == "Raise veto"
        await type_into(pilot, "#reason", "leaks PII")
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert work_package(demo_ws, "WP-0004")["vetoed"]
        await pilot.press("x")
        assert isinstance(app.screen, modals.VetoModal)
        # With a veto standing, the dialog is for lifting it, and its button says so.
        assert str(app.screen.query_one("#ok", Button).label) == "Lift veto"
        await type_into(pilot, "#reason", "PII removed")
        await pilot.press("ctrl+s")
        await settled(pilot)

    drive(app, scenario)
    assert not work_package(demo_ws, "WP-0004")["vetoed"]
    new = appended(demo_ws, before)
    assert [(e.type, e.principal, e.payload["active"]) for e in new] == [
        ("veto_changed", "human:owner", True),
        ("veto_changed", "human:owner", False),
    ]
    assert [e.payload["reason"] for e in new] == ["leaks PII", "PII removed"]


def test_dismiss_serious_advisory(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0002")
        await pilot.press("z")
        assert isinstance(app.screen, modals.DismissModal)
        await choose(pilot, "#advisory", "ADV-CLM-0002")
        await type_into(pilot, "#reason", "expected exit")
        await pilot.click("#ok")
        await settled(pilot)
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)
    new = appended(demo_ws, before)
    assert [(e.type, e.work_package, e.principal) for e in new] == [
        ("advisory_dismissed", "WP-0002", "human:owner")
    ]
    assert new[0].payload["advisory"] == "ADV-CLM-0002"
    assert new[0].payload["reason"] == "expected exit"


def test_action_from_the_work_package_screen_refreshes_it(demo_ws: Workspace) -> None:
    """The WP screen binds the same action keys; the event it causes lands on the open
    screen, which refreshes in place (fields, packets, audit rows) and keeps running."""
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0004")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, WorkPackageScreen) and screen.wp_id == "WP-0004"
        await reads_settled(pilot)
        audit = screen.query_one("#wp-audit", DataTable)
        assert audit.row_count > 0
        rows = audit.row_count
        await pilot.press("x")
        assert isinstance(app.screen, modals.VetoModal)
        await type_into(pilot, "#reason", "hold")
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert app.is_running
        assert app.screen_stack[-1] is screen
        refreshed = await wait_until(pilot, lambda: audit.row_count == rows + 1, 3)
        assert refreshed, f"the WP screen's audit tab still shows {audit.row_count} rows"
        assert audit.get_row_at(rows)[2].plain == "veto_changed"
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)
    new = appended(demo_ws, before)
    assert [(e.type, e.principal, e.payload["active"]) for e in new] == [
        ("veto_changed", "human:owner", True)
    ]


# -- 10-11: refusals ----------------------------------------------------------------------------


def test_readonly_opens_no_dialog(demo_ws: Workspace) -> None:
    app = make_app(demo_ws, readonly=True)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        assert app.lock is None  # read-only never ingests
        for key in ("o", "d"):
            await select_row(pilot, "WP-0003" if key == "o" else "WP-0005")
            await pilot.press(key)
            await settled(pilot)
            assert isinstance(app.screen, BoardScreen)
            assert not any(isinstance(s, ModalScreen) for s in app.screen_stack)
        warnings = [n for n in notes(app) if "Read-only" in n.message]
        assert len(warnings) == 2
        assert {n.severity for n in warnings} == {"warning"}

    drive(app, scenario)
    assert head(demo_ws) == before


def test_capability_refusal_is_notified(demo_ws: Workspace) -> None:
    app = make_app(demo_ws, principal="agent:implementer-1")
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        # Refused before any dialog opens: nothing to fill in for an action one cannot take.
        await select_row(pilot, "WP-0003")
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)
        errors = [n for n in notes(app) if n.severity == "error"]
        assert len(errors) == 1
        assert "override capability" in errors[0].message
        assert "agent:implementer-1" in errors[0].message
        assert errors[0].title == "Override refused"
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)
    assert appended(demo_ws, before) == []
    assert work_package(demo_ws, "WP-0003")["state"] == "in_progress"


# -- 12, 14: live update as the ingester, and following another runner ---------------------------


def entry_text(kind: str, entry_id: str, wp_id: str, body: str) -> str:
    return f"""schema: cockpit.entry/v1
kind: {kind}
id: {entry_id}
work_package: {wp_id}
principal: human:owner
created: 2026-11-22T08:00:00Z
body:
{body}"""


NEW_WP = entry_text(
    "work_package",
    "WP-0100",
    "WP-0100",
    """  title: Rotate the audit log
  objective: the audit log rolls over daily
  owner: agent:implementer-1
  accountable: human:owner
  tier: light
  lane: implementation
""",
)
NEW_DISPATCH = entry_text("dispatch", "DSP-0100", "WP-0100", "  to: agent:implementer-1\n")


def drop(ws: Workspace, name: str, text: str) -> None:
    """Write in tmp/, then rename into new/, as a queue writer should."""
    staged = ws.queue_dir("tmp") / name
    staged.write_text(text, encoding="utf-8")
    os.rename(staged, ws.queue_dir("new") / name)


def test_live_update_while_ingesting(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        assert app.lock is not None
        table = board(pilot)
        total = table.total
        drop(demo_ws, "90-WP-0100.yaml", NEW_WP)
        shown = await wait_until(pilot, lambda: "WP-0100" in shown_ids(table), 10)
        assert shown, "the new WP never reached the board"
        assert board(pilot) is table  # the same board, not a restarted app
        assert table.total == total + 1
        row = row_of(table, "WP-0100")
        assert row is not None and row["state"] == "booked"
        assert not list(demo_ws.queue_dir("new").iterdir())
        drop(demo_ws, "91-DSP-0100.yaml", NEW_DISPATCH)

        def dispatched() -> bool:
            row = row_of(table, "WP-0100")
            return row is not None and row["state"] == "dispatched"

        assert await wait_until(pilot, dispatched, 10), "the row never showed the dispatch"
        assert table.total == total + 1

    drive(app, scenario)
    assert work_package(demo_ws, "WP-0100")["state"] == "dispatched"


def test_follower_does_not_ingest_but_follows_the_store(demo_ws: Workspace) -> None:
    lock = RunnerLock(demo_ws).acquire()
    try:
        app = make_app(demo_ws)

        async def scenario(pilot: Pilot[None]) -> None:
            assert app.lock is None
            assert app.ingest_label.startswith("following runner")
            table = board(pilot)
            total = table.total
            drop(demo_ws, "90-WP-0100.yaml", NEW_WP)
            await pilot.pause(2.0)
            assert (demo_ws.queue_dir("new") / "90-WP-0100.yaml").exists()
            assert "WP-0100" not in shown_ids(table)
            with demo_ws.open_store(fixed_clock) as store:
                sweep_and_verify(demo_ws, store)  # the other runner's sweep
            assert not (demo_ws.queue_dir("new") / "90-WP-0100.yaml").exists()
            shown = await wait_until(pilot, lambda: "WP-0100" in shown_ids(table), 10)
            assert shown, "the follower never showed the WP the runner ingested"
            assert table.total == total + 1

        drive(app, scenario)
    finally:
        lock.release()


# -- 13: navigation ------------------------------------------------------------------------------


def test_navigation(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await select_row(pilot, "WP-0002")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, WorkPackageScreen) and screen.wp_id == "WP-0002"
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

        await pilot.press("l")
        stepper = app.screen
        assert isinstance(stepper, StepperScreen) and stepper.wp_id == "WP-0002"
        await reads_settled(pilot)
        assert len(stepper.steps) > 3
        assert stepper.index == 0
        await pilot.press("n", "n")
        assert stepper.index == 2
        await pilot.press("p")
        assert stepper.index == 1
        await pilot.press("p", "p")
        assert stepper.index == 0
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

        for key, kind in (("A", AuditScreen), ("M", MetricsScreen), ("R", RejectedScreen)):
            await pilot.press(key)
            assert isinstance(app.screen, kind), key
            await settled(pilot, "audit-verify")
            await pilot.press("escape")
            assert isinstance(app.screen, BoardScreen), key
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

        table = board(pilot)
        assert table.total == 6
        await pilot.press("slash")
        assert isinstance(app.focused, Input) and app.focused.id == "filter"
        await pilot.press(*"CSV", "enter")
        assert shown_ids(table) == ["WP-0004"]
        await pilot.press("escape")  # esc clears the filter
        assert table.total == 6

        await pilot.press("a")
        # WP-0006 waits for the scripted lane's agent, which this TUI (the ingester)
        # does not start: it needs attention too.
        assert shown_ids(table) == ["WP-0002", "WP-0006"]
        await pilot.press("a")
        assert table.total == 6

    drive(app, scenario)


def test_dismiss_a_progress_monitor_flag(demo_ws: Workspace) -> None:
    """A stall the runner's monitor flagged (a day on) needs attention on the board until
    `z` dismisses it, with a reason."""
    later = NOW + timedelta(days=1)
    with demo_ws.open_store(fixed_clock) as store:
        [flag] = [
            e.payload["flag"]
            for e in Monitor(demo_ws, store, clock=lambda: later).scan()
            if e.work_package == "WP-0005"
        ]
    assert work_package(demo_ws, "WP-0005")["monitor_flags"][0]["flag"] == flag
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("a")  # the needs-attention view
        await pilot.pause()
        assert "WP-0005" in shown_ids(board(pilot))
        await select_row(pilot, "WP-0005")
        await pilot.press("z")
        assert isinstance(app.screen, modals.DismissModal)
        assert app.screen.heading() == "Dismiss monitor flag"
        await choose(pilot, "#advisory", flag)
        await type_into(pilot, "#reason", "booked for next week")
        await pilot.click("#ok")
        await settled(pilot)
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)
    new = appended(demo_ws, before)
    assert [(e.type, e.work_package, e.principal) for e in new] == [
        ("monitor_dismissed", "WP-0005", "human:owner")
    ]
    assert new[0].payload == {**new[0].payload, "flag": flag, "reason": "booked for next week"}
    assert work_package(demo_ws, "WP-0005")["monitor_flags"] is None
