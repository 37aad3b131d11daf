"""What every driver is (SPEC 9.1): the command line of its CLI for one run, and a reader
of the CLI's output that yields readable rows as lines arrive and, once the CLI exited,
the run's usage and whether it succeeded.

Everything a CLI printed is untrusted text written by an agent: it is parsed as data,
shown as plain text, never run, never used as a path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cockpit.engine.canon import redaction

# A session id is used as one argv element (`--resume ID`) and nowhere else; an id that
# is not plain is not recorded (the next run starts a fresh session).
SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
COUNT_MAX = 1 << 53  # a count past this is not a count a CLI reported (SQLite holds < 2**63)
COST_MAX = Decimal(1_000_000)  # dollars one run could cost; past it, not a real figure
ROW_TEXT_MAX = 2000  # characters of one readable row (the raw line is kept whole)

Record = dict[str, Any] | str  # one output line: a JSON object, or a line of text


# A model name worth recording ("<synthetic>", on a message a CLI made up, is not one).
MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+\[\]-]{0,199}")


# -- reading what a CLI printed: untrusted, of any type -----------------------------------


def text_of(value: Any) -> str | None:
    """`value` if it is a string, else None."""
    return value if isinstance(value, str) else None


def mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def model_name(value: Any) -> str | None:
    return value if isinstance(value, str) and MODEL.fullmatch(value) else None


def compact(value: Any) -> str:
    """`value` as one line of JSON (never raises, whatever it holds)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        return "…"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plain_session_id(value: Any) -> str | None:
    """A session id a CLI reported, if it is one: plain characters, and never a word a
    CLI's resume reads as "the latest" or as an index (SPEC 9.1: by id, never the
    latest session)."""
    if not isinstance(value, str) or not SESSION_ID.fullmatch(value):
        return None
    if value.lower() in ("latest", "last") or value.isdigit():
        return None
    return value


def cost_string(value: Any) -> str | None:
    """A CLI's cost (a float or a string of dollars) as the decimal string payloads hold
    ("0.010621"); None when it is not a finite, non-negative number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0 or amount > COST_MAX:
        return None
    return format(amount.quantize(Decimal("0.000001")).normalize(), "f")


def recorded_cost(usage: Any) -> Decimal | None:
    """The cost a recorded `usage` holds: a finite, non-negative decimal; else None."""
    cost = usage.get("cost_usd") if isinstance(usage, dict) else None
    if not isinstance(cost, str):
        return None
    try:
        amount = Decimal(cost)
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def as_count(value: Any) -> int | None:
    """A token or turn count a CLI reported (an int, never a bool or a float)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < COUNT_MAX
    return value if ok else None


def add_counts(a: int | None, b: int | None) -> int | None:
    """The sum of two reported counts; None once it is past any real count (a CLI that
    reports absurd figures gets no figure, never one the store cannot hold)."""
    total = b if a is None else a if b is None else a + b
    return total if total is None or total < COUNT_MAX else None


@dataclass
class Usage:
    """`agent_exited.payload.usage` (SPEC 9.1): None where the CLI does not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cost_usd: str | None = None  # a decimal string: payloads hold no floats
    model: str | None = None
    turns: int | None = None
    session_id: str | None = None

    def payload(self) -> dict[str, Any]:
        """The usage as recorded: a model name or session id that looks like a secret
        (a key a CLI printed where its model belongs) is not recorded."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cost_usd": self.cost_usd,
            "model": _not_secret(self.model),
            "turns": self.turns,
            "session_id": _not_secret(self.session_id),
        }


def _not_secret(value: str | None) -> str | None:
    return None if value is None or redaction.scan(value) else value


@dataclass(frozen=True)
class Row:
    """One readable transcript row: what kind of line it was, who spoke, plain text."""

    kind: (
        str  # message | thinking | tool_call | tool_result | system | result | error | usage | text
    )
    who: str  # agent | user | tool | cli
    text: str


def row(kind: str, who: str, text: Any) -> Row:
    shown = text if isinstance(text, str) else str(text)
    if len(shown) > ROW_TEXT_MAX:
        shown = shown[:ROW_TEXT_MAX] + f"… ({len(shown) - ROW_TEXT_MAX} more characters)"
    return Row(kind, who, shown)


@dataclass
class Outcome:
    """What the driver concludes once the CLI exited: its usage, and whether it did its
    job (`ok`); when not, `reason` (a stable code) and `problem` (one sentence)."""

    usage: Usage
    ok: bool
    reason: str | None = None  # cli_failed | malformed_output | no_result
    problem: str | None = None
    final_message: str | None = None  # the agent's last words (untrusted text)


