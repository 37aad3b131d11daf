"""The verify gate's test vocabulary (SPEC 5): a `Flow` that drives one work package through
the queue one swept entry at a time, and the assertions that read a verdict the way an
operator does (`cockpit status --json` and the `verify_completed` event)."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers.git import git, make_repo
from helpers.workspace import Env, entry

# SPEC 5's table, in its order (the order that names the blocking predicate).
PREDICATES = [
    "claim_done",
    "common_ground_aligned",
    "ground_fresh",
    "verify_mode",
    "evidence_floor",
    "ownership_clear",
    "no_open_blockers",
    "escalation_path",
    "advisories_treated",
    "no_active_recovery",
    "no_veto",
    "scope_respected",
    "validation_passed",
]
PASSING = ("satisfied", "not_applicable")
OWNER = "agent:implementer-1"
ACCOUNTABLE = "human:owner"
BASE_TIME = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
_clock = itertools.count(1)

GOOD_EVIDENCE = [
    {
        "class": "local_command_proof",
        "ref": "checks/run.sh",
        "command": "sh checks/run.sh",
        "exit_code": 0,
        "log": "ok",
    }
]


# -- helpers --------------------------------------------------------------------------------


def created() -> str:
    """A fresh, strictly increasing `created` timestamp."""
    return (BASE_TIME + timedelta(seconds=next(_clock))).strftime("%Y-%m-%dT%H:%M:%SZ")


def yaml_body(fields: dict[str, Any]) -> str:
    """Body fields as YAML (JSON flow values are YAML); None leaves a field out."""
    return "\n".join(f"{k}: {json.dumps(v)}" for k, v in fields.items() if v is not None)


def add_worktree(env: Env, repo: Path, base: str, wp: str = "WP-1") -> Path:
    """The WP's worktree at <workspace>/worktrees/<WP> on branch wp/<WP>."""
    worktree = env.root / "worktrees" / wp
    if not worktree.exists():
        worktree.parent.mkdir(parents=True, exist_ok=True)
        git(repo, "worktree", "add", "-q", str(worktree), "-b", f"wp/{wp}", base)
    return worktree


def set_policy(env: Env, **settings: Any) -> None:
    """Add settings under `policy:` in cockpit.yaml and reload the workspace."""
    path = env.root / "cockpit.yaml"
    text = path.read_text()
    lines = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in settings.items())
    assert "policy:\n  version: 1\n" in text
    path.write_text(text.replace("policy:\n  version: 1\n", "policy:\n  version: 1\n" + lines))
    env.reload()


def set_runner(env: Env, key: str, value: str) -> None:
    path = env.root / "cockpit.yaml"
    lines = path.read_text().splitlines(keepends=True)
    at = lines.index("runner:\n")
    for i in range(at + 1, len(lines)):
        if lines[i].strip().startswith(f"{key}:"):
            lines[i] = f"  {key}: {value}\n"
            break
    else:
        lines.insert(at + 1, f"  {key}: {value}\n")
    path.write_text("".join(lines))
    env.reload()


