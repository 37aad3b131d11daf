"""The GitHub CLI stand-in (tests/standins/gh/bin/gh) does what tests/standins/README.md
says: `gh auth status` logged in or not, `gh pr create` with the manual's flags, refusing a
head branch the remote does not have, printing the pull request's URL as gh does."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from helpers.delivery import GH_BIN
from helpers.git import git, make_repo

GH = str(GH_BIN / "gh")


def gh(cwd: Path, log: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "GH_STANDIN_LOG": str(log), **env}
    return subprocess.run(
        [GH, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60
    )


def test_auth_status_is_logged_in_unless_told_otherwise(tmp_path: Path) -> None:
    log = tmp_path / "gh.jsonl"
    ok = gh(tmp_path, log, "auth", "status")
    assert ok.returncode == 0 and "Logged in to github.com account standin" in ok.stdout
    out = gh(tmp_path, log, "auth", "status", GH_STANDIN_AUTH="none")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("You are not logged into any GitHub hosts.")


def test_pr_create_needs_the_head_branch_on_a_remote_and_prints_a_url(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    make_repo(repo)
    remote = tmp_path / "service.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    log = tmp_path / "gh.jsonl"
    body = tmp_path / "body.md"
    body.write_text("the body\n")
    args = ("pr", "create", "--base", "main", "--head", "wp/WP-1", "--title", "T")
    missing = gh(repo, log, *args, "--body-file", str(body))
    assert missing.returncode == 1
    assert "Head ref must be a branch" in missing.stderr and missing.stdout == ""
    git(repo, "push", "-q", "origin", "main:refs/heads/wp/WP-1")
    made = gh(repo, log, *args, "--body-file", str(body), "-d", "--label", "x")
    assert made.returncode == 0, made.stderr
    assert made.stdout == "https://github.com/standin/service/pull/1\n"
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["body"] == "the body\n"
    assert record["options"]["head"] == "wp/WP-1" and record["options"]["draft"] is True
    unknown = gh(repo, log, *args, "--body", "b", "--force")
    assert unknown.returncode == 1 and unknown.stderr.startswith("unknown flag: --force")
    no_body = gh(repo, log, *args)
    assert no_body.returncode == 1 and "must provide `--title` and `--body`" in no_body.stderr
