"""The Changes tab on a large diff (SPEC 11.1, issue 18): a work package booked against a
real git repository, its worktree holding a new file of LINES lines (a 20,000-line diff),
the app headless on the WP's screen. `tui_apps.py changes` times the `6` key's action until
the diff is on screen (the WP's screen computes the change as it opens: measured with its
reads settled, then cold, the screen opened and the tab shown at once). The baseline is the same
screen's Verify tab (a Static) shown the same way; beside it, `git diff BASE` in the same
worktree as a process (what a reviewer would otherwise run by hand, its output read)."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import processes
from gate_bench import git, make_repo

from cockpit.engine.workspace.scaffold import init_workspace

HERE = Path(__file__).resolve().parent
WP = "WP-1"


def build(root: Path, lines: int) -> tuple[Path, Path, str]:
    """The workspace, the WP's worktree and the base commit."""
    ws = init_workspace(root / "ws", tenant="bench")
    repo = root / "repo"
    repo.mkdir()
    base = make_repo(repo)
    booking = (
        "schema: cockpit.entry/v1\nkind: work_package\n"
        f"id: {WP}\nwork_package: {WP}\nprincipal: human:owner\n"
        "created: 2026-11-21T10:00:00Z\nbody:\n"
        "  title: A large change\n  objective: o\n  owner: agent:implementer-1\n"
        "  accountable: human:owner\n  tier: light\n  lane: implementation\n"
        f"  target_repo: {repo}\n  base_ref: {base}\n"
        '  owned_surfaces: ["src/**"]\n'
    )
    (ws.queue_dir("new") / "1.yaml").write_text(booking)
    with ws.open_store() as store:
        from cockpit.engine.queue.sweep import Sweeper

        Sweeper(ws, store).sweep()
    worktree = ws.worktrees_dir / WP
    worktree.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "-q", str(worktree), "-b", f"wp/{WP}", base)
    text = "".join(f"value_{n} = {n}  # line {n} of the new module\n" for n in range(1, lines + 1))
    (worktree / "src/big.py").write_text(text)
    return ws.root, worktree, base


def git_diff_s(worktree: Path, base: str, repeat: int) -> float:
    """Best of `repeat`: `git diff BASE` (untracked files added with -N first, so git
    shows the new file), its output read."""
    git(worktree, "add", "-N", "--", "src/big.py")
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(["git", "diff", base], cwd=worktree, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def measure(scratch: Path, lines: int, repeat: int) -> dict[str, Any]:
    root, worktree, base = build(scratch, lines)
    run = processes.command(
        [processes.PYTHON, str(HERE / "tui_apps.py"), "changes", str(root), WP, str(repeat)],
        capture=True,
    )
    found = json.loads(run.stdout)
    samples = [ms / 1000 for ms in found["ms"]]
    cold = [ms / 1000 for ms in found["cold_ms"]]
    return {
        "first_s": samples[0],
        "median_s": statistics.median(samples),
        "samples_s": samples,
        "cold_median_s": statistics.median(cold),
        "verify_tab_s": statistics.median(ms / 1000 for ms in found["verify_ms"]),
        "git_diff_s": git_diff_s(worktree, base, repeat),
        "rows": found["rows"],
    }
