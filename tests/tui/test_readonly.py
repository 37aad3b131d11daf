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
