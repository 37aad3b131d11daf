"""Driving a simulation (issue 16): the simulator is the owner and the agents; what they
write goes through the real queue (files in `queue/new/`, signed where the policy asks),
the real runner (its sweep, worktrees and handoffs) and the real gate. The simulator
knows the ground truth of every claim (which fault, if any, it carries); the gate never
sees it.

Time is simulated: a round is an hour of the record's clock, and every event of a round
is a millisecond after the last, so the same seed writes the same record.

Each agent takes up one new WP a round (WP n is booked in round (n-1) // K), so the agents'
numbers set the pace. A WP's course, a round per step: booked and dispatched; the scope
confirmed; the owner's `go` (and a diagnostic review where its tier requires one); then
claim attempts, each drawing its fault (`faults.draw`), with the owner's recovery after
each the gate withholds, up to `MAX_ATTEMPTS`. Light WPs change no repository (the gate
checks their packets); standard and deep ones change `repo/` in their worktree, which the
gate diffs and validates. A WP the simulator cannot drive on (its booking refused by the
policy, or a state it does not act in) is settled and named in the report.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from cockpit.domain import EvidenceClass, Mode, State, Tier
from cockpit.engine.entries.models import ENTRY_SCHEMA
from cockpit.engine.queue import maildir as queue
from cockpit.engine.repo import worktrees
from cockpit.engine.runner.agents import Agents
from cockpit.engine.runner.loop import RunnerLock, sweep_and_verify
from cockpit.engine.simulate import faults, world
from cockpit.engine.simulate.world import LANE, OUTSIDER, OWNER, REPO, World
from cockpit.engine.trust import record, sshsig
from cockpit.engine.workspace.drafts import entry_head
from cockpit.store import Store

MAX_ATTEMPTS = 3
START = datetime(2026, 1, 1, tzinfo=UTC)
ROUND = timedelta(hours=1)
AGED_S = 10  # entries are written aged: never "young" to the queue (SPEC 3.1's retry)
REPO_FAULTS = frozenset({"out_of_scope", "failing_validation"})  # need a repository


def tier_of(n: int) -> Tier:
    """WP n's tier: half light, a third standard, the rest deep, interleaved."""
    return (Tier.LIGHT, Tier.STANDARD, Tier.LIGHT, Tier.DEEP, Tier.LIGHT, Tier.STANDARD)[n % 6]


@dataclass
class Attempt:
    wp: str
    number: int
    fault: str | None  # as enacted: None for an honest attempt (or a fault that cannot apply)
    claim_id: str
    round: int
    entry_ids: list[str] = field(default_factory=list)  # what the attempt filed


@dataclass
class Course:
    """What the simulator knows of one WP."""

    id: str
    tier: Tier
    agent: str
    repo: bool
    attempts: list[Attempt] = field(default_factory=list)
    ground: tuple[str, int, str] | None = None  # the latest common ground: id, version, hash
    settled: bool = False
    admitted_round: int | None = None
    start: int = 0  # the round it is booked in
    booked: bool = False
    left: str | None = None  # why the simulator stopped driving it short of a decision


class Clock:
    """The record's simulated clock. In round r, entries are written from the round's hour
    on, a millisecond apart (`at`), and the runner records their events half an hour
    later, a millisecond more at every call."""

    def __init__(self) -> None:
        self.round = 0
        self.ticks = itertools.count()

    def __call__(self) -> datetime:
        return self.start() + timedelta(minutes=30, milliseconds=next(self.ticks))

    def at(self, offset_ms: int) -> datetime:
        return self.start() + timedelta(milliseconds=offset_ms)

    def start(self) -> datetime:
        return START + self.round * ROUND


