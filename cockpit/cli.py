"""The `cockpit` command: parse, call the engine, print. No rule is decided here.

Read commands never import Textual. Exit codes (SPEC 8): 0 ok, 1 refused, 2 usage or input
error; errors are one sentence on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from cockpit.engine.errors import CockpitError, InputError

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


def _workspace_dir() -> Path:
    from cockpit.engine.workspace import resolve_workspace

    ctx = click.get_current_context()
    return resolve_workspace(ctx.meta.get("cockpit.workspace"))


@contextmanager
def opened() -> Iterator[tuple[Any, Any]]:
    """The resolved workspace and its open store."""
    from cockpit.engine.workspace import Workspace

    ws = Workspace.load(_workspace_dir())
    store = ws.open_store()
    try:
        yield ws, store
    finally:
        store.close()


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def say(message: str = "") -> None:
    click.echo(message)


def warn(message: str) -> None:
    click.echo(f"cockpit: {message}", err=True)


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A plain-text table; every cell shown literally (untrusted text cannot style it)."""
    from cockpit.engine.text import clip, literal

    cells = [[clip(literal(c if c is not None else "-"), 48) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)


# -- the command group -------------------------------------------------------------------


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@workspace_option
@click.version_option(package_name="cockpit", prog_name="cockpit")
@click.pass_context
def cli(ctx: click.Context) -> int | None:
    """Cockpit: stay in charge of AI agents that deliver software.

    Without a subcommand, shows the board of the workspace.
    """
    if ctx.invoked_subcommand is None:
        with opened() as (ws, store):
            _print_board(ws, store)
    return 0


def _print_board(ws: Any, store: Any) -> None:
    from cockpit.engine import board

    rows = board.board(store)
    say(f"Workspace {ws.root}  (tenant {ws.config.tenant}, mode {ws.config.runner.mode.value})")
    if not rows:
        say("No work packages yet. Book one with `cockpit submit FILE`, then `cockpit run --once`.")
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
        say(f"{len(rejected)} rejected {noun}: see `cockpit rejected`.")


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


# -- workspace creation -----------------------------------------------------------------


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Add the synthetic walkthrough (queued entries).")
@click.option("--tenant", help="Tenant name for a new, empty workspace (default: default).")
def init(directory: Path, demo: bool, tenant: str | None) -> int:
    """Create a workspace in DIRECTORY."""
    from cockpit.engine.scaffold import init_workspace

    if demo and tenant:
        raise InputError("--tenant applies to an empty workspace; the demo's tenant is 'demo'")
    ws = init_workspace(directory, demo=demo, tenant=tenant)
    say(f"Created workspace {ws.root}")
    if demo:
        say(f"Ingest the walkthrough with: cockpit run --once --workspace {ws.root}")
    return 0


def default_demo_dir() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "cockpit" / "demo"


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--fresh", is_flag=True, help="Start the demo over from the bundled walkthrough.")
def demo(directory: Path | None, fresh: bool) -> int:
    """Open the bundled demo workspace (a copy kept outside the checkout).

    The copy lives in DIRECTORY (default: $XDG_STATE_HOME/cockpit/demo) so running the
    demo never changes the source tree.
    """
    import shutil

    from cockpit.engine.runner import run_once
    from cockpit.engine.scaffold import init_workspace
    from cockpit.engine.workspace import Workspace

    target = (directory or default_demo_dir()).expanduser().resolve()
    if fresh and (target / "cockpit.yaml").exists():
        shutil.rmtree(target)
    ws = (
        Workspace.load(target)
        if (target / "cockpit.yaml").exists()
        else init_workspace(target, demo=True)
    )
    with ws.open_store() as store:
        summary = run_once(ws, store)
        counts = summary.sweep.counts()
        if any(counts.values()):
            say(
                f"Ingested {counts['ingested']} entries, rejected {counts['rejected']} "
                f"({counts['events']} events)."
            )
        _print_board(ws, store)
    return 0


# -- the queue ----------------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@workspace_option
@json_option
def submit(files: tuple[Path, ...], as_json: bool) -> int:
    """Validate entry FILES, then place them into queue/new/."""
    from cockpit.engine.submit import submit as submit_files
    from cockpit.engine.workspace import Workspace

    ws = Workspace.load(_workspace_dir())
    missing = [str(f) for f in files if not f.exists() and not f.is_symlink()]
    if missing:
        raise InputError(f"no such file: {', '.join(missing)}")
    ids, errors = submit_files(ws, list(files))
    if as_json:
        document: dict[str, Any] = {"submitted": ids}
        if errors:
            document["errors"] = [e.__dict__ for e in errors]
        emit_json(document)
    elif ids:
        say(f"Submitted {len(ids)} entr{'y' if len(ids) == 1 else 'ies'}: {', '.join(ids)}")
    for error in errors:
        warn(f"{error.file} was not submitted: {error.code}: {error.message}.")
    if errors:
        warn("nothing was submitted; fix the files above and submit them again.")
        return 2
    return 0


@cli.command()
@click.option("--once", is_flag=True, help="Drain the queue, finish due work, exit.")
@click.option(
    "--mode",
    type=click.Choice(["dry-run", "shadow", "canary", "live"]),
    help="Override runner.mode from cockpit.yaml.",
)
@click.option(
    "--log-file", type=click.Path(dir_okay=False, path_type=Path), help="JSON-lines log file."
)
@workspace_option
@json_option
def run(once: bool, mode: str | None, log_file: Path | None, as_json: bool) -> int:
    """Run the headless runner (ingest the queue; with --once, drain it and exit)."""
    from cockpit.engine.domain import Mode
    from cockpit.engine.runner import run_forever, run_once

    chosen = Mode(mode) if mode else None
    with opened() as (ws, store):
        if once:
            summary = run_once(ws, store, chosen)
            if as_json:
                emit_json(summary.to_json())
            else:
                _print_run_summary(summary)
            return 0
        log = open(log_file, "a", encoding="utf-8") if log_file else sys.stdout  # noqa: SIM115
        stop = threading.Event()

        def request_stop(_signum: int, _frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

        def log_line(record: dict[str, Any]) -> None:
            log.write(json.dumps(record, sort_keys=True) + "\n")
            log.flush()

        def on_event(event: Any) -> None:
            log_line(
                {
                    "ts": event.ts,
                    "log": "event",
                    "seq": event.seq,
                    "type": event.type,
                    "work_package": event.work_package,
                    "entry_id": event.entry_id,
                }
            )

        def on_sweep(result: Any) -> None:
            if any(result.counts().values()):
                log_line({"log": "sweep", **result.counts()})

        try:
            log_line(
                {
                    "log": "start",
                    "workspace": str(ws.root),
                    "mode": (chosen or ws.config.runner.mode).value,
                    "pid": os.getpid(),
                }
            )
            summary = run_forever(ws, store, stop, chosen, on_event=on_event, on_sweep=on_sweep)
            log_line({"log": "stop", **summary.sweep.counts()})
        finally:
            if log is not sys.stdout:
                log.close()
    return 0


def _print_run_summary(summary: Any) -> None:
    counts = summary.sweep.counts()
    dry = summary.mode.value == "dry-run"
    if dry:
        say("Dry run: nothing was ingested, moved or written. The plan:")
        for item in summary.sweep.log:
            detail = f" {item['code']}: {item['message']}" if item.get("code") else ""
            say(f"  {item['file']}: would be {item['outcome']}{detail}")
    say(
        f"mode {summary.mode.value}: ingested {counts['ingested']}, duplicates "
        f"{counts['duplicates']}, rejected {counts['rejected']}, retried {counts['retried']}, "
        f"recovered {counts['recovered']}, events {counts['events']}"
    )


@cli.command()
@click.argument("wp", required=False)
@workspace_option
@json_option
def status(wp: str | None, as_json: bool) -> int:
    """List work packages, or show one."""
    from cockpit.engine import board
    from cockpit.engine.text import literal

    with opened() as (_ws, store):
        if wp is None:
            rows = board.board(store)
            if as_json:
                emit_json(rows)
            else:
                say(_status_table(rows) if rows else "No work packages yet.")
            return 0
        detail = board.work_package_status(store, wp)
        if as_json:
            emit_json(detail)
            return 0
        for key in ("id", "title", "state", "tier", "owner", "accountable", "assignee", "lane"):
            say(f"{key + ':':<14}{literal(detail[key])}")
        say(f"{'overridden:':<14}{'yes' if detail['overridden'] else 'no'}")
        say(f"{'objective:':<14}{literal(detail['objective'])}")
        for criterion in detail["success_criteria"]:
            say(f"{'':<14}- {literal(criterion)}")
        last = detail["last_verify"]
        say(f"{'last verify:':<14}{literal(json.dumps(last)) if last else '-'}")
        say(f"{'entries:':<14}{', '.join(literal(e['id']) for e in detail['entries'])}")
    return 0


@cli.command()
@workspace_option
@json_option
def rejected(as_json: bool) -> int:
    """List rejected entries with their reason codes."""
    from cockpit.engine import board

    with opened() as (_ws, store):
        rows = board.rejected(store)
        if as_json:
            emit_json([{k: r[k] for k in ("file", "entry_id", "code", "message")} for r in rows])
        elif rows:
            say(
                table(
                    [(r["file"], r["entry_id"], r["code"], r["message"]) for r in rows],
                    ("file", "entry", "code", "message"),
                )
            )
        else:
            say("No rejected entries.")
    return 0


# -- audit ---------------------------------------------------------------------------------


@cli.group()
@workspace_option
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("log")
@click.argument("wp", required=False)
@workspace_option
@json_option
def audit_log(wp: str | None, as_json: bool) -> int:
    """Print the events (of one work package)."""
    with opened() as (_ws, store):
        if wp is not None and store.work_package(wp) is None and not store.events(wp):
            from cockpit.engine.errors import NotFound

            raise NotFound(f"no events for work package {wp}")
        events = store.events(wp)
        if as_json:
            emit_json([e.to_json() for e in events])
        else:
            say(
                table(
                    [
                        (e.seq, e.ts, e.type, e.work_package, e.principal, e.entry_id)
                        for e in events
                    ],
                    ("seq", "ts", "type", "wp", "principal", "entry"),
                )
            )
    return 0


@audit.command("verify")
@workspace_option
@json_option
def audit_verify(as_json: bool) -> int:
    """Recompute the chain; exit 1 naming the first bad seq if it is broken."""
    with opened() as (_ws, store):
        report = store.verify_chain()
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        say(f"Chain intact: verified through seq {report.events} ({report.events} events).")
    else:
        say(f"Chain broken at seq {report.first_bad_seq}: {report.reason}.")
    return 0 if report.ok else 1


# -- entry point ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with SPEC 8's codes; errors are one line on stderr."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="cockpit",
            standalone_mode=False,
        )
    except click.UsageError as exc:
        warn(exc.format_message().rstrip(".") + ".")
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        warn("aborted.")
        sys.exit(1)
    except click.ClickException as exc:
        warn(exc.format_message())
        sys.exit(exc.exit_code)
    except CockpitError as exc:
        warn(str(exc).rstrip(".") + ".")
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
