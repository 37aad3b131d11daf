"""Agent keys (SPEC 10.2): the runner issues one key per agent run, scoped to its principal,
WP and stage, hands it to the agent only, and revokes it when the run ends. Whatever the
agent does with it afterwards, or elsewhere, is bad_signature."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers.agents import AGENT_PRELUDE, set_lane
from helpers.keys import Signed, now_stamp
from helpers.workspace import Env, entry, rejection_reason, work_package

from cockpit.domain import EventType
from cockpit.engine.trust.keys import load_key

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

# A scope-confirming agent that also keeps a copy of its key (an agent set on misuse).
AGENT = (
    AGENT_PRELUDE
    + """
handoff = yaml.safe_load(Path(os.environ["COCKPIT_HANDOFF"]).read_text())
home = Path(os.environ["HOME"])
(home / "stolen_key").write_bytes(Path(os.environ["COCKPIT_SIGNING_KEY"]).read_bytes())
now = datetime.now(UTC)
submit([entry_text(handoff, "scope_confirmation", "SCP-1", now, {"confirmed": True})])
"""
)


@pytest.fixture
def ran(env: Env, tmp_path: Path) -> Signed:
    signed = Signed(env, tmp_path / "keys")
    (env.root / "agents").mkdir(exist_ok=True)
    (env.root / "agents" / "agent.py").write_text(AGENT)
    set_lane(env, ["python3", "agents/agent.py"], timeout_s=60)
    signed.drop(
        "wp.yaml",
        work_package("WP-1", created=now_stamp(-60), extra=signed.header()),
        "human:owner",
    )
    dispatch = entry(
        "dispatch",
        "DSP-1",
        "WP-1",
        "human:owner",
        "to: agent:implementer-1",
        created=now_stamp(-50),
        extra=signed.header(),
    )
    signed.drop("dsp.yaml", dispatch, "human:owner")
    result = env.cli("run", "--once", "--json")
    assert result.code == 0, result.err
    return signed


def test_an_agent_run_signs_with_its_own_key_which_is_revoked_when_it_ends(
    env: Env, ran: Signed
) -> None:
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "scope_confirmed", env.cli("rejected").out
    events = env.events("WP-1")
    [issued] = [e for e in events if e.type == EventType.AGENT_KEY_ISSUED]
    [revoked] = [e for e in events if e.type == EventType.AGENT_KEY_REVOKED]
    assert issued.payload["kinds"] == ["scope_confirmation"]
    assert issued.payload["principal"] == "agent:implementer-1"
    assert revoked.payload["fingerprint"] == issued.payload["fingerprint"]
    [confirmed] = [e for e in events if e.type == EventType.SCOPE_CONFIRMED]
    assert confirmed.payload["signature"]["signer"] == issued.payload["fingerprint"]
    assert confirmed.payload["signature"]["agent_key"] is True
    assert issued.seq < confirmed.seq < revoked.seq
    # The private key is gone from where the runner put it.
    assert not list((env.root / ".cockpit" / "agent-home" / "WP-1").rglob("signing_key"))
    verified = json.loads(env.cli("audit", "verify", "--json").out)
    assert verified["ok"] is True, verified
    assert verified["signatures"]["bad"] == 0 and verified["signatures"]["unsigned"] == 0


def test_a_kept_agent_key_is_worthless_after_its_run(env: Env, ran: Signed, tmp_path: Path) -> None:
    stolen = tmp_path / "stolen_key"
    shutil.copy(env.root / ".cockpit" / "agent-home" / "WP-1" / "stolen_key", stolen)
    stolen.chmod(0o600)
    key = load_key(stolen)
    header = ran.header()

    def drop(name: str, text: str) -> None:
        (env.new / f"{name}.sig").write_text(key.sign(text.encode(), "cockpit-entry"))
        env.drop(name, text)

    # After revocation: even a kind its run could file is refused.
    evidence = entry("evidence", "EVD-9", "WP-1", "agent:implementer-1", "items: []", extra=header)
    drop("late.yaml", evidence.replace("created: 2026-11-21T10:00:00Z", f"created: {now_stamp()}"))
    # A review (never an agent key's), in the owner's name or its own.
    review = entry(
        "review", "REV-9", "WP-1", "human:owner", "verdict: go", created=now_stamp(), extra=header
    )
    drop("review.yaml", review)
    env.sweep()
    late = rejection_reason(env, "late.yaml")
    assert late["code"] == "bad_signature" and "not a key of agent:implementer-1" in late["message"]
    assert rejection_reason(env, "review.yaml")["code"] == "bad_signature"
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "scope_confirmed"
