"""The header every screen shows: where you are, who you act as, who ingests, and the
board's counts by state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cockpit.engine.reports import pages
from cockpit.screens.context import cockpit
from cockpit.screens.keys import VIEWS
from cockpit.screens.text import STATE_STYLES, plain


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 2; background: $panel; padding: 0 1; text-wrap: nowrap;
                text-overflow: ellipsis; }
    """

    def refresh_from_app(self, view: str = "") -> None:
        app = cockpit(self)
        ws = app.ws
        line = Text(end="")
        line.append("Cockpit", style="bold #38bdf8")
        line.append("  ")
        line.append_text(plain(ws.root.name, "bold"))
        line.append(f"  tenant {ws.config.tenant}", style="#9ca3af")
        line.append("  as ", style="#9ca3af")
        line.append_text(plain(app.principal, "bold #facc15"))
        if app.readonly:
            line.append("  READ-ONLY", style="bold #ef4444")
        line.append("  · ", style="#6b7280")
        line.append_text(plain(app.ingest_label, "#4ade80" if app.ingesting else "#a78bfa"))
        if app.unstarted_lanes:  # WPs wait for agents that nobody starts
            line.append("  · ", style="#6b7280")
            line.append("agents not started: no runner", style="bold #f97316")
        # Three aggregate counts, read on the UI thread so every header is whole when drawn.
        summary = pages.board_summary(app.store, app.unstarted_lanes)
        counts, attention, rejected = summary.states, summary.attention, summary.rejected
        second = Text(end="")
        second.append(f"{summary.total} WPs ", style="bold")
        for state, style in STATE_STYLES.items():
            if counts.get(state):
                second.append(f" {state} {counts[state]} ", style=style)
        second.append("  ")
        second.append(f"attention {attention}", style="bold #f97316" if attention else "#6b7280")
        second.append("  ")
        second.append(f"rejected {rejected}", style="bold #ef4444" if rejected else "#6b7280")
        if view:
            second.append("  · ", style="#6b7280")
            second.append_text(plain(view, "#38bdf8"))
        keys = Text(" ", end="")  # one space between the keys: all five fit beside the header
        views = [(c.key, c.id) for c in VIEWS if c.action.startswith("app.open_")]
        for key, word in (*views, (":", "commands")):
            keys.append(f" {key}", style="bold #facc15")
            keys.append(f" {word}", style="#9ca3af")
        width = self.size.width or 120
        for target in (line, second):  # the view keys go where they fit
            if target.cell_len + keys.cell_len <= width - 2:
                target.append_text(keys)
                break
        self.update(Text("\n").join([line, second]))
