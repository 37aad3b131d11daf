"""The header every screen shows: where you are, who you act as and which key signs, who
ingests, what the header must warn about (agents nobody starts, agents that run
unsandboxed, signatures that are optional), and the board's counts by state.

Two lines: who and where, then the counts (workspace, attention, rejected, by state) and
the view. Nothing is cut: a count goes whole on the next line when the width runs out,
each flag on the first line where it fits whole, and a third line is added only when one
of them would otherwise be cut off (a warning is never hidden by the width).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cockpit.engine.reports import pages
from cockpit.screens.context import cockpit
from cockpit.screens.keys import VIEWS
from cockpit.screens.text import STATE_STYLES, plain

SEPARATOR = ("  · ", "#6b7280")


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 2; background: $panel; padding: 0 1; text-wrap: nowrap;
                text-overflow: ellipsis; }
    """

    view = ""  # what the screen shows, kept for refreshes that do not name it

    def on_resize(self) -> None:
        # What fits on which line depends on the width: lay the flags out again.
        if self.is_attached and self.app.is_running:
            self.refresh_from_app()

    def refresh_from_app(self, view: str | None = None) -> None:
        if view is not None:
            self.view = view
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
        line.append(*SEPARATOR)
        line.append_text(plain(app.ingest_label, "#4ade80" if app.ingesting else "#a78bfa"))
        # Three aggregate counts, read on the UI thread so every header is whole when drawn.
        summary = pages.board_summary(app.store, app.unstarted_lanes)
        counts, attention, rejected = summary.states, summary.attention, summary.rejected
        # The counts, the most needed first, then the view: in order from the second line
        # on, each whole on a line (a narrow terminal gives them a third line).
        pieces = [
            Text(f"{summary.total} WPs", style="bold"),
            Text(f"attention {attention}", style="bold #f97316" if attention else "#6b7280"),
            Text(f"rejected {rejected}", style="bold #ef4444" if rejected else "#6b7280"),
        ]
        pieces += [
            Text(f"{state} {counts[state]}", style=style)
            for state, style in STATE_STYLES.items()
            if counts.get(state)
        ]
        if self.view:
            pieces.append(plain(f"· {self.view}", "#38bdf8"))
        # Before its first layout the bar has no size: the terminal's width less its
        # padding, so the header has its final height from the start (a header that grows
        # later shortens the table below it after that table scrolled).
        width = self.size.width or max(self.app.size.width - 2, 20)
        lines = [line, Text(end="")]
        for piece in pieces:
            target = lines[-1]
            gap = "  " if target.cell_len else ""
            if target.cell_len + len(gap) + piece.cell_len > width and target.cell_len:
                target, gap = Text(end=""), ""
                lines.append(target)
            target.append(gap)
            target.append_text(piece)
        # The flags, most important first; each whole on the first line with room for it.
        notes = app.trust_notes
        flags: list[tuple[Text, bool]] = []  # (flag, quiet: set off by spaces alone)
        flags += [(Text(text, style=style), False) for text, style, q in notes if not q]
        if app.unstarted_lanes:  # WPs wait for agents that nobody starts
            flags.append((Text("agents not started: no runner", style="bold #f97316"), False))
        if app.signing_label:
            flags.append((plain(app.signing_label, "#38bdf8"), False))
        flags += [(Text(text, style=style), True) for text, style, q in notes if q]
        for flag, quiet in flags:
            piece = Text("  " if quiet else SEPARATOR[0], style="" if quiet else SEPARATOR[1])
            piece.end = ""
            piece.append_text(flag)
            target = next((t for t in lines if t.cell_len + piece.cell_len <= width), None)
            if target is None:
                target = Text(end="")
                lines.append(target)
                piece = flag  # a line of its own starts with the flag, not a separator
            target.append_text(piece)
        keys = Text(" ", end="")  # one space between the keys, as many as fit the width
        views = [(c.key, c.label or c.id) for c in VIEWS if c.action.startswith("app.open_")]
        for key, word in (*views, (":", "jump")):
            keys.append(f" {key}", style="bold #facc15")
            keys.append(f" {word}", style="#9ca3af")
        for target in lines:  # the view keys go where they fit
            if target.cell_len + keys.cell_len <= width:
                target.append_text(keys)
                break
        self.styles.height = len(lines)
        self.update(Text("\n").join(lines))
