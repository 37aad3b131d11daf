"""The Claude Code driver: `claude -p --output-format stream-json --verbose` (SPEC 9.1).

Written against Claude Code 2.1.240 (`CHANGELOG.md` of github:anthropics/claude-code @
5cfc0a1905ce0c0a9bd81d8a90fe6b62ff614357), the raw CLI lines copied into
github:anthropics/claude-agent-sdk-python `tests/test_message_parser.py` @
02b50fc4bd6100601397d6436164fcad05624c73, and the cli-reference and sdk-headless pages;
see docs/agent-cli-formats.md, section 1.
"""

from __future__ import annotations

import re
from typing import Any

from cockpit.engine.drivers.base import (
    Driver,
    Outcome,
    OutputReader,
    Record,
    Row,
    RunRequest,
    add_counts,
    as_count,
    compact,
    cost_string,
    mapping,
    model_name,
    plain_session_id,
    plural,
    row,
    text_of,
)
from cockpit.engine.text import clip

CLI = "Claude Code"
SHORT = 200  # characters of untrusted text quoted in a sentence or a fallback row
# A word from the CLI (a result subtype, an API error code) that may go into a sentence.
LABEL = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's content blocks; a plain string content is one text block."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _label(value: Any) -> str | None:
    return value if isinstance(value, str) and LABEL.fullmatch(value) else None


