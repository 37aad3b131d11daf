"""The runner: one per workspace (an OS lock), sweeping the queue once or for as long as
it runs. Watch events are hints; sweeps are the truth (SPEC 3.1, 9)."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cockpit.domain import EventType, Mode, State
from cockpit.engine.gate.verification import current_claim, run_gate, withholds
from cockpit.engine.queue import maildir as queue
from cockpit.engine.queue.outcomes import LOG_LIMIT, SweepResult
from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.runner.agents import AgentCounts, Agents, wait_for_exit
from cockpit.engine.runner.lock import RunnerLock
from cockpit.engine.runner.monitor import Monitor
from cockpit.engine.runner.notify import Notifier
from cockpit.engine.runner.pruning import Pruner
from cockpit.engine.trust import record
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import CockpitError
from cockpit.store import Event, Store
from cockpit.store.events import format_ts, utc_now

log_ = logging.getLogger(__name__)
RESCAN_SECONDS = 5.0
YOUNG_RETRIES = 2

__all__ = ["RunnerLock", "run_forever", "run_once", "sweep_and_verify"]


@dataclass
class RunSummary:
    """What `cockpit run` did: sweep counts, the gate's verdicts, and the mode."""

    mode: Mode
    sweep: SweepResult
    verifications: list[dict[str, Any]] = field(default_factory=list)
    agents: AgentCounts = field(default_factory=AgentCounts)

    def to_json(self) -> dict[str, Any]:
        outcomes = [v["outcome"] for v in self.verifications if "outcome" in v]
        return {
            "mode": self.mode.value,
            **self.sweep.counts(),
            "verified": len(outcomes),
            "admitted": outcomes.count("success"),
            "withheld": len(outcomes) - outcomes.count("success"),
            "agents": self.agents.to_json(),
            "plan": self.sweep.log + self.agents.plan,
            "verifications": self.verifications,
        }


class AutoVerifier:
    """The runner's own gate runs (SPEC 8): in live, and for canary WPs in canary, every
    WP in `claimed` whose current claim has no outcome other than skipped; in shadow (and
    for other WPs in canary), every claim it has not verified yet, with outcome skipped."""

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        mode: Mode,
        on_event: Callable[[Event], None] | None = None,
        stop: threading.Event | None = None,
        busy: Callable[[str], bool] | None = None,
    ) -> None:
        self.ws = ws
        # A WP whose agent is still running is verified once the agent has ended: its
        # claim is judged on the worktree the agent left, not one it is still changing.
        self.busy = busy
        self.store = store
        self.mode = mode
        self.on_event = on_event
        self.stop = stop
        self.results: list[dict[str, Any]] = []
        self.events = 0

    def due(self, wp_id: str) -> bool:
        if self.mode is Mode.DRY_RUN or self.ws.config.runner.verifier is None:
            return False
        if self.busy is not None and self.busy(wp_id):
            return False
        wp = self.store.work_package(wp_id)
        if wp is None or wp["state"] != State.CLAIMED:
            return False
        # SPEC 5: a claim is judged at most once per mode. A WP pushed into `claimed` with
        # no claim at all (an override) is judged once since it entered `claimed`.
        events = self.store.events(wp_id)
        claim = current_claim(self.store, wp_id)
        if claim is not None:
            verdicts = [
                e.payload
                for e in events
                if e.type == EventType.VERIFY_COMPLETED
                and (e.payload.get("claim") or {}).get("id") == claim.id
            ]
        else:
            since = max(
                (
                    e.seq
                    for e in events
                    if (e.payload.get("transition") or {}).get("to") == State.CLAIMED.value
                    and e.type != EventType.VERIFY_COMPLETED
                ),
                default=0,
            )
            verdicts = [
                e.payload for e in events if e.type == EventType.VERIFY_COMPLETED and e.seq > since
            ]
        if withholds(self.mode, wp, self.ws.config.runner.canary_labels):
            return not any(v.get("mode") == self.mode.value for v in verdicts)
        return not any(v.get("outcome") != "skipped" for v in verdicts)

    def __call__(self, wp_id: str) -> None:
        if not self.due(wp_id):
            return
        verifier = self.ws.config.runner.verifier
        assert verifier is not None
        try:
            run = run_gate(self.ws, self.store, wp_id, verifier, self.mode, self.stop)
        except CockpitError as exc:
            self.results.append({"work_package": wp_id, "error": str(exc)})
            return
        except Exception as exc:  # the runner never crashes on one work package
            self.results.append({"work_package": wp_id, "error": f"{type(exc).__name__}: {exc}"})
            return
        self.results.append(
            {
                "work_package": wp_id,
                **{
                    k: run.decision.to_json()[k]
                    for k in (
                        "outcome",
                        "acceptance_status",
                        "blocking_predicate",
                        "blocked_reason_class",
                    )
                },
            }
        )
        self.events += len(run.events)
        if self.on_event is not None:
            for event in run.events:
                self.on_event(event)

    def verify_due(self, stop: threading.Event | None = None) -> None:
        """Verify every claimed WP that is due (claims left over from earlier runs)."""
        for wp_id in self.store.work_package_ids(state=State.CLAIMED.value):
            if stop is not None and stop.is_set():
                return
            self(wp_id)
        del self.results[:-LOG_LIMIT]


