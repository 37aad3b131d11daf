"""The runner's agents and worktrees, rollback and merge proof (SPEC 2, 4, 5, 8, 9).

Every test runs on a real workspace, a real git target repository (the `git` CLI) and,
where an agent is involved, a real agent process the runner starts from the lane's
command in cockpit.yaml: a small Python script written into `<workspace>/agents/` that
reads its handoff, works in its worktree and returns entries with `cockpit submit`, or
misbehaves (exits non-zero, sleeps past its timeout, returns nothing) as a test asks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers.agents import (
    AGENT_PRELUDE,
    OWNER_HUMAN,
    detail,
    drop_booking,
    drop_dispatch,
    events_of,
    set_lane,
    set_runner,
    state,
    worktree_of,
    wp_fields,
)
from helpers.gate import OWNER, Flow
from helpers.git import commit_all, git, new_repo
from helpers.workspace import Env, entry, t

from cockpit.store import board as board_queries

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

AGENT_KEYS = (
    "COCKPIT_WORKSPACE",
    "COCKPIT_PRINCIPAL",
    "COCKPIT_WORK_PACKAGE",
    "COCKPIT_HANDOFF",
    "COCKPIT_WORKTREE",
)

# The agent the runner starts. RECORD (a file outside the worktree and the workspace) gets
# one JSON line per start; PLAN says, per next gate, what to do instead of playing by the
# rules: {"exit": N}, {"sleep": S}, {"spawn": true} (a grandchild in its process group),
# {"write": {path: text}, "commit": bool, "untracked": {path: text}} for the work itself.
AGENT_SCRIPT = (
    AGENT_PRELUDE
    + """\
RECORD = Path(__RECORD__)
PLAN = json.loads(__PLAN__)
KEYS = __KEYS__


def git(*args):
    identity = ["-c", "user.name=Test Agent", "-c", "user.email=agent@example.invalid"]
    subprocess.run(["git", *identity, *args], check=True, capture_output=True)


def deliver(handoff, step, now):
    wp = handoff["work_package"]
    tag = f"{wp['id']}-{os.getpid()}-{time.time_ns()}"
    for name, text in step.get("write", {}).items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)
    if step.get("commit", True) and step.get("write"):
        git("add", "--", *step["write"])
        git("commit", "-q", "-m", f"{wp['id']}: the change")
    for name, text in step.get("untracked", {}).items():
        Path(name).write_text(text)
    previous = handoff.get("common_ground")
    version = previous["version"] + 1 if previous else 1
    ground = entry_text(
        handoff,
        "common_ground",
        f"CG-{tag}",
        now,
        {"version": version, "objective": wp["objective"], "success_criteria": ["it works"]},
    )
    first = sorted(step.get("write", {"README.md": ""}))[0]
    item = {
        "class": "local_command_proof",
        "ref": first,
        "sha256": hashlib.sha256(Path(first).read_bytes()).hexdigest(),
        "command": "true",
        "exit_code": 0,
        "log": "ok",
    }
    evidence = entry_text(
        handoff,
        "evidence",
        f"EVD-{tag}",
        now + timedelta(seconds=1),
        {"items": [item], "missing": [], "quality": "test agent"},
    )
    claim = entry_text(
        handoff,
        "claim",
        f"CLM-{tag}",
        now + timedelta(seconds=2),
        {
            "done_state": "done",
            "common_ground": {
                "id": f"CG-{tag}",
                "version": version,
                "hash": hashlib.sha256(ground.encode()).hexdigest(),
            },
            "evidence": [f"EVD-{tag}"],
            "owner": wp["owner"],
            "accountable": wp["accountable"],
            "unresolved_questions": [],
            "summary": "changed what the plan said",
        },
    )
    submit([ground, evidence, claim])


def main():
    handoff = yaml.safe_load(Path(os.environ["COCKPIT_HANDOFF"]).read_text())
    gate = handoff["next_gate"]
    step = PLAN.get(gate, {})
    child = subprocess.Popen(["sleep", "60"]).pid if step.get("spawn") else None
    line = {
        "env": {key: os.environ.get(key) for key in KEYS},
        "cwd": os.getcwd(),
        "gate": gate,
        "handoff": handoff,
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "child": child,
    }
    with RECORD.open("a") as out:
        out.write(json.dumps(line) + "\\n")
    if step.get("sleep"):
        time.sleep(step["sleep"])
    if "exit" in step:
        sys.exit(step["exit"])
    now = datetime.now(UTC).replace(microsecond=0)
    if gate == "scope_confirmation":
        body = {"confirmed": True, "notes": "in scope"}
        scope_id = f"SCP-{os.getpid()}-{time.time_ns()}"
        submit([entry_text(handoff, "scope_confirmation", scope_id, now, body)])
    elif gate == "verify":
        deliver(handoff, step, now)


