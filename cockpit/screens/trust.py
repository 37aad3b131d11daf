"""What the header says about the trust boundary (SPEC 10.3, 10.1): agents that run
unsandboxed (`runner.sandbox: auto` where bubblewrap does not work), a sandbox turned off,
a sandbox that is required but cannot be made, and, quietly, that signatures are optional.

Whether bubblewrap works is the sandbox plane's own probe (`repo.sandbox.availability`),
run once in a worker when the app starts: it starts a process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cockpit.engine.repo.sandbox import Availability

Probe = Callable[[str], Availability]

LOUD = "bold #ef4444"
WARN = "bold #f97316"
QUIET = "#6b7280"


Note = tuple[str, str, bool]  # text, style, quiet


def header_notes(mode: str, found: Availability | None, signatures: str) -> list[Note]:
    """(text, style, quiet) for each thing the header must say, loudest first."""
    notes: list[Note] = []
    if mode == "off":
        notes.append(("sandbox off: agents run unconfined", LOUD, False))
    elif found is not None and not found.confined:
        if mode == "auto":
            notes.append(("agents run UNSANDBOXED", LOUD, False))
        else:
            notes.append(("no sandbox: agents refused", WARN, False))
    if signatures != "required":  # entries and actions need not be signed
        notes.append(("unsigned allowed", QUIET, True))
    return notes


def probe_at_start(app: Any, probe: Probe) -> None:
    """Run the sandbox probe in a worker; the header shows what it found, and a sandbox
    that cannot be made is said once, with the probe's reason."""
    mode = app.ws.config.runner.sandbox
    if mode == "off":
        return

    def run() -> None:
        try:
            found = probe(mode)
        except Exception as exc:  # the probe is a hint for the header, never fatal
            found = Availability("none", None, f"{type(exc).__name__}: {exc}")
        if not app.quitting:
            app.call_from_thread(show, found)

    def show(found: Availability) -> None:
        app.sandbox = found
        app.refresh_status()
        if not found.confined:
            then = "agents run unsandboxed" if mode == "auto" else "agents are not started"
            app.say(f"{found.problem}: {then}", title="Sandbox", severity="warning")

    app.run_worker(run, thread=True, group="sandbox", exit_on_error=False)
