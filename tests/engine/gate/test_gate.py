"""The verify gate (SPEC 5), driven through the queue of a real workspace.

Every scenario books a work package, files common ground, evidence and a claim as queue
entries and lets the live runner verify the claim by itself; it then reads the verdict the
way an operator does (`cockpit status --json`) and from the `verify_completed` event. Each
scenario satisfies every predicate before the one it targets, so that predicate is the
blocking one.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import (
    ACCOUNTABLE,
    GOOD_EVIDENCE,
    OWNER,
    PREDICATES,
    Flow,
    admitted,
    scoped_flow,
    set_policy,
    set_runner,
    stopped_on,
    verdicts,
)
from helpers.git import commit_all, git, make_repo
from helpers.workspace import Env

from cockpit.engine.gate.surfaces import glob_regex, matches

# -- the positive paths ---------------------------------------------------------------------


def test_a_good_claim_is_admitted_and_the_verify_records_what_it_decided_on(env: Env) -> None:
    flow = Flow(env).ready(validation_commands=["test -d queue", "true"])
    claim_id = flow.claim()
    payload = admitted(env)
    statuses = {name: r["status"] for name, r in payload["predicates"].items()}
    assert statuses == {
        **dict.fromkeys(PREDICATES, "satisfied"),
        "escalation_path": "not_applicable",  # standard tier
        "scope_respected": "not_applicable",  # no target repo
    }
    # The commands ran in the workspace root (no target repo): `test -d queue` held.
    assert [r["exit_code"] for r in payload["validation"]] == [0, 0]
    assert payload["claim"]["id"] == claim_id
    ground = flow.pins[-1]
    assert payload["common_ground"] == {
        "id": ground["id"],
        "sha256": ground["hash"],
        "version": 1,
    }
    assert [e["id"] for e in payload["evidence"]] == flow.evidence_ids
    assert payload["missing_packet_type"] is None
    assert payload["evidence_floor_failed"] is False
    assert payload["owner_gap"] is False
    assert payload["stale_ground"] is False
    assert isinstance(payload["duration_ms"], int)
    # verify_started (claimed -> verifying) then verify_completed (verifying -> accepted)
    types = [e.type for e in env.events("WP-1")]
    assert types[-3:] == ["advisory_issued", "verify_started", "verify_completed"]
    started = env.events("WP-1")[-2]
    assert started.payload["transition"] == {"from": "claimed", "to": "verifying"}
    assert payload["transition"] == {"from": "verifying", "to": "accepted"}


def test_deep_tier_is_admitted_with_a_diagnostic_review_and_a_rerun_command(env: Env) -> None:
    flow = Flow(env)
    flow.book(tier="deep", validation_commands=["true"], rollback_plan="git revert the merge")
    flow.ground()
    flow.evidence([{"class": "runtime_proof", "ref": "logs/run.txt", "exit_code": 0}])
    flow.review("diagnostic")
    flow.claim()
    payload = admitted(env)
    assert payload["predicates"]["verify_mode"]["status"] == "satisfied"
    assert payload["predicates"]["escalation_path"]["status"] == "satisfied"
    assert payload["predicates"]["validation_passed"]["status"] == "satisfied"


# -- one scenario per predicate -----------------------------------------------------------


@pytest.mark.parametrize("done_state", ["partial", "not_fixed"])
def test_claim_done(env: Env, done_state: str) -> None:
    flow = Flow(env).ready()
    flow.claim(done_state=done_state)
    payload = stopped_on(env, "claim_done", "incomplete_claim")
    assert done_state in payload["predicates"]["claim_done"]["detail"]
    assert payload["missing_packet_type"] is None  # the claim exists
    # The advisory verifier calls it risky, but risky alone is not serious: it does not gate.
    [issued] = [e for e in env.events("WP-1") if e.type == "advisory_issued"]
    assert (issued.payload["prediction"], issued.payload["severity"]) == ("risky", "warning")
    assert payload["predicates"]["advisories_treated"]["status"] == "satisfied"


@pytest.mark.parametrize("how", ["no_pin", "other_wp", "not_common_ground"])
def test_common_ground_aligned(env: Env, how: str) -> None:
    flow = Flow(env).ready()
    if how == "no_pin":
        pin = None
    elif how == "other_wp":
        other = Flow(env, "WP-2")
        other.drop(
            "work_package",
            "WP-2",
            "human:owner",
            {
                "title": "Other",
                "objective": "other",
                "owner": OWNER,
                "accountable": ACCOUNTABLE,
                "tier": "standard",
                "lane": "implementation",
            },
        )
        pin = other.ground()
    else:
        evidence_id = flow.evidence_ids[-1]
        pin = {"id": evidence_id, "version": 1, "hash": "0" * 64}
    flow.claim(common_ground=pin)
    payload = stopped_on(env, "common_ground_aligned", "ground_misaligned")
    assert payload["missing_packet_type"] == "common_ground"
    if how != "other_wp":
        assert payload["predicates"]["ground_fresh"]["status"] == "not_applicable"


@pytest.mark.parametrize("how", ["superseded", "wrong_hash", "wrong_version"])
def test_ground_fresh(env: Env, how: str) -> None:
    flow = Flow(env).ready()
    first = flow.pins[0]
    if how == "superseded":
        flow.ground()  # v2 is filed; the claim still pins v1 (with v1's true hash)
        pin = first
    elif how == "wrong_hash":
        pin = {**first, "hash": hashlib.sha256(b"something else").hexdigest()}
    else:
        pin = {**first, "version": 7}
    flow.claim(common_ground=pin)
    payload = stopped_on(env, "ground_fresh", "stale_ground")
    assert payload["stale_ground"] is True
    assert payload["missing_packet_type"] == "common_ground"


def test_verify_mode(env: Env) -> None:
    """Deep tier with no validation command: the verifier cannot re-run anything."""
    flow = Flow(env)
    flow.book(tier="deep", rollback_plan="revert")
    flow.ground()
    flow.evidence([{"class": "runtime_proof", "ref": "logs/run.txt", "exit_code": 0}])
    flow.review("diagnostic")
    flow.claim()
    payload = stopped_on(env, "verify_mode", "verification_gap")
    assert payload["predicates"]["escalation_path"]["status"] == "satisfied"
    assert payload["predicates"]["validation_passed"]["status"] == "not_applicable"


@pytest.mark.parametrize("how", ["weak_class", "failed_command", "none", "other_wp", "file_pin"])
def test_evidence_floor(env: Env, how: str) -> None:
    flow = Flow(env).book()
    flow.ground()
    overrides: dict[str, Any] = {}
    if how == "weak_class":
        flow.evidence([{"class": "static_proof", "ref": "src/app.py"}])
    elif how == "failed_command":
        flow.evidence(
            [{"class": "runtime_proof", "ref": "t.sh", "command": "sh t.sh", "exit_code": 2}]
        )
    elif how == "none":
        overrides["evidence"] = []
    elif how == "other_wp":
        other = Flow(env, "WP-2")
        other.drop(
            "work_package",
            "WP-2",
            "human:owner",
            {
                "title": "Other",
                "objective": "other",
                "owner": OWNER,
                "accountable": ACCOUNTABLE,
                "tier": "standard",
                "lane": "implementation",
            },
        )
        overrides["evidence"] = [other.evidence()]
    else:
        # The item pins a file's hash; the file in the work product says something else.
        (env.root / "proof.txt").write_bytes(b"what is really there\n")
        claimed = hashlib.sha256(b"what the agent says is there\n").hexdigest()
        flow.evidence([{"class": "local_command_proof", "ref": "proof.txt", "sha256": claimed}])
    flow.claim(**overrides)
    payload = stopped_on(env, "evidence_floor", "evidence_gap")
    assert payload["evidence_floor_failed"] is True
    assert payload["missing_packet_type"] == "evidence"
    if how == "weak_class":
        assert "static_proof" in payload["predicates"]["evidence_floor"]["detail"]
    if how == "file_pin":
        assert "proof.txt" in payload["predicates"]["evidence_floor"]["detail"]


def test_evidence_floor_accepts_a_file_pin_that_matches(env: Env) -> None:
    flow = Flow(env).book()
    flow.ground()
    (env.root / "proof.txt").write_bytes(b"what is really there\n")
    digest = hashlib.sha256(b"what is really there\n").hexdigest()
    flow.evidence([{"class": "local_command_proof", "ref": "proof.txt", "sha256": digest}])
    flow.claim()
    admitted(env)


@pytest.mark.parametrize(
    ("field", "value"),
    [("owner", "human:reviewer"), ("accountable", "human:reviewer"), ("accountable", None)],
)
def test_ownership_clear(env: Env, field: str, value: str | None) -> None:
    flow = Flow(env).ready()
    flow.claim(**{field: value})
    payload = stopped_on(env, "ownership_clear", "owner_gap")
    assert payload["owner_gap"] is True
    assert field in payload["predicates"]["ownership_clear"]["detail"]


def test_no_open_blockers(env: Env) -> None:
    flow = Flow(env).ready()
    flow.claim(unresolved_questions=["is the limit 3 or 5?"])
    payload = stopped_on(env, "no_open_blockers", "open_blockers")
    assert "is the limit 3 or 5?" in payload["predicates"]["no_open_blockers"]["detail"]


def test_escalation_path(env: Env) -> None:
    """Deep tier with a re-run command but no diagnostic review before the claim."""
    flow = Flow(env)
    flow.book(tier="deep", validation_commands=["true"], rollback_plan="revert")
    flow.ground()
    flow.evidence([{"class": "runtime_proof", "ref": "logs/run.txt", "exit_code": 0}])
    flow.claim()
    payload = stopped_on(env, "escalation_path", "escalation_missing")
    assert payload["missing_packet_type"] == "review"


def test_escalation_path_needs_the_review_before_the_claim(env: Env) -> None:
    """A diagnostic review filed after the claim does not count: it must precede it. (The
    claim is first looked at in shadow, the review comes, then the live run decides.)"""
    set_runner(env, "mode", "shadow")
    flow = Flow(env)
    flow.book(tier="deep", validation_commands=["true"], rollback_plan="revert")
    flow.ground()
    flow.evidence([{"class": "runtime_proof", "ref": "logs/run.txt", "exit_code": 0}])
    claim_id = flow.claim()
    assert verdicts(env)[-1].payload["outcome"] == "skipped"
    flow.review("diagnostic")
    set_runner(env, "mode", "live")
    env.sweep()
    payload = stopped_on(env, "escalation_path", "escalation_missing")
    assert payload["claim"]["id"] == claim_id


@pytest.mark.parametrize("how", ["nonzero_exit", "not_proven"])
def test_advisories_treated(env: Env, how: str) -> None:
    flow = Flow(env).book()
    flow.ground()
    if how == "nonzero_exit":
        items = [
            *GOOD_EVIDENCE,
            {"class": "local_command_proof", "ref": "t", "command": "make slow", "exit_code": 1},
        ]
        flow.evidence(items)
    else:
        flow.evidence(missing=["not_proven: it works under load"])
    claim_id = flow.claim()
    payload = stopped_on(env, "advisories_treated", "advisory_untreated")
    assert f"ADV-{claim_id}" in payload["predicates"]["advisories_treated"]["detail"]
    issued = [e for e in env.events("WP-1") if e.type == "advisory_issued"]
    assert [e.payload["severity"] for e in issued] == ["serious"]
    assert issued[0].payload["prediction"] == "risky"


def test_no_active_recovery(env: Env) -> None:
    """A recovery filed after the claim and not answered by a newer claim. The only way to
    get the old claim back in front of the gate is an owner override back to claimed."""
    flow = Flow(env).ready()
    flow.veto("hold on")
    flow.claim()
    stopped_on(env, "no_veto", "vetoed")
    flow.veto("go ahead", lift=True)
    flow.recovery()
    assert flow.state() == "recovering"
    result = env.cli("override", "WP-1", "--to", "claimed", "--reason", "re-check the old claim")
    assert result.code == 0, result.err
    # The runner does not re-verify a claim that already has a non-skipped outcome...
    env.sweep()
    assert len(verdicts(env)) == 1
    # ...so the operator runs the gate on demand.
    result = env.cli("verify", "WP-1", "--as", "agent:verifier", "--json")
    assert result.code == 1
    assert result.json()["blocking_predicate"] == "no_active_recovery"
    payload = stopped_on(env, "no_active_recovery", "recovery_pending")
    assert payload["missing_packet_type"] == "recovery"
    # the earlier block has a recovery after it, so it no longer counts as open
    assert payload["predicates"]["no_open_blockers"]["status"] == "satisfied"


def test_no_veto(env: Env) -> None:
    flow = Flow(env).ready()
    flow.veto("the design review is not done")
    flow.claim()
    payload = stopped_on(env, "no_veto", "vetoed")
    assert "the design review is not done" in payload["predicates"]["no_veto"]["detail"]


# -- scope_respected on a real git worktree ---------------------------------------------------


def test_scope_respected_counts_committed_uncommitted_and_untracked_changes(
    env: Env, tmp_path: Path
) -> None:
    flow, worktree, _ = scoped_flow(
        env, tmp_path, validation_commands=["test -f src/new.py && grep -q changed src/app.py"]
    )
    (worktree / "src/app.py").write_text("print('changed')\n")
    commit_all(worktree, "committed change")
    (worktree / "docs/readme.md").write_text("docs, edited but not committed\n")
    (worktree / "src/new.py").write_text("# untracked\n")
    (worktree / "build.log").write_text("ignored by .gitignore\n")
    before = {
        p: p.read_bytes() for p in worktree.rglob("*") if p.is_file() and ".git" not in p.parts
    }
    flow.claim()
    payload = admitted(env)
    assert payload["changed_files"] == ["docs/readme.md", "src/app.py", "src/new.py"]
    assert payload["predicates"]["scope_respected"]["status"] == "satisfied"
    # The validation command ran in the worktree and found the agent's files there.
    assert payload["validation"][0]["exit_code"] == 0
    after = {
        p: p.read_bytes() for p in worktree.rglob("*") if p.is_file() and ".git" not in p.parts
    }
    assert after == before  # the gate left the work product byte-identical


def test_scope_respected_fails_on_a_forbidden_surface(env: Env, tmp_path: Path) -> None:
    flow, worktree, _ = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    (worktree / "secrets/key.txt").write_text("rotated\n")
    commit_all(worktree, "touch a secret")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert "secrets/key.txt" in payload["predicates"]["scope_respected"]["detail"]
    assert "secrets/key.txt" in payload["changed_files"]


def test_scope_respected_fails_on_an_untracked_file_outside_the_owned_surfaces(
    env: Env, tmp_path: Path
) -> None:
    flow, worktree, _ = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    (worktree / "notes.txt").write_text("never added to git\n")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert "notes.txt" in payload["predicates"]["scope_respected"]["detail"]
    assert payload["changed_files"] == ["notes.txt", "src/app.py"]


def test_scope_respected_without_base_ref_still_sees_committed_changes(
    env: Env, tmp_path: Path
) -> None:
    """`base_ref` is optional. Without it the base is still the commit the worktree was
    made from (the target repo's HEAD), so a change the agent *committed* on its branch is
    a changed file all the same (SPEC 5: "committed or not")."""
    flow, worktree, base = scoped_flow(env, tmp_path, base_ref=None)
    assert env.wp("WP-1")["base_ref"] is None  # type: ignore[index]
    (worktree / "secrets/key.txt").write_text("rotated\n")
    commit_all(worktree, "touch a secret, committed")
    assert git(tmp_path / "repo", "rev-parse", "HEAD") == base  # the repo's HEAD is the base
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["changed_files"] == ["secrets/key.txt"]


def test_scope_respected_is_an_error_without_the_worktree(env: Env, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    base = make_repo(repo)
    flow = Flow(env).book(target_repo=str(repo), base_ref=base, owned_surfaces=["src/**"])
    worktree = env.root / "worktrees" / "WP-1"
    assert git(worktree, "rev-parse", "HEAD") == base  # the runner made it on dispatch
    flow.ground()
    flow.evidence()
    shutil.rmtree(worktree)  # ... and someone deleted it before the claim came in
    flow.claim()
    payload = stopped_on(env, "scope_respected", "gate_error", status="error")
    assert payload["outcome"] == "blocked"  # an error never admits, and is not `failed`
    # Blocked, the WP needs no worktree; once recovering, the runner makes it again from
    # the WP's branch and the recorded base.
    assert not worktree.exists()
    recovered = env.cli("recover", "WP-1", "--owner", OWNER, "--next-action", "redo it")
    assert recovered.code == 0, recovered.err
    env.sweep()
    assert git(worktree, "rev-parse", "HEAD") == base
    made = [e.payload for e in env.events("WP-1") if e.type == "worktree_provisioned"]
    assert [m["base_commit"] for m in made] == [base, base]


def test_an_agent_defined_git_filter_is_never_run(env: Env, tmp_path: Path) -> None:
    """gitops: a clean filter an agent defines from its worktree (shared repo config plus a
    .gitattributes) would run on `git diff`; the gate's git commands switch it off. The
    shared config changed outside the worktree, so the claim fails on scope_respected
    (the owner's own git would run the filter)."""
    flow, worktree, _ = scoped_flow(env, tmp_path, owned_surfaces=["src/**", ".gitattributes"])
    marker = tmp_path / "PWNED"
    git(worktree, "config", "filter.evil.clean", f"touch {marker}; cat")
    (worktree / ".gitattributes").write_text("*.py filter=evil\n")
    (worktree / "src/app.py").write_text("print('changed')\n")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["changed_files"] == [".gitattributes", "src/app.py"]
    assert payload["predicates"]["scope_respected"]["detail"] == (
        "changed the target repo outside the worktree: .git/config"
    )
    assert not marker.exists()


def test_files_hidden_by_new_ignore_rules_are_still_changed_files(env: Env, tmp_path: Path) -> None:
    """verification.changed_files: ignore rules count as the base has them; an agent
    cannot hide a forbidden file with .git/info/exclude or a new .gitignore."""
    flow, worktree, _ = scoped_flow(env, tmp_path, owned_surfaces=["src/**"])
    common = Path(git(worktree, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    (common / "info").mkdir(exist_ok=True)
    (common / "info" / "exclude").write_text("secrets/\n")
    (worktree / "secrets/new.txt").write_text("hidden by info/exclude\n")
    (worktree / "src/.gitignore").write_text("*\n")
    (worktree / "src/app.py").write_text("print('in scope')\n")
    (worktree / "build.log").write_text("ignored at the base, but a .gitignore changed\n")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["changed_files"] == [
        "build.log",
        "secrets/new.txt",
        "src/.gitignore",
        "src/app.py",
    ]


# -- validation_passed -----------------------------------------------------------------------


def test_validation_passed_fails_on_a_failing_command(env: Env) -> None:
    flow = Flow(env).ready(validation_commands=["true", "echo boom; exit 3"])
    flow.claim()
    payload = stopped_on(env, "validation_passed", "validation_failure", outcome="failed")
    assert [r["exit_code"] for r in payload["validation"]] == [0, 3]
    assert "boom" in payload["validation"][1]["output_tail"]


def test_validation_passed_is_an_error_on_timeout(env: Env) -> None:
    set_policy(env, validation_timeout_s=1)
    flow = Flow(env).ready(validation_commands=["sleep 5"])
    flow.claim()
    payload = stopped_on(env, "validation_passed", "gate_error", status="error")
    [result] = payload["validation"]
    assert result["timed_out"] is True
    assert result["exit_code"] is None
    assert 900 <= result["duration_ms"] < 4000  # killed at the timeout, not after 5 s


def test_validation_that_writes_into_the_worktree_is_an_error(env: Env, tmp_path: Path) -> None:
    # Unsandboxed (`runner.sandbox: off`), the tree's fingerprint catches the write; in
    # the sandbox the write itself fails (tests/engine/runner/test_sandbox.py).
    set_runner(env, "sandbox", "off")
    flow, worktree, _ = scoped_flow(
        env, tmp_path, validation_commands=["echo generated > src/generated.txt"]
    )
    (worktree / "src/app.py").write_text("print('in scope')\n")
    flow.claim()
    payload = stopped_on(env, "validation_passed", "gate_error", status="error")
    assert "src/generated.txt" in payload["predicates"]["validation_passed"]["detail"]
    assert payload["predicates"]["scope_respected"]["status"] == "satisfied"


def test_validation_that_writes_into_the_workspace_root_is_an_error(env: Env) -> None:
    set_runner(env, "sandbox", "off")  # as above
    flow = Flow(env).ready(validation_commands=["echo x > written-by-check.txt"])
    flow.claim()
    payload = stopped_on(env, "validation_passed", "gate_error", status="error")
    assert "written-by-check.txt" in payload["predicates"]["validation_passed"]["detail"]


# -- globs ------------------------------------------------------------------------------------


def test_glob_regex() -> None:
    assert glob_regex("src/**").match("src/a/b.py")
    assert glob_regex("src/**").match("src/a.py")
    assert not glob_regex("src/**").match("lib/src/a.py")
    assert glob_regex("*.py").match("a.py")
    assert not glob_regex("*.py").match("a/b.py")
    assert glob_regex("docs/").match("docs/x.md")
    assert glob_regex("docs/").match("docs/deep/x.md")
    assert not glob_regex("docs/").match("docsx/x.md")
    assert glob_regex("**/test_*.py").match("test_a.py")
    assert glob_regex("**/test_*.py").match("a/b/test_a.py")
    assert glob_regex("lib/?.py").match("lib/a.py")
    assert not glob_regex("lib/?.py").match("lib/ab.py")
    assert glob_regex("a.b").match("a.b")
    assert not glob_regex("a.b").match("axb")  # '.' is literal
    assert not glob_regex("src/app.py").match("src/app.py.bak")  # anchored at the end
    assert matches("src/x.py", ["docs/", "src/**"])
    assert not matches("setup.py", ["docs/", "src/**"])
    assert not matches("anything", [])