main()
"""
)


# -- helpers --------------------------------------------------------------------------------


def repo_state(repo: Path) -> dict[str, Any]:
    """What must never change in the target repo's own checkout."""
    files = {
        str(p.relative_to(repo)): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }
    return {
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "rev-parse", "--abbrev-ref", "HEAD"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored"),
        "files": files,
    }


def assert_untouched(repo: Path, before: dict[str, Any]) -> None:
    after = repo_state(repo)
    assert after == before
    assert after["branch"] == "main"
    assert after["status"] == ""


def install_agent(
    env: Env,
    record: Path,
    plan: dict[str, Any],
    *,
    timeout_s: int = 60,
    standing_go: bool = True,
) -> None:
    """Write the test agent into <workspace>/agents/agent.py and make it the lane's
    command (a workspace-relative argument: the runner resolves it to the file)."""
    script = (
        AGENT_SCRIPT.replace("__RECORD__", repr(str(record)))
        .replace("__PLAN__", repr(json.dumps(plan)))
        .replace("__KEYS__", repr(AGENT_KEYS))
    )
    (env.root / "agents").mkdir(exist_ok=True)
    (env.root / "agents" / "agent.py").write_text(script, encoding="utf-8")
    record.touch()  # the one file outside its own the sandboxed agent may write
    set_lane(
        env,
        ["python3", "agents/agent.py"],
        timeout_s=timeout_s,
        standing_go=standing_go,
        sandbox_rw=[str(record)],
    )


def starts(record: Path) -> list[dict[str, Any]]:
    """What the agent recorded, one item per start."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def attention_ids(env: Env) -> list[str]:
    with env.store() as store:
        rows = board_queries.page(store, board_queries.BoardFilter(attention=True))
    return [r["id"] for r in rows]


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def live_members(pgid: int) -> list[int]:
    """Processes of process group `pgid` that are still alive (zombies do not count)."""
    members = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(proc.name))
    return members


def failed_on_scope(env: Env, tmp_path: Path) -> tuple[Flow, Path, Path, str]:
    """WP-1 with a target repo, failed on scope_respected: it committed a change to a
    forbidden surface, and left an uncommitted edit, an untracked and an ignored file."""
    repo, base = new_repo(tmp_path)
    flow = Flow(env).book(**wp_fields(repo))
    worktree = worktree_of(env)
    (worktree / "secrets" / "key.txt").write_text("leaked\n")
    commit_all(worktree, "touch the secret")
    (worktree / "src" / "app.py").write_text("print('uncommitted')\n")
    (worktree / "notes.txt").write_text("untracked notes\n")
    (worktree / "build.log").write_text("ignored\n")
    flow.ground()
    flow.evidence()
    flow.claim()
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["outcome"] == "failed"
    assert verdict.payload["blocking_predicate"] == "scope_respected"
    assert state(env) == "failed"
    return flow, repo, worktree, base


# -- 1. provisioning on dispatch --------------------------------------------------------------


def test_dispatch_provisions_the_worktree_at_the_base_without_touching_the_target_repo(
    env: Env, tmp_path: Path
) -> None:
    """A dispatched WP with a target repo gets worktrees/<WP> on wp/<WP> at the base commit,
    recorded in worktree_provisioned; the target repo's checkout is unchanged."""
    repo, base = new_repo(tmp_path)
    before = repo_state(repo)
    drop_booking(env, repo)
    drop_dispatch(env)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert state(env) == "dispatched"

    worktree = worktree_of(env)
    assert worktree.is_dir()
    assert git(worktree, "rev-parse", "--show-toplevel") == str(worktree.resolve())
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "wp/WP-1"
    assert git(worktree, "rev-parse", "HEAD") == base
    assert git(worktree, "status", "--porcelain") == ""
    assert (worktree / "src" / "app.py").read_text() == "print('app')\n"
    assert git(repo, "rev-parse", "refs/heads/wp/WP-1") == base

    [made] = events_of(env, "worktree_provisioned")
    assert made.payload["base_commit"] == base
    assert made.payload["branch"] == "wp/WP-1"
    assert made.payload["worktree"] == "worktrees/WP-1"
    assert made.payload["adopted"] is False
    assert summary.agents.worktrees == 1

    shown = detail(env)["worktree"]
    assert shown["base_commit"] == base and shown["branch"] == "wp/WP-1"
    assert_untouched(repo, before)

    # A second sweep makes nothing again.
    env.sweep()
    assert len(events_of(env, "worktree_provisioned")) == 1
    assert_untouched(repo, before)


# -- 2. the agent's environment and handoff -------------------------------------------------