class Simulation:
    def __init__(self, world: World, tasks: int, rates: dict[str, Decimal], seed: int) -> None:
        self.world = world
        self.ws = world.ws
        self.seed = seed
        self.rates = rates
        self.clock = Clock()
        k = len(world.agents)
        self.courses = {
            f"WP-{n:05d}": Course(
                f"WP-{n:05d}",
                tier_of(n),
                world.agents[(n - 1) % k],
                tier_of(n) is not Tier.LIGHT,
                start=(n - 1) // k,
            )
            for n in range(1, tasks + 1)
        }
        # No WP needs more rounds than its course has steps: past that, something is wrong.
        self.last_round = (tasks - 1) // k + 4 + 2 * MAX_ATTEMPTS + 2
        self.filed_claims: dict[str, list[str]] = {}  # ingested claim ids, by agent
        self.outbox: list[tuple[str, bytes, bytes | None]] = []
        self.stop = threading.Event()

    # -- writing entries -------------------------------------------------------------------

    def _file(self, kind: str, entry_id: str, wp: str, principal: str, body: dict[str, Any],
              *, signer: str | None = None, refs: list[str] | None = None) -> bytes:  # fmt: skip
        """Queue an entry (written when the round ends); `signer` signs it (default: its
        principal) where the policy asks; `signer=""` leaves it unsigned."""
        moment = self.clock.at(len(self.outbox))
        head: dict[str, Any] = {"schema": ENTRY_SCHEMA, "kind": kind}
        config = self.ws.config
        head |= entry_head(entry_id, wp, principal, config.tenant, config.workspace, moment)
        head["refs"] = refs or []
        head["body"] = body
        data = yaml.safe_dump(head, sort_keys=False, allow_unicode=True).encode()
        who = principal if signer is None else signer
        sig = None
        if self.world.signed and who:
            sig = self.world.signers[who].sign(data, sshsig.ENTRY).encode()
        self.outbox.append((f"{entry_id}.yaml", data, sig))
        return data

    def _book(self, course: Course) -> None:
        wp = course.id
        body: dict[str, Any] = {
            "title": f"Simulated task {wp}",
            "objective": f"make wp/{wp}/done.txt say ok",
            "success_criteria": [f"wp/{wp}/done.txt says ok"],
            "owner": course.agent,
            "accountable": OWNER,
            "tier": course.tier.value,
            "lane": LANE,
        }
        if course.repo:
            body |= {
                "target_repo": REPO,
                "owned_surfaces": [f"wp/{wp}/**"],
                "forbidden_surfaces": ["protected/**"],
                "validation_commands": [
                    f"grep -qx ok wp/{wp}/done.txt",
                    f"test ! -e wp/{wp}/broken",
                ],
            }
        if self.ws.config.tiers[course.tier].require_rollback_plan:
            body["rollback_plan"] = "reset the worktree to its base commit"
        self._file("work_package", wp, wp, OWNER, body)
        course.booked = True
        self._file("dispatch", f"DSP-{wp}", wp, OWNER, {"to": course.agent})

    def _ground(self, course: Course, by: str) -> None:
        version = course.ground[1] + 1 if course.ground else 1
        ground_id = f"CG-{course.id}-v{version}"
        body = {
            "version": version,
            "objective": f"make wp/{course.id}/done.txt say ok",
            "success_criteria": [f"wp/{course.id}/done.txt says ok"],
            "stage": "verify",
        }
        data = self._file("common_ground", ground_id, course.id, by, body)
        course.ground = (ground_id, version, hashlib.sha256(data).hexdigest())

    # -- an attempt ------------------------------------------------------------------------

    def _attempt(self, course: Course) -> None:
        number = len(course.attempts) + 1
        fault = faults.draw(self.rates, self.seed, course.id, number)
        previous = self.filed_claims.get(course.agent, [])
        if (fault in REPO_FAULTS and not course.repo) or (
            fault == "replayed_entry" and not previous
        ):
            fault = None  # the fault cannot be enacted on this WP: an honest attempt
        claim_id = previous[-1] if fault == "replayed_entry" else f"CLM-{course.id}-{number}"
        filed = len(self.outbox)
        attempt = Attempt(course.id, number, fault, claim_id, self.clock.round)
        course.attempts.append(attempt)
        if course.ground is None:
            self._ground(course, course.agent)
        pinned = course.ground
        if fault == "stale_ground":
            self._ground(course, OWNER)  # the owner's newer version, filed before the claim
        assert pinned is not None
        self._work(course, fault)
        evidence = self._evidence(course, number, fault)
        body = {
            "done_state": "done",
            "common_ground": {"id": pinned[0], "version": pinned[1], "hash": pinned[2]},
            "evidence": evidence,
            "owner": course.agent,
            "accountable": OWNER,
            "unresolved_questions": ["is the limit 3 or 5?"] if fault == "open_questions" else [],
            "summary": f"attempt {number}",
        }
        principal, signer = course.agent, None
        if fault == "non_assignee":
            principal = OUTSIDER
        elif fault == "forged_principal":
            signer = ""  # the outsider cannot sign as the assignee
        self._file("claim", claim_id, course.id, principal, body, signer=signer)
        attempt.entry_ids = [name.removesuffix(".yaml") for name, _, _ in self.outbox[filed:]]

    def _work(self, course: Course, fault: str | None) -> None:
        """What the agent leaves in the WP's worktree. Each attempt of the assignee's
        starts by undoing what a faulty one left (a fault is an attempt's, not the WP's)."""
        if not course.repo or fault in ("non_assignee", "forged_principal", "replayed_entry"):
            return  # nothing changed by the assignee
        root = worktrees.worktree_path(self.ws, course.id)
        folder = root / "wp" / course.id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "broken").unlink(missing_ok=True)
        (root / "protected" / "keep.txt").write_text(world.PROTECTED)
        (folder / "done.txt").write_text("partial\n" if fault == "premature_claim" else "ok\n")
        if fault == "failing_validation":
            (folder / "broken").write_text("the change breaks the check\n")
        if fault == "out_of_scope":
            (root / "protected" / "keep.txt").write_text("changed by the agent\n")

    def _evidence(self, course: Course, number: int, fault: str | None) -> list[str]:
        floor = self.ws.config.evidence_floor(course.tier)
        if fault == "weak_evidence":
            ladder = list(EvidenceClass)
            if ladder.index(floor) == 0:
                return []  # nothing below the floor: no evidence cited at all
            floor = ladder[ladder.index(floor) - 1]
        evidence_id = f"EVD-{course.id}-{number}"
        item: dict[str, Any] = {"class": floor.value, "ref": f"wp/{course.id}/done.txt"}
        if course.repo:
            item |= {"command": f"grep -qx ok wp/{course.id}/done.txt", "exit_code": 0}
        self._file("evidence", evidence_id, course.id, course.agent, {"items": [item]})
        return [evidence_id]

    # -- rounds ----------------------------------------------------------------------------

    def _act(self, store: Store, course: Course) -> None:
        state = store.work_package_state(course.id)
        wp = course.id
        if state is None and course.booked:
            course.settled = True  # the policy refused the booking (the report says why)
            refused = next((r for r in store.rejections() if r["entry_id"] == wp), None)
            course.left = f"booking refused: {refused['code'] if refused else 'not ingested'}"
        elif state is None:
            if self.clock.round >= course.start:
                self._book(course)
        elif state == State.DISPATCHED:
            body: dict[str, Any] = {"confirmed": True, "notes": "in scope"}
            self._file("scope_confirmation", f"SCP-{wp}", wp, course.agent, body)
        elif state == State.SCOPE_CONFIRMED:
            self._file("review", f"REV-{wp}-go", wp, OWNER, {"verdict": "go"})
            if self.ws.config.tiers[course.tier].require_diagnostic_review:
                body = {"verdict": "diagnostic", "findings": ["risks reviewed"]}
                self._file("review", f"REV-{wp}-diag", wp, OWNER, body)
        elif state == State.ACCEPTED:
            course.settled = True
            course.admitted_round = self.clock.round
        elif len(course.attempts) >= MAX_ATTEMPTS and state != State.CLAIMED:
            course.settled = True  # withheld for good
        elif state in (State.IN_PROGRESS, State.RECOVERING):
            self._attempt(course)
        elif state in (State.BLOCKED, State.FAILED):
            body = {
                "error_class": "gate_withheld",
                "failure_signal": f"verify_completed {state}",
                "retry_count": len(course.attempts),
                "fallback_used": False,
                "next_action": "meet the predicate the gate named",
                "recovery_owner": course.agent,
            }
            self._file("recovery", f"RCV-{wp}-{len(course.attempts)}", wp, OWNER, body)
        else:
            course.settled = True  # a state the simulator does not act in: the report says so
            course.left = f"left {state}"

    def rounds(self) -> Iterator[int]:
        """Run the simulation, yielding after each round (its number)."""
        with self.ws.open_store(self.clock) as store, RunnerLock(self.ws):
            record.attach(self.ws, store)
            agents = Agents(self.ws, store, Mode.LIVE)
            while True:
                for course in self.courses.values():
                    if not course.settled:
                        self._act(store, course)
                waiting = any(not c.settled for c in self.courses.values())
                if not self.outbox and not waiting:
                    break
                if self.clock.round > self.last_round:
                    for course in self.courses.values():
                        if not course.settled:
                            course.settled, course.left = True, "out of rounds"
                    break
                for name, data, sig in self.outbox:
                    _aged(queue.deliver(self.ws, name, data, sig), sig is not None)
                self.outbox = []
                sweep_and_verify(self.ws, store, Mode.LIVE, stop=self.stop, agents=agents)
                agents.tick()  # worktrees and handoffs for the WPs dispatched
                self._remember_claims(store)
                yield self.clock.round
                self.clock.round += 1

    def _remember_claims(self, store: Store) -> None:
        for course in self.courses.values():
            for attempt in course.attempts:
                if attempt.round != self.clock.round or attempt.fault == "replayed_entry":
                    continue
                entry = store.entry(attempt.claim_id)
                if entry is not None and entry["work_package"] == course.id:
                    self.filed_claims.setdefault(course.agent, []).append(attempt.claim_id)


def _aged(path: Path, signed: bool) -> None:
    """Date a delivered entry (and its signature) back, as an entry written a while ago:
    the queue retries a young entry it cannot take yet, which would make what happens in
    a round depend on how long the round took."""
    past = time.time() - AGED_S
    for each in (path, *([path.with_name(path.name + ".sig")] if signed else [])):
        os.utime(each, (past, past))
