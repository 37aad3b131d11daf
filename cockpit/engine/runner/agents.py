"""Agents (SPEC 9): the runner's side of the handoff queue.

For every dispatched WP the runner writes the handoff message
(`handoffs/<principal>/<WP>.yaml`: who you are, the WP, where to return entries, the next
gate), makes the WP's worktree when it has a target repo, and starts the lane's command
whenever the WP reaches a stage where its agent has the next move: `dispatched` (confirm
the scope, then stop), `in_progress` (the owner's go landed: do the work and claim) and
`recovering` when the recovery owner is the agent. One start per stage: an agent that
exits, crashes or times out without moving its WP on leaves it flagged for triage
(`agent_problem`), never silently in progress. An agent stopped with the runner, or lost
when the runner died, is started again (at most `RESTARTS` times per stage).

The command comes from cockpit.yaml only; nothing an entry says is ever run. It runs
with its own process group (killed whole on timeout or shutdown), cwd the worktree (or
the workspace root for a WP without a target repo), the runner's environment plus
COCKPIT_WORKSPACE, COCKPIT_PRINCIPAL, COCKPIT_WORK_PACKAGE, COCKPIT_HANDOFF and
COCKPIT_WORKTREE, and the runner's own interpreter directory first on PATH (so `python3`
and `cockpit` are the ones the runner runs under).
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime
from typing import Any

from cockpit.domain import AGENT_STAGES, WORKTREE_STATES, EventType, Mode, State
from cockpit.engine.canon import redaction
from cockpit.engine.repo import worktrees
from cockpit.engine.repo.gitops import GitError
from cockpit.engine.repo.worktrees import WorktreeError
from cockpit.engine.runner import driven, launch, lost, processes, provision
from cockpit.engine.runner import sandbox as agent_sandbox
from cockpit.engine.runner import setup as worktree_setup
from cockpit.engine.runner.handoff import PREPARED_STATES, write_handoff
from cockpit.engine.runner.processes import AgentCounts, wait_for_exit
from cockpit.engine.trust import agent_keys
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow

__all__ = ["AgentCounts", "Agents", "wait_for_exit"]  # the loop's names

RESTARTS = 3  # starts per stage after the runner itself stopped or lost the agent
ONCE_LIMIT = 10  # starts per WP in one `run --once` (a guard against agents that loop)
# A worktree that could not be made, or a WP whose handoff or start failed, is tried
# again after this (or as soon as its WP moves on).
RETRY_S = 600
RUNNER_PRINCIPAL = launch.RUNNER_PRINCIPAL
log_ = logging.getLogger(__name__)


def _stage_start(events: list[Event], state: str) -> int:
    """The seq at which the WP entered its current state."""
    return max(
        (e.seq for e in events if (e.payload.get("transition") or {}).get("to") == state),
        default=0,
    )


class Agents:
    """The runner's agents: handoffs, worktrees, starts, exits (see the module text)."""

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        mode: Mode,
        on_event: Any = None,
        *,
        once: bool = False,
    ) -> None:
        self.ws = ws
        self.store = store
        self.mode = mode
        self.on_event = on_event
        self.once = once
        self.running: dict[str, processes.Running] = {}
        # Reaped but `agent_exited` not yet recorded: their entries are swept in first,
        # and their claims are verified only after the exit is on record.
        self.exiting: set[str] = set()
        self.counts = AgentCounts()
        self._seen: dict[str, int] = {}
        self._starts: dict[str, int] = {}
        self._approvals = 0  # the latest setup_approved looked at (it names no WP)

    # -- events ---------------------------------------------------------------------------

    def record(self, new: NewEvent) -> Event:
        with self.store.transaction():
            event = self.store.append(new)
        if self.on_event is not None:
            self.on_event(event)
        return event

    # -- the work -------------------------------------------------------------------------

    def candidates(self) -> list[WorkPackageRow]:
        rows = []
        for state in PREPARED_STATES:
            for wp_id in self.store.work_package_ids(state=state):
                wp = self.store.work_package(wp_id)
                if wp is not None and wp.get("assignee"):
                    rows.append(wp)
        return rows

    def tick(self) -> None:
        """Write handoffs, make worktrees and start the agents that are due."""
        if self.mode is Mode.DRY_RUN:
            return
        approvals = self.store.find_events(types=(EventType.SETUP_APPROVED,), limit=1)
        if approvals and approvals[-1].seq != self._approvals:
            self._approvals = approvals[-1].seq
            self._seen.clear()  # a WP waiting on its setup script may start now
        for wp in self.candidates():
            if self._seen.get(wp["id"]) == wp["last_seq"]:
                continue
            if not self._retry_due(wp["id"], EventType.AGENT_FAILED):
                continue
            try:
                self._work_on(wp)
            except (OSError, ValueError, GitError, WorktreeError) as exc:
                # One WP's trouble (a handoff that cannot be written, a full disk) is that
                # WP's problem, on the record; the runner goes on with the others.
                self.counts.failed += 1
                self.record(
                    NewEvent(
                        EventType.AGENT_FAILED,
                        wp["id"],
                        RUNNER_PRINCIPAL,
                        None,
                        {"error": str(exc)},
                    )
                )
                now = self.store.work_package(wp["id"])
                self._seen[wp["id"]] = now["last_seq"] if now else wp["last_seq"]

    def _work_on(self, wp: WorkPackageRow) -> None:
        wp, ported = self._prepare(wp)
        if wp.get("target_repo") and not worktrees.worktree_path(self.ws, wp["id"]).is_dir():
            return  # no worktree yet: looked at again next time (a retry may be due)
        events = self.store.events(wp["id"])
        if ported and self._due(wp, events):
            if len(self.running) >= self.ws.config.runner.max_agents:
                return  # looked at again when a slot frees
            ran = None
            if worktree_setup.pending(self.ws, wp, events):  # SPEC 11.4: before the agent
                setup = worktree_setup.run_setup(self.ws, self.store, wp, events)
                if setup.failed is not None:
                    self.counts.failed += 1
                    self.record(setup.failed)
                ran = setup.ran
            if ran is not None or not worktree_setup.pending(self.ws, wp, events):
                launch.launch(self, wp, events, _stage_start(events, wp["state"]), setup=ran)
            wp = self.store.work_package(wp["id"]) or wp
        self._seen[wp["id"]] = wp["last_seq"]

    def plan(self) -> list[dict[str, Any]]:
        """What `tick` would do (dry-run), on the store as it stands."""
        items: list[dict[str, Any]] = []
        for wp in self.candidates():
            events = self.store.events(wp["id"])
            if wp.get("target_repo") and not any(
                e.type == EventType.WORKTREE_PROVISIONED for e in events
            ):
                items.append({"work_package": wp["id"], "would": "make its worktree"})
            if self._due(wp, events, planning=True):
                items.append(
                    {"work_package": wp["id"], "would": f"start the agent of lane {wp['lane']}"}
                )
        self.counts.plan = items
        return items

    def _prepare(self, wp: WorkPackageRow) -> tuple[WorkPackageRow, bool]:
        """The WP's worktree (made when due), its ports and its handoff; False when it
        needs ports and none are left (its agent must not start)."""
        wp_id = wp["id"]
        if wp.get("target_repo") and wp["state"] in WORKTREE_STATES:
            recorded = worktrees.recorded_base(self.store, wp_id)
            missing = not worktrees.worktree_path(self.ws, wp_id).is_dir()
            if (recorded is None or missing) and self._retry_due(wp_id, EventType.WORKTREE_FAILED):
                try:
                    made = provision.make_worktree(self.ws, wp, recorded)
                except WorktreeError as exc:
                    self.record(
                        NewEvent(
                            EventType.WORKTREE_FAILED,
                            wp_id,
                            self._runner(),
                            None,
                            {"error": str(exc)},
                        )
                    )
                else:
                    self.counts.worktrees += 1
                    self.record(
                        NewEvent(
                            EventType.WORKTREE_PROVISIONED,
                            wp_id,
                            self._runner(),
                            None,
                            made,
                        )
                    )
                wp = self.store.work_package(wp_id) or wp
        wp, ported = provision.reserve_ports(self, wp)
        write_handoff(self.ws, self.store, wp)
        return wp, ported

    def _retry_due(self, wp_id: str, failure: str) -> bool:
        """Try again what failed (`failure`: the event type) only once its WP moved on, or
        after RETRY_S (so a cron of `run --once` does not record a failure a minute)."""
        events = self.store.events(wp_id)
        failures = [e for e in events if e.type == failure]
        if not failures:
            return True
        if failures[-1].payload.get("reason") in ("budget_exhausted", "setup_unapproved"):
            # The budget, or the setup script's approval, decides: at once when the owner
            # raised the one or approved the other (quietly until then).
            return True
        moved = max((e.seq for e in events if "transition" in e.payload), default=0)
        if moved > failures[-1].seq:
            return True
        failed_at = datetime.fromisoformat(failures[-1].ts.replace("Z", "+00:00"))
        return (self.store.clock() - failed_at).total_seconds() >= RETRY_S

    def _runner(self) -> str:
        return RUNNER_PRINCIPAL

    def _due(self, wp: WorkPackageRow, events: list[Event], planning: bool = False) -> bool:
        state = wp["state"]
        if State(state) not in AGENT_STAGES or not wp.get("assignee"):
            return False
        lane = self.ws.config.lanes.get(wp["lane"])
        if lane is None or not lane.starts_agents or wp["id"] in self.running:
            return False
        if state == State.RECOVERING:
            recoveries = [e for e in events if e.type == EventType.RECOVERY_PACKET_CREATED]
            if not recoveries or recoveries[-1].payload.get("recovery_owner") != wp["assignee"]:
                return False
        made = planning or worktrees.worktree_path(self.ws, wp["id"]).is_dir()
        if wp.get("target_repo") and not made:
            return False
        if self.once and self._starts.get(wp["id"], 0) >= ONCE_LIMIT:
            return False
        since = _stage_start(events, state)
        starts = [e for e in events if e.seq > since and e.type == EventType.AGENT_STARTED]
        if not starts:
            return True
        exits = [
            e
            for e in events
            if e.type == EventType.AGENT_EXITED and e.payload.get("launch") == starts[-1].seq
        ]
        if not exits:
            return False  # still running (or lost: recover_lost records that first)
        last = exits[-1].payload
        return bool(last.get("stopped") or last.get("lost")) and len(starts) <= RESTARTS

    # -- exits ----------------------------------------------------------------------------

    def reap(self) -> list[processes.Running]:
        """The agents that ended (or were killed at their lane timeout) since last time."""
        finished = []
        for wp_id, run in list(self.running.items()):
            code = run.proc.poll()
            flooded = agent_sandbox.collect(self.ws, run)
            if run.transcript is not None:
                try:
                    run.transcript.pump()
                except Exception:  # the transcript is the run's record, not the runner's life
                    log_.exception(
                        "%s: the transcript of %s could not be read", self.ws.root, wp_id
                    )
                run.output_flooded = run.transcript.printed() > driven.OUTPUT_MAX
            if code is None and time.monotonic() - run.started > run.timeout_s:
                run.timed_out = True
            elif code is None and not flooded and not run.output_flooded:
                continue
            run.stop()  # nothing the agent left behind outlives it
            agent_sandbox.finish(self.ws, run)
            driven.conclude(self.ws, self.store, run)  # its driver files for the agent
            finished.append(run)
            del self.running[wp_id]
            self.exiting.add(wp_id)
        return finished

    def busy(self, wp_id: str) -> bool:
        """Whether the WP's agent is running or its exit is not yet on record: the gate
        waits for both, so a verdict always follows the `agent_exited` it depends on."""
        return wp_id in self.running or wp_id in self.exiting

    def record_exits(self, finished: list[processes.Running], *, stopped: bool = False) -> None:
        """Record `agent_exited` for each (after their entries were swept in). One run that
        cannot be recorded is logged and left for the next start's lost-run recovery; the
        runner goes on with the others."""
        for run in finished:
            try:
                self._record_exit(run, stopped)
            except Exception:
                log_.exception(
                    "%s: the exit of %s's agent could not be recorded", self.ws.root, run.wp_id
                )
                self.exiting.discard(run.wp_id)

    def _record_exit(self, run: processes.Running, stopped: bool) -> None:
        returned = any(
            row["principal"] == run.principal and row["seq"] > run.launch_seq
            for row in self.store.entries(run.wp_id)
        )
        now = self.store.work_package(run.wp_id)
        moved = any(
            "transition" in e.payload
            for e in self.store.events(run.wp_id, since_seq=run.launch_seq)
        )
        payload: dict[str, Any] = {
            "launch": run.launch_seq,
            "principal": run.principal,
            # None when the runner ended it (its timeout, a flood, shutdown): its own
            # status would only say it was killed.
            "exit_code": None
            if (run.timed_out or stopped or run.output_flooded)
            else run.proc.returncode,
            "duration_ms": int((time.monotonic() - run.started) * 1000),
            "timed_out": run.timed_out,
            "timeout_s": run.timeout_s,
            "returned": returned,
            "moved": moved,
            "state": now["state"] if now else None,
            "log": launch.shown(self.ws, run.log),
            "output_tail": redaction.redact(processes.output_tail(run.log)),
            **agent_sandbox.exit_payload(run),
            **(run.driven.exit_payload() if run.driven is not None else {}),
        }
        if run.transcript is not None:
            payload["transcript"] = launch.shown(self.ws, run.transcript.path)
        if stopped:
            payload["stopped"] = True
        self.counts.exited += 1
        self.counts.timed_out += run.timed_out
        self.record(NewEvent(EventType.AGENT_EXITED, run.wp_id, run.principal, None, payload))
        if run.agent_key is not None:  # after the run's entries were taken and swept
            issued, attempt = run.agent_key
            self.revoke(issued, run.principal, run.wp_id, attempt, "the run ended")
        if run.flooded:
            self.counts.failed += 1
            self.record(agent_sandbox.flood_event(self.ws, run, RUNNER_PRINCIPAL))
        failed = driven.failed_event(run, RUNNER_PRINCIPAL)
        if failed is not None:
            self.counts.failed += 1
            self.record(failed)
        self.exiting.discard(run.wp_id)
        with contextlib.suppress(OSError):
            run.log.with_suffix(".pid").unlink()

    def note_start(self, wp_id: str) -> None:
        self._starts[wp_id] = self._starts.get(wp_id, 0) + 1
        self.counts.started += 1

    def revoke(
        self, issued: agent_keys.IssuedKey, principal: str, wp_id: str, run: int, why: str
    ) -> None:
        self.record(issued.revoked(principal, wp_id, run, why))
        agent_keys.destroy(issued)

    def stop_all(self) -> None:
        """Shutdown: kill every running agent's process group and record it stopped."""
        finished = list(self.running.values())
        for run in finished:
            run.stop()
            run.stopped_by_runner = True
            agent_sandbox.finish(self.ws, run)
            driven.conclude(self.ws, self.store, run)
        self.running.clear()
        self.record_exits(finished, stopped=True)

    def recover_lost(self) -> None:
        """At start: agents a dead runner started and never saw end are recorded `lost`
        (and killed if they still run), so they can be started again; their keys die."""
        if self.mode is Mode.DRY_RUN:
            return
        for new in lost.lost_runs(self.ws, self.store, set(self.running)):
            self.record(new)
