"""Driver runs (SPEC 9.1) in the runner: before the CLI starts, what may stop it (a
missing CLI, an exhausted budget, a tampered session) and what it is given (its home's
credentials, the session it resumes, the prompt, its environment); after it ended, the
transcript's last lines, the CLI's usage, what the driver files for the agent, and the
digest of the session store it leaves.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cockpit.domain import EventType
from cockpit.engine.config.model import LaneConfig
from cockpit.engine.drivers import filing, home, prompt, sessions
from cockpit.engine.drivers.base import Driver, Outcome, RunRequest
from cockpit.engine.drivers.filing import Filing, Measure
from cockpit.engine.drivers.transcript import TranscriptWriter
from cockpit.engine.gate import commands
from cockpit.engine.repo import gitops
from cockpit.engine.runner import processes
from cockpit.engine.runner.handoff import handoff_document
from cockpit.engine.trust import keys
from cockpit.engine.trust.keys import HeldKey
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import ConfigError
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow

# What a CLI needs beyond the validation commands' allow-list: proxies and CA bundles.
_NETWORK_ENV = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NODE_EXTRA_CA_CERTS",
)
log_ = logging.getLogger(__name__)
OUTPUT_MAX = 64 << 20  # bytes one run may print before it is stopped (`output_flood`)


class Refusal(Exception):
    """The run is not started: `reason` (a stable code) and one sentence."""

    def __init__(self, reason: str, error: str, *, quiet: bool = False) -> None:
        super().__init__(error)
        self.reason = reason
        self.error = error
        self.quiet = quiet  # already on record for this stage: not recorded again

    def event(self, wp_id: str, by: str, **extra: Any) -> NewEvent:
        payload = {"reason": self.reason, "error": self.error, **extra}
        return NewEvent(EventType.AGENT_FAILED, wp_id, by, None, payload)


@dataclass
class DrivenRun:
    """A driver's run: what it was given, and (after it ended) what came of it."""

    driver: Driver
    stage: str
    home: Path
    resumed: str | None
    before: Measure | None
    key: HeldKey | None = None
    outcome: Outcome | None = None
    filing: Filing | None = None
    digest: str | None = None
    extra_ro: list[Path] = field(default_factory=list)

    def exit_payload(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"driver": self.driver.name}
        if self.outcome is not None:
            shown["usage"] = self.outcome.usage.payload()
            shown["cli_ok"] = self.outcome.ok
        if self.resumed:
            shown["resumed"] = self.resumed
        if self.digest is not None:
            shown["session_digest"] = self.digest
        if self.filing is not None:
            shown["filing"] = self.filing.payload()
        return shown


def program(driver: Driver, lane: LaneConfig, root: Path, path: str | None) -> list[str]:
    """The CLI's executable: the lane's `command` (relative paths against the workspace
    root), else the driver's binary on PATH; Refusal `cli_missing` when it is not there."""
    if lane.command:
        argv = list(lane.command)
        if "/" in argv[0] and not os.path.isabs(argv[0]):
            argv[0] = str((root / argv[0]).resolve())
    else:
        argv = [driver.binary]
    if shutil.which(argv[0], path=path) is None:
        where = (
            "the lane's `command` names, is not there (check the path)"
            if lane.command
            else "is not installed on the runner's PATH (install it, or set the lane's "
            "`command` to its path)"
        )
        raise Refusal(
            "cli_missing",
            f"the {driver.name} driver needs {driver.cli}'s `{argv[0]}` executable, which {where}",
        )
    return argv


def check_budget(lane: LaneConfig, events: list[Event], stage_start: int) -> Decimal | None:
    """Dollars left of the WP's `budget_usd` (None: no budget); Refusal once it is spent.
    The refusal is recorded once per stage: None is returned silently after that."""
    if lane.budget_usd is None:
        return None
    spent, unknown = sessions.spent(events)
    left = max(lane.budget_usd - spent, Decimal(0))
    if left > 0 and not unknown:
        return left
    already = any(
        e.type == EventType.AGENT_FAILED
        and e.seq > stage_start
        and e.payload.get("reason") == "budget_exhausted"
        for e in events
    )
    why = f"has cost ${spent} of its lane's budget_usd ${lane.budget_usd}"
    if unknown:  # fail closed: a run whose cost nobody knows may have spent it all
        why += f", and {unknown} of its runs reported no cost, so the budget cannot be kept"
    raise Refusal(
        "budget_exhausted",
        f"the work package {why}; its agent is not started again (the owner raises the "
        "budget, or takes the work over)",
        quiet=already,
    )


def session_to_resume(driver: Driver, events: list[Event], home_dir: Path) -> str | None:
    """The CLI session this run resumes (its own id, from the record), if any; Refusal
    `session_tampered` when its store changed since that run ended."""
    if not driver.resumable:
        return None
    found = sessions.last_session(events, driver)
    if found is None:
        return None
    now = sessions.session_digest(home_dir, driver)
    if found.digest is not None and now != found.digest:
        raise Refusal(
            "session_tampered",
            f"the {driver.cli} session {found.session_id} changed on disk after its run "
            "ended, so it is not resumed (the owner inspects the agent's home, or starts "
            "the work afresh)",
        )
    return found.session_id


