"""Running the verify gate for real: gather the facts, run the validation commands, list
the changed files, check the worktree was left byte-identical, evaluate, and record
`verify_started` and `verify_completed` in one transaction.

Validation commands come only from the WP as the owner booked it; nothing an agent wrote
is executed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import Capability, EventType, Mode, State
from cockpit.engine.gate import commands, surfaces
from cockpit.engine.gate.advisory import advisory_id
from cockpit.engine.gate.facts import CommandResult, GateInput, HistoryItem, Packet
from cockpit.engine.gate.predicates import Decision, evaluate
from cockpit.engine.lifecycle.transitions import VERIFY_OUTCOME_TRIGGERS, Trigger, transition
from cockpit.engine.repo import content as repo_content
from cockpit.engine.repo import gitops, verified, worktrees
from cockpit.engine.trust.entries import booking_problem
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import NotFound, Refused
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow


def history(store: Store, wp_id: str) -> list[HistoryItem]:
    """The WP's events as the gate reads them (review verdicts lifted to the top)."""
    items = []
    for event in store.events(wp_id):
        payload = dict(event.payload)
        if event.type == EventType.REVIEW_RECORDED and "verdict" not in payload:
            payload["verdict"] = payload.get("entry", {}).get("body", {}).get("verdict")
        items.append(HistoryItem(event.seq, event.type, payload))
    return items


def current_claim(store: Store, wp_id: str) -> Packet | None:
    claims = store.entries(wp_id, "claim")
    return Packet.from_row(claims[-1]) if claims else None


def _referenced_packets(store: Store, wp_id: str, claim: Packet | None) -> dict[str, Packet]:
    packets = {row["id"]: Packet.from_row(row) for row in store.entries(wp_id)}
    if claim is not None:
        wanted = [str(r).partition("@")[0] for r in claim.body.get("evidence") or []]
        pin = claim.body.get("common_ground") or {}
        wanted += [pin["id"]] if pin.get("id") else []
        for ref in wanted:
            if ref not in packets:
                row = store.entry(ref)
                if row is not None:
                    packets[ref] = Packet.from_row(row)
    return packets


def _file_hash(root: Path, ref: str) -> str | None:
    path = (root / ref).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class GateRun:
    """A finished gate run: the decision and the events it recorded (none in dry-run)."""

    decision: Decision
    events: list[Event]
    mode: Mode

    def to_json(self) -> dict[str, Any]:
        return self.decision.to_json()


def withholds(mode: Mode, wp: WorkPackageRow, canary_labels: list[str]) -> bool:
    """True if `mode` withholds admission from this WP (SPEC 9)."""
    if mode in (Mode.DRY_RUN, Mode.SHADOW):
        return True
    if mode is Mode.CANARY:
        return not set(wp.get("labels") or []) & set(canary_labels)
    return False


