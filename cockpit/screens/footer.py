"""The footer every screen shows: its keys on one line. When the terminal is too narrow for
all of them, `? help` and `q quit` (then back, jump, the palette and the view keys) are
kept and the keys last in the table go first; `?` lists them all. With --readonly the
actions are not offered."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # not exported; the pin keeps its shape

from cockpit.screens.context import cockpit
from cockpit.screens.keys import ACTION_IDS, footer_rank

ACTION_BINDINGS = frozenset(f"cockpit.{name}" for name in ACTION_IDS)


def kept_keys(keys: list[tuple[str | None, int]], width: int) -> list[int]:
    """Which of `keys` ((binding id, cells), in the footer's order) fit in `width` cells:
    taken by rank (see keys.FOOTER_FIRST) then order, until the next one would not fit.
    Their indexes, in the footer's order."""
    ranked = sorted(range(len(keys)), key=lambda i: (footer_rank(keys[i][0]), i))
    kept: list[int] = []
    used = 0
    for index in ranked:
        used += keys[index][1]
        if used > width:
            break
        kept.append(index)
    return sorted(kept)


class KeyFooter(Footer):
    """Textual's footer (compact, no palette key of its own), fitted to its width."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self._laid_out_for = 0
        self._composed: object = None  # what the keys shown were made from

    def _signature(self) -> object:
        """What the footer shows depends on: its width and the bindings it would show."""
        if not self._bindings_ready:
            return None
        width = self.size.width or self.app.size.width
        return width, [(b.key, b.action, b.description, on) for b, on, _ in self.shown_bindings()]

    async def recompose(self) -> None:
        """Made again only when what it shows changed: every change of focus or of the
        screen's bindings asks, and making the keys costs a style pass each."""
        if not self.is_attached:
            return  # its screen has gone: there is nothing to show
        if self._signature() != self._composed:
            await super().recompose()

    def shown_bindings(self) -> list[tuple[Binding, bool, str]]:
        """The bindings the footer shows now, in its order (one per action)."""
        readonly = cockpit(self).readonly
        found: dict[str, tuple[Binding, bool, str]] = {}
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or (readonly and binding.id in ACTION_BINDINGS):
                continue
            found.setdefault(binding.action, (binding, enabled, tooltip))
        return list(found.values())

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self.size.width or self.app.size.width
        self._laid_out_for = width
        self._composed = self._signature()
        shown = self.shown_bindings()
        # Compact keys: the key, a space, the word, and one cell of margin after it.
        labels = [(self.app.get_key_display(b), b.description) for b, _, _ in shown]
        cells = [Text(f"{key} {word} ").cell_len for key, word in labels]
        for index in kept_keys(
            [(b.id, n) for (b, _, _), n in zip(shown, cells, strict=True)], width
        ):
            binding, enabled, tooltip = shown[index]
            key, word = labels[index]
            yield FooterKey(
                binding.key,
                key,
                word,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip or binding.description,
            ).data_bind(compact=Footer.compact)

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and event.size.width != self._laid_out_for:
            self.call_after_refresh(self.recompose)
