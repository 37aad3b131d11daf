"""Forged deliveries (SPEC 10.4, 10.5, 11.3): a `delivered` or `delivery_refused` row
appended straight into the database must not pass `cockpit audit verify` under
`signatures: required` by borrowing a signature (the review's just before it, a real
delivery's), nor carry args the signature does not name; and `cockpit replay` re-checks
every delivery as `cockpit deliver` would have made it (capability, complete, the verified
head at acceptance, once). On the demo (signed with its own keys) and on a plain
workspace, with real SQLite and real git."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers.delivery import complete_wp
from helpers.workspace import CliResult, Env

from cockpit.domain import EventType
from cockpit.engine.trust import demo, sshsig
from cockpit.engine.trust.actions import document, person_signer
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import NewEvent

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

Cli = Callable[..., CliResult]
WP = "WP-0006"


@pytest.fixture
def accepted_demo(tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo after `cockpit run --once` and the owner's acceptance of WP-0006."""
    monkeypatch.delenv("COCKPIT_SIGNING_KEY", raising=False)
    root = tmp_path / "demo"
    assert cli("init", "--demo", str(root)).code == 0
    assert cli("run", "--once", "--workspace", str(root)).code == 0
    review = cli("review", WP, "--verdict", "accepted", "--as", "human:owner", "--workspace",
                 str(root))  # fmt: skip
    assert review.code == 0, review.err
    return root


def append(root: Path, kind: str, principal: str, payload: dict[str, Any]) -> int:
    """What someone with write access to the database file but no key does."""
    ws = Workspace.load(root)
    store = ws.open_store()
    try:
        with store.transaction():
            return store.append(NewEvent(kind, WP, principal, None, payload)).seq
    finally:
        store.close()


def last(root: Path) -> Any:
    ws = Workspace.load(root)
    store = ws.open_store()
    try:
        return store.events(WP)[-1]
    finally:
        store.close()


def checked(cli: Cli, root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    audit = cli("audit", "verify", "--json", "--workspace", str(root))
    replay = cli("replay", "--json", "--workspace", str(root))
    return audit.json(), replay.json()


def test_a_delivered_row_borrowing_the_reviews_signature_fails_audit_and_replay(
    accepted_demo: Path, cli: Cli
) -> None:
    review = last(accepted_demo)  # task_completed, signed as the owner's review action
    assert review.payload["signature"]["signed"]["action"] == "review"
    payload = {
        "via": "merge",
        "base": "main",
        "base_sha": "0" * 40,
        "head": "f" * 40,
        "merge_sha": "e" * 40,
        "validated": True,
        "signature": review.payload["signature"],
    }
    seq = append(accepted_demo, EventType.DELIVERED, "human:owner", payload)
    audit, replay = checked(cli, accepted_demo)
    assert audit["ok"] is False and audit["first_bad_seq"] == seq
    assert "a signed review action does not cause delivered" in audit["reason"]
    assert replay["ok"] is False and replay["first_bad_seq"] == seq
    assert "not the verified head at acceptance" in replay["reason"]


def test_a_second_delivery_borrowing_a_real_deliverys_signature_fails_audit_and_replay(
    accepted_demo: Path, cli: Cli
) -> None:
    done = cli("deliver", WP, "--via", "merge", "--workspace", str(accepted_demo))
    assert done.code == 0, done.err
    real = last(accepted_demo)
    assert real.type == "delivered"
    audit, replay = checked(cli, accepted_demo)
    assert audit["ok"] is True and replay["ok"] is True, (audit, replay)
    again = {**real.payload, "via": "merge"}
    seq = append(accepted_demo, EventType.DELIVERED, "human:owner", again)
    audit, replay = checked(cli, accepted_demo)
    assert audit["ok"] is False and audit["first_bad_seq"] == seq
    assert "did not cause this delivered after its other events" in audit["reason"]
    assert replay["ok"] is False and replay["first_bad_seq"] == seq
    assert "was already delivered by merge" in replay["reason"]


def test_a_refusal_row_after_a_delivery_borrowing_its_signature_fails_audit(
    accepted_demo: Path, cli: Cli
) -> None:
    assert cli("deliver", WP, "--workspace", str(accepted_demo)).code == 0
    real = last(accepted_demo)
    forged = {"via": "merge", "reason": "made up", "signature": real.payload["signature"]}
    seq = append(accepted_demo, EventType.DELIVERY_REFUSED, "human:owner", forged)
    audit, _ = checked(cli, accepted_demo)
    assert audit["ok"] is False and audit["first_bad_seq"] == seq


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("head", "a" * 40, "its head is"),
        ("base", "release", "its base is"),
        ("via", "push", "its via is"),
        ("expected_base_sha", "b" * 40, "it expected the base at"),
    ],
)
def test_a_delivered_row_whose_payload_is_not_what_the_owner_signed_fails_audit(
    accepted_demo: Path, cli: Cli, field: str, value: str, named: str
) -> None:
    """The owner's own key over a delivery of head H on main at tip T: a row saying
    anything else does not count as signed."""
    ws = Workspace.load(accepted_demo)
    store = ws.open_store()
    try:
        prior = store.events(WP)[-1]
        head = str(next(e for e in reversed(store.events(WP)) if e.type == "verify_completed")
                   .payload["head"])  # fmt: skip
        args = {"via": "merge", "head": head, "base": "main", "base_sha": "c" * 40}
        doc = document(ws, store, "deliver", WP, args, "human:owner")
    finally:
        store.close()
    key = demo.demo_key(accepted_demo, "human:owner")
    signed = person_signer(ws, "human:owner", key)(doc)
    assert signed is not None and doc["at"] == prior.event_id
    signature = {**sshsig.describe(sshsig.parse(signed.sig)), "signed": signed.document}
    payload = {**copy.deepcopy(args), "expected_base_sha": "c" * 40, "validated": False}
    payload.update({field: value, "signature": signature})
    seq = append(accepted_demo, EventType.DELIVERED, "human:owner", payload)
    audit, _ = checked(cli, accepted_demo)
    assert audit["ok"] is False and audit["first_bad_seq"] == seq
    assert named in audit["reason"]


