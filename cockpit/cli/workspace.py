"""Commands that fill and show a workspace: serve, submit, run, status, rejected (making
one is `cockpit.cli.start`)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from cockpit.cli.base import (
    _status_table,
    as_option,
    cli,
    emit_json,
    emit_json_list,
    json_option,
    load_workspace,
    no_work_packages,
    opened,
    say,
    table,
    waiting_line,
    warn,
    workspace_option,
)
from cockpit.domain import Mode
from cockpit.errors import CockpitError, InputError

# -- the browser ---------------------------------------------------------------------------


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
    """Serve the TUI in a browser (textual-serve), on 127.0.0.1 unless told otherwise.
    The page needs nothing from the internet (its font is served with it)."""
    import shlex
    import tempfile

    from textual_serve.server import Server

    from cockpit.cli.serve_page import offline_templates
    from cockpit.engine.actions.human import resolve_principal

    ws = load_workspace()
    principal = resolve_principal(ws, as_principal)
    command = [sys.executable, "-m", "cockpit", "--workspace", str(ws.root), "--as", principal]
    if readonly:
        command.append("--readonly")
    say(f"Serving {ws.root} as {principal} on http://{host}:{port}/ (Ctrl+C stops).")
    with tempfile.TemporaryDirectory(prefix="cockpit-serve-") as pages:
        Server(
            shlex.join(command),
            host=host,
            port=port,
            title="Cockpit",
            public_url=public_url,
            templates_path=offline_templates(Path(pages)),
        ).serve()
    return 0


# -- the queue ----------------------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--sign", is_flag=True, help="Sign each entry (namespace cockpit-entry).")
@click.option(
    "--key",
    type=click.Path(path_type=Path),
    help="The key to sign with (default $COCKPIT_SIGNING_KEY, else the ssh-agent key that "
    "is one of the entry principal's keys).",
)
@workspace_option
@json_option
def submit(files: tuple[Path, ...], sign: bool, key: Path | None, as_json: bool) -> int:
    """Validate entry FILES, then place them into queue/new/ (with FILE.sig when there is
    one, or signed now with --sign)."""
    from cockpit.engine.queue.submit import submit as submit_files
    from cockpit.engine.queue.submit import submit_to_outbox

    # Inside an agent's sandbox (SPEC 10.3) the runner's outbox is the only way out.
    outbox = os.environ.get("COCKPIT_OUTBOX")
    ws = None if outbox else load_workspace()
    missing = [str(f) for f in files if not f.exists() and not f.is_symlink()]
    if missing:
        raise InputError(f"no such file: {', '.join(missing)}")
    if outbox:
        ids, errors = submit_to_outbox(
            Path(outbox),
            list(files),
            os.environ.get("COCKPIT_PRINCIPAL"),
            os.environ.get("COCKPIT_WORK_PACKAGE"),
        )
    else:
        assert ws is not None
        ids, errors = submit_files(ws, list(files), sign=sign or key is not None, key=key)
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
    type=click.Choice([m.value for m in Mode]),
    help="Override runner.mode from cockpit.yaml.",
)
@click.option(
    "--log-file", type=click.Path(dir_okay=False, path_type=Path), help="JSON-lines log file."
)
@workspace_option
@json_option
def run(once: bool, mode: str | None, log_file: Path | None, as_json: bool) -> int:
    """Run the headless runner (ingest the queue; with --once, drain it and exit)."""
    from cockpit.engine.runner.loop import run_once

    chosen = Mode(mode) if mode else None
    if as_json and not once:
        raise InputError(
            "--json goes with --once; the long-running runner writes JSON lines already "
            "(to stdout, or to --log-file)"
        )
    with _run_store(chosen) as (ws, store):
        if once:
            stop = threading.Event()

            def request_stop(_signum: int, _frame: object) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            if log_file is not None:
                from cockpit.engine.runner.loop import run_logged

                with _open_log(log_file) as log:
                    summary = run_logged(ws, store, stop, chosen, log.write, once=True)
            else:
                summary = run_once(ws, store, chosen, stop=stop)
            if as_json:
                emit_json(summary.to_json())
            else:
                _print_run_summary(summary)
            return _failed_entries(summary)
        from cockpit.engine.runner.loop import run_logged

        stop = threading.Event()

        def request_stop(_signum: int, _frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        if log_file is None:
            run_logged(ws, store, stop, chosen, _LineWriter(sys.stdout).write)
        else:
            with _open_log(log_file) as log:
                run_logged(ws, store, stop, chosen, log.write)
    return 0


class _LineWriter:
    """Writes each JSON line whole and flushes it (a log tailer never sees half a line)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


@contextmanager
def _open_log(path: Path) -> Iterator[_LineWriter]:
    """The --log-file, opened for appending; InputError (exit 2) naming it if it cannot be."""
    try:
        stream = open(path, "a", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"--log-file {path} cannot be written: {reason}") from None
    try:
        yield _LineWriter(stream)
    finally:
        stream.close()


