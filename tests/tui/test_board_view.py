"""What the board and the tables show: a veto's mark beside the state, the state sort in
lifecycle order with the sorted column marked, "…" wherever a table cuts text, and a WP
overridden to `blocked` counted as needing attention (SPEC 4)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.app import CockpitApp
from cockpit.engine.actions import human as actions
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens.audit import AuditScreen
from cockpit.screens.board import BoardScreen
from cockpit.screens.board_table import BoardTable, header_text, row_text
from cockpit.screens.rejected import RejectedScreen
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.tables import Column as TableColumn
from cockpit.screens.tables import FitTable, lay_out
from tui.conftest import NOW, drive, make_app, reads_settled


def board(app: CockpitApp) -> BoardTable:
    return next(s for s in app.screen_stack if isinstance(s, BoardScreen)).query_one(BoardTable)


def rows(app: CockpitApp) -> list[dict[str, Any]]:
    table = board(app)
    return [row for i in range(table.total) if (row := table.row_at(i)) is not None]


def columns_line(app: CockpitApp) -> str:
    return str(app.screen.query_one("#columns", Static).content)


def header(app: CockpitApp) -> str:
    return str(app.screen.query_one(StatusBar).content)


def test_a_raised_veto_is_marked_on_the_board_row(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        actions.veto(demo_ws, app.store, "WP-0004", "leaks PII", "human:owner")
        actions.override(demo_ws, app.store, "WP-0003", "accepted", "by hand", "human:owner")
        app.poll()
        await pilot.pause()
        shown = {row["id"]: row for row in rows(app)}
        for width in (80, 118, 160):
            vetoed = row_text(shown["WP-0004"], width, NOW).plain
            assert "dispatched ✋" in vetoed and "⚑" not in vetoed, (width, vetoed)
            overridden = row_text(shown["WP-0003"], width, NOW).plain
            assert "accepted ⚑" in overridden and "✋" not in overridden, (width, overridden)
            assert "✋" not in row_text(shown["WP-0005"], width, NOW).plain
        actions.veto(demo_ws, app.store, "WP-0004", "PII removed", "human:owner", lift=True)
        app.poll()
        await pilot.pause()
        lifted = next(row for row in rows(app) if row["id"] == "WP-0004")
        assert "✋" not in row_text(lifted, 118, NOW).plain

    drive(app, scenario)


def test_the_state_sort_is_the_lifecycle_order_and_its_column_is_marked(
    demo_ws: Workspace,
) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        assert columns_line(app).startswith("ID ▲")
        assert "STATE ▲" not in columns_line(app)
        await pilot.press("s")
        assert [row["state"] for row in rows(app)] == [
            "booked",
            "dispatched",
            "dispatched",
            "in_progress",
            "accepted",
            "blocked",
        ]
        assert "STATE ▲" in columns_line(app) and "ID ▲" not in columns_line(app)
        assert "sort" not in header(app)  # the column says it
        await pilot.press("s", "s")  # age, then updated: no column shows `updated`
        assert "sort updated, newest first" in header(app)
        assert "▲" not in columns_line(app)

    drive(app, scenario)


def test_the_title_gets_the_spare_width() -> None:
    """On 80 columns the title gets what the narrower columns leave after shrinking; at any
    width the row is exactly as wide as the board, and cut text ends in "…"."""
    row = {
        "id": "WP-0002",
        "title": "Document the retry policy for uploads that fail",
        "state": "scope_confirmed",
        "tier": "light",
        "assignee": "agent:implementer-2",
        "last_verify": {"outcome": "blocked", "blocking_predicate": "no_open_blockers"},
        "overridden": 1,
        "vetoed": 1,
        "cost_usd": None,
        "created": "2026-11-21T09:00:00Z",
    }
    for width in (80, 100, 118, 160):
        text = row_text(row, width, NOW)
        assert text.cell_len == width, width
        assert header_text(width).cell_len == width
    title = row_text(row, 80, NOW).plain[10:34]
    assert title.startswith("Document the retry pol") and title.rstrip().endswith("…")
    assert "Document the retry policy for uploads that fail" in row_text(row, 160, NOW).plain
    assert "…" in row_text(row, 160, NOW).plain  # the state with both marks is cut, visibly


def test_a_layout_shrinks_the_wide_columns_then_drops_the_least_needed() -> None:
    columns = [
        TableColumn("id", "ID", 10, minimum=8),
        TableColumn("text", "TEXT", 0),
        TableColumn("who", "WHO", 20, minimum=12),
        TableColumn("extra", "EXTRA", 9, drop=1),
    ]
    assert [(c.key, w) for c, w in lay_out(columns, 100, flexible=30)] == [
        ("id", 10),
        ("text", 61),
        ("who", 20),
        ("extra", 9),
    ]
    # Too narrow: the widest shrink first (WHO to its minimum, then ID by one)...
    assert [(c.key, w) for c, w in lay_out(columns, 60, flexible=30)] == [
        ("id", 9),
        ("text", 30),
        ("who", 12),
        ("extra", 9),
    ]
    # ...and when that is not enough the droppable go; the text takes what is left.
    assert [(c.key, w) for c, w in lay_out(columns, 45, flexible=30)] == [
        ("id", 8),
        ("text", 25),
        ("who", 12),
    ]


def test_a_wp_overridden_to_blocked_needs_attention(demo_ws: Workspace) -> None:
    """SPEC 4: blocked without a recovery owner is shown as needing triage; an override to
    `blocked` used to leave the count and the needs-attention view unchanged."""
    app = make_app(demo_ws, ingest=False)

    async def scenario(pilot: Pilot[None]) -> None:
        assert "attention 1 " in header(app) + " "
        actions.override(demo_ws, app.store, "WP-0005", "blocked", "vendor", "human:owner")
        app.poll()
        await pilot.pause()
        assert "attention 2 " in header(app) + " "
        await pilot.press("a")
        assert [row["id"] for row in rows(app)] == ["WP-0002", "WP-0005"]
        await pilot.press("escape", "escape")  # clears the view
        await select(pilot, "WP-0005")
        await pilot.press("enter")
        await reads_settled(pilot)
        fields = app.screen.query_one("#wp-fields", Static)
        lines = [fields.render_line(y).text for y in range(fields.size.height)]
        assert any("needs attention   blocked without a recovery owner" in line for line in lines)

    drive(app, scenario)


async def select(pilot: Pilot[None], wp_id: str) -> None:
    table = board(pilot.app)  # type: ignore[arg-type]
    await pilot.press("g")
    for _ in range(table.total):
        if table.selected_id() == wp_id:
            return
        await pilot.press("down")
    assert table.selected_id() == wp_id


def cut_cells(table: FitTable) -> list[Text]:
    """The cells of `table` that end in "…", checked to fit their columns."""
    widths = {column.key: width for column, width in table.laid_out}
    found = []
    for row in table.ordered_rows:
        for (key, width), shown in zip(widths.items(), table.get_row(row.key), strict=True):
            assert shown.cell_len <= width, (key, shown)
            if shown.plain.endswith("…"):
                found.append(shown)
    return found


def test_tables_cut_text_with_an_ellipsis(demo_ws: Workspace) -> None:
    """The audit chain's and the rejected entries' text is cut with "…", also at 160
    columns (it used to stop at "lacks th" and "'../../etc/passw")."""
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        for key, kind, selector in (
            ("A", AuditScreen, "#events"),
            ("R", RejectedScreen, "#rejected"),
        ):
            await pilot.press(key)
            await reads_settled(pilot)
            assert isinstance(app.screen, kind)
            table = app.screen.query_one(selector, FitTable)
            cut = [cell.plain for cell in cut_cells(table)]
            if kind is AuditScreen:
                assert any(
                    text.startswith("capability_denied: agent:implementer-1 lacks") for text in cut
                )
                assert any("'../../etc/passwd'" in text for text in cut), cut
            await pilot.press("escape")

    drive(app, scenario, size=(160, 40))

    async def narrow(pilot: Pilot[None]) -> None:
        await pilot.press("R")
        await reads_settled(pilot)
        table = app.screen.query_one("#rejected", FitTable)
        widths = {column.key: width for column, width in table.laid_out}
        assert list(widths)[-1] == "message" and widths["message"] >= 20  # on screen
        assert sum(widths.values()) + 2 * len(widths) <= 80
        assert [cell.plain for cell in cut_cells(table)]

    app = make_app(demo_ws)
    drive(app, narrow, size=(80, 24))


def test_an_empty_board_says_how_to_book_a_wp_in_full_at_80_columns(empty_ws: Workspace) -> None:
    """The empty board's advice fits 80 columns whole (it used to stop at `cockpit submi`),
    and is cut with "…" where it cannot fit."""
    ws = empty_ws

    def lines(app: CockpitApp) -> list[str]:
        table = board(app)
        return [table.render_line(y).text.rstrip() for y in (1, 2)]

    async def wide(pilot: Pilot[None]) -> None:
        await reads_settled(pilot)
        shown = lines(pilot.app)  # type: ignore[arg-type]
        assert [line.strip() for line in shown] == list(BoardTable.empty_message)
        assert "`cockpit new work_package WP-1`" in shown[0]

    drive(make_app(ws), wide, size=(80, 24))

    async def narrow(pilot: Pilot[None]) -> None:
        await reads_settled(pilot)
        assert all(line.endswith("…") for line in lines(pilot.app))  # type: ignore[arg-type]

    drive(make_app(ws), narrow, size=(50, 24))
