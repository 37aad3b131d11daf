"""The Codex CLI driver: `codex exec --json` (SPEC 9.1).

Written against codex-rs exec as stored at these github:openai/codex commits (no release
tag confirmed): `codex-rs/exec/src/cli.rs` @ 02805335a40541933661cade68723897d5eedfd2,
`codex-rs/exec/src/exec_events.rs` @ 08a1f30ca23f51922d1a4a4965b5ab999b64bead,
`docs/exec.md` @ 6171a7ffe5292a6cb3b5cf0354b6a3e480b6a244 and
`codex-rs/exec/tests/suite/server_error_exit.rs` @ 71163530a46dc568775f9ee95a9b57de3385cd9a
(docs/agent-cli-formats.md, section 2); and, for when `error` and `turn.completed` are
printed, `codex-rs/exec/src/event_processor_with_jsonl_output.rs` @
029bf4d55c5d33e77bdbdfaec25d06836ae9e213.
"""

from __future__ import annotations

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
    mapping,
    plain_session_id,
    row,
    text_of,
)
from cockpit.engine.text import clip, literal

CLI = "Codex CLI"
SHORT = 200  # characters of untrusted text quoted in a sentence or a fallback row
OUTPUT_TAIL = 1000  # characters of a command's output shown in its row
# Item types shown only once completed (agent text, reasoning, edits, searches, notices).
QUIET_ITEMS = frozenset(
    ("agent_message", "reasoning", "file_change", "web_search", "error", "plan", "todo_list")
)


def _error_message(record: dict[str, Any]) -> str:
    """The message of `turn.failed` (`error.message`) or of `error` (`message`)."""
    if record.get("type") == "turn.failed":
        return text_of(mapping(record.get("error")).get("message")) or "turn failed"
    return text_of(record.get("message")) or "error"


class CodexReader(OutputReader):
    """Session id from `thread.started`, usage summed over `turn.completed`, the failure
    from `turn.failed` or `error`."""

    def __init__(self) -> None:
        super().__init__()
        self.usage.turns = 0
        # The last `turn.failed`, or an `error` no later `turn.completed` recovered from
        # (exec prints retried stream errors as `error` events too).
        self.failure: str | None = None
        self.turn_failed = False

    def take(self, record: dict[str, Any]) -> None:
        kind, u = record.get("type"), self.usage
        if kind == "thread.started":
            u.session_id = plain_session_id(record.get("thread_id")) or u.session_id
        elif kind == "turn.completed":
            u.turns = (u.turns or 0) + 1
            usage = mapping(record.get("usage"))
            u.input_tokens = add_counts(u.input_tokens, as_count(usage.get("input_tokens")))
            u.output_tokens = add_counts(u.output_tokens, as_count(usage.get("output_tokens")))
            u.cache_read_tokens = add_counts(
                u.cache_read_tokens, as_count(usage.get("cached_input_tokens"))
            )
            if not self.turn_failed:
                self.failure = None
        elif kind in ("turn.failed", "error"):
            self.failure = _error_message(record)
            self.turn_failed = self.turn_failed or kind == "turn.failed"
        elif kind == "item.completed":
            item = mapping(record.get("item"))
            if item.get("type") == "agent_message" and isinstance(item.get("text"), str):
                self.final_message = item["text"]

    def finish(self, exit_code: int | None) -> Outcome:
        verdict = self._verdict(exit_code)
        if verdict is None:
            return Outcome(self.usage, ok=True, final_message=self.final_message)
        reason, problem = verdict
        return Outcome(self.usage, False, reason, problem, final_message=self.final_message)

    def _verdict(self, exit_code: int | None) -> tuple[str, str] | None:
        """(reason, problem) of a failed run; None when it succeeded."""
        if self.failure is not None:
            return "cli_failed", f"{CLI} reported an error: {clip(literal(self.failure), SHORT)}"
        if exit_code is None:
            return "cli_failed", f"{CLI} was killed before it exited"
        if exit_code != 0:
            return "cli_failed", f"{CLI} exited with code {exit_code}"
        if self.usage.turns:
            return None
        return self.missing(CLI, "completed no turn")


def _usage_summary(usage: dict[str, Any]) -> str:
    """`24763 in / 122 out (24448 cached)`."""
    tokens_in, tokens_out = (
        as_count(usage.get("input_tokens")),
        as_count(usage.get("output_tokens")),
    )
    text = (
        f"{tokens_in if tokens_in is not None else '?'} in / "
        f"{tokens_out if tokens_out is not None else '?'} out"
    )
    cached = as_count(usage.get("cached_input_tokens"))
    return text if cached is None else f"{text} ({cached} cached)"


def _tail(output: str) -> str:
    output = output.rstrip()
    return output if len(output) <= OUTPUT_TAIL else "…" + output[-OUTPUT_TAIL:]