def environment(
    ws: Workspace,
    principal: str,
    wp_id: str,
    handoff: Path,
    cwd: Path,
    driver: Driver,
    home_dir: Path,
) -> dict[str, str]:
    """A CLI's environment: the allow-list of the commands run on worktrees, the CLI's own
    credential variables, proxies, Cockpit's variables, and its home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in commands.ENV_ALLOWED or k.startswith("LC_") or k in _NETWORK_ENV
    }
    env.update({k: os.environ[k] for k in driver.credential_env if k in os.environ})
    env["HOME"] = str(home_dir)
    return processes.agent_env(ws, principal, wp_id, handoff, cwd, base=env)


@dataclass
class Prepared:
    argv: list[str]
    env: dict[str, str]
    run: DrivenRun


def prepare(
    ws: Workspace,
    store: Store,
    wp: WorkPackageRow,
    driver: Driver,
    events: list[Event],
    handoff: Path,
    cwd: Path,
    home_dir: Path,
    *,
    sandboxed: bool,
    stage_start: int,
) -> Prepared:
    """Everything a driver's run starts with; raises Refusal (not started, and why),
    GitError or OSError."""
    lane = ws.config.lanes[wp["lane"]]
    principal = str(wp["assignee"])
    env = environment(ws, principal, wp["id"], handoff, cwd, driver, home_dir)
    argv0 = program(driver, lane, ws.root, env.get("PATH"))
    left = check_budget(lane, events, stage_start)
    extra_ro = home.prepare_home(home_dir, driver, home.owner_home())
    resumed = session_to_resume(driver, events, home_dir)
    stage = str(wp["state"])
    text = prompt.build(
        handoff_document(ws, store, wp),
        events,
        stage=stage,
        resumed=resumed is not None,
        since_seq=sessions.last_run_end(events),
    )
    before = filing.measure(ws, store, wp) if stage != "dispatched" else None
    request = RunRequest(
        program=argv0,
        prompt=text,
        stage=stage,
        home=home_dir,
        model=lane.model,
        args=tuple(lane.args),
        max_turns=lane.max_turns,
        budget_left=str(left) if left is not None else None,
        resume=resumed,
        sandboxed=sandboxed,
    )
    run = DrivenRun(driver, stage, home_dir, resumed, before, extra_ro=extra_ro)
    return Prepared(driver.argv(request), env, run)


def conclude(
    ws: Workspace,
    store: Store,
    running: Any,
    stop: threading.Event | None = None,
) -> None:
    """After the run's processes are gone (and its commits taken back): the transcript's
    last lines and the CLI's outcome, what the driver files, the session digest. Never
    raises: a driver's failure on one run is that run's `agent_failed`, and the runner
    goes on."""
    try:
        _conclude(ws, store, running, stop)
    except Exception as exc:
        log_.exception("%s: the driver failed on the run of %s", ws.root, running.wp_id)
        driven: DrivenRun | None = running.driven
        if driven is not None:
            driven.key = None
            driven.filing = Filing(
                reason="driver_error", problem=f"the driver failed: {type(exc).__name__}: {exc}"
            )


def _conclude(
    ws: Workspace,
    store: Store,
    running: Any,
    stop: threading.Event | None = None,
) -> None:
    transcript: TranscriptWriter | None = running.transcript
    driven: DrivenRun | None = running.driven
    exit_code = None if (running.timed_out or running.output_flooded) else running.proc.returncode
    flooded = running.output_flooded
    if driven is None:
        if transcript is not None:
            ended: dict[str, Any] = {"exit_code": exit_code, "timed_out": running.timed_out}
            transcript.finish(ended, cut=flooded)
        return
    assert transcript is not None
    transcript.drain(cut=flooded)
    outcome = transcript.reader.finish(exit_code)
    driven.outcome = outcome
    wp = store.work_package(running.wp_id)
    if running.timed_out:
        driven.filing = Filing(
            reason="timed_out",
            problem=f"the {driven.driver.cli} agent did not finish within its lane's "
            f"timeout_s ({running.timeout_s} s) and was stopped",
        )
    elif running.output_flooded:
        driven.filing = Filing(
            reason="output_flood",
            problem=f"the {driven.driver.cli} agent printed more than {OUTPUT_MAX >> 20} MiB "
            "in one run and was stopped",
        )
    elif running.stopped_by_runner or wp is None or driven.key is None:
        driven.filing = Filing()
    else:
        facts = filing.RunFacts(
            wp=wp,
            principal=running.principal,
            stage=driven.stage,
            run=running.attempt,
            driver=driven.driver.name,
            key=driven.key.private,
            before=driven.before,
            outcome=outcome,
            runner_key=_runner_key(ws),
        )
        try:
            driven.filing = filing.file_run(ws, store, facts, stop)
        except (OSError, gitops.GitError, ValueError) as exc:
            driven.filing = Filing(
                reason="filing_failed", problem=f"the driver could not file: {exc}"
            )
    driven.key = None  # the runner keeps nothing of the run's key after it filed
    driven.digest = sessions.session_digest(driven.home, driven.driver)
    ending: dict[str, Any] = {"exit_code": exit_code, "timed_out": running.timed_out}
    if driven.filing is not None and driven.filing.reason:
        ending.update(reason=driven.filing.reason, problem=driven.filing.problem)
    transcript.finish(ending)


def _runner_key(ws: Workspace) -> Ed25519PrivateKey | None:
    """The runner key's private half, to sign the evidence the driver measured."""
    try:
        held = keys.runner_key(ws)
    except ConfigError:
        return None
    return held.private if held is not None else None


def failed_event(running: Any, by: str) -> NewEvent | None:
    """`agent_failed` for a driver run that filed nothing (with the reason), else None."""
    driven: DrivenRun | None = running.driven
    if driven is None or driven.filing is None or not driven.filing.reason:
        return None
    if driven.filing.reason == "timed_out":
        return None  # `agent_exited` says so (timed_out), and flags the WP
    payload = {
        "reason": driven.filing.reason,
        "error": driven.filing.problem,
        "launch": running.launch_seq,
        "driver": driven.driver.name,
    }
    return NewEvent(EventType.AGENT_FAILED, running.wp_id, by, None, payload)
