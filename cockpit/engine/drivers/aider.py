"""The Aider driver: `aider --message … --yes-always --no-pretty`, plain text (SPEC 9.1).

Written against Aider 0.86.2 (github:Aider-AI/aider tag v0.86.2 @
253f0368b873ba30d8ee26e463718f0c03614ddf; main @ 5dc9490bb35f9729ef2c95d00a19ccd30c26339c
has the same code for everything read here): `aider/args.py`, `aider/main.py`,
`aider/io.py`, `aider/repo.py`, `aider/utils.py` (`format_tokens`),
`aider/coders/base_coder.py` (`calculate_and_show_tokens_and_cost`, `get_announcements`)
and `tests/fixtures/chat-history.md`; see docs/agent-cli-formats.md, section 4.

Aider exits 0 whatever became of the request, prints no session id and no turn count; its
token counts are rounded (`1.6k`). The runner judges the worktree, not this reader.
"""

from __future__ import annotations

import re
from decimal import Decimal

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
    row,
)
from cockpit.engine.text import clip

CLI = "Aider"
SHORT = 200  # characters of untrusted text quoted in a sentence or a fallback row
# A count as `format_tokens` prints it ("51", "1.6k", "15k"; "26,200" before 2024-08),
# bounded so that no line makes an absurd count.
_N = r"\d{1,7}(?:,\d{3}){0,2}(?:\.\d{1,3})?k?"
TOKENS = re.compile(
    rf"Tokens: (?P<sent>{_N}) sent(?:, (?P<write>{_N}) cache write)?"
    rf"(?:, (?P<hit>{_N}) cache hit)?, (?P<received>{_N}) received\."
)
# On the Tokens line, or on the next one when both cache counts are shown; `request`
# before 2024-08, `message` since.
COST = re.compile(
    r"Cost: \$\d{1,9}(?:\.\d{1,12})? (?:message|request), "
    r"\$(?P<session>\d{1,9}(?:\.\d{1,12})?) session\."
)
# `Main model: …` (or `Model: …` when the weak model is the main one) at startup.
MODEL_LINE = re.compile(r"(?:Main model|Model): (?P<model>\S{1,200}) with \S+ edit format")
COMMIT = re.compile(r"Commit [0-9a-f]{7,40} ")
APPLIED = "Applied edit to "
# How an API error reaches the console: str() of a litellm exception
# ("litellm.InternalServerError: AnthropicException - Overloaded…").
LITELLM_ERROR = re.compile(r"\blitellm\.[A-Za-z]*(?:Error|Timeout)\b")


def _plain(line: str) -> str:
    """A console line without its blanks, or a chat-history line (`> …  `) without its
    quote marker."""
    text = line.strip()
    return text[1:].strip() if text.startswith(">") else text


def _tokens(count: str) -> int | None:
    amount = Decimal(count.removesuffix("k").replace(",", ""))
    return as_count(int(amount * 1000) if count.endswith("k") else int(amount))


def _is_report(text: str) -> bool:
    return text.startswith(("Tokens:", "Cost:"))


class AiderReader(OutputReader):
    """Token and cost reports, the main model, and the last line worth quoting."""

    def __init__(self) -> None:
        super().__init__()
        self.last_line: str | None = None
        self.error_line: str | None = None  # an API error no later reply came after

    def take_text(self, line: str) -> None:
        text, u = _plain(line), self.usage
        if not text:
            return
        if tokens := TOKENS.match(text):
            u.input_tokens = add_counts(u.input_tokens, _tokens(tokens["sent"]))
            u.output_tokens = add_counts(u.output_tokens, _tokens(tokens["received"]))
            hit = tokens["hit"]
            u.cache_read_tokens = add_counts(u.cache_read_tokens, _tokens(hit) if hit else 0)
            self.error_line = None
        if _is_report(text):
            if cost := COST.search(text):
                u.cost_usd = cost_string(cost["session"])
            return
        if text.startswith(APPLIED) or COMMIT.match(text):
            return
        if u.model is None and (model := MODEL_LINE.match(text)):
            u.model = model["model"]
        if LITELLM_ERROR.search(text):
            self.error_line = text
        self.last_line = text

    def finish(self, exit_code: int | None) -> Outcome:
        final = self.error_line or self.last_line
        if exit_code == 0:
            return Outcome(self.usage, ok=True, final_message=final)
        if exit_code is None:
            problem = f"{CLI} was killed before it exited"
        else:
            problem = f"{CLI} exited with code {exit_code}"
        return Outcome(self.usage, False, "cli_failed", problem, final_message=final)


class AiderDriver(Driver):
    name = "aider"
    binary = "aider"
    cli = CLI
    version = "0.86.2"
    settings_files = (
        (".aider.conf.yml", "{}\n"),
        (".aider.model.settings.yml", "[]\n"),
        (".aider.model.metadata.json", "{}\n"),
        (".env", ""),
    )
    session_dirs = (".aider",)
    credential_files = (
        ".aider.conf.yml",
        ".aider.model.settings.yml",
        ".aider.model.metadata.json",
    )
    credential_env = (
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
        "GEMINI_API_KEY",
        "OPENROUTER_API_KEY",
        "DEEPSEEK_API_KEY",
        "AIDER_MODEL",
    )
    resumable = False

    def argv(self, request: RunRequest) -> list[str]:
        history = request.home / ".aider"
        chat = history / "chat.history.md"
        argv = [
            *request.program,
            "--yes-always",
            "--no-pretty",
            "--no-stream",
            "--no-check-update",
            "--no-analytics",
            "--no-show-model-warnings",
            "--no-gitignore",
            "--chat-history-file",
            str(chat),
            "--input-history-file",
            str(history / "input.history"),
        ]
        if chat.exists():
            argv.append("--restore-chat-history")
        if request.read_only:
            # `--chat-mode` is args.py's alias of `--edit-format`; `ask` is AskCoder's
            # format, which answers and never edits.
            argv += ["--chat-mode", "ask"]
        if request.model:
            argv += ["--model", request.model]
        return [*argv, *request.args, "--message", request.prompt]

    def reader(self) -> AiderReader:
        return AiderReader()

    def rows(self, record: Record) -> list[Row]:
        if not isinstance(record, str):
            return [row("system", "cli", clip(compact(record), SHORT))]
        text = _plain(record)
        if not text:
            return []
        if _is_report(text):
            return [row("usage", "cli", text)]
        if text.startswith(APPLIED):
            return [row("tool_result", "tool", text)]
        if COMMIT.match(text):
            return [row("system", "cli", text)]
        if LITELLM_ERROR.search(text):
            return [row("error", "cli", text)]
        return [row("text", "agent", record.rstrip())]
