"""The Gemini CLI driver: `gemini --output-format stream-json --prompt …` (SPEC 9.1).

Written against Gemini CLI 0.56.0 (github:google-gemini/gemini-cli @
5411f113cafae26161b4969b0237b8e1e024e2c2): `docs/cli/headless.md`,
`docs/cli/cli-reference.md`, `packages/core/src/output/types.ts`,
`packages/core/src/output/stream-json-formatter.ts`, `packages/core/src/utils/errors.ts` and
`packages/cli/src/__snapshots__/nonInteractiveCli.test.ts.snap`; see
docs/agent-cli-formats.md, section 3.
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
    as_count,
    compact,
    mapping,
    model_name,
    plain_session_id,
    row,
    text_of,
)
from cockpit.engine.text import clip, literal

CLI = "Gemini CLI"
SHORT = 200  # characters of untrusted text quoted in a sentence or a fallback row
# Exit codes with a documented meaning (docs/cli/headless.md; packages/*/src/utils/errors.ts).
EXIT_MEANINGS = {
    41: "authentication failed",
    42: "input error",
    44: "sandbox error",
    52: "configuration error",
    53: "turn limit exceeded",
    54: "tool execution failed",
    55: "untrusted workspace",
    130: "cancelled",
}


def _error_text(value: Any) -> str | None:
    """An `error` field: `{type, message}` or, from a hostile line, anything."""
    return text_of(mapping(value).get("message")) or text_of(value)


class GeminiReader(OutputReader):
    """Session id and model from `init`, token stats and the verdict from `result`, the
    final message from the assistant text after the last user message."""

    def __init__(self) -> None:
        super().__init__()
        self.result: dict[str, Any] | None = None
        self.reply: list[str] = []

    def take(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        if kind == "init":
            self.usage.session_id = (
                plain_session_id(record.get("session_id")) or self.usage.session_id
            )
            self.usage.model = model_name(record.get("model")) or self.usage.model
        elif kind == "message" and isinstance(content := record.get("content"), str):
            if record.get("role") == "user":
                self.reply = []
            elif record.get("role") == "assistant":
                self.reply.append(content)
        elif kind == "result":
            self.result = record

    def finish(self, exit_code: int | None) -> Outcome:
        result = self.result or {}
        stats, u = mapping(result.get("stats")), self.usage
        u.input_tokens = as_count(stats.get("input_tokens"))
        u.output_tokens = as_count(stats.get("output_tokens"))
        u.cache_read_tokens = as_count(stats.get("cached"))
        u.model = u.model or next(
            (m for m in map(model_name, mapping(stats.get("models"))) if m), None
        )
        final = "".join(self.reply) or None
        verdict = self._verdict(exit_code)
        if verdict is None:
            return Outcome(u, ok=True, final_message=final)
        return Outcome(u, ok=False, reason=verdict[0], problem=verdict[1], final_message=final)

    def _verdict(self, exit_code: int | None) -> tuple[str, str] | None:
        """(reason, problem) of a failed run; None when it succeeded."""
        result = self.result
        if result is not None and result.get("status") != "success":
            error = _error_text(result.get("error"))
            if error is not None:
                return "cli_failed", f"{CLI} ended with an error: {clip(literal(error), SHORT)}"
            return "cli_failed", f"{CLI} ended without success"
        if exit_code is None:
            return "cli_failed", f"{CLI} was killed before it exited"
        if exit_code != 0:
            meaning = EXIT_MEANINGS.get(exit_code)
            because = f" ({meaning})" if meaning else ""
            return "cli_failed", f"{CLI} exited with code {exit_code}{because}"
        if result is not None:
            return None
        return self.missing(CLI)


def _result_summary(record: dict[str, Any]) -> str:
    """`success · 0 in / 0 out`, or `error · <message>`."""
    status = text_of(record.get("status")) or "result"
    parts = [clip(status, 40)]
    stats = mapping(record.get("stats"))
    tokens_in, tokens_out = (
        as_count(stats.get("input_tokens")),
        as_count(stats.get("output_tokens")),
    )
    if tokens_in is not None or tokens_out is not None:
        parts.append(
            f"{tokens_in if tokens_in is not None else '?'} in / "
            f"{tokens_out if tokens_out is not None else '?'} out"
        )
    if (error := _error_text(record.get("error"))) is not None:
        parts.append(error)
    return " · ".join(parts)


class GeminiDriver(Driver):
    name = "gemini"
    binary = "gemini"
    cli = CLI
    version = "0.56.0"
    settings_files = ((".gemini/settings.json", "{}\n"), (".gemini/GEMINI.md", ""))
    settings_dirs = (".gemini/commands", ".gemini/extensions")
    session_dirs = (".gemini/tmp",)
    credential_files = (
        ".gemini/oauth_creds.json",
        ".gemini/google_accounts.json",
        ".gemini/settings.json",
        ".gemini/GEMINI.md",
    )
    credential_env = (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_GENAI_USE_VERTEXAI",
    )

    def argv(self, request: RunRequest) -> list[str]:
        mode = "plan" if request.read_only else "yolo"
        argv = [*request.program, "--output-format", "stream-json"]
        argv += ["--approval-mode", mode, "--skip-trust"]
        if request.model:
            argv += ["--model", request.model]
        if request.resume:
            argv += ["--resume", request.resume]
        return [*argv, *request.args, "--prompt", request.prompt]

    def reader(self) -> GeminiReader:
        return GeminiReader()

    def rows(self, record: Record) -> list[Row]:
        if not isinstance(record, dict):
            return self.text_rows(record)
        kind = record.get("type")
        if kind == "init":
            parts = ["init"]
            if (session := text_of(record.get("session_id"))) is not None:
                parts.append(f"session {session}")
            if (model := text_of(record.get("model"))) is not None:
                parts.append(f"model {model}")
            return [row("system", "cli", " · ".join(parts))]
        if kind == "message" and isinstance(content := record.get("content"), str):
            role = record.get("role")
            if role in ("assistant", "user"):
                who = "agent" if role == "assistant" else "user"
                return [row("message", who, content)] if content.strip() else []
        if kind == "tool_use":
            name = text_of(record.get("tool_name")) or "tool"
            return [row("tool_call", "agent", f"{name} {compact(record.get('parameters'))}")]
        if kind == "tool_result":
            if record.get("status") == "error":
                error = _error_text(record.get("error")) or text_of(record.get("output")) or ""
                return [row("tool_result", "tool", f"error: {error}")]
            return [row("tool_result", "tool", text_of(record.get("output")) or "")]
        if kind == "error" and isinstance(message := record.get("message"), str):
            warning = record.get("severity") == "warning"
            return [row("error", "cli", f"warning: {message}" if warning else message)]
        if kind == "result":
            return [row("result", "cli", _result_summary(record))]
        return [
            row("system", "cli", clip(kind if isinstance(kind, str) else compact(record), SHORT))
        ]
