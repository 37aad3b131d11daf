"""Evidence a driver measured is the runner's word (SPEC 10.2): marked `measured_by:
runner`, signed with the runner key, never with the agent's; and nobody else may sign
such evidence, nor the runner key anything else. Under `signatures: required`, with real
ssh-keygen keys, the real runner and a driver's stand-in CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.agents import events_of, state, wp_fields
from helpers.drivers import set_driver_lane
from helpers.gate import yaml_body
from helpers.git import new_repo
from helpers.keys import Signed, now_stamp, ssh_sign
from helpers.workspace import Env, entry, rejection_reason

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def signed_booking(env: Env, signed: Signed, repo: Path) -> None:
    fields = wp_fields(repo, validation_commands=["grep -q stand-in src/standin.txt"])
    for name, text, who in (
        ("wp.yaml", entry("work_package", "WP-1", "WP-1", "human:owner", yaml_body(fields),
                          created=now_stamp(-60), extra=signed.header()), "human:owner"),
        ("dsp.yaml", entry("dispatch", "DSP-1", "WP-1", "human:owner", "to: agent:implementer-1",
                           created=now_stamp(-30), extra=signed.header()), "human:owner"),
    ):  # fmt: skip
        signed.drop(name, text, who)


def test_measured_evidence_is_signed_by_the_runner_and_the_chain_checks(
    env: Env, tmp_path: Path
) -> None:
    signed = Signed(env, tmp_path / "keys")
    set_driver_lane(env, "claude-code", "--standin-edit", "src/standin.txt")
    repo, _ = new_repo(tmp_path)
    signed_booking(env, signed, repo)
    env.sweep()
    assert state(env) == "accepted"
    [evidence] = events_of(env, "evidence_packet_created")
    assert evidence.payload["entry"]["body"]["measured_by"] == "runner"
    assert evidence.payload["signature"]["runner_key"] is True
    [claim] = events_of(env, "claim_packet_created")
    assert claim.payload["signature"]["agent_key"] is True  # the claim is the agent's
    verified = env.cli("audit", "verify", "--json")
    assert verified.code == 0, verified.out
    assert verified.json()["signatures"]["bad"] == 0


def test_nobody_else_signs_measured_evidence_and_the_runner_key_signs_nothing_else(
    env: Env, tmp_path: Path
) -> None:
    signed = Signed(env, tmp_path / "keys")
    repo, _ = new_repo(tmp_path)
    signed_booking(env, signed, repo)
    env.sweep()  # booked and dispatched; the lane starts no agent
    forged = entry(
        "evidence", "EVD-forged", "WP-1", "agent:implementer-1",
        "items: [{class: runtime_proof, ref: src/app.py}]\nmeasured_by: runner",
        created=now_stamp(-5), extra=signed.header(),
    )  # fmt: skip
    signed.drop("forged.yaml", forged, "agent:implementer-1")
    by_runner = entry(
        "scope_confirmation", "SCP-runner", "WP-1", "agent:implementer-1", "confirmed: true",
        created=now_stamp(-5), extra=signed.header(),
    )  # fmt: skip
    signed.env.drop("runner.yaml", by_runner)
    (env.new / "runner.yaml.sig").write_bytes(ssh_sign(signed.runner_key, by_runner.encode()))
    env.sweep()
    assert rejection_reason(env, "forged.yaml")["code"] == "bad_signature"
    assert "runner key" in rejection_reason(env, "forged.yaml")["message"]
    assert rejection_reason(env, "runner.yaml")["code"] == "bad_signature"
    assert "only evidence it measured" in rejection_reason(env, "runner.yaml")["message"]
