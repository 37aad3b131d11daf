"""What a review says about the code (SPEC 11.1, 11.2): the `head` it is about, and its
comments on lines of the change at that head.

- A review `accepted` that names a head must name the latest verified one (the head the
  WP's latest gate run measured); another verdict may name any head a gate run of the WP
  verified. Naming no head is allowed: an `accepted` review is then recorded as being
  about the latest verified head.
- Each comment's `path` must be a file of the change (at `head` when named, else the WP's
  change as `cockpit diff` shows it) and its `line` a line the diff shows on its `side`
  ("new": an added or context line; "old": a removed or context line).
- Each comment is recorded with `context`: a few lines of that side's file around the line,
  so the audit log, the lineage and the agent's resume prompt show the code without git.

Checking runs git: callers run it outside the store's transaction and check `basis` again
inside it (a new gate run in between changes what "the latest verified head" is).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.domain import Verdict
from cockpit.engine.gate.change import Change, blob_lines, change_at, change_of
from cockpit.engine.repo import verified
from cockpit.engine.repo.diff import FileDiff
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.store import Store
from cockpit.store.rows import WorkPackageRow

CONTEXT_RADIUS = 3  # lines each side of a comment's line
CONTEXT_TEXT_MAX = 300  # characters of one context line kept


class ReviewRefused(Refused):
    """The review's head or a comment does not hold (a `bad_ref` for an entry)."""


@dataclass(frozen=True)
class Reviewed:
    """A review's head and its comments as recorded (each with its `context`)."""

    head: str | None
    comments: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"head": self.head, "comments": [dict(c) for c in self.comments]}


def review_basis(store: Store, wp: WorkPackageRow) -> tuple[str, int]:
    """What a checked review depends on: the WP's state and its latest verify_completed."""
    latest = verified.latest_verified_event(store, str(wp["id"]))
    return (str(wp["state"]), latest.seq if latest else 0)


def latest_head(store: Store, wp_id: str) -> str | None:
    """The head the WP's latest gate run measured (None if it recorded none): what
    `cockpit review` names, and what a review `accepted` must name."""
    latest = verified.latest_verified_event(store, wp_id)
    head = latest.payload.get("head") if latest is not None else None
    return str(head) if head else None


def check_review(
    ws: Workspace,
    store: Store,
    wp: WorkPackageRow,
    verdict: Verdict,
    head: str | None,
    comments: list[dict[str, Any]],
) -> Reviewed:
    """The review's head and comments checked (see the module's docstring), comments with
    their context. Raises ReviewRefused with one sentence; Refused if git fails."""
    wp_id = str(wp["id"])
    latest = latest_head(store, wp_id)
    named = head.lower() if head else None
    if named is not None and verdict is Verdict.ACCEPTED and named != latest:
        said = f"the latest verified head of {wp_id} is {latest}" if latest else (
            f"no verify of {wp_id} measured a head"
        )  # fmt: skip
        raise ReviewRefused(
            f"the review accepts head {named}, but {said}: an acceptance names what the gate "
            "verified last"
        )
    if named is not None and named not in {v.head for v in verified.verified_heads(store, wp_id)}:
        raise ReviewRefused(
            f"head {named} is not a head any verify of {wp_id} measured (name it in full)"
        )
    # An acceptance is about the latest verified head, named or not.
    target = named or (latest if verdict is Verdict.ACCEPTED else None)
    if not comments:
        return Reviewed(target)
    change = change_at(ws, store, wp, target) if target else change_of(ws, store, wp)
    kept = [_comment(change, dict(comment)) for comment in comments]
    return Reviewed(target or change.head, kept)


def _comment(change: Change, comment: dict[str, Any]) -> dict[str, Any]:
    path, line = str(comment.get("path")), int(comment.get("line") or 0)
    side = str(comment.get("side") or "new")
    where = f"{path}:{line}" + (" (old side)" if side == "old" else "")
    found = change.file(path)
    if found is None:
        at = f"head {change.head[:12]}" if change.head else "its worktree"
        raise ReviewRefused(
            f"the comment on {where} is not on a file of the change of {change.work_package} "
            f"(at {at})"
        )
    if found.binary:
        raise ReviewRefused(f"the comment on {where} is on a binary file, which has no lines")
    if side not in ("new", "old") or not found.shows(line, side):
        raise ReviewRefused(
            f"the comment on {where} is not on a line the diff shows on its {side} side "
            "(an added, removed or context line)"
        )
    return {
        "path": found.path if side == "new" or not found.old_path else found.old_path,
        "line": line,
        "side": side,
        "text": str(comment.get("text") or ""),
        "context": context(change, found, line, side),
    }


def context(change: Change, found: FileDiff, line: int, side: str) -> list[dict[str, Any]]:
    """Up to CONTEXT_RADIUS lines each side of `line` of that side's file, each clipped."""
    lines = blob_lines(change.where, found.new_blob if side == "new" else found.old_blob)
    first = max(line - CONTEXT_RADIUS, 1)
    last = min(line + CONTEXT_RADIUS, len(lines))
    return [{"line": n, "text": _clipped(lines[n - 1])} for n in range(first, last + 1)]


def _clipped(text: str) -> str:
    return text if len(text) <= CONTEXT_TEXT_MAX else text[:CONTEXT_TEXT_MAX] + " […]"
