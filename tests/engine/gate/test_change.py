"""The change under review (SPEC 11.1) on real git worktrees: `change_of` shows what plain
`git diff` shows between the base and the worktree (read independently here, from git's
own `--numstat` and patch of a staged copy), with scope marks as `scope_respected` gives
them, the caps, and nothing the tree under review could use to disguise a change."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import Flow, add_worktree, admitted, scoped_flow
from helpers.git import commit_all, git, make_repo
from helpers.workspace import Env

from cockpit.engine.gate.change import Change, change_of
from cockpit.engine.repo import diff as repo_diff
from cockpit.engine.repo.diff_text import stat, unified, visible
from cockpit.errors import Refused


def _change(env: Env) -> Change:
    with env.store() as store:
        wp = store.work_package("WP-1")
        assert wp is not None
        return change_of(env.ws, store, wp)


def _git_view(worktree: Path, base: str) -> dict[str, dict[str, Any]]:
    """What plain git shows for the worktree against `base`, everything staged first (in
    the test's own index: Cockpit never reads it): per path, its status letter, counts
    (None for binary) and the lines of its patch."""
    git(worktree, "add", "-A")
    listed = git(worktree, "diff", "--cached", "-M", "--name-status", "-z", base)
    tokens = listed.split("\0")
    view: dict[str, dict[str, Any]] = {}
    i = 0
    while i < len(tokens) and tokens[i]:
        letter = tokens[i][0]
        if letter == "R":
            old, path, i = tokens[i + 1], tokens[i + 2], i + 3
        else:
            old, path, i = None, tokens[i + 1], i + 2
        view[path] = {"status": letter, "old_path": old}
    numstat = git(worktree, "diff", "--cached", "-M", "--numstat", "-z", base).split("\0")
    j = 0
    while j < len(numstat) and numstat[j]:
        added, removed, rest = numstat[j].split("\t", 2)
        if rest == "":  # a rename: old and new path follow
            path, j = numstat[j + 2], j + 3
        else:
            path, j = rest, j + 1
        view[path]["counts"] = None if added == "-" else (int(added), int(removed))
    for path in view:
        old = view[path]["old_path"]
        spec = [old, path] if old else [path]
        patch = git(worktree, "diff", "--cached", "-M", base, "--", *spec)
        body = patch.split("\n@@", 1)[1] if "\n@@" in patch else ""
        view[path]["lines"] = [
            line
            for line in ("@@" + body).splitlines()[1:]
            if line[:1] in ("+", "-", " ") and not line.startswith("@@")
        ]
    return view


def _lines(change_file: dict[str, Any]) -> list[str]:
    return [
        f"{line['kind']}{line['text']}" for hunk in change_file["hunks"] for line in hunk["lines"]
    ]


def test_the_change_is_what_git_diff_shows(env: Env, tmp_path: Path) -> None:
    flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('app')\nprint('more')\n")  # modified
    (worktree / "src/new.py").write_text("one\ntwo\n")  # added, committed
    (worktree / "src/big.py").write_text("".join(f"line {n}\n" for n in range(40)))
    commit_all(worktree, "agent work")
    (worktree / "docs/readme.md").rename(worktree / "docs/guide.md")  # renamed, on disk
    (worktree / "src/gone.txt").write_text("added and deleted again\n")
    commit_all(worktree, "a file that comes and goes")
    (worktree / "src/gone.txt").unlink()  # in the commits only: not part of the content
    (worktree / "src/blob.bin").write_bytes(b"head" + b"\0" * 20000 + b"tail")  # binary
    (worktree / "src/late.bin").write_bytes(b"x" * 9000 + b"\0")  # a NUL past 8000 bytes
    (worktree / "src/untracked.txt").write_text("never added\n")  # untracked
    (worktree / "secrets/key.txt").write_text("rotated\n")  # forbidden
    (worktree / "README.md").unlink()  # deleted, outside the owned surfaces
    (worktree / "build.log").write_text("ignored\n")  # ignored: not part of the change
    lines = "".join(f"row {n}\n" for n in range(40))
    (worktree / "src/big.py").write_text(lines.replace("row 20\n", "row twenty\n"))

    document = json.loads(json.dumps(_change(env).to_json()))
    files = {f["path"]: f for f in document["files"]}
    assert document["base"] == base and document["head"] is None
    assert document["source"] == "worktree"

    view = _git_view(worktree, base)
    assert sorted(files) == sorted(view)
    statuses = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed"}
    for path, seen in view.items():
        mine = files[path]
        assert mine["status"] == statuses[seen["status"]], path
        assert mine["old_path"] == seen["old_path"], path
        if path == "src/late.bin":  # git reads only 8000 bytes; Cockpit every byte
            assert seen["counts"] == (1, 0) and mine["binary"] is True
            continue
        if seen["counts"] is None:
            assert mine["binary"] is True and mine["hunks"] == []
        else:
            assert (mine["additions"], mine["deletions"]) == seen["counts"], path
            assert _lines(mine) == seen["lines"], path
    assert files["docs/guide.md"]["old_path"] == "docs/readme.md"
    assert files["docs/guide.md"]["status"] == "renamed"
    assert files["README.md"]["status"] == "deleted"
    assert document["committed_only"] == [{"path": "src/gone.txt", "scope": "owned"}]
    assert files["src/untracked.txt"]["status"] == "added"
    assert "build.log" not in files
    blob = files["src/blob.bin"]
    data = (worktree / "src/blob.bin").read_bytes()
    assert blob["new_size"] == len(data)
    assert blob["new_sha256"] == hashlib.sha256(data).hexdigest()
    assert blob["old_size"] is None and blob["old_sha256"] is None
    marks = {path: f["scope"] for path, f in files.items()}
    assert marks["secrets/key.txt"] == "forbidden"
    assert marks["README.md"] == "outside"
    assert marks["src/app.py"] == marks["docs/guide.md"] == "owned"
    # Line numbers on each side, as the hunk headers count them.
    app = files["src/app.py"]["hunks"][0]
    assert app["lines"][-1] == {
        "kind": "+",
        "old_line": None,
        "new_line": 2,
        "text": "print('more')",
    }
    assert flow.state() == "in_progress"  # reading the change changed nothing


def test_the_printed_diff_follows_gits_conventions(env: Env, tmp_path: Path) -> None:
    _flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('app')\nprint('more')\n")
    (worktree / "src/blob.bin").write_bytes(b"\0\1\2")
    change = _change(env)
    printed = list(unified(change.diff))
    git(worktree, "add", "-A")
    expected = git(worktree, "diff", "--cached", base, "--", "src/app.py").splitlines()
    at = printed.index("diff --git a/src/app.py b/src/app.py")
    assert printed[at : at + len(expected)] == expected
    assert "Binary files /dev/null and b/src/blob.bin differ" in printed
    assert any(line.startswith("new size 3 sha256 ") for line in printed)
    shown = stat(change.diff)
    assert shown[-1] == " 2 files changed, 1 insertion(+)"
    assert any("src/blob.bin | Bin 0 -> 3 bytes" in line for line in shown)


def test_the_caps_name_what_they_do_not_show(env: Env, tmp_path: Path, monkeypatch: Any) -> None:
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/a_wide.txt").write_text(("w" * 1000 + "\n") * 2000)  # ~2 MiB of diff
    (worktree / "src/b_long.txt").write_text("".join(f"{n}\n" for n in range(45_000)))
    (worktree / "src/c_after.txt").write_text("".join(f"{n}\n" for n in range(5000)))
    (worktree / "src/d_last.txt").write_text("last\n")
    files = {f.path: f for f in _change(env).files}
    wide = files["src/a_wide.txt"]
    assert wide.truncated and not wide.omitted and wide.additions == 2000
    assert 0 < wide.line_count < 2000
    shown_bytes = sum(len(line.text) + 2 for hunk in wide.hunks for line in hunk.lines)
    assert shown_bytes <= repo_diff.MAX_FILE_BYTES
    long = files["src/b_long.txt"]
    assert not long.truncated and long.line_count == 45_000
    after = files["src/c_after.txt"]  # the change's 50,000 lines run out inside it
    assert after.truncated and after.additions == 5000
    assert wide.line_count + long.line_count + after.line_count == repo_diff.MAX_LINES
    last = files["src/d_last.txt"]
    assert last.omitted and not last.hunks and last.additions == 1
    hunk = after.hunks[-1]
    assert hunk.new_lines == len(hunk.lines)  # a cut hunk counts what it shows
    printed = "\n".join(unified(_change(env).diff))
    assert "# cockpit: not shown (+1 -0)" in printed
    assert "# cockpit: cut here" in printed


def test_the_tree_under_review_cannot_disguise_its_change(env: Env, tmp_path: Path) -> None:
    """Attributes, textconv and eol conversion of the tree (and a diff driver in the
    shared config) are not honoured; a NUL makes a file binary, nothing else does;
    control and bidi characters are data in JSON and escapes when printed; a symlink is a
    symlink; special files are flagged."""
    _flow, worktree, base = scoped_flow(
        env, tmp_path, owned_surfaces=["src/**", ".gitattributes", ".github/", ".gitmodules"]
    )
    git(worktree, "config", "diff.hide.textconv", "echo nothing to see")
    (worktree / ".gitattributes").write_text(
        "*.py -diff\n*.txt diff=hide\n*.cfg text eol=crlf\n*.id ident\n"
    )
    (worktree / "src/app.py").write_text("print('exfiltrate')\n")
    (worktree / "src/notes.txt").write_text("the hidden part\n")
    (worktree / "src/crlf.cfg").write_text("a = 1\r\nb = 2\r\n")
    (worktree / "src/tag.id").write_text("$Id: not collapsed $\n")
    (worktree / "src/trojan.py").write_text("access = 'user\u202e \u2066// admin\u2069\u2066'\n")
    (worktree / "src/esc.py").write_text("x = 1\x1b[2K\rclean = True\n")
    os.symlink("/etc/passwd", worktree / "src/link")
    (worktree / ".github/workflows").mkdir(parents=True)
    (worktree / ".github/workflows/ci.yml").write_text("on: push\n")
    (worktree / ".gitmodules").write_text('[submodule "x"]\n\tpath = x\n')
    files = {f.path: f for f in _change(env).files}

    def added(path: str) -> list[str]:
        return [line.text for hunk in files[path].hunks for line in hunk.lines if line.kind == "+"]

    assert not files["src/app.py"].binary and added("src/app.py") == ["print('exfiltrate')"]
    assert added("src/notes.txt") == ["the hidden part"]
    assert added("src/crlf.cfg") == ["a = 1\r", "b = 2\r"]  # the bytes on disk
    assert added("src/tag.id") == ["$Id: not collapsed $"]
    assert added("src/trojan.py") == ["access = 'user\u202e \u2066// admin\u2069\u2066'"]
    link = files["src/link"]
    assert link.symlink and link.new_mode == "120000" and added("src/link") == ["/etc/passwd"]
    assert files[".gitattributes"].flag == "attributes"
    assert files[".github/workflows/ci.yml"].flag == "ci"
    assert files[".gitmodules"].flag == "submodules"
    assert files["src/app.py"].flag is None
    printed = "\n".join(unified(_change(env).diff))
    assert "+access = 'user\\u202e \\u2066// admin\\u2069\\u2066'" in printed
    assert "+x = 1\\x1b[2K\\rclean = True" in printed
    assert "\u202e" not in printed and "\x1b" not in printed
    assert "+a = 1\\r" in printed
    assert visible("tab\there") == "tab\there"
    # The content tree (what the gate measures and verifies) holds the bytes on disk.
    assert git(worktree, "rev-parse", "HEAD") == base  # nothing was committed
    blob = files["src/crlf.cfg"].new_blob
    assert blob is not None
    assert git(worktree, "cat-file", "-s", blob) == str(len(b"a = 1\r\nb = 2\r\n"))


def test_odd_file_names_are_kept_exactly(env: Env, tmp_path: Path) -> None:
    """File names come from git's NUL-separated listing, never from the patch's headers:
    a name holding a newline, ` b/`, quotes or a tab is the file's name, escaped only
    when printed."""
    _flow, worktree, _base = scoped_flow(env, tmp_path)
    names = ["src/new\nline.py", "src/x b/y.py", 'src/q"uote\t.py', "src/diff --git a/z"]
    for name in names:
        (worktree / name).parent.mkdir(parents=True, exist_ok=True)
        (worktree / name).write_text(f"{name!r}\n")
    change = _change(env)
    assert sorted(f.path for f in change.files) == sorted(names)
    for f in change.files:
        assert [line.text for h in f.hunks for line in h.lines] == [repr(f.path)]
    printed = "\n".join(unified(change.diff))
    assert "diff --git a/src/new\\x0aline.py b/src/new\\x0aline.py" in printed


def test_a_type_change_and_a_mode_change(env: Env, tmp_path: Path) -> None:
    _flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").unlink()
    os.symlink("../README.md", worktree / "src/app.py")  # a file becomes a symlink
    (worktree / "docs/readme.md").chmod(0o755)  # executable, same content
    files = {f.path: f for f in _change(env).files}
    app = files["src/app.py"]
    assert (app.status, app.old_mode, app.new_mode, app.symlink) == (
        "modified",
        "100644",
        "120000",
        True,
    )
    assert [f"{line.kind}{line.text}" for h in app.hunks for line in h.lines] == [
        "-print('app')",
        "+../README.md",
    ]
    mode = files["docs/readme.md"]
    assert (mode.old_mode, mode.new_mode, mode.hunks, mode.additions) == ("100644", "100755", (), 0)
    printed = list(unified(_change(env).diff))
    git(worktree, "add", "-A")
    assert printed == git(worktree, "diff", "--cached", base).splitlines()


def test_a_line_ending_change_alone_is_a_change(env: Env, tmp_path: Path) -> None:
    """With `text eol=...` attributes git would normalise CRLF away and see no change at
    all; the gate and the diff see the bytes."""
    _flow, worktree, _base = scoped_flow(env, tmp_path, owned_surfaces=["src/**", ".gitattributes"])
    (worktree / ".gitattributes").write_text("* text=auto eol=lf\n")
    (worktree / "src/app.py").write_text("print('app')\r\n")
    files = {f.path: f for f in _change(env).files}
    assert [f"{line.kind}{line.text}" for h in files["src/app.py"].hunks for line in h.lines] == [
        "-print('app')",
        "+print('app')\r",
    ]


def test_a_wp_without_a_target_repo_has_no_change(env: Env) -> None:
    Flow(env).book()
    with pytest.raises(Refused, match="WP-1 has no target repo"):
        _change(env)


def test_the_bases_own_attributes_are_not_a_change(env: Env, tmp_path: Path) -> None:
    """The owner's .gitattributes (in the base) converts line endings on checkout: the
    worktree's CRLF file is not a change while the attributes are the base's. Once the
    agent changes a .gitattributes, none is honoured and the bytes on disk are the
    content (the conversion shows: fail-closed)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    make_repo(repo)
    (repo / ".gitattributes").write_text("*.bat text eol=crlf\n")
    (repo / "src/run.bat").write_text("echo one\necho two\n")
    commit_all(repo, "attributes")
    base = git(repo, "rev-parse", "HEAD")
    flow = Flow(env).book(target_repo=str(repo), base_ref=base, owned_surfaces=["src/**"])
    worktree = add_worktree(env, repo, base)
    assert (worktree / "src/run.bat").read_bytes() == b"echo one\r\necho two\r\n"
    assert _change(env).files == ()
    (worktree / "src/app.py").write_text("print('edited')\n")
    assert [f.path for f in _change(env).files] == ["src/app.py"]
    flow.ground()
    flow.evidence()
    flow.claim()
    assert admitted(env)["changed_files"] == ["src/app.py"]

    (worktree / ".gitattributes").write_text("*.bat text eol=crlf\n*.py -diff\n")
    files = {f.path: f for f in _change(env).files}
    assert sorted(files) == [".gitattributes", "src/app.py", "src/run.bat"]
    assert files[".gitattributes"].flag == "attributes"
    lines = [f"{line.kind}{line.text}" for h in files["src/run.bat"].hunks for line in h.lines]
    assert lines == ["-echo one", "-echo two", "+echo one\r", "+echo two\r"]


def test_a_repository_made_inside_the_worktree_is_flagged_and_its_files_are_in_scope(
    env: Env, tmp_path: Path
) -> None:
    """Attack: the agent makes src/sub a repository of its own with a script in it. Git
    records the directory as a bare pointer to a commit of its own, so no diff can show the
    script. Defence: the diff flags the pointer (`repository`), and every file inside it is
    a changed path, so scope_respected judges each (here src/sub/tools/evil.sh, outside
    the owned src/*.py)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    make_repo(repo)
    base = git(repo, "rev-parse", "HEAD")
    Flow(env).book(target_repo=str(repo), base_ref=base, owned_surfaces=["src/*.py"])
    worktree = add_worktree(env, repo, base)
    sub = worktree / "src" / "sub"
    (sub / "tools").mkdir(parents=True)
    git(sub, "init", "-q")
    (sub / "tools" / "evil.sh").write_text("rm -rf ~\n")
    commit_all(sub, "a repository of its own")

    change = _change(env)
    [pointer] = change.files
    assert pointer.path == "src/sub" and pointer.submodule and pointer.flag == "repository"
    assert "its files are not shown" in "\n".join(unified(change.diff))
    with env.store() as store:
        from cockpit.engine.gate.verification import gather

        wp = store.work_package("WP-1")
        assert wp is not None
        facts = gather(env.ws, store, wp, run_commands=False)
    assert "src/sub/tools/evil.sh" in (facts.changed_files or [])
    assert facts.surface_matches is not None
    forbidden, outside = facts.surface_matches
    assert "src/sub/tools/evil.sh" in outside and not forbidden
