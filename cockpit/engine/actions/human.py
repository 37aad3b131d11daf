"""Human actions (SPEC 4, 8): each is one engine function that the CLI calls and the TUI
will call. Every action checks the acting principal's capability and the WP's state, then
appends its events in one transaction. A refused action raises Refused (exit 1) naming the
missing capability or the state; a bad argument raises InputError (exit 2).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cockpit.domain import Capability, EventType, Mode, State, Verdict
from cockpit.engine.actions.preconditions import move, no_duty_conflict
from cockpit.engine.actions.preconditions import require as require
from cockpit.engine.actions.rollback import rollback as rollback  # an action with its own module
from cockpit.engine.entries.models import ReviewComment
from cockpit.engine.gate.review_comments import Reviewed, check_review, review_basis
from cockpit.engine.gate.verification import GateRun, run_gate
from cockpit.engine.lifecycle.effects import (
    DUTY_VERDICTS,
    ProblemKind,
    answer_edges,
    dispatch_target_problem,
    review_events,
    veto_lift_problem,
)
from cockpit.engine.lifecycle.transitions import REVIEW_TRIGGERS, Trigger
from cockpit.engine.lifecycle.transitions import override as lifecycle_override
from cockpit.engine.repo.worktrees import acceptance_basis, acceptance_proof
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import InputError, NotFound, Refused
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow


def resolve_principal(
    ws: Workspace, as_option: str | None, env: Mapping[str, str] | None = None
) -> str:
    """The acting principal: `--as`, else $COCKPIT_PRINCIPAL, else `operator` from config.
    Raises Refused if it is not declared in cockpit.yaml."""
    env = os.environ if env is None else env
    if as_option is not None:
        principal = as_option
    elif env.get("COCKPIT_PRINCIPAL") is not None:
        principal = env["COCKPIT_PRINCIPAL"]
    else:
        principal = ws.config.operator
    if principal not in ws.config.principals:
        raise Refused(f"{principal!r} is not a principal of this workspace")
    return principal


def _text(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise InputError(f"{what} is required and must not be empty")
    return value.strip()


Build = Callable[[WorkPackageRow], list[NewEvent]]


@dataclass(frozen=True)
class Act:
    """What a person does, as its signature names it (SPEC 10.1): the action, its
    arguments and who does it, with the signer that signs it (None: unsigned)."""

    name: str
    args: dict[str, Any]
    by: str
    sign: trust_actions.Sign | None = None


def _act(ws: Workspace, store: Store, wp_id: str, build: Build, act: Act) -> list[Event]:
    """Sign the action (outside the transaction), then, in one transaction, check the
    signature against the WP as it is, build the events and append them, each carrying
    the signature."""
    signed = trust_actions.sign_with(ws, store, act.sign, act.name, wp_id, act.args, act.by)
    with store.transaction():
        wp = store.work_package(wp_id)
        if wp is None:
            raise NotFound(f"no work package {wp_id} has been booked in this workspace")
        signature = trust_actions.check(ws, store, signed, act.name, wp_id, act.args, act.by)
        events = build(wp)
        for event in events:
            event.payload["signature"] = dict(signature)
        return [store.append(event) for event in events]


def dispatch(
    ws: Workspace,
    store: Store,
    wp_id: str,
    to: str,
    by: str,
    *,
    sign: trust_actions.Sign | None = None,
) -> list[Event]:
    """Dispatch the WP to principal `to` (booked or rolled_back → dispatched)."""
    require(ws, by, Capability.DISPATCH)
    _check_target(ws, to, None, wp_id)

    def build(wp: WorkPackageRow) -> list[NewEvent]:
        _check_target(ws, to, wp, wp_id)
        moved = move(wp, Trigger.DISPATCH)
        return [NewEvent(EventType.DISPATCHED, wp_id, by, None, {"to": to, "transition": moved})]

    return _act(ws, store, wp_id, build, Act("dispatch", {"to": to}, by, sign))


def _check_target(ws: Workspace, to: str, wp: WorkPackageRow | None, wp_id: str) -> None:
    problem = dispatch_target_problem(ws.config, to, wp, wp_id)
    if problem is None:
        return
    if problem.kind is ProblemKind.UNKNOWN_PRINCIPAL:
        raise InputError(problem.message)
    raise Refused(problem.message)


def recover(
    ws: Workspace,
    store: Store,
    wp_id: str,
    owner: str,
    next_action: str,
    by: str,
    error_class: str | None = None,
    sign: trust_actions.Sign | None = None,
) -> list[Event]:
    """File a recovery packet (blocked or failed → recovering) naming its owner and next
    action; it points at the verify it recovers from."""
    require(ws, by, Capability.RECOVER)
    owner = _text(owner, "a recovery owner")
    next_action = _text(next_action, "a next action")
    if owner not in ws.config.principals:
        raise InputError(f"recovery owner {owner} is not a principal of this workspace")

    def build(wp: WorkPackageRow) -> list[NewEvent]:
        moved = move(wp, Trigger.RECOVERY)
        edges = answer_edges(store.events(wp_id), "@self", is_claim=False)
        payload = {
            "recovery_owner": owner,
            "next_action": next_action,
            "error_class": error_class,
            "transition": moved,
            "edges": edges,
        }
        return [NewEvent(EventType.RECOVERY_PACKET_CREATED, wp_id, by, None, payload)]

    return _act(
        ws,
        store,
        wp_id,
        build,
        Act(
            "recover",
            {"owner": owner, "next_action": next_action, "error_class": error_class},
            by,
            sign,
        ),
    )


def review(
    ws: Workspace,
    store: Store,
    wp_id: str,
    verdict: str,
    findings: list[str],
    by: str,
    merge_sha: str | None = None,
    sign: trust_actions.Sign | None = None,
    *,
    head: str | None = None,
    comments: list[dict[str, Any]] | None = None,
) -> list[Event]:
    """Record a review verdict. `accepted` (from accepted) also completes the WP;
    `rejected` fails it and requests a rollback; `diagnostic` changes no state.

    `head` names the verified head reviewed (an `accepted` naming another than the latest
    is refused); `comments` are `{path, line, side ("new"|"old"), text}` on lines of the
    change at `head` (else of the change as `cockpit diff` shows it): a comment off the
    change is refused (SPEC 11.2). Both are in the signed action's args."""
    require(ws, by, Capability.REVIEW)
    try:
        chosen = Verdict(verdict)
    except ValueError:
        names = ", ".join(v.value for v in Verdict)
        raise InputError(f"verdict {verdict!r} is not one of: {names}") from None
    notes = review_notes(comments or [])
    if head is not None and not re.fullmatch(r"[0-9a-fA-F]{4,64}", head):
        raise InputError(f"head {head!r} is not a hexadecimal commit id")

    prepared = _prepare_acceptance(ws, store, wp_id, chosen, merge_sha)
    checked = _prepare_review(ws, store, wp_id, chosen, head, notes)

    def build(wp: WorkPackageRow) -> list[NewEvent]:
        if chosen in DUTY_VERDICTS:
            no_duty_conflict(store, wp_id, by, f"give a review '{chosen.value}'")
        payload: dict[str, Any] = {"verdict": chosen.value, "findings": list(findings)}
        if merge_sha:
            payload["merge_sha"] = merge_sha
        if prepared is not None:
            basis, proof = prepared
            if basis != acceptance_basis(store, wp):
                raise Refused(
                    f"{wp_id} changed while its admitted work was being checked: review again"
                )
            if proof is not None:
                payload["merge_proof"] = proof
        if checked is not None:
            if checked[0] != review_basis(store, wp):
                raise Refused(f"{wp_id} was verified again while the review was checked")
            payload.update(checked[1].payload())
        trigger = REVIEW_TRIGGERS.get(chosen.value)
        if trigger is not None:
            move(wp, trigger)  # refuses an illegal transition, naming the state
        return review_events(wp, chosen, by, None, payload)

    args: dict[str, Any] = {
        "verdict": chosen.value,
        "findings": list(findings),
        "merge_sha": merge_sha,
    }
    if head is not None or notes:
        args.update(head=head, comments=notes)
    return _act(ws, store, wp_id, build, Act("review", args, by, sign))


