"""`cockpit deliver WP [--via merge|push|pr]` (SPEC 11.3): the owner's signed action that
takes a complete WP's verified head to where it belongs.

The order: the acting principal's `deliver` capability; the plan (what would happen, or
why not: not complete, vetoed, no head accepted since the last admitting gate run, an
override since, delivered already...); the signed action, whose document's `args` name
the `head` delivered and the `base` (branch and tip) expected, checked as every action's
is (10.1: a refused signature, or args that are not this delivery's, record nothing);
then, for any other refusal, `delivery_refused {via, reason}` carrying that signature.
The base must still be at the signed tip when the delivery starts (the merge queue's one
start-over on a base that moved during validation is recorded as `base_sha`, the tip it
landed on, beside the signed `expected_base_sha`). Everything that can be checked is
checked before the first change (the base advanced, a branch pushed); right before it the
WP is re-checked (a veto or an override meanwhile refuses) and the runner writes a signed
checkpoint of the record so far (10.4); after it, the provenance attestation, then
`delivered`, signed as the action. Deliveries of one workspace run one at a time (a lock
under `.cockpit/`), so a WP is delivered once.

What a refusal may leave: a refusal after the checkpoint (the base moved twice, git's or
the remote's own refusal of the update) leaves that `checkpoint_created` before its
`delivery_refused`; a `pr` whose `gh pr create` fails after the push leaves the branch on
the remote, and its `delivery_refused` says so (`pushed`), so a later `--via pr` (or
`push`) finds it there and delivers it. An interrupt (`stop`, set by the CLI on SIGTERM or
SIGINT) refuses at the next step before the first change; after it, the delivery is
finished and recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cockpit.domain import Capability, EventType
from cockpit.engine.delivery import body, facts, provenance
from cockpit.engine.delivery import merge as merge_queue
from cockpit.engine.delivery import push as pushing
from cockpit.engine.delivery.plan import Plan, branch_tip, chosen_via, deliverable, plan
from cockpit.engine.repo import gitops, verified, worktrees
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.text import literal
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.trust import checkpoints
from cockpit.engine.trust.attestation import attestation_path
from cockpit.engine.trust.keys import HeldKey
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import NotFound, Refused
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow

ACTION = "deliver"


@dataclass(frozen=True)
class Delivered:
    """A delivery done: its `delivered` event, the plan it carried out, the attestation
    written (None without a runner key) and the checkpoint written before it."""

    event: Event
    plan: Plan
    attestation: Path | None
    checkpoint: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.event.to_json()


def action_args(via: str, planned: Plan | None) -> dict[str, Any]:
    """What the signed `deliver` action names: the way, the head it delivers and the base
    it expects (branch and tip)."""
    return {
        "via": via,
        "head": planned.head if planned else None,
        "base": planned.base if planned else None,
        "base_sha": planned.base_sha if planned else None,
    }


@contextlib.contextmanager
def _one_at_a_time(ws: Workspace) -> Iterator[None]:
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(ws.state_dir / "delivery.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _require(ws: Workspace, by: str) -> None:
    if by not in ws.config.principals:
        raise Refused(f"{by} is not a principal of this workspace")
    if not ws.config.has(by, Capability.DELIVER):
        raise Refused(f"{by} lacks the {Capability.DELIVER.value} capability")


def deliver(
    ws: Workspace,
    store: Store,
    wp_id: str,
    by: str,
    via: str | None = None,
    sign: trust_actions.Sign | None = None,
    stop: threading.Event | None = None,
) -> Delivered:
    """Deliver the complete WP `wp_id` by `via` (default: the config's) as `by`. Returns
    what was done. Raises NotFound, InputError (an unknown `via`), ConfigError (signatures
    required and no runner key), or Refused in one sentence: the capability or the
    signature (nothing recorded), or the delivery itself (`delivery_refused` recorded,
    nothing else changed). `stop` set (the CLI sets it on SIGTERM or SIGINT) refuses the
    delivery at the next step before anything changes (a validation command is killed)."""
    _require(ws, by)
    wp = store.work_package(wp_id)
    if wp is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    chosen = chosen_via(ws, wp, via)
    with _one_at_a_time(ws):
        try:
            planned: Plan | None = plan(ws, store, wp_id, chosen)
            problem = None
        except Refused as exc:
            planned, problem = None, str(exc)
        args = action_args(chosen, planned)
        signed = trust_actions.sign_with(ws, store, sign, ACTION, wp_id, args, by)
        _same_args(signed, args)
        signature = trust_actions.check(ws, store, signed, ACTION, wp_id, args, by)
        refuse = _Refusal(store, wp_id, by, args, signature)
        if planned is None:
            refuse(problem or "the delivery cannot be planned")
        # Only now, the action being the owner's: put back a verified ref that went missing.
        _keep_verified_refs(ws, store, wp)
        return _carry_out(ws, store, wp, planned, refuse, stop)


def _same_args(signed: trust_actions.SignedAction | None, args: dict[str, Any]) -> None:
    """Refuse (nothing recorded) a signed document whose args are not this delivery's,
    naming the first that differs: it confirmed another head, base or way."""
    theirs = signed.document.get("args") if signed is not None else args
    if theirs == args:
        return
    if not isinstance(theirs, dict):
        raise Refused("the signed delivery names no head, base or way to deliver")
    for key, what in (
        ("head", "head"),
        ("base", "base branch"),
        ("base_sha", "base tip"),
        ("via", "way"),
    ):
        if theirs.get(key) != args.get(key):
            raise Refused(
                f"the signed delivery names the {what} {literal(theirs.get(key))}, but it is "
                f"{literal(args.get(key))} now, so nothing was done: confirm it again"
            )
    raise Refused("the signed delivery's args are not this delivery's: confirm it again")


def _keep_verified_refs(ws: Workspace, store: Store, wp: WorkPackageRow) -> None:
    """Put back a missing refs/cockpit/verified/ ref, so the head delivered is kept."""
    if not wp.get("target_repo"):
        return
    with contextlib.suppress(GitError, OSError):
        verified.keep_refs(worktrees.target_repo_path(ws, wp), store, wp["id"])


@dataclass(frozen=True)
class _Refusal:
    """Records `delivery_refused` (signed as the action) and raises Refused."""

    store: Store
    wp_id: str
    by: str
    args: dict[str, Any]
    signature: dict[str, Any]

    def __call__(self, reason: str, **more: Any) -> NoReturn:
        self.record(reason, **more)
        raise Refused(reason)

    def record(self, reason: str, **more: Any) -> None:
        payload: dict[str, Any] = {"via": self.args["via"], "reason": reason}
        payload.update({k: self.args[k] for k in ("head", "base") if self.args.get(k)})
        payload.update(more)
        payload["signature"] = dict(self.signature)
        with self.store.transaction():
            self.store.append(
                NewEvent(EventType.DELIVERY_REFUSED, self.wp_id, self.by, None, payload)
            )


class _Record:
    """Right before the first change: the WP re-checked (a veto, an override or another
    delivery since the plan refuses it; so does `stop`), then the checkpoint written once,
    and the seq range of the WP's record it covers."""

    def __init__(
        self, ws: Workspace, store: Store, wp: WorkPackageRow, stop: threading.Event | None
    ) -> None:
        self.ws, self.store, self.wp, self.stop = ws, store, wp, stop
        self.held: HeldKey | None = checkpoints.signing_key(ws, store, needed=False)
        self.audit: dict[str, Any] = {}
        self.known = len(facts.deliveries(store, wp["id"]))

    def recheck(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise Refused(
                "the delivery was stopped (by a signal) before anything was changed, so "
                "nothing was changed"
            )
        wp_id = self.wp["id"]
        now = self.store.work_package(wp_id)
        problem = deliverable(self.store, now) if now is not None else f"{wp_id} is gone"
        if problem is None and len(facts.deliveries(self.store, wp_id)) != self.known:
            problem = f"{wp_id} was delivered meanwhile"
        if problem is not None:
            raise Refused(f"{wp_id} changed while it was being delivered: {problem}")

    def ready(self) -> None:
        self.recheck()
        self.write()
        self.recheck()  # the last word before the change: a veto may have landed meanwhile

    def write(self) -> None:
        if self.audit:
            return
        last = self.store.find_events(work_package=self.wp["id"], limit=1)
        document = checkpoints.write(self.ws, self.store, self.held)
        note = document.get("note")
        self.audit = {
            "first_seq": self.wp["booked_seq"],
            "last_seq": last[-1].seq if last else self.wp["last_seq"],
            "checkpoint": {
                "size": document["size"],
                "head": document["head"],
                "merkle_root": document["merkle_root"],
                "file": Path(document["file"]).name,
                "note": Path(note).name if note else None,
                "origin": document.get("origin"),
            },
        }


def _carry_out(
    ws: Workspace,
    store: Store,
    wp: WorkPackageRow,
    planned: Plan,
    refuse: _Refusal,
    stop: threading.Event | None,
) -> Delivered:
    accepted = facts.acceptance(store, wp["id"])
    assert accepted is not None and accepted.head == planned.head
    record = _Record(ws, store, wp, stop)
    shown = attestation_path(ws.state_dir, wp["id"]).relative_to(ws.root).as_posix()
    payload: dict[str, Any] = {
        "via": planned.via,
        "base": planned.base,
        "base_sha": planned.base_sha,
        "expected_base_sha": planned.base_sha,
        "head": planned.head,
        "validated": False,
    }
    pushed: pushing.Pushed | None = None
    try:
        if planned.via == "merge":
            merged = merge_queue.merge(ws, wp, planned, record.ready, stop)
            payload.update(
                base_sha=merged.base_sha,
                merge_sha=merged.merge_sha,
                validated=merged.validated,
                validation=merged.validation,
                attempts=merged.attempts,
            )
        else:
            now = _tip(planned)
            if planned.base_sha != now:
                raise merge_queue.moved_since_confirmed(planned, now)
            gh = pushing.gh_ready(planned.repo) if planned.via == "pr" else None
            pushing.check_repo_config(planned)
            theirs = pushing.check_remote_branch(planned, for_pr=gh is not None)
            record.ready()
            pushed = pushing.push(planned, theirs)
            payload.update(remote=pushed.remote, remote_ref=pushed.remote_ref)
            if gh is not None:
                text = body.pull_request_body(
                    store, wp, accepted, planned, record.audit, shown if record.held else None
                )
                title = body.pull_request_title(wp)
                payload["url"] = pushing.open_pull_request(gh, planned, title, text)
                payload["pr_head"] = pushing.pull_request_head(gh, planned, payload["url"])
                _check_pr_head(planned, payload["url"], payload["pr_head"])
    except Refused as exc:
        refuse(str(exc), **_what_changed(pushed, payload))
    except KeyboardInterrupt:
        said = _interrupted(planned, pushed, bool(record.audit))
        if said is not None:
            refuse.record(said, **_what_changed(pushed, payload))
        raise
    payload.update(audit={k: record.audit[k] for k in ("first_seq", "last_seq")})
    payload["checkpoint"] = record.audit["checkpoint"]
    written = None
    if record.held is not None:
        delivery = {k: v for k, v in payload.items() if k not in ("audit", "checkpoint")}
        try:
            written = provenance.write(ws, record.held, wp, accepted, delivery, record.audit)
        except (OSError, ValueError) as exc:  # delivered all the same: the record says so
            payload["attestation_error"] = f"the attestation could not be written ({exc})"
    payload["attestation"] = shown if written is not None else None
    payload["signature"] = dict(refuse.signature)
    with store.transaction():
        event = store.append(NewEvent(EventType.DELIVERED, wp["id"], refuse.by, None, payload))
    return Delivered(event, planned, written, record.audit["checkpoint"])


def _tip(planned: Plan) -> str | None:
    return branch_tip(planned.repo, planned.base)


def _interrupted(planned: Plan, pushed: pushing.Pushed | None, started: bool) -> str | None:
    """The refusal an interrupt (a second signal, or Ctrl-C in a program that does not
    turn it into `stop`) leaves on the record: what it knows was, or may have been,
    changed. None when a merge had already moved the base (it cannot be called refused)."""
    if planned.via == "merge":
        if _landed(planned):
            return None
        return "the delivery was interrupted before the base moved, so nothing was changed"
    if pushed is not None:
        return (
            f"the delivery was interrupted after {planned.remote_ref} was pushed to "
            f"{planned.remote}, before the pull request was opened: deliver again with --via pr"
        )
    if started:
        return (
            f"the delivery was interrupted while pushing to {planned.remote}, which may now "
            "hold the verified head: deliver again to finish and record it"
        )
    return "the delivery was interrupted before anything was pushed, so nothing was changed"


def _landed(planned: Plan) -> bool:
    """Whether a merge delivery's base already holds the head (an interrupt may come
    after the base moved and before the delivery was recorded)."""
    tip = _tip(planned)
    if planned.via != "merge" or tip is None or tip == planned.base_sha:
        return False
    try:
        return gitops.is_ancestor(planned.repo, planned.head, tip)
    except GitError:
        return False


def _check_pr_head(planned: Plan, url: str, head: str | None) -> None:
    """Refuse when GitHub says the pull request's head is another commit than the one
    pushed (its branch moved meanwhile); gh not telling is not a refusal."""
    if head is not None and head != planned.head:
        raise Refused(
            f"the pull request {literal(url)} shows head {head[:12]}, not the verified head "
            f"{planned.head[:12]} (its branch moved on {planned.remote}): close it, then "
            "deliver again"
        )


def _what_changed(pushed: pushing.Pushed | None, payload: dict[str, Any]) -> dict[str, Any]:
    """What a refusal after the push leaves (the branch on the remote, a pull request),
    so the record of the refusal says it: `pushed {remote, remote_ref, head}`, `url`."""
    if pushed is None:
        return {}
    more: dict[str, Any] = {
        "pushed": {
            "remote": pushed.remote,
            "remote_ref": pushed.remote_ref,
            "head": payload["head"],
            "new": pushed.pushed,
        }
    }
    if payload.get("url"):
        more["url"] = payload["url"]
    return more
