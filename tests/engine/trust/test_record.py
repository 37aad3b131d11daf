"""A record outsiders can check (SPEC 10.1, 10.4): under `signatures: required` the runner
signs its own events, writes the keys in force into the chain, and `audit verify` names the
first row that nobody with a key wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.forge import forge_row
from helpers.keys import Signed, make_key, now_stamp
from helpers.workspace import Env, work_package

from cockpit.domain import EventType
from cockpit.engine.trust import sshsig
from cockpit.store import canonical_json
from cockpit.store.audit import event_object

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


@pytest.fixture
def signed(env: Env, tmp_path: Path) -> Signed:
    signed = Signed(env, tmp_path / "keys")
    signed.drop(
        "wp.yaml",
        work_package("WP-1", created=now_stamp(-60), extra=signed.header()),
        "human:owner",
    )
    signed.drop(
        "unsigned.yaml",
        work_package("WP-2", created=now_stamp(-60), extra=signed.header()),
        None,
    )
    summary = env.sweep()
    assert summary.sweep.ingested == 1 and summary.sweep.rejected == 1
    return signed


def verify(env: Env, *extra: str) -> tuple[int, dict[str, Any]]:
    result = env.cli("audit", "verify", "--json", *extra)
    return result.code, json.loads(result.out)


def test_the_runner_signs_its_events_and_records_the_keys_in_force(
    env: Env, signed: Signed
) -> None:
    events = env.events()
    [config] = [e for e in events if e.type == EventType.CONFIG_APPLIED]
    owner_line = (signed.keys["human:owner"].parent / "human_owner.pub").read_text().strip()
    assert config.payload["principals_keys"]["human:owner"] == [owner_line]
    assert config.payload["signatures"] == "required"
    [rejected] = [e for e in events if e.type == EventType.ENTRY_REJECTED]
    signature = rejected.payload["signature"]
    assert signature["namespace"] == "cockpit-runner"
    unsigned = {k: v for k, v in rejected.payload.items() if k != "signature"}
    message = canonical_json(event_object(rejected.to_json(), unsigned))
    sshsig.verify(sshsig.parse(signature["sig"]), message, "cockpit-runner")
    code, report = verify(env)
    assert code == 0, report
    assert report["ok"] is True
    assert report["signatures"]["bad"] == 0 and report["signatures"]["unsigned"] == 0
    assert report["signatures"]["checked"] == len(events)


def test_a_row_appended_straight_into_the_database_is_named_by_audit_verify(
    env: Env, signed: Signed
) -> None:
    move = {"reason": "x", "transition": {"from": "booked", "to": "accepted"}}
    seq = forge_row(env, EventType.OVERRIDE_APPLIED, "WP-1", "human:owner", move)
    code, report = verify(env)
    assert code == 1
    assert report["ok"] is False and report["first_bad_seq"] == seq
    assert "not signed" in report["reason"]
    # Marking it unsigned, or copying a real signature onto it, changes nothing.
    assert report["signatures"]["unsigned"] == 1


def test_a_forged_row_carrying_a_copied_signature_is_bad(env: Env, signed: Signed) -> None:
    [booked] = [e for e in env.events("WP-1") if e.type == EventType.TASK_CREATED]
    stolen = booked.payload["signature"]
    move = {"reason": "x", "transition": {"from": "booked", "to": "accepted"}}
    seq = forge_row(
        env, EventType.OVERRIDE_APPLIED, "WP-1", "human:owner", {**move, "signature": stolen}
    )
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq
    assert report["signatures"]["bad"] == 1


def test_a_forged_runner_event_signed_with_another_key_is_bad(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    from cockpit.engine.trust.keys import load_key

    rogue = load_key(make_key(tmp_path / "rogue", "rogue"))
    payload: dict[str, Any] = {"code": "x", "message": "x"}
    probe = {"seq": 0}  # the forger signs something: any runner-namespace signature
    payload["signature"] = {
        "signer": rogue.public.fingerprint,
        "namespace": "cockpit-runner",
        "sig": rogue.sign(canonical_json(probe), "cockpit-runner"),
    }
    seq = forge_row(env, EventType.AGENT_EXITED, "WP-1", "agent:implementer-1", payload)
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq
    assert "not the runner's key" in report["reason"]


def test_audit_verify_key_pins_the_runner_key(env: Env, signed: Signed, tmp_path: Path) -> None:
    code, report = verify(env, "--key", f"{signed.runner_key}.pub")
    assert code == 0, report
    other = make_key(tmp_path / "other", "other")
    code, report = verify(env, "--key", f"{other}.pub")
    assert code == 1 and "not the runner's key" in report["reason"]


def test_a_runner_under_required_without_a_key_refuses_to_start(env: Env, tmp_path: Path) -> None:
    Signed(env, tmp_path / "keys")
    config = env.root / "cockpit.yaml"
    text = config.read_text()
    kept = [line for line in text.splitlines() if "  key: " not in line]
    config.write_text("\n".join(kept) + "\n")
    env.reload()
    result = env.cli("run", "--once")
    assert result.code == 2
    assert "runner.key" in result.err


def test_an_owner_action_is_action_signed_and_checks(env: Env, signed: Signed) -> None:
    key = str(signed.keys["human:owner"])
    assert env.cli("cancel", "WP-1", "--reason", "done with it", "--key", key).code == 0
    code, report = verify(env)
    assert code == 0, report
    [cancelled] = [e for e in env.events("WP-1") if e.type == EventType.TASK_CANCELLED]
    assert cancelled.payload["signature"]["namespace"] == "cockpit-action"
