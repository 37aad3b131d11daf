"""The TUI measures' child processes (run as `python benchmarks/tui_apps.py WHAT ...`):

    bare                 the floor: a bare Textual app showing one line (the marker)
    datatable DB ROWS    the baseline: Textual's built-in DataTable loading the board's
                         first ROWS rows (same columns) straight from the store's SQLite file
    drop WS N            the Cockpit app headless (`App.run_test`), ingesting: N work_package
                         entries delivered to queue/new one at a time (tmp/ then linked in,
                         as `cockpit submit` does); prints the ms until each one's row is on
                         the board, as JSON
    changes WS WP N      the Cockpit app headless (`App.run_test`, not ingesting) on the WP's
                         screen, its reads settled: N times, the ms from pressing `6` until
                         the Changes tab shows the diff's rows (painted), and from pressing
                         `3` until the Verify tab is (the baseline), on a WP screen
                         opened afresh each time; then N times cold: the ms from opening the
                         WP's screen and pressing `6` at once to the same; as JSON

Each paints MARKER (the first row's id) as its first rows show, so `processes.first_paint`
times all three the same way.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static

MARKER = "WP-000000"
COLUMNS = ("id", "title", "state", "tier", "assignee", "last_verify", "overridden", "cost_usd")


class Bare(App[None]):
    BINDINGS = [("q", "quit", "quit")]

    def compose(self) -> ComposeResult:
        yield Static(MARKER)


class Table(App[None]):
    """The board's first page in a DataTable, the way a board built on it would start."""

    BINDINGS = [("q", "quit", "quit")]

    def __init__(self, db: Path, rows: int) -> None:
        super().__init__()
        self.db = db
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            found = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM work_packages ORDER BY id LIMIT ?",
                (self.rows,),
            ).fetchall()
        finally:
            conn.close()
        table = self.query_one(DataTable)
        table.add_columns(*(c.upper() for c in COLUMNS))
        for row in found:
            table.add_row(*("-" if v is None else str(v) for v in row), key=row[0])


def drop(root: Path, count: int) -> dict[str, Any]:
    """Open the Cockpit app headless on `root` (it ingests), then deliver `count` bookings
    one by one and time each until its row is on the board (the table holds it)."""
    from cockpit.app import CockpitApp
    from cockpit.engine.queue import maildir
    from cockpit.engine.workspace.layout import Workspace
    from cockpit.screens.board_table import BoardTable

    ws = Workspace.load(root)
    samples: list[float] = []

    async def main() -> None:
        app = CockpitApp(ws, principal="human:owner")
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(BoardTable)
            await _until(lambda: table.total > 0 and app.ingesting, 60)
            sweeps = [w for w in app.workers if w.group == "sweep"]
            if sweeps:  # the start-up sweep (it records the config once) is not measured
                await app.workers.wait_for_complete(sweeps)
            await pilot.pause(0.5)
            for n in range(count):
                wp = f"WP-9{n:05d}{int(time.time() * 1000) % 1000:03d}"
                before = table.total
                started = time.perf_counter()
                maildir.deliver(ws, f"{wp}.yaml", booking(wp))
                await _until(lambda wp=wp, before=before: _shown(table, wp, before), 30)
                samples.append((time.perf_counter() - started) * 1000)
                await pilot.pause(0.3)  # let the runner settle before the next drop

    asyncio.run(main())
    return {"ms": samples}


