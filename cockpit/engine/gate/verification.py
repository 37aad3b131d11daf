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
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.domain import Capability, EventType, Mode, State
from cockpit.engine.canon import redaction
from cockpit.engine.gate.advisory import advisory_id
from cockpit.engine.gate.predicates import (
    CommandResult,
    Decision,
    GateInput,
    HistoryItem,
    Outcome,
    Packet,
    evaluate,
)
from cockpit.engine.lifecycle.transitions import Trigger, transition
from cockpit.engine.repo import gitops, worktrees
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import NotFound, Refused
from cockpit.store import Event, NewEvent, Store

# Directories of a workspace root that are Cockpit's own state, not the work product.
_STATE_DIRS = frozenset({".cockpit", "queue", "handoffs", "worktrees", ".git"})
OUTPUT_TAIL = 2000


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


def worktree_root(ws: Workspace, wp: dict[str, Any]) -> Path:
    """Where the WP's work product is: its worktree, or the workspace root."""
    return worktrees.worktree_path(ws, wp["id"]) if wp.get("target_repo") else ws.root


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


def _digest(path: Path) -> str:
    """A file's fingerprint, never blocking on a FIFO nor following a link."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):
        return f"special:{stat.S_IFMT(info.st_mode):o}"
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def snapshot(root: Path, *, workspace_root: bool) -> dict[str, str]:
    """Fingerprint of every file under `root` (Cockpit's own state excluded): before and
    after verification they must be equal."""
    digests: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if workspace_root and rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in _STATE_DIRS]
        else:
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            try:
                digests[rel] = _digest(Path(dirpath) / name)
            except OSError as exc:
                digests[rel] = f"unreadable:{exc.errno}"
    return digests


def _diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def run_command(
    command: str,
    cwd: Path,
    timeout_s: int,
    env: dict[str, str],
    stop: threading.Event | None = None,
) -> CommandResult:
    """Run one validation command with `sh -c` in `cwd`. Its output goes to a temporary
    file (only the tail is kept); its whole process group is killed on timeout or when
    `stop` is set (the runner is shutting down)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        try:
            proc = subprocess.Popen(
                ["sh", "-c", command],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return CommandResult(command, None, 0, error=str(exc))
        deadline = started + timeout_s
        timed_out = interrupted = False
        while proc.poll() is None:
            if stop is not None and stop.is_set():
                interrupted = True
            elif time.monotonic() >= deadline:
                timed_out = True
            else:
                time.sleep(0.05)
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        duration = int((time.monotonic() - started) * 1000)
        size = output.seek(0, os.SEEK_END)
        output.seek(max(size - OUTPUT_TAIL * 4, 0))
        # What a command printed goes into the audit chain: never a secret it printed.
        tail = redaction.redact(output.read().decode("utf-8", "replace")[-OUTPUT_TAIL:])
    if interrupted:
        return CommandResult(
            command, None, duration, error="interrupted: the runner is stopping", output_tail=tail
        )
    return CommandResult(
        command, None if timed_out else proc.returncode, duration, timed_out, None, tail
    )


# What validation commands inherit from the runner: enough to find tools, nothing secret.
_ENV_ALLOWED = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "TZ",
    "TMPDIR",
    "TERM",
    "VIRTUAL_ENV",
)


def validation_env(ws: Workspace, wp_id: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _ENV_ALLOWED or k.startswith("LC_")}
    env.update(
        COCKPIT_WORKSPACE=str(ws.root),
        COCKPIT_WORK_PACKAGE=wp_id,
        PYTHONDONTWRITEBYTECODE="1",  # validation must leave the tree byte-identical
    )
    # The runner's interpreter directory first, as for agents: `python3` in a validation
    # command is the same interpreter the agent that wrote the code ran with.
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join([bindir, env.get("PATH", os.defpath)])
    return env


_git = gitops.run


def base_commit(ws: Workspace, store: Store, wp: dict[str, Any], root: Path) -> str:
    """What changed files are measured against: the base commit recorded when the runner
    made the worktree; else the WP's `base_ref`; else the commit the worktree branched
    from the target repo's checked-out HEAD (never the worktree's own moving HEAD, which
    would hide committed changes)."""
    recorded = worktrees.recorded_base(store, wp["id"])
    if recorded:
        return recorded
    if wp.get("base_ref"):
        return str(wp["base_ref"])
    target_head = _git(worktrees.target_repo_path(ws, wp), "rev-parse", "HEAD").strip()
    return _git(root, "merge-base", "HEAD", target_head).strip()


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


def withholds(mode: Mode, wp: dict[str, Any], canary_labels: list[str]) -> bool:
    """True if `mode` withholds admission from this WP (SPEC 9)."""
    if mode in (Mode.DRY_RUN, Mode.SHADOW):
        return True
    if mode is Mode.CANARY:
        return not set(wp.get("labels") or []) & set(canary_labels)
    return False


def gather(
    ws: Workspace,
    store: Store,
    wp: dict[str, Any],
    *,
    run_commands: bool,
    stop: threading.Event | None = None,
) -> GateInput:
    """Collect every fact the gate needs; run validation and list changed files."""
    claim = current_claim(store, wp["id"])
    packets = _referenced_packets(store, wp["id"], claim)
    root = worktree_root(ws, wp)
    body = wp.get("body") or {}
    validation: list[CommandResult] | None = None
    validation_error = changed_error = None
    changed: list[str] | None = None
    tree: str | None = None
    planted: list[str] = []
    git_dir: list[str] = []
    tip: str | None = None
    if wp.get("target_repo"):
        if not root.is_dir():
            changed_error = f"the worktree {root} does not exist"
        else:
            try:
                where = worktrees.open_worktree(ws, store, wp)
                base = gitops.rev(where, base_commit(ws, store, wp, root))
                content = gitops.changes(where, base)
                # What is committed counts too (SPEC 9): the worktree's HEAD and the WP's
                # branch, which is what gets merged, even if the files on disk differ.
                branch = f"refs/heads/{worktrees.branch_name(wp['id'])}"
                committed = gitops.committed(where, base, "HEAD", branch)
                with contextlib.suppress(gitops.GitError):
                    tip = gitops.rev(where, branch)
                changed, tree = sorted(set(content.paths) | set(committed)), content.tree
                planted = sorted(worktrees.planted_replace_refs(store, where, wp["id"]))
                git_dir = worktrees.git_dir_changes(store, where, wp["id"])
            except Exception as exc:  # git's own errors are many; any of them is `error`
                changed_error = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
    commands = body.get("validation_commands") or []
    if commands:
        if wp.get("target_repo") and changed_error is not None:
            # Never run commands in a worktree that is not the one made for the WP.
            validation_error = f"validation not run: {changed_error}"
        elif not run_commands:
            validation_error = "validation commands are not run in dry-run mode"
        elif not root.is_dir():
            validation_error = f"the worktree {root} does not exist"
        else:
            before = snapshot(root, workspace_root=root == ws.root)
            env = validation_env(ws, wp["id"])
            timeout = ws.config.policy.validation_timeout_s
            validation = [run_command(c, root, timeout, env, stop) for c in commands]
            changed_by_gate = _diff(before, snapshot(root, workspace_root=root == ws.root))
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
        evidence_files=evidence_files,
        planted_refs=planted,
        git_dir_changes=git_dir,
    )


