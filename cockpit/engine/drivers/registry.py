"""The drivers by name (a lane's `driver:`)."""

from __future__ import annotations

from cockpit.engine.drivers.aider import AiderDriver
from cockpit.engine.drivers.base import Driver
from cockpit.engine.drivers.claude import ClaudeDriver
from cockpit.engine.drivers.codex import CodexDriver
from cockpit.engine.drivers.gemini import GeminiDriver

DRIVERS: dict[str, Driver] = {
    d.name: d for d in (ClaudeDriver(), CodexDriver(), GeminiDriver(), AiderDriver())
}


def driver(name: str | None) -> Driver | None:
    """The driver called `name`; None for `command` (today's behaviour) or no driver."""
    return DRIVERS.get(name) if name else None
