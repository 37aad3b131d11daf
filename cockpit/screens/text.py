"""Rendering helpers: untrusted text as literal Rich Text, state badges, ages."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from cockpit.engine.text import literal

STATE_STYLES = {
    "booked": "bold #9ca3af",
    "dispatched": "bold #60a5fa",
    "scope_confirmed": "bold #38bdf8",
    "in_progress": "bold #22d3ee",
    "claimed": "bold #facc15",
    "verifying": "bold #fbbf24",
    "accepted": "bold #4ade80",
    "complete": "bold #22c55e",
    "blocked": "bold #f97316",
    "recovering": "bold #c084fc",
    "failed": "bold #ef4444",
    "rolled_back": "bold #a78bfa",
    "cancelled": "#6b7280",
}

OUTCOME_STYLES = {
    "success": "#4ade80",
    "blocked": "#f97316",
    "failed": "#ef4444",
    "skipped": "#9ca3af",
}

STATUS_STYLES = {
    "satisfied": "#4ade80",
    "unsatisfied": "bold #f97316",
    "not_applicable": "#6b7280",
    "error": "bold #ef4444",
}


def plain(value: object, style: str = "", *, keep_newlines: bool = False) -> Text:
    """Untrusted text as a Rich Text that renders exactly what was written: no markup,
    no escape sequences, no bidi reordering."""
    return Text(literal(value, keep_newlines=keep_newlines), style=style, end="")


def badge(state: str | None) -> Text:
    name = state or "-"
    return Text(f" {name} ", style=STATE_STYLES.get(name, "") + " reverse" if state else "")


def outcome(value: str | None, blocking: str | None = None) -> Text:
    if not value:
        return Text("-", style="#6b7280")
    text = Text(value, style=OUTCOME_STYLES.get(value, ""))
    if blocking:
        text.append(f" · {blocking}", style="#9ca3af")
    return text


def age(created: str | None, now: datetime) -> str:
    """'3d', '5h', '12m', 'now' since `created` (RFC 3339)."""
    if not created:
        return "-"
    try:
        then = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return "-"
    seconds = int((now - then).total_seconds())
    if seconds < 60:
        return "now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"
