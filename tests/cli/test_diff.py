"""`cockpit diff WP [--stat] [--json]` (SPEC 11.1) on a real workspace and git worktree:
git's unified diff conventions (held against plain `git diff` of a staged copy), a stat
like git's, SPEC 11.1's JSON, escapes for what could hide text, and one sentence (exit 1)
for a WP that has no change to show."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from helpers.gate import Flow, scoped_flow
from helpers.git import git
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def test_diff_prints_what_git_diff_prints(env: Env, tmp_path: Path) -> None:
    _flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('app')\nprint('two')\n")
    (worktree / "src/new.py").write_text("fresh\n")
    (worktree / "docs/readme.md").unlink()
    (worktree / "secrets/key.txt").write_text("rotated\n")
    shown = env.cli("diff", "WP-1")
    assert shown.code == 0, shown.err
    git(worktree, "add", "-A")  # the test's own staging: Cockpit never reads the index
    expected = git(worktree, "diff", "--cached", base)
    assert shown.out.rstrip("\n") == expected
    stat = env.cli("diff", "WP-1", "--stat")
    assert stat.out.splitlines() == [
        " docs/readme.md  | 1 -",
        " secrets/key.txt | 2 +- [forbidden]",
        " src/app.py      | 1 +",
        " src/new.py      | 1 +",
        " 4 files changed, 3 insertions(+), 2 deletions(-)",
    ]
    gits = git(worktree, "diff", "--cached", "--stat=80", base).splitlines()
    mine = [line.replace(" [forbidden]", "") for line in stat.out.splitlines()]
    assert [line.strip() for line in gits] == [line.strip() for line in mine]


def test_diff_json_is_spec_11_1s_document(env: Env, tmp_path: Path) -> None:
    _flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('app')\nprint('two')\n")
    (worktree / "README.md").write_text("outside\n")
    document = env.cli("diff", "WP-1", "--json").json()
    assert {"base", "head", "files"} <= set(document)
    assert document["base"] == base
    app = next(f for f in document["files"] if f["path"] == "src/app.py")
    spec_keys = {"path", "status", "old_path", "additions", "deletions", "binary", "scope", "hunks"}
    assert spec_keys <= set(app)
    assert (app["status"], app["additions"], app["deletions"], app["scope"]) == (
        "modified",
        1,
        0,
        "owned",
    )
    hunk = app["hunks"][0]
    assert {k: hunk[k] for k in ("old_start", "old_lines", "new_start", "new_lines")} == {
        "old_start": 1,
        "old_lines": 1,
        "new_start": 1,
        "new_lines": 2,
    }
    assert hunk["lines"] == [
        {"kind": " ", "old_line": 1, "new_line": 1, "text": "print('app')"},
        {"kind": "+", "old_line": None, "new_line": 2, "text": "print('two')"},
    ]
    readme = next(f for f in document["files"] if f["path"] == "README.md")
    assert readme["scope"] == "outside"


def test_diff_shows_hiding_characters_as_escapes(env: Env, tmp_path: Path) -> None:
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("ok = 1 # \u202e}\u2066 done\x1b]0;title\x07\n")
    (worktree / "src/we\u202eird.py").write_text("x\n")
    shown = env.cli("diff", "WP-1")
    assert "+ok = 1 # \\u202e}\\u2066 done\\x1b]0;title\\x07" in shown.out
    assert "b/src/we\\u202eird.py" in shown.out
    assert "\u202e" not in shown.out and "\x1b" not in shown.out
    document = env.cli("diff", "WP-1", "--json").json()  # JSON keeps the text as data
    texts = [line["text"] for f in document["files"] for h in f["hunks"] for line in h["lines"]]
    assert "ok = 1 # \u202e}\u2066 done\x1b]0;title\x07" in texts


def test_diff_names_binary_files_with_size_and_sha256(env: Env, tmp_path: Path) -> None:
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/data.bin").write_bytes(b"\x00\x01binary")
    shown = env.cli("diff", "WP-1").out.splitlines()
    assert "Binary files /dev/null and b/src/data.bin differ" in shown
    digest = hashlib.sha256(b"\x00\x01binary").hexdigest()
    assert f"new size 8 sha256 {digest}" in shown
    assert not any(line.startswith("+") and "binary" in line for line in shown)


def test_a_wp_without_a_change_is_one_sentence(env: Env, tmp_path: Path) -> None:
    Flow(env).book()
    result = env.cli("diff", "WP-1")
    assert result.code == 1
    assert "WP-1 has no target repo, so there is no change to show" in result.err
    assert result.err.count("\n") == 1


def test_a_wp_whose_worktree_is_gone_is_one_sentence(env: Env, tmp_path: Path) -> None:
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    shutil.rmtree(worktree)
    result = env.cli("diff", "WP-1")
    assert result.code == 1 and "has no worktree" in result.err
    assert env.cli("diff", "WP-9").code == 2  # no such WP: an input error


def test_an_empty_change_prints_nothing(env: Env, tmp_path: Path) -> None:
    scoped_flow(env, tmp_path)
    assert env.cli("diff", "WP-1").out == ""
    assert env.cli("diff", "WP-1", "--stat").out == ""
    assert env.cli("diff", "WP-1", "--json").json()["files"] == []
