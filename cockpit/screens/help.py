"""Keys and commands, from the same table the bindings and the palette use (with
--readonly, without the actions)."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from cockpit.screens.context import cockpit
from cockpit.screens.keys import CHANGES, TRANSCRIPT, VIEWS, WP_ACTIONS, WP_TABS, offered

KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "colon": ":",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}

NAVIGATION = [
    ("enter", "open the selected work package"),
    ("esc", "back (or clear the filter)"),
    ("↑ ↓ j k", "move"),
    ("g / G", "first / last"),
    ("n / p", "next / previous step (lineage stepper)"),
    ("G on transcript", "last row, and follow a live agent again"),
    ("V", "verify the chain again (audit screen)"),
    ("/ on audit", "filter events: type:T[,T] principal:P wp:W"),
    ("m on canon", "commission the selected candidate (after a confirmation)"),
    ("n / p in a diff", "next / previous hunk (Changes tab); ← → scroll the diff sideways"),
    ("del on a draft", "delete the draft comment (Changes tab; enter edits it)"),
    ("/ on canon", "search canon: every word must occur; empty lists all"),
    (":WP-0003 enter", "open that work package"),
    (
        ":audit enter",
        "open a screen: audit, metrics, doctor, simulation, rejected, canon, board, help, quit",
    ),
    ("ctrl+s", "submit a dialog"),
    ("q", "quit"),
]
READONLY_NOTE = "--readonly: the actions (dispatch, verify, override, ...) are not available"


def keys_table(readonly: bool = False) -> Table:
    table = Table(expand=True, show_edge=False)
    table.add_column("key", style="bold #facc15", no_wrap=True)
    table.add_column("does")
    if readonly:
        table.add_row("", READONLY_NOTE, style="#ef4444")
    for command in offered([*WP_ACTIONS, *WP_TABS, *VIEWS, *TRANSCRIPT, *CHANGES], readonly):
        table.add_row(KEY_NAMES.get(command.key, command.key), f"{command.title}: {command.help}")
    for key, does in NAVIGATION:
        table.add_row(key, does)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "close", id="cockpit.help.close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Cockpit keys", classes="dialog-title")
            with VerticalScroll():
                yield Static(keys_table(cockpit(self).readonly))

    def action_close(self) -> None:
        if self.app.screen is self:
            self.dismiss(None)
