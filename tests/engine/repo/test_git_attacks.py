"""Security regressions: what an untrusted agent can do to git in its worktree, and the
runner's side of agents (SPEC 4, 5, 8, 9).

Each test plays one attack found in review against the real product: a real workspace, a
real git target repository and worktree (the `git` CLI), real agent processes started by
the runner from the lane's command, and `cockpit` run in a subprocess where the scenario
needs one. Each docstring names the attack and the defence that must hold.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.agents import (
    AGENT_PRELUDE,
    OWNER_HUMAN,
    detail,
    drop_booking,
    drop_dispatch,
    events_of,
    set_lane,
    state,
    worktree_of,
    wp_fields,
)
from helpers.gate import OWNER, Flow, scoped_flow, stopped_on, verdicts, yaml_body
from helpers.git import commit_all, git, new_repo
from helpers.process import clean_env, cockpit_cmd
from helpers.workspace import Env, entry, t

from cockpit.engine.repo.worktrees import git_dir_changes

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

SECRET = "secrets/key.txt"
BASE_SECRET = "not a real key\n"  # what make_repo's base commit holds at SECRET

# An agent the runner starts (lane command `python3 agents/agent.py`). At the scope gate it
# confirms the scope; at the verify gate it follows PLAN: `write` files (committed), then
# submit common ground, evidence and a claim (or, with `evidence_only`, evidence alone),
# then sleep `sleep_after` seconds and commit `write_after`. RAN gets a line per start.
AGENT = (
    AGENT_PRELUDE
    + """\
PLAN = json.loads(__PLAN__)
RAN = Path(__RAN__)


def change(files):
    for name, text in files.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(text)
    if files:
        who = ["-c", "user.name=Agent", "-c", "user.email=agent@example.invalid"]
        subprocess.run(["git", *who, "add", "--", *files], check=True)
        subprocess.run(["git", *who, "commit", "-q", "-m", "work"], check=True)


def main():
    handoff = yaml.safe_load(Path(os.environ["COCKPIT_HANDOFF"]).read_text())
    gate = handoff["next_gate"]
    with RAN.open("a") as out:
        out.write(gate + "\\n")
    wp = handoff["work_package"]
    tag = f"{wp['id']}-{os.getpid()}-{time.time_ns()}"
    now = datetime.now(UTC).replace(microsecond=0)
    if gate == "scope_confirmation":
        body = {"confirmed": True, "notes": "in scope"}
        submit([entry_text(handoff, "scope_confirmation", f"SCP-{tag}", now, body)])
        return
    change(PLAN.get("write", {}))
    ground = entry_text(
        handoff,
        "common_ground",
        f"CG-{tag}",
        now,
        {"version": 1, "objective": wp["objective"], "success_criteria": ["it works"]},
    )
    item = {
        "class": "local_command_proof",
        "ref": "src/app.py",
        "command": "true",
        "exit_code": 0,
        "log": "ok",
    }
    evidence = entry_text(
        handoff, "evidence", f"EVD-{tag}", now + timedelta(seconds=1), {"items": [item]}
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
                "version": 1,
                "hash": hashlib.sha256(ground.encode()).hexdigest(),
            },
            "evidence": [f"EVD-{tag}"],
            "owner": wp["owner"],
            "accountable": wp["accountable"],
            "unresolved_questions": [],
            "summary": "done",
        },
    )
    submit([evidence] if PLAN.get("evidence_only") else [ground, evidence, claim])
    time.sleep(PLAN.get("sleep_after", 0))
    change(PLAN.get("write_after", {}))


main()
"""
)


# -- helpers --------------------------------------------------------------------------------


def install(env: Env, ran: Path, plan: dict[str, Any] | None = None) -> None:
    """Write AGENT to <workspace>/agents/agent.py and make it the lane's command (standing
    go: the owner's go lands by itself once the scope is confirmed)."""
    script = AGENT.replace("__PLAN__", repr(json.dumps(plan or {}))).replace(
        "__RAN__", repr(str(ran))
    )
    (env.root / "agents").mkdir(exist_ok=True)
    (env.root / "agents" / "agent.py").write_text(script, encoding="utf-8")
    ran.touch()  # the one file outside its own the sandboxed agent may write
    set_lane(
        env, ["python3", "agents/agent.py"], timeout_s=60, standing_go=True, sandbox_rw=[str(ran)]
    )


def ran(path: Path) -> list[str]:
    """The gates the agent was started at, in order."""
    return path.read_text().split() if path.exists() else []


def scoped(env: Env, tmp_path: Path) -> tuple[Flow, Path, Path, str]:
    """test_gate.scoped_flow: WP-1 in progress with a target repo (owned src/** and docs/,
    forbidden secrets/**), its runner-made worktree, common ground v1 and passing evidence
    filed. Returns the flow, the target repo, the worktree and the base commit."""
    flow, worktree, base = scoped_flow(env, tmp_path)
    assert worktree == worktree_of(env)
    return flow, tmp_path / "repo", worktree, base