class Flow:
    """Drives one work package through the queue, one swept entry at a time."""

    def __init__(self, env: Env, wp: str = "WP-1") -> None:
        self.env = env
        self.wp = wp
        self.pins: list[dict[str, Any]] = []
        self.evidence_ids: list[str] = []
        self._n = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{self.wp}-{next(self._n)}"

    def drop(
        self,
        kind: str,
        entry_id: str,
        principal: str,
        fields: dict[str, Any],
        *,
        refs: list[str] | None = None,
        sweep: bool = True,
    ) -> bytes:
        """Drop one entry into queue/new and (by default) sweep; returns its exact bytes."""
        text = entry(
            kind,
            entry_id,
            self.wp,
            principal,
            yaml_body(fields),
            created=created(),
            refs=json.dumps(refs) if refs is not None else None,
        )
        path = self.env.drop(f"{entry_id}.yaml", text)
        data = path.read_bytes()
        if sweep:
            summary = self.env.sweep()
            assert summary.sweep.rejected == 0, summary.sweep.log
            assert summary.sweep.ingested == 1, summary.sweep.log
        return data

    def book(self, **body: Any) -> Flow:
        """Book, dispatch, confirm scope and give go: the WP ends in_progress."""
        fields = {
            "title": f"Task {self.wp}",
            "objective": "do the thing",
            "success_criteria": ["it works"],
            "owner": OWNER,
            "accountable": ACCOUNTABLE,
            "tier": "standard",
            "lane": "implementation",
            **body,
        }
        self.drop("work_package", self.wp, "human:owner", fields)
        self.drop("dispatch", self.new_id("DSP"), "human:owner", {"to": OWNER})
        self.drop("scope_confirmation", self.new_id("SCP"), OWNER, {"confirmed": True})
        self.drop("review", self.new_id("REV"), "human:owner", {"verdict": "go"})
        assert self.state() == "in_progress"
        return self

    def ground(self) -> dict[str, Any]:
        """File the next common-ground version; returns its pin (id, version, sha256)."""
        version = len(self.pins) + 1
        ground_id = self.new_id("CG")
        data = self.drop(
            "common_ground",
            ground_id,
            "human:owner",
            {"version": version, "objective": "do the thing", "success_criteria": ["it works"]},
        )
        pin = {"id": ground_id, "version": version, "hash": hashlib.sha256(data).hexdigest()}
        self.pins.append(pin)
        return pin

    def evidence(
        self, items: list[dict[str, Any]] | None = None, missing: list[str] | None = None
    ) -> str:
        evidence_id = self.new_id("EVD")
        fields = {"items": GOOD_EVIDENCE if items is None else items, "missing": missing or []}
        self.drop("evidence", evidence_id, OWNER, fields)
        self.evidence_ids.append(evidence_id)
        return evidence_id

    def ready(self, **body: Any) -> Flow:
        """Booked and in progress, with common ground v1 and passing evidence."""
        self.book(**body)
        self.ground()
        self.evidence()
        return self

    def claim(self, claim_id: str | None = None, *, sweep: bool = True, **overrides: Any) -> str:
        """File a claim (done, pinning the latest ground, citing the latest evidence,
        owner/accountable as booked); `overrides` replace fields, None removes one."""
        claim_id = claim_id or self.new_id("CLM")
        fields: dict[str, Any] = {
            "done_state": "done",
            "common_ground": self.pins[-1] if self.pins else None,
            "evidence": self.evidence_ids[-1:],
            "owner": OWNER,
            "accountable": ACCOUNTABLE,
            "unresolved_questions": [],
            "summary": "did the thing",
        }
        fields.update(overrides)
        self.drop("claim", claim_id, OWNER, fields, sweep=sweep)
        return claim_id

    def review(self, verdict: str, principal: str = "human:reviewer") -> str:
        review_id = self.new_id("REV")
        self.drop("review", review_id, principal, {"verdict": verdict, "findings": ["looked"]})
        return review_id

    def veto(self, reason: str, *, lift: bool = False) -> str:
        veto_id = self.new_id("VETO")
        self.drop("veto", veto_id, "human:reviewer", {"reason": reason, "lift": lift})
        return veto_id

    def recovery(self, owner: str = OWNER, next_action: str = "fix it") -> str:
        recovery_id = self.new_id("RCV")
        fields = {
            "error_class": "gate_blocked",
            "failure_signal": "verify_completed blocked",
            "next_action": next_action,
            "recovery_owner": owner,
        }
        self.drop("recovery", recovery_id, OWNER, fields)
        return recovery_id

    def state(self) -> str:
        wp = self.env.wp(self.wp)
        assert wp is not None
        return str(wp["state"])


def status_row(env: Env, wp: str = "WP-1") -> dict[str, Any]:
    result = env.cli("status", "--json")
    assert result.code == 0, result.err
    rows = {row["id"]: row for row in result.json()}
    return rows[wp]


def verdicts(env: Env, wp: str = "WP-1") -> list[Any]:
    return [e for e in env.events(wp) if e.type == "verify_completed"]


def stopped_on(
    env: Env,
    predicate: str,
    reason_class: str,
    *,
    outcome: str = "blocked",
    status: str = "unsatisfied",
    wp: str = "WP-1",
) -> dict[str, Any]:
    """Assert the WP's last verify stopped on exactly `predicate` (every predicate before
    it passed), as shown by `cockpit status --json` and by the event; returns the payload."""
    row = status_row(env, wp)
    assert row["last_verify"] == {
        "outcome": outcome,
        "acceptance_status": "withheld",
        "blocking_predicate": predicate,
        "blocked_reason_class": reason_class,
    }
    assert row["state"] == outcome  # blocked -> blocked, failed -> failed
    [event] = verdicts(env, wp)[-1:]
    payload = event.payload
    assert event.principal == "agent:verifier"
    assert payload["verifier"] == "agent:verifier"
    assert payload["mode"] == "live"
    assert set(payload["predicates"]) == set(PREDICATES)
    assert payload["predicates"][predicate]["status"] == status
    assert payload["predicates"][predicate]["detail"]
    for earlier in PREDICATES[: PREDICATES.index(predicate)]:
        assert payload["predicates"][earlier]["status"] in PASSING, (earlier, payload)
    assert payload["outcome"] == outcome
    assert payload["acceptance_status"] == "withheld"
    assert payload["blocking_predicate"] == predicate
    assert payload["blocked_reason_class"] == reason_class
    return payload


def admitted(env: Env, wp: str = "WP-1") -> dict[str, Any]:
    row = status_row(env, wp)
    assert row["last_verify"] == {
        "outcome": "success",
        "acceptance_status": "accepted",
        "blocking_predicate": None,
        "blocked_reason_class": None,
    }
    assert row["state"] == "accepted"
    payload = verdicts(env, wp)[-1].payload
    assert payload["outcome"] == "success"
    assert payload["blocking_predicate"] is None
    assert all(r["status"] in PASSING for r in payload["predicates"].values()), payload
    return payload


def scoped_flow(env: Env, tmp_path: Path, **body: Any) -> tuple[Flow, Path, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    base = make_repo(repo)
    fields = {
        "target_repo": str(repo),
        "base_ref": base,
        "owned_surfaces": ["src/**", "docs/"],
        "forbidden_surfaces": ["secrets/**"],
        **body,
    }
    flow = Flow(env).book(**fields)
    worktree = add_worktree(env, repo, base)
    assert git(worktree, "rev-parse", "HEAD") == base
    flow.ground()
    flow.evidence()
    return flow, worktree, base
