"""Messages the TUI's app and screens pass each other. They live apart from `cockpit.app`
so that screens can post and handle them without importing the app that imports them."""

from __future__ import annotations

from textual.message import Message

from cockpit.store import Event


class StoreChanged(Message):
    """New events were appended (by this app's sweeps, a runner, or the CLI)."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events
        self.work_packages = {e.work_package for e in events if e.work_package}
