"""Which events a signed action may cause (SPEC 10.4: a signature counts for an event only
if the action document matches the event): the table and the rules `cockpit audit verify`
applies to each event carrying an action signature."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.domain import EventType
from cockpit.engine.trust.action_events import ACTION_EVENTS, action_problem, allowed_more


def doc(action: str, **args: Any) -> dict[str, Any]:
    return {"action": action, "args": args}


DELIVERY = {"via": "merge", "head": "a" * 40, "base": "main", "base_sha": "b" * 40}


def test_every_action_the_product_signs_has_its_events() -> None:
    assert set(ACTION_EVENTS) == {
        "dispatch", "recover", "review", "override", "cancel", "veto", "dismiss", "verify",
        "rollback", "commission", "approve_setup", "prune_worktrees", "deliver",
    }  # fmt: skip
    assert ACTION_EVENTS["deliver"] == {EventType.DELIVERED, EventType.DELIVERY_REFUSED}


@pytest.mark.parametrize(
    ("signed", "kind", "payload", "problem"),
    [
        (doc("review", verdict="accepted", findings=[]), EventType.DELIVERED, {},
         "a signed review action does not cause delivered"),
        (doc("deliver", **DELIVERY), EventType.DELIVERED,
         {**DELIVERY, "head": "c" * 40}, "its head is"),
        (doc("deliver", **DELIVERY), EventType.DELIVERED,
         {**DELIVERY, "expected_base_sha": "d" * 40}, "it expected the base at"),
        (doc("deliver", **DELIVERY), EventType.DELIVERY_REFUSED,
         {"via": "merge", "head": "c" * 40}, "its head is"),
        (doc("override", to="complete", reason="x"), EventType.OVERRIDE_APPLIED,
         {"reason": "x", "transition": {"from": "blocked", "to": "accepted"}}, "moves the WP"),
        (doc("review", verdict="rejected", findings=[]), EventType.TASK_COMPLETED,
         {}, "completes nothing"),
        (doc("veto", reason="x", lift=True), EventType.VETO_CHANGED,
         {"reason": "x", "active": True}, "raises or lifts"),
        (doc("prune_worktrees", remove=[{"work_package": "WP-1"}]), EventType.WORKTREE_PRUNED,
         {"work_package": "WP-2"}, "does not list"),
        (doc("made_up"), EventType.DELIVERED, {}, "not one Cockpit records"),
    ],
)  # fmt: skip
def test_an_action_signature_does_not_vouch_for_another_event(
    signed: dict[str, Any], kind: str, payload: dict[str, Any], problem: str
) -> None:
    found = action_problem(signed, kind, payload)
    assert found is not None and problem in found


def test_what_the_actions_really_record_holds() -> None:
    delivered = {**DELIVERY, "expected_base_sha": "b" * 40, "base_sha": "e" * 40}
    assert action_problem(doc("deliver", **DELIVERY), EventType.DELIVERED, delivered) is None
    refused = {"via": "merge", "reason": "no", "head": "a" * 40, "base": "main"}
    assert action_problem(doc("deliver", **DELIVERY), EventType.DELIVERY_REFUSED, refused) is None
    moved = {"reason": "x", "transition": {"from": "complete", "to": "in_progress"}}
    assert (
        action_problem(doc("override", to="in_progress", reason="x"), "override_applied", moved)
        is None
    )


def test_one_action_causes_its_events_once_in_order() -> None:
    deliver = doc("deliver", **DELIVERY)
    assert allowed_more(deliver, {}, EventType.DELIVERED)
    assert not allowed_more(deliver, {EventType.DELIVERED: 1}, EventType.DELIVERY_REFUSED)
    review = doc("review", verdict="accepted")
    assert not allowed_more(review, {}, EventType.TASK_COMPLETED)  # only after its record
    recorded = (EventType.REVIEW_RECORDED, {"verdict": "accepted"})
    assert allowed_more(review, {EventType.REVIEW_RECORDED: 1}, EventType.TASK_COMPLETED, recorded)
    commission = doc("commission", candidate="CAND-1")
    failed = (EventType.CANON_GATE_EVALUATED, {"summary": {"commissioned": False}})
    passed = (EventType.CANON_GATE_EVALUATED, {"summary": {"commissioned": True}})
    seen = {EventType.CANON_GATE_EVALUATED: 1}
    assert not allowed_more(commission, seen, EventType.CANDIDATE_COMMISSIONED, failed)
    assert allowed_more(commission, seen, EventType.CANDIDATE_COMMISSIONED, passed)
    prune = doc("prune_worktrees", remove=[{"work_package": "A"}, {"work_package": "B"}])
    assert allowed_more(prune, {EventType.WORKTREE_PRUNED: 1}, EventType.WORKTREE_PRUNED)
    assert not allowed_more(prune, {EventType.WORKTREE_PRUNED: 2}, EventType.WORKTREE_PRUNED)