def run_once(
    ws: Workspace,
    store: Store,
    mode: Mode | None = None,
    on_event: Callable[[Event], None] | None = None,
    stop: threading.Event | None = None,
) -> RunSummary:
    """Drain the queue, verify what is due, and finish the agents' work: start every
    agent that is due, wait for each (bounded by its lane timeout), ingest what it
    returned, and go on until nothing is left to do. In dry-run nothing is ingested,
    moved, started or written: the summary is the plan. Raises RunnerLocked if another
    runner holds the workspace."""
    stop = stop or threading.Event()
    chosen = mode or ws.config.runner.mode
    # A dry run changes nothing, not even the lock file, and needs no lock to do so.
    lock = contextlib.nullcontext() if chosen is Mode.DRY_RUN else RunnerLock(ws)
    with lock, _notifying(ws, store, chosen, on_event) as on_event:
        if chosen is not Mode.DRY_RUN:
            record.attach(ws, store)  # the runner's events are signed with its key
        agents = Agents(ws, store, chosen, on_event, once=True)
        try:
            agents.recover_lost()
            summary = sweep_and_verify(ws, store, chosen, on_event, stop, agents)
            retries = 0
            while not stop.is_set():
                agents.tick()
                if agents.running:
                    wait_for_exit(agents, stop, 0.5)
                    finished = agents.reap()
                    if finished or queue.pending(ws.queue_dir("new")):
                        # What the agents returned is swept in, their exits recorded, and
                        # only then are their claims verified.
                        _again(
                            summary,
                            sweep_and_verify(
                                ws,
                                store,
                                chosen,
                                on_event,
                                stop,
                                agents,
                                before_verify=functools.partial(agents.record_exits, finished),
                            ),
                        )
                    continue
                if chosen is Mode.DRY_RUN or not summary.sweep.retried or retries >= YOUNG_RETRIES:
                    break
                # `--once` drains the queue: a file still being written gets one more look.
                retries += 1
                if stop.wait(queue.YOUNG_SECONDS + 0.1):
                    break  # asked to stop while waiting
                summary.sweep.retried = 0
                _again(summary, sweep_and_verify(ws, store, chosen, on_event, stop, agents))
            if chosen is not Mode.DRY_RUN and not stop.is_set():
                summary.sweep.events += len(_watch(Monitor(ws, store, on_event, agents.busy).scan))
                # Worktrees of WPs finished keep_days ago (SPEC 11.4).
                summary.sweep.events += len(Pruner(ws, store, on_event, agents.busy).tick())
        finally:
            agents.stop_all()
        summary.agents = agents.counts
        return summary


@contextlib.contextmanager
def _notifying(
    ws: Workspace, store: Store, mode: Mode, on_event: Callable[[Event], None] | None
) -> Iterator[Callable[[Event], None] | None]:
    """`on_event`, also running the owner's notify hook for the events that need them
    (never in a dry run: its events are the plan, not history)."""
    if mode is Mode.DRY_RUN or ws.config.notify.command is None:
        yield on_event
        return
    notifier = Notifier(ws, store)

    def both(event: Event) -> None:
        if on_event is not None:
            on_event(event)
        notifier(event)

    try:
        yield both
    finally:
        notifier.reap(final=True)


def _watch(scan: Callable[[], list[Event]]) -> list[Event]:
    """The progress monitor's scan (the flags it raised); its failure is logged, never the
    runner's end."""
    try:
        return scan()
    except Exception:
        log_.exception("the progress monitor's scan failed; the runner goes on")
        return []


def _again(summary: RunSummary, again: RunSummary) -> None:
    summary.sweep.merge(again.sweep)
    summary.verifications += again.verifications


def _machinery(
    ws: Workspace,
    store: Store,
    mode: Mode,
    on_event: Callable[[Event], None] | None,
    stop: threading.Event | None,
    agents: Agents | None = None,
) -> tuple[AutoVerifier, Sweeper]:
    """The sweeper and the gate runs it triggers after each ingested entry (and, in a
    dry run, the agents' plan on the state the sweep would leave)."""
    verifier = AutoVerifier(ws, store, mode, on_event, stop, agents.busy if agents else None)
    sweeper = Sweeper(
        ws,
        store,
        dry_run=mode is Mode.DRY_RUN,
        on_event=on_event,
        after_ingest=verifier,
        planned=agents.plan if agents is not None else None,
    )
    return verifier, sweeper


def sweep_and_verify(
    ws: Workspace,
    store: Store,
    mode: Mode | None = None,
    on_event: Callable[[Event], None] | None = None,
    stop: threading.Event | None = None,
    agents: Agents | None = None,
    before_verify: Callable[[], None] | None = None,
) -> RunSummary:
    """One sweep plus the gate runs that are due, for a caller that already holds the
    runner lock (run_once, the TUI when it is the ingester). Agents are the runner's:
    the TUI ingests and verifies but starts none. `before_verify` runs between the two
    (the runner records its agents' exits there)."""
    mode = mode or ws.config.runner.mode
    verifier, sweeper = _machinery(ws, store, mode, on_event, stop, agents)
    try:
        result = sweeper.sweep(stop)
    finally:
        if before_verify is not None:
            before_verify()  # even if the sweep failed: an exit is never left unrecorded
    verifier.verify_due(stop)
    result.events += verifier.events
    return RunSummary(mode, result, verifier.results)