def _forge(env: Env, principal: str, payload: dict[str, Any]) -> int:
    with env.store() as store, store.transaction():
        return store.append(NewEvent(EventType.DELIVERED, "WP-1", principal, None, payload)).seq


def test_replay_refuses_a_delivery_by_a_principal_without_the_capability(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    payload = {"via": "merge", "base": "main", "head": target.head, "validated": True}
    seq = _forge(env, "agent:implementer-1", {**payload, "signature": {"unsigned": True}})
    replay = env.cli("replay", "--json")
    assert replay.code == 1
    assert replay.json()["first_bad_seq"] == seq
    assert "agent:implementer-1 lacks the deliver capability" in replay.json()["reason"]


def test_replay_refuses_a_delivery_of_another_head_or_of_a_wp_not_complete(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    reopened = env.cli("override", "WP-1", "--to", "in_progress", "--reason", "redo", "--as",
                       "human:owner")  # fmt: skip
    assert reopened.code == 0
    payload = {"via": "merge", "base": "main", "head": target.head, "validated": True}
    seq = _forge(env, "human:owner", {**payload, "signature": {"unsigned": True}})
    replay = env.cli("replay", "--json").json()
    assert replay["first_bad_seq"] == seq
    assert "WP-1 was in_progress; only a complete work package is delivered" in replay["reason"]


def test_replay_refuses_a_delivery_after_an_override_to_complete(env: Env, tmp_path: Path) -> None:
    target = complete_wp(env, tmp_path)
    for to in ("in_progress", "complete"):
        moved = env.cli("override", "WP-1", "--to", to, "--reason", "x", "--as", "human:owner")
        assert moved.code == 0
    payload = {"via": "merge", "base": "main", "head": target.head, "validated": True}
    seq = _forge(env, "human:owner", {**payload, "signature": {"unsigned": True}})
    replay = env.cli("replay", "--json").json()
    assert replay["first_bad_seq"] == seq
    assert "no head accepted after its last admitting gate run" in replay["reason"]


def test_replay_accepts_a_pull_request_after_a_push_and_nothing_after_it(
    env: Env, tmp_path: Path
) -> None:
    target = complete_wp(env, tmp_path)
    unsigned = {"signature": {"unsigned": True}, "base": "main", "head": target.head}
    _forge(env, "human:owner", {**unsigned, "via": "push"})
    _forge(env, "human:owner", {**unsigned, "via": "pr"})
    assert env.cli("replay", "--json").json()["first_bad_seq"] is None
    seq = _forge(env, "human:owner", {**unsigned, "via": "pr"})
    replay = env.cli("replay", "--json").json()
    assert replay["first_bad_seq"] == seq
    assert "already delivered by pr" in replay["reason"]
