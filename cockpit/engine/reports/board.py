"""Read models for people and scripts: the board (`cockpit status`), one work package,
rejected entries. Plain data from the projections; no rules decided here."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import NotFound
from cockpit.store import Store, attention
from cockpit.store.projections import problem_of
from cockpit.store.rows import WorkPackageRow

LAST_VERIFY_KEYS = ("outcome", "acceptance_status", "blocking_predicate", "blocked_reason_class")
# The columns `status_row` reads: all a board needs from a WP's row.
STATUS_COLUMNS = (
    "id",
    "title",
    "state",
    "tier",
    "owner",
    "accountable",
    "assignee",
    "overridden",
    "last_verify",
)


def _last_verify(row: Mapping[str, Any]) -> dict[str, Any] | None:
    verify = row.get("last_verify")
    if not verify:
        return None
    return {key: verify.get(key) for key in LAST_VERIFY_KEYS}


def status_row(row: WorkPackageRow | Mapping[str, Any]) -> dict[str, Any]:
    """One WP in the SPEC 8 `status` shape (from a row holding STATUS_COLUMNS)."""
    return {
        "id": row["id"],
        "title": row["title"],
        "state": row["state"],
        "tier": row["tier"],
        "owner": row["owner"],
        "accountable": row["accountable"],
        "assignee": row["assignee"],
        "overridden": row["overridden"],
        "last_verify": _last_verify(row),
    }


def board(store: Store) -> list[dict[str, Any]]:
    """Every work package in the SPEC 8 `status` shape, by id."""
    return list(iter_board(store))


def iter_board(store: Store) -> Iterator[dict[str, Any]]:
    """`board(store)` one WP at a time: only the status columns are read, a batch of rows
    at a time, so memory does not grow with the number of WPs."""
    for row in store.iter_work_packages(STATUS_COLUMNS):
        yield status_row(row)


def work_package_status(
    store: Store, wp_id: str, unstarted_lanes: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One work package: the status fields plus its booking details and flags.

    Raises NotFound if no such WP has been booked."""
    row = store.work_package(wp_id)
    if row is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    body = row["body"]
    return {
        **status_row(row),
        "objective": row["objective"],
        "lane": row["lane"],
        "labels": row["labels"],
        "success_criteria": row["success_criteria"],
        "owned_surfaces": body.get("owned_surfaces", []),
        "forbidden_surfaces": body.get("forbidden_surfaces", []),
        "validation_commands": body.get("validation_commands", []),
        "target_repo": row["target_repo"],
        "base_ref": row["base_ref"],
        "vetoed": row["vetoed"],
        "scope_declined": row["scope_declined"],
        "needs_triage": triage(row, unstarted_lanes),
        "agent_problem": row.get("agent_problem"),
        # The progress monitor's open flags (issue 15): dismissed by id, cleared by progress.
        "monitor_flags": [
            {k: flag.get(k) for k in ("flag", "reason", "detail", "seq")}
            for flag in row.get("monitor_flags") or []
        ],
        # Its last delivery (SPEC 11.3): the `delivered` payload less its signature, or null.
        "delivery": row.get("delivery"),
        # What its agents' runs cost so far (SPEC 9.1; null until a CLI reported a cost).
        "cost_usd": row.get("cost_usd"),
        "tokens": row.get("tokens") or 0,
        "blocking_detail": _blocking_detail(store, wp_id),
        "worktree": _worktree(store, wp_id),
        "agent": _agent(store, wp_id),
        "entries": [
            {"id": e["id"], "kind": e["kind"], "principal": e["principal"], "seq": e["seq"]}
            for e in store.entries(wp_id)
        ],
        "updated": row["updated_ts"],
    }


def _blocking_detail(store: Store, wp_id: str) -> str | None:
    """What the last gate run said of the predicate that withheld the claim."""
    runs = store.find_events(work_package=wp_id, types=(EventType.VERIFY_COMPLETED,), limit=1)
    if not runs:
        return None
    payload = runs[-1].payload
    result = (payload.get("predicates") or {}).get(payload.get("blocking_predicate") or "")
    return str(result.get("detail")) if isinstance(result, dict) else None