@contextmanager
def _run_store(mode: Any) -> Iterator[tuple[Any, Any]]:
    """The workspace and its store. A dry run plans against a scratch copy of the store
    (or an empty one if there is none yet): even opening the real database can write it
    (SQLite folds a write-ahead log left by a killed runner into it), and a dry run
    changes nothing (SPEC 9)."""
    import shutil
    import tempfile

    from cockpit.store import Store

    ws = load_workspace()
    if (mode or ws.config.runner.mode) is Mode.DRY_RUN:
        with tempfile.TemporaryDirectory(prefix="cockpit-dry-run-") as scratch:
            copy = Path(scratch) / "cockpit.db"
            # The database and its write-ahead log, never its shared-memory index (SQLite
            # rebuilds that). A runner writing meanwhile can tear the copy: copy again.
            for _attempt in range(5):
                before = [_stat(ws.db_path, suffix) for suffix in ("", "-wal")]
                for suffix in ("", "-wal"):
                    source = Path(f"{ws.db_path}{suffix}")
                    target = Path(f"{copy}{suffix}")
                    if source.exists():
                        shutil.copyfile(source, target)
                    else:
                        target.unlink(missing_ok=True)
                if before == [_stat(ws.db_path, suffix) for suffix in ("", "-wal")]:
                    break
            store = Store.open(copy)
            try:
                yield ws, store
            finally:
                store.close()
        return
    with opened() as pair:
        yield pair


def _stat(path: Path, suffix: str) -> tuple[int, int] | None:
    try:
        st = Path(f"{path}{suffix}").stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def _failed_entries(summary: Any) -> int:
    """1 (and one sentence on stderr) if entries could not be applied, else 0."""
    failed = [item["file"] for item in summary.sweep.log if item.get("outcome") == "error"]
    count = summary.sweep.errors
    if not count:
        return 0
    names = ", ".join(failed[:5]) + (", ..." if len(failed) > 5 else "")
    warn(
        f"{count} {'entry' if count == 1 else 'entries'} failed and wait in queue/cur/ "
        f"for the next run ({names}); see the run's plan for why"
    )
    return 1


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
    agents = summary.agents
    if agents.started or agents.worktrees or agents.plan:
        say(
            f"agents: started {agents.started}, exited {agents.exited}, timed out "
            f"{agents.timed_out}, could not start {agents.failed}; "
            f"worktrees made {agents.worktrees}"
        )
    if dry:
        for item in agents.plan:
            say(literal(f"  {item['work_package']}: would {item['would']}"))
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
    from cockpit.engine.reports import board

    with opened(read_only=True) as (ws, store):
        if wp is None and as_json:
            emit_json_list(board.iter_board(store))  # written as read: any number of WPs
            return 0
        if wp is None:
            _print_status(ws, board.board(store))
            return 0
        from cockpit.engine.text import literal

        detail = board.work_package_status(store, wp)
        if as_json:
            emit_json(detail)
            return 0
        for key in ("id", "title", "state", "tier", "owner", "accountable", "assignee", "lane"):
            say(f"{key + ':':<18}{literal(detail[key] or '-')}")
        flags = [f for f in ("overridden", "vetoed") if detail[f]]
        say(f"{'marks:':<18}{', '.join(flags) or '-'}")
        if detail.get("delivery"):
            say(f"{'delivered:':<18}{literal(_delivery_line(detail['delivery']))}")
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
        if last and last["blocking_predicate"] and detail["blocking_detail"]:
            say(f"{'':<18}{literal(detail['blocking_detail'])}")
        say(f"{'needs attention:':<18}{literal('; '.join(detail['needs_triage'])) or '-'}")
        if detail["cost_usd"] is not None or detail["tokens"]:
            cost = f"${detail['cost_usd']}" if detail["cost_usd"] is not None else "not reported"
            say(f"{'agents cost:':<18}{cost}, {detail['tokens']} tokens")
        say(f"{'entries:':<18}{', '.join(literal(e['id']) for e in detail['entries'])}")
    return 0


def _delivery_line(delivery: dict[str, Any]) -> str:
    """A WP's last delivery in a line: how, where, and what it made (SPEC 11.3)."""
    made = delivery.get("url") or delivery.get("merge_sha") or delivery.get("remote_ref") or ""
    checked = ", validated" if delivery.get("validated") else ""
    return f"{delivery.get('via')} to {delivery.get('base')}{checked}: {made}"


def _print_status(ws: Any, rows: list[dict[str, Any]]) -> None:
    """The status table, and what to run when nothing is ingested or entries wait."""
    from cockpit.engine.queue import maildir as queue

    if rows:
        say(_status_table(rows))
    waiting = len(queue.pending(ws.queue_dir("new")))
    where = _where(ws)
    if waiting:
        say(waiting_line(waiting, where))
    if not rows:
        say(no_work_packages(where, waiting))


def _where(ws: Any) -> str:
    """`--workspace ROOT` when the command was pointed at it explicitly; "" when the
    default resolution (./workspace or $COCKPIT_WORKSPACE) finds it again."""
    from cockpit.engine.workspace.layout import resolve_workspace

    try:
        if resolve_workspace(None).resolve() == Path(ws.root).resolve():
            return ""
    except CockpitError:
        pass
    return f"--workspace {ws.root}"


@cli.command()
@workspace_option
@json_option
def rejected(as_json: bool) -> int:
    """List rejected entries with their reason codes."""
    from cockpit.engine.reports import board

    with opened(read_only=True) as (_ws, store):
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
