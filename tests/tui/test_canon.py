"""The canon screen driven as a user would: candidates and their Canon Gate checks,
commissioning through the confirmation (and every way it is refused), canon search with
provenance. Results are read back through the engine and the store."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from cockpit.engine.canon import candidates as canon
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens import modals
from cockpit.screens.board import BoardScreen
from cockpit.screens.canon import CanonScreen
from tui.conftest import fixed_clock, ingest, make_app
from tui.test_pilot import appended, drive, head, notes, settled, wait_until

SECRET = "AKIAZ7QX4M2P9R1T6V3W"  # the demo's made-up key


def text_of(renderable: Any, width: int = 116) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def detail(screen: CanonScreen) -> str:
    return text_of(screen.query_one("#candidate-view", Static).content)


def results(screen: CanonScreen) -> str:
    return text_of(screen.query_one("#canon-results", Static).content)


def table_ids(screen: CanonScreen) -> list[str]:
    table = screen.query_one("#candidates", DataTable)
    return [str(key.value) for key in table.rows]


def cell(screen: CanonScreen, candidate_id: str, column: str) -> str:
    table = screen.query_one("#candidates", DataTable)
    return str(table.get_cell(candidate_id, column))


async def quiet(pilot: Pilot[None], screen: CanonScreen) -> None:
    """Wait until the screen's preview and search workers have answered."""
    assert await wait_until(pilot, lambda: not screen.busy, 10), "the canon screen kept working"
    await pilot.pause()


async def open_canon(pilot: Pilot[None]) -> CanonScreen:
    await pilot.press("C")
    screen = pilot.app.screen
    assert isinstance(screen, CanonScreen)
    await quiet(pilot, screen)
    return screen


def canon_ids(ws: Workspace) -> list[str]:
    with ws.open_store(fixed_clock) as store:
        return [row["id"] for row in store.canon_search(None)]


def test_candidates_and_their_gate_checks(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        assert table_ids(screen) == ["CAND-0001", "CAND-0002"]
        assert cell(screen, "CAND-0001", "redaction") == "clean"
        assert cell(screen, "CAND-0002", "redaction") == "SECRETS"
        assert screen.shown == "CAND-0001"
        assert screen.decision is not None and screen.decision.admits
        shown = detail(screen)
        assert "Pagination: the index of the last page" in shown
        assert "would admit" in shown
        for name in canon.CHECKS:
            assert name in shown, name

        await pilot.press("down")
        await quiet(pilot, screen)
        assert screen.shown == "CAND-0002"
        assert screen.decision is not None
        assert screen.decision.checks["redaction"].status == "unsatisfied"
        assert screen.decision.failed == ["redaction"]
        shown = detail(screen)
        assert "[REDACTED:aws_access_key_id]" in shown
        assert SECRET not in shown
        rows = [line.split() for line in shown.splitlines() if line.startswith("redaction ")]
        # the record's scan, then the gate's check row
        assert rows[0][:5] == ["redaction", "secrets", "were", "found", "and"]
        assert rows[1][:4] == ["redaction", "│", "unsatisfied", "│"]
        assert "aws_access_key_id" in " ".join(rows[1])
        assert "would refuse: redaction" in shown
        assert SECRET not in app.export_screenshot()

        # esc leaves the search field first, then the screen
        await pilot.press("slash")
        assert isinstance(app.focused, Input) and app.focused.id == "canon-query"
        await pilot.press("escape")
        assert isinstance(app.focused, DataTable)
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario)


