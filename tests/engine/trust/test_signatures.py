"""Signed entries (SPEC 10.1) on a real workspace under `signatures: required`, with keys and
signatures made by OpenSSH's own ssh-keygen: who may speak is who holds the key."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers.keys import Signed, make_key, now_stamp, public_line, ssh_sign
from helpers.workspace import Env, entry, rejection_reason, work_package

from cockpit.domain import EventType
from cockpit.engine.trust import sshsig

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


@pytest.fixture
def signed(env: Env, tmp_path: Path) -> Signed:
    return Signed(env, tmp_path / "keys")


def booking(signed: Signed, wp: str = "WP-1", **kw: object) -> str:
    return work_package(wp, created=now_stamp(-60), extra=signed.header(), **kw)  # type: ignore[arg-type]


def codes(env: Env) -> dict[str, str]:
    return {row["original_file"]: row["code"] for row in env.ws.open_store().rejections()}


# -- a real ssh-keygen signature ------------------------------------------------------------


def test_an_entry_signed_by_ssh_keygen_is_accepted_and_one_changed_byte_is_bad(
    env: Env, signed: Signed
) -> None:
    text = booking(signed)
    signed.drop("wp.yaml", text, "human:owner")
    data = text.encode()
    sig = ssh_sign(signed.keys["human:owner"], data)
    forged = bytearray(data)
    forged[data.index(b"A task")] = ord("B")  # "B task": one byte
    other = booking(signed, "WP-2").encode()
    (env.new / "wp2.yaml.sig").write_bytes(sig)  # the first entry's signature, moved
    env.drop("wp2.yaml", bytes(forged).replace(b"WP-1", b"WP-2"))
    summary = env.sweep()
    assert summary.sweep.ingested == 1, summary.sweep.log
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"
    assert rejection_reason(env, "wp2.yaml")["code"] == "bad_signature"
    assert "does not verify" in rejection_reason(env, "wp2.yaml")["message"]
    assert other  # the untouched WP-2 text was never dropped


def test_the_event_of_a_signed_entry_carries_its_signature(env: Env, signed: Signed) -> None:
    signed.drop("wp.yaml", booking(signed), "human:owner")
    env.sweep()
    [event] = [e for e in env.events("WP-1") if e.type == EventType.TASK_CREATED]
    signature = event.payload["signature"]
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(signed.keys["human:owner"]) + ".pub"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()[1]
    assert signature["signer"] == fingerprint
    assert signature["namespace"] == "cockpit-entry"
    assert signature["signed"] == event.payload["sha256"]
    # Anyone can check it offline from the record alone.
    parsed = sshsig.parse(signature["sig"])
    sshsig.verify(parsed, event.payload["raw"].encode(), "cockpit-entry")
    # The signature file travelled with its entry.
    assert (env.done / "wp.yaml.sig").read_bytes() == signature["sig"].encode()


def test_optional_signatures_take_an_unsigned_entry_and_mark_its_event(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1"))
    env.sweep()
    [event] = [e for e in env.events("WP-1") if e.type == EventType.TASK_CREATED]
    assert event.payload["signature"] == {"unsigned": True}


# -- the three checks, in SPEC order --------------------------------------------------------


def test_an_unsigned_entry_is_rejected_unsigned_under_required(env: Env, signed: Signed) -> None:
    signed.drop("wp.yaml", booking(signed), None)
    env.sweep()
    why = rejection_reason(env, "wp.yaml")
    assert why["code"] == "unsigned"
    assert "wp.yaml.sig" in why["message"]


def test_a_forged_owner_review_signed_by_the_agents_key_is_bad_signature(
    env: Env, signed: Signed
) -> None:
    """The attack of the issue: an agent writes a review as human:owner. With its own key
    it is bad_signature, without one it is unsigned; the WP does not move."""
    signed.drop("wp.yaml", booking(signed), "human:owner")
    env.sweep()
    review = entry(
        "review",
        "REV-FORGED",
        "WP-1",
        "human:owner",
        "verdict: revision_required",
        created=now_stamp(-30),
        extra=signed.header(),
    )
    signed.drop("forged.yaml", review, "agent:implementer-1")
    signed.drop("forged2.yaml", review.replace("REV-FORGED", "REV-FORGED-2"), None)
    env.sweep()
    assert rejection_reason(env, "forged.yaml")["code"] == "bad_signature"
    assert "not a key of human:owner" in rejection_reason(env, "forged.yaml")["message"]
    assert rejection_reason(env, "forged2.yaml")["code"] == "unsigned"
    assert not [e for e in env.events("WP-1") if e.type == EventType.REVIEW_RECORDED]


def test_a_stale_signed_entry_is_rejected(env: Env, signed: Signed) -> None:
    old = work_package("WP-1", created="2020-01-01T00:00:00Z", extra=signed.header())
    signed.drop("wp.yaml", old, "human:owner")
    env.sweep()
    assert rejection_reason(env, "wp.yaml")["code"] == "stale_entry"


def test_the_checks_run_in_spec_order(env: Env, signed: Signed) -> None:
    """unknown_principal before unsigned; unsigned before capability_denied; tenant and
    workspace first of all."""
    ghost = work_package("WP-1", principal="human:ghost", created=now_stamp(-60))
    signed.drop("ghost.yaml", ghost + f"{signed.header()}\n", None)
    weak = work_package("WP-2", principal="human:reviewer", created=now_stamp(-60))
    signed.drop("weak-unsigned.yaml", weak + f"{signed.header()}\n", None)
    signed.drop(
        "weak-signed.yaml",
        weak.replace("WP-2", "WP-3") + f"{signed.header()}\n",
        "human:reviewer",
    )
    bare = work_package("WP-4", created=now_stamp(-60))  # no tenant, no workspace
    signed.drop("bare.yaml", bare, "human:owner")
    other = work_package("WP-5", created=now_stamp(-60))
    other += "tenant: demo\nworkspace: 00000000-0000-0000-0000-000000000000\n"
    signed.drop("other.yaml", other, "human:owner")
    env.sweep()
    assert codes(env) == {
        "ghost.yaml": "unknown_principal",
        "weak-unsigned.yaml": "unsigned",
        "weak-signed.yaml": "capability_denied",
        "bare.yaml": "tenant_mismatch",
        "other.yaml": "tenant_mismatch",
    }


# -- replay -----------------------------------------------------------------------------------


def test_a_signed_entry_uses_its_id_up_even_when_rejected(env: Env, signed: Signed) -> None:
    """A signed dispatch rejected for its state cannot be replayed later, when it would
    be legal, by copying the same signed bytes back into the queue."""
    dispatch = entry(
        "dispatch",
        "DSP-1",
        "WP-1",
        "human:owner",
        "to: agent:implementer-1",
        created=now_stamp(-30),
        extra=signed.header(),
    )
    signed.drop("early.yaml", dispatch, "human:owner")  # WP-1 not booked yet
    env.sweep()
    assert rejection_reason(env, "early.yaml")["code"] == "unknown_work_package"
    signed.drop("wp.yaml", booking(signed), "human:owner")
    signed.drop("again.yaml", dispatch, "human:owner")
    env.sweep()
    why = rejection_reason(env, "again.yaml")
    assert why["code"] == "replay_conflict"
    assert "used up by a signed entry" in why["message"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"


def test_a_young_entry_waits_for_its_signature(env: Env, signed: Signed) -> None:
    text = booking(signed)
    env.drop("wp.yaml", text, age=0)
    summary = env.single_sweep()  # one sweep: `run --once` would wait for the file to age
    assert summary.sweep.retried == 1 and env.wp("WP-1") is None
    sig = env.new / "wp.yaml.sig"
    sig.write_bytes(ssh_sign(signed.keys["human:owner"], text.encode()))
    os.utime(env.new / "wp.yaml", (0, 0))
    assert env.sweep().sweep.ingested == 1


def test_a_signature_that_is_a_symlink_is_bad_signature(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    text = booking(signed)
    real = tmp_path / "real.sig"
    real.write_bytes(ssh_sign(signed.keys["human:owner"], text.encode()))
    (env.new / "wp.yaml.sig").symlink_to(real)
    env.drop("wp.yaml", text)
    env.sweep()
    why = rejection_reason(env, "wp.yaml")
    assert why["code"] == "bad_signature" and "not a regular file" in why["message"]


# -- submit --sign ----------------------------------------------------------------------------


def test_submit_sign_with_a_key_file_signs_what_it_queues(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    source = tmp_path / "wp.yaml"
    source.write_text(booking(signed))
    result = env.cli("submit", "--sign", "--key", str(signed.keys["human:owner"]), str(source))
    assert result.code == 0, result.err
    assert sorted(p.name for p in env.new.iterdir()) == ["wp.yaml", "wp.yaml.sig"]
    assert env.sweep().sweep.ingested == 1


def test_submit_sign_uses_the_ssh_agent_key_of_the_principal(
    env: Env, signed: Signed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = subprocess.run(
        ["ssh-agent", "-s", "-a", str(tmp_path / "agent.sock")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    pid = int(agent.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
        subprocess.run(
            ["ssh-add", "-q", str(signed.keys["human:owner"])],
            check=True,
            timeout=30,
            capture_output=True,
        )
        source = tmp_path / "wp.yaml"
        source.write_text(booking(signed))
        result = env.cli("submit", "--sign", str(source))
        assert result.code == 0, result.err
        assert env.sweep().sweep.ingested == 1
        # A principal whose key the agent does not hold cannot sign.
        other = tmp_path / "other.yaml"
        veto = entry(
            "veto", "VETO-1", "WP-1", "human:reviewer", "reason: wait", extra=signed.header()
        )
        other.write_text(veto)
        refused = env.cli("submit", "--sign", str(other))
        assert refused.code == 1
        assert "no key to sign as human:reviewer" in refused.err
    finally:
        os.kill(pid, 15)


def test_keys_init_creates_the_runner_key_outside_the_workspace_and_prints_the_lines(
    env: Env, tmp_path: Path
) -> None:
    person = make_key(tmp_path / "people", "owner")
    runner_key = tmp_path / "state" / "runner_ed25519"
    result = env.cli(
        "keys", "init", "--runner-key", str(runner_key), "--public-key", f"{person}.pub"
    )
    assert result.code == 0, result.err
    assert runner_key.exists() and (runner_key.stat().st_mode & 0o777) == 0o600
    assert f"key: {runner_key}" in result.out
    assert public_line(person) in result.out
    inside = env.cli("keys", "init", "--runner-key", str(env.root / "k"))
    assert inside.code == 2 and "inside the workspace" in inside.err
    listed = env.cli("keys", "list", "--json")
    assert json.loads(listed.out)["runner_key"] is None  # not configured yet


def test_a_signed_entry_with_a_byte_order_mark_keeps_its_exact_bytes_in_the_record(
    env: Env, signed: Signed
) -> None:
    """The record stores the file's exact text, so its signature checks from the record
    alone (the gate's re-check of a booking and `audit verify` both read it)."""
    text = "\ufeff" + booking(signed)
    data = text.encode("utf-8")
    (env.new / "wp.yaml.sig").write_bytes(ssh_sign(signed.keys["human:owner"], data))
    env.drop("wp.yaml", data)
    assert env.sweep().sweep.ingested == 1
    [event] = [e for e in env.events("WP-1") if e.type == EventType.TASK_CREATED]
    assert event.payload["raw"].encode("utf-8") == data
    sshsig.verify(sshsig.parse(event.payload["signature"]["sig"]), data, "cockpit-entry")
    report = json.loads(env.cli("audit", "verify", "--json").out)
    assert report["ok"] is True and report["signatures"]["bad"] == 0


def test_submit_without_sign_is_refused_where_entries_must_be_signed(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    """Under `signatures: required` the runner would reject an unsigned entry: submit says
    so at once, naming --sign, and queues nothing (a batch is never half-submitted)."""
    source, other = tmp_path / "wp.yaml", tmp_path / "wp2.yaml"
    source.write_text(booking(signed))
    other.write_text(booking(signed, "WP-2"))
    (tmp_path / "wp2.yaml.sig").write_bytes(
        ssh_sign(signed.keys["human:owner"], other.read_bytes())
    )
    result = env.cli("submit", str(other), str(source))
    assert result.code == 2
    assert "wp.yaml was refused (unsigned:" in result.err and "submit it with --sign" in result.err
    assert "wp2.yaml was refused" not in result.err  # the one with its .sig is fine
    assert list(env.new.iterdir()) == []
    assert env.cli("submit", str(other)).code == 0  # a file with its .sig needs no --sign


def test_new_says_to_sign_where_entries_must_be_signed(env: Env, signed: Signed) -> None:
    assert signed.keys  # the workspace requires signatures now
    made = env.cli("new", "work_package", "WP-7", "--output", "-")
    assert made.code == 0, made.err
    head = " ".join(line.removeprefix("# ") for line in made.out.splitlines()[:4])
    assert "then run `cockpit submit --sign FILE`" in head