def test_the_runner_starts_the_agent_with_its_environment_cwd_and_handoff(
    env: Env, tmp_path: Path
) -> None:
    """The lane's command runs with the five COCKPIT_* variables, cwd the worktree, and a
    handoff naming the WP, the agent, the next gate, the worktree and the return queue;
    agent_started / agent_exited are recorded."""
    repo, base = new_repo(tmp_path)
    before = repo_state(repo)
    record = tmp_path / "record.jsonl"
    install_agent(env, record, {"verify": {"write": {"src/app.py": "print('changed')\n"}}})
    drop_booking(env, repo)
    drop_dispatch(env)
    env.sweep()

    worktree = worktree_of(env).resolve()
    handoff = env.root / "handoffs" / OWNER / "WP-1.yaml"
    runs = starts(record)
    assert [r["gate"] for r in runs] == ["scope_confirmation", "verify"]
    for run in runs:
        assert run["env"] == {
            "COCKPIT_WORKSPACE": str(env.root.resolve()),
            "COCKPIT_PRINCIPAL": OWNER,
            "COCKPIT_WORK_PACKAGE": "WP-1",
            "COCKPIT_HANDOFF": str(handoff.resolve()),
            "COCKPIT_WORKTREE": str(worktree),
        }
        assert Path(run["cwd"]).resolve() == worktree
        sent = run["handoff"]
        assert sent["work_package"]["id"] == "WP-1"
        assert sent["you"] == OWNER
        assert sent["worktree"]["path"] == str(worktree)
        assert sent["worktree"]["branch"] == "wp/WP-1"
        assert sent["worktree"]["base_commit"] == base
        assert Path(sent["return"]["queue"]).resolve() == (env.root / "queue" / "new").resolve()
        assert sent["work_package"]["owned_surfaces"] == ["src/**"]
        assert sent["work_package"]["forbidden_surfaces"] == ["secrets/**"]
    assert runs[0]["handoff"]["next_gate"] == "scope_confirmation"
    assert runs[1]["handoff"]["next_gate"] == "verify"

    # The handoff on disk follows the WP (now accepted: the owner reviews next).
    assert handoff.is_file()
    on_disk = yaml.safe_load(handoff.read_text())
    assert on_disk["work_package"]["id"] == "WP-1"
    assert on_disk["you"] == OWNER
    assert on_disk["state"] == "accepted"
    assert on_disk["next_gate"] == "review"
    assert on_disk["worktree"]["path"] == str(worktree)
    assert "queue" in on_disk["return"]

    started = events_of(env, "agent_started")
    exited = events_of(env, "agent_exited")
    assert [e.payload["stage"] for e in started] == ["dispatched", "in_progress"]
    assert [e.payload["next_gate"] for e in started] == ["scope_confirmation", "verify"]
    assert all(e.principal == OWNER for e in started)
    assert started[0].payload["command"][1] == str((env.root / "agents" / "agent.py").resolve())
    assert [e.payload["launch"] for e in exited] == [e.seq for e in started]
    for event in exited:
        assert event.payload["exit_code"] == 0
        assert isinstance(event.payload["duration_ms"], int) and event.payload["duration_ms"] >= 0
        assert event.payload["timed_out"] is False
        assert event.payload["returned"] is True
    assert detail(env)["agent_problem"] is None
    assert_untouched(repo, before)


# -- 3. an in-scope change, end to end --------------------------------------------------------


def test_an_agents_in_scope_change_is_admitted_end_to_end(env: Env, tmp_path: Path) -> None:
    """The agent edits an owned file, commits and returns ground, evidence and a claim:
    one `run --once` takes the WP from booked to accepted on the gate's success."""
    repo, base = new_repo(tmp_path)
    before = repo_state(repo)
    record = tmp_path / "record.jsonl"
    install_agent(env, record, {"verify": {"write": {"src/app.py": "print('changed')\n"}}})
    drop_booking(env, repo, validation_commands=["grep -q changed src/app.py"])
    drop_dispatch(env)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log

    assert state(env) == "accepted"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["outcome"] == "success"
    assert verdict.payload["acceptance_status"] == "accepted"
    assert verdict.payload["changed_files"] == ["src/app.py"]
    assert verdict.payload["predicates"]["scope_respected"]["status"] == "satisfied"
    assert verdict.payload["predicates"]["validation_passed"]["status"] == "satisfied"
    [review] = events_of(env, "review_recorded")
    assert review.payload["standing"] is True and review.payload["verdict"] == "go"

    worktree = worktree_of(env)
    assert git(worktree, "rev-parse", "HEAD^") == base
    assert (worktree / "src" / "app.py").read_text() == "print('changed')\n"
    assert summary.agents.started == 2
    assert_untouched(repo, before)