_OUTCOME_TRIGGERS = {
    Outcome.SUCCESS: Trigger.VERIFY_SUCCESS,
    Outcome.BLOCKED: Trigger.VERIFY_BLOCKED,
    Outcome.FAILED: Trigger.VERIFY_FAILED,
    Outcome.SKIPPED: Trigger.VERIFY_SKIPPED,
}


def refreshed(facts: GateInput, store: Store, wp: dict[str, Any]) -> GateInput:
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
) -> GateRun:
    """Verify the WP's current claim as `verifier` in `mode`.

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
    facts = gather(ws, store, wp, run_commands=mode is not Mode.DRY_RUN, stop=stop)
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
                },
            )
        )
        target = transition(verifying, _OUTCOME_TRIGGERS[decision.outcome])
        completed = store.append(
            NewEvent(
                EventType.VERIFY_COMPLETED,
                wp_id,
                verifier,
                None,
                _completed_payload(facts, decision, mode, verifier, duration, target),
            )
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
        "summary": {
            k: document[k]
            for k in ("outcome", "acceptance_status", "blocking_predicate", "blocked_reason_class")
        },
        "transition": {"from": State.VERIFYING.value, "to": target.value},
        "edges": [{"from": "@self", "to": claim.id, "rel": "verifies"}] if claim else [],
    }
