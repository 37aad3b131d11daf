"""TCP port ranges for live work packages (SPEC 11.4).

Each WP from `dispatched` until it is `accepted`, `complete`, `cancelled`, `failed` or
`rolled_back` holds `worktrees.ports_per_wp` consecutive ports: `COCKPIT_PORT` (the
first) and `COCKPIT_PORTS` (`first-last`) in its agent's environment and handoff, so the
dev servers of two agents never fight over a port.

The ranges come from `FIRST_PORT` up to `LAST_PORT` (20000-32767: above the registered
ports most services use, below Linux's ephemeral range, 32768-60999, from which the
kernel picks outgoing connections' ports), in blocks of `ports_per_wp` aligned on
`FIRST_PORT`. A block is taken only if no live WP holds any of its ports and every port
binds now (on 0.0.0.0, and on :: where the host has IPv6): a server already listening on
one is never handed out.

The runner records each reservation as `ports_reserved {first, last, range}`; what a WP
holds is derived from the record alone (so a restarted runner keeps it): its latest
reservation, while the WP has stayed live since. A range is released by the WP leaving
the live states, with no event of its own; coming back (a `revision_required` review
sends an accepted WP back to work) takes a new reservation.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from dataclasses import dataclass
from typing import Any

from cockpit.domain import LIVE_STATES, EventType, State
from cockpit.errors import Refused
from cockpit.store import Event, NewEvent, Store

FIRST_PORT = 20000
LAST_PORT = 32767
# Live for ports: LIVE_STATES less `failed` (SPEC 11.4 ends a range there).
PORT_STATES = frozenset(s.value for s in LIVE_STATES - {State.FAILED})


class PortsExhausted(Refused):
    """No block of free ports is left; the message says so in one sentence."""


@dataclass(frozen=True)
class PortRange:
    first: int
    last: int

    @property
    def text(self) -> str:
        return f"{self.first}-{self.last}"

    def payload(self) -> dict[str, Any]:
        return {"first": self.first, "last": self.last, "range": self.text}

    def env(self) -> dict[str, str]:
        """What an agent's (and its setup's) environment gets."""
        return {"COCKPIT_PORT": str(self.first), "COCKPIT_PORTS": self.text}

    def overlaps(self, other: PortRange) -> bool:
        return self.first <= other.last and other.first <= self.last


def _live_since(events: list[Event]) -> int:
    """The seq after which the WP has been live without a break (0: always, or never
    left): the last transition that took it out of the live states."""
    return max(
        (
            e.seq
            for e in events
            if (to := (e.payload.get("transition") or {}).get("to")) and to not in PORT_STATES
        ),
        default=0,
    )


def held(store: Store, wp_id: str) -> PortRange | None:
    """The ports the WP holds now (None: it is not live, or has none reserved)."""
    if store.work_package_state(wp_id) not in PORT_STATES:
        return None
    events = store.events(wp_id)
    reservations = [e for e in events if e.type == EventType.PORTS_RESERVED]
    if not reservations or reservations[-1].seq <= _live_since(events):
        return None
    payload = reservations[-1].payload
    return PortRange(int(payload["first"]), int(payload["last"]))


def held_by_live(store: Store) -> dict[str, PortRange]:
    """Every live WP's range, by WP (only live WPs are read: the finished ones of a
    long-lived workspace cost nothing)."""
    found: dict[str, PortRange] = {}
    for state in sorted(PORT_STATES):
        for wp_id in store.work_package_ids(state=state):
            ports = held(store, wp_id)
            if ports is not None:
                found[wp_id] = ports
    return found


def binds(port: int) -> bool:
    """Whether `port` is free on this host now (nothing bound to it, on any address)."""
    families = [(socket.AF_INET, "0.0.0.0")]
    if socket.has_ipv6:
        families.append((socket.AF_INET6, "::"))
    for family, address in families:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue  # no such family here
        try:
            if family == socket.AF_INET6:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue  # IPv6 configured off: nothing can listen there either
            return False
        finally:
            sock.close()
    return True


def choose(taken: list[PortRange], size: int) -> PortRange:
    """The first block of `size` ports that no range in `taken` overlaps and whose ports
    all bind. Raises PortsExhausted."""
    first = FIRST_PORT
    while first + size - 1 <= LAST_PORT:
        block = PortRange(first, first + size - 1)
        first += size
        if any(block.overlaps(t) for t in taken):
            continue
        if all(binds(p) for p in range(block.first, block.last + 1)):
            return block
    raise PortsExhausted(
        f"no {size} free TCP ports are left between {FIRST_PORT} and {LAST_PORT} "
        "(worktrees.ports_per_wp; live work packages hold the others)"
    )


def reservation(store: Store, wp_id: str, size: int, by: str) -> NewEvent | None:
    """The `ports_reserved` event that gives the WP `size` ports, or None when it needs
    none (not live, already holding a range, or `size` 0). Call it inside the
    transaction that appends the event, so the ranges it avoids are the ones on record.
    Raises PortsExhausted."""
    if size <= 0 or store.work_package_state(wp_id) not in PORT_STATES:
        return None
    if held(store, wp_id) is not None:
        return None
    taken = [r for wp, r in held_by_live(store).items() if wp != wp_id]
    block = choose(taken, size)
    return NewEvent(EventType.PORTS_RESERVED, wp_id, by, None, block.payload())
