"""Booking a work package (`cockpit book`): its `work_package` entry made from a procedure
pack and the booking's options (an option given overrides the pack), or from the options
alone, then filed into the queue exactly as `cockpit submit --sign` files an entry:
checked first, signed with the principal's key where entries are signed, delivered the
Maildir way. With `dispatch_to`, a `dispatch` entry follows it in the same batch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from cockpit.domain import Capability, Kind, Tier, is_valid_id
from cockpit.engine.config.model import Config
from cockpit.engine.entries.models import ENTRY_SCHEMA
from cockpit.engine.procedures.pack import LoadedPack, ScopeTemplate, fill, load_pack
from cockpit.engine.queue.submit import SubmitError, submit_data
from cockpit.engine.trust import signer
from cockpit.engine.workspace.drafts import entry_head, fresh_id, queued_ids
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import InputError, Refused
from cockpit.store import Store

_NUMBERED = re.compile(r"WP-(\d+)")
_GATE = "scope_confirmation"  # what a dispatch made with --to asks the agent for first


@dataclass(frozen=True)
class Booking:
    """What `cockpit book` was asked. None (or empty) leaves a field to the pack."""

    title: str
    procedure: str | None = None
    objective: str | None = None
    target_repo: str | None = None
    wp_id: str | None = None
    lane: str | None = None
    tier: str | None = None
    owner: str | None = None
    accountable: str | None = None
    base_ref: str | None = None
    rollback_plan: str | None = None
    criteria: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    dispatch_to: str | None = None


@dataclass(frozen=True)
class Booked:
    """What was filed (`submitted`: entry ids, empty when `errors`), and from which pack."""

    work_package: str
    submitted: list[str]
    errors: list[SubmitError]
    pack: LoadedPack | None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "submitted": self.submitted,
            "work_package": self.work_package,
            "procedure": None
            if self.pack is None
            else {
                "archetype": self.pack.pack.archetype,
                "file": self.pack.file,
                "sha256": self.pack.sha256,
            },
        }
        if self.errors:
            document["errors"] = [e.__dict__ for e in self.errors]
        return document


def book(
    ws: Workspace,
    store: Store,
    booking: Booking,
    principal: str,
    *,
    key: Path | None = None,
    now: datetime | None = None,
) -> Booked:
    """Book a WP as `principal`: make its entry (and its dispatch), check them as `cockpit
    submit` does and file them. Raises InputError (exit 2) for a bad or missing pack, a
    missing field, an id in use or a dispatch target that cannot take the WP, and
    Refused when an entry must be signed and no key of the principal's is at hand. Entry
    checks that fail come back as `errors`, with nothing filed."""
    loaded = load_pack(ws.root, booking.procedure) if booking.procedure else None
    if booking.wp_id is not None and not is_valid_id(booking.wp_id):
        raise InputError(
            f"--id {booking.wp_id!r} is not an entry id ([A-Za-z0-9][A-Za-z0-9._-]{{0,63}})"
        )
    taken = _taken(ws, store)
    wp_id = booking.wp_id or next_wp_id(store.work_package_ids(), taken)
    if booking.wp_id and (taken(wp_id) or store.work_package(wp_id) is not None):
        raise InputError(f"{wp_id} is in use already; choose another id, or leave --id out")
    body = work_package_body(booking, principal, ws.config, loaded, wp_id)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    head = _head(ws.config, Kind.WORK_PACKAGE, wp_id, wp_id, principal, moment)
    named = [(f"{wp_id}.yaml", _text(head, body, loaded))]
    if booking.dispatch_to:
        to = _dispatch_target(ws.config, booking.dispatch_to, body["lane"])
        dispatch_id = fresh_id(Kind.DISPATCH, wp_id, taken)
        later = moment + timedelta(milliseconds=1)  # ingested after the booking
        head = _head(ws.config, Kind.DISPATCH, dispatch_id, wp_id, principal, later)
        named.append((f"{dispatch_id}.yaml", _text(head, {"to": to, "next_gate": _GATE}, None)))
    # As `cockpit submit` does: signed where the workspace requires it or a key is given;
    # under `optional`, also when the principal's own key is at hand, else unsigned.
    sign = bool(key) or ws.config.signatures_required or _key_at_hand(ws, principal)
    submitted, errors = submit_data(ws, named, sign=sign, key=key)
    return Booked(wp_id, submitted, errors, loaded)


def _key_at_hand(ws: Workspace, principal: str) -> bool:
    if not ws.config.keys_of(principal):
        return False
    try:
        signer.choose_key(ws.config, principal, None, workspace=ws.root)
    except Refused:
        return False
    return True


def work_package_body(
    booking: Booking, principal: str, config: Config, loaded: LoadedPack | None, wp_id: str
) -> dict[str, Any]:
    """The `body` of the WP's entry: the pack's fields with its templates filled, each
    overridden by the booking's option when given (criteria and labels are added to the
    pack's). Raises InputError naming what is missing or does not fit."""
    pack = loaded.pack if loaded else None
    title = booking.title.strip()
    if not title:
        raise InputError("--title must not be empty")
    lane = booking.lane or (pack.lane if pack else None)
    tier = booking.tier or (pack.tier.value if pack else None)
    if lane is None or tier is None:
        lanes = ", ".join(config.lanes) or "none"
        raise InputError(
            f"without --procedure, give --lane and --tier (the lanes: {lanes}; the tiers: "
            f"{', '.join(t.value for t in Tier)})"
        )
    if pack is not None and all(step.lane != lane for step in pack.sequence):
        lanes = ", ".join(dict.fromkeys(step.lane for step in pack.sequence))
        raise InputError(
            f"the {pack.archetype} procedure has no step for lane {lane} (its lanes: "
            f"{lanes}); book it into one of those, or without --procedure"
        )
    if lane not in config.lanes:
        where = f"{loaded.file} names" if loaded and booking.lane is None else "--lane names"
        lanes = ", ".join(config.lanes) or "none"
        raise InputError(
            f"{where} lane {lane}, which cockpit.yaml does not have (its lanes: {lanes})"
        )
    if tier not in {t.value for t in Tier}:
        raise InputError(f"--tier takes {', '.join(t.value for t in Tier)}, not {tier!r}")
    values = {"id": wp_id, "title": title, "target_repo": booking.target_repo, "lane": lane}
    where = loaded.file if loaded else ""
    objective = booking.objective
    if objective is None and pack is not None:
        objective = fill(pack.scope.objective, values, f"{where}: scope.objective")
    if not objective or not objective.strip():
        raise InputError("without --procedure, give --objective (what the work must achieve)")
    scope = pack.scope if pack else ScopeTemplate(objective="-")
    criteria = [fill(c, values, f"{where}: scope.success_criteria") for c in scope.success_criteria]
    for option, name in (("--owner", booking.owner), ("--accountable", booking.accountable)):
        if name is not None and name not in config.principals:
            raise InputError(f"{option} {name}: not a principal of cockpit.yaml")
    body: dict[str, Any] = {
        "title": title,
        "objective": objective.strip(),
        "success_criteria": criteria + list(booking.criteria),
        "owner": booking.owner or lane_owner(config, lane),
        "accountable": booking.accountable or principal,
        "tier": tier,
        "lane": lane,
        "owned_surfaces": list(scope.owned_surfaces),
        "forbidden_surfaces": list(scope.forbidden_surfaces),
        "validation_commands": list(pack.validation_commands) if pack else [],
    }
    if booking.target_repo:
        body["target_repo"] = booking.target_repo
    if booking.base_ref:
        body["base_ref"] = booking.base_ref
    body["labels"] = list(dict.fromkeys([*scope.labels, *booking.labels]))
    if booking.rollback_plan:
        body["rollback_plan"] = booking.rollback_plan
    elif pack is not None and pack.rollback is not None:
        body["rollback_plan"] = fill(pack.rollback.plan, values, f"{where}: rollback.plan")
    if loaded is not None:
        body["procedure"] = loaded.record(values).model_dump(mode="json", exclude_none=True)
    return body


