"""SPEC 3.1 rejection codes: one real file per code in a real workspace's queue/new/.

Every test runs the real sweep over a batch that holds the bad file AND a valid entry, and
checks the whole contract of a rejection: the file is moved to queue/rejected/NAME (gone
from new/ and cur/), NAME.reason.json is exactly {code, message, entry_id}, an
`entry_rejected` event is appended, `cockpit rejected --json` lists it, and the sweep went
on to ingest the valid entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from helpers.workspace import Env, book_to_in_progress, dispatch, entry, t, work_package

from cockpit.engine.entries.models import MAX_ENTRY_BYTES

COMPANION = "zz-companion.yaml"
COMPANION_WP = "WP-OK"

WP_BODY = """
    title: A task
    objective: do the thing
    owner: agent:implementer-1
    accountable: human:owner
    tier: standard
    lane: implementation
"""


def wp_with(extra_body: str, wp: str = "WP-1", **kw: Any) -> str:
    """A work_package entry whose body is the default body plus `extra_body` lines."""
    body = textwrap.dedent(WP_BODY).strip() + "\n" + textwrap.dedent(extra_body).strip()
    return work_package(wp, body=body, **kw)


def drop_companion(env: Env) -> None:
    """A valid entry in the same batch, created after everything else in it."""
    env.drop(COMPANION, work_package(COMPANION_WP, created=t(50)))


def assert_rejected(
    env: Env, name: str, code: str, entry_id: str | None, *, rejections: int = 1
) -> dict[str, Any]:
    """Check every observable effect of rejecting queue file `name` with `code`."""
    rejected = env.rejected_dir / name
    cur = env.ws.queue_dir("cur")
    assert os.path.lexists(rejected), f"{name} not in rejected/: {os.listdir(env.rejected_dir)}"
    assert not os.path.lexists(env.new / name), f"{name} still in new/"
    assert not os.path.lexists(cur / name), f"{name} left in cur/"
    assert not os.path.lexists(env.done / name), f"{name} also in done/"
    assert os.listdir(cur) == []

    reason_path = env.rejected_dir / f"{name}.reason.json"
    assert reason_path.is_file()
    reason = json.loads(reason_path.read_text(encoding="utf-8"))
    assert set(reason) == {"code", "message", "entry_id"}, reason
    assert reason["code"] == code, reason
    assert isinstance(reason["message"], str) and reason["message"].strip(), reason
    assert reason["entry_id"] == entry_id, reason

    events = [
        e
        for e in env.events()
        if e.type == "entry_rejected" and e.payload.get("original_file") == name
    ]
    assert len(events) == 1, events
    event = events[0]
    assert event.payload["code"] == code
    assert event.payload["message"] == reason["message"]
    assert event.entry_id == entry_id
    assert len([e for e in env.events() if e.type == "entry_rejected"]) == rejections

    listing = env.cli("rejected", "--json")
    assert listing.code == 0, listing.err
    rows = [r for r in listing.json() if r["file"] == name]
    assert rows == [
        {"file": name, "entry_id": entry_id, "code": code, "message": reason["message"]}
    ]

    if entry_id is not None and code != "replay_conflict":
        with env.store() as store:
            assert store.entry(entry_id) is None, f"rejected {entry_id} was recorded"
    return reason


def assert_companion_ingested(env: Env) -> None:
    assert (env.done / COMPANION).is_file()
    wp = env.wp(COMPANION_WP)
    assert wp is not None and wp["state"] == "booked"


def sweep_one_rejection(env: Env, name: str, code: str, entry_id: str | None) -> dict[str, Any]:
    """Add the companion, sweep, and check one rejection plus the companion's ingest."""
    drop_companion(env)
    summary = env.sweep()
    assert summary.sweep.rejected == 1, summary.sweep.log
    assert summary.sweep.ingested >= 1
    reason = assert_rejected(env, name, code, entry_id)
    assert_companion_ingested(env)
    return reason


@pytest.fixture
def two_workers(env: Env) -> Env:
    """The default workspace plus a second worker, agent:implementer-2 (claim capability)."""
    config = env.root / "cockpit.yaml"
    text = config.read_text(encoding="utf-8")
    line = "  agent:implementer-1: {roles: [worker], lanes: [implementation]}\n"
    assert line in text
    text = text.replace(
        line, line + "  agent:implementer-2: {roles: [worker], lanes: [implementation]}\n"
    )
    config.write_text(text, encoding="utf-8")
    env.reload()
    return env


