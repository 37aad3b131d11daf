"""On an 80x24 terminal (fixed clock and data): the board's footer keeps `? help` and
`q quit`, the header is whole, the title gets the room the other columns give up, the
work package screen shows its status lines down to "needs attention", and the audit
screen its "what" column, the canon screen its footer's `? help` and `q quit` and its
candidates cut with "…". Each SVG under __snapshots__ has been looked at."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.widgets._footer import FooterKey

from cockpit.app import CockpitApp
from cockpit.engine.actions import human as actions
from cockpit.engine.workspace.layout import Workspace
from cockpit.screens.footer import KeyFooter, kept_keys
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.tables import FitTable
from tui.conftest import make_app, reads_settled
from tui.test_snapshots import canon_settled, pressing, settled

SMALL = (80, 24)
Snap = Callable[..., bool]
AppFor = Callable[..., CockpitApp]


def marked(ws: Workspace) -> Workspace:
    """The demo with WP-0003 overridden to accepted and a veto raised on WP-0004: the
    board shows both marks beside the state."""
    with ws.open_store() as store:
        actions.override(ws, store, "WP-0003", "accepted", "merged by hand", "human:owner")
        actions.veto(ws, store, "WP-0004", "leaks PII", "human:owner")
    return ws


def test_board_small(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    assert snap_compare(app_for(marked(demo_ws)), terminal_size=SMALL)


def test_board_small_sorted_by_state(
    snap_compare: Snap, demo_ws: Workspace, app_for: AppFor
) -> None:
    """`s` once: the lifecycle's order, STATE marked ▲."""
    assert snap_compare(app_for(demo_ws), press=["s"], terminal_size=SMALL)


def test_work_package_small(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """WP-0002 (blocked, with an untreated serious advisory): state, last verify and why
    it needs attention come first, above the tabs."""
    run = pressing("down", "enter")
    assert snap_compare(app_for(demo_ws), run_before=run, terminal_size=SMALL)


def test_audit_small(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """The entry and time columns give way; "what" is on screen, cut with "…"; the table
    ends at the newest event, whichever came first: the rows, the chain's verdict (the
    progress bar goes) or the header settling its four lines for the width."""

    async def settle(pilot: object) -> None:
        await pilot.press("A")  # type: ignore[attr-defined]
        await reads_settled(pilot)
        await settled(pilot, "audit-verify")

    assert snap_compare(app_for(demo_ws), run_before=settle, terminal_size=SMALL)


def test_the_audit_table_keeps_the_newest_in_view_as_it_gets_shorter(
    demo_ws: Workspace,
) -> None:
    """A shorter table (here the terminal; at start-up the header taking its lines for the
    width) still ends at the newest event, where the cursor is: a DataTable alone keeps its
    scroll offset and lets the last rows fall below the view."""
    app = make_app(demo_ws)

    async def session() -> None:
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press("A")
            await reads_settled(pilot)
            await settled(pilot, "audit-verify")
            table = app.screen.query_one("#events", FitTable)
            for height in (20, 16):
                await pilot.resize_terminal(SMALL[0], height)
                await pilot.pause()
                await pilot.pause()
                assert table.cursor_row == table.row_count - 1
                assert table.scroll_y == table.max_scroll_y > 0, (height, table.scroll_y)

    asyncio.run(session())


def footer_keys(app: CockpitApp) -> list[tuple[str, int, int]]:
    """The keys the footer draws: (its text, first column, last column + 1)."""
    footer = app.screen.query_one(KeyFooter)
    keys = [
        (str(key.render()).strip(), key.region.x, key.region.right)
        for key in footer.query(FooterKey)
    ]
    return sorted(keys, key=lambda k: k[1])


def test_the_boards_footer_keeps_help_and_quit_at_80x24(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def session() -> None:
        async with app.run_test(size=SMALL) as pilot:
            await pilot.pause()
            keys = footer_keys(app)
            said = [text for text, _, _ in keys]
            assert "? help" in said and "q quit" in said, said
            assert all(0 <= start < end <= 80 for _, start, end in keys), keys
            assert said.index("q quit") < said.index("? help")  # in the table's order
            # Lesser keys gave way (the rollback, veto and dismiss actions)...
            assert not any(text.startswith(("b ", "x ", "z ")) for text in said), said
            # ...and come back on a wide terminal.
            await pilot.resize_terminal(200, 40)
            await pilot.pause()
            await pilot.pause()
            said = [text for text, _, _ in footer_keys(app)]
            assert {"b rollback", "x veto", "z dismiss", "? help", "q quit"} <= set(said), said
            # The header is whole at 80: no count is cut.
            await pilot.resize_terminal(*SMALL)
            await pilot.pause()
            header = app.screen.query_one(StatusBar)
            lines = [header.render_line(y).text.rstrip() for y in range(header.size.height)]
            assert not any(line.endswith("…") for line in lines), lines
            assert any("attention 2" in line for line in lines), lines

    asyncio.run(session())


def test_the_footer_keeps_keys_by_rank_then_order() -> None:
    keys = [("cockpit.dispatch", 11), ("cockpit.filter", 9), ("cockpit.quit", 7)]
    keys += [("cockpit.help", 7), ("cockpit.veto", 7)]
    assert kept_keys(keys, 100) == [0, 1, 2, 3, 4]
    assert kept_keys(keys, 14) == [2, 3]  # help and quit first
    assert kept_keys(keys, 23) == [1, 2, 3]  # then the filter, before any action
    assert kept_keys(keys, 33) == [1, 2, 3]  # the next one does not fit: none after it
    assert kept_keys(keys, 34) == [0, 1, 2, 3]


def test_canon_small(snap_compare: Snap, demo_ws: Workspace, app_for: AppFor) -> None:
    """The candidates' columns shrink (the author goes first); the footer keeps its keys."""

    async def settle(pilot: object) -> None:
        await pilot.press("C")  # type: ignore[attr-defined]
        await canon_settled(pilot)

    assert snap_compare(app_for(demo_ws), run_before=settle, terminal_size=SMALL)
