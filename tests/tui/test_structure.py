"""The TUI's shape: screens reach the app only through cockpit.screens.context and the
store only through engine functions, the app, screens and messages import no cycle, and
every action key has a row in the action table."""

from __future__ import annotations

import ast
from pathlib import Path

import cockpit
from cockpit.screens.actions import ACTIONS
from cockpit.screens.keys import WP_ACTIONS

ROOT = Path(cockpit.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tui_imports() -> dict[str, set[str]]:
    """Each module of the TUI (app, messages, screens) → the cockpit modules it imports."""
    files = [ROOT / "app.py", ROOT / "messages.py", *(ROOT / "screens").rglob("*.py")]
    graph: dict[str, set[str]] = {}
    for path in files:
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[module_name(path)] = {m for m in found if m.startswith("cockpit")}
    return graph


def test_screens_import_neither_the_app_nor_the_store_queries() -> None:
    for name, imports in tui_imports().items():
        if not name.startswith("cockpit.screens"):
            continue
        assert "cockpit.app" not in imports, name
        store_modules = {m for m in imports if m.startswith("cockpit.store.")}
        assert store_modules <= {"cockpit.store.Event", "cockpit.store.Store"}, name


def test_no_import_cycle_in_the_tui() -> None:
    graph = tui_imports()
    edges = {name: {m for m in imports if m in graph} for name, imports in graph.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges[start]:
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cyclic = sorted(name for name in edges if reaches(name, name, {name}))
    assert cyclic == []


def test_every_action_key_has_a_row_in_the_action_table() -> None:
    named = {c.action[len("act('") : -len("')")] for c in WP_ACTIONS if c.action.startswith("act(")}
    assert named == set(ACTIONS)
