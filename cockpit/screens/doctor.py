"""`cockpit doctor` as a screen: each check's status, what it found and what to do (the
same checks as the command, run in a worker: the replay of a large store takes seconds);
`r` runs them again."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from cockpit.engine.doctor.report import Check, tally
from cockpit.screens.context import cockpit
from cockpit.screens.footer import KeyFooter
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.text import plain

STATUS_STYLES = {"ok": "bold #4ade80", "warn": "bold #facc15", "fail": "bold #ef4444"}


def doctor_table(found: list[Check]) -> Table:
    failing, warning = tally(found)
    table = Table(
        title=f"doctor: {len(found)} checks, {failing} failed, {warning} warned",
        title_justify="left",
        expand=True,
    )
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True, style="bold")
    table.add_column("found", ratio=3)
    table.add_column("what to do", ratio=2)
    for check in found:
        table.add_row(
            Text(check.status, style=STATUS_STYLES.get(check.status, "")),
            plain(check.name),
            plain(check.detail),
            plain(check.fix if check.status != "ok" else ""),
        )
    return table


class DoctorScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back", id="cockpit.doctor.back"),
        Binding("r", "rerun", "run again", id="cockpit.doctor.rerun"),
    ]

    found: list[Check] | None = None  # what the last run of the checks found

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with VerticalScroll():
            yield Static("checking…", id="doctor")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#status", StatusBar).refresh_from_app("doctor")
        self.run_checks()

    def action_rerun(self) -> None:
        self.found = None
        self.query_one("#doctor", Static).update("checking…")
        self.run_checks()

    @work(thread=True, group="doctor-read", exclusive=True, exit_on_error=False)
    def run_checks(self) -> None:
        from cockpit.engine.doctor.checks import run  # on first use: the app starts without it

        app = cockpit(self)
        try:
            found = run(app.ws.root)
        except Exception as exc:  # a check that fails to run is said, never fatal
            if not app.quitting:
                self.app.call_from_thread(app.say, f"the doctor failed: {exc}", severity="error")
            return
        if not app.quitting and not get_current_worker().is_cancelled:  # `r` ran them again
            self.app.call_from_thread(self.show, found)

    def show(self, found: list[Check]) -> None:
        if self.is_attached:
            self.found = found
            self.query_one("#doctor", Static).update(doctor_table(found))
