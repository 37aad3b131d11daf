"""What the four agent CLI stand-ins in this directory share (see ../README.md).

A stand-in is not an agent and calls no model. It accepts the flags Cockpit passes, records
its argv, prints output in the shape its CLI documents, keeps a session store under $HOME
like its CLI, and makes one small, real change in its working directory. The test-only
`--standin*` flags choose what it does. Standard library only; it writes nowhere but the
working directory and $HOME.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable

MODES = ("ok", "questions", "noop", "fail", "malformed", "flood", "hang", "slow", "inject")

# The steering flags and their defaults. They arrive among the lane's extra args.
STEERING_FLAGS = {
    "--standin": "mode",
    "--standin-edit": "edit",
    "--standin-cost": "cost",
    "--standin-lines": "lines",
    "--standin-delay": "delay",
}

# What the adversarial (`--standin inject`) agent prints. It only prints these: it runs none.
PWN_COMMAND = "$(touch /tmp/standin-pwned)"
PWN_BACKTICKS = "`touch PWNED`"
PWN_CHAIN = "; rm -rf ~"
RICH_MARKUP = "[bold red]markup[/] [link=file:///etc/passwd]x[/link]"
ANSI_ESCAPES = "\x1b[31mred\x1b[0m \x1b]0;title\x07"
FAKE_AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_GITHUB_TOKEN = "ghp_" + "0123456789abcdefghijABCDEFGHIJklmnop"  # 36 alphanumerics
INJECT_SESSION_ID = "../../etc/passwd; touch PWNED"
INJECT_TEXT = (
    f"Run {PWN_COMMAND} then {PWN_BACKTICKS}{PWN_CHAIN} && echo done | sh > /dev/null & "
    f"{RICH_MARKUP} {ANSI_ESCAPES} key={FAKE_AWS_KEY} token={FAKE_GITHUB_TOKEN}"
)
INJECT_COMMAND = f"echo {PWN_COMMAND} {PWN_BACKTICKS}{PWN_CHAIN}"
INJECT_TOOL_NAME = "Bash; touch PWNED $(id)"


class UsageError(Exception):
    """A command line the real CLI would refuse: exit 2 with a usage line on stderr. `arg`
    is the unknown option, `option` the one that lacks its value, when that is the trouble."""

    def __init__(self, message: str, arg: str | None = None, option: str | None = None) -> None:
        super().__init__(message)
        self.arg = arg
        self.option = option


class Steering:
    """The `--standin*` flags."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.edit = "standin.txt"
        self.cost = 0.0106
        self.lines = 20
        self.delay = 0.2

    def set(self, flag: str, value: str) -> None:
        key = STEERING_FLAGS[flag]
        try:
            if key == "mode":
                if value not in MODES:
                    raise ValueError(value)
                self.mode = value
            elif key == "edit":
                if not value:
                    raise ValueError(value)
                self.edit = value
            elif key == "cost":
                self.cost = float(value)
                if not self.cost >= 0:
                    raise ValueError(value)
            elif key == "lines":
                self.lines = int(value)
                if self.lines < 0:
                    raise ValueError(value)
            else:
                self.delay = float(value)
                if not self.delay >= 0:
                    raise ValueError(value)
        except ValueError:
            choices = f" (one of {', '.join(MODES)})" if key == "mode" else ""
            raise UsageError(f"invalid value {value!r} for {flag}{choices}") from None


# -- start-up -------------------------------------------------------------------------------


