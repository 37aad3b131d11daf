"""Transcripts (SPEC 9.1): what a CLI printed, as the runner keeps it and readers show it.

Real files in a real workspace: the raw output file a child would write, the transcript
the writer makes of it, and the tail that reads it back while it grows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from helpers.workspace import Env

from cockpit.engine.drivers import transcript
from cockpit.engine.drivers.registry import DRIVERS

CLOCK = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def writer(env: Env, raw: Path, driver: str = "claude-code") -> transcript.TranscriptWriter:
    return transcript.TranscriptWriter.start(
        env.ws, "WP-1", 1, driver, raw, DRIVERS[driver].reader(), lambda: CLOCK
    )


def test_the_tail_shows_lines_as_they_are_written_never_half_a_line(env: Env) -> None:
    raw = env.root / "out.log"
    raw.write_bytes(b"")
    made = writer(env, raw)
    tail = transcript.TranscriptTail(made.path)
    assert tail.read() == [] and tail.driver is DRIVERS["claude-code"]
    with open(raw, "ab") as out:
        out.write(b'{"type":"assistant","message":{"content":[{"type":"text","text":"hi"}]}}\n')
        out.write(b'{"type":"assistant","message":{"content":[{"type":"te')  # half a line
    made.pump()
    first = tail.read()
    assert [(line.kind, line.text) for line in first] == [("message", "hi")]
    with open(raw, "ab") as out:
        out.write(b'xt","text":"there"}]}}\n')
    made.pump()
    assert [line.text for line in tail.read()] == ["there"]
    made.finish({"exit_code": 0, "timed_out": False})
    [end] = tail.read()
    assert end.kind == "end" and "exit 0" in end.text and tail.ended


def test_what_a_hostile_cli_prints_is_kept_as_data(env: Env) -> None:
    raw = env.root / "out.log"
    deep = b'{"type":"assistant","x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    lines = [
        json.dumps({"type": "assistant", "message": {"content": [{"text": SECRET}]}}).encode(),
        deep,
        b"\xff\xfe not utf-8 \x1b]0;title\x07 " + "\u202eevil".encode(),
        b"x" * (transcript.LINE_MAX + 10),
        b"no newline at the end",
    ]  # fmt: skip
    raw.write_bytes(b"\n".join(lines))
    made = writer(env, raw)
    made.finish({"exit_code": 0})
    text = made.path.read_text()
    assert SECRET not in text and "[REDACTED:github_token]" in text
    records = [json.loads(line) for line in text.splitlines()]
    assert isinstance(records[2]["text"], str)  # the deep JSON is text: nothing walks it
    assert records[4]["truncated"] == transcript.LINE_MAX + 10
    assert records[5]["text"] == "no newline at the end"
    shown = transcript.read_transcript(made.path)
    assert any("\\x1b" in line.text for line in shown)  # shown, not obeyed
    assert not any("\x1b" in line.text or "\u202e" in line.text for line in shown)
    assert any("\\u202e" in line.text for line in shown)  # a bidi override is shown too


def test_a_runs_list_names_only_transcripts(env: Env) -> None:
    folder = transcript.transcripts_dir(env.ws, "WP-1")
    folder.mkdir(parents=True)
    for name in ("2.jsonl", "10.jsonl", "x.jsonl", "3.txt"):
        (folder / name).write_text("")
    assert transcript.runs(env.ws, "WP-1") == [2, 10]
