"""The provenance of a delivery (SPEC 11.3): an in-toto Statement v1 about the delivered head
in a DSSE envelope signed by the runner key, checked offline by `cockpit attest verify` and,
independently, by the DSSE rules themselves (raw Ed25519 over the pre-authentication
encoding, with `cryptography` alone); and `status.delivery`."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from helpers.delivery import Target, complete_wp, with_runner_key
from helpers.git import git
from helpers.workspace import Env

from cockpit.engine import delivery
from cockpit.engine.config.ssh_keys import parse_public_key
from cockpit.engine.trust.keys import init_runner_key

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


@pytest.fixture
def delivered(env: Env, tmp_path: Path) -> tuple[Target, delivery.Delivered, Path]:
    key = with_runner_key(env, tmp_path / "keys")
    target = complete_wp(env, tmp_path)
    with env.store() as store:
        done = delivery.deliver(env.ws, store, "WP-1", "human:owner", "merge")
    return target, done, key


def _pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def test_the_attestation_is_a_signed_statement_about_the_delivered_head(
    delivered: tuple[Target, delivery.Delivered, Path],
) -> None:
    target, done, key = delivered
    path = target.env.root / ".cockpit" / "attestations" / "WP-1.intoto.json"
    assert done.attestation == path
    assert done.event.payload["attestation"] == ".cockpit/attestations/WP-1.intoto.json"
    envelope = json.loads(path.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    [signature] = envelope["signatures"]
    public = parse_public_key(key.with_name(key.name + ".pub").read_text())
    assert signature["keyid"] == public.fingerprint
    payload = base64.b64decode(envelope["payload"])
    # DSSE as its specification says, without Cockpit's code: the signature is raw Ed25519
    # over PAE(payloadType, payload), base64; the key is the runner's (32 raw bytes last).
    raw = Ed25519PublicKey.from_public_bytes(public.blob[-32:])
    raw.verify(base64.b64decode(signature["sig"]), _pae(envelope["payloadType"], payload))

    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://cockpit.dev/delivery/v1"
    assert statement["subject"][0]["digest"] == {"gitCommit": target.head}
    predicate: dict[str, Any] = statement["predicate"]
    verdict = target.events("verify_completed")[-1]
    assert predicate["work_package"]["id"] == "WP-1"
    assert predicate["claim"] == verdict.payload["claim"]
    assert predicate["evidence"] == verdict.payload["evidence"]
    assert predicate["common_ground"] == verdict.payload["common_ground"]
    assert predicate["gate"]["seq"] == verdict.seq
    assert predicate["gate"]["outcome"] == "success"
    assert set(predicate["gate"]["predicates"]) == set(verdict.payload["predicates"])
    assert predicate["verified_tree"] == verdict.payload["tree"]
    assert predicate["accepted_head"] == target.head
    merge_sha = git(target.repo, "rev-parse", "main")
    assert predicate["delivery"]["merge_sha"] == merge_sha
    assert predicate["delivery"]["base_sha"] == target.base
    assert predicate["delivery"]["validated"] is True
    [completed] = target.events("task_completed")
    assert predicate["acceptance"]["principal"] == "human:owner"
    assert predicate["acceptance"]["seq"] == completed.seq - 1  # its review_recorded
    assert predicate["acceptance"]["signature"] == {"unsigned": True}
    assert predicate["audit"]["first_seq"] == 1
    assert predicate["audit"]["last_seq"] == completed.seq
    checkpoint = predicate["audit"]["checkpoint"]
    assert checkpoint == done.event.payload["checkpoint"]
    assert checkpoint["size"] >= completed.seq and checkpoint["note"].endswith(".note")
    assert (target.env.root / ".cockpit" / "checkpoints" / checkpoint["note"]).is_file()


def test_attest_verify_holds_and_fails_on_one_changed_byte_or_another_commit(
    delivered: tuple[Target, delivery.Delivered, Path], tmp_path: Path
) -> None:
    target, _, key = delivered
    env = target.env
    path = env.root / ".cockpit" / "attestations" / "WP-1.intoto.json"
    ok = env.cli("attest", "verify", str(path))
    assert ok.code == 0, ok.out + ok.err
    assert ok.out.startswith(f"Attestation {path} holds: WP-1 delivered commit {target.head}")
    as_json = env.cli("attest", "verify", str(path), "--json", "--commit", target.head)
    assert as_json.code == 0 and as_json.json()["ok"] is True
    assert as_json.json()["subject"] == target.head
    # Offline with the public key alone, no workspace.
    public = key.with_name(key.name + ".pub")
    alone = env.cli("attest", "verify", str(path), "--key", str(public))
    assert alone.code == 0

    other = env.cli("attest", "verify", str(path), "--commit", target.base)
    assert other.code == 1
    assert f"it is about commit {target.head}, not {target.base}" in other.out

    envelope = json.loads(path.read_text())
    payload = bytearray(base64.b64decode(envelope["payload"]))
    at = payload.index(target.head.encode())
    payload[at] = ord("0") if payload[at] != ord("0") else ord("1")  # one byte of the commit
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    tampered = tmp_path / "tampered.intoto.json"
    tampered.write_text(json.dumps(envelope))
    failed = env.cli("attest", "verify", str(tampered), "--json")
    assert failed.code == 1
    assert failed.json()["ok"] is False
    assert "signature does not verify" in failed.json()["reason"]

    stranger = tmp_path / "stranger" / "runner_ed25519"
    init_runner_key(stranger)
    wrong = env.cli("attest", "verify", str(path), "--key", str(stranger) + ".pub")
    assert wrong.code == 1 and "does not verify with the runner key" in wrong.out


@pytest.mark.parametrize(
    "change",
    [
        {"signatures": [{"keyid": "\x1b[2J\x1b[31mHELD\x1b[0m", "sig": "eHh4"}]},
        {"payloadType": "\x1b]0;PWNED\x07\u202eRTL"},
        {"payload": "!!\x1b[31m"},
    ],
)
def test_attest_verify_shows_what_the_file_says_literally(
    delivered: tuple[Target, delivery.Delivered, Path], tmp_path: Path, change: dict[str, Any]
) -> None:
    """Text from the file (a keyid, the payload type, the library's complaint about it)
    reaches the terminal with its control and bidirectional characters escaped."""
    target, _, _ = delivered
    path = target.env.root / ".cockpit" / "attestations" / "WP-1.intoto.json"
    forged = tmp_path / "forged.intoto.json"
    forged.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    shown = target.env.cli("attest", "verify", str(forged))
    assert shown.code == 1
    assert shown.out.startswith(f"Attestation {forged} does not hold: ")
    assert not any(ord(c) < 0x20 and c != "\n" for c in shown.out), repr(shown.out)
    assert "\u202e" not in shown.out and "\x07" not in shown.out
    assert "\\x1b" in shown.out or "not a DSSE envelope" in shown.out


def test_attest_verify_takes_a_full_commit_id_only(
    delivered: tuple[Target, delivery.Delivered, Path],
) -> None:
    target, _, _ = delivered
    path = target.env.root / ".cockpit" / "attestations" / "WP-1.intoto.json"
    prefix = target.env.cli("attest", "verify", str(path), "--commit", target.head[:12])
    assert prefix.code == 2
    assert prefix.err.strip() == (
        f"cockpit: --commit {target.head[:12]} is not a full commit id (40 or 64 hexadecimal "
        "digits)."
    )
    full = target.env.cli("attest", "verify", str(path), "--commit", target.head.upper())
    assert full.code == 0, full.out


def test_status_shows_the_delivery(delivered: tuple[Target, delivery.Delivered, Path]) -> None:
    target, done, _ = delivered
    shown = target.env.cli("status", "WP-1", "--json")
    assert shown.code == 0
    expected = {k: v for k, v in done.event.payload.items() if k != "signature"}
    assert shown.json()["delivery"] == expected
    text = target.env.cli("status", "WP-1")
    assert f"delivered:        merge to main, validated: {expected['merge_sha']}" in text.out


def test_status_delivery_is_null_until_delivered_and_the_record_still_verifies(
    env: Env, tmp_path: Path
) -> None:
    with_runner_key(env, tmp_path / "keys")
    target = complete_wp(env, tmp_path)
    assert env.cli("status", "WP-1", "--json").json()["delivery"] is None
    with env.store() as store:
        delivery.deliver(env.ws, store, "WP-1", "human:owner", "merge")
    verified = env.cli("audit", "verify", "--json")
    assert verified.code == 0, verified.out
    assert verified.json()["signed_through"] is not None
    replayed = env.cli("replay", "--json")
    assert replayed.code == 0 and replayed.json()["match"] is True
    assert [e.payload["attestation"] for e in target.events("delivered")] == [
        ".cockpit/attestations/WP-1.intoto.json"
    ]
