"""The agent CLI stand-ins in tests/standins/bin (see tests/standins/README.md).

Each test runs a stand-in as a subprocess, as the runner would: the working directory is a
real git repository under tmp_path and HOME a fresh directory beside it. It checks that the
output parses in the CLI's documented format, that the argv log holds the command line,
that sessions resume from the CLI's own store, that the exit codes are the documented ones,
and that the steering modes do what tests/standins/README.md says.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.git import git, make_repo
from helpers.process import clean_env

BIN = Path(__file__).resolve().parent / "bin"
CLIS = ("claude", "codex", "gemini", "aider")
SESSION_CLIS = ("claude", "codex", "gemini")
JSON_CLIS = SESSION_CLIS
PROMPT = "Add one line to the notes, please."
SCOPE_CONFIRMED = "SCOPE: CONFIRMED"
SCOPE_QUESTIONS = "SCOPE: QUESTIONS"
INJECT_ID = "../../etc/passwd; touch PWNED"
PWNED_TMP = Path("/tmp/standin-pwned")


class Box:
    """A working directory (a git repository) and a HOME for stand-in runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = root / "repo"
        self.cwd.mkdir()
        make_repo(self.cwd)
        self.home = root / "home"
        self.home.mkdir()

    def env(self) -> dict[str, str]:
        return clean_env(HOME=str(self.home))

    def command(
        self,
        cli: str,
        *extra: str,
        read_only: bool = False,
        model: str | None = None,
        resume: str | None = None,
        restore: bool = False,
        prompt: str = PROMPT,
    ) -> list[str]:
        """The command line Cockpit's driver passes (tests/standins/README.md)."""
        exe = str(BIN / cli)
        if cli == "claude":
            mode = "plan" if read_only else "bypassPermissions"
            cmd = [exe, "-p", "--output-format", "stream-json", "--verbose"]
            cmd += ["--permission-mode", mode, "--max-turns", "30", "--max-budget-usd", "5"]
            cmd += ["--model", model] if model else []
            cmd += ["--resume", resume] if resume else []
            return [*cmd, *extra, prompt]
        if cli == "codex":
            sandbox = "read-only" if read_only else "workspace-write"
            cmd = [exe, "exec", "--json", "--skip-git-repo-check", "--sandbox", sandbox]
            cmd += ["--model", model] if model else []
            return [*cmd, *extra, *(["resume", resume] if resume else []), prompt]
        if cli == "gemini":
            mode = "plan" if read_only else "yolo"
            cmd = [exe, "--output-format", "stream-json", "--approval-mode", mode, "--skip-trust"]
            cmd += ["--model", model] if model else []
            cmd += ["--resume", resume] if resume else []
            return [*cmd, *extra, "--prompt", prompt]
        cmd = [exe, "--yes-always", "--no-pretty", "--no-stream", "--no-check-update"]
        cmd += ["--no-analytics", "--no-show-model-warnings", "--no-gitignore"]
        cmd += ["--chat-history-file", str(self.home / "aider.chat.md")]
        cmd += ["--input-history-file", str(self.home / "aider.input")]
        cmd += ["--restore-chat-history"] if restore else []
        cmd += ["--chat-mode", "ask" if read_only else "code"]
        cmd += ["--model", model] if model else []
        return [*cmd, *extra, "--message", prompt]

    def run(self, cmd: list[str], stdin: Any = subprocess.DEVNULL) -> Done:
        done = subprocess.run(
            cmd,
            cwd=self.cwd,
            env=self.env(),
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def start(self, cmd: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            cmd,
            cwd=self.cwd,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def argv_log(self) -> list[dict[str, Any]]:
        path = self.home / ".standin" / "argv.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()]

    def edited(self, name: str = "standin.txt") -> str | None:
        path = self.cwd / name
        return path.read_text() if path.exists() else None

    def clean(self) -> bool:
        return git(self.cwd, "status", "--porcelain") == ""


class Done:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def events(self) -> list[dict[str, Any]]:
        """Every stdout line as JSON (fails on one that does not parse)."""
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test started; killed (each by its own handle) when it ends."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def read_lines(proc: subprocess.Popen[bytes], count: int, timeout: float) -> list[bytes]:
    """The first `count` lines of proc's stdout, or fewer if `timeout` passes first."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout
    while buffer.count(b"\n") < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buffer += chunk
    return buffer.split(b"\n")[:count] if buffer.count(b"\n") >= count else buffer.splitlines()


# -- reading each CLI's output ------------------------------------------------------------


def session_of(cli: str, events: list[dict[str, Any]]) -> str:
    first = events[0]
    if cli == "claude":
        assert first["type"] == "system" and first["subtype"] == "init"
        return str(first["session_id"])
    if cli == "codex":
        assert first["type"] == "thread.started"
        return str(first["thread_id"])
    assert first["type"] == "init"
    return str(first["session_id"])


def final_text(cli: str, done: Done) -> str:
    if cli == "claude":
        result = done.events()[-1]
        assert result["type"] == "result"
        return str(result["result"])
    if cli == "codex":
        messages = [
            e["item"]["text"]
            for e in done.events()
            if e["type"] == "item.completed" and e["item"]["type"] == "agent_message"
        ]
        return str(messages[-1])
    if cli == "gemini":
        messages = [
            e["content"]
            for e in done.events()
            if e["type"] == "message" and e["role"] == "assistant"
        ]
        return str(messages[-1])
    lines = done.lines
    tokens = next(i for i, line in enumerate(lines) if line.startswith("Tokens: "))
    return "\n".join(lines[:tokens]).strip()


def check_success(cli: str, done: Done, *, cost: float = 0.0106, model: str | None = None) -> None:
    """The run ended with the CLI's documented success result."""
    assert done.returncode == 0, done.stderr
    if cli == "claude":
        events = done.events()
        result = events[-1]
        assert result["type"] == "result" and result["subtype"] == "success"
        assert result["is_error"] is False
        assert isinstance(result["total_cost_usd"], float) and result["total_cost_usd"] == cost
        assert isinstance(result["num_turns"], int) and result["num_turns"] >= 1
        assert set(result["usage"]) >= {
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "cache_creation_input_tokens",
        }
        assert result["session_id"] == events[0]["session_id"]
        assert list(result["modelUsage"]) == [model or events[0]["model"]]
        assert result["modelUsage"][events[0]["model"]]["costUSD"] == cost
        assert {e["type"] for e in events} == {"system", "assistant", "user", "result"}
    elif cli == "codex":
        events = done.events()
        assert [e["type"] for e in events[:2]] == ["thread.started", "turn.started"]
        assert events[-1]["type"] == "turn.completed"
        assert set(events[-1]["usage"]) == {"input_tokens", "cached_input_tokens", "output_tokens"}
        assert not any(e["type"] in ("turn.failed", "error") for e in events)
    elif cli == "gemini":
        events = done.events()
        assert events[0]["type"] == "init" and all("timestamp" in e for e in events)
        if model:
            assert events[0]["model"] == model
        result = events[-1]
        assert result["type"] == "result" and result["status"] == "success"
        stats = result["stats"]
        assert set(stats) >= {"total_tokens", "input_tokens", "output_tokens", "cached"}
        assert {"duration_ms", "tool_calls", "models"} <= set(stats)
    else:
        assert done.lines[0] == "Aider v0.86.2"
        assert f"Main model: {model or ''}" in done.stdout
        assert re.search(
            r"^Tokens: [\d.]+k? sent, \d+ received\. Cost: \$[\d.]+ message, \$[\d.]+ session\.$",
            done.stdout,
            re.M,
        )


def tool_calls(cli: str, done: Done) -> list[str]:
    """The names of the tools the run called (aider has none)."""
    events = done.events()
    if cli == "claude":
        return [
            block["name"]
            for e in events
            if e["type"] == "assistant"
            for block in e["message"]["content"]
            if block["type"] == "tool_use"
        ]
    if cli == "codex":
        return [
            e["item"]["type"]
            for e in events
            if e["type"] == "item.completed"
            and e["item"]["type"] in ("command_execution", "file_change", "mcp_tool_call")
        ]
    return [e["tool_name"] for e in events if e["type"] == "tool_use"]


def check_tool_pairs(cli: str, done: Done) -> None:
    """The run called a tool and printed its result, tied to the call."""
    events = done.events()
    if cli == "claude":
        uses = [
            block["id"]
            for e in events
            if e["type"] == "assistant"
            for block in e["message"]["content"]
            if block["type"] == "tool_use"
        ]
        results = [
            block["tool_use_id"]
            for e in events
            if e["type"] == "user"
            for block in e["message"]["content"]
            if block["type"] == "tool_result"
        ]
        assert uses and uses == results
    elif cli == "codex":
        changes = [
            e["item"]
            for e in events
            if e["type"] == "item.completed" and e["item"]["type"] == "file_change"
        ]
        assert changes and changes[-1]["status"] == "completed"
        assert changes[-1]["changes"][0]["path"].endswith("standin.txt")
    else:
        uses = [e["tool_id"] for e in events if e["type"] == "tool_use"]
        results = [e["tool_id"] for e in events if e["type"] == "tool_result"]
        assert uses and uses == results
        assert all(e["status"] == "success" for e in events if e["type"] == "tool_result")


# -- the tests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cli", "version"),
    [
        ("claude", "2.1.240 (Claude Code)"),
        ("codex", "codex-cli 0.0.0-standin+08a1f30"),
        ("gemini", "0.56.0"),
        ("aider", "aider 0.86.2"),
    ],
)
def test_version_prints_one_line_and_exits_0(box: Box, cli: str, version: str) -> None:
    done = box.run([str(BIN / cli), "--version"])
    assert (done.returncode, done.stdout) == (0, version + "\n")
    assert box.argv_log()[-1]["argv"][1:] == ["--version"]


@pytest.mark.parametrize("cli", CLIS)
def test_ok_run_makes_the_change_and_prints_the_documented_format(box: Box, cli: str) -> None:
    cmd = box.command(cli, "--standin", "ok", model="some-model-7")
    done = box.run(cmd)
    check_success(cli, done, model="some-model-7")
    assert box.edited() == f"edited by the {cli} stand-in, run 1\n"
    if cli != "aider":
        check_tool_pairs(cli, done)
    assert SCOPE_CONFIRMED not in done.stdout

    logged = box.argv_log()
    assert len(logged) == 1
    assert logged[0]["argv"] == cmd
    assert logged[0]["argv"][-1] == PROMPT
    assert logged[0]["cwd"] == str(box.cwd)
    assert logged[0]["home"] == str(box.home)
    assert "HOME" in logged[0]["env"] and str(box.home) not in logged[0]["env"]
    assert logged[0]["env"] == sorted(logged[0]["env"])

    again = box.run(box.command(cli))
    check_success(cli, again)
    assert box.edited() == (
        f"edited by the {cli} stand-in, run 1\nedited by the {cli} stand-in, run 2\n"
    )


@pytest.mark.parametrize("cli", CLIS)
def test_read_only_stage_changes_nothing_and_confirms_the_scope(box: Box, cli: str) -> None:
    done = box.run(box.command(cli, read_only=True))
    check_success(cli, done)
    assert final_text(cli, done).splitlines()[-1] == SCOPE_CONFIRMED
    assert box.edited() is None and box.clean()
    assert "Applied edit" not in done.stdout


@pytest.mark.parametrize("cli", CLIS)
def test_questions_end_with_the_scope_line_and_a_question(box: Box, cli: str) -> None:
    done = box.run(box.command(cli, "--standin", "questions", read_only=True))
    check_success(cli, done)
    *_, scope, question = final_text(cli, done).splitlines()
    assert scope == SCOPE_QUESTIONS and question.endswith("?")
    assert box.edited() is None and box.clean()


@pytest.mark.parametrize("cli", CLIS)
def test_noop_succeeds_and_changes_nothing(box: Box, cli: str) -> None:
    done = box.run(box.command(cli, "--standin", "noop"))
    check_success(cli, done)
    assert "SCOPE:" not in final_text(cli, done)
    assert box.edited() is None and box.clean()


@pytest.mark.parametrize("cli", CLIS)
def test_fail_is_the_documented_failure(box: Box, cli: str) -> None:
    done = box.run(box.command(cli, "--standin", "fail"))
    assert box.edited() is None and box.clean()
    if cli == "aider":
        assert done.returncode == 0  # aider exits 0 whatever happened to the request
        assert "litellm.AuthenticationError: AnthropicException - invalid x-api-key" in done.lines
        assert "Tokens:" not in done.stdout and "Applied edit" not in done.stdout
        return
    assert done.returncode == 1
    events = done.events()
    if cli == "claude":
        assert events[0]["subtype"] == "init"
        result = events[-1]
        assert (result["type"], result["subtype"]) == ("result", "error_during_execution")
        assert result["is_error"] is True
    elif cli == "codex":
        assert [e["type"] for e in events] == ["thread.started", "turn.started", "turn.failed"]
        assert events[-1]["error"]["message"]
    else:
        assert events[0]["type"] == "init"
        result = events[-1]
        assert (result["type"], result["status"]) == ("result", "error")
        assert result["error"] == {
            "type": "ApiError",
            "message": "Rate limit exceeded",
            "code": 429,
        }
        assert "stats" in result


@pytest.mark.parametrize("cli", CLIS)
def test_malformed_output_has_broken_lines_and_no_result(box: Box, cli: str) -> None:
    done = box.run(box.command(cli, "--standin", "malformed"))
    assert done.returncode == 0
    assert box.edited() is None and box.clean()
    if cli == "aider":
        assert "Tokens:" not in done.stdout and "Applied edit" not in done.stdout
        return
    parsed, broken = [], []
    for line in done.lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            broken.append(line)
    assert "not json at all" in broken and len(broken) >= 2
    ends = {"claude": "result", "codex": "turn.completed", "gemini": "result"}[cli]
    assert not any(isinstance(e, dict) and e.get("type") == ends for e in parsed)


@pytest.mark.parametrize("cli", CLIS)
def test_hang_prints_its_first_line_then_waits(
    box: Box, cli: str, started: list[subprocess.Popen[bytes]]
) -> None:
    proc = box.start(box.command(cli, "--standin", "hang"))
    started.append(proc)
    first = read_lines(proc, 1, timeout=10)
    assert len(first) == 1
    if cli in JSON_CLIS:
        session_of(cli, [json.loads(first[0])])
    else:
        assert first[0] == b"Aider v0.86.2"
    time.sleep(0.5)
    assert proc.poll() is None
    if cli == "claude":  # CHANGELOG 2.1.236: SIGTERM in print mode exits with 143
        proc.terminate()
        assert proc.wait(timeout=10) == 143


@pytest.mark.parametrize("cli", CLIS)
def test_flood_prints_until_killed(
    box: Box, cli: str, started: list[subprocess.Popen[bytes]]
) -> None:
    proc = box.start(box.command(cli, "--standin", "flood"))
    started.append(proc)
    lines = read_lines(proc, 3000, timeout=30)
    assert len(lines) == 3000
    if cli in JSON_CLIS:
        assert all(isinstance(json.loads(line), dict) for line in lines)
    assert proc.poll() is None


@pytest.mark.parametrize("cli", CLIS)
def test_slow_prints_its_lines_spaced_then_finishes(
    box: Box, cli: str, started: list[subprocess.Popen[bytes]]
) -> None:
    cmd = box.command(cli, "--standin-delay", "0.25", "--standin", "slow", "--standin-lines", "4")
    proc = box.start(cmd)
    started.append(proc)
    assert proc.stdout is not None
    arrivals: list[tuple[float, bytes]] = []
    begin = time.monotonic()
    for raw in proc.stdout:
        arrivals.append((time.monotonic() - begin, raw))
    assert proc.wait(timeout=30) == 0
    steps = [at for at, raw in arrivals if b"Working on it: step" in raw]
    assert len(steps) == 4
    assert steps[-1] - steps[0] >= 0.6  # one every 0.25 s, each flushed as it came
    assert arrivals[-1][0] >= 1.0
    assert box.edited() == f"edited by the {cli} stand-in, run 1\n"
    if cli in JSON_CLIS:
        assert all(isinstance(json.loads(raw), dict) for _, raw in arrivals)


@pytest.mark.parametrize("cli", CLIS)
def test_inject_prints_hostile_text_but_runs_nothing(box: Box, cli: str) -> None:
    pwned_before = PWNED_TMP.exists()
    done = box.run(box.command(cli, "--standin", "inject"))
    check_success(cli, done)
    assert box.edited() == f"edited by the {cli} stand-in, run 1\n"
    if cli in JSON_CLIS:
        text = json.dumps(done.events(), ensure_ascii=False)
        assert "\\u001b[31m" in done.stdout and "\\u001b]0;title\\u0007" in done.stdout
        assert session_of(cli, done.events()) == INJECT_ID
        assert "touch PWNED" in " ".join([*tool_calls(cli, done), text])
    else:
        text = done.stdout
        assert "\x1b[31m" in text and "\x1b]0;title\x07" in text
    for needle in (
        "$(touch /tmp/standin-pwned)",
        "`touch PWNED`",
        "; rm -rf ~",
        "[bold red]markup[/]",
        "[link=file:///etc/passwd]x[/link]",
        "AKIAIOSFODNN7EXAMPLE",
    ):
        assert needle in text
    assert re.search(r"ghp_[A-Za-z0-9]{36}", text)
    assert PWNED_TMP.exists() == pwned_before
    for root in (box.root, box.cwd, box.home):
        assert not list(root.rglob("*PWNED*"))
    if cli in SESSION_CLIS:  # the shown id names no session
        resumed = box.run(box.command(cli, resume=INJECT_ID))
        assert resumed.returncode == (42 if cli == "gemini" else 1)


def session_file(box: Box, cli: str, session: str) -> Path:
    """Where the CLI keeps the session (tests/standins/README.md, Sessions)."""
    if cli == "claude":
        return (
            box.home / ".claude" / "projects" / str(box.cwd).replace("/", "-") / f"{session}.jsonl"
        )
    if cli == "codex":
        (found,) = (box.home / ".codex" / "sessions").glob(f"*/*/*/rollout-*-{session}.jsonl")
        assert re.fullmatch(
            r"\d{4}/\d{2}/\d{2}/rollout-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-"
            + session
            + r"\.jsonl",
            str(found.relative_to(box.home / ".codex" / "sessions")),
        )
        return found
    digest = hashlib.sha256(str(box.cwd).encode()).hexdigest()
    chats = box.home / ".gemini" / "tmp" / digest / "chats"
    (found,) = chats.glob(f"session-*-{session[:8]}.json")
    assert json.loads(found.read_text())["sessionId"] == session
    return found


@pytest.mark.parametrize("cli", SESSION_CLIS)
def test_resume_continues_the_stored_session(box: Box, cli: str) -> None:
    first = box.run(box.command(cli, prompt="first prompt"))
    check_success(cli, first)
    session = session_of(cli, first.events())
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", session)
    stored = session_file(box, cli, session)
    assert "first prompt" in stored.read_text()

    second = box.run(box.command(cli, resume=session, prompt="second prompt"))
    check_success(cli, second)
    assert session_of(cli, second.events()) == session
    if cli == "claude":
        assert second.events()[-1]["session_id"] == session
    assert session_file(box, cli, session) == stored
    assert "first prompt" in stored.read_text() and "second prompt" in stored.read_text()
    assert box.edited() == (
        f"edited by the {cli} stand-in, run 1\nedited by the {cli} stand-in, run 2\n"
    )

    other = box.run(box.command(cli, prompt="a new session"))
    assert session_of(cli, other.events()) != session


@pytest.mark.parametrize("cli", SESSION_CLIS)
def test_resume_of_an_unknown_session_fails(box: Box, cli: str) -> None:
    unknown = "0199a213-81c0-7800-8aa1-bbab2a035a53"
    done = box.run(box.command(cli, resume=unknown))
    assert box.edited() is None
    if cli == "claude":
        assert (done.returncode, done.stdout) == (1, "")
        assert f"No conversation found with session ID: {unknown}" in done.stderr
    elif cli == "codex":
        assert done.returncode == 1
        assert done.events() == [
            {"type": "error", "message": f"No saved session found with ID {unknown}"}
        ]
    else:
        assert (done.returncode, done.stdout) == (42, "")
        assert done.stderr.startswith("Error resuming session: ")


def test_aider_keeps_its_chat_history_and_restores_it(box: Box) -> None:
    box.run(box.command("aider", prompt="first prompt"))
    done = box.run(box.command("aider", restore=True, prompt="second prompt"))
    check_success("aider", done)
    history = (box.home / "aider.chat.md").read_text()
    assert "#### first prompt" in history and "#### second prompt" in history
    assert history.count("# aider chat started at") == 2
    assert "> Tokens: 1.6k sent, 51 received." in history
    inputs = (box.home / "aider.input").read_text()
    assert "+first prompt" in inputs and "+second prompt" in inputs
    assert "--restore-chat-history" in box.argv_log()[-1]["argv"]


def test_aider_commits_its_edit_like_aider(box: Box) -> None:
    base = git(box.cwd, "rev-parse", "HEAD")
    done = box.run(box.command("aider", "--standin-cost", "0.0069"))
    check_success("aider", done)
    assert "Main model: anthropic/claude-sonnet-4-20250514 with diff edit format" in done.lines
    assert "Tokens: 1.6k sent, 51 received. Cost: $0.0069 message, $0.0069 session." in done.lines
    assert "Applied edit to standin.txt" in done.lines
    (commit,) = [line for line in done.lines if line.startswith("Commit ")]
    head = git(box.cwd, "rev-parse", "HEAD")
    assert head != base and git(box.cwd, "rev-parse", f"{head}~1") == base
    assert re.fullmatch(r"Commit [0-9a-f]{7} .+", commit) and commit.split()[1] == head[:7]
    assert git(box.cwd, "log", "-1", "--format=%an <%ae>") == "aider <aider@example.invalid>"
    assert git(box.cwd, "show", "--name-only", "--format=", "HEAD") == "standin.txt"
    assert box.clean()


def test_aider_without_auto_commits_or_git_leaves_the_edit_uncommitted(box: Box) -> None:
    base = git(box.cwd, "rev-parse", "HEAD")
    done = box.run(box.command("aider", "--no-auto-commits"))
    check_success("aider", done)
    assert "Applied edit to standin.txt" in done.lines
    assert not any(line.startswith("Commit ") for line in done.lines)
    assert git(box.cwd, "rev-parse", "HEAD") == base and not box.clean()

    shutil.rmtree(box.cwd / ".git")
    done = box.run(box.command("aider"))
    assert "Git repo: none" in done.lines
    assert not any(line.startswith("Commit ") for line in done.lines)
    assert (
        box.edited() == "edited by the aider stand-in, run 1\nedited by the aider stand-in, run 2\n"
    )


@pytest.mark.parametrize("cli", CLIS)
def test_an_unknown_flag_is_a_usage_error(box: Box, cli: str) -> None:
    done = box.run(box.command(cli, "--no-such-flag"))
    assert done.returncode == 2
    assert "usage:" in done.stderr.lower() and "no-such-flag" in done.stderr
    assert done.stdout == "" and box.edited() is None
    assert "--no-such-flag" in box.argv_log()[-1]["argv"]


@pytest.mark.parametrize("cli", CLIS)
def test_steering_flags_in_any_order_and_a_nested_edit_path(box: Box, cli: str) -> None:
    cmd = box.command(cli)
    at = {"claude": 1, "codex": 2, "gemini": 1, "aider": 1}[cli]
    steering = ["--standin-edit", "deep/er/notes.md", "--standin=ok", "--standin-cost=0.25"]
    done = box.run([*cmd[:at], *steering, *cmd[at:]])
    check_success(cli, done, cost=0.25)
    assert box.edited("deep/er/notes.md") == f"edited by the {cli} stand-in, run 1\n"
    if cli == "aider":
        assert "Cost: $0.25 message, $0.25 session." in done.stdout


@pytest.mark.parametrize("value", ["--standin=bogus", "--standin-lines=-1", "--standin-cost=x"])
def test_a_bad_steering_value_is_a_usage_error(box: Box, value: str) -> None:
    done = box.run(box.command("claude", value))
    assert done.returncode == 2 and done.stdout == ""


def test_claude_needs_verbose_for_stream_json(box: Box) -> None:
    cmd = [a for a in box.command("claude") if a != "--verbose"]
    done = box.run(cmd)
    assert done.returncode == 1
    assert "requires --verbose" in done.stderr and done.stdout == ""


def test_claude_stops_at_max_turns_and_max_budget(box: Box) -> None:
    cmd = box.command("claude")
    turns = cmd.index("--max-turns") + 1
    done = box.run([*cmd[:turns], "1", *cmd[turns + 1 :]])
    assert done.returncode == 1
    result = done.events()[-1]
    assert (result["subtype"], result["is_error"], result["num_turns"]) == (
        "error_max_turns",
        True,
        1,
    )
    budget = cmd.index("--max-budget-usd") + 1
    done = box.run([*cmd[:budget], "0.001", *cmd[budget + 1 :]])
    assert done.returncode == 1
    assert done.events()[-1]["subtype"] == "error_max_budget_usd"


def test_codex_appends_piped_stdin_to_the_prompt(box: Box) -> None:
    """docs/exec.md: a piped stdin is appended to the prompt as a <stdin> block (so it is
    read to its end: a driver must close it)."""
    done = subprocess.run(
        box.command("codex"),
        cwd=box.cwd,
        env=box.env(),
        input="piped context",
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = Done(done.returncode, done.stdout, done.stderr)
    check_success("codex", result)
    session = session_of("codex", result.events())
    assert "<stdin>\\npiped context\\n</stdin>" in session_file(box, "codex", session).read_text()


@pytest.mark.parametrize("cli", CLIS)
def test_runs_in_a_sandbox_that_binds_only_cwd_and_home(box: Box, cli: str) -> None:
    """Like the runner's bubblewrap sandbox: / read-only, a private /tmp, and only the
    worktree and $HOME writable. The stand-in must still do its whole run."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or subprocess.run([bwrap, "--ro-bind", "/", "/", "true"]).returncode:
        pytest.skip("bubblewrap cannot run here")
    sandbox = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    sandbox += ["--tmpfs", "/tmp"]
    # The stand-ins and the interpreter stay visible read-only when they live under /tmp
    # (a checkout there, as CI makes one), as the runner binds a CLI's directories.
    for shown in dict.fromkeys([BIN, Path(sys.prefix), Path(sys.base_prefix)]):
        if shown.resolve().is_relative_to("/tmp"):
            sandbox += ["--ro-bind", str(shown), str(shown)]
    sandbox += ["--bind", str(box.cwd), str(box.cwd)]
    sandbox += ["--bind", str(box.home), str(box.home), "--"]
    done = box.run([*sandbox, *box.command(cli)])
    check_success(cli, done)
    assert box.edited() == f"edited by the {cli} stand-in, run 1\n"
    assert not (BIN / "__pycache__").exists()