# -- 4. the gate on the runner-made worktree ---------------------------------------------------


def test_a_committed_change_to_a_forbidden_surface_fails_on_scope(env: Env, tmp_path: Path) -> None:
    """In the worktree the runner made on dispatch, a committed forbidden change is
    `failed` on scope_respected."""
    repo, _ = new_repo(tmp_path)
    before = repo_state(repo)
    flow = Flow(env).book(**wp_fields(repo))
    worktree = worktree_of(env)
    assert worktree.is_dir()
    (worktree / "secrets" / "key.txt").write_text("leaked\n")
    commit_all(worktree, "touch the secret")
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "failed"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["outcome"] == "failed"
    assert verdict.payload["blocking_predicate"] == "scope_respected"
    assert verdict.payload["changed_files"] == ["secrets/key.txt"]
    assert_untouched(repo, before)


def test_an_untracked_out_of_scope_file_fails_on_scope(env: Env, tmp_path: Path) -> None:
    """An uncommitted, untracked file outside the owned surfaces counts as a change."""
    repo, _ = new_repo(tmp_path)
    flow = Flow(env).book(**wp_fields(repo))
    worktree = worktree_of(env)
    (worktree / "src" / "app.py").write_text("print('changed')\n")
    commit_all(worktree, "in scope")
    (worktree / "notes.txt").write_text("outside the owned surfaces\n")
    (worktree / "build.log").write_text("ignored by the base's .gitignore\n")
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "failed"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["blocking_predicate"] == "scope_respected"
    assert verdict.payload["changed_files"] == ["notes.txt", "src/app.py"]
    assert "notes.txt" in verdict.payload["predicates"]["scope_respected"]["detail"]


def test_a_failing_validation_command_in_the_worktree_fails_on_validation(
    env: Env, tmp_path: Path
) -> None:
    """A validation command that exits non-zero in the worktree is `failed` on
    validation_passed (scope was respected)."""
    repo, _ = new_repo(tmp_path)
    flow = Flow(env).book(**wp_fields(repo, validation_commands=["grep -q changed src/app.py"]))
    worktree = worktree_of(env)
    (worktree / "src" / "app.py").write_text("print('not it')\n")
    commit_all(worktree, "in scope, but wrong")
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "failed"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["predicates"]["scope_respected"]["status"] == "satisfied"
    assert verdict.payload["blocking_predicate"] == "validation_passed"
    assert verdict.payload["validation"][0]["exit_code"] == 1


# -- 5. rollback -------------------------------------------------------------------------------