def test_commission_as_reviewer_then_search_with_provenance(demo_ws: Workspace) -> None:
    app = make_app(demo_ws, principal="human:reviewer")
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        assert "Canon is empty." in results(screen)
        await pilot.press("m")
        confirm = app.screen
        assert isinstance(confirm, modals.ConfirmModal)
        question = str(confirm.query_one(Label).content)
        assert question == "Commission CAND-0001 as canon? This is recorded forever."
        await pilot.press("y")
        await settled(pilot, "action")
        assert app.screen is screen

        def commissioned() -> bool:
            return cell(screen, "CAND-0001", "state") == "commissioned"

        assert await wait_until(pilot, commissioned, 5), "the table never showed the commission"
        await quiet(pilot, screen)
        assert cell(screen, "CAND-0001", "last_gate") == "commissioned by human:reviewer"
        said = [n for n in notes(app) if n.title == "Commission"]
        assert [n.message for n in said] == ["CAND-0001 is canon now (by human:reviewer)."]
        # the open canon list followed the commission by itself
        assert "CAND-0001" in results(screen)
        assert screen.decision is not None
        assert screen.decision.checks["anti_replay"].status == "unsatisfied"

        await pilot.press("slash", *"pagination", "enter")
        await quiet(pilot, screen)
        found = " ".join(results(screen).split())
        assert "1 canon record matching 'pagination'" in found
        assert "CAND-0001 commissioned by human:reviewer at 2026-11-22 09:00:00" in found
        assert "Pagination: the index of the last page is ceil(total / page_size) - 1." in found
        chain = (
            "candidate CAND-0001 by agent:implementer-1 → WP-0001 accepted → claim CLM-0001 → "
            "evidence EVD-0001 → verify success @10 by agent:verifier → "
            "commissioned by human:reviewer"
        )
        assert chain in found

        await pilot.press("slash", "ctrl+a", "ctrl+k", *"nothing-like-it", "enter")
        await quiet(pilot, screen)
        assert "No canon record matches 'nothing-like-it'." in results(screen)

    drive(app, scenario)
    assert canon_ids(demo_ws) == ["CAND-0001"]
    new = appended(demo_ws, before)
    assert [(e.type, e.principal) for e in new] == [
        ("canon_gate_evaluated", "human:reviewer"),
        ("candidate_commissioned", "human:reviewer"),
    ]
    with demo_ws.open_store(fixed_clock) as store:
        (row,) = canon.search(store, "pagination")
    assert row["provenance"]["commissioned_by"] == "human:reviewer"


def test_a_commission_the_gate_would_refuse_is_refused_without_asking(demo_ws: Workspace) -> None:
    """CAND-0002's preview says "would refuse: redaction": `m` offers no confirmation, it
    says why at once (each failed check with its detail) and records nothing."""
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        await pilot.press("down")
        await quiet(pilot, screen)
        assert "would refuse: redaction" in detail(screen)
        await pilot.press("m")
        await settled(pilot, "action")
        assert app.screen is screen
        assert not any(isinstance(s, ModalScreen) for s in app.screen_stack)
        refused = [n for n in notes(app) if n.title == "Commission refused"]
        assert len(refused) == 1 and refused[0].severity == "error"
        detail_of = screen.decision.checks["redaction"].detail  # type: ignore[union-attr]
        assert refused[0].message == (
            f"The Canon Gate would refuse CAND-0002: redaction ({detail_of})."
        )
        assert SECRET not in refused[0].message
        assert cell(screen, "CAND-0002", "state") == "candidate"
        assert cell(screen, "CAND-0002", "last_gate") == "-"  # no gate run was recorded

    drive(app, scenario)
    assert canon_ids(demo_ws) == []
    assert appended(demo_ws, before) == []


def test_commission_pressed_before_the_preview_answers_waits_for_it(demo_ws: Workspace) -> None:
    """`m` at once after moving to CAND-0002, before its preview is in: the refusal comes
    when the gate has answered, never a confirmation; back on CAND-0001 (which the gate
    would admit) the confirmation is asked."""
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        # In one go on the UI thread, as a fast `down m` can land: no answer can come between.
        screen.query_one("#candidates", DataTable).move_cursor(row=1)
        screen.action_commission()
        assert screen.commission_wanted == "CAND-0002" and screen.previewing
        await quiet(pilot, screen)
        await pilot.pause()
        assert not any(isinstance(s, ModalScreen) for s in app.screen_stack)
        refused = [n for n in notes(app) if n.title == "Commission refused"]
        assert [n.message.split(":")[0] for n in refused] == [
            "The Canon Gate would refuse CAND-0002"
        ]
        await pilot.press("up", "m")
        await quiet(pilot, screen)
        await pilot.pause()
        assert isinstance(app.screen, modals.ConfirmModal)
        await pilot.press("n")

    drive(app, scenario)
    assert appended(demo_ws, before) == []


