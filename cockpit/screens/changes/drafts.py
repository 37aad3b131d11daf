"""Review comments being written (SPEC 11.2): drafts, one per line of the change, kept per
work package by the app for the session (they survive leaving the WP's screen, not the
app). Submitting the review sends them with the verdict as one signed action
(screens/actions.py); a successful review clears those it carried. Nothing here is
recorded or signed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def place(path: str, line: int, side: str | None) -> str:
    """`path:line`, and `(old)` for a removed line."""
    return f"{path}:{line}" + (" (old)" if side == "old" else "")


def summary(text: str, escape: Callable[[str], str]) -> str:
    """A comment's first line, escaped, and `…` when more follows."""
    first, _, more = text.partition("\n")
    return escape(first) + (" …" if more.strip() else "")


@dataclass(frozen=True)
class Draft:
    """A comment on line `line` of side `side` of file `path` of the change (SPEC 11.2's
    coordinates: `new` for an added or context line, `old` for a removed one), with the
    line's text as the diff showed it (for lists; never sent)."""

    path: str
    line: int
    side: str
    text: str
    code: str = ""

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.path, self.line, self.side)

    @property
    def where(self) -> str:
        return place(self.path, self.line, self.side)

    def comment(self) -> dict[str, Any]:
        """The review body's comment (`path`, `line`, `side`, `text`)."""
        return {"path": self.path, "line": self.line, "side": self.side, "text": self.text}


class Drafts:
    """The session's drafts, per work package, with the head of the change they were
    written on (the review names it)."""

    def __init__(self) -> None:
        self._drafts: dict[str, dict[tuple[str, int, str], Draft]] = {}
        self._heads: dict[str, str | None] = {}
        self._seen: dict[str, str | None] = {}

    def of(self, wp_id: str) -> list[Draft]:
        """The WP's drafts in the order of the change: by path, side, line."""
        found = self._drafts.get(wp_id, {})
        return [found[key] for key in sorted(found, key=lambda k: (k[0], k[2] != "new", k[1]))]

    def count(self, wp_id: str) -> int:
        return len(self._drafts.get(wp_id, {}))

    def get(self, wp_id: str, path: str, line: int, side: str) -> Draft | None:
        return self._drafts.get(wp_id, {}).get((path, line, side))

    def put(self, wp_id: str, draft: Draft, head: str | None) -> None:
        """Add or replace the draft on its line. The first draft of a WP fixes the head
        its drafts are about (the change as the Changes tab showed it)."""
        found = self._drafts.setdefault(wp_id, {})
        if not found:
            self._heads[wp_id] = head
        found[draft.key] = draft

    def remove(self, wp_id: str, key: tuple[str, int, str]) -> None:
        found = self._drafts.get(wp_id, {})
        found.pop(key, None)
        if not found:
            self._drafts.pop(wp_id, None)
            self._heads.pop(wp_id, None)

    def submitted(self, wp_id: str, comments: list[dict[str, Any]]) -> None:
        """A review carried `comments`: drop the drafts it sent (a draft changed since
        stays)."""
        for comment in comments:
            key = (str(comment["path"]), int(comment["line"]), str(comment["side"]))
            draft = self.get(wp_id, *key)
            if draft is not None and draft.text == comment["text"]:
                self.remove(wp_id, key)

    def head(self, wp_id: str) -> str | None:
        """The head the WP's drafts were written on, else the head of the change the
        Changes tab showed last (None: not shown, or content never verified as it is)."""
        if wp_id in self._drafts:
            return self._heads.get(wp_id)
        return self._seen.get(wp_id)

    def saw(self, wp_id: str, head: str | None) -> None:
        """The Changes tab shows the WP's change at `head`."""
        self._seen[wp_id] = head
