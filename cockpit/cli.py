"""The `cockpit` command: parse, call the engine, print. No rule is decided here.

Read commands never import Textual. Exit codes (SPEC 8): 0 ok, 1 refused, 2 usage or input
error; errors are one sentence on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
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


def as_option(func: F) -> F:
    return click.option(
        "--as",
        "as_principal",
        metavar="PRINCIPAL",
        help="Act as this principal (default: $COCKPIT_PRINCIPAL, else operator in cockpit.yaml).",
    )(func)


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


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
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
        from cockpit.engine.workspace import Workspace

        open_tui(Workspace.load(_workspace_dir()), as_principal, readonly)
    return 0


def open_tui(ws: Any, as_principal: str | None, readonly: bool) -> None:
    """Run the Textual app on `ws`; without a terminal, print the plain board instead."""
    from cockpit.engine.actions import resolve_principal

    principal = resolve_principal(ws, as_principal)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        with ws.open_store() as store:
            _print_board(ws, store)
        return
    from cockpit.app import CockpitApp

    CockpitApp(ws, principal=principal, readonly=readonly).run()


def _print_board(ws: Any, store: Any) -> None:
    from cockpit.engine import board, queue

    rows = board.board(store)
    where = f"--workspace {ws.root}"
    say(f"Workspace {ws.root}  (tenant {ws.config.tenant}, mode {ws.config.runner.mode.value})")
    waiting = len(queue.pending(ws.queue_dir("new")))
    if waiting:
        say(f"{waiting} entries wait in queue/new: ingest them with `cockpit run --once {where}`.")
    if not rows:
        say(f"No work packages yet. Book one with `cockpit submit {where} FILE`.")
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


DEMO_MARKER = ".cockpit-demo"


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
    marker = target / DEMO_MARKER
    if (target / "cockpit.yaml").exists() and not marker.exists():
        raise InputError(
            f"{target} holds a workspace that `cockpit demo` did not create; open it with "
            f"`cockpit --workspace {target}`"
        )
    if fresh and marker.exists():
        shutil.rmtree(target)
    if (target / "cockpit.yaml").exists():
        ws = Workspace.load(target)
    else:
        ws = init_workspace(target, demo=True)
        marker.write_text("created by `cockpit demo`; `cockpit demo --fresh` may delete this\n")
    with ws.open_store() as store:
        summary = run_once(ws, store)
        counts = summary.sweep.counts()
        if any(counts.values()):
            say(
                f"Ingested {counts['ingested']} entries, rejected {counts['rejected']} "
                f"({counts['events']} events)."
            )
    say(f"Demo workspace: {ws.root}")
    open_tui(ws, None, readonly=False)
    return 0


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--public-url", metavar="URL", help="The URL browsers reach it at (behind a proxy).")
@as_option
@click.option("--readonly", is_flag=True, help="Serve with every action disabled.")
@workspace_option
def serve(
    host: str, port: int, public_url: str | None, as_principal: str | None, readonly: bool
) -> int:
    """Serve the TUI in a browser (textual-serve), on 127.0.0.1 unless told otherwise."""
    import shlex

    from textual_serve.server import Server

    from cockpit.engine.actions import resolve_principal
    from cockpit.engine.workspace import Workspace

    ws = Workspace.load(_workspace_dir())
    principal = resolve_principal(ws, as_principal)
    command = [sys.executable, "-m", "cockpit", "--workspace", str(ws.root), "--as", principal]
    if readonly:
        command.append("--readonly")
    say(f"Serving {ws.root} as {principal} on http://{host}:{port}/ (Ctrl+C stops).")
    Server(
        shlex.join(command), host=host, port=port, title="Cockpit", public_url=public_url
    ).serve()
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
        message = error.message.rstrip(".")
        warn(f"{error.file} was refused ({error.code}: {message}), so no file was queued.")
    if errors:
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
    from cockpit.engine.runner import run_once

    chosen = Mode(mode) if mode else None
    with opened() as (ws, store):
        if once:
            stop = threading.Event()

            def request_stop(_signum: int, _frame: object) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            summary = run_once(ws, store, chosen, stop=stop)
            if as_json:
                emit_json(summary.to_json())
            else:
                _print_run_summary(summary)
            return 0
        from cockpit.engine.runner import run_logged

        stop = threading.Event()

        def request_stop(_signum: int, _frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        log = open(log_file, "a", encoding="utf-8") if log_file else sys.stdout  # noqa: SIM115
        try:

            def write(line: str) -> None:
                log.write(line + "\n")
                log.flush()

            run_logged(ws, store, stop, chosen, write)
        finally:
            if log is not sys.stdout:
                log.close()
    return 0


def _print_run_summary(summary: Any) -> None:
    from cockpit.engine.text import literal

    counts = summary.sweep.counts()
    dry = summary.mode.value == "dry-run"
    if dry:
        say("Dry run: nothing was ingested, moved or written. The plan:")
        for item in summary.sweep.log:
            detail = f" {item['code']}: {item['message']}" if item.get("code") else ""
            say(literal(f"  {item['file']}: would be {item['outcome']}{detail}"))
    document = summary.to_json()
    say(
        f"mode {summary.mode.value}: ingested {counts['ingested']}, duplicates "
        f"{counts['duplicates']}, rejected {counts['rejected']}, retried {counts['retried']}, "
        f"recovered {counts['recovered']}, events {counts['events']}; gate: verified "
        f"{document['verified']}, admitted {document['admitted']}, withheld {document['withheld']}"
    )
    for item in summary.verifications:
        if "error" in item:
            say(literal(f"  {item['work_package']}: not verified: {item['error']}"))
        else:
            blocking = f" on {item['blocking_predicate']}" if item.get("blocking_predicate") else ""
            say(literal(f"  {item['work_package']}: {item['outcome']}{blocking}"))


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
            say(f"{key + ':':<18}{literal(detail[key] or '-')}")
        flags = [f for f in ("overridden", "vetoed") if detail[f]]
        say(f"{'marks:':<18}{', '.join(flags) or '-'}")
        say(f"{'objective:':<18}{literal(detail['objective'])}")
        say(f"{'success criteria:':<18}{'-' if not detail['success_criteria'] else ''}")
        for criterion in detail["success_criteria"]:
            say(f"{'':<18}- {literal(criterion)}")
        last = detail["last_verify"]
        if last:
            blocking = last["blocking_predicate"]
            verdict = f"{last['outcome']} ({last['acceptance_status']})" + (
                f", blocked on {blocking} [{last['blocked_reason_class']}]" if blocking else ""
            )
        say(f"{'last verify:':<18}{verdict if last else '-'}")
        say(f"{'needs attention:':<18}{literal('; '.join(detail['needs_triage'])) or '-'}")
        say(f"{'entries:':<18}{', '.join(literal(e['id']) for e in detail['entries'])}")
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
                    width=160,
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
    from cockpit.engine import audit as audit_ops

    with opened() as (ws, store):
        report = audit_ops.verify(ws, store)
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        say(f"Chain intact: verified through seq {report.events} ({report.events} events).")
    else:
        say(f"Chain broken at seq {report.first_bad_seq}: {report.reason}.")
    return 0 if report.ok else 1


@audit.command("checkpoint")
@workspace_option
@json_option
def audit_checkpoint(as_json: bool) -> int:
    """Write a checkpoint: chain size, head and RFC 6962 Merkle root."""
    from cockpit.engine import audit as audit_ops

    with opened() as (ws, store):
        document = audit_ops.checkpoint(ws, store)
    if as_json:
        emit_json(document)
    else:
        say(
            f"Checkpoint {document['file']}: {document['size']} events, head {document['head']}, "
            f"Merkle root {document['merkle_root']}."
        )
    return 0


@cli.command()
@workspace_option
@json_option
def replay(as_json: bool) -> int:
    """Rebuild every projection from the events and compare it with the live one."""
    from cockpit.engine import audit as audit_ops

    with opened() as (_ws, store):
        document = audit_ops.replay(store)
    if as_json:
        emit_json(document)
    elif document["match"]:
        say(
            f"Replay of {document['events']} events matches the live projections "
            f"(digest {document['live_digest'][:16]}…)."
        )
    else:
        say(
            f"Replay of {document['events']} events DIFFERS from the live projections: live "
            f"{document['live_digest'][:16]}…, replay {document['replay_digest'][:16]}…."
        )
    return 0 if document["match"] else 1


@cli.command()
@click.argument("wp")
@workspace_option
@json_option
def lineage(wp: str, as_json: bool) -> int:
    """Show the packet lineage of a work package."""
    from cockpit.engine.lineage import lineage as build
    from cockpit.engine.text import literal

    with opened() as (_ws, store):
        document = build(store, wp)
    if as_json:
        emit_json(document)
        return 0
    outgoing: dict[str, list[str]] = {}
    for edge in document["edges"]:
        outgoing.setdefault(edge["from"], []).append(f"{edge['rel']} → {edge['to']}")
    for node in document["nodes"]:
        extra = f" {node['outcome']}" if node.get("outcome") else ""
        move = node.get("transition")
        moved = (
            f"  [{move['from']} → {move['to']}]"
            if move and move["from"]
            else (f"  [→ {move['to']}]" if move else "")
        )
        say(f"{node['seq']:>5}  {literal(node['id'])}  ({node['kind']}{extra}){moved}")
        for line in outgoing.get(node["id"], []):
            say(f"         {literal(line)}")
    return 0


@cli.command()
@workspace_option
@json_option
def metrics(as_json: bool) -> int:
    """Denominator-aware accounting of the gate and the advisory verifier."""
    from cockpit.engine.metrics import metrics as compute

    with opened() as (_ws, store):
        document = compute(store)
    if as_json:
        emit_json(document)
        return 0
    say(_metrics_table(document))
    return 0


def _cell(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"num", "den"}:
        num, den = value["num"], value["den"]
        return f"{num}/{den} = {100 * num / den:.1f}%" if den else f"{num}/{den} = n/a"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def _metrics_table(document: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    for key, value in document.items():
        if key == "advisory":
            rows += [(f"advisory.{k}", _cell(v)) for k, v in value.items()]
        else:
            rows.append((key, _cell(value)))
    return table(rows, ("metric", "value"), width=100)


# -- actions ---------------------------------------------------------------------------------


def _act(as_json: bool, run: Callable[[Any, Any, str], list[Any]]) -> int:
    from cockpit.engine.actions import resolve_principal

    with opened() as (ws, store):
        principal = resolve_principal(ws, click.get_current_context().params.get("as_principal"))
        events = run(ws, store, principal)
    if as_json:
        emit_json(events[0].to_json())
    else:
        for event in events:
            move = event.payload.get("transition")
            moved = f": {move['from']} → {move['to']}" if move else ""
            say(f"{event.type} {event.work_package} by {event.principal} (seq {event.seq}){moved}")
    return 0


@cli.command("dispatch")
@click.argument("wp")
@click.option("--to", "to", required=True, metavar="PRINCIPAL", help="The agent to dispatch to.")
@as_option
@workspace_option
@json_option
def dispatch_cmd(wp: str, to: str, as_principal: str | None, as_json: bool) -> int:
    """Dispatch a booked (or rolled-back) work package to an agent."""
    from cockpit.engine import actions

    return _act(as_json, lambda ws, store, by: actions.dispatch(ws, store, wp, to, by))


@cli.command("verify")
@click.argument("wp")
@as_option
@workspace_option
@json_option
def verify_cmd(wp: str, as_principal: str | None, as_json: bool) -> int:
    """Run the verify gate now on a claimed work package."""
    from cockpit.engine import actions

    with opened() as (ws, store):
        principal = actions.resolve_principal(ws, as_principal)
        run = actions.verify(ws, store, wp, principal)
    document = run.to_json()
    if as_json:
        emit_json(document)
    else:
        say(f"{wp}: {document['outcome']} ({document['acceptance_status']}, mode {run.mode.value})")
        say(
            table(
                [(name, r["status"], r["detail"]) for name, r in document["predicates"].items()],
                ("predicate", "status", "detail"),
                width=90,
            )
        )
    return 0 if document["acceptance_status"] == "accepted" else 1


@cli.command("recover")
@click.argument("wp")
@click.option("--owner", required=True, metavar="PRINCIPAL", help="Who owns the recovery.")
@click.option(
    "--next-action", "next_action", required=True, metavar="TEXT", help="What happens next."
)
@click.option("--error-class", metavar="TEXT", help="What kind of failure this was.")
@as_option
@workspace_option
@json_option
def recover_cmd(
    wp: str,
    owner: str,
    next_action: str,
    error_class: str | None,
    as_principal: str | None,
    as_json: bool,
) -> int:
    """File a recovery packet for a blocked or failed work package."""
    from cockpit.engine import actions

    return _act(
        as_json,
        lambda ws, store, by: actions.recover(ws, store, wp, owner, next_action, by, error_class),
    )


@cli.command("review")
@click.argument("wp")
@click.option(
    "--verdict",
    required=True,
    type=click.Choice(["go", "revision_required", "accepted", "rejected", "diagnostic"]),
)
@click.option(
    "--finding", "findings", multiple=True, metavar="TEXT", help="A finding (repeatable)."
)
@click.option("--merge-sha", metavar="SHA", help="With accepted: the merge commit.")
@as_option
@workspace_option
@json_option
def review_cmd(
    wp: str,
    verdict: str,
    findings: tuple[str, ...],
    merge_sha: str | None,
    as_principal: str | None,
    as_json: bool,
) -> int:
    """Record a review verdict."""
    from cockpit.engine import actions

    return _act(
        as_json,
        lambda ws, store, by: actions.review(ws, store, wp, verdict, list(findings), by, merge_sha),
    )


@cli.command("override")
@click.argument("wp")
@click.option("--to", "to", required=True, metavar="STATE", help="The state to move to.")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@as_option
@workspace_option
@json_option
def override_cmd(
    wp: str, to: str, reason: str | None, as_principal: str | None, as_json: bool
) -> int:
    """Override the lifecycle (owner only; the WP stays marked overridden)."""
    from cockpit.engine import actions

    if not reason or not reason.strip():
        raise InputError("override needs --reason: an override is never silent")
    return _act(as_json, lambda ws, store, by: actions.override(ws, store, wp, to, reason, by))


@cli.command("cancel")
@click.argument("wp")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@as_option
@workspace_option
@json_option
def cancel_cmd(wp: str, reason: str | None, as_principal: str | None, as_json: bool) -> int:
    """Cancel a work package that is not finished."""
    from cockpit.engine import actions

    if not reason or not reason.strip():
        raise InputError("cancel needs --reason")
    return _act(as_json, lambda ws, store, by: actions.cancel(ws, store, wp, reason, by))


@cli.command("veto")
@click.argument("wp")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@click.option("--lift", is_flag=True, help="Lift the veto instead of raising it.")
@as_option
@workspace_option
@json_option
def veto_cmd(
    wp: str, reason: str | None, lift: bool, as_principal: str | None, as_json: bool
) -> int:
    """Raise (or lift) a veto: the gate admits nothing while it stands."""
    from cockpit.engine import actions

    if not reason or not reason.strip():
        raise InputError("veto needs --reason")
    return _act(as_json, lambda ws, store, by: actions.veto(ws, store, wp, reason, by, lift=lift))


@cli.command("dismiss")
@click.argument("wp")
@click.argument("advisory")
@click.option("--reason", metavar="TEXT", help="Why (required).")
@as_option
@workspace_option
@json_option
def dismiss_cmd(
    wp: str, advisory: str, reason: str | None, as_principal: str | None, as_json: bool
) -> int:
    """Dismiss an advisory of the advisory verifier, with a reason."""
    from cockpit.engine import actions

    if not reason or not reason.strip():
        raise InputError("dismiss needs --reason")
    return _act(
        as_json, lambda ws, store, by: actions.dismiss_advisory(ws, store, wp, advisory, reason, by)
    )


# -- entry point ---------------------------------------------------------------------------


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


if __name__ == "__main__":
    main()
