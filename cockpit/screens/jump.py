"""`:` as k9s has it: a one-line prompt under the header where you name where to go,
`:WP-0003` (a work package's screen) or `:audit`, `:metrics`, `:doctor`, `:simulation`,
`:rejected`, `:canon`, `:board`, `:help`, `:quit` (a unique start of a name will do). The
fuzzy command palette is ctrl+p."""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.screen import ModalScreen, Screen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, TextArea

from cockpit.screens.context import cockpit
from cockpit.screens.status_bar import StatusBar

# The screens `:` goes to by name (the app opens them), and their other names.
SCREENS = ("board", "audit", "metrics", "doctor", "simulation", "rejected", "canon", "help", "quit")
ALIASES = {"wps": "board", "events": "audit", "chain": "audit", "q": "quit"}
HINT = "a work package (WP-0003) or a screen: " + ", ".join(SCREENS)


def resolve(text: str, find_work_package: Callable[[str], str | None]) -> tuple[str, str] | str:
    """Where `text` (what follows `:`) goes: ("screen", name) or ("wp", id), or the
    sentence saying that nothing has that name. A screen's name wins over a WP's id, and
    a WP's id over a screen's name begun (`:a` is the audit screen unless WP `a` exists)."""
    wanted = text.strip().removeprefix(":").strip()
    name = wanted.lower()
    if name in SCREENS or name in ALIASES:
        return ("screen", ALIASES.get(name, name))
    for prefix in ("wp ", "wp:"):  # `:wp WP-0003`, as `:pod name` in k9s
        if name.startswith(prefix):
            wanted = wanted[len(prefix) :].strip()
    found = find_work_package(wanted) if wanted else None
    if found is not None:
        return ("wp", found)
    begun = [screen for screen in SCREENS if name and screen.startswith(name)]
    if len(begun) == 1:
        return ("screen", begun[0])
    return f"Nothing is named {wanted!r}: type {HINT}."


def can_open(screen: Screen[object], focused: Widget | None) -> bool:
    """Whether `:` opens the prompt: not over a dialog, and not while typing in a field
    (there `:` is a character, as in `state:blocked`)."""
    return not isinstance(screen, ModalScreen) and not isinstance(focused, Input | TextArea)


class JumpBar(Input):
    """The prompt; enter goes, esc (or leaving it) closes it."""

    DEFAULT_CSS = """
    JumpBar { height: 1; border: none; padding: 0 1; background: $boost; }
    JumpBar.hidden { display: none; }
    """

    def __init__(self) -> None:
        super().__init__(
            placeholder=f"WP-0003 or a screen: {', '.join(SCREENS)}",
            suggester=SuggestFromList(list(SCREENS), case_sensitive=False),
            select_on_focus=False,
            compact=True,
            classes="hidden",
        )
        self.came_from: Widget | None = None

    def open(self) -> None:
        """Show the prompt empty and give it the focus at once: the keys typed right after
        `:` are the prompt's."""
        screen = self.screen
        self.came_from = screen.focused
        self.value = ""
        self.remove_class("hidden")
        cockpit(self).steady_cursors(screen)
        screen.set_focus(self)

    def close(self) -> None:
        self.add_class("hidden")
        back = self.came_from
        if self.has_focus:
            self.screen.set_focus(back if back is not None and back.is_attached else None)

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            event.prevent_default()
            self.close()

    def on_blur(self) -> None:
        self.add_class("hidden")

    @on(Input.Submitted)
    def go(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        if event.value.strip():
            cockpit(self).jump_to(event.value)


async def open_jump_bar(screen: Screen[object]) -> None:
    """Open the screen's prompt, mounting it under the header the first time."""
    found = screen.query(JumpBar)
    if found:
        bar = found.first()
    else:
        bar = JumpBar()
        headers = screen.query(StatusBar)
        if headers:
            await screen.mount(bar, after=headers.first())
        else:
            await screen.mount(bar, before=0)
    bar.open()
