"""The progress monitor (issue 15): the runner watching for work that stalls or loops.

Four signs, each with its threshold under `monitor:` in cockpit.yaml (0 turns one off):

- `stall`: an open WP with no event of its own for `stall_after_s` (a WP whose agent is
  running is left alone: the lane's timeout bounds that run);
- `looping`: the gate withheld the WP's claims (`blocked` or `failed`) `loop_after` times;
- `agent_failing`: `agent_failures` runs of its agent in a row failed, timed out or could
  not start;
- `tier_mismatch`: a light WP whose change, as the gate counted it, touches more than
  `light_max_files` files.

Each sign raises one `monitor_flagged` event (`flag`, `reason`, `detail`, and what it
counted), signed by the runner like its other events. A flag's id names its reason and
the seq it rests on (`stall@41`: quiet since seq 41), so a sign is flagged once: never
again for the same seq, open, cleared or dismissed. A flag shows in the needs-attention
view until the WP's next progress clears it (`cockpit.store.flags`) or a person dismisses
it with a reason (`cockpit dismiss WP FLAG --reason T`). The looping and failing counts
flag again at each further multiple of their threshold.

The monitor follows the record, not the runner's memory: it reads the events it follows
from the store (all of them once, then those after the last it read), so a runner started
later flags what happened while none ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from cockpit.domain import TERMINAL_STATES, EventType, Tier
from cockpit.engine.trust.record import RUNNER
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Event, NewEvent, Store
from cockpit.store.events import format_ts
from cockpit.store.flags import AGENT_FAILING, LOOPING, STALL, TIER_MISMATCH
from cockpit.store.projections import problem_of

# The events the monitor counts from (besides the WPs' own last event, for stalls).
FOLLOWED = (
    EventType.VERIFY_COMPLETED.value,
    EventType.AGENT_EXITED.value,
    EventType.AGENT_FAILED.value,
    EventType.WORKTREE_FAILED.value,
    EventType.MONITOR_FLAGGED.value,
)
_WITHHELD = frozenset({"blocked", "failed"})
FLAGS_PER_SCAN = 200


def flag_id(reason: str, seq: int) -> str:
    return f"{reason}@{seq}"


def duration(seconds: float) -> str:
    """`seconds` as a person says it: 45 s, 12 min, 3 h 5 min, 2 d 4 h."""
    whole = int(seconds)
    if whole < 120:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


class Monitor:
    """Flags what needs a person. `scan()` follows the record and appends the flags that
    are due; the runner calls `tick()`, which scans every `monitor.scan_s` seconds."""

    def __init__(
        self,
        ws: Workspace,
        store: Store,
        on_event: Callable[[Event], None] | None = None,
        busy: Callable[[str], bool] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.ws = ws
        self.store = store
        self.settings = ws.config.monitor
        self.on_event = on_event
        self.busy = busy
        self.clock = clock or store.clock
        self.seen = 0  # the followed events are read up to this seq
        self.raised: set[tuple[str, str]] = set()  # (WP, flag id), ever
        self.withheld: dict[str, int] = {}  # the gate's withholding verdicts, by WP
        self.failing: dict[str, int] = {}  # its agent's failed runs in a row, by WP
        # WPs flagged for a tier mismatch since a gate run last counted within the limit:
        # one flag until then, dismissed or not.
        self.mismatched: set[str] = set()
        self.due: list[NewEvent] = []
        self.last_scan: float | None = None

    # -- following the record -------------------------------------------------------------

    def _follow(self) -> None:
        for event in self.store.events_of_types(FOLLOWED, self.seen):
            self.seen = event.seq
            wp = event.work_package
            if wp is None:
                continue
            if event.type == EventType.MONITOR_FLAGGED:
                self.raised.add((wp, str(event.payload.get("flag"))))
                if event.payload.get("reason") == TIER_MISMATCH:
                    self.mismatched.add(wp)
            elif event.type == EventType.VERIFY_COMPLETED:
                self._verdict(wp, event)
            else:
                self._run(wp, event)

    def _verdict(self, wp: str, event: Event) -> None:
        payload = event.payload
        if payload.get("outcome") in _WITHHELD:
            count = self.withheld[wp] = self.withheld.get(wp, 0) + 1
            limit = self.settings.loop_after
            if limit and count % limit == 0:
                times = "once" if count == 1 else f"{count} times"
                detail = f"the gate withheld its claims {times} (the last at seq {event.seq})"
                self._flag(wp, LOOPING, event.seq, detail, {"count": count})
        changed = payload.get("changed_files")
        limit = self.settings.light_max_files
        if not limit or not isinstance(changed, list):
            return
        if len(changed) <= limit:
            self.mismatched.discard(wp)  # a later excess is a new mismatch
        elif wp not in self.mismatched:
            row = self.store.work_package(wp)
            if row is not None and row["tier"] == Tier.LIGHT:
                self.mismatched.add(wp)
                detail = (
                    f"a light work package whose change touches {len(changed)} files "
                    f"(more than {limit}; counted by the gate at seq {event.seq})"
                )
                extra = {"count": len(changed), "limit": limit}
                self._flag(wp, TIER_MISMATCH, event.seq, detail, extra)

    def _run(self, wp: str, event: Event) -> None:
        if event.payload.get("stopped") or event.payload.get("lost"):
            return  # the runner's going, not the agent's failing: the streak stands
        last = problem_of(event.type, event.payload)
        if last is None:
            self.failing.pop(wp, None)  # a run that ended well ends the streak
            return
        count = self.failing[wp] = self.failing.get(wp, 0) + 1
        limit = self.settings.agent_failures
        if limit and count % limit == 0:
            detail = f"{count} agent runs in a row went wrong; the last: {last}"
            self._flag(wp, AGENT_FAILING, event.seq, detail, {"count": count})

    def _flag(self, wp: str, reason: str, seq: int, detail: str, extra: dict[str, Any]) -> None:
        flag = flag_id(reason, seq)
        if (wp, flag) not in self.raised:
            payload = {"flag": flag, "reason": reason, "detail": detail, "basis_seq": seq}
            self.due.append(NewEvent(EventType.MONITOR_FLAGGED, wp, RUNNER, None, payload | extra))

    def _stalls(self) -> None:
        after = self.settings.stall_after_s
        if not after:
            return
        now = self.clock()
        for row in self.store.quiet_work_packages(format_ts(now - timedelta(seconds=after))):
            if self.busy is not None and self.busy(row["id"]):
                continue
            quiet = (now - datetime.fromisoformat(row["updated_ts"])).total_seconds()
            detail = (
                f"no event of its own for {duration(quiet)} (since seq {row['last_seq']}, "
                f"while {row['state']}; the limit is {duration(after)})"
            )
            self._flag(row["id"], STALL, row["last_seq"], detail, {"quiet_s": int(quiet)})

    # -- flagging ------------------------------------------------------------------------

    def scan(self) -> list[Event]:
        """Follow the record since the last scan, then append the flags that are due in
        one transaction: each once, for WPs still open, and none while the WP has an open
        flag of the same reason. Returns the events appended. If the transaction fails,
        the flags stay due for the next scan."""
        self.last_scan = time.monotonic()
        self._follow()
        self._stalls()
        # A scan writes at most FLAGS_PER_SCAN flags: a runner started on a large backlog
        # quiet for days flags it over a few scans, never in one long transaction.
        due, self.due = self.due[:FLAGS_PER_SCAN], self.due[FLAGS_PER_SCAN:]
        if self._more_pending():
            self.last_scan = None  # more are due: the next tick scans again at once
        appended: list[Event] = []
        if not due:
            return appended
        keys: set[tuple[str, str]] = set()
        try:
            with self.store.transaction():
                for new in due:
                    assert new.work_package is not None
                    key = (new.work_package, str(new.payload["flag"]))
                    if key in self.raised or key in keys or self._needless(new):
                        continue
                    keys.add(key)
                    appended.append(self.store.append(new))
        except BaseException:
            self.due = due + self.due  # nothing was written: due again next time
            raise
        self.raised |= keys
        if self.on_event is not None:
            for event in appended:
                self.on_event(event)
        return appended

    def _more_pending(self) -> bool:
        """Whether flags are left for a later scan (those of stalls are found again)."""
        left = bool(self.due)
        self.due = [new for new in self.due if new.payload["reason"] != STALL]
        return left

    def _needless(self, new: NewEvent) -> bool:
        """Whether the flag's WP is gone, closed, or already flagged for the same reason."""
        row = self.store.work_package(str(new.work_package))
        if row is None or row["state"] in TERMINAL_STATES:
            return True
        reason = new.payload["reason"]
        return any(flag.get("reason") == reason for flag in row.get("monitor_flags") or [])

    def tick(self) -> list[Event]:
        """`scan()` when `monitor.scan_s` has passed since the last (or none was made)."""
        if self.last_scan is not None and time.monotonic() - self.last_scan < self.settings.scan_s:
            return []
        return self.scan()