def test_no_is_no(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        await pilot.press("m")
        assert isinstance(app.screen, modals.ConfirmModal)
        await pilot.press("n")
        await settled(pilot, "action")
        assert app.screen is screen

    drive(app, scenario)
    assert appended(demo_ws, before) == []


def test_commission_without_the_capability_is_refused_up_front(demo_ws: Workspace) -> None:
    app = make_app(demo_ws, principal="agent:implementer-1")
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        # the preview says so too, as the gate would
        assert screen.decision is not None and "identity" in screen.decision.failed
        await pilot.press("m")
        await settled(pilot, "action")
        assert app.screen is screen
        assert not any(isinstance(s, ModalScreen) for s in app.screen_stack)
        errors = [n for n in notes(app) if n.severity == "error"]
        assert [(n.title, n.message) for n in errors] == [
            ("Commission refused", "agent:implementer-1 lacks the commission capability")
        ]

    drive(app, scenario)
    assert appended(demo_ws, before) == []


def test_readonly_refuses_commission(demo_ws: Workspace) -> None:
    app = make_app(demo_ws, readonly=True)
    before = head(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        assert table_ids(screen) == ["CAND-0001", "CAND-0002"]
        await pilot.press("m")
        await settled(pilot, "action")
        assert app.screen is screen
        warnings = [n for n in notes(app) if "Read-only" in n.message]
        assert len(warnings) == 1 and warnings[0].severity == "warning"
        await pilot.press("slash", "enter")  # searching is reading: allowed
        await quiet(pilot, screen)
        assert "Canon is empty." in results(screen)

    drive(app, scenario)
    assert appended(demo_ws, before) == []


def test_the_screen_follows_a_commission_made_elsewhere(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        table = screen.query_one("#candidates", DataTable)
        with demo_ws.open_store(fixed_clock) as store:  # the CLI, in another process
            canon.commission(demo_ws, store, "CAND-0001", "human:reviewer")

        def followed() -> bool:
            return cell(
                screen, "CAND-0001", "state"
            ) == "commissioned" and "CAND-0001 commissioned by" in " ".join(results(screen).split())

        assert await wait_until(pilot, followed, 5), "the screen never showed the commission"
        assert screen.query_one("#candidates", DataTable) is table
        await quiet(pilot, screen)
        assert screen.decision is not None and screen.decision.failed == ["anti_replay"]

    drive(app, scenario)


HOSTILE_RECORD = "[bold red]PWNED[/] \x1b[31mred\x1b[0m \u202eevil\u202c [link=http://x]x[/link]"


def test_agent_written_text_is_shown_literally(demo_ws: Workspace) -> None:
    entry = f"""schema: cockpit.entry/v1
kind: candidate
id: CAND-0666
work_package: WP-0001
principal: agent:implementer-1
created: 2026-11-21T16:00:00Z
body:
  record: {json.dumps(HOSTILE_RECORD)}
  source: {json.dumps("[i]notes[/i]")}
  policy_version: 1
  evidence: [EVD-0001]
"""
    (demo_ws.queue_dir("new") / "80-CAND-0666.yaml").write_text(entry, encoding="utf-8")
    ingest(demo_ws)
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        screen = await open_canon(pilot)
        assert table_ids(screen) == ["CAND-0001", "CAND-0002", "CAND-0666"]
        await pilot.press("down", "down")
        await quiet(pilot, screen)
        shown = detail(screen)
        assert "[bold red]PWNED[/] \\x1b[31mred\\x1b[0m \\u202eevil\\u202c" in shown
        assert "[link=http://x]x[/link]" in shown
        assert "[i]notes[/i]" in shown
        assert "\x1b" not in shown and "\u202e" not in shown

    drive(app, scenario)