def test_rollback_resets_the_worktree_and_keeps_the_failed_work(env: Env, tmp_path: Path) -> None:
    """`cockpit rollback` keeps everything the failed attempt left (committed, uncommitted,
    untracked) on wp/WP-1-failed-1, resets to the base and cleans the tree; a second
    failed attempt is kept on wp/WP-1-failed-2."""
    flow, repo, worktree, base = failed_on_scope(env, tmp_path)
    before = repo_state(repo)
    failed_head = git(worktree, "rev-parse", "HEAD")

    result = env.cli("rollback", "WP-1", "--reason", "x", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["type"] == "rollback_completed"
    payload = document["payload"]
    assert payload["transition"] == {"from": "failed", "to": "rolled_back"}
    assert payload["failed_ref"] == "wp/WP-1-failed-1"
    assert payload["base_commit"] == base and payload["head"] == base
    assert payload["clean"] is True
    assert state(env) == "rolled_back"

    assert git(worktree, "rev-parse", "HEAD") == base
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "wp/WP-1"
    assert git(worktree, "status", "--porcelain", "--untracked-files=all", "--ignored") == ""
    assert not (worktree / "notes.txt").exists()
    assert not (worktree / "build.log").exists()
    assert (worktree / "src" / "app.py").read_text() == "print('app')\n"
    assert (worktree / "secrets" / "key.txt").read_text() == "not a real key\n"

    kept = "wp/WP-1-failed-1"
    assert git(repo, "merge-base", "--is-ancestor", failed_head, kept) == ""
    assert git(repo, "show", f"{kept}:secrets/key.txt") == "leaked"
    assert git(repo, "show", f"{kept}:src/app.py") == "print('uncommitted')"
    assert git(repo, "show", f"{kept}:notes.txt") == "untracked notes"
    assert_untouched(repo, before)

    # Again: dispatched from rolled_back, failed again, rolled back to the next branch.
    flow.drop("dispatch", flow.new_id("DSP"), OWNER_HUMAN, {"to": OWNER})
    flow.drop("scope_confirmation", flow.new_id("SCP"), OWNER, {"confirmed": True})
    flow.drop("review", flow.new_id("REV"), OWNER_HUMAN, {"verdict": "go"})
    assert state(env) == "in_progress"
    (worktree / "secrets" / "key.txt").write_text("leaked again\n")
    commit_all(worktree, "touch the secret again")
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "failed"
    result = env.cli("rollback", "WP-1", "--reason", "second time", "--json")
    assert result.code == 0, result.err
    assert result.json()["payload"]["failed_ref"] == "wp/WP-1-failed-2"
    assert state(env) == "rolled_back"
    assert git(repo, "show", "wp/WP-1-failed-2:secrets/key.txt") == "leaked again"
    assert git(repo, "show", "wp/WP-1-failed-1:secrets/key.txt") == "leaked"
    assert git(worktree, "rev-parse", "HEAD") == base
    assert len(events_of(env, "worktree_provisioned")) == 1
    assert_untouched(repo, before)


def test_rollback_refusals(env: Env, tmp_path: Path) -> None:
    """No reason is a usage error (2); a WP that is not failed, or a principal without
    the rollback capability, is refused (1); nothing is recorded."""
    repo, _ = new_repo(tmp_path)
    flow = Flow(env).book(**wp_fields(repo))
    not_failed = env.cli("rollback", "WP-1", "--reason", "x")
    assert not_failed.code == 1
    assert "in_progress" in not_failed.err

    worktree = worktree_of(env)
    (worktree / "secrets" / "key.txt").write_text("leaked\n")
    commit_all(worktree, "touch the secret")
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "failed"
    count = len(env.events())

    no_reason = env.cli("rollback", "WP-1")
    assert no_reason.code == 2
    assert "reason" in no_reason.err
    blank = env.cli("rollback", "WP-1", "--reason", "  ")
    assert blank.code == 2
    worker = env.cli("rollback", "WP-1", "--reason", "x", "--as", OWNER)
    assert worker.code == 1
    assert "rollback" in worker.err
    assert len(env.events()) == count
    assert state(env) == "failed"
    assert git(worktree, "show", "HEAD:secrets/key.txt") == "leaked"


def test_rollback_of_a_deleted_worktree_fails_and_the_wp_stays_failed(
    env: Env, tmp_path: Path
) -> None:
    """With its worktree directory gone, the rollback cannot be validated: exit 1,
    `rollback_failed`, the WP stays failed."""
    _, _, worktree, _ = failed_on_scope(env, tmp_path)
    shutil.rmtree(worktree)
    result = env.cli("rollback", "WP-1", "--reason", "x", "--json")
    assert result.code == 1
    assert result.json()["type"] == "rollback_failed"
    assert "does not exist" in result.json()["payload"]["error"]
    assert state(env) == "failed"
    [failed] = events_of(env, "rollback_failed")
    assert "transition" not in failed.payload
    assert not events_of(env, "rollback_completed")


def test_rollback_without_a_target_repo_records_no_worktree(env: Env) -> None:
    """A failed WP without a target repo rolls back with `worktree: null`."""
    flow = Flow(env).ready(validation_commands=["false"])
    flow.claim()
    assert state(env) == "failed"
    result = env.cli("rollback", "WP-1", "--reason", "x", "--json")
    assert result.code == 0, result.err
    payload = result.json()["payload"]
    assert payload["worktree"] is None
    assert payload["transition"] == {"from": "failed", "to": "rolled_back"}
    assert state(env) == "rolled_back"


# -- 6. agent problems ---------------------------------------------------------------------------


def test_an_agent_that_exits_non_zero_is_flagged_for_triage_once(env: Env, tmp_path: Path) -> None:
    """An agent that exits 3 is recorded with exit_code 3, sets agent_problem, shows in
    needs_triage and the needs-attention view, and is not started again for that stage."""
    repo, _ = new_repo(tmp_path)
    before = repo_state(repo)
    record = tmp_path / "record.jsonl"
    install_agent(env, record, {"scope_confirmation": {"exit": 3}})
    drop_booking(env, repo)
    drop_booking(env, repo, wp="WP-2")  # booked only: needs nobody
    drop_dispatch(env)
    env.sweep()

    assert state(env) == "dispatched"
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["exit_code"] == 3
    assert exited.payload["timed_out"] is False
    assert exited.payload["returned"] is False
    shown = detail(env)
    assert shown["agent_problem"] == "its agent exited with code 3"
    assert any("exited with code 3" in reason for reason in shown["needs_triage"])
    assert shown["agent"]["exit_code"] == 3 and shown["agent"]["running"] is False
    assert attention_ids(env) == ["WP-1"]
    board = env.cli()  # no terminal: `cockpit` prints the board and who needs a person
    assert board.code == 0, board.err
    assert "Needs a person: WP-1 " in board.out

    env.sweep()
    assert len(events_of(env, "agent_started")) == 1
    assert len(starts(record)) == 1
    assert_untouched(repo, before)


def test_an_agent_past_its_timeout_is_killed_with_its_process_group(
    env: Env, tmp_path: Path
) -> None:
    """An agent sleeping past `timeout_s: 1` is killed, its whole process group with it,
    recorded `timed_out: true` and flagged; it is not started again for that stage.
    Unsandboxed: the pids it records are the host's (a sandboxed agent's whole PID
    namespace is killed: tests/engine/runner/test_sandbox.py)."""
    repo, _ = new_repo(tmp_path)
    set_runner(env, sandbox="off")
    record = tmp_path / "record.jsonl"
    install_agent(env, record, {"scope_confirmation": {"sleep": 30, "spawn": True}}, timeout_s=1)
    drop_booking(env, repo)
    drop_dispatch(env)
    pgid = None
    try:
        env.sweep()
        [run] = starts(record)
        pgid = run["pgid"]
        assert pgid == run["pid"]  # its own process group
        assert run["child"] is not None
        assert wait_for(lambda: not live_members(pgid)), live_members(pgid)

        [exited] = events_of(env, "agent_exited")
        assert exited.payload["timed_out"] is True
        assert exited.payload["exit_code"] is None
        assert exited.payload["timeout_s"] == 1
        shown = detail(env)
        assert shown["agent_problem"] == "its agent timed out after 1 s"
        assert "WP-1" in attention_ids(env)
        assert state(env) == "dispatched"

        env.sweep()
        assert len(events_of(env, "agent_started")) == 1
        assert len(starts(record)) == 1
    finally:
        if pgid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)