def failed_on_scope(env: Env, flow: Flow) -> dict[str, Any]:
    """File the claim: the gate must fail it on scope_respected naming the secret."""
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert SECRET in payload["changed_files"], payload["changed_files"]
    assert SECRET in payload["predicates"]["scope_respected"]["detail"]
    return payload


def raw_git(cwd: Path, *args: str) -> str:
    """git with replacement refs off: the objects as they really are."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, "GIT_NO_REPLACE_OBJECTS": "1"},
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout


def work_files(worktree: Path) -> dict[str, bytes]:
    """Every file of a worktree (its .git file excluded), by path."""
    return {
        p.relative_to(worktree).as_posix(): p.read_bytes()
        for p in worktree.rglob("*")
        if p.is_file() and p.name != ".git"
    }


def base_files(repo: Path, base: str) -> dict[str, bytes]:
    """Every file of the base commit as it really is (replacement refs off)."""
    names = raw_git(repo, "ls-tree", "-r", "-z", "--name-only", base).split("\0")
    return {
        name: subprocess.run(
            ["git", "cat-file", "blob", f"{base}:{name}"],
            cwd=repo,
            env={**os.environ, "GIT_NO_REPLACE_OBJECTS": "1"},
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout
        for name in names
        if name
    }


def admit_committed_change(env: Env, flow: Flow, worktree: Path) -> None:
    """An in-scope change committed in the worktree and claimed: the gate admits WP-1."""
    (worktree / "src/app.py").write_text("print('the admitted change')\n")
    commit_all(worktree, "in scope")
    flow.claim()
    assert state(env) == "accepted"


def rollback(env: Env) -> tuple[int, dict[str, Any]]:
    result = env.cli("rollback", "WP-1", "--reason", "the agent broke scope", "--json")
    assert result.code in (0, 1), result.err
    return result.code, result.json()


# -- 1-3. the gate sees what an agent hides from git ----------------------------------------


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_a_forbidden_edit_hidden_by_an_index_flag_still_fails_the_gate(
    env: Env, tmp_path: Path, flag: str
) -> None:
    """Attack: the agent edits secrets/key.txt and hides it from `git status`/`git diff`
    with `git update-index --assume-unchanged` (or `--skip-worktree`) in its own index.
    Defence: changed files are measured with a scratch index built from the base commit,
    so the agent's index flags hide nothing: the claim fails on scope_respected and
    secrets/key.txt is a changed file."""
    flow, _, worktree, _ = scoped(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    (worktree / SECRET).write_text("rotated\n")
    git(worktree, "update-index", flag, SECRET)
    assert SECRET not in git(worktree, "status", "--porcelain")  # hidden from plain git
    payload = failed_on_scope(env, flow)
    assert payload["changed_files"] == ["secrets/key.txt", "src/app.py"]


def test_a_forbidden_commit_hidden_by_git_replace_still_fails_the_gate(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the agent commits a change to secrets/key.txt and runs `git replace <base>
    <its commit>`, so that git, honouring replacement refs, reads the base as its own
    commit and sees no difference. Defence: Cockpit's git never honours replacement refs
    (GIT_NO_REPLACE_OBJECTS): the claim fails on scope_respected."""
    flow, _, worktree, base = scoped(env, tmp_path)
    (worktree / SECRET).write_text("rotated\n")
    commit_all(worktree, "touch the secret")
    head = git(worktree, "rev-parse", "HEAD")
    git(worktree, "replace", base, head)
    assert git(worktree, "diff", "--name-only", base) == ""  # plain git is fooled
    payload = failed_on_scope(env, flow)
    assert payload["changed_files"] == ["secrets/key.txt"]


# -- 4. a rewritten .git file ---------------------------------------------------------------


