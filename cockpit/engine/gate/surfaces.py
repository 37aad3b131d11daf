"""Surface globs: which paths a work package owns or must not touch.

`**` crosses directories, `*` and `?` stay within one path segment, and a pattern ending
in '/' means everything below that directory. Paths are '/'-separated and relative to the
worktree (globs that escape it are refused at ingest).
"""

from __future__ import annotations

import functools
import re


@functools.lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """A surface glob as a regex over '/'-separated paths: `**` crosses directories,
    `*` and `?` stay within one; a trailing '/' means everything below."""
    if pattern.endswith("/"):
        pattern += "**"
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def matches(path: str, globs: list[str]) -> bool:
    return any(glob_regex(g).match(path) for g in globs)