@dataclass(frozen=True)
class RunRequest:
    """One run of a CLI: everything its command line depends on."""

    program: list[str]  # the CLI's executable (and any fixed leading arguments)
    prompt: str
    stage: str  # dispatched (read and confirm the scope) | in_progress | recovering
    home: Path  # the agent's CLI home (HOME inside the sandbox)
    model: str | None = None
    args: tuple[str, ...] = ()  # the lane's extra arguments, after the driver's flags
    max_turns: int | None = None
    budget_left: str | None = None  # dollars left of the WP's budget_usd, a decimal string
    resume: str | None = None  # the CLI session to resume (its own id)
    sandboxed: bool = True  # confined by Cockpit's sandbox (the CLI may skip its prompts)

    @property
    def read_only(self) -> bool:
        """The scope stage: the agent reads and answers, it changes nothing."""
        return self.stage == "dispatched"


class OutputReader:
    """Reads one run's output, line by line (`feed`), then concludes (`finish`)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.lines = 0
        self.json_lines = 0
        self.bad_lines = 0  # lines that looked like JSON and did not parse
        self.final_message: str | None = None

    def feed(self, record: Record) -> None:
        self.lines += 1
        if isinstance(record, dict):
            self.json_lines += 1
            self.take(record)
        else:
            if record.lstrip().startswith(("{", "[")):
                self.bad_lines += 1
            self.take_text(record)

    def take(self, record: dict[str, Any]) -> None:  # one JSON line
        """Subclasses read usage, session id and results from a JSON line."""

    def take_text(self, line: str) -> None:  # one line that is not JSON
        """Subclasses that read plain text (aider) read it here."""

    def finish(self, exit_code: int | None) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def missing(self, cli: str, what: str = "printed no result line") -> tuple[str, str]:
        """The reason and sentence for a run whose output lacks its ending (`what`):
        `malformed_output` when lines were not the CLI's JSON, else `no_result`."""
        if self.lines == 0:
            return "malformed_output", f"{cli} printed nothing"
        if self.bad_lines or not self.json_lines:
            bad = self.lines - self.json_lines
            verb = "was" if bad == 1 else "were"
            return "malformed_output", (
                f"{cli} {what} ({bad} of {plural(self.lines, 'line')} {verb} not valid JSON)"
            )
        return "no_result", f"{cli} {what}"


class Driver:
    """A driver: its CLI, how it is started, and how its output is read. Subclasses set
    the class attributes and implement `argv`, `rows` and `reader`."""

    name: str = ""  # the lane's `driver:` value
    binary: str = ""  # the CLI's executable name, looked up on PATH
    cli: str = ""  # the CLI's name in sentences ("Claude Code")
    version: str = ""  # the CLI version this driver was written against
    # Relative to the agent's home: the CLI's session store, hashed at `agent_exited`
    # and checked before a resume (SPEC 10.3, `session_tampered`).
    session_dirs: tuple[str, ...] = ()
    # Relative to the owner's home: the credential and settings files copied (read-only)
    # into the agent's home when its WP is first started (SPEC 10.3).
    credential_files: tuple[str, ...] = ()
    # Environment variables the CLI needs (API keys), passed from the runner's environment.
    credential_env: tuple[str, ...] = ()
    resumable: bool = True  # resumes its own session by id (aider cannot)
    # Relative to the agent's home: the CLI's settings, hooks, MCP configuration and
    # memory, shown read-only (SPEC 10.3) so a run cannot plant them for the next one;
    # made (with this content) when the owner has none. And whole directories of them.
    settings_files: tuple[tuple[str, str], ...] = ()
    settings_dirs: tuple[str, ...] = ()
    # State the CLI must write on every start, removed before each run (it starts clean).
    reset_files: tuple[str, ...] = ()

    def argv(self, request: RunRequest) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def rows(self, record: Record) -> list[Row]:  # pragma: no cover - abstract
        """The readable rows of one output line (none for a line that says nothing)."""
        raise NotImplementedError

    def reader(self) -> OutputReader:  # pragma: no cover - abstract
        raise NotImplementedError

    def text_rows(self, line: str) -> list[Row]:
        return [row("text", "cli", line)] if line.strip() else []


class PlainReader(OutputReader):
    """A `command` lane's output: text to show, nothing to conclude."""

    def finish(self, exit_code: int | None) -> Outcome:
        return Outcome(self.usage, ok=exit_code == 0)
