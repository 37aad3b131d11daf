"""`cockpit logs WP [-f] [--run N]`: an agent run's transcript (SPEC 8, 9.1), redacted,
as readable lines; `-f` follows a running agent until its run ends."""

from __future__ import annotations

import time

import click

from cockpit.cli.base import cli, emit_json, json_option, opened, say, warn, workspace_option
from cockpit.errors import InputError, NotFound

FOLLOW_POLL_S = 0.2


def _text(line: object) -> str:
    from cockpit.engine.drivers.transcript import Line

    assert isinstance(line, Line)
    stamp = line.ts[11:19] if len(line.ts) >= 19 else line.ts
    number = "" if line.n < 0 else str(line.n)
    head = f"{number:>5} {stamp:8} {line.kind:<11} "
    body = line.text.replace("\n", "\n" + " " * len(head))
    return head + body


@cli.command()
@click.argument("wp")
@click.option("-f", "--follow", is_flag=True, help="Follow the run while its agent runs.")
@click.option(
    "--run", "run_no", type=click.IntRange(min=1), help="Which run (default: the latest)."
)
@workspace_option
@json_option
def logs(wp: str, follow: bool, run_no: int | None, as_json: bool) -> int:
    """Show an agent run's transcript (redacted); -f follows a running agent."""
    from cockpit.domain import EventType
    from cockpit.engine.drivers import transcript

    with opened(read_only=True) as (ws, store):
        if store.work_package(wp) is None:
            raise NotFound(f"no work package {wp}")
        runs = transcript.runs(ws, wp)
        if not runs and follow and run_no is None:
            # `-f` right after a dispatch: wait for the first run (Ctrl-C stops waiting).
            warn(f"waiting for the first agent run of {wp}…")
            try:
                while not (runs := transcript.runs(ws, wp)):
                    time.sleep(FOLLOW_POLL_S)
            except KeyboardInterrupt:
                return 0
        if not runs:
            raise InputError(f"{wp} has no agent transcript yet: no agent run of it was started")
        chosen = run_no if run_no is not None else runs[-1]
        if chosen not in runs:
            listed = ", ".join(str(n) for n in runs)
            raise InputError(f"{wp} has no run {chosen}; its runs are {listed}")
        tail = transcript.TranscriptTail(transcript.transcript_path(ws, wp, chosen))

        launches = [
            e.seq
            for e in store.find_events(work_package=wp, types=(EventType.AGENT_STARTED,))
            if e.payload.get("attempt") == chosen
        ]

        def run_over() -> bool:
            """Whether the run's `agent_exited` is on record (looked up, not re-read whole,
            at each poll)."""
            return not launches or any(
                e.payload.get("launch") in launches
                for e in store.events(wp, since_seq=launches[0])
                if e.type == EventType.AGENT_EXITED
            )

        lines = tail.read()
        if as_json:
            collected = list(lines)
            while follow and not tail.ended and not run_over():
                time.sleep(FOLLOW_POLL_S)
                collected += tail.read()
            collected += tail.read()
            emit_json([line.to_json() for line in collected])
            return 0
        for line in lines:
            say(_text(line))
        try:
            while follow and not tail.ended:
                if run_over():
                    for line in tail.read():
                        say(_text(line))
                    break
                time.sleep(FOLLOW_POLL_S)
                for line in tail.read():
                    say(_text(line))
        except KeyboardInterrupt:
            return 0
    return 0
