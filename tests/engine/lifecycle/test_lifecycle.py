"""The work-package lifecycle (SPEC 4): the table, the pure `transition()`, and what ingest
records on a real workspace for random sequences of entries."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from helpers.workspace import Env, entry, t, work_package
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.domain import Mode, State
from cockpit.engine.lifecycle.transitions import (
    TABLE,
    IllegalTransition,
    Trigger,
    allowed_triggers,
    override,
    transition,
)
from cockpit.engine.runner.loop import run_once
from cockpit.engine.workspace.scaffold import init_workspace

# -- SPEC 4, written out independently ----------------------------------------------------

STATES = [
    "booked",
    "dispatched",
    "scope_confirmed",
    "in_progress",
    "claimed",
    "verifying",
    "accepted",
    "blocked",
    "recovering",
    "failed",
    "rolled_back",
    "complete",
    "cancelled",
]
# complete and cancelled are the only states no trigger of the table leaves (save override).
NON_TERMINAL = frozenset(STATES) - {"complete", "cancelled"}

# trigger -> (from-states, to). None is "no WP yet".
SPEC_TABLE: dict[str, tuple[frozenset[str | None], str]] = {
    "book": (frozenset({None}), "booked"),
    "dispatch": (frozenset({"booked", "rolled_back"}), "dispatched"),
    "scope_confirmation": (frozenset({"dispatched"}), "scope_confirmed"),
    "review_go": (frozenset({"scope_confirmed"}), "in_progress"),
    "claim": (frozenset({"in_progress", "recovering"}), "claimed"),
    "verify_start": (frozenset({"claimed"}), "verifying"),
    "verify_success": (frozenset({"verifying"}), "accepted"),
    "verify_blocked": (frozenset({"verifying"}), "blocked"),
    "verify_failed": (frozenset({"verifying"}), "failed"),
    "verify_skipped": (frozenset({"verifying"}), "claimed"),
    "recovery": (frozenset({"blocked", "failed"}), "recovering"),
    "review_revision_required": (frozenset({"claimed", "blocked", "accepted"}), "in_progress"),
    "review_accepted": (frozenset({"accepted"}), "complete"),
    "review_rejected": (frozenset({"accepted", "complete"}), "failed"),
    "rollback": (frozenset({"failed"}), "rolled_back"),
    "cancel": (NON_TERMINAL, "cancelled"),
}
ALLOWED_PAIRS = frozenset((f, to) for froms, to in SPEC_TABLE.values() for f in froms)

REJECTION_CODES = frozenset(
    {
        "symlink",
        "too_large",
        "parse_error",
        "unsafe_yaml",
        "unknown_kind",
        "bad_id",
        "schema_error",
        "replay_conflict",
        "tenant_mismatch",
        "unknown_principal",
        "capability_denied",
        "unknown_work_package",
        "path_escape",
        "bad_ref",
        "not_assignee",
        "illegal_transition",
    }
)


def _value(state: State | None) -> str | None:
    return None if state is None else state.value


# -- the table ------------------------------------------------------------------------------


def test_states_are_spec_states() -> None:
    assert [s.value for s in State] == STATES


def test_transition_table_is_spec_4() -> None:
    actual = {
        trigger.value: (frozenset(_value(s) for s in froms), to.value)
        for trigger, (froms, to) in TABLE.items()
    }
    assert actual == SPEC_TABLE
    assert {t.value for t in Trigger} == set(SPEC_TABLE)


@pytest.mark.parametrize("trigger", list(Trigger), ids=lambda t: t.value)
@pytest.mark.parametrize("state", [None, *State], ids=lambda s: str(s))
def test_transition_fires_exactly_from_the_spec_states(
    trigger: Trigger, state: State | None
) -> None:
    froms, to = SPEC_TABLE[trigger.value]
    if _value(state) in froms:
        assert transition(state, trigger).value == to
        assert trigger in allowed_triggers(state)
    else:
        with pytest.raises(IllegalTransition) as info:
            transition(state, trigger)
        message = str(info.value)
        assert message and "\n" not in message
        assert trigger not in allowed_triggers(state)


@pytest.mark.parametrize("source", list(State), ids=str)
def test_override_moves_any_state_to_any_state(source: State) -> None:
    for target in State:
        assert override(source, target) is target


@settings(max_examples=200, deadline=None)
@given(
    start=st.sampled_from([None, *State]),
    triggers=st.lists(st.sampled_from(list(Trigger)), max_size=40),
)
def test_no_trigger_sequence_leaves_the_spec_pairs(
    start: State | None, triggers: list[Trigger]
) -> None:
    state = start
    for trigger in triggers:
        try:
            new = transition(state, trigger)
        except IllegalTransition:
            assert _value(state) not in SPEC_TABLE[trigger.value][0]
            continue
        assert (_value(state), new.value) in ALLOWED_PAIRS
        assert new.value == SPEC_TABLE[trigger.value][1]
        state = new


# -- ingest on a real workspace ----------------------------------------------------------------

OWNER = "human:owner"
REVIEWER = "human:reviewer"
AGENT = "agent:implementer-1"
VERIFIER = "agent:verifier"

# Capabilities of the default workspace's principals (SPEC 2.1's example roles).
CAPS = {
    OWNER: {
        "book",
        "dispatch",
        "review",
        "verify",
        "override",
        "recover",
        "rollback",
        "cancel",
        "commission",
        "veto",
        "dismiss_advisory",
    },
    REVIEWER: {"review", "commission", "veto", "dismiss_advisory"},
    VERIFIER: {"verify"},
    AGENT: {"confirm_scope", "claim", "evidence", "recover", "candidate"},
}
# SPEC 3: the capability (any of) a kind needs, and who normally writes it here.
KIND_CAPS = {
    "dispatch": {"dispatch"},
    "scope_confirmation": {"confirm_scope"},
    "review": {"review"},
    "claim": {"claim"},
    "recovery": {"recover"},
    "veto": {"veto"},
    "common_ground": {"book", "claim"},
}
AUTHOR = {
    "dispatch": OWNER,
    "scope_confirmation": AGENT,
    "review": OWNER,
    "claim": AGENT,
    "recovery": AGENT,
    "veto": REVIEWER,
    "common_ground": OWNER,
}
REVIEW_TRIGGERS = {
    "go": "review_go",
    "revision_required": "review_revision_required",
    "accepted": "review_accepted",
    "rejected": "review_rejected",
}

ENTRY_EVENT = {
    "dispatch": "dispatched",
    "scope_confirmation": "scope_confirmed",
    "review": "review_recorded",
    "claim": "claim_packet_created",
    "recovery": "recovery_packet_created",
    "veto": "veto_changed",
    "common_ground": "common_ground_updated",
}

_actions = st.one_of(
    st.tuples(st.just("dispatch"), st.just(None)),
    st.tuples(st.just("scope_confirmation"), st.booleans()),
    st.tuples(
        st.just("review"),
        st.sampled_from(["go", "revision_required", "accepted", "rejected", "diagnostic"]),
    ),
    st.tuples(st.just("claim"), st.sampled_from(["done", "partial", "not_fixed"])),
    st.tuples(st.just("recovery"), st.just(None)),
    st.tuples(st.just("veto"), st.booleans()),
    st.tuples(st.just("common_ground"), st.integers(1, 3)),
)
# Mostly the kind's usual author; sometimes someone else (capability and assignee checks).
_principals = st.sampled_from([None, None, None, None, OWNER, REVIEWER, AGENT, VERIFIER])
# A prefix of the happy path reaches the later states more often than chance would.
HAPPY = [("dispatch", None), ("scope_confirmation", True), ("review", "go"), ("claim", "done")]
_steps = st.builds(
    lambda n, rest: [(a, None) for a in HAPPY[:n]] + rest,
    st.sampled_from([0, 1, 2, 3, 4, 4, 4, 4]),
    st.lists(st.tuples(_actions, _principals), min_size=1, max_size=10),
)


def _body(kind: str, variant: Any) -> str:
    match kind:
        case "dispatch":
            return f"to: {AGENT}\nnext_gate: scope_confirmation"
        case "scope_confirmation":
            return f"confirmed: {'true' if variant else 'false'}\nnotes: looked at it"
        case "review":
            return f"verdict: {variant}\nfindings: [a finding]"
        case "claim":
            return f"done_state: {variant}\nowner: {AGENT}\naccountable: {OWNER}\nsummary: did it"
        case "recovery":
            return f"error_class: flaky\nnext_action: retry it\nrecovery_owner: {AGENT}"
        case "veto":
            return f"reason: not yet\nlift: {'true' if variant else 'false'}"
        case "common_ground":
            return f"version: {variant}\nobjective: do the thing\nstage: execution"
    raise AssertionError(kind)


def _trigger(kind: str, variant: Any) -> str | None:
    """The SPEC 4 trigger an entry fires, or None for entries that change no state."""
    if kind in ("dispatch", "claim", "recovery"):
        return kind
    if kind == "scope_confirmation":
        return "scope_confirmation" if variant else None
    if kind == "review":
        return REVIEW_TRIGGERS.get(variant)
    return None


def _drop(root: Path, name: str, text: str) -> None:
    path = root / "queue" / "new" / name
    path.write_text(text, encoding="utf-8")
    past = time.time() - 5
    os.utime(path, (past, past))


class Model:
    """SPEC 3/4 (and docs/decisions.md where SPEC is silent) as the test understands them."""

    def __init__(self) -> None:
        self.state: str | None = None
        self.assignee: str | None = None
        self.vetoed = False
        self.ground_version = 0

    def expected_code(self, kind: str, variant: Any, principal: str) -> str | None:
        """The rejection code the entry must get now, or None if it must be ingested."""
        if not CAPS[principal] & KIND_CAPS[kind]:
            return "capability_denied"
        if kind in ("claim", "scope_confirmation") and principal != self.assignee:
            return "not_assignee"
        trigger = _trigger(kind, variant)
        if trigger is not None:
            return None if self.state in SPEC_TABLE[trigger][0] else "illegal_transition"
        if kind == "common_ground":  # version goes up by one each time
            ok = variant == self.ground_version + 1
        elif kind == "veto":  # lifting needs an active veto
            ok = not variant or self.vetoed
        elif kind == "scope_confirmation":  # a declined scope is taken while dispatched
            ok = self.state == "dispatched"
        else:  # a diagnostic review
            ok = True
        return None if ok else "illegal_transition"

    def ingested(self, kind: str, variant: Any) -> None:
        trigger = _trigger(kind, variant)
        if trigger is not None:
            self.state = SPEC_TABLE[trigger][1]
        if kind == "dispatch":
            self.assignee = AGENT
        elif kind == "common_ground":
            self.ground_version = variant
        elif kind == "veto":
            self.vetoed = not variant


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=_steps)
def test_random_entries_only_make_spec_transitions(
    tmp_path_factory: pytest.TempPathFactory,
    steps: list[tuple[tuple[str, Any], str | None]],
) -> None:
    root = tmp_path_factory.mktemp("lifecycle") / "ws"
    ws = init_workspace(root, tenant="demo")
    _drop(root, "00.yaml", work_package("WP-1", created=t(0)))
    planned: dict[str, tuple[str, Any, str]] = {}
    for i, ((kind, variant), who) in enumerate(steps, start=1):
        entry_id = f"E{i:02d}-{kind}"
        principal = who or AUTHOR[kind]
        text = entry(kind, entry_id, "WP-1", principal, _body(kind, variant), created=t(i))
        _drop(root, f"{i:02d}.yaml", text)
        planned[entry_id] = (kind, variant, principal)
    with ws.open_store() as store:
        summary = run_once(ws, store)
        events = store.events()
        wp = store.work_package("WP-1")
    assert wp is not None
    log = {item["entry_id"]: item for item in summary.sweep.log}
    assert set(log) == {"WP-1", *planned}, "every entry was either ingested or rejected"
    assert summary.sweep.retried == 0

    # Every rejection carries a SPEC code, in the log, the event and the reason file.
    rejected_dir = root / "queue" / "rejected"
    reasons = [json.loads(p.read_text()) for p in rejected_dir.glob("*.reason.json")]
    assert len(reasons) == summary.sweep.rejected
    assert {r["code"] for r in reasons} <= REJECTION_CODES
    rejection_events = [e for e in events if e.type == "entry_rejected"]
    assert len(rejection_events) == summary.sweep.rejected
    assert {e.payload["code"] for e in rejection_events} <= REJECTION_CODES

    # Every recorded transition is a SPEC pair, and they chain from booking.
    transitions = [
        (e.payload["transition"]["from"], e.payload["transition"]["to"], e)
        for e in events
        if "transition" in e.payload
    ]
    assert transitions and transitions[0][:2] == (None, "booked")
    previous = None
    for source, target, event in transitions:
        assert (source, target) in ALLOWED_PAIRS, (event.type, source, target)
        assert source == previous, "each transition starts where the last one ended"
        previous = target
    assert wp["state"] == transitions[-1][1]

    # Walk the log: each entry's outcome is the one the model predicts in the state the WP
    # was in; the runner's own events (the gate) move the model along.
    model = Model()
    seen: set[str] = set()
    for event in events:
        plan = planned.get(event.entry_id or "")
        mine = plan is not None and event.type in {
            ENTRY_EVENT[plan[0]],
            "entry_rejected",
            "task_completed",
        }
        if not mine:
            if "transition" in event.payload:
                assert event.payload["transition"]["from"] == model.state
                model.state = event.payload["transition"]["to"]
            continue
        assert plan is not None and event.entry_id is not None
        if event.entry_id in seen:
            continue
        seen.add(event.entry_id)
        kind, variant, principal = plan
        item = log[event.entry_id]
        expected = model.expected_code(kind, variant, principal)
        context = (event.entry_id, model.state, item)
        if expected is not None:
            assert item["outcome"] == "rejected" and item["code"] == expected, context
            continue
        assert item["outcome"] == "ingested", context
        own = [
            e
            for e in events
            if e.entry_id == event.entry_id and e.type in {ENTRY_EVENT[kind], "task_completed"}
        ]
        moves = [e.payload["transition"] for e in own if "transition" in e.payload]
        trigger = _trigger(kind, variant)
        if trigger is None:
            assert moves == [], context
        else:
            assert moves == [{"from": model.state, "to": SPEC_TABLE[trigger][1]}], context
        if trigger == "review_accepted":
            assert [e.type for e in own] == ["review_recorded", "task_completed"]
        model.ingested(kind, variant)
    assert seen == set(planned)
    for source, target, _ in transitions:
        hypothesis.event(f"{source} -> {target}")
    assert wp["state"] == model.state
    assert wp["assignee"] == model.assignee
    assert bool(wp["vetoed"]) == model.vetoed


# -- single behaviours -------------------------------------------------------------------------


def _reason(env: Env, entry_id: str) -> dict[str, Any]:
    for path in env.rejected_dir.glob("*.reason.json"):
        reason = json.loads(path.read_text())
        if reason["entry_id"] == entry_id:
            return reason
    raise AssertionError(f"{entry_id} was not rejected")


def _shadow_sweep(env: Env) -> Any:
    """A sweep in shadow mode: the gate's outcome is `skipped`, so a claim stays claimed."""
    with env.store() as store:
        return run_once(env.ws, store, Mode.SHADOW)


