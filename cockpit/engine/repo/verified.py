"""Verified heads (SPEC 11.1: "what was verified is what is accepted and delivered").

Every gate run on a WP with a target repo measures a commit: the worktree's HEAD when its
tree is exactly the worktree's content, else a new commit (Cockpit's identity) on top of
it that holds that content. `verify_completed` records it (`head`, `tree`), and it is kept
alive in the target repo under `refs/cockpit/verified/<WP>/<seq>` (`<seq>`: the
`verify_started` event's). The record is the authority: the ref only keeps the commit from
git's garbage collection, and `keep_refs` puts back a ref that is missing or was moved.

A review `accepted` must name the latest verified head; `deliver` takes the verified head
at acceptance (`verified_head_at_acceptance`), never the branch's tip.
"""

from __future__ import annotations

from dataclasses import dataclass

from cockpit.domain import EventType
from cockpit.engine.repo import gitops
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.repo.worktrees import COCKPIT_IDENTITY
from cockpit.store import Event, Store

REF_PREFIX = "refs/cockpit/verified"


def ref_name(wp_id: str, seq: int) -> str:
    """The ref that keeps the head measured by the gate run whose verify_started is `seq`."""
    return f"{REF_PREFIX}/{wp_id}/{seq}"


def measure(tree: gitops.Where, base: str, content: str, wp_id: str) -> str:
    """The commit holding `content` (the worktree's content tree, content.changes): HEAD
    itself when HEAD descends from `base` and its tree is `content`; else a new commit
    holding `content` whose parent is HEAD (or `base`, when HEAD does not descend from it:
    delivering a commit that is not ahead of the base would deliver nothing). Writes a
    commit object, never a ref. Raises GitError."""
    head = gitops.rev(tree, "HEAD")
    ahead = gitops.is_ancestor(tree, base, head)
    if ahead and gitops.tree_of(tree, head) == content:
        return head
    message = f"Cockpit: the content of {wp_id} as the verify gate measured it"
    return gitops.run(
        tree,
        "commit-tree",
        content,
        "-p",
        head if ahead else base,
        "-m",
        message,
        extra_env=COCKPIT_IDENTITY,
    ).strip()


def record_ref(tree: gitops.Where, wp_id: str, seq: int, head: str) -> None:
    """Point refs/cockpit/verified/<WP>/<seq> at `head`. Raises GitError."""
    gitops.run(tree, "update-ref", "--no-deref", ref_name(wp_id, seq), head)


@dataclass(frozen=True)
class Verified:
    """A gate run's measured content: its `verify_completed` seq and outcome, the head
    commit and tree it measured, and the ref that keeps the head (`verified_ref`)."""

    seq: int
    outcome: str
    head: str
    tree: str
    ref: str


def _verified(events: list[Event]) -> list[Verified]:
    found = []
    started = 0
    for event in events:
        if event.type == EventType.VERIFY_STARTED:
            started = event.seq
        elif event.type == EventType.VERIFY_COMPLETED and event.payload.get("head"):
            payload = event.payload
            found.append(
                Verified(
                    event.seq,
                    str(payload.get("outcome")),
                    str(payload["head"]),
                    str(payload.get("tree") or ""),
                    str(payload.get("verified_ref") or ref_name(str(event.work_package), started)),
                )
            )
    return found


def verified_heads(store: Store, wp_id: str) -> list[Verified]:
    """Every head the WP's gate runs measured, oldest first."""
    return _verified(store.events(wp_id))


def latest_verified(store: Store, wp_id: str) -> Verified | None:
    """The head the WP's latest gate run measured (None if none recorded one)."""
    found = verified_heads(store, wp_id)
    return found[-1] if found else None


def latest_verified_event(store: Store, wp_id: str) -> Event | None:
    """The WP's latest `verify_completed`, whether or not it recorded a head."""
    found = store.find_events(work_package=wp_id, types=(EventType.VERIFY_COMPLETED,))
    return found[-1] if found else None


def verified_at_acceptance(store: Store, wp_id: str) -> Verified | None:
    """The head accepted by a review (`task_completed`) after the WP's last gate run, when
    that run admitted it (outcome success, a head recorded), with no override since: an
    override after the gate run or after the acceptance voids it (a WP reopened, or moved
    to complete, by an override has no verified head at acceptance). None if none stands."""
    return at_acceptance(store.events(wp_id))


def at_acceptance(events: list[Event]) -> Verified | None:
    """`verified_at_acceptance` of the WP whose events (oldest first) are `events`."""
    measured = {v.seq: v for v in _verified(events)}
    admitted: Verified | None = None
    accepted: Verified | None = None
    for event in events:
        if event.type == EventType.VERIFY_COMPLETED:
            found = measured.get(event.seq)
            admitted = found if found is not None and found.outcome == "success" else None
        elif event.type == EventType.OVERRIDE_APPLIED:
            admitted = accepted = None
        elif event.type == EventType.TASK_COMPLETED:
            accepted = admitted
    return accepted


def verified_head_at_acceptance(store: Store, wp_id: str) -> str | None:
    """The full commit sha that `deliver` delivers: see `verified_at_acceptance`."""
    found = verified_at_acceptance(store, wp_id)
    return found.head if found else None


def keep_refs(tree: gitops.Where, store: Store, wp_id: str) -> list[str]:
    """Put back every refs/cockpit/verified/<WP>/<seq> the record names that is missing or
    points elsewhere (the ref is made after the gate's transaction, so a crash can leave
    it out; an agent outside a sandbox could move it). Returns the refs written; a head
    whose commit is gone is skipped. Never raises for one ref."""
    written = []
    listed = gitops.run(
        tree, "for-each-ref", "--format=%(refname) %(objectname)", f"{REF_PREFIX}/{wp_id}/"
    )
    now = dict(line.split(" ", 1) for line in listed.splitlines() if " " in line)
    for found in verified_heads(store, wp_id):
        if now.get(found.ref) == found.head or not found.ref.startswith(f"{REF_PREFIX}/"):
            continue
        try:
            gitops.run(tree, "update-ref", "--no-deref", found.ref, found.head)
        except GitError:
            continue
        written.append(found.ref)
    return written