def gather(
    ws: Workspace,
    store: Store,
    wp: WorkPackageRow,
    *,
    run_commands: bool,
    stop: threading.Event | None = None,
    measure_head: bool = False,
) -> GateInput:
    """Collect every fact the gate needs; run validation and list changed files. With
    `measure_head`, also write the commit holding the content measured (its verified head,
    SPEC 11.1: a commit object; the ref is made once the run is recorded)."""
    claim = current_claim(store, wp["id"])
    packets = _referenced_packets(store, wp["id"], claim)
    root = worktrees.worktree_root(ws, wp)
    body = wp.get("body") or {}
    validation: list[CommandResult] | None = None
    validation_error = changed_error = None
    changed: list[str] | None = None
    tree: str | None = None
    planted: list[str] = []
    git_dir: list[str] = []
    tip: str | None = None
    head: str | None = None
    if wp.get("target_repo"):
        if not root.is_dir():
            changed_error = f"the worktree {root} does not exist"
        else:
            try:
                where = worktrees.open_worktree(ws, store, wp)
                base = gitops.rev(where, worktrees.base_commit(ws, store, wp, root))
                content = repo_content.changes(where, base)
                # What is committed counts too (SPEC 9): the worktree's HEAD and the WP's
                # branch, which is what gets merged, even if the files on disk differ.
                branch = f"refs/heads/{worktrees.branch_name(wp['id'])}"
                committed = gitops.committed(where, base, "HEAD", branch)
                with contextlib.suppress(gitops.GitError):
                    tip = gitops.rev(where, branch)
                changed, tree = sorted(set(content.paths) | set(committed)), content.tree
                if measure_head:
                    head = verified.measure(where, base, content.tree, wp["id"])
                planted = sorted(worktrees.planted_replace_refs(store, where, wp["id"]))
                git_dir = worktrees.git_dir_changes(store, where, wp["id"])
            except Exception as exc:  # git's own errors are many; any of them is `error`
                changed_error = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
    surface_matches: tuple[list[str], list[str]] | None = None
    surface_error: str | None = None
    if changed is not None:
        owned, forbidden = body.get("owned_surfaces") or [], body.get("forbidden_surfaces") or []
        try:
            surface_matches = surfaces.classify(
                changed, owned, forbidden, budget_s=surfaces.MATCH_BUDGET_S
            )
        except surfaces.BudgetExceeded as exc:
            surface_error = str(exc)
    booked = body.get("validation_commands") or []
    if booked:
        if wp.get("target_repo") and changed_error is not None:
            # Never run commands in a worktree that is not the one made for the WP.
            validation_error = f"validation not run: {changed_error}"
        elif not run_commands:
            validation_error = "validation commands are not run in dry-run mode"
        elif ws.config.signatures_required and (
            unsigned := booking_problem(store, ws.config, wp["id"])
        ):
            validation_error = f"validation not run: {unsigned}"
        elif not root.is_dir():
            validation_error = f"the worktree {root} does not exist"
        else:
            before = commands.snapshot(root, workspace_root=root == ws.root)
            env = commands.validation_env(ws, wp["id"])
            timeout = ws.config.policy.validation_timeout_s
            box = commands.validation_sandbox(ws, wp)  # SPEC 10.3: the worktree read-only
            validation = [commands.run_command(c, root, timeout, env, stop, box) for c in booked]
            after = commands.snapshot(root, workspace_root=root == ws.root)
            changed_by_gate = commands.changed_paths(before, after)
            if changed_by_gate:
                validation_error = (
                    "verification changed the work product (it must be read-only): "
                    + ", ".join(changed_by_gate[:5])
                )
    evidence_files: dict[str, str | None] = {}
    for packet in packets.values():
        if packet.kind == "evidence":
            for item in packet.body.get("items") or []:
                if item.get("sha256"):
                    evidence_files[item["ref"]] = _file_hash(root, item["ref"])
    return GateInput(
        wp=wp,
        config=ws.config,
        claim=claim,
        packets=packets,
        history=history(store, wp["id"]),
        validation=validation,
        validation_error=validation_error,
        changed_files=changed,
        changed_error=changed_error,
        worktree_tree=tree,
        branch_tip=tip,
        verified_head=head,
        evidence_files=evidence_files,
        planted_refs=planted,
        git_dir_changes=git_dir,
        surface_matches=surface_matches,
        surface_error=surface_error,
    )


def refreshed(facts: GateInput, store: Store, wp: WorkPackageRow) -> GateInput:
    """The same gate run's facts with the WP's packets and history read again (validation
    results and changed files are kept): what the gate decides on is what is recorded."""
    claim = current_claim(store, wp["id"])
    return dataclasses.replace(
        facts,
        wp=wp,
        claim=claim,
        packets=_referenced_packets(store, wp["id"], claim),
        history=history(store, wp["id"]),
    )


class Interrupted(Refused):
    """The runner is stopping; the gate run was abandoned and nothing was recorded."""


