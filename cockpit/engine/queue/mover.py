"""The sweep's helper process (issue 13): the queue's file work, beside the process that
plans and appends.

A large sweep is two jobs on two cores. The sweeping process parses, plans and appends;
this process claims the files it is about to plan (new/ to cur/, in its order), reads each
back to say whether it still holds the bytes that were parsed, and moves them to done/ or
rejected/ once their batch is committed. It runs by path with the standard library alone
(`python -I -S mover.py NEW CUR DONE REJECTED PID`, PID the sweeping process), starting
while the sweep parses, and does only what it is asked, in the order asked, through the
queue's own functions (maildir.py). It ends when its input ends, or when the sweeping
process is gone; a claim it made that the sweep never planned is an orphan in cur/, which
the next sweep ingests exactly once, as after any crash.

Requests, one JSON line each, answered one JSON line per item, in order:

- `["claim", [[NAME, SHA256], ...]]`: claim new/NAME; `[1, SAME, SIGNED, CLAIMED]` (SAME:
  the claimed file holds bytes of that sha256; SIGNED: a NAME.sig came with it; CLAIMED:
  its name in cur/, or null when it kept its name), `[0]` if it was gone, or `[2, ERRNO,
  STRERROR]` if the claim failed.
- `["move", [MOVE, ...]]`, each MOVE `["done", NAME, SIGNED]` (move cur/NAME to done/, with
  its NAME.sig if SIGNED) or `["reject", NAME, TARGET, REASON]` (write
  rejected/TARGET.reason.json holding REASON, then move cur/NAME to rejected/TARGET): `0`,
  or `[ERRNO, STRERROR]` if it failed. The answers to a request's moves come at once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO

# An entry is read back whole up to this many bytes (the entry limit: a larger file is
# answered "not the same", and the sweep reads it itself).
READ_LIMIT = 1024 * 1024
# Answers to claims are sent on every so many (the first at once: the sweep may be waiting).
_CLAIMS_PER_FLUSH = 8


def _maildir() -> ModuleType:
    """The queue's file functions, loaded by path: this process imports no package."""
    spec = importlib.util.spec_from_file_location(
        "cockpit_queue_maildir", Path(__file__).with_name("maildir.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _failure(exc: OSError) -> list[Any]:
    return [exc.errno or 0, exc.strerror or type(exc).__name__]


def _claim(queue: Any, new: Path, cur: Path, name: str, sha256: str) -> list[Any]:
    try:
        taken = queue.claim(new / name, cur)
    except OSError as exc:  # the sweep says what became of it, as when it claims itself
        return [2, *_failure(exc)]
    if taken is None:
        return [0]
    path, signed = taken
    try:
        data = queue.read_regular(path, READ_LIMIT)
    except OSError:
        data = None
    same = data is not None and hashlib.sha256(data).hexdigest() == sha256
    return [1, same, signed, None if path.name == name else path.name]


def _moved(move: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        move(*args, **kwargs)
    except OSError as exc:
        return _failure(exc)
    return 0


def serve(
    queue: Any, dirs: list[Path], requests: BinaryIO, answers: BinaryIO, parent: int = 0
) -> None:
    """Answer `requests` on `answers` until the requests end, or the sweeping process
    (`parent`, if given) is gone: killed, it claims nothing more through this one."""
    new, cur, done, rejected = dirs
    while line := requests.readline():
        op, items = json.loads(line)
        if op == "claim":
            for n, (name, sha256) in enumerate(items):
                if parent and os.getppid() != parent:
                    return
                answers.write(json.dumps(_claim(queue, new, cur, name, sha256)).encode() + b"\n")
                if n % _CLAIMS_PER_FLUSH == 0:
                    answers.flush()  # the sweep may be waiting for this one
            answers.flush()
            continue
        out = []
        for kind, name, *rest in items:
            if kind == "done":
                out.append(_moved(queue.finish, cur / name, done, signed=rest[0]))
            else:
                target, reason = rest
                out.append(_moved(queue.move_rejected, cur / name, rejected / target, reason))
        answers.write(b"".join(json.dumps(answer).encode() + b"\n" for answer in out))
        answers.flush()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sweep decides when this ends
    dirs = [Path(os.fsdecode(arg)) for arg in argv[1:5]]
    serve(_maildir(), dirs, sys.stdin.buffer, sys.stdout.buffer, int(argv[5]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
