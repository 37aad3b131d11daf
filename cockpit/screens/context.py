"""What screens may ask of the app, typed: `cockpit(widget)` gives a widget its app as a
`Cockpit`. A Protocol rather than `CockpitApp` itself, because the app imports the screens
and a screen importing the app back would make an import cycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import get_current_worker

from cockpit.engine.workspace.layout import Workspace
from cockpit.screens.changes.drafts import Drafts
from cockpit.store import Store


class Cockpit(Protocol):
    """The part of CockpitApp that screens and dialogs use beyond Textual's App."""

    ws: Workspace
    store: Store  # the UI thread's connection; workers open their own with open_reader()
    principal: str
    readonly: bool
    clock: Callable[[], datetime]
    drafts: Drafts  # review comments being written, per WP, for the session

    @property
    def ingesting(self) -> bool: ...

    @property
    def ingest_label(self) -> str: ...

    @property
    def unstarted_lanes(self) -> tuple[str, ...]: ...

    @property
    def trust_notes(self) -> list[tuple[str, str, bool]]: ...

    @property
    def signing_label(self) -> str: ...

    @property
    def quitting(self) -> bool: ...

    def open_reader(self) -> Store: ...

    def say(self, message: str, *, title: str = "", severity: str = "information") -> None: ...

    def steady_cursors(self, screen: Screen[Any]) -> None: ...

    def refresh_status(self) -> None: ...

    def start_action(self, name: str, wp_id: str) -> None: ...

    def start_commission(self, candidate_id: str, refused: str | None = None) -> None: ...

    def open_work_package(self, wp_id: str) -> None: ...

    def open_stepper(self, wp_id: str) -> None: ...

    def run_command(self, command_id: str) -> None: ...

    def jump_to(self, text: str) -> None: ...


def cockpit(node: DOMNode) -> Cockpit:
    """The app `node` runs in, as a Cockpit (the TUI runs no other app)."""
    return cast(Cockpit, node.app)


T = TypeVar("T")


def read_then(node: DOMNode, read: Callable[[Store], T], show: Callable[[T], None]) -> None:
    """From a worker thread: `read` on a connection of its own, then `show` the plain result
    on the UI thread, unless the worker was superseded, `node` has gone or the app quits."""
    app = cockpit(node)
    try:
        store = app.open_reader()
        try:
            result = read(store)
        finally:
            store.close()
    except Exception as exc:  # a failed read is said, never fatal
        if not app.quitting:
            node.app.call_from_thread(app.say, f"reading the store failed: {exc}", severity="error")
        return
    if get_current_worker().is_cancelled or app.quitting:
        return

    def shown() -> None:
        if node.is_attached:
            show(result)

    node.app.call_from_thread(shown)