def _tool_result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, list):
        content = "\n".join(
            b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
    text = content if isinstance(content, str) else ""
    return f"error: {text}" if block.get("is_error") is True else text


def _result_summary(record: dict[str, Any]) -> str:
    """`success · 1 turn · $0.010621 · 3 in / 24 out`."""
    label = _label(record.get("subtype")) or "result"
    if record.get("is_error") is True and label == "success":
        label = "error"
    parts = [label]
    if (turns := as_count(record.get("num_turns"))) is not None:
        parts.append(plural(turns, "turn"))
    if (cost := cost_string(record.get("total_cost_usd"))) is not None:
        parts.append(f"${cost}")
    usage = mapping(record.get("usage"))
    tokens_in, tokens_out = (
        as_count(usage.get("input_tokens")),
        as_count(usage.get("output_tokens")),
    )
    if tokens_in is not None or tokens_out is not None:
        parts.append(
            f"{tokens_in if tokens_in is not None else '?'} in / "
            f"{tokens_out if tokens_out is not None else '?'} out"
        )
    return " · ".join(parts)


class ClaudeReader(OutputReader):
    """Session id from any line; usage, cost, turns and the verdict from the `result` line."""

    def __init__(self) -> None:
        super().__init__()
        self.result: dict[str, Any] | None = None
        self.init_model: str | None = None
        self.message_model: str | None = None
        self.last_text: str | None = None
        self.api_error: str | None = None  # an assistant message's `error` (authentication_failed)

    def take(self, record: dict[str, Any]) -> None:
        self.usage.session_id = plain_session_id(record.get("session_id")) or self.usage.session_id
        kind = record.get("type")
        if kind == "system" and record.get("subtype") == "init":
            self.init_model = model_name(record.get("model")) or self.init_model
        elif kind == "assistant":
            message = mapping(record.get("message"))
            self.message_model = model_name(message.get("model")) or self.message_model
            texts = [
                b["text"]
                for b in _blocks(message)
                if b.get("type") == "text" and isinstance(b.get("text"), str) and b["text"].strip()
            ]
            self.last_text = "\n".join(texts) if texts else self.last_text
            self.api_error = _label(record.get("error")) or self.api_error
        elif kind == "result":
            self.result = record

    def finish(self, exit_code: int | None) -> Outcome:
        result = self.result or {}
        usage, per_model = mapping(result.get("usage")), mapping(result.get("modelUsage"))
        u = self.usage
        u.input_tokens = as_count(usage.get("input_tokens"))
        u.output_tokens = as_count(usage.get("output_tokens"))
        u.cache_read_tokens = as_count(usage.get("cache_read_input_tokens"))
        if u.cache_read_tokens is None:
            for entry in per_model.values():
                u.cache_read_tokens = add_counts(
                    u.cache_read_tokens, as_count(mapping(entry).get("cacheReadInputTokens"))
                )
        u.cost_usd = cost_string(result.get("total_cost_usd"))
        u.turns = as_count(result.get("num_turns"))
        first = next((m for m in map(model_name, per_model) if m), None)
        u.model = first or self.message_model or self.init_model
        final = text_of(result.get("result")) or self.last_text
        verdict = self._verdict(exit_code)
        if verdict is None:
            return Outcome(u, ok=True, final_message=final)
        return Outcome(u, ok=False, reason=verdict[0], problem=verdict[1], final_message=final)

    def _verdict(self, exit_code: int | None) -> tuple[str, str] | None:
        """(reason, problem) of a failed run; None when it succeeded. An error result says
        most, then how the process ended, then whether a result line came at all."""
        result = self.result
        because = f" ({self.api_error})" if self.api_error else ""
        if result is not None and (
            result.get("is_error") is not False or result.get("subtype") != "success"
        ):
            subtype = _label(result.get("subtype"))
            what = subtype if subtype and subtype != "success" else "an error"
            turns = as_count(result.get("num_turns"))
            after = f" after {plural(turns, 'turn')}" if turns is not None else ""
            return "cli_failed", f"{CLI} ended with {what}{because}{after}"
        if exit_code is None:
            return "cli_failed", f"{CLI} was killed before it exited"
        if exit_code != 0:
            return "cli_failed", f"{CLI} exited with code {exit_code}{because}"
        if result is not None:
            return None
        return self.missing(CLI)


class ClaudeDriver(Driver):
    name = "claude-code"
    binary = "claude"
    cli = CLI
    version = "2.1.240"
    settings_files = ((".claude/settings.json", "{}\n"), (".claude/CLAUDE.md", ""))
    settings_dirs = (".claude/commands", ".claude/agents", ".claude/hooks")
    # Claude Code rewrites ~/.claude.json on every start (it hangs when it cannot), and
    # user-scope MCP servers live there: it is writable, and removed before each run.
    reset_files = (".claude.json",)
    session_dirs = (".claude/projects",)
    credential_files = (".claude/.credentials.json", ".claude/settings.json", ".claude/CLAUDE.md")
    credential_env = (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "CLAUDE_CODE_USE_BEDROCK",
        "CLAUDE_CODE_USE_VERTEX",
        "AWS_REGION",
        "AWS_PROFILE",
        "CLOUD_ML_REGION",
        "ANTHROPIC_VERTEX_PROJECT_ID",
    )

    def argv(self, request: RunRequest) -> list[str]:
        if request.read_only:
            mode = "plan"
        else:
            mode = "bypassPermissions" if request.sandboxed else "acceptEdits"
        argv = [*request.program, "-p", "--output-format", "stream-json", "--verbose"]
        argv += ["--permission-mode", mode]
        if request.model:
            argv += ["--model", request.model]
        if request.max_turns is not None:
            argv += ["--max-turns", str(request.max_turns)]
        if request.budget_left:
            argv += ["--max-budget-usd", request.budget_left]
        if request.resume:
            argv += ["--resume", request.resume]
        return [*argv, *request.args, request.prompt]

    def reader(self) -> ClaudeReader:
        return ClaudeReader()

    def rows(self, record: Record) -> list[Row]:
        if not isinstance(record, dict):
            return self.text_rows(record)
        kind = record.get("type")
        rows: list[Row] = []
        if kind == "system":
            if record.get("subtype") == "init":
                rows.append(row("system", "cli", _init_summary(record)))
            else:
                rows.append(row("system", "cli", _label(record.get("subtype")) or "system"))
        elif kind == "assistant":
            rows += _message_rows(mapping(record.get("message")), "agent")
            if (error := text_of(record.get("error"))) is not None:
                rows.append(row("error", "cli", error))
        elif kind == "user":
            rows += _message_rows(mapping(record.get("message")), "user")
        elif kind == "result":
            rows.append(row("result", "cli", _result_summary(record)))
        return rows or [
            row("system", "cli", clip(kind if isinstance(kind, str) else compact(record), SHORT))
        ]


def _init_summary(record: dict[str, Any]) -> str:
    parts = ["init"]
    if (session := text_of(record.get("session_id"))) is not None:
        parts.append(f"session {session}")
    if (model := text_of(record.get("model"))) is not None:
        parts.append(f"model {model}")
    return " · ".join(parts)


def _message_rows(message: dict[str, Any], who: str) -> list[Row]:
    """One row per meaningful block: text, thinking, tool call, tool result."""
    rows: list[Row] = []
    for block in _blocks(message):
        kind = block.get("type")
        if kind == "text" and isinstance(text := block.get("text"), str) and text.strip():
            rows.append(row("message", who, text))
        elif kind == "thinking" and isinstance(text := block.get("thinking"), str) and text:
            rows.append(row("thinking", who, text))
        elif kind == "tool_use":
            name = text_of(block.get("name")) or "tool"
            rows.append(row("tool_call", who, f"{name} {compact(block.get('input'))}"))
        elif kind == "tool_result":
            rows.append(row("tool_result", "tool", _tool_result_text(block)))
    return rows
