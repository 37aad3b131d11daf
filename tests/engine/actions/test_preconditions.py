"""The side-effect-free "would this action be refused, and why" (SPEC 4, 8) that the TUI
asks before it asks a person for anything: for every state, it says exactly what the
action itself then says, and records nothing. The review verdicts it offers are the
lifecycle table's. Real workspaces (the bundled demo), real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cockpit.domain import State, Verdict
from cockpit.engine.actions import human, preconditions
from cockpit.engine.runner.loop import RunnerLock, sweep_and_verify
from cockpit.engine.workspace.layout import Workspace
from cockpit.engine.workspace.scaffold import init_workspace
from cockpit.errors import NotFound, Refused
from cockpit.store import Store

OWNER = "human:owner"
WP = "WP-0003"  # in_progress, dispatched to agent:implementer-1, no target repo

# SPEC 4's table, read for review verdicts: the states each verdict may be given from.
SPEC_VERDICTS: dict[State, set[str]] = {
    State.SCOPE_CONFIRMED: {"go", "diagnostic"},
    State.CLAIMED: {"revision_required", "diagnostic"},
    State.BLOCKED: {"revision_required", "diagnostic"},
    State.ACCEPTED: {"revision_required", "accepted", "rejected", "diagnostic"},
    State.COMPLETE: {"rejected", "diagnostic"},
}


@pytest.fixture
def demo(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "demo", demo=True)
    with ws.open_store() as store, RunnerLock(ws):
        sweep_and_verify(ws, store)
    return ws


def put(ws: Workspace, store: Store, state: State) -> None:
    """Bring WP to `state` by the owner's override (the way a test gets any state)."""
    wp = store.work_package(WP)
    assert wp is not None
    if wp["state"] != state:
        human.override(ws, store, WP, state.value, "set up", OWNER)


# Each action as its engine call, with answers a person could give.
CALLS: dict[str, Callable[[Workspace, Store], object]] = {
    "dispatch": lambda ws, s: human.dispatch(ws, s, WP, "agent:implementer-2", OWNER),
    "recover": lambda ws, s: human.recover(ws, s, WP, "agent:implementer-1", "retry", OWNER),
    "cancel": lambda ws, s: human.cancel(ws, s, WP, "not needed", OWNER),
    "rollback": lambda ws, s: human.rollback(ws, s, WP, "start again", OWNER),
    "veto": lambda ws, s: human.veto(ws, s, WP, "hold", OWNER),
    "override": lambda ws, s: human.override(
        ws,
        s,
        WP,
        "booked" if s.work_package(WP)["state"] != "booked" else "failed",  # type: ignore[index]
        "why",
        OWNER,
    ),
}
SETTABLE = [s for s in State if s is not State.VERIFYING]  # the gate's own passing state


@pytest.mark.parametrize("action", sorted(CALLS))
def test_refusal_says_what_the_action_says_from_every_state(demo: Workspace, action: str) -> None:
    with demo.open_store() as store:
        for state in SETTABLE:
            put(demo, store, state)
            said = preconditions.refusal(demo, store, action, WP, OWNER)
            before = store.head_seq()
            try:
                CALLS[action](demo, store)
            except Refused as exc:
                assert said == str(exc), (state, action)
                assert store.head_seq() == before
            else:
                assert said is None, (state, action, said)


def test_verify_is_refused_up_front_outside_claimed(demo: Workspace) -> None:
    with demo.open_store() as store:
        for state in SETTABLE:
            put(demo, store, state)
            said = preconditions.refusal(demo, store, "verify", WP, OWNER)
            if state is State.CLAIMED:
                assert said is None
            else:
                assert said == (
                    f"{WP}: a verify is not allowed in state {state.value} (only from: claimed)"
                )


def test_rollback_of_a_dispatched_wp_is_refused_with_the_engines_reason(demo: Workspace) -> None:
    with demo.open_store() as store:
        before = store.head_seq()
        said = preconditions.refusal(demo, store, "rollback", "WP-0004", OWNER)
        assert said == "WP-0004 is dispatched; only a failed work package is rolled back"
        with pytest.raises(Refused) as refused:
            human.rollback(demo, store, "WP-0004", "why", OWNER)
        assert str(refused.value) == said
        assert store.head_seq() == before  # asking recorded nothing


