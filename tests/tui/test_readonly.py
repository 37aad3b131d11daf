"""`--readonly` changes nothing: no directory, no database write, no lock."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from cockpit.engine.workspace.layout import Workspace
from tui.conftest import make_app


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` with its hash. SQLite's -wal/-shm companions are left out:
    any WAL reader creates them (empty of data); the database file itself is compared."""
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(("-wal", "-shm")):
                continue
            path = Path(dirpath) / name
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def test_a_readonly_session_writes_nothing(demo_ws: Workspace) -> None:
    for name in ("done", "rejected", "tmp", "cur"):
        target = demo_ws.queue_dir(name)
        for item in target.iterdir():
            item.unlink()
        target.rmdir()
    demo_ws.lock_path.unlink(missing_ok=True)
    before = tree(demo_ws.root)

    async def session() -> None:
        app = make_app(demo_ws, readonly=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("A")  # the audit screen verifies the chain in a worker
            await pilot.pause(1.0)
            await pilot.press("escape", "enter", "escape", "M", "escape", "o")
            await pilot.pause(0.5)
            assert app.lock is None

    asyncio.run(session())
    assert tree(demo_ws.root) == before
    assert not demo_ws.queue_dir("done").exists()


def test_a_readonly_session_offers_no_action(demo_ws: Workspace) -> None:
    """With --readonly the actions are in neither the footer (board, work package), nor
    the help, nor the palette; their keys still say why nothing happens."""
    from rich.table import Table
    from textual.command import DiscoveryHit
    from textual.widgets import Static

    from cockpit.screens.footer import KeyFooter
    from cockpit.screens.help import READONLY_NOTE, HelpScreen
    from cockpit.screens.keys import ACTION_IDS, WP_ACTIONS
    from cockpit.screens.palette import CockpitCommands
    from cockpit.screens.work_package import WorkPackageScreen

    actions = [c for c in WP_ACTIONS if c.id in ACTION_IDS]
    words = {c.title.lower() for c in actions}

    def footer_words(app: object) -> set[str]:
        footer = app.screen.query_one(KeyFooter)  # type: ignore[attr-defined]
        return {binding.description for binding, _, _ in footer.shown_bindings()}

    async def session(readonly: bool) -> None:
        app = make_app(demo_ws, readonly=readonly)
        async with app.run_test(size=(160, 40), notifications=True) as pilot:
            await pilot.pause()
            shown = footer_words(app)
            assert (shown & words == set()) == readonly, shown
            assert {"help", "quit", "filter"} <= shown
            await pilot.press("enter")
            assert isinstance(app.screen, WorkPackageScreen)
            await pilot.pause()
            shown = footer_words(app)
            assert (shown & words == set()) == readonly, shown
            assert {"help", "quit", "back", "steps"} <= shown
            listed = [
                hit.text
                async for hit in CockpitCommands(app.screen).discover()
                if isinstance(hit, DiscoveryHit)
            ]
            titles = {str(text).partition(":")[0].lower() for text in listed}
            assert (titles & words == set()) == readonly, titles
            assert "lineage" in titles and "jump" in titles
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            table = next(
                w.content for w in app.screen.query(Static) if isinstance(w.content, Table)
            )
            rows = table.columns[1]._cells
            said = {str(cell).partition(":")[0].lower() for cell in rows}
            assert (said & words == set()) == readonly
            assert (READONLY_NOTE in [str(cell) for cell in rows]) == readonly
            if readonly:  # an action's key still says why it does nothing
                await pilot.press("escape", "o")
                assert any("Read-only" in n.message for n in app._notifications)

    asyncio.run(session(readonly=True))
    asyncio.run(session(readonly=False))
