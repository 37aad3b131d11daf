"""What a driver files for its agent after the CLI exited (SPEC 9.1), signed with the
run's agent key (SPEC 10.2), once every process of the run is gone.

- Scope stage (`dispatched`): a scope confirmation, `confirmed` when the agent's answer
  ends with `SCOPE: CONFIRMED`, its answer as the notes.
- Work stages (`in_progress`, `recovering`): measured here, never taken from what the
  agent said: the changed files (against the WP's base, committed or not), the diff stat,
  and each validation command run by the driver itself in the WP's sandbox on the
  read-only worktree, with its exit code, the SHA-256 of its output and the redacted
  tail. Then a new common-ground version, the evidence and a claim; the gate decides.
- Nothing is filed for a CLI that failed or a run that changed nothing: the run is
  recorded as such (`agent_failed` with the reason) and the WP needs its owner.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric import ed25519

from cockpit.engine.canon import redaction
from cockpit.engine.drivers import prompt
from cockpit.engine.drivers.base import Outcome
from cockpit.engine.gate import commands
from cockpit.engine.queue import maildir
from cockpit.engine.repo import content as repo_content
from cockpit.engine.repo import gitops, worktrees
from cockpit.engine.trust import sshsig
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Store
from cockpit.store.events import format_ts
from cockpit.store.rows import WorkPackageRow

SUMMARY_MAX = 1500
LISTED_MAX = 200  # changed paths named in the common ground


@dataclass(frozen=True)
class Measure:
    """The work product as it stands: its paths changed from the base (a target repo) or
    a fingerprint of the workspace's files (none), and one digest to compare runs by."""

    fingerprint: str
    changed: list[str] = field(default_factory=list)
    base: str | None = None
    tree: str | None = None
    files: dict[str, str] = field(default_factory=dict)


def measure(ws: Workspace, store: Store, wp: WorkPackageRow) -> Measure:
    """Raises GitError or OSError when the worktree cannot be read."""
    if wp.get("target_repo"):
        where = worktrees.open_worktree(ws, store, wp)
        root = worktrees.worktree_path(ws, wp["id"])
        base = gitops.rev(where, worktrees.base_commit(ws, store, wp, root))
        found = repo_content.changes(where, base)
        return Measure(found.tree, found.paths, base, found.tree)
    files = commands.snapshot(ws.root, workspace_root=True)
    listing = "".join(f"{path}\0{digest}\n" for path, digest in sorted(files.items()))
    return Measure(hashlib.sha256(listing.encode()).hexdigest(), files=files)


@dataclass
class Filing:
    """What one run filed (the entry ids), or why nothing was."""

    filed: list[str] = field(default_factory=list)
    reason: str | None = None  # cli_failed | malformed_output | no_result | no_change | ...
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"filed": self.filed, **self.details}
        if self.reason:
            shown["reason"] = self.reason
            shown["problem"] = self.problem
        return shown


@dataclass
class RunFacts:
    """What the filing needs to know about the run."""

    wp: WorkPackageRow
    principal: str
    stage: str
    run: int
    driver: str
    key: ed25519.Ed25519PrivateKey
    before: Measure | None
    outcome: Outcome
    # Signs the evidence the driver measured (SPEC 10.2: `measured_by: runner`); None
    # when the workspace has no runner key (`signatures: optional`): left unsigned then.
    runner_key: ed25519.Ed25519PrivateKey | None = None


def _stamp(moment: datetime) -> str:
    return format_ts(moment)


def _entry_id(prefix: str, wp_id: str, run: int) -> str:
    """An id unique forever: the WP and the run's number (a digest when too long)."""
    candidate = f"{prefix}-{wp_id}-r{run}"
    if len(candidate) <= 64:
        return candidate
    return f"{prefix}-{hashlib.sha256(candidate.encode()).hexdigest()[:40]}-r{run}"


