"""Starting one agent run (SPEC 9, 9.1, 10.3): the lane's command, or a driver's CLI, in
the WP's sandbox, with its own key, its handoff, its transcript, bounded by the lane's
timeout. Every start is an `agent_started` event; a run that cannot start is on record
(`agent_failed`, or an `agent_exited` with the error) and never left open."""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import IO, Any, Protocol

from cockpit.domain import EventType
from cockpit.engine.config.ssh_keys import parse_public_key
from cockpit.engine.drivers.base import PlainReader
from cockpit.engine.drivers.registry import driver as driver_named
from cockpit.engine.drivers.transcript import TranscriptWriter
from cockpit.engine.repo import sandbox as confinement
from cockpit.engine.repo import worktrees
from cockpit.engine.runner import driven, processes, provision
from cockpit.engine.runner import sandbox as agent_sandbox
from cockpit.engine.runner.handoff import next_gate, write_handoff
from cockpit.engine.trust import agent_keys
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow


class Agents(Protocol):
    """What a start needs of the runner's agents (runner.agents.Agents)."""

    ws: Workspace
    store: Store
    counts: processes.AgentCounts
    running: dict[str, processes.Running]

    def record(self, new: NewEvent) -> Event: ...

    def note_start(self, wp_id: str) -> None: ...

    def revoke(
        self, issued: agent_keys.IssuedKey, principal: str, wp_id: str, run: int, why: str
    ) -> None: ...


RUNNER_PRINCIPAL = "cockpit:runner"  # who records what the runner itself does
log_ = logging.getLogger(__name__)


def shown(ws: Workspace, path: Path) -> str:
    try:
        return str(path.relative_to(ws.root))
    except ValueError:
        return str(path)