def _claimed(env: Env) -> None:
    env.drop("e.yaml", entry("claim", "CLM-1", "WP-1", AGENT, "done_state: done", created=t(4)))
    summary = _shadow_sweep(env)
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert env.wp("WP-1")["state"] == "claimed"


def test_review_accepted_on_a_claimed_wp_is_illegal(booked_to_in_progress: Env) -> None:
    env = booked_to_in_progress
    _claimed(env)
    before = len(env.events())
    env.drop("f.yaml", entry("review", "REV-9", "WP-1", OWNER, "verdict: accepted", created=t(5)))
    summary = _shadow_sweep(env)
    assert summary.sweep.rejected == 1
    assert _reason(env, "REV-9")["code"] == "illegal_transition"
    assert env.wp("WP-1")["state"] == "claimed"
    new = env.events()[before:]
    assert [e.type for e in new] == ["entry_rejected"]
    assert not any(e.type == "task_completed" for e in env.events())


def test_review_accepted_from_accepted_records_task_completed(booked_to_in_progress: Env) -> None:
    """With the WP put in `accepted` by an owner's override, a review `accepted` appends
    review_recorded, then task_completed carrying the transition."""
    env = booked_to_in_progress
    result = env.cli("override", "WP-1", "--to", "accepted", "--reason", "test", "--json")
    assert result.code == 0, result.err
    assert env.wp("WP-1")["state"] == "accepted"
    assert env.events()[-1].type == "override_applied"
    before = len(env.events())
    env.drop("f.yaml", entry("review", "REV-9", "WP-1", OWNER, "verdict: accepted", created=t(5)))
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    new = env.events()[before:]
    assert [e.type for e in new] == ["review_recorded", "task_completed"]
    assert all(e.entry_id == "REV-9" for e in new)
    assert new[1].payload["transition"] == {"from": "accepted", "to": "complete"}
    assert env.wp("WP-1")["state"] == "complete"

    env.drop("g.yaml", entry("review", "REV-10", "WP-1", OWNER, "verdict: rejected", created=t(6)))
    env.sweep()
    last = env.events()[-1]
    assert last.type == "review_recorded"
    assert last.payload["transition"] == {"from": "complete", "to": "failed"}
    assert env.wp("WP-1")["state"] == "failed"


