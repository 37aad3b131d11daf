"""The `cockpit` group, its entry point and what every command shares: the workspace and
`--json` options, printing, and turning a CockpitError into its exit code."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, TypeVar

import click

from cockpit.errors import CockpitError

F = TypeVar("F", bound=Callable[..., Any])


# -- shared options ---------------------------------------------------------------------


def _remember_workspace(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta["cockpit.workspace"] = value


def workspace_option(func: F) -> F:
    """`--workspace DIR`, accepted before or after the subcommand (SPEC 2)."""
    return click.option(
        "--workspace",
        "-w",
        metavar="DIR",
        expose_value=False,
        is_eager=True,
        callback=_remember_workspace,
        help="Workspace directory (default: $COCKPIT_WORKSPACE, else ./workspace).",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def _remember_key(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta["cockpit.signing_key"] = value


def signing_key() -> Path | None:
    """The `--key FILE` given to the current command, if any."""
    value = click.get_current_context().meta.get("cockpit.signing_key")
    return value if isinstance(value, Path) else None


def as_option(func: F) -> F:
    """`--as PRINCIPAL` and `--key FILE`: whom you claim to be, and the key that proves it
    (SPEC 10.1; default $COCKPIT_SIGNING_KEY, else the principal's ssh-agent key)."""
    func = click.option(
        "--key",
        "signing_key",
        type=click.Path(path_type=Path),
        expose_value=False,
        callback=_remember_key,
        help="Sign the action with this key (default: $COCKPIT_SIGNING_KEY, else the "
        "principal's key in ssh-agent).",
    )(func)
    return click.option(
        "--as",
        "as_principal",
        metavar="PRINCIPAL",
        help="Act as this principal (default: $COCKPIT_PRINCIPAL, else operator in cockpit.yaml).",
    )(func)


def load_workspace() -> Any:
    """The workspace the command works on (SPEC 2's resolution). A template (the bundled
    demo in a checkout) is never worked on: the demo copy is, made on first use, and one
    line on stderr says so."""
    from cockpit.engine.workspace.layout import Workspace, is_template, resolve_workspace

    ctx = click.get_current_context()
    if "cockpit.loaded" in ctx.meta:  # one command, one resolution (and one line said)
        return ctx.meta["cockpit.loaded"]
    root = resolve_workspace(ctx.meta.get("cockpit.workspace"))
    if is_template(root):  # the demo's template, or a workspace someone marked (refused)
        from cockpit.cli.demo_copy import workspace_at

        ws, note = workspace_at(root)
        warn(note)
    else:
        ws = Workspace.load(root)
    ctx.meta["cockpit.loaded"] = ws
    return ws


@contextmanager
def opened(*, read_only: bool = False) -> Iterator[tuple[Any, Any]]:
    """The resolved workspace and its open store. With `read_only` (a command that only
    reads), a workspace that has no store yet is read as empty and nothing is created in
    it (not even `.cockpit/`)."""
    ws = load_workspace()
    store = ws.read_store() if read_only else ws.open_store()
    try:
        yield ws, store
    finally:
        store.close()


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def emit_json_list(items: Iterable[Any], batch: int = 256) -> None:
    """Print the list of `items` exactly as `emit_json(list(items))` would, written as
    the items come (a batch at a time): a long list is never held whole."""
    chunk: list[str] = []
    first = True
    for item in items:
        chunk.append(("[\n  " if first else ",\n  ") + _indented(item, 1))
        first = False
        if len(chunk) >= batch:
            click.echo("".join(chunk), nl=False)
            chunk.clear()
    chunk.append("[]" if first else "\n]")
    click.echo("".join(chunk))


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _value: "null",
}


def _indented(value: Any, level: int) -> str:
    """`json.dumps(value, indent=2)` for a value written at indent `level` (its lines
    after the first are indented by `level` more steps); what is not a plain dict, list
    or scalar (a float, a key that is not a str) is left to json.dumps."""
    scalars = _SCALARS
    scalar = scalars.get(type(value))
    if scalar is not None:
        return scalar(value)
    if type(value) is dict and value:
        template = _dict_template(level, tuple(value))
        if template is not None:
            return template % tuple(
                [
                    written(item)
                    if (written := scalars.get(type(item)))
                    else _indented(item, level + 1)
                    for item in value.values()
                ]
            )
    elif type(value) is list and value:
        inner = "  " * (level + 1)
        lines = [inner + _indented(item, level + 1) for item in value]
        return "[\n" + ",\n".join(lines) + "\n" + "  " * level + "]"
    return json.dumps(value, indent=2).replace("\n", "\n" + "  " * level)


