"""The worktree's setup command (SPEC 11.4): run once in a new worktree, in the WP's
sandbox, before its agent's first start, and only while the setup script's content is
one the owner approved.

The script is `worktrees.setup`'s last argument. Its content is read with git from the
target repo at the WP's base commit (never from the worktree or a branch an agent
wrote), and its sha256 must be `worktrees.setup_sha256` or one a `setup_approved` event
recorded for that repository (`cockpit worktrees approve-setup`). Otherwise the agent is
not started: `agent_failed`, reason `setup_unapproved`, naming the new hash and the
command that approves it (recorded once per hash: the runner looks again, quietly, when
an approval lands). The worktree's own copy of the script must be that content too.

The command runs in the sandbox every command on a worktree shares (SPEC 10.3), the one
validation gets (`validation_sandbox`): the worktree and the shared git directory
read-only, a fresh writable home and /tmp (both discarded when it ends), no signing key,
an allow-listed environment (with the WP's `COCKPIT_PORT` and `COCKPIT_PORTS`), the
network as `runner.sandbox_network` says. So a setup checks prerequisites and may warm
what lives outside the worktree; one that writes the worktree fails there. Under
`runner.sandbox: required` without a working bubblewrap it does not run (`setup_failed`);
under `off` (or `auto` without bubblewrap) it runs unconfined. It is bounded by the
lane's timeout; a failure is `agent_failed`, reason `setup_failed`, with the command's
exit code and redacted output tail. A setup that passed is recorded on the
`agent_started` that follows it (`payload.setup`); it runs again only for a worktree made
again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import EventType
from cockpit.engine.canon import redaction
from cockpit.engine.gate.commands import SANDBOX_HOME, validation_env, validation_sandbox
from cockpit.engine.repo import gitops, provisioning, sandbox, worktrees
from cockpit.engine.runner.provision import RUNNER_PRINCIPAL, ports_env
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow

OUTPUT_TAIL = 2000
APPROVE = "cockpit worktrees approve-setup"


@dataclass(frozen=True)
class SetupOutcome:
    """What became of a setup: `ok` (then `ran` goes on `agent_started`), or the event to
    record (None: the refusal is on record already)."""

    ok: bool
    ran: dict[str, Any] | None = None
    failed: NewEvent | None = None


def _since_made(events: list[Event]) -> list[Event]:
    made = max((e.seq for e in events if e.type == EventType.WORKTREE_PROVISIONED), default=0)
    return [e for e in events if e.seq > made]


def pending(ws: Workspace, wp: WorkPackageRow, events: list[Event]) -> bool:
    """Whether the WP's worktree still needs its setup: one is configured, and no agent
    started since the worktree was made."""
    if ws.config.worktrees.setup is None or not wp.get("target_repo"):
        return False
    return not any(e.type == EventType.AGENT_STARTED for e in _since_made(events))


def _failed(wp_id: str, reason: str, error: str, **more: Any) -> NewEvent:
    payload = {"reason": reason, "error": error, **more}
    return NewEvent(EventType.AGENT_FAILED, wp_id, RUNNER_PRINCIPAL, None, payload)


def approve_hint(ws: Workspace, wp: WorkPackageRow, repo: Path, base: str) -> str:
    """The command that approves the script as the WP's base commit holds it."""
    named = str(wp["target_repo"])
    try:
        at_head = gitops.rev(repo, "HEAD") == base
    except gitops.GitError:
        at_head = False
    return f"`{APPROVE} {named}" + ("" if at_head else f" --ref {base[:12]}") + "`"