def run_gate(
    ws: Workspace,
    store: Store,
    wp_id: str,
    verifier: str,
    mode: Mode,
    stop: threading.Event | None = None,
    signature: dict[str, Any] | None = None,
) -> GateRun:
    """Verify the WP's current claim as `verifier` in `mode`. `signature` is the signed
    action of a person who asked for this run (SPEC 10.1); the runner's own runs are signed
    by the store's runner signer.

    Returns the decision and the recorded events (nothing is recorded in dry-run). Raises
    NotFound for an unknown WP, Refused if `verifier` lacks `verify` or the WP is not in
    `claimed` (or changed while the gate ran).
    """
    wp = store.work_package(wp_id)
    if wp is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    if verifier not in ws.config.principals:
        raise Refused(f"{verifier} is not a principal of this workspace")
    if not ws.config.has(verifier, Capability.VERIFY):
        raise Refused(f"{verifier} lacks the verify capability")
    if wp["state"] != State.CLAIMED:
        raise Refused(f"{wp_id} is {wp['state']}; the gate runs only on a claimed work package")
    started = time.monotonic()
    live = mode is not Mode.DRY_RUN
    facts = gather(ws, store, wp, run_commands=live, stop=stop, measure_head=live)
    if stop is not None and stop.is_set():
        raise Interrupted(f"the gate run on {wp_id} was abandoned: the runner is stopping")
    withhold = withholds(mode, wp, ws.config.runner.canary_labels)
    decision = evaluate(facts, withhold=withhold)
    duration = int((time.monotonic() - started) * 1000)
    if mode is Mode.DRY_RUN:
        return GateRun(decision, [], mode)
    with store.transaction():
        now = store.work_package(wp_id)
        claim_now = current_claim(store, wp_id)
        if (
            now is None
            or now["state"] != State.CLAIMED
            or ((claim_now.id if claim_now else None) != (facts.claim.id if facts.claim else None))
        ):
            raise Refused(f"{wp_id} changed while the gate ran; verify it again")
        if now["last_seq"] != wp["last_seq"]:  # e.g. a veto or a dismissal landed meanwhile
            facts = refreshed(facts, store, now)
            withhold = withholds(mode, now, ws.config.runner.canary_labels)
            decision = evaluate(facts, withhold=withhold)
        verifying = transition(State.CLAIMED, Trigger.VERIFY_START)
        started_event = store.append(
            NewEvent(
                EventType.VERIFY_STARTED,
                wp_id,
                verifier,
                None,
                {
                    "claim": facts.claim.id if facts.claim else None,
                    "mode": mode.value,
                    "transition": {"from": State.CLAIMED.value, "to": verifying.value},
                    **({"signature": dict(signature)} if signature is not None else {}),
                },
            )
        )
        target = transition(verifying, VERIFY_OUTCOME_TRIGGERS[decision.outcome.value])
        ref = verified.ref_name(wp_id, started_event.seq) if facts.verified_head else None
        completed = store.append(
            NewEvent(
                EventType.VERIFY_COMPLETED,
                wp_id,
                verifier,
                None,
                {
                    **_completed_payload(facts, decision, mode, verifier, duration, target),
                    "verified_ref": ref,
                    **({"signature": dict(signature)} if signature is not None else {}),
                },
            )
        )
    if ref is not None and facts.verified_head:
        # After the transaction (git never runs under the write lock). Should this fail,
        # the event still names the commit and readers put the ref back (keep_refs).
        with contextlib.suppress(gitops.GitError, OSError):
            verified.record_ref(
                worktrees.target_repo_path(ws, wp), wp_id, started_event.seq, facts.verified_head
            )
    return GateRun(decision, [started_event, completed], mode)


def _completed_payload(
    facts: GateInput, decision: Decision, mode: Mode, verifier: str, duration: int, target: State
) -> dict[str, Any]:
    claim = facts.claim
    pin = (claim.body.get("common_ground") if claim else None) or {}
    ground = facts.packets.get(pin.get("id", "")) if pin else None
    evidence = []
    for raw in (claim.body.get("evidence") or []) if claim else []:
        packet = facts.packets.get(str(raw).partition("@")[0])
        evidence.append(
            {"id": str(raw).partition("@")[0], "sha256": packet.sha256 if packet else None}
        )
    document = decision.to_json()
    return {
        **document,
        "claim": {"id": claim.id, "sha256": claim.sha256} if claim else None,
        "advisory": advisory_id(claim.id) if claim else None,
        "evidence": evidence,
        "common_ground": (
            {"id": ground.id, "sha256": ground.sha256, "version": ground.body.get("version")}
            if ground
            else None
        ),
        "mode": mode.value,
        "verifier": verifier,
        "duration_ms": duration,
        "validation": [r.to_json() for r in facts.validation or []],
        "changed_files": facts.changed_files,
        # The git tree object of the worktree's content as the gate saw it.
        "worktree_tree": facts.worktree_tree,
        # The commit of wp/<WP> then: a review checks that the branch did not move since.
        "branch_tip": facts.branch_tip,
        # What was verified (SPEC 11.1): the commit holding that content, and its tree.
        "head": facts.verified_head,
        "tree": facts.worktree_tree if facts.verified_head else None,
        "summary": {
            k: document[k]
            for k in ("outcome", "acceptance_status", "blocking_predicate", "blocked_reason_class")
        },
        "transition": {"from": State.VERIFYING.value, "to": target.value},
        "edges": [{"from": "@self", "to": claim.id, "rel": "verifies"}] if claim else [],
    }
