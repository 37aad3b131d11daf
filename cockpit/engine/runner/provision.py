"""Making a WP's worktree as SPEC 11.4 asks, and its port range: the base's remote
fetched first, the worktree made (repo.worktrees.provision), the owner's gitignored files
copied in, everything recorded on `worktree_provisioned`; a live WP's ports reserved
(`ports_reserved`) before its handoff is written. The setup command is runner.setup's."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from cockpit.domain import EventType
from cockpit.engine.repo import ports, provisioning, worktrees
from cockpit.engine.repo.worktrees import WorktreeError
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow

RUNNER_PRINCIPAL = "cockpit:runner"
log_ = logging.getLogger(__name__)


class Recorder(Protocol):
    ws: Workspace
    store: Store
    on_event: Any

    def record(self, new: NewEvent) -> Event: ...


def make_worktree(ws: Workspace, wp: WorkPackageRow, recorded: str | None) -> dict[str, Any]:
    """Make (or adopt) the WP's worktree; returns the `worktree_provisioned` payload.
    With no base recorded yet, the base's remote is fetched first (`worktrees.fetch`);
    a worktree made anew gets the files of `worktrees.copy`. Raises WorktreeError (a
    failed fetch is named in it when the base could not be found)."""
    settings = ws.config.worktrees
    fetched = None
    if recorded is None and settings.fetch:
        repo = worktrees.target_repo_path(ws, wp)
        if repo.is_dir():
            fetched = provisioning.fetch_base(repo, str(wp.get("base_ref") or "HEAD"))
            if fetched is not None and not fetched["ok"]:
                log_.warning("%s: %s: %s", ws.root, wp["id"], fetched["error"])
    try:
        made = worktrees.provision(ws, wp, recorded)
    except WorktreeError as exc:
        if fetched is not None and not fetched["ok"]:
            raise WorktreeError(f"{exc} ({fetched['error']})") from None
        raise
    payload = made.payload(ws)
    if fetched is not None:
        payload["fetch"] = fetched
    if settings.copy_ and not made.adopted:
        payload.update(provisioning.copy_ignored(made.target_repo, made.worktree, settings.copy_))
    return payload


def reserve_ports(agents: Recorder, wp: WorkPackageRow) -> tuple[WorkPackageRow, bool]:
    """Give a live WP its port range if it holds none (`ports_reserved`). Returns the WP
    as it now is, and False when it needs ports and none are left (then `agent_failed`,
    reason `ports_exhausted`, is on record and its agent must not start)."""
    ws, store = agents.ws, agents.store
    size = ws.config.worktrees.ports_per_wp
    if size <= 0 or wp["state"] not in ports.PORT_STATES:
        return wp, True
    if ports.held(store, wp["id"]) is not None:
        return wp, True
    try:
        with store.transaction():
            new = ports.reservation(store, wp["id"], size, RUNNER_PRINCIPAL)
            event = store.append(new) if new is not None else None
    except ports.PortsExhausted as exc:
        failures = store.find_events(
            work_package=wp["id"], types=(EventType.AGENT_FAILED,), limit=1
        )
        if not failures or failures[-1].payload.get("reason") != "ports_exhausted":
            agents.record(
                NewEvent(
                    EventType.AGENT_FAILED,
                    wp["id"],
                    RUNNER_PRINCIPAL,
                    None,
                    {"reason": "ports_exhausted", "error": f"the agent of {wp['id']}: {exc}"},
                )
            )
        return store.work_package(wp["id"]) or wp, False
    if event is not None and agents.on_event is not None:
        agents.on_event(event)
    return store.work_package(wp["id"]) or wp, True


def ports_env(store: Store, wp_id: str) -> dict[str, str]:
    """COCKPIT_PORT and COCKPIT_PORTS for the WP's agent (empty when it holds none)."""
    held = ports.held(store, wp_id)
    return held.env() if held is not None else {}