def setup(on_sigterm: int | None = None, on_sigint: int | None = None) -> None:
    """Line-flushed UTF-8 output; die quietly on a closed pipe (as a native CLI does);
    optionally exit with a fixed status on SIGTERM/SIGINT."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(encoding="utf-8", errors="replace")  # type: ignore[union-attr]
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if on_sigterm is not None:
        signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(on_sigterm))
    if on_sigint is not None:
        signal.signal(signal.SIGINT, lambda signum, frame: os._exit(on_sigint))


def home_dir() -> str:
    return os.environ.get("HOME") or os.path.expanduser("~")


def record_argv() -> None:
    """Append this invocation to $HOME/.standin/argv.jsonl (tests read the flags from it)."""
    home = home_dir()
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    line = json.dumps({"argv": sys.argv, "cwd": cwd, "home": home, "env": sorted(os.environ)})
    folder = os.path.join(home, ".standin")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "argv.jsonl"), "a", encoding="utf-8") as log:
        log.write(line + "\n")


# -- command lines --------------------------------------------------------------------------


def parse(
    args: list[str], options: dict[str, tuple[str, object]], *, hyphen_values: bool = True
) -> tuple[dict[str, object], list[str], Steering]:
    """Split `args` into option values, positionals and the steering flags.

    `options` maps each accepted flag to (dest, const): a const of None means the flag
    takes a value (`--flag VALUE` or `--flag=VALUE`); otherwise the flag stores const.
    Options may come in any order; `--` ends them. With hyphen_values False, a value that
    looks like an option is refused, as argparse does."""
    values: dict[str, object] = {}
    positionals: list[str] = []
    steering = Steering()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positionals.extend(args[i:])
            break
        if len(arg) < 2 or not arg.startswith("-"):
            positionals.append(arg)
            continue
        name, inline = arg, None
        if arg.startswith("--") and "=" in arg:
            name, inline = arg.split("=", 1)
        if name in STEERING_FLAGS:
            dest, const = name, None
        elif name in options:
            dest, const = options[name]
        else:
            raise UsageError(f"unknown option '{arg}'", arg)
        if const is None:
            if inline is None:
                if i >= len(args):
                    raise UsageError(f"option '{name}' needs a value", option=name)
                inline = args[i]
                i += 1
                if not hyphen_values and looks_like_option(inline):
                    raise UsageError(f"option '{name}' needs a value", option=name)
            if name in STEERING_FLAGS:
                steering.set(name, inline)
            else:
                values[dest] = inline
        else:
            if inline is not None:
                raise UsageError(f"option '{name}' takes no value")
            values[dest] = const
    return values, positionals, steering


def looks_like_option(value: str) -> bool:
    if not value.startswith("-") or value == "-":
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def wants(args: list[str], *flags: str) -> bool:
    """Whether one of `flags` is among the options (before any `--`)."""
    for arg in args:
        if arg == "--":
            return False
        if arg in flags:
            return True
    return False


# -- output ---------------------------------------------------------------------------------


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def out_json(obj: object) -> None:
    out(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def stdin_piped() -> bool:
    """Whether stdin is open and not a terminal (so a CLI would read it)."""
    try:
        return sys.stdin is not None and not sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def iso_now() -> str:
    """UTC, milliseconds, `Z` (JavaScript's toISOString)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def new_uuid() -> str:
    return str(uuid.uuid4())


def uuid7() -> str:
    """A time-ordered UUID (version 7 layout), like the thread ids Codex prints."""
    millis = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a, rand_b = rand >> 68, rand & ((1 << 62) - 1)  # 12 and 62 random bits
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def token_id(prefix: str) -> str:
    """`msg_01…`/`toolu_01…`-style ids: a prefix and 22 base-62 characters."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int.from_bytes(os.urandom(17), "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(alphabet[digit])
    return prefix + "".join(chars)


def sleep_forever() -> None:
    while True:
        time.sleep(3600)


def safe_session_name(value: str) -> bool:
    """Whether `value` can name a session file without leaving the store."""
    return bool(value) and value not in (".", "..") and not any(c in value for c in "/\\\0")


# -- the change -----------------------------------------------------------------------------


class Change:
    """One line appended to the steering file (relative to the working directory). The
    new content is known before apply(), so a tool call can show it."""

    def __init__(self, cli: str, rel: str) -> None:
        self.rel = rel
        self.path = os.path.abspath(rel)
        self.created = not os.path.exists(self.path)
        self.applied = False
        self.error: str | None = None
        existing = ""
        if not self.created:
            try:
                with open(self.path, encoding="utf-8", errors="replace") as handle:
                    existing = handle.read()
            except OSError as exc:
                self.error = f"{exc.strerror or exc}: {self.path}"
        self.line = f"edited by the {cli} stand-in, run {len(existing.splitlines()) + 1}\n"
        self.prefix = "\n" if existing and not existing.endswith("\n") else ""
        self.content = existing + self.prefix + self.line

    def apply(self) -> Change:
        if self.error is not None:
            return self
        try:
            parent = os.path.dirname(self.path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(self.prefix + self.line)
            self.applied = True
        except OSError as exc:
            self.error = f"{exc.strerror or exc}: {self.path}"
        return self


def listing(limit: int = 20) -> list[str]:
    try:
        names = sorted(os.listdir("."))
    except OSError:
        return []
    return [n + ("/" if os.path.isdir(n) else "") for n in names if n != ".git"][:limit]


# -- the run --------------------------------------------------------------------------------


class Agent:
    """One stand-in run. A subclass prints its CLI's format; `run` is the same for all."""

    cli = "agent"

    def __init__(self, steering: Steering, prompt: str, model: str, read_only: bool) -> None:
        self.steering = steering
        self.prompt = prompt
        self.model = model
        self.read_only = read_only
        self.inject = steering.mode == "inject"
        self.started = time.time()

    def elapsed_ms(self) -> int:
        return int((time.time() - self.started) * 1000)

    # Each CLI prints these in its own format.
    def start(self) -> None:
        raise NotImplementedError

    def say(self, text: str) -> None:
        raise NotImplementedError

    def look(self) -> None:
        """A read-only tool call and its result."""
        raise NotImplementedError

    def edit(self, change: Change) -> None:
        """The tool call that makes `change` (it calls change.apply()) and its result."""
        raise NotImplementedError

    def injected_tool(self) -> None:
        raise NotImplementedError

    def finish(self, text: str) -> int:
        """The final assistant text and the result; returns the exit status."""
        raise NotImplementedError

    def fail(self) -> int:
        raise NotImplementedError

    def malformed(self) -> int:
        raise NotImplementedError

    def flood_line(self, number: int) -> None:
        raise NotImplementedError

    def run(self) -> int:
        st = self.steering
        self.start()
        if st.mode == "hang":
            sleep_forever()
        if st.mode == "fail":
            return self.fail()
        if st.mode == "malformed":
            return self.malformed()
        if st.mode == "flood":
            number = 0
            while True:
                number += 1
                self.flood_line(number)
        if st.mode == "slow":
            for step in range(1, st.lines + 1):
                time.sleep(st.delay)
                self.say(f"Working on it: step {step} of {st.lines}.")
        if self.inject:
            self.say(INJECT_TEXT)
            self.injected_tool()
        if st.mode == "noop":
            self.say("Let me look at the repository.")
            self.look()
            return self.finish("I looked at the repository: nothing needs to change.")
        if st.mode == "questions":
            self.say("Let me look at the repository before I answer.")
            self.look()
            return self.finish(
                f"I read the request and the repository, but one thing is unclear.\n"
                f"SCOPE: QUESTIONS\n"
                f"Should the line go in {st.edit}, or in another file?"
            )
        if self.read_only:
            self.say("Let me look at the repository before I answer.")
            self.look()
            extra = f"\n{RICH_MARKUP} {ANSI_ESCAPES}" if self.inject else ""
            return self.finish(
                f"I read the request and the repository. The change is one line appended to "
                f"{st.edit}; nothing else is touched.{extra}\nSCOPE: CONFIRMED"
            )
        self.say(f"I'll append one line to {st.edit}.")
        change = Change(self.cli, st.edit)
        self.edit(change)
        if change.error:
            return self.finish(f"I could not change {st.edit}: {change.error}")
        extra = f" {RICH_MARKUP} {PWN_COMMAND}" if self.inject else ""
        return self.finish(f"Done: I appended one line to {st.edit}.{extra}")


def main(build: Callable[[], Agent | int]) -> None:
    """Run `build()` (which parses argv and returns an Agent, or an exit status)."""
    result = build()
    if isinstance(result, Agent):
        result = result.run()
    sys.exit(result)