def run_setup(ws: Workspace, store: Store, wp: WorkPackageRow, events: list[Event]) -> SetupOutcome:
    """Check the setup script's approval and run the setup command in the WP's new
    worktree (see the module text)."""
    wp_id = wp["id"]
    settings = ws.config.worktrees
    assert settings.setup is not None and settings.setup_script is not None
    repo = worktrees.target_repo_path(ws, wp)
    base = worktrees.recorded_base(store, wp_id)
    path = settings.setup_script
    if base is None:
        return SetupOutcome(False, failed=_failed(wp_id, "setup_failed", "no base commit"))
    try:
        script = provisioning.script_at(repo, base, path)
    except Refused as exc:
        return SetupOutcome(False, failed=_failed(wp_id, "setup_failed", str(exc), script=path))
    if script.sha256 not in provisioning.approved_hashes(ws, store, repo):
        said = [
            e.payload
            for e in _since_made(events)
            if e.type == EventType.AGENT_FAILED and e.payload.get("reason") == "setup_unapproved"
        ]
        if said and said[-1].get("sha256") == script.sha256:
            return SetupOutcome(False)  # said once; the runner looks again on approval
        error = (
            f"the setup script {path} at {base[:12]} of {wp['target_repo']} has sha256 "
            f"{script.sha256}, which the owner has not approved, so the agent of {wp_id} was "
            f"not started: the owner reads the script and approves it with "
            f"{approve_hint(ws, wp, repo, base)}"
        )
        return SetupOutcome(
            False,
            failed=_failed(
                wp_id, "setup_unapproved", error, sha256=script.sha256, script=path, commit=base
            ),
        )
    worktree = worktrees.worktree_path(ws, wp_id)
    if provisioning.file_digest(worktree, path) != script.sha256:
        error = (
            f"the worktree's {path} is not the approved content of the base commit "
            f"{base[:12]}, so the setup of {wp_id} was not run"
        )
        return SetupOutcome(False, failed=_failed(wp_id, "setup_failed", error, script=path))
    ran = _run(ws, store, wp, worktree)
    ran.update(script=path, sha256=script.sha256)
    if ran.get("exit_code") == 0:
        return SetupOutcome(True, ran=ran)
    shown = " ".join(settings.setup)
    if ran.get("error"):
        error = f"the setup command `{shown}` of {wp_id} could not run: {ran['error']}"
    elif ran.get("timed_out"):
        error = f"the setup command `{shown}` of {wp_id} timed out after {ran['timeout_s']} s"
    else:
        error = f"the setup command `{shown}` of {wp_id} exited with code {ran['exit_code']}"
    return SetupOutcome(False, failed=_failed(wp_id, "setup_failed", error, setup=ran))


def _run(ws: Workspace, store: Store, wp: WorkPackageRow, worktree: Path) -> dict[str, Any]:
    """Run the setup command in the WP's sandbox, its worktree read-only; what happened
    (for the record)."""
    command = list(ws.config.worktrees.setup or [])
    lane = ws.config.lanes.get(str(wp["lane"]))
    timeout_s = lane.timeout_s if lane is not None else ws.config.policy.validation_timeout_s
    confinement = validation_sandbox(ws, wp, worktree)
    available, box = confinement.available, confinement.box
    ran: dict[str, Any] = {
        "command": command,
        "sandbox": available.confined_by,
        "timeout_s": timeout_s,
    }
    if box is None and confinement.required:
        problem = f"runner.sandbox is required and {available.problem}"
        return {**ran, "exit_code": None, "error": problem}
    env = validation_env(ws, wp["id"])
    env.update(COCKPIT_WORKTREE=str(worktree), **ports_env(store, wp["id"]))
    if box is not None:
        env.update(HOME=SANDBOX_HOME, TMPDIR="/tmp")
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        try:
            confined = sandbox.start(
                command,
                cwd=worktree,
                env=env,
                stdout=output,
                box=box,
                bwrap=available.bwrap,
                network=ws.config.runner.sandbox_network and box is not None,
            )
        except (OSError, sandbox.SandboxError) as exc:
            return {**ran, "exit_code": None, "error": getattr(exc, "strerror", None) or str(exc)}
        timed_out = False
        while confined.proc.poll() is None:
            if time.monotonic() - started >= timeout_s:
                timed_out = True
                break
            time.sleep(0.05)
        confined.stop()  # nothing it started outlives it
        size = output.seek(0, os.SEEK_END)
        output.seek(0)
        whole = hashlib.sha256()
        while chunk := output.read(1 << 20):
            whole.update(chunk)
        output.seek(max(size - OUTPUT_TAIL * 4, 0))
        tail = redaction.redact(output.read().decode("utf-8", "replace")[-OUTPUT_TAIL:])
    ran.update(
        exit_code=None if timed_out else confined.proc.returncode,
        timed_out=timed_out,
        duration_ms=int((time.monotonic() - started) * 1000),
        output_sha256=whole.hexdigest(),
        output_tail=tail,
    )
    return ran