def review_notes(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comments as a review body holds them; InputError naming the first malformed one."""
    notes = []
    for comment in comments:
        try:
            notes.append(ReviewComment.model_validate(comment).model_dump(mode="json"))
        except ValueError as exc:
            first = str(exc).splitlines()[1:3]
            raise InputError(f"comment {comment!r} is malformed: {' '.join(first)}") from None
    return notes


def _prepare_review(
    ws: Workspace,
    store: Store,
    wp_id: str,
    verdict: Verdict,
    head: str | None,
    notes: list[dict[str, Any]],
) -> tuple[tuple[str, int], Reviewed] | None:
    """The review's head and comments checked before the transaction (git runs), with
    the basis they were checked on; None if the review names neither and accepts nothing."""
    if head is None and not notes and verdict is not Verdict.ACCEPTED:
        return None
    wp = store.work_package(wp_id)
    if wp is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    return review_basis(store, wp), check_review(ws, store, wp, verdict, head, notes)


def _prepare_acceptance(
    ws: Workspace, store: Store, wp_id: str, verdict: Verdict, merge_sha: str | None
) -> tuple[tuple[str, int], dict[str, Any] | None] | None:
    """For `accepted`: check the admitted work (and prove `merge_sha`) before the
    transaction, since git must not run while the store's write lock is held. Returns the
    basis the check was taken on and the merge proof; raises Refused or InputError."""
    if verdict is not Verdict.ACCEPTED:
        return None
    if merge_sha and not re.fullmatch(r"[0-9a-fA-F]{4,64}", merge_sha):
        raise InputError(f"merge_sha {merge_sha!r} is not a hexadecimal commit id")
    wp = store.work_package(wp_id)
    if wp is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    return acceptance_basis(store, wp), acceptance_proof(ws, store, wp, merge_sha)


def override(
    ws: Workspace,
    store: Store,
    wp_id: str,
    to: str,
    reason: str | None,
    by: str,
    *,
    sign: trust_actions.Sign | None = None,
) -> list[Event]:
    """Move the WP to any state. The reason is mandatory, the owner's `override` capability
    is checked, and the WP carries the `overridden` mark forever."""
    reason = _text(reason, "an override reason")
    try:
        target = State(to)
    except ValueError:
        raise InputError(
            f"state {to!r} is not one of: {', '.join(s.value for s in State)}"
        ) from None
    if target is State.VERIFYING:
        raise InputError("verifying is the gate's own passing state; override to claimed instead")
    require(ws, by, Capability.OVERRIDE)

    def build(wp: WorkPackageRow) -> list[NewEvent]:
        no_duty_conflict(store, wp_id, by, "override it")
        if wp["state"] == target.value:
            raise Refused(f"{wp_id} is already {target.value}; an override must change the state")
        moved = {"from": wp["state"], "to": lifecycle_override(State(wp["state"]), target).value}
        payload = {"reason": reason, "transition": moved}
        return [NewEvent(EventType.OVERRIDE_APPLIED, wp_id, by, None, payload)]

    return _act(
        ws, store, wp_id, build, Act("override", {"to": target.value, "reason": reason}, by, sign)
    )


def cancel(
    ws: Workspace,
    store: Store,
    wp_id: str,
    reason: str | None,
    by: str,
    *,
    sign: trust_actions.Sign | None = None,
) -> list[Event]:
    """Cancel a non-terminal WP; the reason is mandatory."""
    reason = _text(reason, "a cancel reason")
    require(ws, by, Capability.CANCEL)

    def build(wp: WorkPackageRow) -> list[NewEvent]:
        moved = move(wp, Trigger.CANCEL)
        return [
            NewEvent(
                EventType.TASK_CANCELLED, wp_id, by, None, {"reason": reason, "transition": moved}
            )
        ]

    return _act(ws, store, wp_id, build, Act("cancel", {"reason": reason}, by, sign))


def veto(
    ws: Workspace,
    store: Store,
    wp_id: str,
    reason: str | None,
    by: str,
    *,
    lift: bool = False,
    sign: trust_actions.Sign | None = None,
) -> list[Event]:
    """Raise a veto (the gate will not admit while it stands) or lift it."""
    reason = _text(reason, "a veto reason")
    require(ws, by, Capability.VETO)

    def build(wp: WorkPackageRow) -> list[NewEvent]:
        problem = veto_lift_problem(wp, lift)
        if problem is not None:
            raise Refused(problem.message)
        payload = {"active": not lift, "reason": reason}
        return [NewEvent(EventType.VETO_CHANGED, wp_id, by, None, payload)]

    return _act(ws, store, wp_id, build, Act("veto", {"reason": reason, "lift": lift}, by, sign))


def dismiss(
    ws: Workspace,
    store: Store,
    wp_id: str,
    what: str,
    reason: str | None,
    by: str,
    *,
    sign: trust_actions.Sign | None = None,
) -> list[Event]:
    """Dismiss, with a reason, an advisory (needed before a serious one lets the gate
    admit) or a progress monitor's open flag (`stall@41`: an advisory's id never holds
    an `@`)."""
    reason = _text(reason, "a dismissal reason")
    require(ws, by, Capability.DISMISS_ADVISORY)
    flag = "@" in what

    def build(wp: WorkPackageRow) -> list[NewEvent]:
        issued, payload = _open_flag(store, wp, what) if flag else _open_advisory(store, wp, what)
        edge = {"from": "@self", "to": f"{issued.type}@{issued.seq}", "rel": "dismisses"}
        payload = {**payload, "reason": reason, "edges": [edge]}
        kind = EventType.MONITOR_DISMISSED if flag else EventType.ADVISORY_DISMISSED
        return [NewEvent(kind, wp_id, by, None, payload)]

    args = {"flag" if flag else "advisory": what, "reason": reason}
    return _act(ws, store, wp_id, build, Act("dismiss", args, by, sign))


def _open_advisory(store: Store, wp: WorkPackageRow, advisory: str) -> tuple[Event, dict[str, Any]]:
    """The `advisory_issued` event of an advisory not yet dismissed, and what its
    dismissal records of it; NotFound or Refused otherwise."""
    events = store.events(wp["id"])
    issued = [
        e for e in events if e.type == EventType.ADVISORY_ISSUED and e.payload.get("id") == advisory
    ]
    if not issued:
        raise NotFound(f"{wp['id']} has no advisory {advisory}")
    if any(
        e.type == EventType.ADVISORY_DISMISSED and e.payload.get("advisory") == advisory
        for e in events
    ):
        raise Refused(f"advisory {advisory} has already been dismissed")
    return issued[-1], {"advisory": advisory, "severity": issued[-1].payload.get("severity")}


def _open_flag(store: Store, wp: WorkPackageRow, flag: str) -> tuple[Event, dict[str, Any]]:
    """The `monitor_flagged` event of a flag still open (issue 15), and what its
    dismissal records of it; NotFound or Refused otherwise."""
    raised = store.find_events(types=(EventType.MONITOR_FLAGGED,), work_package=wp["id"])
    flagged = [e for e in raised if e.payload.get("flag") == flag]
    if not flagged:
        raise NotFound(f"{wp['id']} has no flag {flag}")
    if not any(f.get("flag") == flag for f in wp.get("monitor_flags") or []):
        raise Refused(f"flag {flag} of {wp['id']} is no longer open")
    return flagged[-1], {"flag": flag}


def verify(
    ws: Workspace,
    store: Store,
    wp_id: str,
    by: str,
    mode: Mode | None = None,
    stop: threading.Event | None = None,
    *,
    sign: trust_actions.Sign | None = None,
) -> GateRun:
    """Run the gate now on a claimed WP, in the configured mode (SPEC 8); `stop` abandons
    it (unrecorded) when the caller is shutting down. The person's signed action is checked
    before any validation command runs (SPEC 10.1)."""
    chosen = mode or ws.config.runner.mode
    args = {"mode": chosen.value}
    signed = trust_actions.sign_with(ws, store, sign, "verify", wp_id, args, by)
    if store.work_package(wp_id) is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    signature = trust_actions.check(ws, store, signed, "verify", wp_id, args, by)
    return run_gate(ws, store, wp_id, by, chosen, stop, signature)
