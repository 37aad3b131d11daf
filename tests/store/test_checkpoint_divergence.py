"""A rewrite that only a checkpoint catches is named at its first rewritten seq (issue 11,
point 8): the checkpoint keeps the leaves it covers (since the previous checkpoint), so
`audit verify` can say which leaf differs from the checkpoint's tree, not just that the
range since the last good checkpoint does."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.workspace import Env, t, work_package

from cockpit.store.audit import GENESIS
from store.test_audit import audit_verify, db_rows, spec_canonical, spec_chain, spec_leaf, tamper


def twenty_events(env: Env) -> None:
    for n in range(1, 21):
        env.drop(f"wp{n}.yaml", work_package(f"WP-{n}", created=t(n)))
    summary = env.sweep()
    assert summary.sweep.ingested == 20, summary.sweep.log
    assert len(db_rows(env.ws.db_path)) >= 20


def rewrite_consistently(db: Path, seq: int) -> None:
    """Change the payload of `seq` and recompute its leaf and every chain link after it,
    as someone with write access to the database and the triggers dropped would: the chain
    by itself verifies."""
    rows = db_rows(db)
    previous = GENESIS if seq == 1 else bytes.fromhex(rows[seq - 2]["chain"])
    statements = []
    for row in rows[seq - 1 :]:
        if row["seq"] == seq:
            payload = json.loads(row["payload"])
            payload["entry"]["body"]["title"] = "a quietly different task"
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


def test_a_rewrite_caught_by_a_checkpoint_is_named_at_its_first_rewritten_seq(
    env: Env,
) -> None:
    twenty_events(env)
    assert env.cli("audit", "checkpoint", "--json").code == 0
    rewrite_consistently(env.ws.db_path, 5)
    with env.store() as store:
        assert store.verify_chain().ok  # the chain alone does not show it
    code, document, _ = audit_verify(env.root)
    assert code == 1
    assert document["ok"] is False
    assert document["first_bad_seq"] == 5, document
    assert "seq 5" in document["reason"], document["reason"]


def test_the_second_checkpoint_names_a_rewrite_after_the_first(env: Env) -> None:
    twenty_events(env)
    assert env.cli("audit", "checkpoint", "--json").code == 0  # covers 1..20
    for n in range(21, 31):
        env.drop(f"wp{n}.yaml", work_package(f"WP-{n}", created=t(n)))
    assert env.sweep().sweep.ingested == 10
    assert env.cli("audit", "checkpoint", "--json").code == 0
    target = len(db_rows(env.ws.db_path)) - 4  # one of the later bookings
    rewrite_consistently(env.ws.db_path, target)
    code, document, _ = audit_verify(env.root)
    assert code == 1 and document["first_bad_seq"] == target, document


def test_an_older_checkpoint_without_leaves_still_catches_the_range(env: Env) -> None:
    """A checkpoint written before leaves were kept is still read: the rewrite is caught
    and the range it lies in named, as before."""
    twenty_events(env)
    assert env.cli("audit", "checkpoint", "--json").code == 0
    [path] = sorted(env.ws.checkpoints_dir.glob("*.json"))
    document = json.loads(path.read_text())
    old = {k: document[k] for k in ("size", "head", "merkle_root", "ts")}
    path.write_text(json.dumps(old, indent=2) + "\n")
    rewrite_consistently(env.ws.db_path, 5)
    code, report, _ = audit_verify(env.root)
    assert code == 1 and report["first_bad_seq"] == 1, report
