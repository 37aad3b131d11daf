"""Agent transcripts (SPEC 9.1): `.cockpit/transcripts/<WP>/<run>.jsonl`, one file per run.

The runner pumps what the agent's CLI printed (its raw output file, written by the child)
into the transcript as it arrives: each line redacted (every string of a JSON line, or the
text of a plain one), numbered and timed. The first record names the driver; the last
(`end`) says how the run ended, so a follower knows when to stop. Readers (`cockpit logs`,
the TUI's Transcript tab) turn records into readable rows with the driver that wrote them,
as plain text with control characters made visible: what an agent printed is never markup,
never a terminal escape, never run.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from cockpit.engine.canon import redaction
from cockpit.engine.drivers.base import Driver, OutputReader, Record, Row
from cockpit.engine.drivers.registry import driver as driver_named
from cockpit.engine.workspace.layout import Workspace
from cockpit.store.events import format_ts, utc_now

TRANSCRIPT_SCHEMA = "cockpit.transcript/v1"
LINE_MAX = 256 * 1024  # bytes of one output line kept (longer: kept shortened, not parsed)
CHUNK = 1 << 20
DEPTH_MAX = 64  # nesting of a JSON line kept as JSON (a CLI's lines nest a few levels)
PUMP_MAX = 4 << 20  # bytes taken per look (a flooding agent must not stall the runner)
# Control characters and the bidirectional overrides (text that reads otherwise than it is).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def transcripts_dir(ws: Workspace, wp_id: str) -> Path:
    return ws.state_dir / "transcripts" / wp_id


def transcript_path(ws: Workspace, wp_id: str, run: int) -> Path:
    return transcripts_dir(ws, wp_id) / f"{run}.jsonl"


def runs(ws: Workspace, wp_id: str) -> list[int]:
    """The runs of the WP that have a transcript, oldest first."""
    try:
        names = os.listdir(transcripts_dir(ws, wp_id))
    except OSError:
        return []
    return sorted(int(n[:-6]) for n in names if n.endswith(".jsonl") and n[:-6].isdigit())


def visible(text: str) -> str:
    """`text` with control characters (terminal escapes among them) shown, not obeyed."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redaction.redact(value) if redaction.scan(value) else value
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):  # keys too: a CLI's keys are data the agent chose
        return {_redacted(str(k)): _redacted(v) for k, v in value.items()}
    return value


def _depth(value: Any) -> int:
    """How deeply `value` nests (counted without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > DEPTH_MAX:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def parse_line(raw: bytes) -> Record:
    """One output line as a record: its JSON object, else its text (redacted either way).
    JSON nested deeper than any CLI writes is kept as text (nothing walks it)."""
    text = raw.decode("utf-8", "replace").rstrip("\r\n")
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            pass
        else:
            if isinstance(value, dict) and _depth(value) <= DEPTH_MAX:
                redacted: dict[str, Any] = _redacted(value)
                return redacted
    return str(_redacted(text))


@dataclass
class TranscriptWriter:
    """Pumps one run's raw output file into its transcript, feeding the driver's reader."""

    path: Path
    raw: Path
    reader: OutputReader
    offset: int = 0  # bytes of the raw output consumed
    lines: int = 0
    partial: bytes = b""
    dropped: int = 0  # bytes of over-long lines not kept
    clock: Callable[[], datetime] = utc_now
    _out: IO[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        ws: Workspace,
        wp_id: str,
        run: int,
        driver_name: str,
        raw: Path,
        reader: OutputReader,
        clock: Callable[[], datetime] = utc_now,
        stage: str | None = None,
    ) -> TranscriptWriter:
        path = transcript_path(ws, wp_id, run)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        writer = cls(path, raw, reader, clock=clock)
        writer._out = open(path, "wb")  # noqa: SIM115 - closed in finish
        header = {
            "transcript": TRANSCRIPT_SCHEMA,
            "driver": driver_name,
            "work_package": wp_id,
            "run": run,
            "stage": stage,
            "started": format_ts(clock()),
        }
        writer._write(header)
        writer._out.flush()  # a reader knows the driver before the first line
        return writer

    def _write(self, record: dict[str, Any]) -> None:
        """One record, one line; raises UnicodeEncodeError, having written nothing, for a
        record that cannot be UTF-8 (JSON escapes can spell lone surrogates)."""
        assert self._out is not None
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        self._out.write(line.encode("utf-8"))

    def _line(self, raw: bytes, cut: int = 0) -> None:
        self.lines += 1
        stamp = format_ts(self.clock())
        if cut:
            text = _redacted(raw.decode("utf-8", "replace"))
            self._write({"n": self.lines, "ts": stamp, "text": text, "truncated": cut})
            self.reader.feed(text)
            return
        record = parse_line(raw)
        key = "json" if isinstance(record, dict) else "text"
        try:
            self._write({"n": self.lines, "ts": stamp, key: record})
        except UnicodeEncodeError:  # kept as the text it was, not lost with its chunk
            record = str(_redacted(raw.decode("utf-8", "replace")))
            self._write({"n": self.lines, "ts": stamp, "text": record})
        self.reader.feed(record)

    def pump(self, limit: int = PUMP_MAX) -> None:
        """Take (up to `limit` bytes of) what the CLI printed since last time."""
        taken = 0
        try:
            with open(self.raw, "rb") as handle:
                handle.seek(self.offset)
                while taken < limit and (chunk := handle.read(min(CHUNK, limit - taken))):
                    self.offset += len(chunk)
                    taken += len(chunk)
                    self._take(chunk)
        except OSError:
            pass
        if self._out is not None:
            self._out.flush()

    def printed(self) -> int:
        """How many bytes the CLI has printed so far."""
        try:
            return self.raw.stat().st_size
        except OSError:
            return self.offset

    def _take(self, chunk: bytes) -> None:
        data = self.partial + chunk
        *complete, self.partial = data.split(b"\n")
        for raw in complete:
            if len(raw) > LINE_MAX:
                self._line(raw[:LINE_MAX], cut=len(raw))
            else:
                self._line(raw)
        if len(self.partial) > LINE_MAX:  # a line that never ends: keep its head only
            if not self.dropped:
                self._line(self.partial[:LINE_MAX], cut=len(self.partial))
            self.dropped += len(self.partial)
            self.partial = b""

    def drain(self, *, cut: bool = False) -> None:
        """The run is over: take the rest of its output, its last line unterminated; with
        `cut` (it flooded), what was not taken yet is dropped and said to be."""
        if cut:
            left = self.printed() - self.offset
            self.partial = b""
            if left > 0:
                self.lines += 1
                self._write({"n": self.lines, "ts": format_ts(self.clock()), "cut": left})
            self.offset += max(left, 0)
            return
        self.pump(limit=1 << 62)
        if self.partial and not self.dropped:
            self._line(self.partial)
        self.partial = b""

    def finish(self, ending: dict[str, Any], *, cut: bool = False) -> None:
        """The last lines, then the `end` record (how the run ended)."""
        self.drain(cut=cut)
        if self._out is not None:
            self._write({"end": ending, "ts": format_ts(self.clock()), "lines": self.lines})
            self._out.close()
            self._out = None


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One readable row of a transcript: the output line it came from (`n`), when, what
    kind, who, the text (control characters visible), and the record as written (raw)."""

    n: int
    ts: str
    kind: str
    who: str
    text: str
    raw: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "ts": self.ts,
            "kind": self.kind,
            "who": self.who,
            "text": self.text,
        }


