"""docs/security.md names the tests that prove each defence: every one it names exists, and
it names at least 15 (issue 11's acceptance)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def defined_tests() -> dict[str, set[str]]:
    """test file (relative to the repo) -> the test functions it defines."""
    out: dict[str, set[str]] = {}
    for path in (REPO / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        names = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        }
        out[str(path.relative_to(REPO))] = names
    return out


def named_tests(text: str) -> list[tuple[str, str]]:
    """(file, test) pairs: `tests/…/file.py::name` names its file; a short `file.py::name`
    means the file of that name the doc last named in full; a bare `::name` reuses the
    file of the mention before it."""
    pairs: list[tuple[str, str]] = []
    full: dict[str, str] = {}
    current = ""
    for match in re.finditer(r"`([\w/]*\.py)?::(test_\w+)`", text):
        path = match.group(1)
        if path and "/" in path:
            full[path.rsplit("/", 1)[1]] = path
            current = path
        elif path:
            current = full.get(path, path)
        pairs.append((current, match.group(2)))
    return pairs


def test_every_test_the_security_doc_names_exists_and_there_are_at_least_15() -> None:
    text = (REPO / "docs" / "security.md").read_text()
    tests = defined_tests()
    named = named_tests(text)
    missing = []
    for file, name in named:
        if name not in tests.get(file, set()):
            missing.append(f"{file}::{name}")
    assert missing == []
    assert len({(f, n) for f, n in named}) >= 15