def lane_owner(config: Config, lane: str) -> str:
    """The one principal that can claim work of `lane` (it holds `claim` and serves the
    lane); InputError asking for --owner when there is none or more than one."""
    able = [
        name
        for name, principal in config.principals.items()
        if config.has(name, Capability.CLAIM) and (not principal.lanes or lane in principal.lanes)
    ]
    if len(able) == 1:
        return able[0]
    serving = f"lane {lane} is served by {', '.join(able)}" if able else f"nobody serves {lane}"
    raise InputError(f"name the WP's owner with --owner ({serving})")


def next_wp_id(booked: list[str], taken: Callable[[str], bool]) -> str:
    """`WP-n` (four digits at least) for one more than the highest n booked, the first
    such id not taken."""
    numbers = [int(m.group(1)) for i in booked if (m := _NUMBERED.fullmatch(i))]
    n = max(numbers, default=0) + 1
    while taken(f"WP-{n:04d}"):
        n += 1
    return f"WP-{n:04d}"


def _taken(ws: Workspace, store: Store) -> Callable[[str], bool]:
    """Whether an id is used: ingested, signed and rejected, or waiting in the queue."""
    queued = queued_ids([ws.queue_dir(n) for n in ("tmp", "new", "cur")])

    def taken(entry_id: str) -> bool:
        if entry_id in queued:
            return True
        sha256, rejected = store.id_taken(entry_id)
        return sha256 is not None or rejected is not None

    return taken


def _dispatch_target(config: Config, to: str, lane: str) -> str:
    if to not in config.principals:
        raise InputError(f"--to {to}: not a principal of cockpit.yaml")
    lanes = config.principals[to].lanes
    if not config.has(to, Capability.CLAIM) or (lanes and lane not in lanes):
        raise InputError(f"--to {to}: it cannot take work of lane {lane} (it needs `claim`)")
    return to


def _head(
    config: Config, kind: Kind, entry_id: str, wp_id: str, principal: str, moment: datetime
) -> dict[str, Any]:
    head = {"schema": ENTRY_SCHEMA, "kind": kind.value}
    return head | entry_head(entry_id, wp_id, principal, config.tenant, config.workspace, moment)


def _text(head: dict[str, Any], body: dict[str, Any], loaded: LoadedPack | None) -> bytes:
    """The entry's YAML (a JSON round trip first: no object is shared, so no alias)."""
    document = json.loads(json.dumps({**head, "body": body}))
    source = f" from {loaded.file} (sha256 {loaded.sha256[:12]})" if loaded else ""
    text = f"# Booked by `cockpit book`{source}.\n" if head["kind"] == "work_package" else ""
    text += yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text.encode("utf-8")
