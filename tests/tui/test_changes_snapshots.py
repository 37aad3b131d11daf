"""Snapshots (120x40, fixed clock, fixed data and fixed git dates, so the commit ids are
the same on every run) of the work package screen's Changes tab (SPEC 11.1, 11.2): the
files of a change with their scope marks (owned, outside, forbidden), flags, a binary and a
renamed file, a Python file's diff highlighted; the comment box on a line; a kept draft
under its line and in the list of drafts. Each SVG under __snapshots__ has been looked at.

The change is a real git repository's: a target repo inside the workspace, a worktree made
by `git worktree add` as the runner makes it, a commit in it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cockpit.app import CockpitApp
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from tui.conftest import SIZE, ingest
from tui.test_snapshots import pressing

Snap = Callable[..., bool]
AppFor = Callable[..., CockpitApp]
WP = "WP-0042"
GIT_DATE = "2026-11-21T09:00:00+00:00"

BASE_FILES = {
    "README.md": "# project\n",
    "src/app.py": "print('app')\n",
    "docs/readme.md": "How to read the docs.\nOne page per topic.\n",
    "secrets/key.txt": "not a real key\n",
}
APP = '''"""The app: pages of items."""

from pages import paginate


def main(items: list[str]) -> None:
    for page in paginate(items, size=10):
        print(page)  # one page per line
'''
PAGES = '''def paginate(items, size):
    """Split `items` into pages of `size` items."""
    return [items[i : i + size] for i in range(0, len(items), size)]
'''
CI = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps: [{run: make test}]\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip()


def entries(base: str) -> list[tuple[str, str]]:
    head = f"schema: cockpit.entry/v1\nwork_package: {WP}\n"
    return [
        (
            "1.yaml",
            head + f"kind: work_package\nid: {WP}\nprincipal: human:owner\n"
            "created: 2026-11-21T10:00:00Z\nbody:\n  title: Paginate the app's items\n"
            "  objective: the app shows its items a page at a time\n"
            "  owner: agent:implementer-1\n  accountable: human:owner\n  tier: light\n"
            "  lane: implementation\n  target_repo: project\n"
            f"  base_ref: {base}\n"
            '  owned_surfaces: ["src/**", "docs/"]\n  forbidden_surfaces: ["secrets/**"]\n',
        ),
        (
            "2.yaml",
            head + "kind: dispatch\nid: DSP-0042\nprincipal: human:owner\n"
            "created: 2026-11-21T10:01:00Z\nbody: {to: agent:implementer-1}\n",
        ),
    ]


@pytest.fixture
def changed_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """WP-0042, dispatched, whose worktree commits a change to files of every scope."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", GIT_DATE)
    monkeypatch.setenv("GIT_COMMITTER_DATE", GIT_DATE)
    ws = init_workspace(tmp_path / "ws", tenant="demo")
    repo = ws.root / "project"
    for name, text in BASE_FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD")
    for name, text in entries(base):
        (ws.queue_dir("new") / name).write_text(text)
    ingest(ws)
    tree = ws.root / "worktrees" / WP
    tree.parent.mkdir(exist_ok=True)
    git(repo, "worktree", "add", "-q", str(tree), "-b", f"wp/{WP}", base)
    (tree / "src/app.py").write_text(APP)
    (tree / "src/pages.py").write_text(PAGES)
    (tree / "src/logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)))
    (tree / "README.md").write_text("# project\n\nPages: \u202eevil\u202c, see docs/guide.md\n")
    (tree / "secrets/key.txt").write_text("a real key now\n")
    (tree / ".github/workflows").mkdir(parents=True)
    (tree / ".github/workflows/ci.yml").write_text(CI)
    git(tree, "mv", "docs/readme.md", "docs/guide.md")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "Paginate")
    return ws


def shown(*steps: str | tuple[str, ...]) -> Callable[[Any], Any]:
    """`pressing(*steps)`, then until the lexers the diff asked for are made (in a worker,
    the lines drawn plain until then): the picture has its colours."""

    async def run(pilot: Any) -> None:
        await pressing(*steps)(pilot)
        for _ in range(3):
            await pilot.pause()
            making = [w for w in pilot.app.workers if w.group == "changes-lexer"]
            if making:
                await pilot.app.workers.wait_for_complete(making)
        await pilot.pause()

    return run


# Open the WP, its Changes tab, the fifth file (src/app.py), two lines down.
TO_APP_PY = (
    "enter",
    "6",
    ("right_square_bracket",) * 4,
    ("down", "down", "down", "down", "down", "down", "down"),
)


def test_changes_tab(snap_compare: Snap, changed_ws: Workspace, app_for: AppFor) -> None:
    """The files (scope marks, counts, flags), src/app.py's diff highlighted, the cursor
    on an added line, the ruler saying where it is."""
    run = shown(*TO_APP_PY)
    assert snap_compare(app_for(changed_ws), run_before=run, terminal_size=SIZE)


def test_changes_tab_binary_and_bidi(
    snap_compare: Snap, changed_ws: Workspace, app_for: AppFor
) -> None:
    """README.md (outside the WP's scope): the bidi override shown as an escape."""
    run = shown("enter", "6", "right_square_bracket")
    assert snap_compare(app_for(changed_ws), run_before=run, terminal_size=SIZE)


def test_comment_box(snap_compare: Snap, changed_ws: Workspace, app_for: AppFor) -> None:
    """`c` on an added line: where, the line, the comment being written."""
    run = shown(*TO_APP_PY, "c", tuple("Name the page size: 10 is a magic number."))
    assert snap_compare(app_for(changed_ws), run_before=run, terminal_size=SIZE)


def test_comment_draft_kept(snap_compare: Snap, changed_ws: Workspace, app_for: AppFor) -> None:
    """The draft kept: under its line in the diff, counted in the header, listed below."""
    run = shown(*TO_APP_PY, "c", tuple("Name the page size: 10 is a magic number."), "ctrl+s", "up")
    assert snap_compare(app_for(changed_ws), run_before=run, terminal_size=SIZE)
