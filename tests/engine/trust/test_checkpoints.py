"""Signed checkpoints and offline verification (SPEC 10.4): `cockpit audit checkpoint`
writes a C2SP signed note with the runner key, `--publish DIR` copies it and the runner's
public key, and `cockpit audit verify [--against NOTE] [--key PUB]` reports
`signed_through` and holds the log against a published note. Real workspaces, keys made by
ssh-keygen; the note format is checked against golang.org/x/mod/sumdb/note's own vectors."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from helpers.keys import Signed, make_key, now_stamp
from helpers.workspace import Env, work_package
from store.test_audit import db_rows, spec_canonical, spec_chain, spec_leaf, tamper

from cockpit.domain import EventType
from cockpit.engine.trust import note, sshsig
from cockpit.engine.trust.keys import HeldKey
from cockpit.store.audit import GENESIS

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


@pytest.fixture
def signed(env: Env, tmp_path: Path) -> Signed:
    """A workspace under `signatures: required` with a runner key and a few signed WPs."""
    signed = Signed(env, tmp_path / "keys")
    for n in range(1, 6):
        signed.drop(
            f"wp{n}.yaml",
            work_package(f"WP-{n}", created=now_stamp(-60), extra=signed.header()),
            "human:owner",
        )
    assert env.sweep().sweep.ingested == 5
    return signed


def checkpoint(env: Env, *extra: str) -> dict[str, Any]:
    result = env.cli("audit", "checkpoint", "--json", *extra)
    assert result.code == 0, result.err
    document: dict[str, Any] = result.json()
    return document


def verify(env: Env, *extra: str) -> tuple[int, dict[str, Any]]:
    result = env.cli("audit", "verify", "--json", *extra)
    document: dict[str, Any] = json.loads(result.out)
    assert set(document) == {"ok", "events", "first_bad_seq", "reason", "signatures",
                             "signed_through"}  # fmt: skip
    return result.code, document


def independent_check(text: bytes, public_line: str, origin: str) -> list[str]:
    """The C2SP rules written out again here, apart from the code under test: the key id
    is SHA-256(name || 0x0A || 0x01 || key)[:4], the signature Ed25519 over the text."""
    blob = base64.b64decode(public_line.split()[1])
    raw = blob[-32:]
    body, _, signatures = text.decode().rpartition("\n\n")
    [line] = signatures.strip("\n").split("\n")
    name, encoded = line.removeprefix("\u2014 ").split(" ")
    assert name == origin
    sig = base64.b64decode(encoded)
    assert sig[:4] == hashlib.sha256(origin.encode() + b"\n\x01" + raw).digest()[:4]
    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(sig[4:], (body + "\n").encode())
    return body.split("\n")


# -- signing -----------------------------------------------------------------------------


def test_a_signed_checkpoint_verifies_and_sets_signed_through(env: Env, signed: Signed) -> None:
    document = checkpoint(env)
    origin = f"cockpit/demo/{signed.workspace_id}"
    assert document["origin"] == origin
    path = Path(document["note"])
    assert path == env.ws.checkpoints_dir / f"{document['size']:08d}.note"
    public_line = Path(f"{signed.runner_key}.pub").read_text()
    lines = independent_check(path.read_bytes(), public_line, origin)
    root = base64.b64encode(bytes.fromhex(document["merkle_root"])).decode()
    assert lines == [origin, str(document["size"]), root]
    assert document["vkey"].startswith(f"{origin}+")
    note.parse_vkey(document["vkey"])  # a verifier key Go's note.NewVerifier reads too

    [created] = [e for e in env.events() if e.type == EventType.CHECKPOINT_CREATED]
    assert created.payload["note"] == path.name
    assert created.payload["signature"]["namespace"] == sshsig.RUNNER
    code, report = verify(env)
    assert code == 0, report
    assert report["signed_through"] == document["size"]
    assert report["signatures"]["unsigned"] == 0 and report["signatures"]["bad"] == 0
    text = env.cli("audit", "verify").out
    assert f"signed checkpoints through seq {document['size']}" in text


def flip(text: str, index: int) -> str:
    swapped = "B" if text[index] != "B" else "C"
    return text[:index] + swapped + text[index + 1 :]


@pytest.mark.parametrize("where", ["body", "signature"])
def test_one_changed_byte_of_the_note_fails_verify_naming_it(
    env: Env, signed: Signed, where: str
) -> None:
    path = Path(checkpoint(env)["note"])
    text = path.read_text()
    if where == "body":
        index = text.index("\n", text.index("\n") + 1) + 10  # inside the root hash
    else:
        index = text.rindex(" ") + 30  # inside the Ed25519 signature, past the key id
    path.write_text(flip(text, index))
    code, report = verify(env)
    assert code == 1 and report["ok"] is False
    assert path.name in report["reason"] and "does not verify" in report["reason"]
    assert report["signed_through"] is None
    assert "Verification failed" in env.cli("audit", "verify").out


def test_publish_copies_the_note_and_the_runner_key(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    published = tmp_path / "published"
    document = checkpoint(env, "--publish", str(published))
    name = Path(document["note"]).name
    assert document["published"] == [str(published / name), str(published / "runner.pub")]
    assert (published / name).read_bytes() == Path(document["note"]).read_bytes()
    theirs = (published / "runner.pub").read_text().split()
    ours = Path(f"{signed.runner_key}.pub").read_text().split()
    assert theirs[:2] == ours[:2]
    # A second checkpoint publishes beside the first; the key stays.
    second = checkpoint(env, "--publish", str(published))
    assert len(list(published.glob("*.note"))) == 2 and second["size"] > document["size"]


def test_publish_is_refused_inside_the_workspace_and_over_another_key(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    inside = env.cli("audit", "checkpoint", "--publish", str(env.root / "pub"))
    assert inside.code == 2 and "inside the workspace" in inside.err
    other = make_key(tmp_path / "other", "other")
    published = tmp_path / "published"
    published.mkdir()
    shutil.copy(f"{other}.pub", published / "runner.pub")
    before = len(env.events())
    clash = env.cli("audit", "checkpoint", "--publish", str(published))
    assert clash.code == 2 and "holds another key" in clash.err
    assert len(env.events()) == before  # refused before anything was written


def test_under_required_a_checkpoint_without_the_runner_key_is_refused(
    env: Env, signed: Signed
) -> None:
    signed.runner_key.unlink()
    result = env.cli("audit", "checkpoint")
    assert result.code == 2 and "runner.key" in result.err
    assert not list(env.ws.checkpoints_dir.glob("*.json"))


def test_without_a_runner_key_under_optional_the_checkpoint_is_unsigned(
    env: Env, tmp_path: Path
) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=now_stamp(-60)))
    assert env.sweep().sweep.ingested == 1
    document = checkpoint(env)
    assert "note" not in document and not list(env.ws.checkpoints_dir.glob("*.note"))
    code, report = verify(env)
    assert code == 0 and report["signed_through"] is None
    result = env.cli("audit", "checkpoint", "--publish", str(tmp_path / "pub"))
    assert result.code == 2 and "runner.key" in result.err


# -- verifying against a published note --------------------------------------------------


def publish(env: Env, tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    published = tmp_path / "published"
    document = checkpoint(env, "--publish", str(published))
    return published / Path(document["note"]).name, published / "runner.pub", document


def test_against_a_published_note_of_an_intact_log_is_ok(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    published, key, document = publish(env, tmp_path)
    signed.drop(
        "later.yaml",
        work_package("WP-9", created=now_stamp(-60), extra=signed.header()),
        "human:owner",
    )
    assert env.sweep().sweep.ingested == 1  # the log grew past the note: still consistent
    shutil.rmtree(env.ws.checkpoints_dir)  # an outsider: the database and the note only
    code, report = verify(env, "--against", str(published), "--key", str(key))
    assert code == 0, report
    assert report["signed_through"] == document["size"]


def rewrite(db: Path, seq: int) -> None:
    """Change the payload of `seq` and recompute its leaf and every chain link after it,
    as someone with write access to the database and the triggers dropped would."""
    rows = db_rows(db)
    previous = GENESIS if seq == 1 else bytes.fromhex(rows[seq - 2]["chain"])
    statements = []
    for row in rows[seq - 1 :]:
        if row["seq"] == seq:
            payload = json.loads(row["payload"])
            payload["quietly"] = "different"
            row["payload"] = spec_canonical(payload).decode()
        leaf = spec_leaf(row)
        link = spec_chain(previous, leaf)
        statements.append(
            (
                "UPDATE events SET payload = ?, leaf = ?, chain = ? WHERE seq = ?",
                (row["payload"], leaf.hex(), link.hex(), row["seq"]),
            )
        )
        previous = link
    tamper(db, *statements)


def test_against_a_consistent_rewrite_names_seq_5(env: Env, signed: Signed, tmp_path: Path) -> None:
    published, key, document = publish(env, tmp_path)
    assert document["size"] > 5
    rewrite(env.ws.db_path, 5)
    with env.store() as store:
        assert store.verify_chain().ok  # the chain alone does not show it
    # The checkpoint JSON beside the note keeps the signed leaves: seq 5 is named.
    companion = Path(document["file"])
    shutil.copy(companion, published.with_suffix(".json"))
    shutil.rmtree(env.ws.checkpoints_dir)
    code, report = verify(env, "--against", str(published), "--key", str(key))
    assert code == 1 and report["first_bad_seq"] == 5, report
    assert published.name in report["reason"] and "seq 5" in report["reason"]
    # Without any leaves to compare with, the whole signed range is named.
    published.with_suffix(".json").unlink()
    code, report = verify(env, "--against", str(published), "--key", str(key))
    assert code == 1 and report["first_bad_seq"] == 1
    assert f"between seq 1 and {document['size']}" in report["reason"]


def test_the_local_signed_note_catches_a_rewrite_of_the_unsigned_checkpoint(
    env: Env, signed: Signed
) -> None:
    """Whoever rewrites history can rewrite the checkpoint JSON too, but not its note."""
    document = checkpoint(env)
    rewrite(env.ws.db_path, 5)
    path = Path(document["file"])
    forged = json.loads(path.read_text())
    with env.store() as store:
        from cockpit.store import merkle
        from cockpit.store.checkpoint import leaves

        hashes = leaves(store, document["size"])
        head = store.conn.execute(
            "SELECT chain FROM events WHERE seq = ?", (document["size"],)
        ).fetchone()[0]
    forged.update(
        merkle_root=merkle.root(hashes).hex(),
        head=head,
        leaves_from=0,
        leaves=base64.b64encode(b"".join(hashes)).decode(),
    )
    path.write_text(json.dumps(forged))
    code, report = verify(env)
    # The forged JSON's leaves are not the signed tree's: the whole signed range is named.
    assert code == 1 and report["first_bad_seq"] == 1, report
    assert path.with_suffix(".note").name in report["reason"]
    assert report["signed_through"] is None


def test_against_a_truncated_log_names_it(env: Env, signed: Signed, tmp_path: Path) -> None:
    published, key, document = publish(env, tmp_path)
    keep = document["size"] - 2
    tamper(env.ws.db_path, ("DELETE FROM events WHERE seq > ?", (keep,)))
    shutil.rmtree(env.ws.checkpoints_dir)
    code, report = verify(env, "--against", str(published), "--key", str(key))
    assert code == 1 and report["first_bad_seq"] == keep + 1
    assert "truncated" in report["reason"] and published.name in report["reason"]


def test_against_with_another_key_is_not_trusted(env: Env, signed: Signed, tmp_path: Path) -> None:
    published, _key, _document = publish(env, tmp_path)
    other = make_key(tmp_path / "other", "other")
    code, report = verify(env, "--against", str(published), "--key", f"{other}.pub")
    assert code == 1 and report["ok"] is False
    assert "not signed by a trusted key" in report["reason"]
    assert report["signed_through"] is None


def test_against_a_note_of_another_workspace_is_refused(
    env: Env, signed: Signed, tmp_path: Path
) -> None:
    published, key, _document = publish(env, tmp_path)
    text = published.read_text().replace(signed.workspace_id, "another-workspace")
    published.write_text(text)
    code, report = verify(env, "--against", str(published), "--key", str(key))
    assert code == 1 and "not as this workspace" in report["reason"]


def test_against_a_missing_note_is_an_input_error(env: Env, signed: Signed) -> None:
    result = env.cli("audit", "verify", "--against", str(env.root / "nope.note"))
    assert result.code == 2 and "cannot be read" in result.err


# -- the note format, on fixed data ------------------------------------------------------

# golang.org/x/mod/sumdb/note, note_test.go (TestSign, TestOpen, TestNewVerifier).
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
    "qdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwn"
    "WLox33WWd1RvMc+QQ=\n"
)


def peter() -> HeldKey:
    seed = base64.b64decode(PETER_SKEY.split("+", 4)[4])[1:]
    private = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    return HeldKey(private, sshsig.public_key_of(private))


def test_go_sumdb_note_vectors() -> None:
    held = peter()
    assert note.verifier("PeterNeumann", held.public).vkey == PETER_VKEY
    assert note.parse_vkey(PETER_VKEY).key_id.hex() == "c74f20a3"
    assert note.sign(TEXT, "PeterNeumann", held) == TEXT + "\n" + PETER_SIG
    peter_key, enoch_key = note.parse_vkey(PETER_VKEY), note.parse_vkey(ENOCH_VKEY)
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert note.verify(both, peter_key) == TEXT[:-1].split("\n")  # Enoch's is ignored
    assert note.verify(both, [peter_key, enoch_key]) == TEXT[:-1].split("\n")
    with pytest.raises(note.NoteError, match="not signed by a trusted key"):
        note.verify(TEXT + "\n" + ENOCH_SIG, peter_key)


def test_the_c2sp_example_note_verifies() -> None:
    vkey = note.parse_vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    example = (
        "This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6"
        "TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    )
    assert note.verify(example, vkey) == ["This is an example message."]


@pytest.mark.parametrize(
    ("mangled", "why"),
    [
        (TEXT + PETER_SIG, "blank line"),
        (TEXT + "\n" + PETER_SIG[:-1], "newline"),
        (TEXT.replace("problem,", "problem,\t") + "\n" + PETER_SIG, "control characters"),
        (TEXT + "\n" + PETER_SIG.replace("\u2014", "-"), "em dash"),
        (TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"), "key name"),
        (TEXT + "\n" + PETER_SIG.replace("nAM=", "nAN="), "canonical"),
        (TEXT + "\n" + PETER_SIG.replace("x08go", "x08g!"), "base64"),
        (TEXT + "\n\u2014 PeterNeumann AAAA\n", "key name"),
        (TEXT + "\n" + PETER_SIG * 101, "more than 100"),
        (TEXT + "\n" + PETER_SIG.replace("BS9UG", "BS9UH"), "does not verify"),
    ],
)
def test_malformed_or_forged_notes_are_refused(mangled: str, why: str) -> None:
    with pytest.raises(note.NoteError, match=why):
        note.verify(mangled, note.parse_vkey(PETER_VKEY))


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(note.NoteError, match="UTF-8"):
        note.verify(b"\xff\n\n" + PETER_SIG.encode(), note.parse_vkey(PETER_VKEY))


def test_checkpoint_bodies_round_trip_and_refuse_malformed_lines() -> None:
    root = hashlib.sha256(b"x").digest()
    body = note.Checkpoint("cockpit/demo/ws", 12, root)
    assert body.text() == f"cockpit/demo/ws\n12\n{base64.b64encode(root).decode()}\n"
    assert note.parse_checkpoint(body.text()[:-1].split("\n")) == body
    good = body.text()[:-1].split("\n")
    for lines in (good[:2], [good[0], "012", good[2]], [good[0], "-1", good[2]],
                  [good[0], "12", "AAAA"], [*good, ""]):  # fmt: skip
        with pytest.raises(note.NoteError):
            note.parse_checkpoint(lines)
    assert note.origin("acme corp+1", "7f3c/x") == "cockpit/acme%20corp%2B1/7f3c%2Fx"
    assert note.valid_name(note.origin("acme corp+1", "7f3c/x"))


def test_a_vkey_whose_id_is_not_its_hash_is_refused() -> None:
    with pytest.raises(note.NoteError, match="id"):
        note.parse_vkey(PETER_VKEY.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(note.NoteError):
        note.parse_vkey("PeterNeumann+c74f20a3")


def test_a_local_note_replaced_by_a_symlink_fails_verify(env: Env, signed: Signed) -> None:
    path = Path(checkpoint(env)["note"])
    real = path.with_name("elsewhere")
    path.rename(real)
    path.symlink_to(real)
    code, report = verify(env)
    assert code == 1 and path.name in report["reason"]
