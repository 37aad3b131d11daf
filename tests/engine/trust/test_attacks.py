"""An attacker's tour of the trust boundary (SPEC 10): every sentence of the spec read as a
test someone hostile will run, on real workspaces under `signatures: required` with real
ssh-keygen keys. Each test asserts the defended behaviour."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from helpers.forge import forge_row
from helpers.keys import Signed, now_stamp, ssh_sign
from helpers.workspace import Env, entry, rejection_reason, work_package

from cockpit.domain import EventType, RejectionCode
from cockpit.engine.config.ssh_keys import ssh_string
from cockpit.engine.entries.models import EntryRejected
from cockpit.engine.entries.parse import parse_entry
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.trust import agent_keys, record, sshsig
from cockpit.engine.trust import entries as trust_entries
from cockpit.engine.trust.keys import init_runner_key, load_key
from cockpit.errors import Refused
from cockpit.store import canonical_json

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

OTHER_WORKSPACE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def signed(env: Env, tmp_path: Path) -> Signed:
    signed = Signed(env, tmp_path / "keys")
    signed.drop("wp.yaml", booking(signed), "human:owner")
    assert env.sweep().sweep.ingested == 1
    return signed


def booking(signed: Signed, wp: str = "WP-1", header: str | None = None) -> str:
    extra = signed.header() if header is None else header
    return work_package(wp, created=now_stamp(-60), extra=extra)


def an_entry(signed: Signed, kind: str, entry_id: str, principal: str, body: str = "") -> str:
    return entry(
        kind, entry_id, "WP-1", principal, body, created=now_stamp(-30), extra=signed.header()
    )


def verify(env: Env, *extra: str) -> tuple[int, dict[str, Any]]:
    result = env.cli("audit", "verify", "--json", *extra)
    return result.code, json.loads(result.out)


def entry_signature(key: Path, data: bytes, namespace: str = "cockpit-entry") -> dict[str, Any]:
    sig = ssh_sign(key, data, namespace).decode()
    parsed = sshsig.parse(sig)
    return {**sshsig.describe(parsed), "signed": hashlib.sha256(data).hexdigest()}


def issue_agent_key(
    env: Env, directory: Path, kinds: tuple[str, ...] | None = None, wp: str = "WP-1"
) -> agent_keys.IssuedKey:
    """What the runner does when it starts an agent: a live key, recorded and signed."""
    issued = agent_keys.issue(directory, "dispatched")
    if kinds is not None:
        issued = dataclasses.replace(issued, kinds=kinds)
    with env.store() as store:
        record.attach(env.ws, store)
        with store.transaction():
            store.append(issued.issued("agent:implementer-1", wp, "dispatched", 1))
    return issued


# -- signed entries at ingest (SPEC 10.1) -----------------------------------------------------


def test_an_entry_naming_another_principal_signed_with_a_valid_key_is_bad_signature(
    env: Env, signed: Signed
) -> None:
    """The reviewer's real key over an entry that names the owner proves nothing."""
    review = an_entry(signed, "review", "REV-1", "human:owner", "verdict: revision_required")
    signed.drop("rev.yaml", review, "human:reviewer")
    env.sweep()
    why = rejection_reason(env, "rev.yaml")
    assert why["code"] == "bad_signature" and "not a key of human:owner" in why["message"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"


def test_an_entry_signed_in_the_action_namespace_is_bad_signature(env: Env, signed: Signed) -> None:
    text = booking(signed, "WP-2")
    (env.new / "wp2.yaml.sig").write_bytes(
        ssh_sign(signed.keys["human:owner"], text.encode(), "cockpit-action")
    )
    env.drop("wp2.yaml", text)
    env.sweep()
    why = rejection_reason(env, "wp2.yaml")
    assert why["code"] == "bad_signature" and "namespace" in why["message"]
    assert env.wp("WP-2") is None


def test_the_same_signed_entry_dropped_twice_is_ingested_once(env: Env, signed: Signed) -> None:
    text = booking(signed, "WP-2")
    signed.drop("a.yaml", text, "human:owner")
    env.sweep()
    before = len(env.events("WP-2"))
    signed.drop("b.yaml", text, "human:owner")
    env.sweep()
    assert len(env.events("WP-2")) == before == 1


def test_a_signed_entry_of_another_workspace_is_tenant_mismatch(env: Env, signed: Signed) -> None:
    header = f"tenant: {env.ws.config.tenant}\nworkspace: {OTHER_WORKSPACE}"
    signed.drop("other.yaml", booking(signed, "WP-2", header), "human:owner")
    env.sweep()
    assert rejection_reason(env, "other.yaml")["code"] == "tenant_mismatch"
    assert env.wp("WP-2") is None


# -- the SSHSIG format itself ---------------------------------------------------------------


def _armor(key_blob: bytes, namespace: str, hash_alg: str, sig_blob: bytes) -> str:
    blob = (
        b"SSHSIG"
        + struct.pack(">I", 1)
        + ssh_string(key_blob)
        + ssh_string(namespace)
        + ssh_string(b"")
        + ssh_string(hash_alg)
        + ssh_string(sig_blob)
    )
    return f"{sshsig.BEGIN}\n{base64.b64encode(blob).decode()}\n{sshsig.END}\n"


def _ed25519_blob(private: ed25519.Ed25519PrivateKey) -> bytes:
    return ssh_string("ssh-ed25519") + ssh_string(private.public_key().public_bytes_raw())


def test_sshsig_sha256_and_sha512_verify_and_a_lying_hash_name_does_not() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    message = b"entry bytes"
    for name in ("sha256", "sha512"):
        raw = private.sign(sshsig.signed_data("cockpit-entry", name, message))
        sig = _armor(_ed25519_blob(private), "cockpit-entry", name, _sig("ssh-ed25519", raw))
        sshsig.verify(sshsig.parse(sig), message, "cockpit-entry")
    # Signed over the sha512 form but labelled sha256: does not verify.
    raw = private.sign(sshsig.signed_data("cockpit-entry", "sha512", message))
    lying = _armor(_ed25519_blob(private), "cockpit-entry", "sha256", _sig("ssh-ed25519", raw))
    with pytest.raises(sshsig.SignatureError, match="does not verify"):
        sshsig.verify(sshsig.parse(lying), message, "cockpit-entry")
    md5 = _armor(_ed25519_blob(private), "cockpit-entry", "md5", _sig("ssh-ed25519", raw))
    with pytest.raises(sshsig.SignatureError, match="not sha256 or sha512"):
        sshsig.parse(md5)


def _sig(kind: str, raw: bytes, extra: bytes = b"") -> bytes:
    return ssh_string(kind) + ssh_string(raw) + extra


def _mpint(value: int) -> bytes:
    data = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return ssh_string(data)


def test_an_rsa_key_under_2048_bits_is_refused_even_with_a_valid_signature() -> None:
    message = b"entry bytes"
    for bits, ok in ((1024, False), (2048, True)):
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        numbers = private.public_key().public_numbers()
        blob = ssh_string("ssh-rsa") + _mpint(numbers.e) + _mpint(numbers.n)
        data = sshsig.signed_data("cockpit-entry", "sha512", message)
        raw = private.sign(data, padding.PKCS1v15(), hashes.SHA512())
        sig = sshsig.parse(_armor(blob, "cockpit-entry", "sha512", _sig("rsa-sha2-512", raw)))
        if ok:
            sshsig.verify(sig, message, "cockpit-entry")
        else:
            with pytest.raises(sshsig.SignatureError):
                sshsig.verify(sig, message, "cockpit-entry")
    # SHA-1 RSA signatures (ssh-rsa) are refused whatever the key size.
    sha1 = private.sign(data, padding.PKCS1v15(), hashes.SHA1())
    sig = sshsig.parse(_armor(blob, "cockpit-entry", "sha512", _sig("ssh-rsa", sha1)))
    with pytest.raises(sshsig.SignatureError):
        sshsig.verify(sig, message, "cockpit-entry")


def test_a_fido_signature_without_user_presence_is_refused() -> None:
    """A hand-made sk-ssh-ed25519 signature: with the touch flag it verifies, without it
    (an authenticator that signed silently) it is refused."""
    private = ed25519.Ed25519PrivateKey.generate()
    application = b"ssh:"
    kind = "sk-ssh-ed25519@openssh.com"
    blob = ssh_string(kind) + ssh_string(private.public_key().public_bytes_raw())
    blob += ssh_string(application)
    message = b"entry bytes"
    data = sshsig.signed_data("cockpit-entry", "sha512", message)
    for flags, ok in ((0x01, True), (0x00, False), (0x04, False)):
        signed_part = (
            hashlib.sha256(application).digest()
            + bytes([flags])
            + struct.pack(">I", 7)
            + hashlib.sha256(data).digest()
        )
        raw = private.sign(signed_part)
        sig_blob = _sig(kind, raw, bytes([flags]) + struct.pack(">I", 7))
        sig = sshsig.parse(_armor(blob, "cockpit-entry", "sha512", sig_blob))
        if ok:
            sshsig.verify(sig, message, "cockpit-entry")
        else:
            with pytest.raises(sshsig.SignatureError, match="does not verify"):
                sshsig.verify(sig, message, "cockpit-entry")


# -- signed actions (SPEC 10.1) ------------------------------------------------------------


def test_a_signed_action_is_refused_for_another_wp_and_with_a_skewed_ts(
    env: Env, signed: Signed
) -> None:
    signed.drop("wp2.yaml", booking(signed, "WP-2"), "human:owner")
    env.sweep()
    sign = trust_actions.person_signer(env.ws, "human:owner", signed.keys["human:owner"])
    args = {"reason": "stop"}
    with env.store() as store:
        for_wp1 = trust_actions.sign_with(
            env.ws, store, sign, "cancel", "WP-1", args, "human:owner"
        )
        with pytest.raises(Refused, match="work_package"):
            trust_actions.check(env.ws, store, for_wp1, "cancel", "WP-2", args, "human:owner")
        doc = trust_actions.document(env.ws, store, "cancel", "WP-1", args, "human:owner")
        for skew in (-600, 600):
            skewed = sign({**doc, "ts": now_stamp(skew)})
            with pytest.raises(Refused, match="5 minutes"):
                trust_actions.check(env.ws, store, skewed, "cancel", "WP-1", args, "human:owner")
        other = sign({**doc, "workspace": OTHER_WORKSPACE})
        with pytest.raises(Refused, match="workspace"):
            trust_actions.check(env.ws, store, other, "cancel", "WP-1", args, "human:owner")
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"


def test_as_another_principal_with_your_own_key_or_env_key_is_refused(
    env: Env, signed: Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(env.events())
    reviewer = str(signed.keys["human:reviewer"])
    result = env.cli("cancel", "WP-1", "--as", "human:owner", "--reason", "x", "--key", reviewer)
    assert result.code == 1 and "not a key of human:owner" in result.err
    monkeypatch.setenv("COCKPIT_SIGNING_KEY", reviewer)
    result = env.cli("cancel", "WP-1", "--as", "human:owner", "--reason", "x")
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1
    assert len(env.events()) == before
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "booked"


# -- agent keys (SPEC 10.2) ----------------------------------------------------------------


def test_a_live_agent_key_cannot_sign_reviews_bookings_dispatches_other_kinds_or_other_wps(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    signed.drop("wp2.yaml", booking(signed, "WP-2"), "human:owner")
    env.sweep()
    # Even a run whose recorded kinds were widened may never sign these three.
    issued = issue_agent_key(env, tmp_path / "run", kinds=("scope_confirmation", "review"))
    held = load_key(issued.path)
    agent = "agent:implementer-1"
    cases = {
        "review.yaml": an_entry(signed, "review", "REV-A", agent, "verdict: revision_required"),
        "dispatch.yaml": an_entry(signed, "dispatch", "DSP-A", agent, "to: agent:implementer-1"),
        "booking.yaml": booking(signed, "WP-3").replace("human:owner", agent),
        "evidence.yaml": an_entry(
            signed, "evidence", "EVD-A", agent, "items: []\nmissing: []\nquality: x"
        ),
        "owner.yaml": an_entry(
            signed, "scope_confirmation", "SCP-O", "human:owner", "confirmed: true"
        ),
        "wp2.yaml": an_entry(
            signed, "scope_confirmation", "SCP-2", agent, "confirmed: true"
        ).replace("WP-1", "WP-2"),
    }
    # While the run lives (checked as ingest does, before the runner reaps the run).
    with env.store() as store:
        for name, text in cases.items():
            data = text.encode()
            parsed = parse_entry(data, name)
            checked = trust_entries.read_signature(
                parsed, held.sign(data, "cockpit-entry").encode(), env.ws.config, store
            )
            with pytest.raises(EntryRejected) as caught:
                trust_entries.check_signature(parsed, checked, env.ws.config, store.clock())
            assert caught.value.code == RejectionCode.BAD_SIGNATURE, name
    # And dropped into the queue: none is admitted.
    for name, text in cases.items():
        (env.new / f"{name}.sig").write_bytes(held.sign(text.encode(), "cockpit-entry").encode())
        env.drop(name, text)
    env.sweep()
    for name in cases:
        assert rejection_reason(env, name)["code"] == "bad_signature", name
    assert env.wp("WP-3") is None


# -- the record (SPEC 10.4) ----------------------------------------------------------------


@pytest.mark.parametrize("signer", ["unsigned", "rogue"])
def test_a_forged_config_applied_adding_a_key_unsigned_or_signed_by_another_key_is_named(
    env: Env, signed: Signed, tmp_path: Path, signer: str
) -> None:
    init_runner_key(tmp_path / "rogue")
    rogue = load_key(tmp_path / "rogue")
    payload: dict[str, Any] = {
        "sha256": "0" * 64,
        "signatures": "required",
        "principals_keys": {"human:owner": [rogue.public.line()]},
        "runner_key": rogue.public.line(),
    }
    if signer == "rogue":
        payload["signature"] = {
            "signer": rogue.public.fingerprint,
            "namespace": "cockpit-runner",
            "sig": rogue.sign(canonical_json(payload), "cockpit-runner"),
        }
    seq = forge_row(env, EventType.CONFIG_APPLIED, None, "cockpit:runner", payload)  # type: ignore[arg-type]
    # ... followed by an override "signed" with the key it claims to add.
    move: dict[str, Any] = {"reason": "x", "transition": {"from": "booked", "to": "accepted"}}
    move["signature"] = {
        "signer": rogue.public.fingerprint,
        "namespace": "cockpit-runner",
        "sig": rogue.sign(canonical_json(move), "cockpit-runner"),
    }
    forge_row(env, EventType.OVERRIDE_APPLIED, "WP-1", "cockpit:runner", move)
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report
    assert report["signatures"]["bad"] + report["signatures"]["unsigned"] == 2, report


def test_a_forged_config_applied_signed_by_a_live_agent_key_grants_nothing(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    """An (unsandboxed) agent holding its live run key writes a `config_applied` that
    makes its key the owner's and the runner's, signed as if it were one of its entries."""
    issued = issue_agent_key(env, tmp_path / "run")
    held = load_key(issued.path)
    raw = b"anything the agent likes"
    payload: dict[str, Any] = {
        "sha256": "0" * 64,
        "signatures": "required",
        "principals_keys": {"human:owner": [issued.public_line]},
        "runner_key": issued.public_line,
        "raw": raw.decode(),
        "signature": {
            "signer": held.public.fingerprint,
            "namespace": "cockpit-entry",
            "sig": held.sign(raw, "cockpit-entry"),
            "signed": hashlib.sha256(raw).hexdigest(),
        },
    }
    seq = forge_row(
        env, EventType.CONFIG_APPLIED, "WP-1", "agent:implementer-1", payload, entry_id="X-1"
    )
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_an_event_signed_by_a_live_agent_key_over_bytes_that_are_no_entry_is_bad(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    issued = issue_agent_key(env, tmp_path / "run")
    held = load_key(issued.path)
    raw = b"not an entry at all"
    move = {"reason": "x", "transition": {"from": "booked", "to": "accepted"}, "raw": raw.decode()}
    move["signature"] = {
        "signer": held.public.fingerprint,
        "namespace": "cockpit-entry",
        "sig": held.sign(raw, "cockpit-entry"),
        "signed": hashlib.sha256(raw).hexdigest(),
    }
    seq = forge_row(
        env, EventType.OVERRIDE_APPLIED, "WP-1", "agent:implementer-1", move, entry_id="X-2"
    )
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_a_forged_row_reusing_the_last_entrys_signature_id_and_raw_is_bad(
    env: Env, signed: Signed
) -> None:
    """Appended right after the booking's own events, with its entry_id, raw and
    signature: one signed entry does not cause a second booking, nor an override."""
    events = env.events()
    [booked] = [e for e in events if e.type == EventType.TASK_CREATED]
    assert events[-1].entry_id == booked.entry_id, [e.type for e in events]
    copy = {k: booked.payload[k] for k in ("raw", "sha256", "signature", "entry")}
    move = {**copy, "reason": "x", "transition": {"from": "booked", "to": "accepted"}}
    seq = forge_row(
        env, EventType.OVERRIDE_APPLIED, "WP-1", "human:owner", move, entry_id=booked.entry_id
    )
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_a_forged_second_event_of_the_same_type_for_one_entry_is_bad(
    env: Env, signed: Signed
) -> None:
    [booked] = [e for e in env.events() if e.type == EventType.TASK_CREATED]
    payload = {k: v for k, v in booked.payload.items()}
    seq = forge_row(
        env, EventType.TASK_CREATED, "WP-1", "human:owner", payload, entry_id=booked.entry_id
    )
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_a_rejected_signed_entry_written_into_the_record_as_if_ingested_is_bad(
    env: Env, signed: Signed
) -> None:
    """A dispatch the owner signed was rejected (and its signature recorded with the
    rejection); someone with the database writes it in as if it had been admitted."""
    dispatch = an_entry(signed, "dispatch", "DSP-1", "human:owner", "to: agent:implementer-1")
    dispatch = dispatch.replace("WP-1", "WP-9")
    signed.drop("early.yaml", dispatch, "human:owner")
    env.sweep()
    assert rejection_reason(env, "early.yaml")["code"] == "unknown_work_package"
    [rejected] = [e for e in env.events() if e.type == EventType.ENTRY_REJECTED]
    stolen = rejected.payload["entry_signature"]
    payload = {"raw": dispatch, "sha256": stolen["signed"], "to": "agent:implementer-1"}
    payload["signature"] = stolen
    seq = forge_row(env, EventType.DISPATCHED, "WP-9", "human:owner", payload, entry_id="DSP-1")
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_an_entry_signed_for_another_workspace_written_into_the_record_is_bad(
    env: Env, signed: Signed
) -> None:
    """The owner uses one key in two workspaces; a booking signed for the other one is
    written into this workspace's database."""
    header = f"tenant: {env.ws.config.tenant}\nworkspace: {OTHER_WORKSPACE}"
    text = booking(signed, "WP-7", header)
    payload = {"raw": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    payload["signature"] = entry_signature(signed.keys["human:owner"], text.encode())
    seq = forge_row(env, EventType.TASK_CREATED, "WP-7", "human:owner", payload, entry_id="WP-7")
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_an_entry_signature_over_another_entry_id_or_wp_is_bad(env: Env, signed: Signed) -> None:
    """Bytes the owner signed for WP-8 (never dropped) recorded as causing an event of
    another id on another WP."""
    text = booking(signed, "WP-8")
    payload = {"raw": text, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    payload["signature"] = entry_signature(signed.keys["human:owner"], text.encode())
    seq = forge_row(env, EventType.TASK_CREATED, "WP-6", "human:owner", payload, entry_id="WP-6")
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_an_action_signed_for_another_workspace_written_into_the_record_is_bad(
    env: Env, signed: Signed
) -> None:
    with env.store() as store:
        doc = trust_actions.document(
            env.ws, store, "cancel", "WP-1", {"reason": "x"}, "human:owner"
        )
    doc["workspace"] = OTHER_WORKSPACE
    sig = ssh_sign(signed.keys["human:owner"], canonical_json(doc), "cockpit-action").decode()
    payload: dict[str, Any] = {"reason": "x", "transition": {"from": "booked", "to": "cancelled"}}
    payload["signature"] = {**sshsig.describe(sshsig.parse(sig)), "signed": doc}
    seq = forge_row(env, EventType.OVERRIDE_APPLIED, "WP-1", "human:owner", payload)
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq, report


def test_an_entry_signature_on_an_event_whose_bytes_are_nowhere_is_bad(
    env: Env, signed: Signed
) -> None:
    text = booking(signed, "WP-5").encode()
    payload = {"signature": entry_signature(signed.keys["human:owner"], text)}
    seq = forge_row(env, EventType.TASK_CREATED, "WP-5", "human:owner", payload, entry_id="WP-5")
    code, report = verify(env)
    assert code == 1 and report["first_bad_seq"] == seq
    assert "not in the record or the queue" in report["reason"]


def test_a_checkpoint_note_signed_by_another_key_is_not_trusted(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    result = env.cli("audit", "checkpoint", "--publish", str(tmp_path / "pub"))
    assert result.code == 0, result.err
    notes = [p for p in (tmp_path / "pub").iterdir() if not p.name.endswith(".pub")]
    assert notes, list((tmp_path / "pub").iterdir())
    rogue = tmp_path / "rogue" / "key"
    init_runner_key(rogue)
    code, report = verify(env, "--against", str(notes[0]), "--key", f"{rogue}.pub")
    assert code == 1 and report["ok"] is False