def test_an_agent_that_returns_nothing_is_flagged(env: Env, tmp_path: Path) -> None:
    """An agent that exits 0 without returning an entry leaves its WP flagged."""
    repo, _ = new_repo(tmp_path)
    record = tmp_path / "record.jsonl"
    install_agent(env, record, {"scope_confirmation": {"exit": 0}})
    drop_booking(env, repo)
    drop_dispatch(env)
    env.sweep()
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["exit_code"] == 0
    assert exited.payload["returned"] is False
    shown = detail(env)
    assert "without returning" in str(shown["agent_problem"])
    assert any("without returning" in reason for reason in shown["needs_triage"])
    assert "WP-1" in attention_ids(env)
    env.sweep()
    assert len(events_of(env, "agent_started")) == 1
    assert len(starts(record)) == 1


def test_a_lane_command_that_cannot_start_is_recorded_with_its_error(
    env: Env, tmp_path: Path
) -> None:
    """A lane command naming no executable: agent_exited carries the error, the WP is
    flagged, and the runner does not try again for that stage."""
    repo, _ = new_repo(tmp_path)
    set_lane(env, [str(tmp_path / "no-such-agent")])
    drop_booking(env, repo)
    drop_dispatch(env)
    summary = env.sweep()
    assert summary.sweep.rejected == 0
    [started] = events_of(env, "agent_started")
    [exited] = events_of(env, "agent_exited")
    assert exited.payload["launch"] == started.seq
    assert exited.payload["error"]
    assert exited.payload["exit_code"] is None
    shown = detail(env)
    assert "could not start" in str(shown["agent_problem"])
    assert "WP-1" in attention_ids(env)
    env.sweep()
    assert len(events_of(env, "agent_started")) == 1
    assert state(env) == "dispatched"


# -- 7. merge proof ------------------------------------------------------------------------------


def accepted_with_change(env: Env, tmp_path: Path) -> tuple[Path, Path, str]:
    """WP-1 accepted on a committed in-scope change in its runner-made worktree; returns
    the repo, the worktree and the base."""
    repo, base = new_repo(tmp_path)
    flow = Flow(env).book(**wp_fields(repo))
    worktree = worktree_of(env)
    (worktree / "src" / "app.py").write_text("print('changed')\n")
    commit_all(worktree, "in scope")
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "accepted"
    return repo, worktree, base


def test_review_accepted_with_a_merge_sha_needs_it_on_the_target_branch(
    env: Env, tmp_path: Path
) -> None:
    """`cockpit review --verdict accepted --merge-sha` refuses (1) a commit only on the WP
    branch and completes the WP with a commit contained in the target repo's branch."""
    repo, worktree, _ = accepted_with_change(env, tmp_path)
    wp_head = git(worktree, "rev-parse", "HEAD")
    count = len(env.events())

    refused = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", wp_head)
    assert refused.code == 1
    assert "not contained" in refused.err
    assert state(env) == "accepted"
    assert len(env.events()) == count

    git(repo, "merge", "-q", "--no-ff", "-m", "merge WP-1", "wp/WP-1")
    merged = git(repo, "rev-parse", "HEAD")
    result = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", merged, "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["type"] == "review_recorded"
    assert document["payload"]["merge_proof"] == {
        "merge_sha": merged,
        "branch": "main",
        "contained": True,
        "work": wp_head,
        "admitted_tree": git(worktree, "rev-parse", "HEAD^{tree}"),
    }
    assert state(env) == "complete"
    assert events_of(env, "task_completed")


