"""The work package screen's fields, most needed first: what the WP is, its state, its
last verify, why it needs attention and who has it; then the rest. Laid out for the width
it is drawn in: two fields to a line on a wide terminal, one on a narrow one, so that on
80x24 the status lines come before anything is cut off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from cockpit.screens.text import badge, outcome, plain

WIDE = 100  # narrower than this, one field to a line
LABEL = 16  # "success criteria"
LABEL_RIGHT = 11  # "accountable"
MUTED = "#9ca3af"

Field = tuple[str, Text]


@dataclass(frozen=True)
class Pair:
    """Two short fields side by side on a wide terminal, one after the other on a narrow."""

    left: Field
    right: Field


class Fields:
    """Fields and pairs of fields, in order, as a renderable that fits its width."""

    def __init__(self, rows: list[Field | Pair]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Group(*self.grids(options.max_width >= WIDE))

    def grids(self, wide: bool) -> list[Table]:
        """One grid per run of pairs (four columns) or of single fields (two)."""
        out: list[Table] = []
        kind = ""
        for row in self.rows:
            paired = wide and isinstance(row, Pair)
            if not out or kind != ("pair" if paired else "line"):
                out.append(_grid(paired))
                kind = "pair" if paired else "line"
            if isinstance(row, Pair):
                if paired:
                    out[-1].add_row(row.left[0], row.left[1], row.right[0], row.right[1])
                else:
                    out[-1].add_row(*row.left)
                    out[-1].add_row(*row.right)
            else:
                out[-1].add_row(*row)
        return out


def _grid(paired: bool) -> Table:
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(style=MUTED, no_wrap=True, width=LABEL)
    grid.add_column(ratio=1)
    if paired:
        grid.add_column(style=MUTED, no_wrap=True, width=LABEL_RIGHT)
        grid.add_column(ratio=1)
    return grid


def fields_table(detail: dict[str, Any], ground: dict[str, Any] | None) -> Fields:
    heading = plain(detail["id"], "bold")
    heading.append("  ")
    heading.append_text(plain(detail["title"], "bold"))
    state = badge(detail["state"])
    if detail["overridden"]:
        state.append("  ⚑ overridden", style="bold #ef4444")
    if detail["vetoed"]:
        state.append("  ✋ vetoed", style="bold #ef4444")
    last = detail["last_verify"]
    verify = outcome(last["outcome"], last["blocking_predicate"]) if last else outcome(None)
    rows: list[Field | Pair] = [
        ("work package", heading),
        Pair(("state", state), ("last verify", verify)),
    ]
    if detail["needs_triage"]:
        rows.append(
            ("needs attention", Text("; ".join(detail["needs_triage"]), style="bold #f97316"))
        )
    rows.append(
        Pair(("assignee", plain(detail["assignee"] or "-")), ("lane", plain(detail["lane"])))
    )
    rows += _agent(detail.get("agent"))
    rows.append(
        Pair(("tier", plain(detail["tier"])), ("labels", plain(", ".join(detail["labels"]) or "-")))
    )
    rows.append(
        Pair(("owner", plain(detail["owner"])), ("accountable", plain(detail["accountable"])))
    )
    rows.append(("objective", plain(detail["objective"])))
    criteria = Text("\n").join(plain(f"• {c}") for c in detail["success_criteria"]) or Text("-")
    rows.append(("success criteria", criteria))
    if ground is not None:
        body = ground["body"]
        cg = plain(f"{ground['id']} v{body.get('version')} · stage {body.get('stage') or '-'}")
        for question in body.get("open_questions") or []:
            cg.append("\n")
            cg.append_text(plain(f"? {question}", "#fbbf24"))
        rows.append(("common ground", cg))
    worktree = detail.get("worktree")
    if worktree:
        where = f"{worktree['worktree']} · {worktree['branch']} from {worktree['base_commit'][:12]}"
        repo = detail.get("target_repo") or worktree["target_repo"]
        rows.append(Pair(("worktree", plain(where)), ("target repo", plain(repo))))
    return Fields(rows)


def _agent(agent: dict[str, Any] | None) -> list[Field | Pair]:
    """The WP's last agent run and its sandbox, if it had one."""
    if not agent:
        return []
    if agent["running"]:
        run = f"{agent['principal']} running (attempt {agent['attempt']}, {agent['stage']})"
    else:
        ended = agent.get("problem") or f"exited {agent.get('exit_code')}"
        run = f"{agent['principal']} attempt {agent['attempt']} ({agent['stage']}): {ended}"
    rows: list[Field | Pair] = [
        Pair(("agent", plain(run)), ("log", plain(agent.get("log") or "-")))
    ]
    confined = agent.get("sandbox")
    if confined is not None:
        weakened = agent.get("sandbox_weakened") or []
        shown = plain(str(confined), "bold #f97316" if confined == "none" else "")
        extra = (
            plain("writable beyond its own: " + ", ".join(weakened), "bold #f97316")
            if weakened
            else plain("-")
        )
        rows.append(Pair(("sandbox", shown), ("weakened", extra)))
    return rows
