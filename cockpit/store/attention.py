"""The needs-attention rule, written once in two forms: `ATTENTION_SQL` for the board's
filter in SQLite and `reasons(row)` for a person reading one WP. Both are built from the
same named conditions below, and a property test checks that they agree on any row."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from cockpit.domain import ATTENTION_STATES, TERMINAL_STATES, State


def _in(states: frozenset[State]) -> str:
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(states)) + ")"


OPEN_SQL = f"state NOT IN {_in(TERMINAL_STATES)}"  # the WP is not closed
# States that need a person by themselves: those of the domain (a failure, a claim waiting
# for the gate) and `blocked`, however it got there (the gate or an override): a WP in it
# has no recovery owner, since a recovery moves it on to `recovering` (SPEC 4).
TRIAGE_STATES = ATTENTION_STATES | {State.BLOCKED}
# States in which the runner starts the assignee's agent whatever else holds (a recovering
# WP's agent starts only if it owns the recovery).
AGENT_WAIT_STATES = frozenset({State.DISPATCHED, State.IN_PROGRESS})
AGENT_WAIT_SQL = f"state IN {_in(AGENT_WAIT_STATES)}"
UNSTARTED = "its lane's agent is not started: no runner is running agents (`cockpit run`)"


def attention_sql(unstarted_lanes: Collection[str] = ()) -> tuple[str, list[str]]:
    """The rule as an SQL condition and its arguments. A WP needs a person when it is
    failed, waits for the gate, is blocked with no recovery owner, had its scope declined,
    its agent left it stuck, it carries an untreated serious advisory, or the progress
    monitor flagged it (the last three only while the WP is open); and, given the lanes
    whose command nobody starts now (`unstarted_lanes`: no runner is running agents), when
    it waits for such an agent."""
    lanes = sorted(unstarted_lanes)
    waiting = ""
    if lanes:
        waiting = f" OR ({AGENT_WAIT_SQL} AND lane IN ({', '.join('?' for _ in lanes)}))"
    sql = (
        f"(state IN {_in(TRIAGE_STATES)}"
        " OR scope_declined = 1"
        f" OR (agent_problem IS NOT NULL AND {OPEN_SQL})"
        f" OR (open_advisory IS NOT NULL AND {OPEN_SQL})"
        f" OR (monitor_flags IS NOT NULL AND {OPEN_SQL}){waiting})"
    )
    return sql, lanes


ATTENTION_SQL = attention_sql()[0]  # with a runner starting agents (no arguments)


def reasons(row: Mapping[str, Any], unstarted_lanes: Collection[str] = ()) -> list[str]:
    """Why this WP needs a person's attention now (empty when it does not), given the lanes
    whose command nobody starts now."""
    out: list[str] = []
    state = row["state"]
    open_ = state not in TERMINAL_STATES
    if state == State.BLOCKED:
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
    if row.get("monitor_flags") and open_:
        for flag in row["monitor_flags"]:
            out.append(f"flagged {flag.get('flag')}: {flag.get('detail')}")
    if state in AGENT_WAIT_STATES and row.get("lane") in set(unstarted_lanes):
        out.append(UNSTARTED)
    return out