def run_forever(
    ws: Workspace,
    store: Store,
    stop: threading.Event,
    mode: Mode | None = None,
    on_event: Callable[[Event], None] | None = None,
    on_sweep: Callable[[SweepResult], None] | None = None,
    rescan_seconds: float = RESCAN_SECONDS,
    on_start: Callable[[], None] | None = None,
) -> RunSummary:
    """Sweep on start, then on every batch of watch events and every `rescan_seconds`,
    until `stop` is set. Entries are committed in batches (group commit), one transaction
    each, and a batch takes no more entries once `stop` is set, so stopping between sweeps
    or entries leaves nothing half-written."""
    import watchfiles

    mode = mode or ws.config.runner.mode
    total = SweepResult()
    dry = mode is Mode.DRY_RUN
    lock = contextlib.nullcontext() if dry else RunnerLock(ws)
    with lock, _notifying(ws, store, mode, on_event) as on_event:
        if not dry:
            record.attach(ws, store)  # the runner's events are signed with its key
        if on_start is not None:
            on_start()
        agents = Agents(ws, store, mode, on_event)
        verifier, sweeper = _machinery(ws, store, mode, on_event, stop, agents)
        monitor = Monitor(ws, store, on_event, agents.busy)
        pruner = Pruner(ws, store, on_event, agents.busy)  # finished worktrees (SPEC 11.4)
        if not dry:
            ws.ensure_dirs()
        try:
            agents.recover_lost()
            while not stop.is_set():
                finished = agents.reap()
                before = verifier.events
                try:
                    result = sweeper.sweep(stop)
                finally:
                    agents.record_exits(finished)  # before their claims are verified
                verifier.verify_due(stop)
                result.events += verifier.events - before
                total.merge(result)
                if on_sweep is not None:
                    on_sweep(result)
                if mode is Mode.DRY_RUN:
                    break
                total.events += len(_watch(monitor.tick))
                total.events += len(pruner.tick())
                agents.tick()
                # While agents run, look every second so they are reaped (and timed out)
                # promptly; otherwise the watcher's hints and the periodic rescan suffice.
                wait = min(rescan_seconds, 1.0) if agents.running else rescan_seconds
                for _changes in watchfiles.watch(
                    ws.queue_dir("new"),
                    stop_event=stop,
                    rust_timeout=int(wait * 1000),
                    yield_on_timeout=True,
                    debounce=200,
                    raise_interrupt=False,
                ):
                    break  # a hint or a timeout: sweep again
        finally:
            agents.stop_all()
    return RunSummary(mode, total, verifier.results, agents.counts)


def run_logged(
    ws: Workspace,
    store: Store,
    stop: threading.Event,
    mode: Mode | None,
    write: Callable[[str], None],
    *,
    once: bool = False,
) -> RunSummary:
    """`run_forever` (or `run_once`) writing one JSON object per line: `start` (once the
    lock is held), every `event`, every `sweep` that did something, and `stop`."""
    chosen = mode or ws.config.runner.mode

    def line(record: dict[str, Any]) -> None:
        write(json.dumps({"ts": format_ts(utc_now()), **record}, sort_keys=True))

    def on_event(event: Event) -> None:
        # A dry run's events are rolled back: they are the plan, not history, and get no seq.
        planned = chosen is Mode.DRY_RUN
        record: dict[str, Any] = {
            "log": "planned_event" if planned else "event",
            **({} if planned else {"seq": event.seq}),
            "type": event.type,
            "work_package": event.work_package,
            "entry_id": event.entry_id,
            "principal": event.principal,
        }
        for key in (
            *("outcome", "blocking_predicate", "code", "exit_code", "timed_out", "error"),
            *("reason", "sandbox", "sandbox_warning"),  # an unsandboxed agent, said loudly
            "driver",
        ):
            if key in event.payload:
                record[key] = event.payload[key]
        usage = event.payload.get("usage")
        if isinstance(usage, dict):  # what a driver's run cost (SPEC 9.1)
            record["cost_usd"] = usage.get("cost_usd")
        line(record)

    def on_sweep(result: SweepResult) -> None:
        if any(result.counts().values()):
            failed = [r["file"] for r in result.log if r.get("outcome") == "error"]
            line({"log": "sweep", **result.counts(), **({"failed": failed} if failed else {})})

    def on_start() -> None:
        line({"log": "start", "workspace": str(ws.root), "mode": chosen.value, "pid": os.getpid()})

    if once:
        on_start()
        summary = run_once(ws, store, chosen, on_event=on_event, stop=stop)
    else:
        summary = run_forever(
            ws, store, stop, chosen, on_event=on_event, on_sweep=on_sweep, on_start=on_start
        )
    line({"log": "stop", **summary.sweep.counts()})
    return summary