def _rows(driver: Driver | None, record: Record) -> list[Row]:
    if driver is None:
        return [Row("text", "agent", record)] if isinstance(record, str) and record else []
    try:
        return driver.rows(record)
    except Exception:  # a driver must never fail a reader on what an agent printed
        return [Row("system", "cli", json.dumps(record)[:200])]


class TranscriptTail:
    """Reads a transcript incrementally (`read` returns the rows added since last time),
    for `cockpit logs -f` and the TUI's live tail."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""
        self.header: dict[str, Any] | None = None
        self.ending: dict[str, Any] | None = None
        self.driver: Driver | None = None
        self.records = 0

    @property
    def ended(self) -> bool:
        return self.ending is not None

    def read(self) -> list[Line]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return []
        self.offset += len(data)
        data = self.partial + data
        *complete, self.partial = data.split(b"\n")
        lines: list[Line] = []
        for raw in complete:
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if "transcript" in record and self.header is None:
                self.header = record
                self.driver = driver_named(str(record.get("driver")))
                continue
            if "end" in record:
                self.ending = record["end"] if isinstance(record["end"], dict) else {}
                lines.append(
                    Line(-1, str(record.get("ts", "")), "end", "cli", _ending(record), record)
                )
                continue
            self.records += 1
            body: Record = (
                record["json"]
                if isinstance(record.get("json"), dict)
                else str(record.get("text", ""))
            )
            n, ts = int(record.get("n") or 0), str(record.get("ts", ""))
            for shown in _rows(self.driver, body):
                lines.append(Line(n, ts, shown.kind, shown.who, visible(shown.text), body))
            if record.get("cut"):
                text = f"(output cut: {record['cut']} bytes not kept)"
                lines.append(Line(n, ts, "system", "cli", text, record))
                continue
            if record.get("truncated"):
                lines.append(
                    Line(n, ts, "system", "cli", f"(line cut: {record['truncated']} bytes)", body)
                )
        return lines


def _ending(record: dict[str, Any]) -> str:
    end = record.get("end") if isinstance(record.get("end"), dict) else {}
    assert isinstance(end, dict)
    code = end.get("exit_code")
    parts = [f"run ended: exit {code}" if code is not None else "run ended: stopped by the runner"]
    if end.get("timed_out"):
        parts.append("timed out")
    if end.get("reason") and end.get("reason") != "timed_out":
        parts.append(str(end["reason"]))
    if end.get("problem"):
        parts.append(str(end["problem"]))
    return visible(" · ".join(parts))


def read_transcript(path: Path) -> list[Line]:
    return TranscriptTail(path).read()
