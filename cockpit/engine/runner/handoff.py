"""The handoff message (SPEC 9): what an agent is told about its work package, written to
`handoffs/<principal>/<WP>.yaml` and derived from the store alone, so the same state
always writes the same bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml

from cockpit.domain import HANDOFF_SCHEMA, EventType, State, Tier
from cockpit.engine.repo import ports, worktrees
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Store
from cockpit.store.rows import WorkPackageRow

# What the agent is told in each state: the gate its work leads to, and what to do now
# ({wp} is the WP's id). Each entry to file names the commands that write and describe it.
NEXT: dict[State, tuple[str, str]] = {
    State.DISPATCHED: (
        "scope_confirmation",
        "Read the work package, then submit a scope_confirmation (confirmed: true, or false "
        "with notes) and stop: `cockpit new scope_confirmation {wp}` writes one to fill in "
        "(its fields: `cockpit schema scope_confirmation`), `cockpit submit FILE` files it. "
        "Work starts when the owner's go lands.",
    ),
    State.SCOPE_CONFIRMED: ("review_go", "Wait: the owner reviews your scope confirmation."),
    State.IN_PROGRESS: (
        "verify",
        "Do the work inside your worktree, within the owned surfaces. Then submit a "
        "common_ground packet, evidence and a claim, in that order (the claim cites the "
        "others' ids): `cockpit new common_ground {wp}`, `cockpit new evidence {wp}` and "
        "`cockpit new claim {wp}` write them to fill in (fields: `cockpit schema KIND`); "
        "the verify gate decides.",
    ),
    State.RECOVERING: (
        "verify",
        "Act on the recovery's next action, then submit evidence and a new claim "
        "(`cockpit new evidence {wp}`, `cockpit new claim {wp}`).",
    ),
    State.CLAIMED: ("verify", "Wait: the verify gate is deciding on your claim."),
    State.VERIFYING: ("verify", "Wait: the verify gate is deciding on your claim."),
    State.BLOCKED: ("recovery", "Wait: the gate withheld admission; a recovery owner acts next."),
    State.FAILED: ("rollback", "Stop: the work failed; it is recovered or rolled back next."),
    State.ACCEPTED: ("review", "Wait: the gate admitted your claim; the owner reviews it."),
    State.ROLLED_BACK: ("dispatch", "Stop: the work was rolled back."),
}

# The states in which a handoff is kept up to date for the assignee.
PREPARED_STATES = frozenset(NEXT)


def next_gate(state: str) -> str:
    """The gate the agent's work leads to from `state` ("none" once the WP is closed)."""
    return NEXT.get(State(state), ("none", ""))[0]


def handoff_path(ws: Workspace, principal: str, wp_id: str) -> Path:
    return ws.root / "handoffs" / principal / f"{wp_id}.yaml"


