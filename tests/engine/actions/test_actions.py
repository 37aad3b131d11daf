"""Human actions, runner modes and lineage (SPEC 4, 5, 8, 9) on real workspaces.

Starts with the paper's synthetic trace (task_created → claim_packet_created →
verify_completed: blocked → recovery_packet_created → verify_completed: success), then the
modes that withhold admission, and every action verb of the CLI: who may do it, from which
state, what it records, and how a refusal looks.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers.gate import (
    GOOD_EVIDENCE,
    OWNER,
    Flow,
    admitted,
    set_runner,
    status_row,
    stopped_on,
    verdicts,
)
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


PAPER_TRACE_TYPES = {
    "task_created",
    "claim_packet_created",
    "verify_completed",
    "recovery_packet_created",
}


def lineage(env: Env, wp: str = "WP-1") -> dict[str, Any]:
    result = env.cli("lineage", wp, "--json")
    assert result.code == 0, result.err
    document: dict[str, Any] = result.json()
    return document


def edges(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(e["from"], e["to"], e["rel"]) for e in document["edges"]}


def node(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    found = [n for n in document["nodes"] if n["id"] == node_id]
    assert len(found) == 1, (node_id, [n["id"] for n in document["nodes"]])
    return found[0]


def verify_node_id(event: Any) -> str:
    return f"verify_completed@{event.seq}"


def act(env: Env, *args: str) -> dict[str, Any]:
    """Run an action verb with --json; it must succeed. Returns its event document."""
    result = env.cli(*args, "--json")
    assert result.code == 0, result.err
    document: dict[str, Any] = result.json()
    return document


def refused(env: Env, *args: str, code: int = 1) -> str:
    """Run a command that must be refused: exit `code`, one stderr line, no event; with
    --json a JSON document is printed all the same. Returns the stderr line."""
    before = len(env.events())
    result = env.cli(*args)
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert len(env.events()) == before
    with_json = env.cli(*args, "--json")
    assert with_json.code == code
    document = json.loads(with_json.out)  # one JSON document on stdout, even when refused
    assert isinstance(document, dict)
    assert len(env.events()) == before
    return lines[0]


# -- the paper's synthetic trace --------------------------------------------------------------


@pytest.mark.parametrize("recovery_via", ["queue", "cli"])
def test_the_papers_synthetic_trace_end_to_end(env: Env, recovery_via: str) -> None:
    flow = Flow(env).ready()
    ground = flow.pins[0]["id"]
    evidence = flow.evidence_ids[0]
    first = flow.claim(unresolved_questions=["which retry limit is right, 3 or 5?"])
    stopped_on(env, "no_open_blockers", "open_blockers")
    blocked = verdicts(env)[-1]

    if recovery_via == "queue":
        recovery = flow.recovery(owner=OWNER, next_action="confirm the limit with the owner")
        event = next(e for e in env.events("WP-1") if e.entry_id == recovery)
        assert event.type == "recovery_packet_created"
    else:
        refused(env, "recover", "WP-1", "--owner", " ", "--next-action", "x", code=2)
        refused(env, "recover", "WP-1", "--owner", OWNER, "--next-action", "", code=2)
        refused(env, "recover", "WP-1", "--owner", OWNER, "--next-action", "x", "--as",
                "human:reviewer")  # fmt: skip
        document = act(
            env,
            "recover",
            "WP-1",
            "--owner",
            OWNER,
            "--next-action",
            "confirm the limit with the owner",
            "--as",
            "human:owner",
        )
        assert document["type"] == "recovery_packet_created"
        assert document["principal"] == "human:owner"
        assert document["payload"]["recovery_owner"] == OWNER
        assert document["payload"]["next_action"] == "confirm the limit with the owner"
        recovery = f"recovery_packet_created@{document['seq']}"
    assert flow.state() == "recovering"

    second = flow.claim()
    admitted(env)
    success = verdicts(env)[-1]

    trace = [
        (e.type, e.payload.get("outcome"))
        for e in env.events("WP-1")
        if e.type in PAPER_TRACE_TYPES
    ]
    assert trace == [
        ("task_created", None),
        ("claim_packet_created", None),
        ("verify_completed", "blocked"),
        ("recovery_packet_created", None),
        ("claim_packet_created", None),
        ("verify_completed", "success"),
    ]

    doc = lineage(env)
    for node_id, kind in [
        ("WP-1", "work_package"),
        (ground, "common_ground"),
        (evidence, "evidence"),
        (first, "claim"),
        (second, "claim"),
    ]:
        assert node(doc, node_id)["kind"] == kind
    assert node(doc, verify_node_id(blocked))["outcome"] == "blocked"
    assert node(doc, verify_node_id(blocked))["blocking_predicate"] == "no_open_blockers"
    assert node(doc, verify_node_id(success))["outcome"] == "success"
    node(doc, recovery)
    # verify_started is folded into its verify_completed
    assert not [n for n in doc["nodes"] if n["kind"] == "verify_started"]

    assert {
        (first, evidence, "evidence"),
        (first, ground, "common_ground"),
        (verify_node_id(blocked), first, "verifies"),
        (recovery, verify_node_id(blocked), "recovers"),
        (second, recovery, "answers"),
        (second, evidence, "evidence"),
        (second, ground, "common_ground"),
        (verify_node_id(success), second, "verifies"),
    } <= edges(doc)
    # the first claim answers nothing; the success verify verifies only the second claim
    assert not [e for e in edges(doc) if e[0] == first and e[2] == "answers"]
    assert (verify_node_id(success), first, "verifies") not in edges(doc)
    # every edge joins two nodes of the lineage
    ids = {n["id"] for n in doc["nodes"]}
    assert all(a in ids and b in ids for a, b, _ in edges(doc)), (ids, edges(doc))

    # the plain-text lineage shows the same story
    text = env.cli("lineage", "WP-1")
    assert text.code == 0
    assert first in text.out and second in text.out and "recovers" in text.out


# -- runner modes ------------------------------------------------------------------------------


def test_shadow_never_admits_and_a_later_live_run_verifies_for_real(env: Env) -> None:
    flow = Flow(env).ready()
    claim_id = flow.new_id("CLM")
    flow.drop(
        "claim",
        claim_id,
        OWNER,
        {
            "done_state": "done",
            "common_ground": flow.pins[-1],
            "evidence": flow.evidence_ids,
            "owner": OWNER,
            "accountable": "human:owner",
        },
        sweep=False,
    )
    result = env.cli("run", "--once", "--mode", "shadow", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["mode"] == "shadow"
    assert summary["ingested"] == 1
    assert summary["admitted"] == 0
    [shadow] = verdicts(env)
    assert shadow.payload["outcome"] == "skipped"
    assert shadow.payload["acceptance_status"] == "withheld"
    assert shadow.payload["mode"] == "shadow"
    assert shadow.payload["transition"] == {"from": "verifying", "to": "claimed"}
    # the predicates are still evaluated (that is what shadow is for): all of them pass
    statuses = {r["status"] for r in shadow.payload["predicates"].values()}
    assert statuses <= {"satisfied", "not_applicable"}
    assert flow.state() == "claimed"
    assert status_row(env)["last_verify"]["outcome"] == "skipped"

    # A second shadow run does not verify the same claim again.
    assert env.cli("run", "--once", "--mode", "shadow").code == 0
    assert len(verdicts(env)) == 1

    # A live run verifies the claim the shadow run left `skipped`, for real.
    assert env.cli("run", "--once").code == 0
    live = verdicts(env)[-1]
    assert live.payload["mode"] == "live"
    assert live.payload["claim"]["id"] == claim_id
    admitted(env)
    assert len(verdicts(env)) == 2


def test_dry_run_records_nothing(env: Env) -> None:
    flow = Flow(env).ready()
    claim_id = flow.new_id("CLM")
    flow.drop(
        "claim",
        claim_id,
        OWNER,
        {
            "done_state": "done",
            "common_ground": flow.pins[-1],
            "evidence": flow.evidence_ids,
            "owner": OWNER,
            "accountable": "human:owner",
        },
        sweep=False,
    )
    db = env.ws.db_path
    before = db.read_bytes()
    events_before = len(env.events())
    queued = sorted(p.name for p in env.new.iterdir())

    result = env.cli("run", "--once", "--mode", "dry-run", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["mode"] == "dry-run"
    assert summary["verified"] == 0
    assert [(p["file"], p["outcome"]) for p in summary["plan"]] == [
        (f"{claim_id}.yaml", "ingested")
    ]
    assert db.read_bytes() == before
    assert len(env.events()) == events_before
    assert sorted(p.name for p in env.new.iterdir()) == queued
    assert flow.state() == "in_progress"

    # A claim left in `claimed` by shadow is not verified by a dry run either.
    assert env.cli("run", "--once", "--mode", "shadow").code == 0
    assert flow.state() == "claimed"
    before = db.read_bytes()
    assert env.cli("run", "--once", "--mode", "dry-run").code == 0
    assert db.read_bytes() == before
    assert [v.payload["outcome"] for v in verdicts(env)] == ["skipped"]


def test_a_batch_dropped_at_once_is_verified_before_the_review_after_it(env: Env) -> None:
    """The runner verifies a claim right after ingesting it, so a review `accepted` later
    in the same batch finds the WP accepted and completes it, all in one sweep."""
    flow = Flow(env).ready()
    claim_id = flow.new_id("CLM")
    fields = {
        "done_state": "done",
        "common_ground": flow.pins[-1],
        "evidence": flow.evidence_ids,
        "owner": OWNER,
        "accountable": "human:owner",
    }
    flow.drop("claim", claim_id, OWNER, fields, sweep=False)
    flow.drop("review", "REV-final", "human:reviewer", {"verdict": "accepted"}, sweep=False)
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    assert summary.sweep.ingested == 2
    assert flow.state() == "complete"
    types = [e.type for e in env.events("WP-1")]
    assert types[-6:] == [
        "claim_packet_created",
        "advisory_issued",
        "verify_started",
        "verify_completed",
        "review_recorded",
        "task_completed",
    ]


def test_verify_in_dry_run_mode_runs_no_command_and_records_nothing(env: Env) -> None:
    set_runner(env, "sandbox", "off")  # the command's write is how the test sees it ran
    set_runner(env, "mode", "shadow")
    flow = Flow(env).ready(validation_commands=["touch ran-in-dry-run.txt"])
    flow.claim()
    # the shadow run did run the command (and so the gate saw it write: an error)
    assert (env.root / "ran-in-dry-run.txt").exists()
    (env.root / "ran-in-dry-run.txt").unlink()
    set_runner(env, "mode", "dry-run")
    events = len(env.events())
    result = env.cli("verify", "WP-1", "--as", "agent:verifier", "--json")
    assert result.code == 1
    assert result.json()["outcome"] == "skipped"
    assert len(env.events()) == events
    assert not (env.root / "ran-in-dry-run.txt").exists()
    assert flow.state() == "claimed"


def test_canary_mode_admits_only_canary_labelled_work_packages(env: Env) -> None:
    set_runner(env, "mode", "canary")
    canary = Flow(env, "WP-C").ready(labels=["canary", "backend"])
    other = Flow(env, "WP-N").ready(labels=["backend"])
    canary.claim()
    other.claim()

    assert canary.state() == "accepted"
    c = verdicts(env, "WP-C")[-1].payload
    assert (c["outcome"], c["mode"]) == ("success", "canary")

    assert other.state() == "claimed"
    [n] = verdicts(env, "WP-N")
    assert (n.payload["outcome"], n.payload["mode"]) == ("skipped", "canary")
    assert status_row(env, "WP-N")["last_verify"]["acceptance_status"] == "withheld"

    # Verified once per mode: another canary sweep leaves the non-canary claim alone.
    env.sweep()
    assert len(verdicts(env, "WP-N")) == 1
    # and `cockpit verify` on demand runs in the configured (canary) mode: still withheld
    result = env.cli("verify", "WP-N", "--json")
    assert result.code == 1
    assert result.json()["outcome"] == "skipped"
    assert other.state() == "claimed"


# -- cockpit verify ----------------------------------------------------------------------------


def test_verify_from_a_state_other_than_claimed_names_the_state(env: Env) -> None:
    Flow(env).ready()
    line = refused(env, "verify", "WP-1")
    assert "in_progress" in line
    assert "claimed" in line


def test_verify_needs_the_verify_capability(env: Env) -> None:
    set_runner(env, "mode", "shadow")
    flow = Flow(env).ready()
    flow.claim()
    assert flow.state() == "claimed"
    line = refused(env, "verify", "WP-1", "--as", "human:reviewer")
    assert "verify" in line
    line = refused(env, "verify", "WP-1", "--as", "agent:implementer-1")
    assert "verify" in line
    refused(env, "verify", "WP-1", "--as", "nobody:at-all")
    # The owner holds `verify`: the gate runs, in the configured mode (shadow: skipped).
    result = env.cli("verify", "WP-1", "--as", "human:owner", "--json")
    assert result.code == 1
    assert result.json()["outcome"] == "skipped"
    assert verdicts(env)[-1].principal == "human:owner"
    assert verdicts(env)[-1].payload["verifier"] == "human:owner"


def test_verify_on_demand_admits_with_exit_0(env: Env) -> None:
    set_runner(env, "mode", "shadow")
    flow = Flow(env).ready()
    flow.claim()
    set_runner(env, "mode", "live")
    result = env.cli("verify", "WP-1", "--as", "agent:verifier", "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["outcome"] == "success"
    assert document["acceptance_status"] == "accepted"
    assert document["blocking_predicate"] is None
    assert set(document["predicates"]) >= {"claim_done", "validation_passed"}
    admitted(env)


# -- override ------------------------------------------------------------------------------------


def test_override_needs_a_reason(env: Env) -> None:
    Flow(env).ready()
    refused(env, "override", "WP-1", "--to", "accepted", code=2)
    refused(env, "override", "WP-1", "--to", "accepted", "--reason", "   ", code=2)
    refused(env, "override", "WP-1", "--to", "finished", "--reason", "no such state", code=2)
    assert env.wp("WP-1")["state"] == "in_progress"  # type: ignore[index]


def test_override_by_a_worker_is_refused_naming_the_capability(env: Env) -> None:
    Flow(env).ready()
    line = refused(
        env, "override", "WP-1", "--to", "accepted", "--reason", "trust me",
        "--as", "agent:implementer-1",
    )  # fmt: skip
    assert "override" in line
    assert "agent:implementer-1" in line
    assert status_row(env)["overridden"] is False


def test_an_owner_override_to_accepted_is_marked_and_counted_apart(env: Env) -> None:
    flow = Flow(env).ready()
    flow.claim(unresolved_questions=["open"])
    stopped_on(env, "no_open_blockers", "open_blockers")
    document = act(
        env, "override", "WP-1", "--to", "accepted", "--reason", "shipped by hand", "--as",
        "human:owner",
    )  # fmt: skip
    assert document["type"] == "override_applied"
    assert document["principal"] == "human:owner"
    assert document["payload"]["reason"] == "shipped by hand"
    assert document["payload"]["transition"] == {"from": "blocked", "to": "accepted"}
    row = status_row(env)
    assert row["state"] == "accepted"
    assert row["overridden"] is True
    assert [e.type for e in env.events("WP-1")][-1] == "override_applied"

    metrics = env.cli("metrics", "--json").json()
    assert metrics["overridden_admissions"] == 1
    assert metrics["known_outcome_success_share"] == {"num": 0, "den": 1}
    assert metrics["verify_rows"]["success"] == 0

    # The mark stays forever, through the review that completes the WP.
    act(env, "review", "WP-1", "--verdict", "accepted", "--as", "human:reviewer")
    row = status_row(env)
    assert (row["state"], row["overridden"]) == ("complete", True)
    metrics = env.cli("metrics", "--json").json()
    assert metrics["overridden_admissions"] == 1
    assert metrics["completed_with_verify"] == {"num": 0, "den": 1}
    assert metrics["known_outcome_success_share"] == {"num": 0, "den": 1}


# -- cancel --------------------------------------------------------------------------------------


def test_cancel_needs_a_reason_and_works_from_a_non_terminal_state(env: Env) -> None:
    flow = Flow(env).ready()
    refused(env, "cancel", "WP-1", code=2)
    refused(env, "cancel", "WP-1", "--reason", "", code=2)
    refused(env, "cancel", "WP-1", "--reason", "no", "--as", "human:reviewer")
    document = act(env, "cancel", "WP-1", "--reason", "superseded by WP-9")
    assert document["type"] == "task_cancelled"
    assert document["principal"] == "human:owner"  # the operator, by default
    assert document["payload"]["reason"] == "superseded by WP-9"
    assert document["payload"]["transition"] == {"from": "in_progress", "to": "cancelled"}
    assert flow.state() == "cancelled"
    refused(env, "cancel", "WP-1", "--reason", "again")


def test_cancel_is_refused_from_complete(env: Env) -> None:
    flow = Flow(env).ready()
    flow.claim()
    admitted(env)
    act(env, "review", "WP-1", "--verdict", "accepted", "--as", "human:reviewer")
    assert flow.state() == "complete"
    line = refused(env, "cancel", "WP-1", "--reason", "too late")
    assert "complete" in line
    assert flow.state() == "complete"


# -- veto ----------------------------------------------------------------------------------------


def test_veto_blocks_the_gate_and_lift_lifts_it(env: Env) -> None:
    flow = Flow(env).ready()
    refused(env, "veto", "WP-1", "--reason", "no", "--as", "agent:implementer-1")
    refused(env, "veto", "WP-1", "--reason", "nothing to lift", "--lift")
    document = act(
        env, "veto", "WP-1", "--reason", "legal review pending", "--as", "human:reviewer"
    )
    assert document["type"] == "veto_changed"
    assert document["principal"] == "human:reviewer"
    assert document["payload"]["active"] is True
    flow.claim()
    payload = stopped_on(env, "no_veto", "vetoed")
    assert "legal review pending" in payload["predicates"]["no_veto"]["detail"]

    document = act(env, "veto", "WP-1", "--reason", "legal cleared it", "--lift")
    assert document["payload"]["active"] is False
    assert document["principal"] == "human:owner"
    flow.recovery()
    flow.claim()
    payload = admitted(env)
    assert payload["predicates"]["no_veto"]["status"] == "satisfied"


# -- advisories ------------------------------------------------------------------------------------

FAILING_ITEM = {
    "class": "local_command_proof",
    "ref": "checks/slow.sh",
    "command": "sh checks/slow.sh",
    "exit_code": 1,
}


def test_a_serious_advisory_is_issued_before_the_gate_and_blocks_it(env: Env) -> None:
    flow = Flow(env).book()
    flow.ground()
    flow.evidence([*GOOD_EVIDENCE, FAILING_ITEM])
    claim_id = flow.claim()
    events = env.events("WP-1")
    [issued] = [e for e in events if e.type == "advisory_issued"]
    assert issued.payload["id"] == f"ADV-{claim_id}"
    assert issued.payload["claim"] == claim_id
    assert issued.payload["severity"] == "serious"
    assert issued.payload["prediction"] == "risky"
    assert any("exited 1" in r for r in issued.payload["reasons"])
    claim_seq = next(e.seq for e in events if e.entry_id == claim_id)
    first_verify = min(e.seq for e in events if e.type.startswith("verify_"))
    assert claim_seq < issued.seq < first_verify
    stopped_on(env, "advisories_treated", "advisory_untreated")
    # The lineage shows the advisory pointing at its claim.
    doc = lineage(env)
    assert (f"advisory_issued@{issued.seq}", claim_id, "advises") in edges(doc)


def test_a_serious_advisory_must_be_dismissed_before_success(env: Env) -> None:
    set_runner(env, "mode", "shadow")
    flow = Flow(env).book()
    flow.ground()
    flow.evidence([*GOOD_EVIDENCE, FAILING_ITEM])
    claim_id = flow.claim()
    advisory = f"ADV-{claim_id}"
    [shadow] = verdicts(env)
    assert shadow.payload["outcome"] == "skipped"
    assert shadow.payload["blocking_predicate"] == "advisories_treated"

    refused(env, "dismiss", "WP-1", advisory, "--reason", "x", "--as", "agent:implementer-1")
    refused(env, "dismiss", "WP-1", advisory, "--as", "human:reviewer", code=2)  # no reason
    refused(env, "dismiss", "WP-1", "ADV-nope", "--reason", "x", "--as", "human:reviewer", code=2)
    document = act(
        env, "dismiss", "WP-1", advisory, "--reason", "slow suite is flaky, tracked in WP-7",
        "--as", "human:reviewer",
    )  # fmt: skip
    assert document["type"] == "advisory_dismissed"
    assert document["principal"] == "human:reviewer"
    assert document["payload"]["advisory"] == advisory
    assert document["payload"]["reason"] == "slow suite is flaky, tracked in WP-7"
    refused(env, "dismiss", "WP-1", advisory, "--reason", "again", "--as", "human:reviewer")

    set_runner(env, "mode", "live")
    env.sweep()
    payload = admitted(env)
    assert payload["predicates"]["advisories_treated"]["status"] == "satisfied"


# -- reviews ---------------------------------------------------------------------------------------


def test_review_accepted_completes_an_accepted_work_package(env: Env) -> None:
    flow = Flow(env).ready()
    flow.claim()
    admitted(env)
    refused(env, "review", "WP-1", "--verdict", "accepted", "--as", "agent:implementer-1")
    document = act(
        env, "review", "WP-1", "--verdict", "accepted", "--finding", "looks right",
        "--as", "human:reviewer",
    )  # fmt: skip
    assert document["type"] == "review_recorded"
    tail = env.events("WP-1")[-2:]
    assert [e.type for e in tail] == ["review_recorded", "task_completed"]
    assert [e.principal for e in tail] == ["human:reviewer", "human:reviewer"]
    assert tail[0].payload["verdict"] == "accepted"
    assert tail[0].payload["findings"] == ["looks right"]
    assert tail[1].payload["transition"] == {"from": "accepted", "to": "complete"}
    assert flow.state() == "complete"
    metrics = env.cli("metrics", "--json").json()
    assert metrics["completed_with_verify"] == {"num": 1, "den": 1}


def test_review_rejected_on_accepted_fails_and_requests_rollback(env: Env) -> None:
    flow = Flow(env).ready()
    flow.claim()
    admitted(env)
    document = act(env, "review", "WP-1", "--verdict", "rejected", "--finding", "wrong fix")
    assert document["type"] == "review_recorded"
    assert document["principal"] == "human:owner"
    assert document["payload"]["rollback_requested"] is True
    assert document["payload"]["transition"] == {"from": "accepted", "to": "failed"}
    assert flow.state() == "failed"
    assert env.events("WP-1")[-1].type == "review_recorded"


# -- who acts, and how a refusal looks ----------------------------------------------------


def test_the_acting_principal_comes_from_as_then_the_environment_then_the_operator(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    Flow(env).ready()
    assert act(env, "veto", "WP-1", "--reason", "one")["principal"] == "human:owner"
    monkeypatch.setenv("COCKPIT_PRINCIPAL", "human:reviewer")
    assert act(env, "veto", "WP-1", "--reason", "two", "--lift")["principal"] == "human:reviewer"
    document = act(env, "veto", "WP-1", "--reason", "three", "--as", "human:owner")
    assert document["principal"] == "human:owner"
    monkeypatch.setenv("COCKPIT_PRINCIPAL", "agent:implementer-1")
    refused(env, "veto", "WP-1", "--reason", "four", "--lift")
    monkeypatch.setenv("COCKPIT_PRINCIPAL", "human:ghost")
    line = refused(env, "veto", "WP-1", "--reason", "five", "--lift")
    assert "human:ghost" in line
    changes = [e for e in env.events("WP-1") if e.type == "veto_changed"]
    assert [(e.principal, e.payload["reason"]) for e in changes] == [
        ("human:owner", "one"),
        ("human:reviewer", "two"),
        ("human:owner", "three"),
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["override", "WP-1", "--to", "accepted", "--reason", "x", "--as", "agent:implementer-1"],
        ["verify", "WP-1"],
        ["recover", "WP-1", "--owner", OWNER, "--next-action", "retry"],
        ["review", "WP-1", "--verdict", "accepted"],
        ["review", "WP-1", "--verdict", "go", "--as", "human:nobody"],
        ["veto", "WP-1", "--reason", "x", "--lift"],
        ["cancel", "WP-1", "--reason", "x", "--as", "human:reviewer"],
        ["dispatch", "WP-1", "--to", OWNER],
        ["dismiss", "WP-1", "ADV-x", "--reason", "x", "--as", "agent:implementer-1"],
        ["recover", "WP-1", "--owner", OWNER, "--next-action", "x", "--as", "agent:verifier"],
    ],
    ids=lambda a: "-".join([a[0], a[-1]]),
)
def test_refused_actions_append_nothing_and_exit_1(env: Env, args: list[str]) -> None:
    """From in_progress: wrong state or missing capability. Exit 1, one stderr line, no
    event, and with --json still one JSON document on stdout."""
    Flow(env).ready()
    line = refused(env, *args)
    assert line.strip()
    assert status_row(env)["state"] == "in_progress"