def claim(
    claim_id: str, principal: str = "agent:implementer-1", minute: int = 10, **kw: Any
) -> str:
    return entry("claim", claim_id, "WP-1", principal, "done_state: done", created=t(minute), **kw)


# -- symlink ------------------------------------------------------------------------------


def test_symlink_to_a_valid_entry_is_rejected(env: Env, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    original = work_package("WP-SYM", created=t(0)).encode()
    outside.write_bytes(original)
    link = env.new / "link.yaml"
    link.symlink_to(outside)

    sweep_one_rejection(env, "link.yaml", "symlink", None)

    assert (env.rejected_dir / "link.yaml").is_symlink()  # the link itself was moved
    assert outside.read_bytes() == original  # the target is untouched
    assert env.wp("WP-SYM") is None


# -- too_large ----------------------------------------------------------------------------


def _padded(text: str, size: int) -> bytes:
    """Valid entry text padded with a YAML comment to exactly `size` bytes."""
    data = text.encode()
    pad = size - len(data) - 2
    assert pad > 0
    result = data + b"#" + b"x" * pad + b"\n"
    assert len(result) == size
    return result


def test_file_of_one_mib_plus_one_byte_is_too_large(env: Env) -> None:
    env.drop("big.yaml", _padded(work_package("WP-BIG", created=t(0)), MAX_ENTRY_BYTES + 1))
    reason = sweep_one_rejection(env, "big.yaml", "too_large", None)
    assert str(MAX_ENTRY_BYTES) in reason["message"]
    assert env.wp("WP-BIG") is None
    assert (env.rejected_dir / "big.yaml").stat().st_size == MAX_ENTRY_BYTES + 1


def test_file_of_exactly_one_mib_is_accepted(env: Env) -> None:
    assert MAX_ENTRY_BYTES == 1024 * 1024
    env.drop("edge.yaml", _padded(work_package("WP-EDGE", created=t(0)), MAX_ENTRY_BYTES))
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert env.wp("WP-EDGE") is not None
    assert (env.done / "edge.yaml").is_file()


# -- parse_error --------------------------------------------------------------------------

PARSE_ERRORS = {
    "unclosed.yaml": b"schema: cockpit.entry/v1\nkind: [claim\nid: CLM-1\n",
    "list.yaml": b"- schema: cockpit.entry/v1\n- kind: claim\n",
    "scalar.yaml": b"just a string\n",
    "latin1.yaml": work_package("WP-L1").replace("A task", "caf\xe9").encode("latin-1"),
    "dupkey.yaml": (work_package("WP-D") + "id: WP-D\n").encode(),
    "nofront.md": b"# A heading\n\nNo front matter at all.\n",
    "unterminated.md": b"---\nschema: cockpit.entry/v1\nkind: work_package\n\nbody text\n",
    "badfront.md": b"---\nschema: [cockpit.entry/v1\n---\nbody text\n",
}


@pytest.mark.parametrize("name", sorted(PARSE_ERRORS))
def test_unparsable_file_is_parse_error(env: Env, name: str) -> None:
    env.drop(name, PARSE_ERRORS[name])
    sweep_one_rejection(env, name, "parse_error", None)
    assert (env.rejected_dir / name).read_bytes() == PARSE_ERRORS[name]


# -- unsafe_yaml --------------------------------------------------------------------------


def test_yaml_anchor_and_alias_are_unsafe(env: Env) -> None:
    text = work_package("WP-A", created=t(0)).replace(
        "objective: do the thing", "objective: &goal do the thing\n  success_criteria: [*goal]"
    )
    assert "&goal" in text and "*goal" in text
    env.drop("anchors.yaml", text)
    sweep_one_rejection(env, "anchors.yaml", "unsafe_yaml", None)
    assert env.wp("WP-A") is None


def test_yaml_merge_key_with_alias_is_unsafe(env: Env) -> None:
    text = "defaults: &d {tier: standard}\n" + work_package("WP-M", created=t(0)).replace(
        "tier: standard", "<<: *d"
    )
    env.drop("merge.yaml", text)
    sweep_one_rejection(env, "merge.yaml", "unsafe_yaml", None)


def test_python_object_tag_is_unsafe_and_never_executed(env: Env, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = work_package("WP-P", created=t(0)) + (
        f'extra: !!python/object/apply:os.system ["touch {marker}"]\n'
    )
    env.drop("apply.yaml", text)
    sweep_one_rejection(env, "apply.yaml", "unsafe_yaml", None)
    assert not marker.exists()
    assert env.wp("WP-P") is None


def test_python_object_tag_on_a_field_is_unsafe(env: Env) -> None:
    text = work_package("WP-O", created=t(0)).replace(
        "title: A task", "title: !!python/object:builtins.object {}"
    )
    assert "!!python/object:" in text
    env.drop("object.yaml", text)
    sweep_one_rejection(env, "object.yaml", "unsafe_yaml", None)


# -- unknown_kind -------------------------------------------------------------------------


def test_unknown_kind(env: Env) -> None:
    env.drop("wish.yaml", entry("wish", "WSH-1", "WP-1", "human:owner", "title: x"))
    reason = sweep_one_rejection(env, "wish.yaml", "unknown_kind", "WSH-1")
    assert "wish" in reason["message"]


def test_missing_kind_is_unknown_kind(env: Env) -> None:
    text = work_package("WP-K", created=t(0)).replace("kind: work_package\n", "")
    assert "kind:" not in text
    env.drop("nokind.yaml", text)
    sweep_one_rejection(env, "nokind.yaml", "unknown_kind", "WP-K")


# -- bad_id -------------------------------------------------------------------------------

BAD_IDS = {
    "bel": '"WP\\x07X"',  # YAML escape: the value holds a BEL control character
    "newline": '"WP\\nX"',
    "tab": '"WP\tX"',  # a literal tab inside the quotes
    "del": '"WP\\x7fX"',
    "too_long": "W" * 65,
    "leading_dash": "-WP",
    "space": '"WP X"',
}


@pytest.mark.parametrize("case", sorted(BAD_IDS))
def test_bad_id(env: Env, case: str) -> None:
    raw = BAD_IDS[case]
    text = work_package("WP-X", created=t(0)).replace("id: WP-X", f"id: {raw}")
    text = text.replace("work_package: WP-X", f"work_package: {raw}")
    assert f"id: {raw}" in text
    name = f"badid-{case}.yaml"
    env.drop(name, text)
    sweep_one_rejection(env, name, "bad_id", None)
    assert len(env.events()) == 2  # the rejection and the companion's task_created


def test_bad_work_package_id_reports_the_entry_id(env: Env) -> None:
    text = entry("dispatch", "DSP-1", '"WP\\x00"', "human:owner", "to: agent:implementer-1")
    env.drop("badwp.yaml", text)
    sweep_one_rejection(env, "badwp.yaml", "bad_id", "DSP-1")


def test_missing_id_is_bad_id(env: Env) -> None:
    text = entry("dispatch", "DSP-1", "WP-1", "human:owner", "to: agent:implementer-1")
    env.drop("noid.yaml", text.replace("id: DSP-1\n", ""))
    sweep_one_rejection(env, "noid.yaml", "bad_id", None)


def test_id_of_64_characters_is_accepted(env: Env) -> None:
    long_id = "W" * 64
    env.drop("long.yaml", work_package(long_id, created=t(0)))
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert env.wp(long_id) is not None


# -- schema_error -------------------------------------------------------------------------

SCHEMA_ERRORS = {
    "missing_title": work_package("WP-S").replace("  title: A task\n", ""),
    "unknown_body_field": wp_with("forbiden_surfaces: [secrets/**]", "WP-S"),
    "unknown_top_field": work_package("WP-S", extra="priority: high"),
    "naive_created": work_package("WP-S", created="2026-11-21T10:00:00"),
    "bad_tier": work_package("WP-S").replace("tier: standard", "tier: huge"),
    "wrong_schema": work_package("WP-S").replace("cockpit.entry/v1", "cockpit.entry/v2"),
    "wp_id_mismatch": work_package("WP-S").replace("work_package: WP-S", "work_package: WP-T"),
    "body_not_mapping": work_package("WP-S", body="[1, 2]").replace("body:\n  ", "body: "),
}


@pytest.mark.parametrize("case", sorted(SCHEMA_ERRORS))
def test_schema_error(env: Env, case: str) -> None:
    name = f"schema-{case}.yaml"
    env.drop(name, SCHEMA_ERRORS[case])
    sweep_one_rejection(env, name, "schema_error", "WP-S")
    assert env.wp("WP-S") is None


# -- replay_conflict ----------------------------------------------------------------------


def test_same_id_different_bytes_is_replay_conflict(env: Env) -> None:
    first = work_package("WP-1", created=t(0))
    env.drop("wp.yaml", first)
    assert env.sweep().sweep.ingested == 1

    second = first.replace("title: A task", "title: A different task")
    env.drop("wp-again.yaml", second)
    sweep_one_rejection(env, "wp-again.yaml", "replay_conflict", "WP-1")

    wp = env.wp("WP-1")
    assert wp is not None and wp["title"] == "A task"
    with env.store() as store:
        stored = store.entry("WP-1")
    assert stored is not None
    assert stored["sha256"] == hashlib.sha256(first.encode()).hexdigest()
    assert len([e for e in env.events() if e.type == "task_created"]) == 2  # WP-1 and WP-OK


# -- tenant_mismatch ----------------------------------------------------------------------


def test_foreign_tenant_is_tenant_mismatch(env: Env) -> None:
    env.drop("foreign.yaml", work_package("WP-F", created=t(0), extra="tenant: other"))
    reason = sweep_one_rejection(env, "foreign.yaml", "tenant_mismatch", "WP-F")
    assert "other" in reason["message"]


def test_matching_tenant_is_accepted(env: Env) -> None:
    env.drop("home.yaml", work_package("WP-H", created=t(0), extra="tenant: demo"))
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert env.wp("WP-H") is not None


# -- unknown_principal --------------------------------------------------------------------


def test_undeclared_principal_is_unknown_principal(env: Env) -> None:
    env.drop("ghost.yaml", work_package("WP-G", principal="human:ghost", created=t(0)))
    reason = sweep_one_rejection(env, "ghost.yaml", "unknown_principal", "WP-G")
    assert "human:ghost" in reason["message"]


def test_dispatch_to_undeclared_principal_is_unknown_principal(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.drop("dsp.yaml", dispatch(to="agent:ghost"))
    sweep_one_rejection(env, "dsp.yaml", "unknown_principal", "DSP-WP-1-1")
    assert env.wp("WP-1")["state"] == "booked"  # type: ignore[index]


# -- capability_denied --------------------------------------------------------------------


def test_worker_booking_a_work_package_is_capability_denied(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-W", principal="agent:implementer-1", created=t(0)))
    sweep_one_rejection(env, "wp.yaml", "capability_denied", "WP-W")
    assert env.wp("WP-W") is None


def test_reviewer_dispatching_is_capability_denied(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    text = entry(
        "dispatch", "DSP-R", "WP-1", "human:reviewer", "to: agent:implementer-1", created=t(1)
    )
    env.drop("dsp.yaml", text)
    sweep_one_rejection(env, "dsp.yaml", "capability_denied", "DSP-R")
    assert env.wp("WP-1")["state"] == "booked"  # type: ignore[index]


# -- unknown_work_package -----------------------------------------------------------------


def test_entry_for_unbooked_work_package(env: Env) -> None:
    env.drop("dsp.yaml", dispatch("WP-9"))
    reason = sweep_one_rejection(env, "dsp.yaml", "unknown_work_package", "DSP-WP-9-1")
    assert "WP-9" in reason["message"]
    assert env.wp("WP-9") is None


# -- path_escape --------------------------------------------------------------------------

ESCAPING_WPS = {
    "owned_dotdot": "owned_surfaces: [src/**, ../outside/**]",
    "owned_absolute": "owned_surfaces: [/etc/passwd]",
    "owned_nested_dotdot": "owned_surfaces: ['src/../../x']",
    "forbidden_absolute": "forbidden_surfaces: [/home/**]",
}


@pytest.mark.parametrize("case", sorted(ESCAPING_WPS))
def test_surface_glob_escaping_the_worktree(env: Env, case: str) -> None:
    name = f"escape-{case}.yaml"
    env.drop(name, wp_with(ESCAPING_WPS[case], "WP-E", created=t(0)))
    sweep_one_rejection(env, name, "path_escape", "WP-E")
    assert env.wp("WP-E") is None


def test_surface_globs_inside_the_worktree_are_accepted(env: Env) -> None:
    extra = "owned_surfaces: [src/**, 'docs/*.md']\nforbidden_surfaces: [secrets/**]"
    env.drop("ok.yaml", wp_with(extra, "WP-E", created=t(0)))
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert env.wp("WP-E") is not None


@pytest.mark.parametrize("ref", ["../../etc/passwd", "/etc/shadow", "logs/../../../x"])
def test_evidence_ref_escaping_the_worktree(env: Env, ref: str) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    body = f"""
        items:
          - class: local_command_proof
            ref: {ref}
    """
    env.drop(
        "evd.yaml", entry("evidence", "EVD-1", "WP-1", "agent:implementer-1", body, created=t(5))
    )
    sweep_one_rejection(env, "evd.yaml", "path_escape", "EVD-1")


# -- bad_ref ------------------------------------------------------------------------------


def _evidence(evd_id: str = "EVD-1", minute: int = 5) -> str:
    body = """
        items:
          - class: local_command_proof
            ref: logs/test.log
            command: pytest -q
            exit_code: 0
    """
    return entry("evidence", evd_id, "WP-1", "agent:implementer-1", body, created=t(minute))


def test_ref_to_unknown_entry_is_bad_ref(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.drop(
        "evd.yaml",
        entry(
            "evidence",
            "EVD-1",
            "WP-1",
            "agent:implementer-1",
            "missing: [not_proven]",
            created=t(5),
            refs="[EVD-NOPE]",
        ),
    )
    reason = sweep_one_rejection(env, "evd.yaml", "bad_ref", "EVD-1")
    assert "EVD-NOPE" in reason["message"]


def test_pinned_ref_with_wrong_hash_is_bad_ref(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.drop("evd1.yaml", _evidence("EVD-1", 5))
    pin = "0" * 64
    env.drop(
        "evd2.yaml",
        entry(
            "evidence",
            "EVD-2",
            "WP-1",
            "agent:implementer-1",
            "missing: [x]",
            created=t(6),
            refs=f"[EVD-1@sha256:{pin}]",
        ),
    )
    sweep_one_rejection(env, "evd2.yaml", "bad_ref", "EVD-2")
    with env.store() as store:
        assert store.entry("EVD-1") is not None


def test_pinned_ref_with_the_right_hash_is_accepted(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    evidence = _evidence("EVD-1", 5)
    env.drop("evd1.yaml", evidence)
    pin = hashlib.sha256(evidence.encode()).hexdigest()  # what `sha256sum` prints
    env.drop(
        "evd2.yaml",
        entry(
            "evidence",
            "EVD-2",
            "WP-1",
            "agent:implementer-1",
            "missing: [x]",
            created=t(6),
            refs=f"[EVD-1@sha256:{pin}]",
        ),
    )
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    with env.store() as store:
        assert store.entry("EVD-2") is not None


def test_claim_evidence_pinned_to_wrong_hash_is_bad_ref(booked_to_in_progress: Env) -> None:
    env = booked_to_in_progress
    evidence = _evidence("EVD-1", 5)
    env.drop("evd.yaml", evidence)
    wrong = hashlib.sha256(evidence.encode() + b"x").hexdigest()
    text = entry(
        "claim",
        "CLM-1",
        "WP-1",
        "agent:implementer-1",
        f"done_state: done\nevidence: ['EVD-1@sha256:{wrong}']",
        created=t(10),
    )
    env.drop("clm.yaml", text)
    sweep_one_rejection(env, "clm.yaml", "bad_ref", "CLM-1")
    assert env.wp("WP-1")["state"] == "in_progress"  # type: ignore[index]


def test_malformed_ref_is_bad_ref(env: Env) -> None:
    env.drop("wp.yaml", work_package("WP-1", created=t(0)))
    env.drop("evd1.yaml", _evidence("EVD-1", 5))
    env.drop(
        "evd2.yaml",
        entry(
            "evidence",
            "EVD-2",
            "WP-1",
            "agent:implementer-1",
            "missing: [x]",
            created=t(6),
            refs="['EVD-1@md5:abc']",
        ),
    )
    sweep_one_rejection(env, "evd2.yaml", "bad_ref", "EVD-2")


# -- not_assignee -------------------------------------------------------------------------


def test_claim_from_a_worker_who_is_not_the_assignee(two_workers: Env) -> None:
    env = two_workers
    book_to_in_progress(env)
    env.drop("clm.yaml", claim("CLM-2", "agent:implementer-2"))
    reason = sweep_one_rejection(env, "clm.yaml", "not_assignee", "CLM-2")
    assert "agent:implementer-2" in reason["message"]
    wp = env.wp("WP-1")
    assert wp is not None and wp["state"] == "in_progress"
    assert wp["assignee"] == "agent:implementer-1"


def test_scope_confirmation_from_a_worker_who_is_not_the_assignee(two_workers: Env) -> None:
    env = two_workers
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop("b.yaml", dispatch("WP-1", 1))
    env.drop(
        "c.yaml",
        entry(
            "scope_confirmation",
            "SCP-2",
            "WP-1",
            "agent:implementer-2",
            "confirmed: true",
            created=t(2),
        ),
    )
    sweep_one_rejection(env, "c.yaml", "not_assignee", "SCP-2")
    assert env.wp("WP-1")["state"] == "dispatched"  # type: ignore[index]


def test_claim_on_an_undispatched_work_package_is_not_assignee(env: Env) -> None:
    # A booked WP is dispatched to nobody, so no claim can come "from the principal the WP
    # is dispatched to"; not_assignee precedes illegal_transition in SPEC 3.1's order.
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop("clm.yaml", claim("CLM-1", minute=5))
    sweep_one_rejection(env, "clm.yaml", "not_assignee", "CLM-1")
    assert env.wp("WP-1")["state"] == "booked"  # type: ignore[index]


# -- illegal_transition -------------------------------------------------------------------


def test_claim_on_a_dispatched_work_package_is_illegal_transition(env: Env) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop("b.yaml", dispatch("WP-1", 1))
    env.drop("clm.yaml", claim("CLM-1", minute=5))
    reason = sweep_one_rejection(env, "clm.yaml", "illegal_transition", "CLM-1")
    assert "dispatched" in reason["message"]
    assert env.wp("WP-1")["state"] == "dispatched"  # type: ignore[index]


def test_second_claim_while_claimed_is_illegal_transition(booked_to_in_progress: Env) -> None:
    env = booked_to_in_progress
    env.drop("c1.yaml", claim("CLM-1", minute=10))
    env.drop("c2.yaml", claim("CLM-2", minute=11))
    sweep_one_rejection(env, "c2.yaml", "illegal_transition", "CLM-2")
    with env.store() as store:
        assert store.entry("CLM-1") is not None
    assert (env.done / "c1.yaml").is_file()


def test_review_go_on_a_booked_work_package_is_illegal_transition(env: Env) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop(
        "rev.yaml", entry("review", "REV-1", "WP-1", "human:owner", "verdict: go", created=t(1))
    )
    sweep_one_rejection(env, "rev.yaml", "illegal_transition", "REV-1")
    assert env.wp("WP-1")["state"] == "booked"  # type: ignore[index]


def test_dispatching_a_dispatched_work_package_is_illegal_transition(env: Env) -> None:
    env.drop("a.yaml", work_package("WP-1", created=t(0)))
    env.drop("b.yaml", dispatch("WP-1", 1))
    env.drop("b2.yaml", dispatch("WP-1", 2))
    sweep_one_rejection(env, "b2.yaml", "illegal_transition", "DSP-WP-1-2")


# -- Markdown entries ---------------------------------------------------------------------

MD_VALID = """\
---
schema: cockpit.entry/v1
kind: work_package
id: WP-MD
work_package: WP-MD
principal: human:owner
created: 2026-11-21T10:00:00Z
body:
  title: From Markdown
  objective: book a WP from a Markdown file
  owner: agent:implementer-1
  accountable: human:owner
  tier: light
  lane: implementation
---
# Context

The body of the file is the *description*.
"""


def test_markdown_entry_is_ingested_with_body_as_description(env: Env) -> None:
    env.drop("wp.md", MD_VALID)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert (env.done / "wp.md").is_file()
    wp = env.wp("WP-MD")
    assert wp is not None and wp["title"] == "From Markdown"
    description = wp["body"]["description"]
    assert description.startswith("# Context")
    assert "The body of the file is the *description*." in description


def test_markdown_entry_hash_is_of_the_whole_file(env: Env) -> None:
    env.drop("wp.md", MD_VALID)
    env.sweep()
    with env.store() as store:
        stored = store.entry("WP-MD")
    assert stored is not None
    assert stored["sha256"] == hashlib.sha256(MD_VALID.encode()).hexdigest()


def test_markdown_front_matter_with_schema_error(env: Env) -> None:
    env.drop("wp.md", MD_VALID.replace("  title: From Markdown\n", ""))
    sweep_one_rejection(env, "wp.md", "schema_error", "WP-MD")


def test_markdown_description_given_twice_is_schema_error(env: Env) -> None:
    env.drop(
        "wp.md",
        MD_VALID.replace(
            "  lane: implementation\n", "  lane: implementation\n  description: twice\n"
        ),
    )
    sweep_one_rejection(env, "wp.md", "schema_error", "WP-MD")


def test_markdown_front_matter_with_unsafe_yaml(env: Env) -> None:
    env.drop("wp.md", MD_VALID.replace("title: From Markdown", "title: &t From Markdown"))
    sweep_one_rejection(env, "wp.md", "unsafe_yaml", None)


def test_markdown_front_matter_from_unknown_principal(env: Env) -> None:
    env.drop("wp.md", MD_VALID.replace("principal: human:owner", "principal: human:nobody"))
    sweep_one_rejection(env, "wp.md", "unknown_principal", "WP-MD")


# -- the order of the checks --------------------------------------------------------------

ORDER_CASES: dict[str, tuple[list[str], str, str, str | None]] = {
    # case: (setup entries, the entry under test, expected code, expected entry_id)
    "too_large_before_unsafe_yaml": (
        [],
        "",  # built in the test: an anchor-laden file over the limit
        "too_large",
        None,
    ),
    "unsafe_yaml_before_unknown_kind": (
        [],
        entry("wish", "X-1", "WP-1", "human:owner", "title: &a x"),
        "unsafe_yaml",
        None,
    ),
    "unknown_kind_before_bad_id": (
        [],
        entry("wish", "X-1", "WP-1", "human:owner").replace("id: X-1", "id: '-bad'"),
        "unknown_kind",
        None,
    ),
    "bad_id_before_schema_error": (
        [],
        work_package("W" * 70).replace("  title: A task\n", ""),
        "bad_id",
        None,
    ),
    "schema_error_before_unknown_principal": (
        [],
        work_package("WP-X", principal="human:ghost").replace("tier: standard", "tier: x"),
        "schema_error",
        "WP-X",
    ),
    "replay_conflict_before_tenant_mismatch": (
        [work_package("WP-1", created=t(0))],
        work_package("WP-1", created=t(0), extra="tenant: other"),
        "replay_conflict",
        "WP-1",
    ),
    "tenant_mismatch_before_unknown_principal": (
        [],
        work_package("WP-X", principal="human:ghost", extra="tenant: other"),
        "tenant_mismatch",
        "WP-X",
    ),
    "tenant_mismatch_before_capability_denied": (
        [],
        work_package("WP-X", principal="agent:implementer-1", extra="tenant: other"),
        "tenant_mismatch",
        "WP-X",
    ),
    "unknown_principal_before_path_escape": (
        [],
        wp_with("owned_surfaces: [../../etc/**]", "WP-X", principal="human:ghost"),
        "unknown_principal",
        "WP-X",
    ),
    "capability_denied_before_unknown_work_package": (
        [],
        entry("dispatch", "DSP-X", "WP-9", "agent:implementer-1", "to: agent:implementer-1"),
        "capability_denied",
        "DSP-X",
    ),
    "unknown_work_package_before_path_escape": (
        [],
        entry(
            "evidence",
            "EVD-X",
            "WP-9",
            "agent:implementer-1",
            "items: [{class: source_trace, ref: /etc/passwd}]",
        ),
        "unknown_work_package",
        "EVD-X",
    ),
    "path_escape_before_bad_ref": (
        [work_package("WP-1", created=t(0))],
        entry(
            "evidence",
            "EVD-X",
            "WP-1",
            "agent:implementer-1",
            "items: [{class: source_trace, ref: ../x}]",
            created=t(5),
            refs="[NOPE-1]",
        ),
        "path_escape",
        "EVD-X",
    ),
    "bad_ref_before_illegal_transition": (
        [work_package("WP-1", created=t(0)), dispatch("WP-1", 1)],
        claim("CLM-X", minute=5, refs="[NOPE-1]"),
        "bad_ref",
        "CLM-X",
    ),
    "not_assignee_before_illegal_transition": (
        [work_package("WP-1", created=t(0)), dispatch("WP-1", 1)],
        claim("CLM-X", "agent:implementer-2", minute=5),
        "not_assignee",
        "CLM-X",
    ),
}


@pytest.mark.parametrize("case", sorted(ORDER_CASES))
def test_first_failing_check_in_spec_order_is_reported(two_workers: Env, case: str) -> None:
    env = two_workers
    setup, text, code, entry_id = ORDER_CASES[case]
    for i, setup_text in enumerate(setup):
        env.drop(f"setup-{i}.yaml", setup_text)
    if case == "too_large_before_unsafe_yaml":
        base = work_package("WP-X").replace("title: A task", "title: &t A task")
        data = _padded(base, MAX_ENTRY_BYTES + 1)
    else:
        data = text.encode()
    if case.startswith("replay_conflict"):
        assert env.sweep().sweep.ingested == 1
    env.drop("subject.yaml", data)
    reason = sweep_one_rejection(env, "subject.yaml", code, entry_id)
    assert reason["code"] == code


# -- the listing --------------------------------------------------------------------------


def test_cockpit_rejected_lists_every_rejection(env: Env, tmp_path: Path) -> None:
    (tmp_path / "target.yaml").write_text(work_package("WP-T"), encoding="utf-8")
    (env.new / "link.yaml").symlink_to(tmp_path / "target.yaml")
    batch = {
        "big.yaml": (_padded(work_package("WP-B"), MAX_ENTRY_BYTES + 1), "too_large", None),
        "broken.yaml": (b"kind: [\n", "parse_error", None),
        "anchor.yaml": (
            work_package("WP-A").replace("A task", "&x A task").encode(),
            "unsafe_yaml",
            None,
        ),
        "kind.yaml": (
            entry("wish", "WSH-1", "WP-1", "human:owner").encode(),
            "unknown_kind",
            "WSH-1",
        ),
        "id.yaml": (work_package("W" * 65).encode(), "bad_id", None),
        "schema.yaml": (work_package("WP-S", extra="extra: 1").encode(), "schema_error", "WP-S"),
        "tenant.yaml": (
            work_package("WP-T2", extra="tenant: x").encode(),
            "tenant_mismatch",
            "WP-T2",
        ),
        "ghost.yaml": (
            work_package("WP-G", principal="h:ghost").encode(),
            "unknown_principal",
            "WP-G",
        ),
        "cap.yaml": (
            work_package("WP-C", principal="agent:verifier").encode(),
            "capability_denied",
            "WP-C",
        ),
        "nowp.yaml": (dispatch("WP-404").encode(), "unknown_work_package", "DSP-WP-404-1"),
        "esc.yaml": (wp_with("owned_surfaces: [/x]", "WP-E").encode(), "path_escape", "WP-E"),
        "ref.yaml": (work_package("WP-R", refs="[NOPE]").encode(), "bad_ref", "WP-R"),
    }
    for name, (data, _, _) in batch.items():
        env.drop(name, data)
    drop_companion(env)
    summary = env.sweep()
    assert summary.sweep.rejected == len(batch) + 1, summary.sweep.log
    assert summary.sweep.ingested == 1
    assert_companion_ingested(env)

    result = env.cli("rejected", "--json")
    assert result.code == 0
    rows = result.json()
    assert all(set(row) == {"file", "entry_id", "code", "message"} for row in rows)
    by_file = {row["file"]: row for row in rows}
    assert len(by_file) == len(rows) == len(batch) + 1
    assert by_file["link.yaml"]["code"] == "symlink"
    for name, (_, code, entry_id) in batch.items():
        reason = json.loads((env.rejected_dir / f"{name}.reason.json").read_text())
        assert by_file[name] == {
            "file": name,
            "entry_id": entry_id,
            "code": code,
            "message": reason["message"],
        }
        assert reason["code"] == code
    assert sorted(os.listdir(env.new)) == []


def test_rejected_name_collision_keeps_both_files_and_reasons(env: Env) -> None:
    env.drop("same.yaml", b"kind: [\n")
    env.sweep()
    env.drop("same.yaml", b"kind: {\n")
    env.sweep()
    names = sorted(os.listdir(env.rejected_dir))
    assert len([n for n in names if not n.endswith(".reason.json")]) == 2
    assert len([n for n in names if n.endswith(".reason.json")]) == 2
    for name in names:
        if not name.endswith(".reason.json"):
            assert f"{name}.reason.json" in names
    listed = {row["file"] for row in env.cli("rejected", "--json").json()}
    assert listed == {n for n in names if not n.endswith(".reason.json")}