def changes(root: Path, wp: str, count: int) -> dict[str, Any]:
    """Open the WP's screen and wait for its reads; then time showing the Changes tab (the
    `6` key's action) until the diff view holds the first file's rows and the screen has
    been painted with them, and the same for the Verify tab (the baseline); `count` times,
    on a fresh WP screen each time (the first pays the session's one-time costs). Then
    `count` times cold: the WP's screen opened and the tab shown at once, until the same.
    Nothing polls: what is waited for is a worker's end or the screen's next refresh (a
    pilot's idle-wait would add its own tens of milliseconds, and a busy loop would take
    the GIL from the worker computing the change, which a person's idle app does not)."""
    from cockpit.app import CockpitApp
    from cockpit.engine.workspace.layout import Workspace
    from cockpit.screens.changes.diff_view import DiffView

    ws = Workspace.load(root)
    samples: list[float] = []
    cold: list[float] = []
    verify: list[float] = []
    rows = 0

    async def painted(app: Any) -> None:
        """After the screen's next refresh (twice: a message posted by the first may
        change what the second paints)."""
        for _ in range(2):
            done = asyncio.Event()
            app.screen.call_after_refresh(done.set)
            await asyncio.wait_for(done.wait(), 60)

    async def shown(app: Any) -> int:
        diff = app.screen.query_one(DiffView)
        deadline = time.perf_counter() + 60
        while not (diff.file and diff.rows):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the Changes tab did not show the diff: {diff.message}")
            busy = [w for w in app.workers if w.group == "changes-read" and not w.is_finished]
            if busy:
                await app.workers.wait_for_complete(busy)
            await painted(app)
        await painted(app)
        return len(diff.rows)

    async def main() -> None:
        nonlocal rows
        app = CockpitApp(ws, principal="human:owner", ingest=False)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(count):
                app.open_work_package(wp)
                await _settle(app, pilot)
                await pilot.pause(0.3)
                started = time.perf_counter()
                await app.screen.run_action("show_tab('tab-verify')")  # the baseline
                await painted(app)
                verify.append((time.perf_counter() - started) * 1000)
                await app.screen.run_action("show_tab('tab-lineage')")
                await pilot.pause(0.3)
                started = time.perf_counter()
                await app.screen.run_action("show_tab('tab-changes')")
                rows = await shown(app)
                samples.append((time.perf_counter() - started) * 1000)
                app.pop_screen()
                await pilot.pause(0.3)
            for _ in range(count):
                started = time.perf_counter()
                app.open_work_package(wp)
                await painted(app)
                await app.screen.run_action("show_tab('tab-changes')")
                await shown(app)
                cold.append((time.perf_counter() - started) * 1000)
                app.pop_screen()
                await pilot.pause(0.3)

    asyncio.run(main())
    return {"ms": samples, "cold_ms": cold, "verify_ms": verify, "rows": rows}


async def _settle(app: Any, pilot: Any) -> None:
    """Until no screen worker reads the store or git (groups `*-read`)."""
    for _ in range(100):
        await pilot.pause()
        busy = [w for w in app.workers if w.group.endswith("-read") and not w.is_finished]
        if not busy:
            return
        await app.workers.wait_for_complete(busy)


def _shown(table: Any, wp: str, before: int) -> bool:
    if table.total <= before:
        return False
    row = table.row_at(table.total - 1)  # the highest id: the last row of the id sort
    return row is not None and row["id"] == wp


async def _until(check: Any, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError("the board did not show it in time")
        await asyncio.sleep(0.002)


def booking(wp: str) -> bytes:
    return (
        "schema: cockpit.entry/v1\nkind: work_package\n"
        f"id: {wp}\nwork_package: {wp}\nprincipal: human:owner\n"
        "created: 2026-11-21T10:00:00Z\nbody:\n"
        f"  title: Dropped {wp}\n  objective: o\n  owner: agent:implementer-1\n"
        "  accountable: human:owner\n  tier: light\n  lane: implementation\n"
    ).encode()


def main() -> None:
    what = sys.argv[1]
    if what == "bare":
        Bare().run()
    elif what == "datatable":
        Table(Path(sys.argv[2]), int(sys.argv[3])).run()
    elif what == "drop":
        print(json.dumps(drop(Path(sys.argv[2]), int(sys.argv[3]))))
    elif what == "changes":
        print(json.dumps(changes(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
    else:
        raise SystemExit(f"unknown measure {what!r}")


if __name__ == "__main__":
    main()
