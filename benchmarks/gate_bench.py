"""The verify gate on real claims: N work packages, each booked against a real git repository
(owned and forbidden surfaces, one validation command), dispatched, scope confirmed, given
go, with common ground, passing evidence, a committed change in its own worktree and a
claim, all swept in from queue files as the runner would. Then `run_gate` (live) on each,
timed one by one: the median is `gate_verify_ms_p50`. The baseline is the one git call any
gate makes, `git diff --name-only BASE` in the same worktree, as a process."""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from cockpit.domain import Mode
from cockpit.engine.gate.verification import run_gate
from cockpit.engine.queue import maildir
from cockpit.engine.queue.sweep import Sweeper
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace

OWNER = "agent:implementer-1"
VERIFIER = "agent:verifier"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


def make_repo(path: Path) -> str:
    """A target repository with a base commit; returns its sha."""
    files = {
        "README.md": "# project\n",
        "src/app.py": "print('app')\n",
        "docs/readme.md": "docs\n",
        "secrets/key.txt": "not a real key\n",
    }
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Cockpit Bench")
    git(path, "config", "user.email", "bench@example.invalid")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    return git(path, "rev-parse", "HEAD")


def _entry(
    kind: str, entry_id: str, wp: str, principal: str, n: int, body: dict[str, Any]
) -> bytes:
    created = f"2026-11-21T10:{n // 60 % 60:02d}:{n % 60:02d}Z"
    lines = [
        "schema: cockpit.entry/v1",
        f"kind: {kind}",
        f"id: {entry_id}",
        f"work_package: {wp}",
        f"principal: {principal}",
        f"created: {created}",
        "body:",
        *(f"  {k}: {json.dumps(v)}" for k, v in body.items()),
    ]
    return ("\n".join(lines) + "\n").encode()


class Claims:
    """A workspace whose WPs wait in `claimed` for the gate."""

    def __init__(self, root: Path, count: int) -> None:
        self.ws = init_workspace(root / "ws", tenant="bench")
        self.repo = root / "repo"
        self.repo.mkdir(parents=True)
        self.base = make_repo(self.repo)
        self.wps = [f"WP-{n:03d}" for n in range(count)]
        self._n = 0
        for wp in self.wps:
            self._book(wp)
        self._sweep()
        for wp in self.wps:
            self._work(wp)
        self._sweep()

    def _drop(
        self, kind: str, entry_id: str, wp: str, principal: str, body: dict[str, Any]
    ) -> bytes:
        self._n += 1
        data = _entry(kind, entry_id, wp, principal, self._n, body)
        maildir.deliver(self.ws, f"{entry_id}.yaml", data)
        return data

    def _sweep(self) -> None:
        with self.ws.open_store() as store:
            result = Sweeper(self.ws, store).sweep()
        if result.rejected:
            raise RuntimeError(f"the gate's set-up was rejected: {result.log[:3]}")

    def _book(self, wp: str) -> None:
        self._drop(
            "work_package",
            wp,
            wp,
            "human:owner",
            {
                "title": f"Change the app for {wp}",
                "objective": "change the app",
                "success_criteria": ["the app prints"],
                "owner": OWNER,
                "accountable": "human:owner",
                "tier": "standard",
                "lane": "implementation",
                "target_repo": str(self.repo),
                "base_ref": self.base,
                "owned_surfaces": ["src/**", "docs/"],
                "forbidden_surfaces": ["secrets/**"],
                "validation_commands": ["test -f src/app.py"],
            },
        )
        self._drop("dispatch", f"DSP-{wp}", wp, "human:owner", {"to": OWNER})
        self._drop("scope_confirmation", f"SCP-{wp}", wp, OWNER, {"confirmed": True})
        self._drop("review", f"REV-{wp}", wp, "human:owner", {"verdict": "go"})

    def _work(self, wp: str) -> None:
        """The agent's work: a commit in the WP's worktree, ground, evidence, a claim."""
        worktree = self.ws.root / "worktrees" / wp
        worktree.parent.mkdir(parents=True, exist_ok=True)
        git(self.repo, "worktree", "add", "-q", str(worktree), "-b", f"wp/{wp}", self.base)
        (worktree / "src" / "app.py").write_text(f"print('app for {wp}')\n")
        git(worktree, "add", "-A")
        git(worktree, "commit", "-q", "-m", f"work on {wp}")
        ground = self._drop(
            "common_ground",
            f"CG-{wp}",
            wp,
            "human:owner",
            {"version": 1, "objective": "change the app", "success_criteria": ["the app prints"]},
        )
        evidence = {
            "class": "local_command_proof",
            "ref": "src/app.py",
            "command": "python3 src/app.py",
            "exit_code": 0,
            "log": "app",
        }
        self._drop("evidence", f"EVD-{wp}", wp, OWNER, {"items": [evidence], "missing": []})
        pin = {"id": f"CG-{wp}", "version": 1, "hash": hashlib.sha256(ground).hexdigest()}
        claim = {
            "done_state": "done",
            "common_ground": pin,
            "evidence": [f"EVD-{wp}"],
            "owner": OWNER,
            "accountable": "human:owner",
            "unresolved_questions": [],
            "summary": "changed the app",
        }
        self._drop("claim", f"CLM-{wp}", wp, OWNER, claim)


def measure(root: Path, count: int = 15) -> dict[str, Any]:
    """ms of each live gate run over `count` fresh claims, and of the git baseline."""
    claims = Claims(root, count)
    ws: Workspace = claims.ws
    runs: list[float] = []
    outcomes: list[str] = []
    with ws.open_store() as store:
        for wp in claims.wps:
            started = time.perf_counter()
            run = run_gate(ws, store, wp, VERIFIER, Mode.LIVE)
            runs.append((time.perf_counter() - started) * 1000)
            outcomes.append(run.decision.outcome.value)
    baseline = []
    for wp in claims.wps:
        started = time.perf_counter()
        git(ws.root / "worktrees" / wp, "diff", "--name-only", claims.base)
        baseline.append((time.perf_counter() - started) * 1000)
    return {
        "ms": runs,
        "p50": statistics.median(runs),
        "outcomes": sorted(set(outcomes)),
        "baseline_p50": statistics.median(baseline),
    }
