"""The Canon Gate and commissioning (SPEC 6, 8).

A candidate (from a `candidate` entry) becomes canon only through `commission` by a
principal holding `commission`, and only when every check holds. The checks are pure
functions of the facts `gather` collects; each says `satisfied`, `unsatisfied`,
`not_applicable` or `error` with a detail, in SPEC 6's order. A refused commission names
every failed check and leaves the candidate as it was. Both outcomes are recorded:
`canon_gate_evaluated`, and when it admits, `candidate_commissioned` in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cockpit.domain import Capability, EventType, State
from cockpit.engine.canon import redaction
from cockpit.engine.canon.evaluator import Evaluation, Evaluator, LexicalEvaluator, fts_query
from cockpit.engine.config.model import Config
from cockpit.engine.trust import actions as trust_actions
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import NotFound, Refused
from cockpit.store import Event, NewEvent, Store
from cockpit.store.rows import WorkPackageRow

CHECKS = (
    "identity",
    "source_accepted",
    "evidence",
    "redaction",
    "anti_replay",
    "tenant",
    "policy_version",
    "evaluator",
    "separation_of_duties",
)
SATISFIED, UNSATISFIED, NOT_APPLICABLE, ERROR = (
    "satisfied",
    "unsatisfied",
    "not_applicable",
    "error",
)


@dataclass(frozen=True)
class Check:
    status: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class CanonFacts:
    """Everything the Canon Gate looks at, read from the store and the config."""

    config: Config
    candidate: dict[str, Any]
    commissioner: str
    work_package: WorkPackageRow | None
    evidence: list[tuple[str, dict[str, Any] | None]]  # (ref as written, the entry or None)
    same_record_in_canon: dict[str, Any] | None
    evaluation: Evaluation | None
    evaluation_error: str | None


@dataclass(frozen=True)
class CanonDecision:
    checks: dict[str, Check]
    evaluation: Evaluation | None

    @property
    def failed(self) -> list[str]:
        return [n for n in CHECKS if self.checks[n].status in (UNSATISFIED, ERROR)]

    @property
    def admits(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "commissioned": self.admits,
            "checks": {name: self.checks[name].to_json() for name in CHECKS},
            "failed": self.failed,
            "evaluator": self.evaluation.to_json() if self.evaluation else None,
        }


# -- the checks (pure) ----------------------------------------------------------------------


def check_identity(f: CanonFacts) -> Check:
    config, author = f.config, f.candidate["principal"]
    if f.commissioner not in config.principals:
        return Check(UNSATISFIED, f"{f.commissioner} is not a principal of this workspace")
    if not config.has(f.commissioner, Capability.COMMISSION):
        return Check(UNSATISFIED, f"{f.commissioner} lacks the commission capability")
    if author not in config.principals or not config.has(author, Capability.CANDIDATE):
        return Check(UNSATISFIED, f"the author {author} no longer holds the candidate capability")
    return Check(SATISFIED, f"{f.commissioner} may commission; {author} may write candidates")


def check_source_accepted(f: CanonFacts) -> Check:
    wp = f.work_package
    if wp is None:
        return Check(UNSATISFIED, f"the source work package {f.candidate['work_package']} is gone")
    if wp["state"] not in (State.ACCEPTED, State.COMPLETE):
        return Check(UNSATISFIED, f"{wp['id']} is {wp['state']}, not accepted or complete")
    how = " (by an override)" if wp.get("overridden") else ""
    return Check(SATISFIED, f"{wp['id']} is {wp['state']}{how}")


def check_evidence(f: CanonFacts) -> Check:
    if not f.evidence:
        return Check(UNSATISFIED, "the candidate cites no evidence")
    problems = []
    wp_id = f.candidate["work_package"]
    for ref, row in f.evidence:
        ref_id, _, pin = ref.partition("@")
        if row is None:
            problems.append(f"{ref_id} names no ingested entry")
        elif row["kind"] != "evidence":
            problems.append(f"{ref_id} is a {row['kind']}, not evidence")
        elif row["work_package"] != wp_id:
            problems.append(f"{ref_id} belongs to {row['work_package']}, not {wp_id}")
        elif pin and pin.removeprefix("sha256:") != row["sha256"]:
            problems.append(f"{ref_id} is pinned to a hash it does not have")
    if problems:
        return Check(UNSATISFIED, "; ".join(problems))
    ids = ", ".join(ref.partition("@")[0] for ref, _ in f.evidence)
    return Check(SATISFIED, f"evidence {ids} of {wp_id}")


def check_redaction(f: CanonFacts) -> Check:
    state = f.candidate.get("redaction") or {}
    hits = redaction.scan(f.candidate["record"])
    if not state.get("clean", False):
        return Check(UNSATISFIED, state.get("detail") or "the record held secrets when filed")
    if hits:  # a newer scanner finds what the one at ingest did not
        return Check(UNSATISFIED, redaction.describe(hits))
    return Check(SATISFIED, f"no secrets found ({redaction.SCANNER_VERSION})")


def check_anti_replay(f: CanonFacts) -> Check:
    if f.candidate["state"] == "commissioned":
        return Check(
            UNSATISFIED, f"{f.candidate['id']} is already canon ({f.candidate['canon_id']})"
        )
    if f.same_record_in_canon is not None:
        return Check(
            UNSATISFIED, f"the same record is already canon: {f.same_record_in_canon['id']}"
        )
    return Check(SATISFIED, "a new candidate whose record is not canon yet")


def check_tenant(f: CanonFacts) -> Check:
    filed = f.candidate.get("tenant")
    if filed != f.config.tenant:
        return Check(
            UNSATISFIED, f"filed under tenant {filed!r}, the workspace is {f.config.tenant!r}"
        )
    return Check(SATISFIED, f"tenant {filed}")


def check_policy_version(f: CanonFacts) -> Check:
    theirs, ours = f.candidate.get("policy_version"), f.config.policy.version
    if theirs != ours:
        return Check(UNSATISFIED, f"written under policy version {theirs}; the policy is {ours}")
    return Check(SATISFIED, f"policy version {ours}")


def check_evaluator(f: CanonFacts) -> Check:
    if f.evaluation_error is not None or f.evaluation is None:
        return Check(ERROR, f"the evaluator failed: {f.evaluation_error}")
    threshold = round(f.config.policy.canon.min_evaluator_score * 1000)
    score = f.evaluation.score
    said = f"score {score / 1000:.3f} {'≥' if score >= threshold else '<'} {threshold / 1000:.3f}"
    status = SATISFIED if score >= threshold else UNSATISFIED
    return Check(status, f"{said}: {f.evaluation.detail}")


def check_separation_of_duties(f: CanonFacts) -> Check:
    if not f.config.policy.canon.separation_of_duties:
        return Check(NOT_APPLICABLE, "separation of duties is off in the policy")
    if f.commissioner == f.candidate["principal"]:
        return Check(UNSATISFIED, f"{f.commissioner} wrote the candidate and cannot commission it")
    return Check(
        SATISFIED, f"commissioned by {f.commissioner}, written by {f.candidate['principal']}"
    )


CHECK_FUNCTIONS: dict[str, Callable[[CanonFacts], Check]] = {
    "identity": check_identity,
    "source_accepted": check_source_accepted,
    "evidence": check_evidence,
    "redaction": check_redaction,
    "anti_replay": check_anti_replay,
    "tenant": check_tenant,
    "policy_version": check_policy_version,
    "evaluator": check_evaluator,
    "separation_of_duties": check_separation_of_duties,
}


def evaluate(facts: CanonFacts) -> CanonDecision:
    """Every check, in SPEC 6's order (a check that raises is `error`, never a pass)."""
    checks = {}
    for name in CHECKS:
        try:
            checks[name] = CHECK_FUNCTIONS[name](facts)
        except Exception as exc:  # fail closed
            checks[name] = Check(ERROR, f"{type(exc).__name__}: {exc}")
    return CanonDecision(checks, facts.evaluation)


