"""The command palette (ctrl+p): every command of the key table, found by name (with
--readonly, none of the actions)."""

from __future__ import annotations

from functools import partial
from typing import cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from cockpit.screens.context import Cockpit
from cockpit.screens.help import KEY_NAMES
from cockpit.screens.keys import (
    CHANGES,
    NOT_IN_PALETTE,
    TRANSCRIPT,
    VIEWS,
    WP_ACTIONS,
    WP_TABS,
    Command,
)
from cockpit.screens.keys import offered as offered_commands


class CockpitCommands(Provider):
    """Every command of the key table, in the palette (ctrl+p)."""

    def listed(self) -> list[Command]:
        app = cast(Cockpit, self.app)
        listed = [*WP_ACTIONS, *WP_TABS, *VIEWS, *TRANSCRIPT, *CHANGES]
        commands = offered_commands(listed, app.readonly)
        return [c for c in commands if c.id not in NOT_IN_PALETTE]

    async def discover(self) -> Hits:
        """With nothing typed yet, list every command."""
        app = cast(Cockpit, self.app)
        for command in self.listed():
            yield DiscoveryHit(
                f"{command.title}: {command.help}",
                partial(app.run_command, command.id),
                help=f"key {KEY_NAMES.get(command.key, command.key)}",
            )

    async def search(self, query: str) -> Hits:
        app = cast(Cockpit, self.app)
        matcher = self.matcher(query)
        for command in self.listed():
            label = f"{command.title}: {command.help}"
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(label),
                    partial(app.run_command, command.id),
                    help=f"key {KEY_NAMES.get(command.key, command.key)}",
                )
