"""Typed rows of the projections, as the store returns them (JSON columns decoded, flags
as booleans). A row is read, never written back: the projections change only by events."""

from __future__ import annotations

from typing import Any, TypedDict


class WorkPackageRow(TypedDict):
    """One work package as the `work_packages` projection holds it."""

    id: str
    title: str
    objective: str | None
    state: str
    tier: str
    lane: str
    owner: str | None
    accountable: str | None
    assignee: str | None
    labels: list[str]
    success_criteria: list[str]
    target_repo: str | None
    base_ref: str | None
    evidence_floor: str | None
    overridden: bool
    vetoed: bool
    scope_declined: bool
    blocked_unowned: bool
    open_advisory: str | None
    agent_problem: str | None
    monitor_flags: list[dict[str, Any]] | None  # the progress monitor's open flags
    delivery: dict[str, Any] | None  # the last `delivered` payload, less its signature
    cost_usd: str | None  # what its agents' runs cost so far (SPEC 9.1)
    tokens: int
    created: str
    booked_seq: int
    last_seq: int
    updated_ts: str
    body: dict[str, Any]
    last_verify: dict[str, Any] | None