def test_a_worktree_whose_git_file_names_another_repository_is_never_admitted(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the agent edits secrets/key.txt, then rewrites worktrees/WP-1/.git to
    `gitdir: <decoy>`, a clone of the target repo whose core.worktree is its own clean
    checkout at the base, so git run in the worktree reports nothing changed. Defence: git
    runs with the git directory recorded when the worktree was made, after checking that
    the .git file still names it: scope_respected is an `error` naming the .git file, and
    the outcome is blocked (an error never admits)."""
    flow, repo, worktree, _ = scoped(env, tmp_path)
    (worktree / SECRET).write_text("rotated\n")
    decoy = tmp_path / "decoy"
    git(tmp_path, "clone", "-q", str(repo), str(decoy))
    git(decoy, "config", "core.worktree", str(decoy))
    (worktree / ".git").write_text(f"gitdir: {decoy / '.git'}\n")
    assert git(worktree, "status", "--porcelain") == ""  # plain git is fooled
    flow.claim()
    payload = stopped_on(env, "scope_respected", "gate_error", status="error")
    assert payload["outcome"] == "blocked"
    assert ".git file" in payload["predicates"]["scope_respected"]["detail"]
    assert env.wp("WP-1")["state"] == "blocked"  # type: ignore[index]


# -- 5. a nested repository's filter ---------------------------------------------------------


def test_a_filter_defined_in_a_nested_repository_is_never_run(env: Env, tmp_path: Path) -> None:
    """Attack: the agent makes src/sub a repository of its own, defines
    `filter.evil.clean` (which touches a marker outside the worktree) in src/sub/.git/config
    with a src/sub/.gitattributes `* filter=evil`, commits the gitlink in its worktree and
    leaves a modified file in src/sub. Git entering the submodule (a plain `git status`)
    runs the filter. Defence: Cockpit's git never enters submodules: neither the gate nor
    a rollback of the failed WP runs the filter."""
    flow, _, worktree, _ = scoped(env, tmp_path)
    marker = tmp_path / "PWNED"
    sub = worktree / "src/sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    git(sub, "config", "user.name", "Agent")
    git(sub, "config", "user.email", "agent@example.invalid")
    git(sub, "config", "commit.gpgsign", "false")
    (sub / "lib.py").write_text("x = 1\n")
    (sub / ".gitattributes").write_text("* filter=evil\n")
    git(sub, "add", "-A")
    git(sub, "commit", "-q", "-m", "sub")
    git(worktree, "add", "src/sub")  # the gitlink (git warns about an embedded repository)
    assert git(worktree, "ls-files", "-s", "src/sub").startswith("160000 ")
    (worktree / SECRET).write_text("rotated\n")  # so that the WP fails and can roll back
    commit_all(worktree, "add the submodule")
    # Armed last (the agent's own `git add -A` above would have run it already).
    git(sub, "config", "filter.evil.clean", f"touch {marker}; cat")
    (sub / "lib.py").write_text("x = 2\n")  # same size: git must hash it, through the filter
    assert not marker.exists()

    flow.claim()
    assert verdicts(env), "the claim was not verified"
    assert not marker.exists(), "the gate ran the nested repository's filter"

    # The trap is armed: plain git entering the submodule runs the filter.
    subprocess.run(["git", "status"], cwd=worktree, capture_output=True, timeout=30)
    assert marker.exists(), "the test's filter does not fire; the scenario proves nothing"
    marker.unlink()

    assert env.wp("WP-1")["state"] == "failed"  # type: ignore[index]
    rollback(env)
    assert not marker.exists(), "the rollback ran the nested repository's filter"


# -- 6-8. rollback against a tampered worktree -----------------------------------------------


def test_rollback_refuses_a_git_file_that_points_at_a_victim_directory(
    env: Env, tmp_path: Path
) -> None:
    """Attack: after its WP failed, the agent rewrites worktrees/WP-1/.git to name a git
    directory whose core.worktree is a victim directory, so that the rollback's
    `read-tree --reset -u` and `clean -ffdx` would overwrite and wipe the victim.
    Defence: the rollback opens the worktree with its recorded git directory and refuses
    the rewritten .git file: `rollback_failed` (exit 1), the victim untouched, the WP
    still failed."""
    flow, repo, worktree, _ = scoped(env, tmp_path)
    (worktree / SECRET).write_text("rotated\n")
    commit_all(worktree, "touch the secret")
    failed_on_scope(env, flow)

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("irreplaceable\n")
    evil = tmp_path / "evil.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(evil))
    git(evil, "config", "core.bare", "false")
    git(evil, "config", "core.worktree", str(victim))
    (worktree / ".git").write_text(f"gitdir: {evil}\n")

    code, document = rollback(env)
    assert code == 1
    assert document["type"] == "rollback_failed"
    assert ".git file" in document["payload"]["error"]
    assert (victim / "precious.txt").read_text() == "irreplaceable\n"
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]
    assert state(env) == "failed"
    assert not events_of(env, "rollback_completed")


def test_rollback_keeps_and_removes_changes_hidden_by_index_flags(env: Env, tmp_path: Path) -> None:
    """Attack: the agent modifies secrets/key.txt and marks it skip-worktree, and modifies
    src/app.py and marks it assume-unchanged, so a rollback trusting the agent's index
    would neither keep these changes nor undo them. Defence: the rollback keeps the
    worktree's content as a scratch index from the base sees it (both changes are on
    wp/WP-1-failed-1), then checks the base out with a fresh index: the files are the
    base's again and no index entry keeps a flag."""
    flow, repo, worktree, base = scoped(env, tmp_path)
    (worktree / SECRET).write_text("leaked\n")
    (worktree / "src/app.py").write_text("print('hidden edit')\n")
    git(worktree, "update-index", "--skip-worktree", SECRET)
    git(worktree, "update-index", "--assume-unchanged", "src/app.py")
    assert git(worktree, "status", "--porcelain") == ""  # hidden from plain git
    failed_on_scope(env, flow)

    code, document = rollback(env)
    assert code == 0, document
    assert document["type"] == "rollback_completed"
    kept = document["payload"]["failed_ref"]
    assert kept == "wp/WP-1-failed-1"
    assert git(repo, "show", f"{kept}:{SECRET}") == "leaked"
    assert git(repo, "show", f"{kept}:src/app.py") == "print('hidden edit')"
    assert state(env) == "rolled_back"

    assert git(worktree, "rev-parse", "HEAD") == base
    assert (worktree / SECRET).read_text() == BASE_SECRET
    assert (worktree / "src/app.py").read_text() == "print('app')\n"
    assert work_files(worktree) == base_files(repo, base)
    flags = git(worktree, "ls-files", "-v").splitlines()
    assert flags and all(line.startswith("H ") for line in flags), flags


