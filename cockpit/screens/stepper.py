"""The lineage stepper: a reviewer walks a WP's history one event at a time, seeing the
state after each step, the packet that arrived and, for a verify, the predicate table as
the gate recorded it then."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static

from cockpit.engine.reports import lineage
from cockpit.engine.text import literal
from cockpit.messages import StoreChanged
from cockpit.screens.context import read_then
from cockpit.screens.footer import KeyFooter
from cockpit.screens.modals.predicates import predicate_table
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.text import badge, plain


class StepperScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n,right", "step(1)", "next", id="cockpit.step.next"),
        Binding("p,left", "step(-1)", "previous", id="cockpit.step.previous"),
        Binding("g,home", "jump(0)", "first", id="cockpit.step.first"),
        Binding("G,end", "jump(-1)", "last", id="cockpit.step.last"),
        Binding("escape", "app.pop_screen", "back", id="cockpit.step.back"),
    ]

    index: reactive[int] = reactive(0)

    def __init__(self, wp_id: str) -> None:
        super().__init__()
        self.wp_id = wp_id
        self.steps: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="step-head")
        with VerticalScroll():
            yield Static(id="step-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#status", StatusBar).refresh_from_app(f"lineage stepper {self.wp_id}")
        self.load()

    @work(thread=True, group="stepper-read", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        read_then(self, lambda store: lineage.steps(store, self.wp_id), self.loaded)

    def loaded(self, steps: list[dict[str, Any]]) -> None:
        self.steps = steps
        self.index = min(self.index, max(len(steps) - 1, 0))
        self.query_one("#status", StatusBar).refresh_from_app(f"lineage stepper {self.wp_id}")
        self.show()

    def watch_index(self) -> None:
        if self.is_mounted:
            self.show()

    def show(self) -> None:
        if not self.steps:
            self.query_one("#step-head", Static).update(Text("No events yet."))
            return
        step = self.steps[self.index]
        head = plain(f"{self.wp_id}  ", "bold #38bdf8")
        head.append(f"step {self.index + 1}/{len(self.steps)}  ", style="bold")
        head.append(f"seq {step['seq']}  {step['ts']}  ", style="#9ca3af")
        head.append(step["type"], style="bold #38bdf8")
        head.append("  by ", style="#9ca3af")
        head.append_text(plain(step["principal"] or "-"))
        head.append("\nstate after this step: ", style="#9ca3af")
        head.append_text(badge(step["state"]))
        move = step["transition"]
        if move:
            moved = f"{move['from']} → {move['to']}" if move["from"] else f"new → {move['to']}"
            head.append(f"   ({moved})", style="#38bdf8")
        if step["summary"]:
            head.append("\n")
            head.append_text(plain(step["summary"]))
        self.query_one("#step-head", Static).update(head)
        parts: list[RenderableType] = []
        packet = step["packet"]
        if packet:
            title = plain(
                f"packet {packet['id']} ({packet['kind']}) sha256 {packet['sha256']}", "bold"
            )
            title.end = "\n"
            parts += [
                title,
                Syntax(
                    literal(packet["raw"], keep_newlines=True),
                    "yaml",
                    theme="ansi_dark",
                    line_numbers=True,
                    word_wrap=True,
                ),
            ]
        if step["predicates"]:
            parts += [
                Text("predicates as the gate recorded them", style="bold"),
                predicate_table(step["predicates"]),
            ]
        if not parts:
            parts.append(Text("No packet arrived with this event.", style="#9ca3af"))
        self.query_one("#step-body", Static).update(Group(*parts))

    def action_step(self, delta: int) -> None:
        if self.steps:
            self.index = min(max(self.index + delta, 0), len(self.steps) - 1)

    def action_jump(self, where: int) -> None:
        if self.steps:
            self.index = len(self.steps) - 1 if where < 0 else 0

    def on_store_changed(self, message: StoreChanged) -> None:
        if self.wp_id in message.work_packages:
            self.load()