def launch(
    agents: Agents,
    wp: WorkPackageRow,
    events: list[Event],
    stage_start: int,
    *,
    setup: dict[str, Any] | None = None,
) -> None:
    """Start the WP's agent (see the module text); `setup`: the worktree's setup that
    ran just before (runner.setup), recorded on `agent_started`."""
    ws, store = agents.ws, agents.store
    wp_id, principal = wp["id"], wp["assignee"]
    assert principal is not None  # only WPs with an assignee are due
    lane = ws.config.lanes[wp["lane"]]
    drv = driver_named(lane.effective_driver)
    handoff, digest = write_handoff(ws, store, wp)
    cwd = worktrees.worktree_path(ws, wp_id) if wp.get("target_repo") else ws.root
    available = confinement.availability(ws.config.runner.sandbox)
    if not available.confined and ws.config.runner.sandbox == "required":
        agents.counts.failed += 1
        agents.record(agent_sandbox.refused_event(wp_id, available, RUNNER_PRINCIPAL))
        return
    home = agent_sandbox.home_dir(ws, wp_id)
    run: driven.DrivenRun | None = None
    if drv is None:
        assert lane.command is not None
        command = processes.resolve_command(lane.command, ws.root)
        env = processes.agent_env(ws, principal, wp_id, handoff, cwd)
    else:
        try:
            prepared = driven.prepare(
                ws, store, wp, drv, events, handoff, cwd, home,
                sandboxed=available.confined, stage_start=stage_start,
            )  # fmt: skip
        except driven.Refusal as refusal:
            if not refusal.quiet:
                agents.counts.failed += 1
                agents.record(refusal.event(wp_id, RUNNER_PRINCIPAL, driver=drv.name))
            return
        command, env, run = prepared.argv, prepared.env, prepared.run
    env.update(provision.ports_env(store, wp_id))  # COCKPIT_PORT, COCKPIT_PORTS (SPEC 11.4)
    made = agent_sandbox.prepare(
        ws, store, wp, command, handoff, cwd, available, readonly=run.extra_ro if run else []
    )
    attempt = 1 + sum(1 for e in events if e.type == EventType.AGENT_STARTED)
    # The run's own key (SPEC 10.2). A command's agent finds it in its private home (only
    # its sandbox binds it); a driver's is held in memory: the driver files for the agent.
    if run is None:
        issued = agent_keys.issue(made.home / ".cockpit", wp["state"])
    else:
        issued = agent_keys.issue_held(made.home / ".cockpit", wp["state"])
        run.key = issued.held
    agents.record(issued.issued(principal, wp_id, wp["state"], attempt))
    made.outbox.agent_key = parse_public_key(issued.public_line)
    log = ws.root / ".cockpit" / "agents" / wp_id / f"{attempt}.log"
    # The log is opened first: a failure here (a full disk) is recorded by tick as the
    # WP's problem before any agent_started that no agent_exited would ever follow.
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)  # a log left by a lost run of another workspace's db
    output: IO[bytes] = open(log, "ab")  # noqa: SIM115 - handed to the child
    reader = drv.reader() if drv is not None else PlainReader()
    transcript = TranscriptWriter.start(
        ws, wp_id, attempt, drv.name if drv else "command", log, reader, store.clock, wp["state"]
    )
    payload: dict[str, Any] = {
        "principal": principal,
        "lane": wp["lane"],
        "command": _shown_command(command, run),
        "stage": wp["state"],
        "next_gate": next_gate(wp["state"]),
        "attempt": attempt,
        "handoff": {"path": shown(ws, handoff), "sha256": digest},
        "worktree": shown(ws, cwd),
        "timeout_s": lane.timeout_s,
        "log": shown(ws, log),
        "transcript": shown(ws, transcript.path),
        **made.payload(ws, lane.sandbox_rw),
    }
    if run is not None:
        payload.update(driver=run.driver.name, model=lane.model, resumes=run.resumed)
    if setup is not None:
        payload["setup"] = setup
    started = agents.record(NewEvent(EventType.AGENT_STARTED, wp_id, principal, None, payload))
    if not available.confined:
        log_.warning("%s: agent of %s runs UNSANDBOXED (%s)", ws.root, wp_id, available.problem)
    agents.note_start(wp_id)
    if run is None:
        env["COCKPIT_SIGNING_KEY"] = str(issued.path)
    try:
        confined = confinement.start(
            command,
            cwd=cwd,
            env=agent_sandbox.environment(env, made),
            stdout=output,
            box=made.box,
            bwrap=available.bwrap,
            network=ws.config.runner.sandbox_network,
        )
    except (OSError, confinement.SandboxError) as exc:
        made.outbox.close()
        transcript.finish({"exit_code": None, "error": str(exc)})
        agents.revoke(issued, principal, wp_id, attempt, "the agent could not start")
        agents.counts.failed += 1
        agents.record(
            NewEvent(
                EventType.AGENT_EXITED,
                wp_id,
                principal,
                None,
                {
                    "launch": started.seq,
                    "exit_code": None,
                    "error": getattr(exc, "strerror", None) or str(exc),
                    "duration_ms": 0,
                    "timed_out": False,
                },
            )
        )
        return
    finally:
        output.close()
    proc = confined.proc
    running = processes.Running(
        wp_id, principal, started.seq, proc, time.monotonic(), lane.timeout_s, log
    )
    running.confined, running.sandbox = confined, made
    running.agent_key = (issued, attempt)
    running.attempt, running.transcript, running.driven = attempt, transcript, run
    agents.running[wp_id] = running
    with contextlib.suppress(OSError):  # only for killing it after a runner crash
        log.with_suffix(".pid").write_text(str(proc.pid))


def _shown_command(command: list[str], run: driven.DrivenRun | None) -> list[str]:
    """The command as recorded: a driver's prompt is shown by its size, not copied into
    the chain (it is rebuilt from the record; the transcript's run has it)."""
    if run is None:
        return command
    return [a if len(a) <= 200 else f"<prompt: {len(a.encode())} bytes>" for a in command]