def _worktree(store: Store, wp_id: str) -> dict[str, Any] | None:
    made = store.find_events(work_package=wp_id, types=(EventType.WORKTREE_PROVISIONED,), limit=1)
    if not made:
        return None
    payload = made[-1].payload
    return {k: payload.get(k) for k in ("worktree", "branch", "base_commit", "target_repo")}


def _agent(store: Store, wp_id: str) -> dict[str, Any] | None:
    """The WP's latest agent run: running, or how it ended."""
    events = store.find_events(
        work_package=wp_id, types=(EventType.AGENT_STARTED, EventType.AGENT_EXITED)
    )
    starts = [e for e in events if e.type == EventType.AGENT_STARTED]
    if not starts:
        return None
    last = starts[-1]
    ended = [
        e
        for e in events
        if e.type == EventType.AGENT_EXITED and e.payload.get("launch") == last.seq
    ]
    result: dict[str, Any] = {
        "principal": last.principal,
        "attempt": last.payload.get("attempt"),
        "stage": last.payload.get("stage"),
        "started": last.ts,
        "log": last.payload.get("log"),
        "running": not ended,
        # What confined the run (SPEC 10.3), and the writable paths its lane added.
        "sandbox": last.payload.get("sandbox"),
        "sandbox_weakened": list(last.payload.get("sandbox_weakened") or []),
    }
    if ended:
        payload = ended[-1].payload
        result.update(
            exit_code=payload.get("exit_code"),
            timed_out=bool(payload.get("timed_out")),
            problem=problem_of(EventType.AGENT_EXITED, payload),
            ended=ended[-1].ts,
        )
    return result


def rejected(store: Store) -> list[dict[str, Any]]:
    """Rejected entries in the SPEC 8 shape (`file` is the name in queue/rejected/)."""
    return [
        {
            "file": r["file"],
            "entry_id": r["entry_id"],
            "code": r["code"],
            "message": r["message"],
            "original_file": r["original_file"],
            "seq": r["seq"],
            "ts": r["ts"],
        }
        for r in store.rejections()
    ]


def triage(row: WorkPackageRow, unstarted_lanes: tuple[str, ...] = ()) -> list[str]:
    """Why this WP needs a person's attention now (empty when it does not); the same rule
    as the board's needs-attention view (cockpit.store.attention)."""
    return attention.reasons(row, unstarted_lanes)


MAX_RAW_BYTES = 1024 * 1024


def rejected_file_text(ws: Workspace, name: str) -> str:
    """The raw text of a rejected entry, for reading (never parsed, never followed through a
    symlink, capped at 1 MiB). Raises NotFound if `name` is not a file in queue/rejected/."""
    directory = ws.queue_dir("rejected")
    path = directory / name
    if "/" in name or "\\" in name or name in ("", ".", "..") or not os.path.lexists(path):
        raise NotFound(f"no rejected file {name!r}")
    if path.is_symlink():
        return f"(a symbolic link to {os.readlink(path)!r}; not followed)"
    with open(path, "rb") as handle:
        data = handle.read(MAX_RAW_BYTES + 1)
    text = data[:MAX_RAW_BYTES].decode("utf-8", "replace")
    if len(data) > MAX_RAW_BYTES:
        text += "\n… (cut at 1 MiB)"
    return text


def rejected_entry_text(ws: Workspace, store: Store, seq: int) -> tuple[str, str]:
    """(file name, raw text) of the entry rejected at event `seq`; the name is the real
    one on disk even when it was stored with undecodable bytes escaped."""
    row = next((r for r in store.rejections() if r["seq"] == seq), None)
    if row is None:
        raise NotFound(f"no rejection at seq {seq}")
    name = row["file"]
    directory = ws.queue_dir("rejected")
    if not os.path.lexists(directory / name):
        real = name.encode("utf-8").decode("unicode_escape", "ignore").encode("latin-1", "ignore")
        candidate = os.fsdecode(real)
        if os.path.lexists(directory / candidate):
            name = candidate
    return row["file"], rejected_file_text(ws, name)