def _command_rows(done: bool, item: dict[str, Any]) -> list[Row]:
    if not done:
        command = text_of(item.get("command")) or compact(item.get("command"))
        return [row("tool_call", "agent", f"$ {command}")]
    code = item.get("exit_code")
    if isinstance(code, int) and not isinstance(code, bool):
        head = f"exit {code}"
    else:
        head = text_of(item.get("status")) or "ended"
    return [
        row("tool_result", "tool", f"{head}: {_tail(text_of(item.get('aggregated_output')) or '')}")
    ]


def _mcp_rows(done: bool, item: dict[str, Any]) -> list[Row]:
    name = f"{text_of(item.get('server')) or '?'}.{text_of(item.get('tool')) or '?'}"
    if not done:
        return [row("tool_call", "agent", f"{name} {compact(item.get('arguments'))}")]
    error = text_of(mapping(item.get("error")).get("message"))
    text = f"error: {error}" if error is not None else compact(item.get("result"))
    return [row("tool_result", "tool", text)]


def _done_rows(item: dict[str, Any]) -> list[Row]:
    """The rows of a completed item that is not a call (nothing to show when it starts)."""
    item_type = item.get("type")
    if item_type == "agent_message" and isinstance(text := item.get("text"), str):
        return [row("message", "agent", text)]
    if item_type in ("reasoning", "plan") and isinstance(text := item.get("text"), str):
        return [row("thinking", "agent", text)]
    if item_type == "todo_list" and isinstance(steps := item.get("items"), list):
        todo = [
            f"[{'x' if s.get('completed') is True else ' '}] {text_of(s.get('text')) or ''}"
            for s in steps
            if isinstance(s, dict)
        ]
        return [row("thinking", "agent", "\n".join(["plan:", *todo]))]
    if item_type == "file_change" and isinstance(changes := item.get("changes"), list):
        edits = [
            f"{text_of(c.get('path')) or '?'} ({text_of(c.get('kind')) or '?'})"
            for c in changes
            if isinstance(c, dict)
        ]
        return [row("tool_call", "agent", "edit " + ", ".join(edits))]
    if item_type == "web_search":
        return [row("tool_call", "agent", f"search {text_of(item.get('query')) or ''}".rstrip())]
    if item_type == "error" and isinstance(text := item.get("message"), str):
        return [row("error", "cli", text)]
    return []


def _item_rows(kind: str, item: dict[str, Any]) -> list[Row]:
    """The rows of one `item.started` or `item.completed` (`item.updated` says nothing new);
    an item type this driver does not know is one system row naming it."""
    item_type, done = item.get("type"), kind == "item.completed"
    if item_type == "command_execution":
        return _command_rows(done, item)
    if item_type == "mcp_tool_call":
        return _mcp_rows(done, item)
    if isinstance(item_type, str) and item_type in QUIET_ITEMS:
        return _done_rows(item) if done else []
    return [row("system", "cli", item_type if isinstance(item_type, str) else kind)]


class CodexDriver(Driver):
    name = "codex"
    binary = "codex"
    cli = CLI
    version = "codex-rs exec @ 0280533 (2026-08)"
    settings_files = ((".codex/config.toml", ""), (".codex/AGENTS.md", ""))
    settings_dirs = (".codex/prompts",)
    session_dirs = (".codex/sessions",)
    credential_files = (".codex/auth.json", ".codex/config.toml", ".codex/AGENTS.md")
    credential_env = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY")

    def argv(self, request: RunRequest) -> list[str]:
        sandbox = "read-only" if request.read_only else "workspace-write"
        argv = [*request.program, "exec", "--json", "--skip-git-repo-check", "--sandbox", sandbox]
        if request.model:
            argv += ["--model", request.model]
        argv += request.args
        if request.resume:
            argv += ["resume", request.resume]
        return [*argv, request.prompt]

    def reader(self) -> CodexReader:
        return CodexReader()

    def rows(self, record: Record) -> list[Row]:
        if not isinstance(record, dict):
            return self.text_rows(record)
        kind = record.get("type")
        if kind == "thread.started":
            thread = record.get("thread_id")
            return [row("system", "cli", f"session {text_of(thread) or compact(thread)}")]
        if kind in ("turn.started", "item.updated"):
            return []
        if kind == "turn.completed":
            return [row("usage", "cli", _usage_summary(mapping(record.get("usage"))))]
        if kind in ("turn.failed", "error"):
            return [row("error", "cli", _error_message(record))]
        if kind in ("item.started", "item.completed"):
            return _item_rows(kind, mapping(record.get("item")))
        return [
            row("system", "cli", clip(kind if isinstance(kind, str) else compact(record), SHORT))
        ]