def test_the_capability_comes_first_and_an_unknown_wp_is_named(demo: Workspace) -> None:
    with demo.open_store() as store:
        said = preconditions.refusal(demo, store, "rollback", "WP-0004", "human:reviewer")
        assert said == "human:reviewer lacks the rollback capability"
        assert preconditions.refusal(demo, store, "cancel", "WP-0999", OWNER) == (
            "no work package WP-0999 has been booked in this workspace"
        )
        with pytest.raises(NotFound):
            preconditions.check(demo, store, "cancel", "WP-0999", OWNER)


def test_dismiss_is_refused_without_an_open_advisory(demo: Workspace) -> None:
    with demo.open_store() as store:
        assert preconditions.refusal(demo, store, "dismiss", "WP-0002", OWNER) is None
        assert preconditions.refusal(demo, store, "dismiss", "WP-0005", OWNER) == (
            "WP-0005 has no advisory or monitor flag to dismiss"
        )


def test_review_verdicts_are_the_lifecycle_tables(demo: Workspace) -> None:
    with demo.open_store() as store:
        for state in SETTABLE:
            put(demo, store, state)
            wp = store.work_package(WP)
            assert wp is not None
            offered = [v.value for v in preconditions.review_verdicts(store, wp, OWNER)]
            assert set(offered) == SPEC_VERDICTS.get(state, {"diagnostic"}), state
            assert offered == [v.value for v in Verdict if v.value in offered]  # enum order
            assert preconditions.refusal(demo, store, "review", WP, OWNER) is None


@pytest.mark.parametrize("state", sorted(SPEC_VERDICTS))
def test_an_offered_verdict_is_recorded_and_no_other_is(demo: Workspace, state: State) -> None:
    with demo.open_store() as store:
        for verdict in Verdict:
            put(demo, store, state)
            wp = store.work_package(WP)
            assert wp is not None
            offered = verdict in preconditions.review_verdicts(store, wp, OWNER)
            try:
                human.review(demo, store, WP, verdict.value, [], OWNER)
            except Refused:
                assert not offered, (state, verdict)
            else:
                assert offered, (state, verdict)


def test_separation_of_duties_withholds_go_accepted_and_override(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "demo", demo=True)
    config = ws.root / "cockpit.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("owner:    [book,", "owner:    [claim, book,")  # may be assigned
    text = text.replace("reviewer: [review,", "reviewer: [override, review,")  # sets states
    config.write_text(text, "utf-8")
    ws = Workspace.load(ws.root)
    with ws.open_store() as store, RunnerLock(ws):
        sweep_and_verify(ws, store)
    with ws.open_store() as store:
        human.dispatch(ws, store, "WP-0005", OWNER, OWNER)  # the owner is the assignee now
        for state, kept in ((State.SCOPE_CONFIRMED, ["diagnostic"]), (State.ACCEPTED, None)):
            human.override(ws, store, "WP-0005", state.value, "set up", "human:reviewer")
            wp = store.work_package("WP-0005")
            assert wp is not None
            offered = [v.value for v in preconditions.review_verdicts(store, wp, OWNER)]
            assert offered == (kept or ["revision_required", "rejected", "diagnostic"])
        said = preconditions.refusal(ws, store, "override", "WP-0005", OWNER)
        assert said == (
            "human:owner was the assignee of WP-0005 (separation of duties): it may not override it"
        )
        with pytest.raises(Refused) as refused:
            human.override(ws, store, "WP-0005", "booked", "why", OWNER)
        assert str(refused.value) == said


def test_deliver_is_refused_before_any_dialog_unless_the_wp_is_complete(demo: Workspace) -> None:
    """The TUI asks before it works out a delivery's plan: the capability, then the state,
    in the words the delivery itself would refuse with."""
    from cockpit.engine import delivery

    with demo.open_store() as store:
        said = preconditions.refusal(demo, store, "deliver", WP, OWNER)
        assert said == f"{WP} is in_progress; only a complete work package is delivered"
        with pytest.raises(Refused) as refused:
            delivery.plan(demo, store, WP)
        assert str(refused.value) == said
        reviewer = preconditions.refusal(demo, store, "deliver", WP, "human:reviewer")
        assert reviewer == "human:reviewer lacks the deliver capability"
