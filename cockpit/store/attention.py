"""The needs-attention rule, written once in two forms: `ATTENTION_SQL` for the board's
filter in SQLite and `reasons(row)` for a person reading one WP. Both are built from the
same named conditions below, and a property test checks that they agree on any row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cockpit.domain import ATTENTION_STATES, TERMINAL_STATES, State


def _in(states: frozenset[State]) -> str:
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(states)) + ")"


_OPEN = f"state NOT IN {_in(TERMINAL_STATES)}"

# A WP needs a person when it is failed, waits for the gate, is blocked with no recovery
# owner, had its scope declined, its agent left it stuck, or it carries an untreated
# serious advisory (the last two only while the WP is open).
ATTENTION_SQL = (
    f"(state IN {_in(ATTENTION_STATES)}"
    f" OR (state = '{State.BLOCKED.value}' AND blocked_unowned = 1)"
    " OR scope_declined = 1"
    f" OR (agent_problem IS NOT NULL AND {_OPEN})"
    f" OR (open_advisory IS NOT NULL AND {_OPEN}))"
)


def reasons(row: Mapping[str, Any]) -> list[str]:
    """Why this WP needs a person's attention now (empty when it does not)."""
    out: list[str] = []
    state = row["state"]
    open_ = state not in TERMINAL_STATES
    if state == State.BLOCKED and row["blocked_unowned"]:
        out.append("blocked without a recovery owner")
    if state == State.FAILED:
        out.append("failed: needs a recovery or a rollback")
    if state == State.CLAIMED:
        out.append("claim waiting for the gate")
    if row["scope_declined"]:
        out.append("the agent did not confirm the scope")
    if row.get("agent_problem") is not None and open_:
        out.append(str(row["agent_problem"]) or "its agent left it stuck")
    if row.get("open_advisory") is not None and open_:
        out.append(f"serious advisory {row['open_advisory']} is untreated")
    return out
