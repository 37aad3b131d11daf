"""The sweep's side of its helper process (mover.py): start it, ask it to claim the files
about to be planned (a few dozen ahead) and to move them once committed, and read its
answers in the order asked.

Whatever happens to the helper, the sweep goes on without it: an answer that does not
come (the process failed to start, died, or said something unreadable) is `None`, and the
sweep does that file's claim or move itself. A file the helper did claim before it went is
then not where the sweep looks for it; it waits in cur/ for the next sweep, which ingests
it exactly once (the store, not the file, decides: docs/decisions.md).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

from cockpit.engine.queue import maildir as queue
from cockpit.engine.queue import mover
from cockpit.engine.queue.outcomes import Staged, SweepResult, error_result

# A sweep of fewer files than this does its file work itself: for a few entries the helper
# would cost more (its start) than it saves, and a lone entry's way to the board stays short.
HELPER_MIN = 64
# Claims are asked for this many at a time, at most two lots ahead of the sweep: what the
# helper has claimed and the sweep not yet planned stays small (a stopping sweep plans it
# before it ends), and so do the answers waiting in the pipe.
CLAIM_LOT = 32
# The sweep claims this many of its first files itself: the helper is often still starting
# when the parsing ends (it takes about 20 ms to be ready), and planning these gives it the
# millisecond or two it lacks (claiming one costs the sweep about 60 us; 0, 8, 16 and 32
# were measured, 8 did best). The helper is asked for its first claim only once these are
# claimed: two processes claiming into cur/ at once could pick the same free name there.
SWEEP_FIRST = 8
# The files of a sweep's last batch are moved after its commit with nothing left to plan
# meanwhile: the batches are cut so that the last holds about this many.
LAST_BATCH = 64
_STOP_WAIT_S = 5.0


def batch_limit(waiting: int, most: int) -> int:
    """How many of the `waiting` entries the next batch of a helper's sweep may hold (at
    most `most`): all but the last LAST_BATCH, which are left to a short last batch."""
    return min(most, max(LAST_BATCH, waiting - LAST_BATCH))


# A claim's usual answer, as mover.py writes it: claimed, the same bytes, no NAME.sig, the
# same name in cur/.
_CLAIMED_AS_IS = json.dumps([1, True, False, None]).encode() + b"\n"
Move = list[Any]  # ["done", NAME, SIGNED] or ["reject", NAME, TARGET, REASON] (mover.py)
MoveAnswer = list[Any] | int | None  # 0, [ERRNO, STRERROR], or None: no answer came


class Claimed:
    """The helper's answer to a claim: where the file is now (None: it was gone, or the
    claim failed: `failure`), whether it still holds the bytes that were parsed, and
    whether a NAME.sig came with it."""

    __slots__ = ("failure", "path", "same", "signed")

    def __init__(
        self,
        path: Path | None,
        same: bool = False,
        signed: bool = False,
        failure: OSError | None = None,
    ) -> None:
        self.path, self.same, self.signed, self.failure = path, same, signed, failure


class Helper:
    """One sweep's helper process."""

    def __init__(self, dirs: dict[str, Path]) -> None:
        self._cur = dirs["cur"]
        self._proc: subprocess.Popen[bytes] | None = None
        # What each answer still to come is for, in the order asked: a claim (the file's
        # name) or a request of moves (how many).
        self._expected: deque[tuple[str, Any]] = deque()
        self._claims: dict[str, Claimed] = {}  # answers read, not yet taken
        self._to_ask: deque[tuple[str, str]] = deque()  # (name, sha256) not asked yet
        self._asked: set[str] = set()  # asked, not yet taken by the sweep
        self._given: set[str] = set()  # the names it was given to claim
        self._own: set[str] = set()  # the sweep's own first claims, not yet made
        self._moved: list[MoveAnswer] = []
        self._moves_asked = 0
        _reap()
        with contextlib.suppress(OSError):
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", mover.__file__]
                + [str(dirs[name]) for name in ("new", "cur", "done", "rejected")]
                + [str(os.getpid())],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self._proc is not None

    def claim_in_order(self, files: list[tuple[str, str]]) -> None:
        """The files of new/ (name, sha256 of the bytes parsed) the sweep will claim, in
        the order it will ask for them: the helper claims all but the first SWEEP_FIRST,
        which the sweep claims itself first (`claimed_here`)."""
        self._own.update(name for name, _ in files[:SWEEP_FIRST])
        self._to_ask.extend(files[SWEEP_FIRST:])
        self._given.update(name for name, _ in files[SWEEP_FIRST:])
        self._ask()

    def claimed_here(self, name: str) -> None:
        """The sweep has claimed new/NAME itself (or found it gone): once it has done so
        for each of its own files, the helper is asked to claim."""
        self._own.discard(name)
        self._ask()

    def holding(self) -> int:
        """How many files the helper was asked to claim that the sweep has not taken yet."""
        return len(self._asked) if self.alive else 0

    def forget(self, name: str) -> None:
        """The sweep will not take new/NAME's claim (its batch failed before claiming it):
        what the helper makes of it waits in cur/ for the next sweep."""
        self._asked.discard(name)
        self._claims.pop(name, None)
        self._own.discard(name)

    def stop_asking(self) -> None:
        """Claim nothing more than what was asked (the sweep is stopping)."""
        self._to_ask.clear()

    def claimed(self, name: str) -> Claimed | None:
        """The helper's claim of new/NAME (reading answers until it comes); None if the
        helper was not given it, or cannot answer: the sweep claims the file itself."""
        if name not in self._given:
            return None
        self._own.clear()  # the sweep is past its own files (it takes them in order)
        while self.alive and name not in self._asked and self._to_ask:
            self._ask(force=True)  # asked out of order: ask on to it
        while self.alive and name in self._asked and name not in self._claims:
            self._read_one()
        if name not in self._claims:
            return None
        self._asked.discard(name)
        self._ask()
        return self._claims.pop(name)

    def move(self, moves: list[Move]) -> None:
        """Ask for a committed batch's moves, in order (if the helper cannot take them, no
        answer comes: the sweep makes them itself at its end)."""
        while self.alive and self._moves_asked:
            self._read_one()  # one request of moves unanswered at most: the pipe never fills
        if not moves or not self.alive:
            return
        self._send(["move", moves])
        self._expected.append(("moves", len(moves)))
        self._moves_asked += 1

    def moved(self) -> list[MoveAnswer]:
        """End the helper (its input closed, every answer due read, its exit awaited): the
        answers to every move asked, in order, None where none came."""
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        while self.alive and self._expected:
            self._read_one()
        missing = sum(n for kind, n in self._expected if kind == "moves")
        self._stop()
        return self._moved + [None] * missing

    def _ask(self, force: bool = False) -> None:
        if self._own:
            return  # the sweep is still claiming its own first files into cur/
        while self.alive and self._to_ask and (force or len(self._asked) < 2 * CLAIM_LOT):
            lot = [self._to_ask.popleft() for _ in range(min(CLAIM_LOT, len(self._to_ask)))]
            self._send(["claim", lot])
            self._expected.extend(("claim", name) for name, _ in lot)
            self._asked.update(name for name, _ in lot)
            force = False

    def _send(self, request: list[Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
        except (OSError, ValueError):
            self._stop()

    def _read_one(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        if not self._expected:
            self._stop()
            return
        kind, what = self._expected[0]
        try:
            if kind == "claim":
                self._claims[what] = self._claim_answer(what, self._answer())
            else:
                lot = [self._answer() for _ in range(what)]
                if not all((type(a) is int and a == 0) or _failure(a) for a in lot):
                    raise ValueError(lot)
                self._moved += lot
                self._moves_asked -= 1
        except Exception:  # whatever it said (nested too deep, even), it is not believed now
            self._stop(kill=True)  # gone, or saying what it should not: the sweep goes alone
            return
        self._expected.popleft()

    def _answer(self) -> Any:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line == _CLAIMED_AS_IS:  # the usual answers, read without a parser
            return [1, True, False, None]
        if line == b"0\n":  # moved
            return 0
        if not line.endswith(b"\n"):
            raise ValueError("the helper ended")
        return json.loads(line)

    def _claim_answer(self, name: str, answer: Any) -> Claimed:
        if answer == [0]:
            return Claimed(None)
        if isinstance(answer, list) and len(answer) == 3 and answer[0] == 2:
            if not _failure(answer[1:]):
                raise ValueError(answer)
            return Claimed(None, failure=OSError(answer[1], answer[2]))
        done, same, signed, claimed = answer
        if done != 1 or not isinstance(same, bool) or not isinstance(signed, bool):
            raise ValueError(answer)
        if claimed is None:
            claimed = name
        elif (
            not isinstance(claimed, str)
            or "/" in claimed
            or "\x00" in claimed
            or claimed in ("", ".", "..")
        ):
            raise ValueError(answer)
        return Claimed(queue.child(self._cur, claimed), same, signed)

    def _stop(self, kill: bool = False) -> None:
        """Close the helper's pipes: it ends when it reads that its input ended (or at once:
        `kill`, a helper no longer believed, which must not go on with what it was asked
        while the sweep does the same work). It is not waited for here (its interpreter
        takes a few milliseconds to wind down): it is reaped by the next sweep that starts
        a helper, or at the latest on exit."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if kill:
            with contextlib.suppress(OSError):
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        _ENDING.append(proc)


# Helpers told to end, not yet reaped.
_ENDING: list[subprocess.Popen[bytes]] = []


def _reap() -> None:
    """Reap the helpers that have ended (one still ending is left for the next time)."""
    for proc in list(_ENDING):
        try:
            proc.wait(timeout=0 if proc.returncode is None else None)
        except subprocess.TimeoutExpired:
            continue
        _ENDING.remove(proc)


@atexit.register
def _reap_all() -> None:
    for proc in _ENDING:
        try:
            proc.wait(timeout=_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _ENDING.clear()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _failure(answer: Any) -> bool:
    return (
        isinstance(answer, list)
        and len(answer) == 2
        and isinstance(answer[0], int)
        and isinstance(answer[1], str)
    )


class Moves:
    """Where a sweep's committed files go: moved at once, or, with a helper, handed to it a
    batch at a time, each entry's result held until its move is answered."""

    def __init__(self, dirs: dict[str, Path], helper: Helper | None = None) -> None:
        self._dirs = dirs
        self._helper = helper
        # The entries whose move the helper is to make: (entry, its result once moved, the
        # move), in the order asked; how many of them were handed over.
        self._deferred: list[tuple[Staged | None, SweepResult, Move | None]] = []
        self._asked = 0

    def settle(self, current: Staged, result: SweepResult, move: Move) -> SweepResult | None:
        """`result` once `move` is made (raising if it fails), or None with a helper: the
        result is held until the helper's answer."""
        if self._helper is None:
            self.make(move)
            return result
        self._deferred.append((current, result, move))
        return None

    def keep(self, result: SweepResult | None) -> SweepResult | None:
        """`result` as it is, or None with a helper: held in its place behind the results
        held for their moves (the log keeps the sweep's order)."""
        if self._helper is None or result is None or not (result.log or result.errors):
            return result
        self._deferred.append((None, result, None))
        return None

    def make(self, move: Move) -> None:
        kind, name, *rest = move
        path = self._dirs["cur"] / name
        if kind == "done":
            queue.finish(path, self._dirs["done"], signed=rest[0])
        else:
            queue.move_rejected(path, self._dirs["rejected"] / rest[0], rest[1])

    def _still_in_cur(self, current: Staged) -> bool:
        """Whether cur/ still holds this entry's file, the bytes it was ingested from: a
        move the helper made before it went is not made again (the name may be another
        file's by now, claimed since); one whose file cannot be told is left for the next
        sweep, which finds it committed and only moves it."""
        try:
            data = queue.read_regular(current.path, mover.READ_LIMIT)
        except OSError:
            return False
        sha256 = current.item.sha256
        return data is not None and sha256 is not None and _sha256(data) == sha256

    def ask(self) -> None:
        """Hand the helper the moves settled since it was last asked (a committed batch)."""
        if self._helper is not None and self._asked < len(self._deferred):
            moves = [move for _, _, move in self._deferred[self._asked :] if move is not None]
            self._helper.move(moves)
            self._asked = len(self._deferred)

    def settled(self) -> SweepResult:
        """End the helper; the held results, each as its move went: a move the helper did
        not make is made here, and one that failed makes its entry an error (its file stays
        in cur/, and the next sweep, finding it committed, only moves it)."""
        result = SweepResult()
        if self._helper is None:
            return result
        answers = iter(self._helper.moved())
        for current, settled, move in self._deferred:
            if current is None or move is None:  # a result kept in its place, no move
                result.merge(settled)
                continue
            try:
                answer = next(answers, None)  # none came: the helper may or may not have
                if answer is None and self._still_in_cur(current):  # made it before it went
                    self.make(move)
                elif isinstance(answer, list):
                    raise OSError(answer[0], answer[1])
            except Exception as exc:
                failed = error_result(current.original, current.item.parsed, exc)
                failed.events = settled.events
                settled = failed
            result.merge(settled)
        self._deferred, self._asked = [], 0
        return result
