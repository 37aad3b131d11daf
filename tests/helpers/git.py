"""Real git repositories for tests: the `git` CLI with a timeout, a target repository with
a base commit, commits in a worktree."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


def make_repo(path: Path) -> str:
    """A real git repository with a base commit; returns the base commit's sha."""
    files = {
        "README.md": "# project\n",
        ".gitignore": "*.log\n",
        "src/app.py": "print('app')\n",
        "docs/readme.md": "docs\n",
        "secrets/key.txt": "not a real key\n",
    }
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Cockpit Test")
    git(path, "config", "user.email", "test@example.invalid")
    git(path, "config", "commit.gpgsign", "false")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")
    return git(path, "rev-parse", "HEAD")


def commit_all(worktree: Path, message: str) -> None:
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", message)


def new_repo(tmp_path: Path) -> tuple[Path, str]:
    """`make_repo` in tmp_path/repo; returns the repository and its base commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    return repo, make_repo(repo)
