"""Secret scanning for agent-written records (SPEC 6: the Canon Gate's `redaction` check).

`scan` finds keys, tokens, private keys and passwords; `redact` replaces each one with
`[REDACTED:<kind>]` so no secret reaches an event, a log or JSON output; `describe` words a
check detail that names kinds and lines, never secret characters. The rules themselves
are in `secret_rules`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Final

from cockpit.engine.canon import secret_rules

SCANNER_VERSION: Final = "secrets/v1"


@dataclass(frozen=True)
class Hit:
    """One secret: its kind (stable snake_case), character span and 1-based line."""

    kind: str
    start: int
    end: int
    line: int


# ---- the API ------------------------------------------------------------------------------


def _secret_span(m: re.Match[str]) -> tuple[int, int]:
    for name in ("s", "dq", "sq", "bare"):
        if name in m.re.groupindex and m.group(name) is not None:
            return m.span(name)
    return m.span()


def scan(text: str) -> list[Hit]:
    """Every secret in `text`, sorted by start and non-overlapping: overlapping findings are
    merged into one hit spanning them all, named by the most specific kind (a JWT inside an
    `Authorization: Bearer` header is one `jwt`). Never raises on any string."""
    found: list[tuple[int, int, int, str]] = []  # start, end, rank, kind
    zones: list[tuple[int, int]] = []
    for private, start, end in secret_rules.pem_blocks(text):
        if private:
            found.append((start, end, 0, "private_key"))
        else:
            zones.append((start, end))
    for rank, rule in enumerate(secret_rules.RULES, start=1):
        for m in rule.pattern.finditer(text):
            if rule.accept is None or rule.accept(m):
                start, end = _secret_span(m)
                found.append((start, end, rank, rule.kind))
    zones.extend(m.span() for m in secret_rules.PUBLIC_MATERIAL.finditer(text))
    zones = _union(zones)
    zone_starts = [start for start, _ in zones]
    for m in secret_rules.RUN.finditer(text):
        i = bisect.bisect_right(zone_starts, m.start()) - 1
        if (i < 0 or zones[i][1] <= m.start()) and secret_rules.looks_random(m.group()):
            found.append(
                (m.start(), m.end(), len(secret_rules.RULES) + 1, secret_rules.GENERIC_KIND)
            )
    return _merge(text, found)


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _merge(text: str, found: list[tuple[int, int, int, str]]) -> list[Hit]:
    merged: list[tuple[int, int, int, str]] = []  # start, end, rank, kind
    for start, end, rank, kind in sorted(found):
        if merged and start < merged[-1][1]:
            first, last, best_rank, best_kind = merged[-1]
            if rank < best_rank:
                best_rank, best_kind = rank, kind
            merged[-1] = (first, max(last, end), best_rank, best_kind)
        else:
            merged.append((start, end, rank, kind))
    hits: list[Hit] = []
    line, counted = 1, 0
    for start, end, _, kind in merged:
        line += text.count("\n", counted, start)  # incremental: linear in the text
        counted = start
        hits.append(Hit(kind, start, end, line))
    return hits


def redact(text: str, hits: list[Hit] | None = None) -> str:
    """`text` with each hit's span replaced by `[REDACTED:<kind>]`; `hits` defaults to
    `scan(text)` and must come from scanning this same text. Text without hits is returned
    unchanged."""
    if hits is None:
        hits = scan(text)
    out: list[str] = []
    pos = 0
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.start < pos:
            pos = max(pos, hit.end)  # overlaps the span just redacted: widen it
            continue
        out.append(text[pos : hit.start])
        out.append(f"[REDACTED:{hit.kind}]")
        pos = hit.end
    out.append(text[pos:])
    return "".join(out)


def describe(hits: list[Hit], *, limit: int = 10) -> str:
    """One sentence for a check detail naming each hit's kind and line, never its text:
    `2 secrets found: private_key (line 3), github_token (line 7)`; "" for no hits."""
    if not hits:
        return ""
    listed = ", ".join(f"{h.kind} (line {h.line})" for h in hits[:limit])
    more = f" and {len(hits) - limit} more" if len(hits) > limit else ""
    noun = "secret" if len(hits) == 1 else "secrets"
    return f"{len(hits)} {noun} found: {listed}{more}"
