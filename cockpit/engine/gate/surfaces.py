"""Surface globs: which paths a work package owns or must not touch.

`**` crosses directories, `*` and `?` stay within one path segment, and a pattern ending
in '/' means everything below that directory. Paths are '/'-separated and relative to the
worktree (globs that escape it are refused at ingest).

A glob is matched by simulating its automaton over the path's characters, never by a
backtracking regex: the time is linear in the path's length whatever the glob (a glob such
as `**/a/**/a/**/*.json` against deeply nested directories once took a regex minutes).
The gate's matching of changed files against surfaces also has a time budget,
`MATCH_BUDGET_S` (docs/gate.md).
"""

from __future__ import annotations

import functools
import time

# Seconds the gate may spend matching changed files against surface globs before
# `scope_respected` is an `error` (far above any real work package's needs).
MATCH_BUDGET_S = 10.0
# Transitions of the lazily built deterministic automaton kept per glob.
_CACHE_LIMIT = 4096

# What a step of the automaton consumes.
_LITERAL, _NOT_SLASH, _ANY = 0, 1, 2


class Glob:
    """A compiled surface glob. `match(path)` is True if the glob matches the whole path.

    The glob is compiled to a nondeterministic automaton (one state per glob element) and
    run over the path keeping the set of live states, so every character costs at most
    one step per state; sets of states met before are looked up, not recomputed.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        if pattern.endswith("/"):
            pattern += "**"
        steps: list[list[tuple[int, str, int]]] = []  # per state: (consumes, char, target)
        skips: list[list[int]] = []  # per state: states reachable without consuming
        i = 0
        while i < len(pattern):
            here = len(steps)
            if pattern.startswith("**/", i):
                # (?:.*/)? : nothing, or anything that ends with '/'.
                steps += [[], [(_ANY, "", here + 1), (_LITERAL, "/", here + 2)]]
                skips += [[here + 1, here + 2], []]
                i += 3
            elif pattern.startswith("**", i):
                steps.append([(_ANY, "", here)])
                skips.append([here + 1])
                i += 2
            elif pattern[i] == "*":
                steps.append([(_NOT_SLASH, "", here)])
                skips.append([here + 1])
                i += 1
            elif pattern[i] == "?":
                steps.append([(_NOT_SLASH, "", here + 1)])
                skips.append([])
                i += 1
            else:
                steps.append([(_LITERAL, pattern[i], here + 1)])
                skips.append([])
                i += 1
        self._accept = len(steps)
        steps.append([])
        skips.append([])
        self._steps = steps
        self._closures = [self._close(frozenset({s}), skips) for s in range(len(steps))]
        self._start = self._closures[0]
        self._moves: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    @staticmethod
    def _close(states: frozenset[int], skips: list[list[int]]) -> frozenset[int]:
        seen = set(states)
        todo = list(states)
        while todo:
            for target in skips[todo.pop()]:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return frozenset(seen)

    def _move(self, states: frozenset[int], char: str) -> frozenset[int]:
        key = (states, char)
        known = self._moves.get(key)
        if known is not None:
            return known
        reached: set[int] = set()
        for state in states:
            for consumes, literal, target in self._steps[state]:
                if (
                    consumes == _ANY
                    or (consumes == _NOT_SLASH and char != "/")
                    or (consumes == _LITERAL and char == literal)
                ):
                    reached |= self._closures[target]
        result = frozenset(reached)
        if len(self._moves) < _CACHE_LIMIT:
            self._moves[key] = result
        return result

    def match(self, path: str) -> bool:
        states = self._start
        for char in path:
            states = self._move(states, char)
            if not states:
                return False
        return self._accept in states


@functools.lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> Glob:
    """A surface glob compiled for matching '/'-separated paths (`.match(path)`): `**`
    crosses directories, `*` and `?` stay within one; a trailing '/' means everything
    below. (The name is historical: it is an automaton, not a regex.)"""
    return Glob(pattern)


def matches(path: str, globs: list[str]) -> bool:
    return any(glob_regex(g).match(path) for g in globs)


class BudgetExceeded(Exception):
    """Matching changed files against surfaces took longer than `MATCH_BUDGET_S`."""


def classify(
    changed: list[str], owned: list[str], forbidden: list[str], budget_s: float | None = None
) -> tuple[list[str], list[str]]:
    """(changed paths matching a forbidden glob, changed paths matching no owned glob).

    With `budget_s`, raises BudgetExceeded with a message naming the budget once matching
    has taken longer than that."""
    deadline = None if budget_s is None else time.monotonic() + budget_s
    touched: list[str] = []
    outside: list[str] = []
    for done, path in enumerate(changed):
        if deadline is not None and time.monotonic() >= deadline:
            raise BudgetExceeded(
                f"matching {len(changed)} changed file(s) against "
                f"{len(owned) + len(forbidden)} surface glob(s) exceeded the gate's time "
                f"budget of {budget_s:g} s ({done} matched)"
            )
        if matches(path, forbidden):
            touched.append(path)
        if not matches(path, owned):
            outside.append(path)
    return touched, outside
