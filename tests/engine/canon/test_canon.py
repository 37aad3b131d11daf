"""Candidates, the Canon Gate and commissioning (SPEC 6, 8), on real workspaces.

Every check test drives a real workspace (queue entries, the runner, the CLI) to the one
state that makes that check `unsatisfied`, with every other check satisfied where the
scenario allows, and reads the gate's verdict the way an operator does:
`cockpit commission CANDIDATE --json`.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import OWNER, Flow, created, yaml_body
from helpers.process import clean_env, cockpit_cmd
from helpers.workspace import Env, entry

from cockpit.engine.canon import candidates as canon

AUTHOR = OWNER  # agent:implementer-1, a worker: it may write candidates
REVIEWER = "human:reviewer"  # may commission
RECORD = "Retries: the client gives up after 3 attempts with exponential backoff."


def add_principal(env: Env, line: str) -> None:
    """Declare one more principal in cockpit.yaml (`name: {roles: [...]}`)."""
    path = env.root / "cockpit.yaml"
    text = path.read_text()
    anchor = "principals:\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + f"  {line}\n", 1))
    env.reload()


def accepted_wp(env: Env, wp: str = "WP-1") -> Flow:
    """A WP the gate admitted, with its evidence (the source a candidate needs)."""
    flow = Flow(env, wp)
    flow.ready()
    flow.claim()
    assert flow.state() == "accepted"
    return flow


def candidate(
    env: Env,
    cand_id: str,
    wp: str = "WP-1",
    *,
    record: str = RECORD,
    principal: str = AUTHOR,
    evidence: list[str] | None = None,
    policy_version: int = 1,
    expect_ingested: bool = True,
) -> None:
    """File a candidate entry through the queue and sweep."""
    fields: dict[str, Any] = {
        "record": record,
        "source": "what the work showed",
        "policy_version": policy_version,
        "evidence": evidence if evidence is not None else [f"EVD-{wp}-5"],
    }
    env.drop(
        f"{cand_id}.yaml",
        entry("candidate", cand_id, wp, principal, yaml_body(fields), created=created()),
    )
    summary = env.sweep()
    if expect_ingested:
        assert summary.sweep.ingested == 1, summary.sweep.log


def commission(env: Env, cand_id: str, by: str = REVIEWER) -> tuple[int, dict[str, Any]]:
    result = env.cli("commission", cand_id, "--as", by, "--json")
    return result.code, result.json()


def refused_on(env: Env, cand_id: str, check: str, by: str = REVIEWER) -> dict[str, Any]:
    """Commission and expect a refusal naming `check` as unsatisfied; the candidate is
    left as it was."""
    code, document = commission(env, cand_id, by)
    assert code == 1, document
    assert document["commissioned"] is False
    assert document["checks"][check]["status"] == "unsatisfied", document["checks"]
    assert check in document["failed"]
    with env.store() as store:
        row = store.candidate(cand_id)
        assert row is not None and row["state"] == "candidate"
        assert store.canon_record(cand_id) is None
    return document


def test_a_clean_candidate_is_commissioned_with_every_check_satisfied(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    code, document = commission(env, "CAND-1")
    assert code == 0, document
    assert document["commissioned"] is True and document["canon_id"] == "CAND-1"
    assert list(document["checks"]) == list(canon.CHECKS)
    assert {c["status"] for c in document["checks"].values()} == {"satisfied"}
    types = [e.type for e in env.events("WP-1")][-2:]
    assert types == ["canon_gate_evaluated", "candidate_commissioned"]


# -- one test per check ------------------------------------------------------------------------


def test_identity_a_principal_without_commission_cannot_commission(env: Env) -> None:
    """A worker who is not the author still cannot commission (identity)."""
    add_principal(env, "agent:implementer-2: {roles: [worker]}")
    accepted_wp(env)
    candidate(env, "CAND-1")
    document = refused_on(env, "CAND-1", "identity", by="agent:implementer-2")
    assert "lacks the commission capability" in document["checks"]["identity"]["detail"]
    assert document["checks"]["separation_of_duties"]["status"] == "satisfied"
    gate = [e for e in env.events("WP-1") if e.type == "canon_gate_evaluated"]
    assert len(gate) == 1 and gate[0].principal == "agent:implementer-2"  # on the record


def test_source_accepted_a_wp_still_in_progress(env: Env) -> None:
    flow = Flow(env).ready()
    assert flow.state() == "in_progress"
    candidate(env, "CAND-1")
    document = refused_on(env, "CAND-1", "source_accepted")
    assert "in_progress" in document["checks"]["source_accepted"]["detail"]


def test_evidence_none_cited(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1", evidence=[])
    document = refused_on(env, "CAND-1", "evidence")
    assert "no evidence" in document["checks"]["evidence"]["detail"]


def test_evidence_of_another_wp_or_not_evidence_at_all(env: Env) -> None:
    accepted_wp(env, "WP-1")
    Flow(env, "WP-2").ready()
    candidate(env, "CAND-1", evidence=["EVD-WP-2-5", "CLM-WP-1-6", "NOPE-1"])
    detail = refused_on(env, "CAND-1", "evidence")["checks"]["evidence"]["detail"]
    assert "EVD-WP-2-5 belongs to WP-2" in detail
    assert "CLM-WP-1-6 is a claim" in detail
    assert "NOPE-1 names no ingested entry" in detail


def test_redaction_a_secret_blocks_and_is_never_stored(env: Env) -> None:
    token = "ghp_" + "Zq7Rt2Lm9Xw4Kp8Vb3Nc6Hd1Fj5Gs0" + "Yu4Eab"
    accepted_wp(env)
    candidate(env, "CAND-1", record=f"Deploy with GITHUB_TOKEN={token} to refresh the cache.")
    code, document = commission(env, "CAND-1")
    assert code == 1 and document["checks"]["redaction"]["status"] == "unsatisfied"
    assert "github" in document["checks"]["redaction"]["detail"]
    assert token not in json.dumps(document)
    listed = env.cli("candidates", "--json")
    assert token not in listed.out and "[REDACTED:" in listed.out
    assert token not in env.cli("audit", "log", "--json").out
    for store_file in env.ws.db_path.parent.glob("cockpit.db*"):  # the WAL too
        assert token.encode() not in store_file.read_bytes()


def test_anti_replay_the_same_candidate_twice(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    assert commission(env, "CAND-1")[0] == 0
    code, document = commission(env, "CAND-1")
    assert code == 1 and document["checks"]["anti_replay"]["status"] == "unsatisfied"
    assert "already canon" in document["checks"]["anti_replay"]["detail"]
    with env.store() as store:
        assert store.canon_count() == 1


def test_anti_replay_the_same_record_in_another_candidate(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    assert commission(env, "CAND-1")[0] == 0
    candidate(env, "CAND-2")  # same words, new id
    document = refused_on(env, "CAND-2", "anti_replay")
    assert "CAND-1" in document["checks"]["anti_replay"]["detail"]


def test_tenant_the_workspace_changed_tenant(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    path = env.root / "cockpit.yaml"
    path.write_text(path.read_text().replace("tenant: demo", "tenant: other", 1))
    env.reload()
    document = refused_on(env, "CAND-1", "tenant")
    assert "'demo'" in document["checks"]["tenant"]["detail"]


def test_policy_version_written_under_another_policy(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1", policy_version=2)
    document = refused_on(env, "CAND-1", "policy_version")
    assert "version 2" in document["checks"]["policy_version"]["detail"]


def test_evaluator_a_near_duplicate_of_canon(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    assert commission(env, "CAND-1")[0] == 0
    candidate(env, "CAND-2", record=RECORD.replace("the client", "our client"))
    document = refused_on(env, "CAND-2", "evaluator")
    evaluator = document["evaluator"]
    assert evaluator["score_permille"] < 500
    assert evaluator["nearest"][0]["canon_id"] == "CAND-1"
    assert "near duplicate of CAND-1" in document["checks"]["evaluator"]["detail"]
    assert not evaluator["method"].lower().startswith("model")


def test_evaluator_a_contradiction_of_canon(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    assert commission(env, "CAND-1")[0] == 0
    candidate(env, "CAND-2", record=RECORD.replace("3 attempts", "5 attempts"))
    document = refused_on(env, "CAND-2", "evaluator")
    assert "contradiction of CAND-1" in document["checks"]["evaluator"]["detail"]


def test_evaluator_a_distinct_record_passes(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    assert commission(env, "CAND-1")[0] == 0
    candidate(env, "CAND-2", record="Pagination: the last page index is ceil(total / size) - 1.")
    code, document = commission(env, "CAND-2")
    assert code == 0, document["checks"]
    assert document["evaluator"]["score_permille"] >= 500


def test_separation_of_duties_the_author_cannot_commission(env: Env) -> None:
    add_principal(env, "human:lead: {roles: [owner, worker]}")
    accepted_wp(env)
    candidate(env, "CAND-1", principal="human:lead")
    document = refused_on(env, "CAND-1", "separation_of_duties", by="human:lead")
    assert document["checks"]["identity"]["status"] == "satisfied"
    # With separation of duties off in the policy, the check does not apply.
    path = env.root / "cockpit.yaml"
    text = path.read_text()
    assert "separation_of_duties: true" in text
    path.write_text(text.replace("separation_of_duties: true", "separation_of_duties: false"))
    env.reload()
    code, document = commission(env, "CAND-1", by="human:lead")
    assert code == 0, document["checks"]
    assert document["checks"]["separation_of_duties"]["status"] == "not_applicable"


# -- refusals, search, provenance, replay ---------------------------------------------------------


def test_a_refused_candidate_can_be_commissioned_once_fixed(env: Env) -> None:
    """A refusal leaves the candidate as it was: when the WP is accepted later, the same
    candidate is commissioned."""
    flow = Flow(env).ready()
    candidate(env, "CAND-1")
    refused_on(env, "CAND-1", "source_accepted")
    flow.claim()
    assert flow.state() == "accepted"
    assert commission(env, "CAND-1")[0] == 0


def test_an_unknown_candidate_or_principal(env: Env) -> None:
    accepted_wp(env)
    unknown = env.cli("commission", "CAND-404", "--as", REVIEWER)
    assert unknown.code == 2 and "CAND-404" in unknown.err
    nobody = env.cli("commission", "CAND-404", "--as", "human:nobody")
    assert nobody.code == 1


def test_canon_finds_a_record_by_a_word_and_prints_its_provenance(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    assert commission(env, "CAND-1")[0] == 0
    found = env.cli("canon", "backoff", "--json")
    assert found.code == 0
    [record] = found.json()
    assert record["id"] == "CAND-1" and record["record"] == RECORD
    provenance = record["provenance"]
    assert provenance["candidate"]["id"] == "CAND-1"
    assert provenance["candidate"]["author"] == AUTHOR
    assert provenance["work_package"]["id"] == "WP-1"
    assert provenance["claim"]["id"] == "CLM-WP-1-6"
    assert [e["id"] for e in provenance["evidence"]] == ["EVD-WP-1-5"]
    assert provenance["verify"]["outcome"] == "success"
    assert provenance["commissioned_by"] == REVIEWER
    text = env.cli("canon", "backoff")
    assert "CAND-1" in text.out and "commissioned by human:reviewer" in text.out
    assert "claim CLM-WP-1-6" in text.out and "verify success" in text.out
    assert env.cli("canon", "nothinglikethis", "--json").json() == []
    # FTS syntax typed by a user is searched for, not interpreted.
    assert env.cli("canon", 'backoff" OR "x', "--json").code == 0
    assert env.cli("canon", "NEAR(", "--json").json() == []


def test_replay_rebuilds_candidates_and_canon(env: Env) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    candidate(env, "CAND-2", record="Pagination: the last page index is ceil(n / size) - 1.")
    assert commission(env, "CAND-1")[0] == 0
    result = env.cli("replay", "--json").json()
    assert result["match"] is True


def test_an_older_store_gets_its_candidates_on_upgrade(env: Env) -> None:
    """A store from before candidates were projected is rebuilt from its events when
    this version opens it."""
    accepted_wp(env)
    candidate(env, "CAND-1")
    with sqlite3.connect(env.ws.db_path) as conn:
        conn.execute("DELETE FROM candidates")
        conn.execute("PRAGMA user_version = 2")
    listed = env.cli("candidates", "--json").json()
    assert [c["id"] for c in listed] == ["CAND-1"]
    assert commission(env, "CAND-1")[0] == 0


@pytest.mark.parametrize("kind", ["work_package", "claim"])
def test_lineage_shows_the_candidate_and_its_commissioning(env: Env, kind: str) -> None:
    accepted_wp(env)
    candidate(env, "CAND-1")
    assert commission(env, "CAND-1")[0] == 0
    lineage = env.cli("lineage", "WP-1", "--json").json()
    rels = {(e["from"], e["to"], e["rel"]) for e in lineage["edges"]}
    assert ("CAND-1", "EVD-WP-1-5", "evidence") in rels
    assert any(rel == "commissions" and to == "CAND-1" for _, to, rel in rels)
    assert any(n["id"] == "CAND-1" for n in lineage["nodes"])
    assert kind in {n.get("kind") for n in lineage["nodes"]}


def test_secrets_in_a_markdown_candidate_are_redacted_in_raw_text_too(
    env: Env, tmp_path: Path
) -> None:
    key = "AKIA" + "Q7RZ2M4X9T1W6V3P"
    accepted_wp(env)
    env.drop(
        "cand.md",
        f"---\nschema: cockpit.entry/v1\nkind: candidate\nid: CAND-9\nwork_package: WP-1\n"
        f"principal: {AUTHOR}\ncreated: {created()}\nbody:\n  record: 'key {key} for staging'\n"
        f"  policy_version: 1\n  evidence: [EVD-WP-1-5]\n---\nAlso in the body: {key}\n",
    )
    assert env.sweep().sweep.ingested == 1
    [event] = [e for e in env.events("WP-1") if e.entry_id == "CAND-9"]
    assert key not in json.dumps(event.payload)
    assert event.payload["redaction"]["kinds"] == ["aws_access_key_id"]
    assert key not in env.cli("lineage", "WP-1", "--json").out


def test_no_secret_of_the_corpus_reaches_an_event_a_log_or_json_output(env: Env) -> None:
    """Every secret shape of the redaction corpus, filed as a candidate record through
    the queue and taken through the runner, the Canon Gate and every JSON command: it
    blocks commissioning, and it appears in no event, no runner log line, no JSON output
    and not in the store's files."""
    from engine.canon.test_redaction import SECRETS

    accepted_wp(env)
    for number, (_name, _kind, _secret, text) in enumerate(SECRETS, start=1):
        candidate(env, f"CAND-S{number}", record=text, expect_ingested=False)
    outputs: list[str] = []
    run = subprocess.run(
        cockpit_cmd("run", "--once", "--json", "--workspace", str(env.root)),
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    outputs += [run.stdout, run.stderr]
    for number in range(1, len(SECRETS) + 1):
        code, document = commission(env, f"CAND-S{number}")
        assert code == 1, (SECRETS[number - 1][0], document["checks"]["redaction"])
        assert document["checks"]["redaction"]["status"] == "unsatisfied"
        outputs.append(json.dumps(document))
    for args in (
        ("audit", "log", "--json"),
        ("candidates", "--json"),
        ("canon", "--json"),
        ("lineage", "WP-1", "--json"),
        ("status", "WP-1", "--json"),
        ("rejected", "--json"),
        ("metrics", "--json"),
    ):
        result = env.cli(*args)
        assert result.code == 0, (args, result.err)
        outputs += [result.out, result.err]
    blobs = [p.read_bytes() for p in env.ws.db_path.parent.glob("cockpit.db*")]
    with env.store() as store:
        assert len(store.candidates()) == len(SECRETS)
    for name, _kind, secret, _text in SECRETS:
        assert not any(secret in out for out in outputs), name
        assert not any(secret.encode() in blob for blob in blobs), name