_TEMPLATES: dict[tuple[int, tuple[Any, ...]], str] = {}


def _dict_template(level: int, keys: tuple[Any, ...]) -> str | None:
    """The %-template of a dict with `keys` written at indent `level` (one %s a value);
    None if a key is not a str. The templates of the first shapes met are kept."""
    template = _TEMPLATES.get((level, keys))
    if template is None:
        if any(type(key) is not str for key in keys):
            return None
        inner = "  " * (level + 1)
        lines = [inner + encode_basestring_ascii(key).replace("%", "%%") + ": %s" for key in keys]
        template = "{\n" + ",\n".join(lines) + "\n" + "  " * level + "}"
        if len(_TEMPLATES) < 64:
            _TEMPLATES[(level, keys)] = template
    return template


def say(message: str = "") -> None:
    click.echo(message)


def sentence(message: str) -> str:
    """One line, ending in one stop, with untrusted text shown literally."""
    from cockpit.engine.text import literal

    text = " ".join(literal(message).split())
    return text if text.endswith((".", "?", "!")) else text + "."


def warn(message: str) -> None:
    click.echo(f"cockpit: {sentence(message)}", err=True)


def table(rows: Sequence[Sequence[object]], headers: Sequence[str], width: int = 48) -> str:
    """A plain-text table; every cell shown literally (untrusted text cannot style it)."""
    from cockpit.engine.text import clip, literal

    cells = [[clip(literal(c if c is not None else "-"), width) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


# -- the command group -------------------------------------------------------------------

# The commands each module of cockpit.cli defines. A command's module is imported when the
# command runs, so `cockpit status` pays for no other; `--help`, and a name not listed
# here, import them all.
COMMANDS_BY_MODULE = {
    "actions": (
        "dispatch",
        "verify",
        "recover",
        "review",
        "override",
        "cancel",
        "rollback",
        "veto",
        "dismiss",
    ),
    "audit": ("audit", "replay", "lineage", "metrics"),
    "book": ("book",),
    "canon": ("candidates", "commission", "canon"),
    "change": ("diff",),
    "deliver": ("deliver", "attest"),
    "doctor": ("doctor",),
    "entries": ("schema", "new"),
    "keys": ("keys",),
    "logs": ("logs",),
    "report": ("report",),
    "simulate": ("simulate",),
    "start": ("init", "demo"),
    "workspace": ("serve", "submit", "run", "status", "rejected"),
    "worktrees": ("worktrees",),
}
COMMAND_MODULES = {name: module for module, names in COMMANDS_BY_MODULE.items() for name in names}


class _LazyGroup(click.Group):
    """The `cockpit` group: registers a command by importing its module when needed."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            load_commands(COMMAND_MODULES.get(cmd_name))
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_commands()
        return super().list_commands(ctx)


def load_commands(module: str | None = None) -> None:
    """Import the command module `module` (every one when None): its commands register
    themselves on `cli`."""
    import importlib

    for name in [module] if module else COMMANDS_BY_MODULE:
        importlib.import_module(f"cockpit.cli.{name}")


@click.group(
    cls=_LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@workspace_option
@click.option(
    "--as",
    "as_principal",
    metavar="PRINCIPAL",
    help="Act as this principal in the TUI (default: $COCKPIT_PRINCIPAL, else operator).",
)
@click.option("--readonly", is_flag=True, help="Open the TUI with every action disabled.")
@click.version_option(package_name="cockpit", prog_name="cockpit")
@click.pass_context
def cli(ctx: click.Context, as_principal: str | None, readonly: bool) -> int | None:
    """Cockpit: stay in charge of AI agents that deliver software.

    Without a subcommand, opens the TUI on the workspace (or prints the board when output
    is not a terminal).
    """
    if ctx.invoked_subcommand is None:
        open_tui(load_workspace(), as_principal, readonly)
    return 0


def open_tui(ws: Any, as_principal: str | None, readonly: bool) -> bool:
    """Run the Textual app on `ws` (True once it has run); without a terminal, print the
    plain board instead, reading the workspace without writing to it (False)."""
    from cockpit.engine.actions.human import resolve_principal

    principal = resolve_principal(ws, as_principal)
    # textual-serve runs the app with pipes for stdio and names its web driver instead.
    served = bool(os.environ.get("TEXTUAL_DRIVER"))
    if not served and not (sys.stdin.isatty() and sys.stdout.isatty()):
        with ws.read_store() as store:
            _print_board(ws, store)
        return False
    from cockpit.app import CockpitApp

    CockpitApp(ws, principal=principal, readonly=readonly).run()
    return True


def _print_board(ws: Any, store: Any) -> None:
    from cockpit.engine.queue import maildir as queue
    from cockpit.engine.reports import board

    rows = board.board(store)
    where = f"--workspace {ws.root}"
    say(f"Workspace {ws.root}  (tenant {ws.config.tenant}, mode {ws.config.runner.mode.value})")
    waiting = len(queue.pending(ws.queue_dir("new")))
    if waiting:
        say(waiting_line(waiting, where))
    if not rows:
        say(no_work_packages(where, waiting))
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    say("  ".join(f"{state}: {n}" for state, n in sorted(counts.items())))
    say()
    say(_status_table(rows))
    rejected = store.rejections()
    if rejected:
        say()
        noun = "entry" if len(rejected) == 1 else "entries"
        say(f"{len(rejected)} rejected {noun}: see `cockpit rejected {where}`.")
    from cockpit.store import board as board_queries

    attention = board_queries.page(store, board_queries.BoardFilter(attention=True), limit=50)
    if attention:
        say(
            f"Needs a person: {', '.join(r['id'] for r in attention)} "
            f"(`cockpit status WP {where}` says why)."
        )


def waiting_line(waiting: int, where: str) -> str:
    """What to run when entries wait in queue/new/ (`where`: the --workspace option the
    command needs, or "")."""
    noun = "entry waits" if waiting == 1 else "entries wait"
    return f"{waiting} {noun} in queue/new: ingest with {_command('run --once', where)}."


def no_work_packages(where: str, waiting: int) -> str:
    """The board's line when no WP is booked: how to book one (or that the queue waits)."""
    if waiting:
        return "No work packages yet."
    return (
        f"No work packages yet. Book one: {_command('new work_package WP-1', where)}, fill "
        f"in what it marks REQUIRED, then {_command('submit WP-1.yaml', where)} and "
        f"{_command('run --once', where)}."
    )


def _command(words: str, where: str) -> str:
    return f"`cockpit {words}{' ' + where if where else ''}`"


def _status_table(rows: list[dict[str, Any]]) -> str:
    def verify_cell(row: dict[str, Any]) -> str:
        last = row["last_verify"]
        if not last:
            return "-"
        blocking = last.get("blocking_predicate")
        return f"{last['outcome']} ({blocking})" if blocking else str(last["outcome"])

    return table(
        [
            (
                r["id"],
                r["title"],
                r["state"] + (" [overridden]" if r["overridden"] else ""),
                r["tier"],
                r["assignee"],
                verify_cell(r),
            )
            for r in rows
        ],
        ("id", "title", "state", "tier", "assignee", "last verify"),
    )


# -- entry point ---------------------------------------------------------------------------


def _group_without_command(exc: click.ClickException) -> str | None:
    """One sentence for a command group called without its command (click's own message
    is its whole help text, or a bare "Missing command.")."""
    ctx = getattr(exc, "ctx", None)
    missing = isinstance(exc, click.exceptions.NoArgsIsHelpError) or (
        isinstance(exc, click.UsageError) and exc.message == "Missing command."
    )
    if not missing or ctx is None or not isinstance(ctx.command, click.Group):
        return None
    names = ctx.command.list_commands(ctx)
    if not names:
        return None
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return f"{ctx.command_path} needs a command: {listed} (see --help)"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with SPEC 8's codes; errors are one line on stderr (and, with
    --json, a JSON document on stdout)."""
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        code = cli.main(args=args, prog_name="cockpit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        fail(args, "aborted", 1)
    except click.ClickException as exc:  # usage errors and bad arguments
        group = _group_without_command(exc)
        if group is not None:
            fail(args, group, 2)
        fail(args, exc.format_message(), 2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except CockpitError as exc:
        fail(args, str(exc), exc.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    except sqlite3.Error as exc:
        if os.environ.get("COCKPIT_DEBUG"):
            raise
        fail(args, f"the workspace database cannot be used ({exc})", 1)
    except OSError as exc:
        if os.environ.get("COCKPIT_DEBUG"):
            raise
        where = f": {exc.filename}" if exc.filename else ""
        fail(args, f"{exc.strerror or exc}{where}", 2)
    sys.exit(code if isinstance(code, int) else 0)


def fail(args: list[str], message: str, code: int) -> None:
    if "--json" in args:
        emit_json({"error": sentence(message), "exit_code": code})
    warn(message)
    sys.exit(code)
