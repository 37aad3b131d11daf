"""The faults a simulated agent draws (issue 16): what each one is, the default mix, the
`--faults` spec, and the draw, which depends on the seed, the WP and the attempt alone, so
that the same stream is drawn whatever order the simulation runs in.

A claim attempt has at most one fault. The kinds, and what in the product is meant to
catch each (`CAUGHT_BY`):

- `premature_claim`: partial work claimed `done`, its evidence saying the checks passed;
- `weak_evidence`: evidence below the tier's floor (light tier: no evidence cited);
- `stale_ground`: the claim pins a common-ground version the owner has replaced;
- `out_of_scope`: the change also edits a forbidden surface;
- `failing_validation`: the work is broken, its evidence saying the checks passed;
- `open_questions`: the claim leaves unresolved questions open;
- `non_assignee`: another agent files the claim;
- `replayed_entry`: the claim reuses the id of an earlier claim of the agent's;
- `forged_principal`: another agent files the claim in the assignee's name, unsigned.
"""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal, InvalidOperation

from cockpit.errors import InputError

FAULTS = (
    "premature_claim",
    "weak_evidence",
    "stale_ground",
    "out_of_scope",
    "failing_validation",
    "open_questions",
    "non_assignee",
    "replayed_entry",
    "forged_principal",
)
# What each fault is meant to be caught by: a predicate of the gate, or the queue's check.
CAUGHT_BY = {
    "premature_claim": "validation_passed (the gate re-runs the WP's validation)",
    "weak_evidence": "evidence_floor",
    "stale_ground": "ground_fresh",
    "out_of_scope": "scope_respected",
    "failing_validation": "validation_passed",
    "open_questions": "no_open_blockers",
    "non_assignee": "ingest: not_assignee",
    "replayed_entry": "ingest: replay_conflict",
    "forged_principal": "ingest: unsigned (with policy.signatures: required)",
}
# The default mix: 3% of attempts for each kind, 27% in all; the rest are honest.
DEFAULT_RATE = Decimal("0.03")
DEFAULT = dict.fromkeys(FAULTS, DEFAULT_RATE)
SCALE = 10**6  # rates are drawn to a millionth


def parse_spec(spec: str) -> dict[str, Decimal]:
    """`--faults`: `default`, `none`, or `KIND=RATE,...` (rates in [0, 1], summing to at most
    1; an unnamed kind is 0; `default,KIND=RATE` changes the default mix). InputError
    naming what is wrong."""
    text = spec.strip()
    if not text:
        raise InputError("--faults: give default, none, or KIND=RATE,...")
    rates = dict.fromkeys(FAULTS, Decimal(0))
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "default":
            rates.update(DEFAULT)
            continue
        if part == "none":
            rates = dict.fromkeys(FAULTS, Decimal(0))
            continue
        name, sep, value = part.partition("=")
        if not sep or name.strip() not in FAULTS:
            raise InputError(
                f"--faults: {part!r} is not KIND=RATE, default or none (the kinds: "
                f"{', '.join(FAULTS)})"
            )
        try:
            rate = Decimal(value.strip())
        except InvalidOperation:
            raise InputError(f"--faults: the rate of {name.strip()} is not a number") from None
        if not rate.is_finite() or not Decimal(0) <= rate <= 1:
            raise InputError(f"--faults: the rate of {name.strip()} must be between 0 and 1")
        if rate and rate * SCALE < 1:
            raise InputError(f"--faults: rates are drawn to a millionth; {rate} is less")
        rates[name.strip()] = rate
    if sum(rates.values()) > 1:
        raise InputError("--faults: the rates add up to more than 1")
    return rates


def rng(seed: int, *parts: object) -> random.Random:
    """A random stream of its own for (seed, parts): stable across runs and platforms."""
    key = ":".join(str(p) for p in (seed, *parts)).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def draw(rates: dict[str, Decimal], seed: int, wp: str, attempt: int) -> str | None:
    """The fault of `wp`'s claim attempt `attempt` (1 first), or None for an honest one."""
    point = rng(seed, "fault", wp, attempt).randrange(SCALE)
    edge = 0
    for kind in FAULTS:
        edge += int(rates[kind] * SCALE)
        if point < edge:
            return kind
    return None
