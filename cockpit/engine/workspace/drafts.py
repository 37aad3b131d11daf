"""Drafts of entries (`cockpit new KIND WP`): a fresh, unique id, the refs the kind builds on
(SPEC 3: a scope confirmation refs the dispatch, a claim its evidence and common ground),
the acting principal, `created` now, and the body with what is known filled in, rendered by
the entries plane's templates.

What is known comes from the workspace's store and config (`facts_from_store`), or, inside
an agent's sandbox where neither can be read, from the agent's handoff
(`facts_from_handoff`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cockpit.domain import (
    ASSIGNEE_KINDS,
    HANDOFF_SCHEMA,
    KIND_CAPABILITIES,
    Capability,
    EventType,
    Kind,
    State,
    is_valid_id,
)
from cockpit.engine.config.model import Config
from cockpit.engine.entries.safe_yaml import load_yaml
from cockpit.engine.entries.template import Template, render
from cockpit.errors import InputError, NotFound
from cockpit.store import Store

PREFIXES = {
    Kind.COMMON_GROUND: "CG",
    Kind.DISPATCH: "DSP",
    Kind.SCOPE_CONFIRMATION: "SCP",
    Kind.REVIEW: "REV",
    Kind.CLAIM: "CLM",
    Kind.EVIDENCE: "EVD",
    Kind.RECOVERY: "RCV",
    Kind.CANDIDATE: "CAND",
    Kind.VETO: "VETO",
}
# The verdict a review of a WP in each state is usually about.
VERDICT_HINTS = {
    State.SCOPE_CONFIRMED: "go starts the work",
    State.CLAIMED: "revision_required sends the claim back",
    State.BLOCKED: "revision_required sends the work back",
    State.ACCEPTED: "accepted completes it, rejected fails it (rollback), revision_required "
    "sends it back",
    State.COMPLETE: "rejected fails it and asks for a rollback",
}


@dataclass
class Facts:
    """What a draft of an entry on one WP may say: the workspace's names, the WP (None: not
    booked) and the latest entries of each kind on it, as (id, sha256)."""

    tenant: str | None
    workspace: str | None
    config: Config | None
    wp: dict[str, Any] | None
    latest: dict[Kind, tuple[str, str]] = field(default_factory=dict)
    ground_version: int | None = None
    evidence: list[tuple[str, str]] = field(default_factory=list)  # since the last claim
    claimed_evidence: list[str] = field(default_factory=list)  # what the last claim cites
    recoveries: int = 0
    last_verify: dict[str, Any] | None = None
    verified_head: str | None = None  # the head the latest verify measured (SPEC 11.1)


def facts_from_store(config: Config, store: Store, wp_id: str) -> Facts:
    """The facts of `wp_id` in a workspace whose store and config Cockpit can read."""
    wp = store.work_package(wp_id)
    facts = Facts(config.tenant, config.workspace, config, dict(wp) if wp else None)
    if wp is None:
        return facts
    evidence: list[tuple[str, str]] = []
    for row in store.entries(wp_id):
        kind = Kind(row["kind"])
        facts.latest[kind] = (row["id"], row["sha256"])
        if kind is Kind.EVIDENCE:
            evidence.append((row["id"], row["sha256"]))
        elif kind is Kind.CLAIM:
            evidence = []
            cited = (row.get("body") or {}).get("evidence")
            facts.claimed_evidence = [str(e) for e in cited] if isinstance(cited, list) else []
        elif kind is Kind.COMMON_GROUND:
            facts.ground_version = int((row.get("body") or {}).get("version") or 0)
        elif kind is Kind.RECOVERY:
            facts.recoveries += 1
    facts.evidence = evidence
    facts.last_verify = wp.get("last_verify")
    verifies = store.find_events(work_package=wp_id, types=(EventType.VERIFY_COMPLETED,))
    facts.verified_head = (verifies[-1].payload.get("head") or None) if verifies else None
    return facts


def facts_from_handoff(path: Path, wp_id: str) -> Facts:
    """The facts an agent's handoff gives (inside its sandbox, SPEC 10.3). Raises
    InputError if the handoff cannot be read or is about another WP."""
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"the handoff {path} cannot be read ({exc})") from None
    if not isinstance(document, dict) or document.get("schema") != HANDOFF_SCHEMA:
        raise InputError(f"{path} is not a handoff Cockpit wrote")
    try:
        return _facts_of_handoff(document, wp_id)
    except (AttributeError, KeyError, TypeError) as exc:
        raise InputError(f"the handoff {path} is not as Cockpit writes it ({exc!r})") from None


def _facts_of_handoff(document: dict[str, Any], wp_id: str) -> Facts:
    wp = document.get("work_package") or {}
    if wp.get("id") != wp_id:
        raise InputError(f"this agent's handoff is about {wp.get('id')}, not {wp_id}")
    row = {**wp, "state": document.get("state"), "assignee": document.get("you"), "body": wp}
    facts = Facts(document.get("tenant"), document.get("workspace"), None, row)
    if (dispatch := document.get("dispatch") or {}).get("entry"):
        facts.latest[Kind.DISPATCH] = (dispatch["entry"], "")
    if ground := document.get("common_ground"):
        facts.latest[Kind.COMMON_GROUND] = (ground["id"], ground["sha256"])
        facts.ground_version = ground.get("version")
    return facts


@dataclass(frozen=True)
class Draft:
    id: str
    text: str
    submit: str = "cockpit submit"  # the command that queues it


def entry_head(
    entry_id: str,
    wp_id: str,
    principal: str,
    tenant: str | None,
    workspace: str | None,
    moment: datetime,
) -> dict[str, Any]:
    """The head of an entry written now: its id, WP and principal, the tenant and the
    workspace id where the config names them, and `created` to the millisecond (entries
    made one after the other are ingested in that order)."""
    head: dict[str, Any] = {"id": entry_id, "work_package": wp_id, "principal": principal}
    if tenant:
        head["tenant"] = tenant
    if workspace:
        head["workspace"] = workspace
    head["created"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return head


def draft_entry(
    kind: Kind,
    wp_id: str,
    principal: str,
    facts: Facts,
    taken: Callable[[str], bool],
    now: datetime | None = None,
    file: str | None = None,
) -> Draft:
    """The draft of a `kind` entry on `wp_id` written by `principal`; `taken(id)` says
    whether an id is used (ingested, queued, or a file already there); `file` is the name
    it will be written to (default ID.yaml), which its first comment names. Raises InputError
    (exit 2) for a WP that is not booked (booked already, for a work_package), and for a
    principal who may not file the kind, naming who may."""
    _check(kind, wp_id, principal, facts)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    entry_id = wp_id if kind is Kind.WORK_PACKAGE else fresh_id(kind, wp_id, taken)
    head = entry_head(entry_id, wp_id, principal, facts.tenant, facts.workspace, moment)
    head["refs"] = []
    # Where entries must be signed, the person signs as they submit (inside an agent's
    # sandbox there is no config here: the runner's outbox signs with the run's key).
    signed = facts.config is not None and facts.config.signatures_required
    submit = "cockpit submit --sign" if signed else "cockpit submit"
    template = Template(kind, head, file=file or f"{head['id']}.yaml", submit=submit)
    _fill(template, principal, facts)
    return Draft(head["id"], render(template), submit)


def fresh_id(kind: Kind, wp_id: str, taken: Callable[[str], bool]) -> str:
    """`PREFIX-WP-n` for the first n not taken (a long WP id is shortened to a hash)."""
    base = f"{PREFIXES[kind]}-{wp_id}"
    if len(base) > 56:
        base = f"{PREFIXES[kind]}-{hashlib.sha256(wp_id.encode()).hexdigest()[:12]}"
    n = 1
    while taken(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"


def _check(kind: Kind, wp_id: str, principal: str, facts: Facts) -> None:
    if not is_valid_id(wp_id):
        raise InputError(f"{wp_id!r} is not a work package id ([A-Za-z0-9][A-Za-z0-9._-]{{0,63}})")
    if kind is Kind.WORK_PACKAGE and facts.wp is not None:
        raise InputError(f"{wp_id} is booked already; choose a new id for the work package")
    if kind is not Kind.WORK_PACKAGE and facts.wp is None:
        raise NotFound(f"work package {wp_id} has not been booked (or its booking is not ingested)")
    config = facts.config
    needed = KIND_CAPABILITIES[kind]
    if config is not None and not any(config.has(principal, c) for c in needed):
        able = [p for p in config.principals if any(config.has(p, c) for c in needed)]
        caps = " or ".join(c.value for c in needed)
        raise InputError(
            f"{principal} lacks the {caps} capability {kind.article} {kind.value} needs; pass "
            f"--as one of: {', '.join(able) or 'nobody holds it'}"
        )
    assignee = (facts.wp or {}).get("assignee")
    if kind in ASSIGNEE_KINDS and assignee and principal != assignee:
        raise InputError(
            f"{kind.article} {kind.value} on {wp_id} must come from its assignee {assignee}; "
            f"pass --as {assignee}"
        )


def _pinned(pair: tuple[str, str]) -> str:
    return f"{pair[0]}@sha256:{pair[1]}" if pair[1] else pair[0]


def _fill(template: Template, principal: str, facts: Facts) -> None:
    """The refs and the body values a draft of the kind can know."""
    kind, wp, latest = template.kind, facts.wp or {}, facts.latest
    body, notes, head = template.body, template.notes, template.head
    wp_body = wp.get("body") or {}
    state = State(wp["state"]) if wp.get("state") in State.__members__.values() else None
    config = facts.config
    if kind is Kind.WORK_PACKAGE:
        lane = next(iter(config.lanes), None) if config else None
        if lane:
            body["lane"] = lane
            agents = [p for p, c in config.principals.items() if lane in c.lanes] if config else []
            if agents:
                body["owner"] = agents[0]
        body["accountable"] = principal
        body["tier"] = "standard"
    elif kind is Kind.DISPATCH:
        owner = wp_body.get("owner") or wp.get("owner")
        if owner and config and config.has(owner, Capability.CLAIM):
            body["to"] = owner
        body["next_gate"] = "scope_confirmation"
    elif kind is Kind.SCOPE_CONFIRMATION and Kind.DISPATCH in latest:
        head["refs"] = [latest[Kind.DISPATCH][0]]
        template.refs_note = "The dispatch this confirms."
    elif kind is Kind.REVIEW:
        hint = VERDICT_HINTS.get(state) if state else None
        notes["verdict"] = f"{wp.get('id')} is {state}: {hint}." if hint else ""
        source = Kind.SCOPE_CONFIRMATION if state is State.SCOPE_CONFIRMED else Kind.CLAIM
        if source in latest:
            head["refs"] = [latest[source][0]]
            template.refs_note = f"The {source.value} this review is about."
        if facts.verified_head:
            body["head"] = facts.verified_head
    elif kind is Kind.COMMON_GROUND:
        body["version"] = (facts.ground_version or 0) + 1
        if Kind.COMMON_GROUND in latest:
            head["refs"] = [latest[Kind.COMMON_GROUND][0]]
            template.refs_note = "The version this one follows."
        if wp_body.get("objective"):
            body["objective"] = wp_body["objective"]
        body["success_criteria"] = list(wp_body.get("success_criteria") or [])
    elif kind is Kind.EVIDENCE and Kind.COMMON_GROUND in latest:
        head["refs"] = [latest[Kind.COMMON_GROUND][0]]
        template.refs_note = "The common ground this evidence is for."
    elif kind is Kind.CLAIM:
        _fill_claim(template, wp, wp_body, facts)
    elif kind is Kind.RECOVERY:
        if Kind.CLAIM in latest:
            head["refs"] = [latest[Kind.CLAIM][0]]
            template.refs_note = "The claim whose verification this recovers from."
        verify = facts.last_verify or {}
        if verify.get("blocked_reason_class"):
            body["error_class"] = verify["blocked_reason_class"]
        if verify.get("blocking_predicate"):
            body["failure_signal"] = (
                f"the gate withheld admission on {verify['blocking_predicate']}"
            )
        body["retry_count"] = facts.recoveries
        if wp.get("assignee"):
            notes["recovery_owner"] = f"The assignee is {wp['assignee']}."
    elif kind is Kind.CANDIDATE:
        if Kind.CLAIM in latest:
            head["refs"] = [latest[Kind.CLAIM][0]]
            template.refs_note = "The claim the record comes from."
        if config is not None:
            body["policy_version"] = config.policy.version
        # What the record rests on: the evidence the last claim cites (the gate checked
        # it), else what has been filed since.
        body["evidence"] = facts.claimed_evidence or [e[0] for e in facts.evidence]
    elif kind is Kind.VETO:
        body["lift"] = bool(wp.get("vetoed"))


def _fill_claim(
    template: Template, wp: dict[str, Any], wp_body: dict[str, Any], facts: Facts
) -> None:
    body = template.body
    if facts.evidence:
        template.head["refs"] = [_pinned(e) for e in facts.evidence]
        template.refs_note = "The evidence it cites, pinned to the bytes that were ingested."
        body["evidence"] = [e[0] for e in facts.evidence]
    else:
        template.notes["evidence"] = "None is ingested yet since the last claim."
    ground = facts.latest.get(Kind.COMMON_GROUND)
    if ground is not None and ground[1] and facts.ground_version:
        body["common_ground"] = {
            "id": ground[0],
            "version": facts.ground_version,
            "hash": ground[1],
        }
    else:
        template.notes["common_ground"] = "None is ingested yet: `cockpit new common_ground`."
    for key in ("owner", "accountable"):
        if value := wp_body.get(key) or wp.get(key):
            body[key] = value


_ID_LINE = re.compile(rb"^id:[ \t]*['\"]?([A-Za-z0-9][A-Za-z0-9._-]{0,63})", re.M)


def queued_ids(directories: list[Path]) -> set[str]:
    """The ids of the entries waiting in `directories` (read from each file's `id:` line;
    nothing is parsed)."""
    ids: set[str] = set()
    for directory in directories:
        try:
            paths = [p for p in directory.iterdir() if p.is_file() and not p.is_symlink()]
        except OSError:
            continue
        for path in paths:
            try:
                with path.open("rb") as stream:
                    head = stream.read(8192)
            except OSError:
                continue
            ids.update(m.decode() for m in _ID_LINE.findall(head))
    return ids