def test_a_queued_review_with_an_unmerged_sha_is_rejected_bad_ref(env: Env, tmp_path: Path) -> None:
    """A review entry (verdict accepted) whose merge_sha is not in the target repo's
    checked-out branch is rejected `bad_ref`, and so is the base commit (in the branch, but
    without the WP's work); a merge of the WP's branch completes the WP."""
    repo, worktree, base = accepted_with_change(env, tmp_path)
    wp_head = git(worktree, "rev-parse", "HEAD")
    env.drop(
        "rev-bad.yaml",
        entry(
            "review",
            "REV-BAD",
            "WP-1",
            OWNER_HUMAN,
            f"verdict: accepted\nmerge_sha: '{wp_head}'",
            created=t(50),
        ),
    )
    summary = env.sweep()
    assert summary.sweep.rejected == 1
    reason = json.loads((env.rejected_dir / "rev-bad.yaml.reason.json").read_text())
    assert reason["code"] == "bad_ref"
    assert reason["entry_id"] == "REV-BAD"
    assert state(env) == "accepted"

    env.drop(
        "rev-base.yaml",
        entry(
            "review",
            "REV-BASE",
            "WP-1",
            OWNER_HUMAN,
            f"verdict: accepted\nmerge_sha: '{base}'",
            created=t(51),
        ),
    )
    summary = env.sweep()
    assert summary.sweep.rejected == 1
    reason = json.loads((env.rejected_dir / "rev-base.yaml.reason.json").read_text())
    assert reason["code"] == "bad_ref" and "does not contain" in reason["message"]
    assert state(env) == "accepted"

    git(repo, "merge", "-q", "--no-ff", "-m", "merge WP-1", "wp/WP-1")
    merged = git(repo, "rev-parse", "HEAD")
    env.drop(
        "rev-good.yaml",
        entry(
            "review",
            "REV-GOOD",
            "WP-1",
            OWNER_HUMAN,
            f"verdict: accepted\nmerge_sha: '{merged}'",
            created=t(52),
        ),
    )
    summary = env.sweep()
    assert (summary.sweep.ingested, summary.sweep.rejected) == (1, 0), summary.sweep.log
    assert state(env) == "complete"
    [review] = [e for e in events_of(env, "review_recorded") if e.entry_id == "REV-GOOD"]
    assert review.payload["merge_proof"]["merge_sha"] == merged
    assert review.payload["merge_proof"]["work"] == wp_head
    assert review.payload["merge_proof"]["branch"] == "main"


# -- 8. dry-run --------------------------------------------------------------------------------