# -- facts, commissioning ---------------------------------------------------------------------


def gather(
    ws: Workspace,
    store: Store,
    candidate_id: str,
    commissioner: str,
    evaluator: Evaluator | None = None,
) -> CanonFacts:
    """Read what the gate needs. Raises NotFound for an unknown candidate."""
    candidate = store.candidate(candidate_id)
    if candidate is None:
        raise NotFound(f"no candidate {candidate_id} has been filed in this workspace")
    evidence = [
        (str(ref), store.entry(str(ref).partition("@")[0])) for ref in candidate["evidence"]
    ]
    evaluation, error = None, None
    try:
        evaluation = (evaluator or LexicalEvaluator()).evaluate(
            candidate["record"], store, exclude=candidate.get("canon_id")
        )
    except Exception as exc:  # the evaluator is advisory; its failure is the check's error
        error = f"{type(exc).__name__}: {exc}"
    return CanonFacts(
        config=ws.config,
        candidate=candidate,
        commissioner=commissioner,
        work_package=store.work_package(candidate["work_package"]),
        evidence=evidence,
        same_record_in_canon=store.canon_with_sha(candidate["record_sha256"] or ""),
        evaluation=evaluation,
        evaluation_error=error,
    )


def preview(ws: Workspace, store: Store, candidate_id: str, commissioner: str) -> CanonDecision:
    """What the gate would say now, recording nothing (for the TUI's check table)."""
    return evaluate(gather(ws, store, candidate_id, commissioner))


@dataclass(frozen=True)
class Commission:
    decision: CanonDecision
    events: list[Event]
    canon_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {**self.decision.to_json(), "canon_id": self.canon_id}