def test_rollback_never_completes_on_a_base_the_agent_replaced(env: Env, tmp_path: Path) -> None:
    """Attack: the agent commits a change to secrets/key.txt and runs `git replace <base>
    <its commit>`, so that a rollback honouring replacement refs would "reset to the base"
    by checking out the agent's own content and find nothing different. Defence: the
    rollback either fails or completes with the worktree holding the base's real content
    (read with replacement refs off); it never records rollback_completed otherwise."""
    flow, repo, worktree, base = scoped(env, tmp_path)
    (worktree / SECRET).write_text("leaked\n")
    commit_all(worktree, "touch the secret")
    git(worktree, "replace", base, git(worktree, "rev-parse", "HEAD"))
    failed_on_scope(env, flow)

    code, document = rollback(env)
    if code == 0:
        assert document["type"] == "rollback_completed"
        assert raw_git(worktree, "rev-parse", "HEAD").strip() == base
        assert work_files(worktree) == base_files(repo, base)
        assert (worktree / SECRET).read_text() == BASE_SECRET
        assert state(env) == "rolled_back"
    else:
        assert document["type"] == "rollback_failed"
        assert state(env) == "failed"
        assert not events_of(env, "rollback_completed")


def test_a_replacement_ref_planted_in_the_target_repo_fails_the_gate_and_a_rollback_removes_it(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the agent commits an in-scope change and plants `git replace <base> <its
    commit>` in the target repo its worktree shares: Cockpit reads objects as they are, but
    the owner's own git honours the replacement, so `git log`, `git merge` and checkouts in
    the owner's repo would show content nobody verified. Defence: the gate fails the claim
    on scope_respected (the agent changed the repo outside its worktree), and a rollback
    deletes the planted ref and says so."""
    flow, repo, worktree, base = scoped(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    commit_all(worktree, "in scope")
    head = git(worktree, "rev-parse", "HEAD")
    git(worktree, "replace", base, head)
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    detail = payload["predicates"]["scope_respected"]["detail"]
    assert f"refs/replace/{base}" in detail

    code, document = rollback(env)
    assert code == 0, document
    assert document["payload"]["replace_refs_removed"] == {f"refs/replace/{base}": head}
    assert git(repo, "for-each-ref", "refs/replace/") == ""
    assert state(env) == "rolled_back"


def test_rollback_refuses_a_worktree_holding_a_repository_of_its_own(
    env: Env, tmp_path: Path
) -> None:
    """Attack (or accident): the agent clones or inits a repository inside its worktree.
    Git records it as a bare commit pointer, so the failed ref could not keep its files,
    and the rollback's `git clean -ffdx` would delete it with its history. Defence: the
    rollback refuses (rollback_failed naming the directory), changes nothing, and the WP
    stays failed; once the operator moves it out, the rollback completes."""
    flow, repo, worktree, base = scoped(env, tmp_path)
    (worktree / SECRET).write_text("leaked\n")
    nested = worktree / "src" / "vendor"
    nested.mkdir()
    git(nested, "init", "-q")
    (nested / "notes.txt").write_text("only here\n")
    commit_all(nested, "a repository of its own")
    (nested / "draft.txt").write_text("not even committed\n")
    failed_on_scope(env, flow)

    code, document = rollback(env)
    assert code == 1
    assert document["type"] == "rollback_failed"
    assert "src/vendor" in document["payload"]["error"]
    assert (nested / "notes.txt").read_text() == "only here\n"
    assert (nested / "draft.txt").read_text() == "not even committed\n"
    assert (worktree / SECRET).read_text() == "leaked\n"
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/heads/") == (
        "refs/heads/main\nrefs/heads/wp/WP-1"
    )
    assert state(env) == "failed"

    (nested).rename(tmp_path / "vendor-kept")
    code, document = rollback(env)
    assert code == 0, document
    assert state(env) == "rolled_back"
    assert work_files(worktree) == base_files(repo, base)


def test_a_forbidden_commit_undone_only_on_disk_still_fails_the_gate(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the agent commits a change to secrets/key.txt on wp/WP-1, then restores the
    file on disk without committing, so the worktree's content equals the base while the
    branch that would be merged carries the forbidden change. Defence: changed files are
    the worktree's differences plus what HEAD's and the branch's commits change from the
    base: the claim fails on scope_respected naming secrets/key.txt."""
    flow, _, worktree, _ = scoped(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    (worktree / SECRET).write_text("leaked\n")
    commit_all(worktree, "in scope, and the secret")
    (worktree / SECRET).write_text(BASE_SECRET)
    payload = failed_on_scope(env, flow)
    assert payload["changed_files"] == ["secrets/key.txt", "src/app.py"]


def test_a_symlinked_worktree_is_never_admitted_and_runs_no_validation(
    env: Env, tmp_path: Path
) -> None:
    """Attack: worktrees/WP-1 is replaced by a symbolic link to another checkout of the
    repo at the base (clean), so the gate would measure, and run validation commands in,
    a directory that is not the WP's worktree. Defence: the gate refuses the link
    (scope_respected is an error, the outcome blocked) and runs no validation command."""
    marker = tmp_path / "validation-ran"
    command = f"python3 -c \"open({str(marker)!r}, 'w').write('ran')\""
    flow, worktree, base = scoped_flow(env, tmp_path, validation_commands=[command])
    repo = tmp_path / "repo"
    (worktree / SECRET).write_text("leaked\n")
    clean = tmp_path / "clean"
    git(repo, "worktree", "add", "-q", "--detach", str(clean), base)
    worktree.rename(tmp_path / "moved")
    worktree.symlink_to(clean)
    flow.claim()
    payload = stopped_on(env, "scope_respected", "gate_error", status="error")
    assert "symbolic link" in payload["predicates"]["scope_respected"]["detail"]
    assert not marker.exists()
    assert state(env) != "accepted"


def test_a_commit_reparented_on_the_target_branch_cannot_revert_it_unseen(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the owner changes secrets/key.txt on main after the WP's base; the agent
    commits its in-scope tree with main's tip as parent, so the net diff from the base
    shows only src/app.py, while merging wp/WP-1 would revert the owner's change.
    Defence: every commit since the base counts against each of its parents: the claim
    fails on scope_respected naming secrets/key.txt."""
    flow, repo, worktree, _ = scoped(env, tmp_path)
    (repo / SECRET).write_text("rotated by the owner\n")
    git(repo, "commit", "-qam", "rotate the key")
    main_tip = git(repo, "rev-parse", "main")
    (worktree / "src/app.py").write_text("print('in scope')\n")
    git(worktree, "add", "-A")
    tree = git(worktree, "write-tree")
    crafted = git(worktree, "commit-tree", tree, "-p", main_tip, "-m", "work")
    git(worktree, "update-ref", "refs/heads/wp/WP-1", crafted)
    git(worktree, "reset", "-q")
    assert git(worktree, "diff", "--name-only", crafted, "--", ".") == ""
    failed_on_scope(env, flow)


def test_a_hook_or_graft_planted_in_the_shared_git_directory_fails_the_gate(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the agent writes a post-merge hook (and an info/grafts file) into the
    target repo's git directory its worktree shares: Cockpit's git runs no hook and reads
    no graft, but the owner's own `git merge` would run the hook. Defence: the files of
    the shared git directory that make git run or believe something are fingerprinted
    when the worktree is made: the claim fails on scope_respected naming them, and a
    rollback reports them (it does not delete what the owner may have made)."""
    flow, _, worktree, base = scoped(env, tmp_path)
    (worktree / "src/app.py").write_text("print('in scope')\n")
    commit_all(worktree, "in scope")
    common = Path(git(worktree, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    marker = tmp_path / "PWNED"
    hook = common / "hooks" / "post-merge"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    (common / "info").mkdir(exist_ok=True)
    (common / "info" / "grafts").write_text(f"{base}\n")
    flow.claim()
    payload = stopped_on(env, "scope_respected", "scope_violation", outcome="failed")
    assert payload["predicates"]["scope_respected"]["detail"] == (
        "changed the target repo outside the worktree: .git/hooks/post-merge, .git/info/grafts"
    )
    assert not marker.exists()

    code, document = rollback(env)
    assert code == 0, document
    assert document["payload"]["git_dir_changed"] == ["hooks/post-merge", "info/grafts"]
    assert hook.exists()
    # Reported to a human by the rollback, the directory as it is is the new baseline.
    with env.store() as store:
        assert git_dir_changes(store, worktree, "WP-1") == []
    (common / "hooks" / "pre-push").write_text("#!/bin/sh\n")
    with env.store() as store:
        assert git_dir_changes(store, worktree, "WP-1") == ["hooks/pre-push"]


def test_harmless_config_changes_by_the_agent_or_the_owner_fail_no_gate(
    env: Env, tmp_path: Path
) -> None:
    """Not an attack: the agent sets its git identity in the shared config, the owner adds
    a remote and sets an upstream; none of it runs anything or changes what git shows, so
    the honest WP is admitted. A setting that runs a program (an alias) still fails it."""
    flow, repo, worktree, _ = scoped(env, tmp_path)
    git(worktree, "config", "user.email", "agent@example.com")
    git(repo, "remote", "add", "origin", str(tmp_path / "elsewhere.git"))
    git(repo, "config", "branch.main.remote", "origin")
    (worktree / "src/app.py").write_text("print('in scope')\n")
    commit_all(worktree, "in scope")
    flow.claim()
    assert state(env) == "accepted"
    git(worktree, "config", "alias.st", "!touch /tmp/never")
    with env.store() as store:
        assert git_dir_changes(store, worktree, "WP-1") == ["config"]


# -- 9. merge proof ------------------------------------------------------------------------


@pytest.mark.parametrize("work", ["committed", "uncommitted"])
def test_the_base_commit_is_no_merge_proof(env: Env, tmp_path: Path, work: str) -> None:
    """Attack: the reviewer (or an entry) completes an accepted WP with `--merge-sha
    <base>`: the base is contained in the target repo's branch, but holds none of the WP's
    work. Defence: the merge proof needs the WP's work in the merge commit: exit 1, the
    WP stays accepted. The work the gate admitted may be committed on wp/WP-1 or left
    uncommitted in the worktree (the gate judges the worktree's content either way)."""
    flow, repo, worktree, base = scoped(env, tmp_path)
    (worktree / "src/app.py").write_text("print('the admitted change')\n")
    if work == "committed":
        commit_all(worktree, "in scope")
    flow.claim()
    assert state(env) == "accepted"
    [verdict] = verdicts(env)
    assert verdict.payload["changed_files"] == ["src/app.py"]
    assert git(repo, "rev-parse", "HEAD") == base  # main never got the work
    count = len(env.events())

    result = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", base)
    assert result.code == 1, f"the base {base[:12]} was taken as the merge of the WP's work"
    assert state(env) == "accepted"
    assert len(env.events()) == count


def test_a_branch_moved_on_after_the_gate_is_no_merge_proof(env: Env, tmp_path: Path) -> None:
    """Attack: after its claim was admitted, the agent commits more work (here a forbidden
    change) on wp/WP-1, and the owner merges the branch. Defence: the merge proof needs
    the branch's commit to hold exactly the content the gate admitted (the verdict's
    worktree tree): exit 1 naming both trees, the WP stays accepted."""
    flow, repo, worktree, _ = scoped(env, tmp_path)
    admit_committed_change(env, flow, worktree)
    (worktree / SECRET).write_text("leaked after the gate\n")
    commit_all(worktree, "after the gate")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge WP-1", "wp/WP-1")
    merged = git(repo, "rev-parse", "HEAD")

    result = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", merged)
    assert result.code == 1
    assert "changed since the gate admitted it" in result.err  # the worktree, checked first
    assert state(env) == "accepted"

    # With the worktree gone, the merge proof still refuses the branch that moved on.
    git(repo, "worktree", "remove", "--force", str(worktree))
    result = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", merged)
    assert result.code == 1
    assert "moved since the gate admitted" in result.err
    assert state(env) == "accepted"


def test_grafts_never_prove_a_merge(env: Env, tmp_path: Path) -> None:
    """Attack: after its WP is accepted, the agent writes info/grafts giving an unrelated
    commit M of main its own branch tip as a parent, so that git honouring grafts takes M
    for a merge of the WP's work. Defence: Cockpit's git reads no graft file
    (GIT_GRAFT_FILE=/dev/null): `review --merge-sha M` is refused, the WP stays accepted."""
    flow, repo, worktree, base = scoped(env, tmp_path)
    admit_committed_change(env, flow, worktree)
    work = git(worktree, "rev-parse", "HEAD")
    (repo / "README.md").write_text("# project, edited\n")
    git(repo, "commit", "-qam", "unrelated")
    unrelated = git(repo, "rev-parse", "HEAD")
    common = Path(git(worktree, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    (common / "info").mkdir(exist_ok=True)
    (common / "info" / "grafts").write_text(f"{unrelated} {base} {work}\n")
    result = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", unrelated)
    assert result.code == 1
    assert "does not contain the work package's commit" in result.err
    assert state(env) == "accepted"


def test_admitted_work_the_owners_git_would_not_commit_can_be_merged_by_the_recipe(
    env: Env, tmp_path: Path
) -> None:
    """Not an attack: the gate admits src/.envrc, which the owner's git ignores through
    .git/info/exclude (Cockpit does not read it), so `git add -A` leaves it out and the
    merge proof refuses the commit. The refusal gives the exact recipe (commit-tree of
    the admitted tree); following it, the merge is proved and the WP completes. (The
    owner's info/exclude is not watched: it runs nothing.)"""
    flow, repo, worktree, _ = scoped(env, tmp_path)
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text(".envrc\n")
    (worktree / "src/app.py").write_text("print('the admitted change')\n")
    (worktree / "src/.envrc").write_text("export X=1\n")
    flow.claim()
    assert state(env) == "accepted", verdicts(env)[-1].payload["predicates"]["scope_respected"]
    commit_all(worktree, "commit the admitted work")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge WP-1", "wp/WP-1")
    first = git(repo, "rev-parse", "HEAD")
    refused = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", first)
    assert refused.code == 1
    recipe = re.search(r"`(git update-ref [^`]+)`", refused.err)
    assert recipe, refused.err
    subprocess.run(recipe.group(1), shell=True, cwd=repo, check=True, env=clean_env(), timeout=60)
    git(repo, "merge", "-q", "--no-ff", "-m", "merge WP-1 again", "wp/WP-1")
    merged = git(repo, "rev-parse", "HEAD")
    result = env.cli("review", "WP-1", "--verdict", "accepted", "--merge-sha", merged)
    assert result.code == 0, result.err
    assert state(env) == "complete"


@pytest.mark.parametrize("late", ["worktree", "branch"])
def test_work_changed_after_the_verdict_is_not_accepted_by_a_review(
    env: Env, tmp_path: Path, late: str
) -> None:
    """Attack: a process the agent left behind (one that escaped its process group with
    setsid, so the runner could not kill it) changes the work after the gate admitted it:
    the worktree's files, or the branch wp/WP-1 (a new commit). Defence: a review that
    accepts the WP (with or without a merge_sha) first checks that the worktree still holds
    the admitted tree and that the branch did not move (or holds exactly that tree):
    exit 1 naming what changed; a queued review entry is rejected bad_ref; the WP stays
    accepted."""
    flow, _, worktree, _ = scoped(env, tmp_path)
    admit_committed_change(env, flow, worktree)
    (worktree / SECRET).write_text("leaked after the verdict\n")
    if late == "branch":
        commit_all(worktree, "after the verdict")
        git(worktree, "checkout", "-q", "HEAD~1", "--", SECRET)  # the files look admitted
        git(worktree, "reset", "-q")
    count = len(env.events())

    result = env.cli("review", "WP-1", "--verdict", "accepted")
    assert result.code == 1
    expected = "changed since the gate admitted it" if late == "worktree" else "moved since"
    assert expected in result.err, result.err
    assert state(env) == "accepted"
    assert len(env.events()) == count

    env.drop(
        "rev.yaml",
        entry("review", "REV-1", "WP-1", "human:reviewer", "verdict: accepted", created=t(50)),
    )
    env.sweep()
    [rejection] = events_of(env, "entry_rejected")
    assert rejection.payload["code"] == "bad_ref"
    assert state(env) == "accepted"


def test_a_review_after_the_merge_and_the_clean_up_is_accepted(env: Env, tmp_path: Path) -> None:
    """Not an attack: the owner merges wp/WP-1, removes its worktree and deletes the
    branch, then records the review: nothing is left to compare, and the review (without
    a merge_sha) completes the WP."""
    flow, repo, worktree, _ = scoped(env, tmp_path)
    admit_committed_change(env, flow, worktree)
    git(repo, "merge", "-q", "--no-ff", "-m", "merge WP-1", "wp/WP-1")
    git(repo, "worktree", "remove", "--force", str(worktree))
    git(repo, "branch", "-D", "wp/WP-1")
    result = env.cli("review", "WP-1", "--verdict", "accepted")
    assert result.code == 0, result.err
    assert state(env) == "complete"


# -- 10-13. the runner and its agents --------------------------------------------------------


def test_the_gate_waits_for_the_agent_that_filed_the_claim(env: Env, tmp_path: Path) -> None:
    """Attack: the agent files common ground, evidence and a claim for an in-scope commit,
    then, while the gate would judge it, sleeps 2 s and commits a change to
    secrets/key.txt before it exits. Defence: the runner verifies a WP only once its agent
    has ended, so the verdict (recorded after agent_exited) is on the worktree the agent
    left: failed on scope_respected, with the worktree's tree recorded."""
    repo, _ = new_repo(tmp_path)
    record = tmp_path / "ran.txt"
    install(
        env,
        record,
        {
            "write": {"src/app.py": "print('in scope')\n"},
            "sleep_after": 2,
            "write_after": {SECRET: "leaked after the claim\n"},
        },
    )
    drop_booking(env, repo)
    drop_dispatch(env)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert ran(record) == ["scope_confirmation", "verify"]

    started = [e for e in events_of(env, "agent_started") if e.payload["next_gate"] == "verify"]
    [launch] = started
    [exited] = [e for e in events_of(env, "agent_exited") if e.payload["launch"] == launch.seq]
    [verdict] = verdicts(env)
    assert verdict.seq > exited.seq, (
        f"verify_completed (seq {verdict.seq}, at {verdict.ts}) is not after agent_exited "
        f"(seq {exited.seq}, at {exited.ts}): outcome {verdict.payload['outcome']}, "
        f"changed files {verdict.payload['changed_files']}"
    )
    assert verdict.payload["outcome"] == "failed"
    assert verdict.payload["blocking_predicate"] == "scope_respected"
    assert SECRET in verdict.payload["changed_files"]
    assert re.fullmatch(r"[0-9a-f]{40}", str(verdict.payload["worktree_tree"]))
    assert state(env) == "failed"


def test_a_handoff_that_cannot_be_written_is_that_wps_problem_only(
    env: Env, tmp_path: Path
) -> None:
    """Attack: something (an agent) puts a FILE at handoffs/<principal>, so the runner
    cannot write that principal's handoffs. Defence: that WP's trouble is recorded as
    `agent_failed` with the error and flagged for triage; `cockpit run --once` exits 0
    and handles another principal's WP in the same run as usual."""
    path = env.root / "cockpit.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "  agent:verifier:      {roles: [verifier]}\n"
    assert anchor in text
    other = "agent:implementer-2"
    added = f"  {other}: {{roles: [worker], lanes: [implementation]}}\n"
    path.write_text(text.replace(anchor, anchor + added), encoding="utf-8")
    env.reload()
    record = tmp_path / "ran.txt"
    install(env, record)
    (env.root / "handoffs").mkdir(exist_ok=True)
    (env.root / "handoffs" / OWNER).write_text("not a directory\n")

    drop_booking(env, None)
    drop_dispatch(env)
    env.drop(
        "WP-2-a.yaml",
        entry(
            "work_package",
            "WP-2",
            "WP-2",
            OWNER_HUMAN,
            yaml_body(wp_fields(None, owner=other)),
            created=t(2),
        ),
    )
    env.drop(
        "WP-2-b.yaml",
        entry("dispatch", "DSP-WP-2", "WP-2", OWNER_HUMAN, f"to: {other}", created=t(3)),
    )
    result = env.cli("run", "--once")
    assert result.code == 0, result.err
    assert "Traceback" not in result.out + result.err

    failures = events_of(env, "agent_failed")
    assert failures, "no agent_failed recorded for WP-1"
    assert failures[0].payload["error"]
    assert not events_of(env, "agent_started")  # WP-1's agent was not started blind
    shown = detail(env)
    assert any("could not work on it" in reason for reason in shown["needs_triage"]), shown

    # WP-2 (another principal) was handled as usual: handoff written, agent run, scope
    # confirmed, standing go given.
    assert (env.root / "handoffs" / other / "WP-2.yaml").is_file()
    assert ran(record) == ["scope_confirmation", "verify"]
    assert [e.payload["exit_code"] for e in events_of(env, "agent_exited", "WP-2")] == [0, 0]
    assert state(env, "WP-2") != "dispatched"

    # A cron of `run --once` does not record the same failure every minute: it is tried
    # again after RETRY_S or once the WP moves on.
    assert env.cli("run", "--once").code == 0
    assert len(events_of(env, "agent_failed")) == len(failures)


def test_a_program_planted_at_the_workspace_root_never_replaces_the_lane_command(
    env: Env, tmp_path: Path
) -> None:
    """Attack: an executable file named `python3` at the workspace root (where an agent
    without a target repo works), hoping the runner resolves the lane command's argv[0]
    to it. Defence: resolve_command never rewrites argv[0]: the real python3 runs the
    agent, and the planted program never runs."""
    marker = tmp_path / "PLANTED-RAN"
    planted = env.root / "python3"
    planted.write_text(f"#!/bin/sh\ntouch {marker}\nexit 0\n")
    planted.chmod(0o755)
    record = tmp_path / "ran.txt"
    install(env, record)
    drop_booking(env, None)
    drop_dispatch(env)
    env.sweep()
    [first, *_] = events_of(env, "agent_started")
    assert first.payload["command"][0] == "python3"
    assert ran(record) == ["scope_confirmation", "verify"]  # the real agent ran, twice
    assert not marker.exists(), "the planted python3 ran instead of the real one"


def test_an_agent_that_leaves_its_wp_in_progress_is_flagged(env: Env, tmp_path: Path) -> None:
    """Attack (or failure): at `in_progress` the agent submits only an evidence packet and
    exits 0, so it "returned" something but never claimed. Defence: an agent that ends
    without moving its WP on leaves it flagged for triage, naming the state it is in."""
    record = tmp_path / "ran.txt"
    install(env, record, {"evidence_only": True})
    drop_booking(env, None)
    drop_dispatch(env)
    env.sweep()
    assert ran(record) == ["scope_confirmation", "verify"]
    assert state(env) == "in_progress"
    last = events_of(env, "agent_exited")[-1].payload
    assert last["exit_code"] == 0 and last["returned"] is True and last["moved"] is False
    shown = detail(env)
    assert shown["agent_problem"] and "still in_progress" in shown["agent_problem"], shown
    assert any("still in_progress" in reason for reason in shown["needs_triage"])


# -- 14. git missing -------------------------------------------------------------------------


def test_submit_and_status_work_without_git(env: Env, tmp_path: Path) -> None:
    """Attack (or a bare server): no git on PATH. Defence: Cockpit imports and runs without
    it; on a workspace without target repos `cockpit submit` and `cockpit status` exit 0
    and never print a traceback."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "sh").symlink_to("/bin/sh")
    environment = clean_env(PATH=str(bindir))
    probe = subprocess.run(
        ["sh", "-c", "command -v git"], env=environment, capture_output=True, timeout=60
    )
    assert probe.returncode != 0  # git really is missing

    booking = tmp_path / "booking.yaml"
    booking.write_text(
        entry("work_package", "WP-1", "WP-1", OWNER_HUMAN, yaml_body(wp_fields(None)))
    )
    for args in (["submit", str(booking)], ["status"]):
        done = subprocess.run(
            cockpit_cmd(*args, "--workspace", str(env.root)),
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        said = done.stdout + done.stderr
        assert "Traceback" not in said, said
        assert done.returncode == 0, (args, said)