class Filer:
    """Writes, signs and delivers one run's entries into `queue/new/`."""

    def __init__(self, ws: Workspace, store: Store, facts: RunFacts) -> None:
        self.ws = ws
        self.store = store
        self.facts = facts
        self.now = store.clock().replace(microsecond=0)
        self.filing = Filing()

    def _deliver(
        self,
        kind: str,
        entry_id: str,
        offset: int,
        body: dict[str, Any],
        refs: list[str],
        *,
        measured: bool = False,
    ) -> str:
        """Write, sign (the run's key; the runner's for what it `measured`) and deliver."""
        wp = self.facts.wp
        document: dict[str, Any] = {
            "schema": "cockpit.entry/v1",
            "kind": kind,
            "id": entry_id,
            "work_package": wp["id"],
            "principal": self.facts.principal,
            "tenant": self.ws.config.tenant,
            "created": _stamp(self.now + timedelta(seconds=offset)),
            "refs": refs,
            "body": body,
        }
        if self.ws.config.workspace:
            document["workspace"] = self.ws.config.workspace
        data = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100).encode()
        key = self.facts.runner_key if measured else self.facts.key
        signature = sshsig.sign(key, data, sshsig.ENTRY).encode() if key is not None else None
        maildir.deliver_pair(
            self.ws.queue_dir("new"), self.ws.queue_dir("tmp"), f"{entry_id}.yaml", data, signature
        )
        self.filing.filed.append(entry_id)
        return hashlib.sha256(data).hexdigest()

    def scope(self) -> Filing:
        confirmed, notes = prompt.scope_answer(self.facts.outcome.final_message)
        notes = redaction.redact(notes)
        body = {"confirmed": confirmed, "notes": notes}
        self._deliver(
            "scope_confirmation", _entry_id("SCP", self.facts.wp["id"], self.facts.run), 0, body, []
        )
        return self.filing

    def work(self, after: Measure, stop: threading.Event | None) -> Filing:
        wp, run = self.facts.wp, self.facts.run
        body = wp.get("body") or {}
        changed = (
            after.changed
            if wp.get("target_repo")
            else commands.changed_paths(
                self.facts.before.files if self.facts.before else {}, after.files
            )
        )
        results = self._validate(stop)
        stat = self._diff_stat(after)
        grounds = self.store.entries(wp["id"], "common_ground")
        version = int((grounds[-1].get("body") or {}).get("version") or 0) + 1 if grounds else 1
        listed = changed[:LISTED_MAX]
        facts = [f"changed files ({len(changed)}): {', '.join(listed) or 'none'}"]
        if stat:
            facts.append(f"diff stat: {stat.splitlines()[-1].strip()}")
        for result in results:
            facts.append(f"`{result.command}` exited {result.exit_code}")
        ground_id = _entry_id("CG", wp["id"], run)
        ground_hash = self._deliver(
            "common_ground",
            ground_id,
            0,
            {
                "version": version,
                "objective": body.get("objective"),
                "accepted_facts": facts,
                "open_questions": [],
                "assumptions": [f"measured by Cockpit's {self.facts.driver} driver after the run"],
                "success_criteria": body.get("success_criteria") or [],
                "stage": "claim",
            },
            [],
        )
        root = worktrees.worktree_root(self.ws, wp)
        items: list[dict[str, Any]] = []
        for path in changed:
            item: dict[str, Any] = {"class": "source_trace", "ref": path}
            target = root / path
            if target.is_file() and not target.is_symlink():
                with contextlib.suppress(OSError):
                    item["sha256"] = commands.file_digest(target)
            items.append(item)
        anchor = changed[0] if changed else "."
        for result in results:
            log = f"output sha256: {result.output_sha256}\n{result.output_tail}"
            if result.error:
                log = f"{result.error}\n{log}"
            items.append(
                {
                    "class": "local_command_proof",
                    "ref": anchor,
                    "command": result.command,
                    "exit_code": result.exit_code,
                    "log": redaction.redact(log),
                }
            )
        evidence_id = _entry_id("EVD", wp["id"], run)
        self._deliver(
            "evidence",
            evidence_id,
            1,
            {
                "items": items,
                "missing": [] if results else ["not_proven"],
                "quality": f"measured by Cockpit's {self.facts.driver} driver"
                + (f"; diff stat: {stat.splitlines()[-1].strip()}" if stat else ""),
                "measured_by": "runner",
            },
            [],
            measured=True,
        )
        said = redaction.redact((self.facts.outcome.final_message or "").strip())
        summary = f"{self.facts.driver} run {run}: {len(changed)} file(s) changed"
        if results:
            passed = sum(1 for r in results if r.exit_code == 0)
            summary += f", {passed} of {len(results)} validation command(s) passed"
        if said:
            summary += f". The agent's last words: {said[:SUMMARY_MAX]}"
        self._deliver(
            "claim",
            _entry_id("CLM", wp["id"], run),
            2,
            {
                "done_state": "done",
                "common_ground": {"id": ground_id, "version": version, "hash": ground_hash},
                "evidence": [evidence_id],
                "owner": body.get("owner"),
                "accountable": body.get("accountable"),
                "unresolved_questions": [],
                "summary": summary,
            },
            [ground_id, evidence_id],
        )
        self.filing.details["changed"] = len(changed)
        self.filing.details["validation"] = [
            {"command": r.command, "exit_code": r.exit_code, "timed_out": r.timed_out}
            for r in results
        ]
        return self.filing

    def _validate(self, stop: threading.Event | None) -> list[Any]:
        wp = self.facts.wp
        cmds = (wp.get("body") or {}).get("validation_commands") or []
        if not cmds:
            return []
        cwd = worktrees.worktree_root(self.ws, wp)
        confinement = commands.validation_sandbox(self.ws, wp)
        env = commands.validation_env(self.ws, wp["id"])
        timeout = self.ws.config.policy.validation_timeout_s
        return [commands.run_command(c, cwd, timeout, env, stop, confinement) for c in cmds]

    def _diff_stat(self, after: Measure) -> str:
        if after.base is None or after.tree is None:
            return ""
        try:
            where = worktrees.open_worktree(self.ws, self.store, self.facts.wp)
            return gitops.run(where, "diff", "--stat=100", after.base, after.tree).strip()
        except (gitops.GitError, OSError):
            return ""


def file_run(
    ws: Workspace,
    store: Store,
    facts: RunFacts,
    stop: threading.Event | None = None,
) -> Filing:
    """File what the run's stage needs, or say why nothing was filed."""
    outcome = facts.outcome
    if not outcome.ok:
        return Filing(reason=outcome.reason or "cli_failed", problem=outcome.problem)
    filer = Filer(ws, store, facts)
    if facts.stage == "dispatched":
        return filer.scope()
    try:
        after = measure(ws, store, facts.wp)
    except (gitops.GitError, OSError) as exc:
        return Filing(reason="unmeasured", problem=f"the worktree could not be measured: {exc}")
    if facts.before is not None and after.fingerprint == facts.before.fingerprint:
        return Filing(
            reason="no_change",
            problem=f"the {facts.driver} agent changed nothing in its run {facts.run}, so no "
            "claim was filed",
        )
    return filer.work(after, stop)
