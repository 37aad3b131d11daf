"""The doctor's screen (issue 15): `D` or `:doctor` runs the same checks as `cockpit doctor`
on the app's workspace and shows each one's status, what it found and what to do; `r` runs
them again, and a failure found meanwhile shows."""

from __future__ import annotations

import sqlite3

from textual.pilot import Pilot
from textual.widgets import Static

from cockpit.engine.workspace.layout import Workspace
from cockpit.screens.board import BoardScreen
from cockpit.screens.doctor import DoctorScreen
from tui.conftest import drive, make_app, reads_settled


def found(app: object) -> dict[str, tuple[str, str]]:
    """The checks the screen shows: name -> (status, what was found)."""
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, DoctorScreen)
    return {c.name: (c.status, c.detail) for c in screen.found or []}


def on_screen(app: object) -> str:
    """The checks' table, as the terminal shows it."""
    static = app.screen.query_one("#doctor", Static)  # type: ignore[attr-defined]
    return "\n".join(static.render_line(y).text for y in range(static.size.height))


async def checked(pilot: Pilot[None]) -> None:
    for _ in range(200):
        await reads_settled(pilot)
        if found(pilot.app):
            return
        await pilot.pause(0.05)
    raise AssertionError("the doctor never showed its checks")


def test_the_doctor_screen_shows_every_check_and_runs_again(demo_ws: Workspace) -> None:
    app = make_app(demo_ws)

    async def scenario(pilot: Pilot[None]) -> None:
        await pilot.press("D")
        assert isinstance(app.screen, DoctorScreen)
        await checked(pilot)
        checks = found(app)
        for name in ("config", "git", "lane scripted", "chain", "replay", "counts", "disk"):
            assert checks[name][0] == "ok", (name, checks[name])
        assert "intact through seq" in checks["chain"][1]
        table = on_screen(app)
        assert "doctor: 14 checks, 0 failed" in table and "lane scripted" in table
        # The chain broken meanwhile: `r` runs the checks again, and says so.
        with sqlite3.connect(demo_ws.db_path) as conn:
            conn.execute("DROP TRIGGER events_no_update")
            conn.execute("UPDATE events SET principal = 'human:mallory' WHERE seq = 3")
        await pilot.press("r")
        await checked(pilot)
        assert found(app)["chain"][0] == "fail"
        assert "at seq 3" in found(app)["chain"][1]
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)

    drive(app, scenario, size=(160, 50))