def commission(
    ws: Workspace,
    store: Store,
    candidate_id: str,
    by: str,
    evaluator: Evaluator | None = None,
    *,
    sign: trust_actions.Sign | None = None,
) -> Commission:
    """Run the Canon Gate for `candidate_id` as `by` and record it; when every check
    holds, the candidate becomes canon. Raises NotFound for an unknown candidate and
    Refused for an unknown principal (a principal without the capability is the
    `identity` check's to refuse, on the record) or a signature that does not hold."""
    if by not in ws.config.principals:
        raise Refused(f"{by} is not a principal of this workspace")
    known = store.candidate(candidate_id)
    if known is None:
        raise NotFound(f"no candidate {candidate_id} has been filed in this workspace")
    wp_id, args = known["work_package"], {"candidate": candidate_id}
    signed = trust_actions.sign_with(ws, store, sign, "commission", wp_id, args, by)
    with store.transaction():
        signature = trust_actions.check(ws, store, signed, "commission", wp_id, args, by)
        facts = gather(ws, store, candidate_id, by, evaluator)
        decision = evaluate(facts)
        candidate = facts.candidate
        summary = {
            "commissioned": decision.admits,
            "failed": decision.failed,
            "by": by,
            "score_permille": decision.evaluation.score if decision.evaluation else None,
        }
        events = [
            store.append(
                NewEvent(
                    EventType.CANON_GATE_EVALUATED,
                    candidate["work_package"],
                    by,
                    None,
                    {
                        "candidate": candidate_id,
                        **decision.to_json(),
                        "summary": summary,
                        "edges": [{"from": "@self", "to": candidate_id, "rel": "evaluates"}],
                        "signature": dict(signature),
                    },
                )
            )
        ]
        canon_id = None
        if decision.admits:
            canon_id = candidate_id
            events.append(
                store.append(
                    NewEvent(
                        EventType.CANDIDATE_COMMISSIONED,
                        candidate["work_package"],
                        by,
                        None,
                        {
                            "candidate": candidate_id,
                            "canon_id": canon_id,
                            "record": candidate["record"],
                            "record_sha256": candidate["record_sha256"],
                            "author": candidate["principal"],
                            "provenance": provenance(store, candidate, by, events[0]),
                            "edges": [
                                {"from": "@self", "to": candidate_id, "rel": "commissions"},
                                {"from": "@self", "to": node(events[0]), "rel": "admitted_by"},
                            ],
                            "signature": dict(signature),
                        },
                    )
                )
            )
    return Commission(decision, events, canon_id)


def node(event: Event) -> str:
    return f"{event.type}@{event.seq}"


def provenance(
    store: Store, candidate: dict[str, Any], by: str, gate_event: Event
) -> dict[str, Any]:
    """candidate → WP → claim → evidence → verify decision → commissioning human, as the
    store has them at commissioning (kept with the canon record, never recomputed)."""
    wp_id = candidate["work_package"]
    wp: Mapping[str, Any] = store.work_package(wp_id) or {}
    verdicts = [
        e
        for e in store.find_events(work_package=wp_id, types=(EventType.VERIFY_COMPLETED,))
        if e.payload.get("outcome") == "success"
    ]
    verify = verdicts[-1] if verdicts else None
    claim = (verify.payload.get("claim") if verify else None) or None
    return {
        "candidate": {
            "id": candidate["id"],
            "author": candidate["principal"],
            "seq": candidate["seq"],
            "evidence": candidate["evidence"],
        },
        "work_package": {
            "id": wp_id,
            "title": wp.get("title"),
            "state": wp.get("state"),
            "overridden": bool(wp.get("overridden")),
        },
        "claim": claim,
        "evidence": verify.payload.get("evidence") if verify else [],
        "verify": (
            {
                "seq": verify.seq,
                "ts": verify.ts,
                "outcome": verify.payload.get("outcome"),
                "verifier": verify.principal,
                "mode": verify.payload.get("mode"),
            }
            if verify
            else None
        ),
        "canon_gate": {"seq": gate_event.seq, "ts": gate_event.ts},
        "commissioned_by": by,
    }


def search(store: Store, query: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """Canon records a query finds (every word, quoted: no FTS syntax is interpreted), or
    all of them newest first without a query."""
    match = fts_query(query) if query and query.strip() else None
    if query and query.strip() and not match:
        return []
    return [canon_json(row) for row in store.canon_search(match, limit)]


def canon_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "record": row["record"],
        "work_package": row["work_package"],
        "author": row["author"],
        "commissioned_by": row["commissioned_by"],
        "commissioned_at": row["ts"],
        "seq": row["seq"],
        "record_sha256": row["record_sha256"],
        "provenance": row["provenance"],
    }


def candidate_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "work_package": row["work_package"],
        "principal": row["principal"],
        "record": row["record"],
        "source": row["source"],
        "policy_version": row["policy_version"],
        "evidence": row["evidence"],
        "tenant": row["tenant"],
        "redaction": row["redaction"],
        "state": row["state"],
        "canon_id": row["canon_id"],
        "last_gate": row["last_gate"],
    }