def test_dry_run_plans_the_worktree_and_the_agent_but_changes_nothing(
    env: Env, tmp_path: Path
) -> None:
    """`run --once --mode dry-run` after a dispatch: no worktree, no handoff, no agent;
    the database and the queue are byte-identical; the plan names the worktree and agent."""
    repo, _ = new_repo(tmp_path)
    record = tmp_path / "record.jsonl"
    install_agent(env, record, {"verify": {"write": {"src/app.py": "print('changed')\n"}}})
    drop_booking(env, repo)
    env.sweep()
    assert state(env) == "booked"
    drop_dispatch(env)

    def snapshot() -> dict[str, bytes]:
        files = {}
        for path in sorted((env.root / "queue").rglob("*")):
            if path.is_file():
                files[str(path.relative_to(env.root))] = path.read_bytes()
        for name in ("cockpit.db", "cockpit.db-wal"):
            path = env.root / ".cockpit" / name
            if path.exists():
                files[name] = path.read_bytes()
        return files

    before = snapshot()
    result = env.cli("run", "--once", "--mode", "dry-run", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert snapshot() == before
    assert not (env.root / "worktrees" / "WP-1").exists()
    assert not (env.root / "handoffs" / OWNER / "WP-1.yaml").exists()
    assert starts(record) == []  # the agent never ran (the file is made for its sandbox)
    assert not events_of(env, "agent_started")
    assert state(env) == "booked"
    assert document["agents"]["started"] == 0
    plan = json.dumps(document["plan"])
    assert "worktree" in plan
    assert "start the agent" in plan
    wanted = [item for item in document["plan"] if item.get("work_package") == "WP-1"]
    assert {item["would"] for item in wanted} == {
        "make its worktree",
        "start the agent of lane implementation",
    }


# -- 9. shadow ---------------------------------------------------------------------------------


def test_shadow_mode_starts_the_agent_and_skips_the_verdict(env: Env, tmp_path: Path) -> None:
    """In shadow the runner provisions, starts the agent and verifies, but the claim's
    verify outcome is `skipped` (the WP goes back to claimed)."""
    repo, _ = new_repo(tmp_path)
    before = repo_state(repo)
    record = tmp_path / "record.jsonl"
    install_agent(env, record, {"verify": {"write": {"src/app.py": "print('changed')\n"}}})
    drop_booking(env, repo)
    drop_dispatch(env)
    result = env.cli("run", "--once", "--mode", "shadow", "--json")
    assert result.code == 0, result.err
    assert result.json()["agents"]["started"] == 2
    assert [r["gate"] for r in starts(record)] == ["scope_confirmation", "verify"]
    assert worktree_of(env).is_dir()
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["outcome"] == "skipped"
    assert verdict.payload["mode"] == "shadow"
    assert verdict.payload["acceptance_status"] == "withheld"
    assert state(env) == "claimed"
    assert_untouched(repo, before)


# -- 10. handoff directories ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["agent:team/one", ".."])
def test_a_principal_that_cannot_name_a_handoff_directory_is_a_config_error(
    env: Env, name: str
) -> None:
    """Principals name handoff directories: a name with '/' (or '..') is refused by the
    config, and every command exits 2 naming it."""
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "  agent:verifier:      {roles: [verifier]}\n"
    assert anchor in text
    path.write_text(
        text.replace(anchor, anchor + f"  {json.dumps(name)}: {{roles: [worker]}}\n"),
        encoding="utf-8",
    )
    result = env.cli("status")
    assert result.code == 2
    assert "principals" in result.err
    assert name in result.err


# -- rollback: what an agent may have done to its worktree -------------------------------------


@pytest.mark.parametrize("switch", [["-b", "side"], ["--detach"]], ids=["side_branch", "detached"])
def test_rollback_resets_the_wp_branch_even_when_the_agent_left_it(
    env: Env, tmp_path: Path, switch: list[str]
) -> None:
    """The failed commit is on wp/WP-1 but the agent left its worktree on another branch (or
    detached): a rollback that reports rolled_back must leave wp/WP-1 at the base, checked
    out, so a later merge of wp/WP-1 cannot carry the failed change (else it must fail)."""
    repo, base = new_repo(tmp_path)
    flow = Flow(env).book(**wp_fields(repo))
    worktree = worktree_of(env)
    (worktree / "secrets" / "key.txt").write_text("leaked\n")
    commit_all(worktree, "touch the secret")
    failed_head = git(worktree, "rev-parse", "HEAD")
    git(worktree, "checkout", "-q", *switch)
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "failed"

    result = env.cli("rollback", "WP-1", "--reason", "x", "--json")
    kept = result.json()["payload"].get("failed_ref")
    assert kept and git(repo, "merge-base", "--is-ancestor", failed_head, kept) == ""
    if result.code == 0:
        assert state(env) == "rolled_back"
        assert git(repo, "rev-parse", "refs/heads/wp/WP-1") == base
        assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "wp/WP-1"
    else:
        assert result.code == 1
        assert state(env) == "failed"


def test_rollback_keeps_untracked_files_the_agent_hid_with_a_gitignore(
    env: Env, tmp_path: Path
) -> None:
    """A file the agent hid by editing .gitignore is a change to the gate (ignore rules count
    as the base has them), so the rollback keeps it on wp/WP-1-failed-1 before cleaning."""
    repo, _ = new_repo(tmp_path)
    flow = Flow(env).book(**wp_fields(repo))
    worktree = worktree_of(env)
    (worktree / ".gitignore").write_text("*.log\nnotes.txt\n")
    (worktree / "notes.txt").write_text("hidden notes\n")
    flow.ground()
    flow.evidence()
    flow.claim()
    assert state(env) == "failed"
    [verdict] = events_of(env, "verify_completed")
    assert verdict.payload["changed_files"] == [".gitignore", "notes.txt"]

    result = env.cli("rollback", "WP-1", "--reason", "x", "--json")
    assert result.code == 0, result.err
    assert not (worktree / "notes.txt").exists()
    kept = result.json()["payload"]["failed_ref"]
    assert kept == "wp/WP-1-failed-1"
    assert git(repo, "show", f"{kept}:.gitignore") == "*.log\nnotes.txt"
    assert git(repo, "ls-tree", "--name-only", kept, "notes.txt") == "notes.txt"