@pytest.mark.parametrize("claimed", [False, True])
def test_review_diagnostic_changes_no_state(booked_to_in_progress: Env, claimed: bool) -> None:
    env = booked_to_in_progress
    if claimed:
        _claimed(env)
    state = env.wp("WP-1")["state"]
    assert state == ("claimed" if claimed else "in_progress")
    before = len(env.events())
    env.drop(
        "f.yaml",
        entry(
            "review",
            "REV-D",
            "WP-1",
            REVIEWER,
            "verdict: diagnostic\nfindings: [edge case]",
            created=t(6),
        ),
    )
    summary = _shadow_sweep(env)
    assert summary.sweep.ingested == 1 and summary.sweep.rejected == 0, summary.sweep.log
    new = env.events()[before:]
    assert [e.type for e in new] == ["review_recorded"]
    assert new[0].entry_id == "REV-D" and new[0].principal == REVIEWER
    assert "transition" not in new[0].payload
    assert env.wp("WP-1")["state"] == state


def test_declined_scope_is_recorded_without_a_transition(env: Env) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop("b.yaml", entry("dispatch", "DSP-1", "WP-1", OWNER, f"to: {AGENT}", created=t(1)))
    env.drop(
        "c.yaml",
        entry(
            "scope_confirmation",
            "SCP-1",
            "WP-1",
            AGENT,
            "confirmed: false\nnotes: too big",
            created=t(2),
        ),
    )
    summary = env.sweep()
    assert summary.sweep.ingested == 3 and summary.sweep.rejected == 0, summary.sweep.log
    # The runner reserves the live WP's ports after the sweep (SPEC 11.4): not the entry's.
    event = [e for e in env.events() if e.type != "ports_reserved"][-1]
    assert event.type == "scope_confirmed" and event.entry_id == "SCP-1"
    assert event.payload["confirmed"] is False
    assert "transition" not in event.payload
    wp = env.wp("WP-1")
    assert wp["state"] == "dispatched"
    assert wp["scope_declined"] is True

    env.drop(
        "d.yaml",
        entry("scope_confirmation", "SCP-2", "WP-1", AGENT, "confirmed: true", created=t(3)),
    )
    env.sweep()
    event = env.events()[-1]
    assert event.type == "scope_confirmed" and event.payload["confirmed"] is True
    assert event.payload["transition"] == {"from": "dispatched", "to": "scope_confirmed"}
    assert env.wp("WP-1")["state"] == "scope_confirmed"
