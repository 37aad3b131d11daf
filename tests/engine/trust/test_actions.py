"""Signed actions (SPEC 10.1): under `signatures: required`, `--as` says whom you claim to
be and the key proves it; a refused action records nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.keys import Signed, now_stamp
from helpers.workspace import Env, work_package

from cockpit.domain import EventType
from cockpit.engine.actions import human
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.trust import sshsig
from cockpit.errors import Refused

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


@pytest.fixture
def signed(env: Env, tmp_path: Path) -> Signed:
    signed = Signed(env, tmp_path / "keys")
    signed.drop(
        "wp.yaml",
        work_package("WP-1", created=now_stamp(-60), extra=signed.header()),
        "human:owner",
    )
    assert env.sweep().sweep.ingested == 1
    return signed


def test_an_override_as_the_owner_without_the_owners_key_exits_1_and_records_nothing(
    env: Env, signed: Signed
) -> None:
    """The attack of the issue: an agent runs `cockpit override --as human:owner`."""
    before = len(env.events())
    result = env.cli("override", "WP-1", "--to", "accepted", "--as", "human:owner", "--reason", "x")
    assert result.code == 1
    assert "must be signed with one of human:owner's keys" in result.err
    assert len(result.err.strip().splitlines()) == 1
    # The agent's own key proves only that it is the agent.
    agent_key = str(signed.keys["agent:implementer-1"])
    forged = env.cli(
        "override",
        "WP-1",
        "--to",
        "accepted",
        "--as",
        "human:owner",
        "--reason",
        "x",
        "--key",
        agent_key,
    )
    assert forged.code == 1
    assert "not a key of human:owner" in forged.err
    assert len(env.events()) == before
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked" and not wp["overridden"]


def test_an_action_signed_with_the_principals_key_is_recorded_with_its_signature(
    env: Env, signed: Signed
) -> None:
    key = str(signed.keys["human:owner"])
    result = env.cli(
        "override", "WP-1", "--to", "cancelled", "--reason", "not needed", "--key", key, "--json"
    )
    assert result.code == 0, result.err
    event = json.loads(result.out)
    assert event["type"] == EventType.OVERRIDE_APPLIED
    signature = event["payload"]["signature"]
    document = signature["signed"]
    assert document["action"] == "override" and document["principal"] == "human:owner"
    assert document["args"] == {"to": "cancelled", "reason": "not needed"}
    assert document["workspace"] == signed.workspace_id
    # The signature checks offline against the document it names.
    sshsig.verify(sshsig.parse(signature["sig"]), trust_actions.message(document), "cockpit-action")


def test_a_signed_action_is_refused_once_the_wp_has_moved_on(env: Env, signed: Signed) -> None:
    """`at` anchors the action to the WP's latest event: a signature made earlier cannot
    be replayed after the WP changed."""
    key = signed.keys["human:owner"]
    sign = trust_actions.person_signer(env.ws, "human:owner", key)
    with env.store() as store:
        args = {"reason": "stop", "lift": False}
        early = trust_actions.sign_with(env.ws, store, sign, "veto", "WP-1", args, "human:owner")
        human.veto(env.ws, store, "WP-1", "stop", "human:owner", sign=sign)
        with pytest.raises(Refused, match="changed since the action was signed"):
            human.veto(env.ws, store, "WP-1", "stop", "human:owner", sign=lambda _doc: early)


def test_a_signed_document_for_other_arguments_is_refused(env: Env, signed: Signed) -> None:
    key = signed.keys["human:owner"]
    sign = trust_actions.person_signer(env.ws, "human:owner", key)
    with env.store() as store:
        other = trust_actions.sign_with(
            env.ws, store, sign, "cancel", "WP-1", {"reason": "harmless"}, "human:owner"
        )
        with pytest.raises(Refused, match="args"):
            human.cancel(env.ws, store, "WP-1", "destroy it", "human:owner", sign=lambda _d: other)
        assert store.work_package("WP-1")["state"] == "booked"  # type: ignore[index]


def test_optional_signatures_record_an_unsigned_action_as_unsigned(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1"))
    env.sweep()
    result = env.cli("cancel", "WP-1", "--reason", "no longer needed", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["payload"]["signature"] == {"unsigned": True}


def test_a_person_asking_for_a_gate_run_signs_it_before_any_command_runs(
    env: Env, signed: Signed
) -> None:
    unsigned = env.cli("verify", "WP-1", "--as", "human:owner")
    assert unsigned.code == 1 and "must be signed" in unsigned.err
    key = str(signed.keys["human:owner"])
    keyed = env.cli("verify", "WP-1", "--as", "human:owner", "--key", key)
    assert keyed.code == 1 and "the gate runs only on a claimed" in keyed.err
