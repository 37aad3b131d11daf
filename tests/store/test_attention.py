"""The needs-attention rule has two forms (SQL for the board's filter, Python for a WP's
reasons); on any work-package row in a real SQLite table they must agree."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.domain import State
from cockpit.store import attention, schema
from cockpit.store.projections import decode_work_package

rows = st.fixed_dictionaries(
    {
        "state": st.sampled_from([s.value for s in State]),
        "blocked_unowned": st.integers(0, 1),
        "scope_declined": st.integers(0, 1),
        "agent_problem": st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=5)),
        "open_advisory": st.one_of(st.none(), st.just(""), st.just("ADV-1")),
        "lane": st.sampled_from(["implementation", "scripted", "other"]),
        "monitor_flags": st.one_of(
            st.none(), st.just('[{"flag": "stall@3", "reason": "stall", "detail": "quiet"}]')
        ),
    }
)
# The lanes whose agents nobody starts (no runner running agents), or none.
unstarted = st.sampled_from([(), ("scripted",), ("implementation", "scripted")])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=rows, lanes=unstarted)
def test_sql_and_python_forms_of_the_attention_rule_agree(
    tmp_path: Path, row: dict, lanes: tuple[str, ...]
) -> None:
    conn = sqlite3.connect(tmp_path / "attention.db")
    try:
        conn.row_factory = sqlite3.Row
        db = sqlite_utils.Database(conn)
        schema.create_tables(db)
        conn.execute("DELETE FROM work_packages")
        conn.execute(
            "INSERT INTO work_packages (id, title, state, blocked_unowned, scope_declined, "
            "agent_problem, open_advisory, lane, monitor_flags) "
            "VALUES ('WP-1', 't', ?, ?, ?, ?, ?, ?, ?)",
            (
                row["state"],
                row["blocked_unowned"],
                row["scope_declined"],
                row["agent_problem"],
                row["open_advisory"],
                row["lane"],
                row["monitor_flags"],
            ),
        )
        sql, args = attention.attention_sql(lanes)
        in_sql = conn.execute(f"SELECT count(*) FROM work_packages WHERE {sql}", args).fetchone()[0]
        stored = decode_work_package(dict(conn.execute("SELECT * FROM work_packages").fetchone()))
    finally:
        conn.close()
    said = attention.reasons(stored, lanes)
    assert bool(in_sql) == bool(said), (row, lanes, said)


def test_each_condition_of_the_rule_is_named_in_the_reasons() -> None:
    base = {"blocked_unowned": False, "scope_declined": False}
    assert attention.reasons({**base, "state": "in_progress"}) == []
    assert attention.reasons({**base, "state": "blocked", "blocked_unowned": True}) == [
        "blocked without a recovery owner"
    ]
    assert attention.reasons({**base, "state": "complete", "agent_problem": "x"}) == []
    assert attention.reasons({**base, "state": "in_progress", "agent_problem": ""}) == [
        "its agent left it stuck"
    ]


def test_an_open_monitor_flag_needs_attention_while_the_wp_is_open() -> None:
    flag = {"flag": "looping@12", "reason": "looping", "detail": "withheld 3 times"}
    row = {"state": "blocked", "blocked_unowned": False, "scope_declined": False}
    assert attention.reasons({**row, "monitor_flags": [flag]}) == [
        "blocked without a recovery owner",
        "flagged looping@12: withheld 3 times",
    ]
    assert attention.reasons({**row, "state": "cancelled", "monitor_flags": [flag]}) == []


def test_a_wp_waiting_for_an_agent_nobody_starts_needs_attention() -> None:
    row = {"state": "dispatched", "lane": "scripted", "blocked_unowned": 0, "scope_declined": 0}
    assert attention.reasons(row) == []  # a runner starts its agent
    assert attention.reasons(row, ("scripted",)) == [attention.UNSTARTED]
    assert attention.reasons({**row, "state": "claimed"}, ("scripted",)) == [
        "claim waiting for the gate"
    ]
    assert attention.reasons({**row, "lane": "implementation"}, ("scripted",)) == []