def handoff_document(ws: Workspace, store: Store, wp: WorkPackageRow) -> dict[str, Any]:
    """What the agent is told: who it is, the WP, where its work happens, where to return
    entries and the next gate. Derived from the store alone (the same state writes the
    same bytes)."""
    wp_id = wp["id"]
    body = wp.get("body") or {}
    events = store.events(wp_id)
    gate, instructions = NEXT.get(State(wp["state"]), ("none", "Stop: the work package is closed."))
    instructions = instructions.replace("{wp}", wp_id)
    floor = body.get("evidence_floor") or ws.config.evidence_floor(Tier(wp["tier"])).value
    document: dict[str, Any] = {
        "schema": HANDOFF_SCHEMA,
        "you": wp["assignee"],
        "tenant": ws.config.tenant,
        # Entries name their tenant and workspace (required when signatures are, SPEC 10.1).
        "workspace": ws.config.workspace,
        "work_package": {
            "id": wp_id,
            "title": body.get("title"),
            "objective": body.get("objective"),
            "success_criteria": body.get("success_criteria") or [],
            "tier": wp["tier"],
            "lane": wp["lane"],
            "owner": body.get("owner"),
            "accountable": body.get("accountable"),
            "owned_surfaces": body.get("owned_surfaces") or [],
            "forbidden_surfaces": body.get("forbidden_surfaces") or [],
            "validation_commands": body.get("validation_commands") or [],
            "evidence_floor": floor,
            "labels": body.get("labels") or [],
        },
        "state": wp["state"],
        "next_gate": gate,
        "instructions": instructions,
    }
    procedure = procedure_context(body.get("procedure"), str(wp["lane"]))
    if procedure is not None:  # booked from a procedure pack (`cockpit book --procedure`)
        document["procedure"] = procedure
    dispatches = [e for e in events if e.type == EventType.DISPATCHED]
    if dispatches:
        entry_body = (dispatches[-1].payload.get("entry") or {}).get("body") or {}
        document["dispatch"] = {
            "by": dispatches[-1].principal,
            "entry": dispatches[-1].entry_id,
            "next_gate": entry_body.get("next_gate"),
        }
    if wp.get("target_repo"):
        provisioned = [e for e in events if e.type == EventType.WORKTREE_PROVISIONED]
        document["worktree"] = {
            "path": str(worktrees.worktree_path(ws, wp_id)),
            "branch": worktrees.branch_name(wp_id),
            "base_commit": provisioned[-1].payload["base_commit"] if provisioned else None,
        }
    else:
        document["worktree"] = {"path": str(ws.root), "branch": None, "base_commit": None}
    # The WP's TCP ports while it is live (SPEC 11.4): COCKPIT_PORT and COCKPIT_PORTS.
    held = ports.held(store, wp_id)
    document["ports"] = held.payload() if held is not None else None
    grounds = store.entries(wp_id, "common_ground")
    if grounds:
        latest = grounds[-1]
        document["common_ground"] = {
            "id": latest["id"],
            "version": (latest.get("body") or {}).get("version"),
            "sha256": latest["sha256"],
        }
    else:
        document["common_ground"] = None
    revisions = [
        e
        for e in events
        if e.type == EventType.REVIEW_RECORDED and e.payload.get("verdict") == "revision_required"
    ]
    if revisions and wp["state"] == State.IN_PROGRESS:
        latest = revisions[-1].payload
        findings = latest.get("findings")
        if findings is None:
            findings = ((latest.get("entry") or {}).get("body") or {}).get("findings")
        document["findings"] = findings or []
    recoveries = [e for e in events if e.type == EventType.RECOVERY_PACKET_CREATED]
    if recoveries and wp["state"] == State.RECOVERING:
        payload = recoveries[-1].payload
        document["recovery"] = {
            "recovery_owner": payload.get("recovery_owner"),
            "next_action": payload.get("next_action"),
        }
    document["return"] = {
        "how": "write each entry as a file (`cockpit new KIND WP` starts one; `cockpit "
        "schema KIND` gives its fields) and run `cockpit submit FILE...`",
        "queue": str(ws.queue_dir("new")),
        "principal": wp["assignee"],
        "work_package": wp_id,
    }
    return document


def procedure_context(record: Any, lane: str) -> dict[str, Any] | None:
    """What the agent is told of the procedure pack its WP was booked from, as the booking
    recorded it (`body.procedure`): the steps of its own lane with their context, in order,
    the whole sequence (lane and step), the packets the work needs and the rollback
    profile. None for a WP booked without one."""
    if not isinstance(record, dict):
        return None
    sequence = [s for s in record.get("sequence") or [] if isinstance(s, dict)]
    return {
        "archetype": record.get("archetype"),
        "description": record.get("description"),
        "pack_sha256": record.get("sha256"),
        "lane": lane,
        "steps": [
            {"step": s.get("step"), "context": s.get("context")}
            for s in sequence
            if s.get("lane") == lane
        ],
        "sequence": [{"lane": s.get("lane"), "step": s.get("step")} for s in sequence],
        "required_packets": list(record.get("required_packets") or []),
        "rollback": record.get("rollback"),
    }


def write_handoff(ws: Workspace, store: Store, wp: WorkPackageRow) -> tuple[Path, str]:
    """Write the WP's handoff (atomically, and only when it changed); returns its path and
    the SHA-256 of its bytes."""
    path = handoff_path(ws, str(wp["assignee"]), wp["id"])
    text = "# Written by Cockpit. Do not edit: it is rewritten as the work package moves.\n"
    text += yaml.safe_dump(
        handoff_document(ws, store, wp), sort_keys=False, allow_unicode=True, width=100
    )
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    try:
        if path.read_bytes() == data:
            return path, digest
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_bytes(data)
    os.replace(scratch, path)
    return path, digest
