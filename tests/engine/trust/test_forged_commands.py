"""The attacker's first finding (issue 11, point 8): a forged owner booking named
validation commands (`touch PWNED`) that ran as the runner's user when its claim was
verified. Under `signatures: required` only a booking signed by a key of a principal who
may book can ever name a command."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.keys import Signed, now_stamp
from helpers.workspace import Env, rejection_reason, work_package

from cockpit.domain import EventType
from cockpit.engine.actions import human
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.trust.actions import person_signer
from cockpit.store import NewEvent

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

PWNED = """
    title: innocent
    objective: o
    owner: agent:implementer-1
    accountable: human:owner
    tier: light
    lane: implementation
    validation_commands: ["touch {target}"]
"""


def forged_booking(signed: Signed, target: Path, wp: str = "WP-1") -> str:
    return work_package(
        wp,
        body=PWNED.format(target=target),
        created=now_stamp(-60),
        extra=signed.header(),
    )


def test_a_forged_owner_booking_is_refused_at_ingest_and_names_no_command(
    env: Env, tmp_path: Path
) -> None:
    signed = Signed(env, tmp_path / "keys")
    target = tmp_path / "PWNED"
    signed.drop("forged.yaml", forged_booking(signed, target), None)
    signed.drop("forged2.yaml", forged_booking(signed, target, "WP-2"), "agent:implementer-1")
    env.sweep()
    assert rejection_reason(env, "forged.yaml")["code"] == "unsigned"
    assert rejection_reason(env, "forged2.yaml")["code"] == "bad_signature"
    assert env.wp("WP-1") is None and env.wp("WP-2") is None
    assert not target.exists()


def test_a_booking_written_into_the_database_without_a_signature_runs_no_command(
    env: Env, tmp_path: Path
) -> None:
    """Someone with write access to the database (not the owner's key) records a booking
    and moves it to claimed: the gate still refuses to run what it names."""
    signed = Signed(env, tmp_path / "keys")
    target = tmp_path / "PWNED"
    parsed = parse_entry(forged_booking(signed, target).encode(), "forged.yaml")
    payload = {
        "entry": parsed.entry.to_json(),
        "sha256": parsed.sha256,
        "file": "forged.yaml",
        "raw": parsed.raw,
        "edges": [],
        "transition": {"from": None, "to": "booked"},
        "signature": {"unsigned": True},
    }
    with env.store() as store:
        with store.transaction():
            store.append(NewEvent(EventType.TASK_CREATED, "WP-1", "human:owner", "WP-1", payload))
            store.append(
                NewEvent(
                    EventType.OVERRIDE_APPLIED,
                    "WP-1",
                    "human:owner",
                    None,
                    {"reason": "x", "transition": {"from": "booked", "to": "claimed"}},
                )
            )
        sign = person_signer(env.ws, "human:owner", signed.keys["human:owner"])
        run = human.verify(env.ws, store, "WP-1", "human:owner", sign=sign)
    validation = run.decision.to_json()["predicates"]["validation_passed"]
    assert validation["status"] == "error"
    assert "the booking of WP-1 is not signed" in validation["detail"]
    assert not target.exists()
