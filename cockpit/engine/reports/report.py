"""The reviewer's report on one work package (`cockpit report WP`): every section a
reviewer needs, built from the store alone (the WP's events and the entries they
recorded), each statement carrying pointers to the events and entries that support it.

A pointer is `{"seq": N}` (an event of the chain) or `{"entry": ID, "sha256": HEX}` (an
entry as ingested). The renderers (`report_md`, `report_html`) print them as `[seq N]` and
`ID@sha256:HEX`; `report_findings` holds the non-claims, risks and usage sections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cockpit.domain import EventType, Predicate
from cockpit.engine.gate.surfaces import matches
from cockpit.engine.reports import report_findings as findings
from cockpit.engine.reports.lineage import lineage
from cockpit.engine.reports.report_facts import Record, fact, output_hash, pin, ptr, tail_hash
from cockpit.errors import NotFound
from cockpit.store import Store

SCHEMA = "cockpit.report/v1"
# Who acts at each gate the runner's handoff names (the reader's words for it).
WHO_ACTS = {
    "scope_confirmation": "the assignee confirms (or declines) the scope",
    "review_go": "the owner reviews the scope confirmation and gives go",
    "verify": "the verify gate decides on the claim",
    "recovery": "a recovery owner files a recovery packet (or the owner overrides)",
    "rollback": "the owner recovers or rolls the work back",
    "review": "the owner reviews the admitted work (verdict accepted completes it)",
    "dispatch": "the owner dispatches it to an agent",
}


def report(store: Store, wp_id: str, *, next_gate: Callable[[str], str]) -> dict[str, Any]:
    """The report's sections as plain data (see docs/report.md). `next_gate(state)` is the
    runner's handoff table (cockpit.engine.runner.handoff.next_gate), passed by the caller
    because the runner is a sibling plane. Raises NotFound for a WP never booked."""
    row = store.work_package(wp_id)
    if row is None:
        raise NotFound(f"no work package {wp_id} has been booked in this workspace")
    record = Record(store, row)
    last = record.last
    graph = lineage(store, wp_id)
    edge_seq = {(e["from_id"], e["to_id"], e["rel"]): e["seq"] for e in store.edges(wp_id)}
    for edge in graph["edges"]:
        edge["seq"] = edge_seq.get((edge["from"], edge["to"], edge["rel"]))
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "work_package": wp_id,
        "title": row["title"],
        "through": {
            "seq": last.seq,
            "event_id": last.event_id,
            "chain": last.chain,
            "ts": last.ts,
        },
        "status": status(record),
        "evidence": evidence_register(record),
        "claims": claims(record),
        "validated": validated(record),
        "not_validated": not_validated(record),
        "ladder": findings.ladder(record),
        "non_claims": findings.non_claims(record),
        "risks": findings.risks(record),
        "next_gate": gate_ahead(record, next_gate),
        "usage": findings.usage(record),
        "lineage": graph,
    }
    document["events_cited"] = _cited(record, document)
    return document


def status(r: Record) -> list[dict[str, Any]]:
    """The status table: one row per field, each with the events that set it."""
    row, body, booked = r.row, r.body, r.booking_pointers()
    rows = [
        _field("Title", row["title"], booked),
        _field("Objective", row["objective"] or "(none)", booked),
        _field("Tier", row["tier"], booked),
        _field("Lane", row["lane"], booked),
        _field("Owner", row["owner"], booked),
        _field("Accountable", row["accountable"], booked),
    ]
    if row["labels"]:
        rows.append(_field("Labels", ", ".join(row["labels"]), booked))
    procedure = body.get("procedure")
    if isinstance(procedure, dict):  # as its booker wrote it: the pack is not re-read
        steps = " → ".join(
            f"{step.get('lane')}: {step.get('step')}" for step in procedure.get("sequence") or []
        )
        said = f"{procedure.get('archetype')} (pack sha256 {procedure.get('sha256')}); {steps}"
        rows.append(_field("Procedure", said, booked))
    moved = r.last_transition
    rows.append(_field("State", row["state"], [ptr(moved or r.last)]))
    if row["overridden"]:
        rows.append(
            _field(
                "Overridden", "yes (a mark kept forever)", r.pointers(EventType.OVERRIDE_APPLIED)
            )
        )
    dispatched = r.of(EventType.DISPATCHED)
    if dispatched:
        rows.append(_field("Assignee", row["assignee"] or "-", [ptr(dispatched[-1])]))
    rows.append(_floor_row(r))
    verdict = r.decision
    if verdict is not None:
        p = verdict.payload
        blocking = p.get("blocking_predicate")
        rows.append(
            _field(
                "Last gate decision",
                f"{p.get('outcome')} ({p.get('acceptance_status')})"
                + (f", blocking predicate {blocking}" if blocking else ""),
                [ptr(verdict)],
            )
        )
    else:
        rows.append(_field("Last gate decision", "the gate has not decided", [ptr(r.last)]))
    made = r.of(EventType.WORKTREE_PROVISIONED)
    if made:
        p = made[-1].payload
        rows.append(
            _field(
                "Worktree",
                f"{p.get('branch')} from base commit {p.get('base_commit')}",
                [ptr(made[-1])],
            )
        )
    elif body.get("target_repo"):
        rows.append(_field("Target repo", str(body["target_repo"]), booked))
    if verdict is not None and verdict.payload.get("branch_tip"):
        rows.append(
            _field("Branch tip the gate saw", verdict.payload["branch_tip"], [ptr(verdict)])
        )
    if verdict is not None and verdict.payload.get("changed_files") is not None:
        changed = verdict.payload["changed_files"]
        rows.append(
            _field(
                "Changed files",
                f"{len(changed)}: {', '.join(changed)}" if changed else "none",
                [ptr(verdict)],
            )
        )
    if row["vetoed"]:
        rows.append(_field("Veto", "active", r.pointers(EventType.VETO_CHANGED)[-1:]))
    rows.append(
        _field(
            "Events on record",
            f"{len(r.events)}, seq {r.events[0].seq}-{r.last.seq}",
            [ptr(r.last)],
        )
    )
    return rows


def _floor_row(r: Record) -> dict[str, Any]:
    if r.body.get("evidence_floor"):
        return _field("Evidence floor", str(r.body["evidence_floor"]), r.booking_pointers())
    verdict = r.decision
    detail = r.predicate(Predicate.EVIDENCE_FLOOR)
    if verdict is not None and detail is not None:
        return _field("Evidence floor", f"the tier's; the gate said: {detail[1]}", [ptr(verdict)])
    return _field(
        "Evidence floor",
        "the tier's (cockpit.yaml); not recorded until the gate runs",
        r.booking_pointers(),
    )


def _field(name: str, value: Any, pointers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"field": name, "value": "-" if value is None else str(value), "pointers": pointers}


def evidence_register(r: Record) -> list[dict[str, Any]]:
    """Every evidence packet of the WP: who filed it, who measured it, which claims cite it,
    whether the deciding gate run held it, and each item with its command, exit code and
    output hash."""
    out = []
    checked = {e.get("id"): e.get("sha256") for e in (r.decision_payload.get("evidence") or [])}
    for entry in r.entries("evidence"):
        body = entry["body"] or {}
        me = pin(entry["id"], entry["sha256"])
        cited = [pin(c["id"], c["sha256"]) for c in r.entries("claim") if entry["id"] in r.cited(c)]
        items = []
        for item in body.get("items") or []:
            items.append(
                {
                    "class": item.get("class"),
                    "ref": item.get("ref"),
                    "file_sha256": item.get("sha256"),
                    "command": item.get("command"),
                    "exit_code": item.get("exit_code"),
                    "output": output_hash(
                        item.get("log"), measured=body.get("measured_by") == "runner"
                    ),
                    "pointers": [me],
                }
            )
        held = checked.get(entry["id"])
        out.append(
            {
                "entry": entry["id"],
                "sha256": entry["sha256"],
                "seq": entry["seq"],
                "principal": entry["principal"],
                "measured_by": "runner"
                if body.get("measured_by") == "runner"
                else entry["principal"],
                "quality": body.get("quality"),
                "missing": list(body.get("missing") or []),
                "cited_by": cited,
                "gate_checked": held is not None and held == entry["sha256"],
                "items": items,
                "pointers": [{"seq": entry["seq"]}, me]
                + ([ptr(r.decision)] if held is not None and r.decision is not None else []),
            }
        )
    return out


def claims(r: Record) -> list[dict[str, Any]]:
    """Every claim of the WP, in order, with what it cites."""
    out = []
    for entry in r.entries("claim"):
        body = entry["body"] or {}
        ground = body.get("common_ground") or {}
        out.append(
            {
                "entry": entry["id"],
                "sha256": entry["sha256"],
                "seq": entry["seq"],
                "principal": entry["principal"],
                "done_state": body.get("done_state"),
                "summary": body.get("summary"),
                "evidence": sorted(r.cited(entry)),
                "common_ground": ground.get("id"),
                "unresolved_questions": list(body.get("unresolved_questions") or []),
                "pointers": [{"seq": entry["seq"]}, pin(entry["id"], entry["sha256"])],
            }
        )
    return out


def validated(r: Record) -> list[dict[str, Any]]:
    """What the gate and people checked: the deciding gate run's satisfied predicates, the
    validation commands it re-ran, and the reviews on record."""
    out = []
    verdict = r.decision
    if verdict is not None:
        p = verdict.payload
        at = [ptr(verdict)]
        out.append(
            fact(
                f"The verify gate ({p.get('mode')} mode, as {verdict.principal}) decided "
                f"{p.get('outcome')}: {p.get('acceptance_status')}.",
                *at,
            )
        )
        for name, (status_, detail) in r.predicates():
            if status_ == "satisfied":
                out.append(fact(f"{name}: {detail}", *at))
        for run in p.get("validation") or []:
            out.append(fact(_command_line(run), *at))
    for review in r.of(EventType.REVIEW_RECORDED):
        p = review.payload
        found = "; ".join(str(f) for f in p.get("findings") or [])
        standing = " (the lane's standing go)" if p.get("standing") else ""
        out.append(
            fact(
                f"Review by {review.principal}: verdict {p.get('verdict')}{standing}"
                + (f"; findings: {found}" if found else ""),
                *r.event_pointers(review),
            )
        )
    if not out:
        out.append(
            fact(
                "Nothing was validated: the gate has not run and no review is on record.",
                ptr(r.last),
            )
        )
    return out


def _command_line(run: dict[str, Any]) -> str:
    how = "timed out" if run.get("timed_out") else f"exited {run.get('exit_code')}"
    error = f" ({run['error']})" if run.get("error") else ""
    digest = tail_hash(run.get("output_tail"))
    return (
        f"The gate re-ran “{run.get('command')}”: {how}{error} in {run.get('duration_ms')} ms"
        + (f"; output tail sha256:{digest}" if digest else "")
    )


def not_validated(r: Record) -> list[dict[str, Any]]:
    """What was not checked or not touched: predicates the gate found not applicable,
    unsatisfied or in error; booked validation commands it did not run; owned surfaces
    the change did not touch; success criteria (the gate does not check them one by one)."""
    out = []
    booked = r.booking_pointers()
    verdict = r.decision
    if verdict is None:
        out.append(
            fact(
                "The verify gate has not decided on this WP: no predicate was checked.", ptr(r.last)
            )
        )
    else:
        at = ptr(verdict)
        for name, (status_, detail) in r.predicates():
            if status_ != "satisfied":
                out.append(fact(f"{name} was {status_.replace('_', ' ')}: {detail}", at))
        ran = {run.get("command") for run in verdict.payload.get("validation") or []}
        for command in r.body.get("validation_commands") or []:
            if command not in ran:
                out.append(
                    fact(f"The booked validation command “{command}” was not run.", at, *booked)
                )
        changed = verdict.payload.get("changed_files")
        if changed is None:
            out.append(
                fact(
                    "No changed files are on record (no target repo): the change's scope "
                    "was not measured.",
                    at,
                    *booked,
                )
            )
        else:
            for surface in r.body.get("owned_surfaces") or []:
                if not any(matches(path, [surface]) for path in changed):
                    out.append(
                        fact(
                            f"The owned surface {surface} was not touched by the change.",
                            at,
                            *booked,
                        )
                    )
    if not r.body.get("validation_commands"):
        out.append(fact("No validation command was booked: the gate re-ran nothing.", *booked))
    for criterion in r.row["success_criteria"]:
        out.append(
            fact(
                "Success criterion not checked by the gate itself (the claim and its "
                f"evidence speak to it): {criterion}",
                *booked,
            )
        )
    return out


def gate_ahead(r: Record, next_gate: Callable[[str], str]) -> dict[str, Any]:
    """The state the WP is in and the gate it meets next."""
    state = r.row["state"]
    gate = next_gate(state)
    if gate == "none":
        gate = {"booked": "dispatch"}.get(state, "none")
    who = WHO_ACTS.get(gate, "nobody: the work package is closed")
    moved = r.last_transition or r.last
    pointers = [ptr(moved)]
    notes = []
    if r.row["vetoed"]:
        notes.append("a veto stands: nothing is admitted until it is lifted")
        pointers += r.pointers(EventType.VETO_CHANGED)[-1:]
    if r.row["open_advisory"]:
        notes.append(
            f"the serious advisory {r.row['open_advisory']} must be dismissed before success"
        )
        pointers += r.pointers(EventType.ADVISORY_ISSUED)[-1:]
    return {
        "state": state,
        "gate": gate,
        "who": who,
        "notes": notes,
        "pointers": pointers,
    }


def _walk(value: Any) -> Iterable[dict[str, Any]]:
    if isinstance(value, dict):
        if "seq" in value and set(value) == {"seq"}:
            yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _cited(r: Record, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event a pointer names, with what checks it against the chain."""
    seqs = {p["seq"] for p in _walk({k: v for k, v in document.items() if k != "lineage"})}
    seqs |= {node["seq"] for node in document["lineage"]["nodes"]}
    seqs |= {edge["seq"] for edge in document["lineage"]["edges"] if edge.get("seq")}
    seqs.add(r.last.seq)
    return [
        {
            "seq": e.seq,
            "type": e.type,
            "principal": e.principal,
            "event_id": e.event_id,
            "leaf": e.leaf,
        }
        for e in r.events
        if e.seq in seqs
    ]
