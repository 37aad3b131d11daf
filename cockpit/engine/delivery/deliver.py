"""`cockpit deliver WP [--via merge|push|pr]` (SPEC 11.3): the owner's signed action that
takes a complete WP's verified head to where it belongs.

The order: the acting principal's `deliver` capability; the plan (what would happen, or
why not); the signed action, whose document's `args` name the `head` delivered and the
`base` (branch and tip) expected, checked as every action's is (10.1: a refused signature
records nothing); then, for any other refusal, `delivery_refused {via, reason}` carrying
that signature, and nothing else changes. Before the first change (the base advanced, or
a branch pushed) the runner writes a signed checkpoint of the record so far (10.4); after
it, the provenance attestation, then `delivered`, signed as the action. Deliveries of one
workspace run one at a time (a lock under `.cockpit/`), so a WP is delivered once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cockpit.domain import Capability, EventType
from cockpit.engine.delivery import body, facts, provenance
from cockpit.engine.delivery import merge as merge_queue
from cockpit.engine.delivery import push as pushing
from cockpit.engine.delivery.plan import Plan, chosen_via, plan
from cockpit.engine.repo import verified, worktrees
from cockpit.engine.repo.gitops import GitError
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
) -> Delivered:
    """Deliver the complete WP `wp_id` by `via` (default: the config's) as `by`. Returns
    what was done. Raises NotFound, InputError (an unknown `via`), ConfigError (signatures
    required and no runner key), or Refused in one sentence: the capability or the
    signature (nothing recorded), or the delivery itself (`delivery_refused` recorded,
    nothing else changed)."""
    _require(ws, by)
    wp = store.work_package(wp_id)
    if wp is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    chosen = chosen_via(ws, wp, via)
    with _one_at_a_time(ws):
        _keep_verified_refs(ws, store, wp)
        try:
            planned: Plan | None = plan(ws, store, wp_id, chosen)
            problem = None
        except Refused as exc:
            planned, problem = None, str(exc)
        args = action_args(chosen, planned)
        signed = trust_actions.sign_with(ws, store, sign, ACTION, wp_id, args, by)
        signature = trust_actions.check(ws, store, signed, ACTION, wp_id, args, by)
        refuse = _Refusal(store, wp_id, by, args, signature)
        if planned is None:
            refuse(problem or "the delivery cannot be planned")
        return _carry_out(ws, store, wp, planned, signature, refuse)


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

    def __call__(self, reason: str) -> NoReturn:
        payload: dict[str, Any] = {"via": self.args["via"], "reason": reason}
        payload.update({k: self.args[k] for k in ("head", "base") if self.args.get(k)})
        payload["signature"] = dict(self.signature)
        with self.store.transaction():
            self.store.append(
                NewEvent(EventType.DELIVERY_REFUSED, self.wp_id, self.by, None, payload)
            )
        raise Refused(reason)


class _Record:
    """The checkpoint written right before the first change, and the seq range of the
    WP's record it covers."""

    def __init__(self, ws: Workspace, store: Store, wp: WorkPackageRow) -> None:
        self.ws, self.store, self.wp = ws, store, wp
        self.held: HeldKey | None = checkpoints.signing_key(ws, store, needed=False)
        self.audit: dict[str, Any] = {}

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
    signature: dict[str, Any],
    refuse: _Refusal,
) -> Delivered:
    accepted = facts.acceptance(store, wp["id"])
    assert accepted is not None and accepted.head == planned.head
    record = _Record(ws, store, wp)
    shown = attestation_path(ws.state_dir, wp["id"]).relative_to(ws.root).as_posix()
    payload: dict[str, Any] = {
        "via": planned.via,
        "base": planned.base,
        "base_sha": planned.base_sha,
        "head": planned.head,
        "validated": False,
    }
    try:
        if planned.via == "merge":
            merged = merge_queue.merge(ws, wp, planned, record.write)
            payload.update(
                base_sha=merged.base_sha,
                merge_sha=merged.merge_sha,
                validated=merged.validated,
                validation=merged.validation,
                attempts=merged.attempts,
            )
        else:
            gh = pushing.gh_ready(planned.repo) if planned.via == "pr" else None
            theirs = pushing.check_remote_branch(planned)
            record.write()
            pushed = pushing.push(planned, theirs)
            payload.update(remote=pushed.remote, remote_ref=pushed.remote_ref)
            if gh is not None:
                text = body.pull_request_body(
                    store, wp, accepted, planned, record.audit, shown if record.held else None
                )
                title = body.pull_request_title(wp)
                payload["url"] = pushing.open_pull_request(gh, planned, title, text)
    except Refused as exc:
        refuse(str(exc))
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
    payload["signature"] = dict(signature)
    with store.transaction():
        event = store.append(NewEvent(EventType.DELIVERED, wp["id"], refuse.by, None, payload))
    return Delivered(event, planned, written, record.audit["checkpoint"])
