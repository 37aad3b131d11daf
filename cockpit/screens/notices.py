"""Telling the owner in the TUI when a new event needs them (issue 12): which events do is
the engine's `needs_owner`, filtered by `notify.reasons`; this words the notification. The app
rings the bell too when `notify.bell` is on (cockpit.yaml).

Only events appended after the app opened are looked at (the app follows the store from
the sequence number it opened at), whoever recorded them: its own sweeps, a `cockpit run`
in another process, the CLI; except the acting principal's own (a verify run from this
TUI shows its result already). Titles and error texts may be an agent's: the app shows
these sentences as plain text.
"""

from __future__ import annotations

from collections.abc import Iterable

from cockpit.engine.runner.notify import message, needs_owner
from cockpit.engine.text import clip
from cockpit.store import Event, Store

REASONS = {
    "scope_waiting": "its scope is confirmed and waits for your go",
    "claim_withheld": "the gate withheld its claim",
    "agent_failed": "its agent failed",
    "agent_timed_out": "its agent timed out",
    "monitor_flagged": "the progress monitor flagged it",
}
SEPARATE = 3  # more notices than this at once are said in one notification
TITLE_MAX = 60


def sentence(event: Event, reason: str, store: Store) -> str:
    """`WP-1 needs you: its agent failed (cli_failed) · Add pagination`."""
    document = message(event, reason, store)
    payload = event.payload
    text = f"{event.work_package or 'a work package'} needs you: {REASONS.get(reason, reason)}"
    if reason == "claim_withheld":
        why = str(payload.get("outcome"))
        if payload.get("blocking_predicate"):
            why += f": {payload['blocking_predicate']}"
        text += f" ({why})"
    elif reason in ("agent_failed", "monitor_flagged") and payload.get("reason"):
        text += f" ({payload['reason']})"
    if document.get("title"):
        text += f" · {clip(str(document['title']), TITLE_MAX)}"
    return text


def notices(
    events: Iterable[Event], store: Store, wanted: Iterable[str], me: str | None = None
) -> list[str]:
    """The notifications `events` call for (`wanted`: `notify.reasons`), leaving out those
    `me` recorded; a burst of more than SEPARATE is one notification naming each work
    package and reason."""
    on = set(wanted)
    found: list[tuple[str, str, str]] = []
    for event in events:
        if me is not None and event.principal == me:
            continue  # what you did yourself, you know
        reason = needs_owner(event, store)
        if reason is not None and reason in on:
            found.append((event.work_package or "-", reason, sentence(event, reason, store)))
    if len(found) <= SEPARATE:
        return [text for _, _, text in found]
    named = ", ".join(f"{wp} ({reason.replace('_', ' ')})" for wp, reason, _ in found)
    return [f"{len(found)} work packages need you: {named}"]
