"""The last `cockpit simulate` report (issue 16) as a screen: the settings, the gated run
against the ungated baseline as `a/b (p%)` figures and bar charts, the faults by kind, the
advisory verifier against the ground truth, and what the gate did not catch and why.

The report is read from the workspace (`last_report`) in a worker and drawn there too: a
file someone edited by hand is said, never fatal. `r` reads it again. Every value in it
is shown as plain text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import get_current_worker

from cockpit.domain import Tier
from cockpit.engine.simulate import last_report
from cockpit.engine.simulate.faults import FAULTS
from cockpit.engine.simulate.report import (
    caveats,
    drawn_rates,
    figure_rows,
    plural,
    ratio,
    ratio_per,
    why,
)
from cockpit.screens.context import cockpit
from cockpit.screens.footer import KeyFooter
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.text import plain

BAR = 24  # the longest bar's cells
GATED = "#38bdf8"
UNGATED = "#f97316"
MUTED = "#9ca3af"
RUN = "cockpit simulate --tasks 200 --agents 4 --seed 1"


def no_report() -> Text:
    """What to run when the workspace has no report yet."""
    return Text.assemble(
        ("No simulation report yet for this workspace.", "bold"),
        "\n\nRun ",
        (RUN, "bold #facc15"),
        " on it (from elsewhere, add --workspace DIR), then press r. It books that many work "
        "packages in a scratch workspace with this workspace's policy, drives simulated agents "
        "through the real queue, runner and gate, and keeps its report here; nothing is "
        "written to this workspace's record.",
    )


def _ordered(keys: Any, known: tuple[str, ...]) -> list[str]:
    """`keys` in the engine's order (`known`), any others after them by name: the saved
    report's keys are sorted."""
    names = [str(k) for k in keys]
    return [k for k in known if k in names] + sorted(k for k in names if k not in known)


def _share(value: dict[str, int]) -> float:
    return value["num"] / value["den"] if value["den"] else 0.0


def settings_grid(doc: dict[str, Any]) -> Table:
    """What was simulated: size, seed, the faults drawn (those with a rate) and the policy."""
    s = doc["settings"]
    faults, floors = s["faults"], s["evidence_floors"]
    rates = drawn_rates(faults)
    floors = ", ".join(f"{tier} {floors[tier]}" for tier in _ordered(floors, tuple(Tier)))
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(style=f"bold {MUTED}", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(
        "simulated",
        plain(
            f"{plural(s['tasks'], 'work package')} · {plural(s['agents'], 'simulated agent')} "
            f"· seed {s['seed']}",
            "bold",
        ),
    )
    grid.add_row("faults", plain(rates or "none"))
    grid.add_row(
        "policy",
        plain(
            f"signatures {s['signatures']} · failed_on {', '.join(s['failed_on']) or 'none'}"
            f" · evidence floors {floors or 'none'}"
        ),
    )
    grid.add_row(
        "",
        Text(
            "gated: the product as it is; ungated: each WP's first claim admitted as filed (the "
            "gate and the queue's checks off; computed from the same draws). Both are "
            "judged against the simulator's ground truth, which the gate never sees.",
            style=MUTED,
        ),
    )
    return grid


def figures_table(doc: dict[str, Any]) -> Table:
    """The gated run against the ungated baseline, every share with its denominator."""
    table = Table(title="the gate against an ungated baseline", title_justify="left", expand=True)
    table.add_column("figure", style="bold", ratio=3)
    table.add_column("gated", header_style=f"bold {GATED}", ratio=1, no_wrap=True)
    table.add_column("ungated", header_style=f"bold {UNGATED}", ratio=1, no_wrap=True)
    for figure, gated, ungated in figure_rows(doc):
        table.add_row(plain(figure), plain(gated), plain(ungated))
    return table


def _bar(chart: Text, label: str, value: float, peak: float, style: str, shown: str) -> None:
    width = round(BAR * value / peak) if peak else 0
    if value and width == 0:
        width = 1  # a figure above zero is never drawn as nothing
    chart.append_text(plain(label, MUTED))
    chart.append("  " + "█" * width, style=style)
    chart.append(" " * (BAR - width + 1))
    chart.append_text(plain(shown))
    chart.append("\n")


def false_completions_chart(doc: dict[str, Any]) -> Text:
    """False completions admitted, as shares of what each run admitted."""
    false = doc["false_completions_admitted"]
    chart = Text("false completions admitted (of admitted)\n", style="bold")
    peak = max(_share(false["gated"]), _share(false["ungated"]))
    for run, style in (("gated", GATED), ("ungated", UNGATED)):
        _bar(chart, f"{run:<7}", _share(false[run]), peak, style, ratio(false[run]))
    return chart


def events_chart(doc: dict[str, Any]) -> Text:
    """Events per WP by tier: what the gate's record costs against an ungated one."""
    tiers = doc["events_per_wp_by_tier"]
    chart = Text("events per WP by tier\n", style="bold")
    if not tiers:
        return chart.append("no work packages", style=MUTED)
    peak = max(_share(c[run]) for c in tiers.values() for run in ("gated", "ungated"))
    names = _ordered(tiers, tuple(Tier))
    width = max(len(name) for name in names)
    for tier in names:
        counts = tiers[tier]
        for run, style in (("gated", GATED), ("ungated", UNGATED)):
            label = f"{tier if run == 'gated' else '':<{width}} {run:<7}"
            _bar(chart, label, _share(counts[run]), peak, style, ratio_per(counts[run]))
    return chart


def legend() -> Text:
    text = Text()
    text.append("█ gated", style=GATED)
    text.append(": the product   ", style=MUTED)
    text.append("█ ungated", style=UNGATED)
    text.append(": each WP's first claim admitted as filed", style=MUTED)
    return text


def by_fault_table(doc: dict[str, Any]) -> Table:
    """Each fault kind: attempts drawn, and how many WPs each run admitted with it."""
    table = Table(title="by fault", title_justify="left", expand=True)
    table.add_column("fault", style="bold", no_wrap=True)
    table.add_column("attempts", justify="right", no_wrap=True)
    table.add_column("admitted gated", justify="right", no_wrap=True)
    table.add_column("admitted ungated (first claims)", justify="right", no_wrap=True)
    table.add_column("meant to be caught by", ratio=1)
    faults = doc["by_fault"]
    for kind in _ordered(faults, FAULTS):
        row = faults[kind]
        gated = row["admitted_gated"]
        table.add_row(
            plain(kind),
            plain(row["attempts"]),
            plain(gated, f"bold {UNGATED}" if gated else ""),
            plain(row["admitted_ungated"]),
            plain(row["caught_by"], MUTED),
        )
    return table


def advisory_table(doc: dict[str, Any]) -> Table:
    """The advisory verifier's predictions against the ground truth."""
    advisory = doc["advisory"]
    table = Table(
        title="the advisory verifier against the ground truth", title_justify="left", expand=True
    )
    table.add_column("figure", style="bold", ratio=3)
    table.add_column("value", ratio=1, no_wrap=True)
    for figure, key in (
        ("agreement (risky on a faulty claim, safe on an honest one)", "agreement"),
        ("false success (faulty among safe_to_proceed)", "false_success"),
        ("blocked precision (faulty among risky)", "blocked_precision"),
    ):
        table.add_row(plain(figure), plain(ratio(advisory[key])))
    return table


def not_caught(doc: dict[str, Any]) -> Group:
    """The fault kinds the gated run admitted, where, and why the gate could not see them."""
    title = Text("what the gate did not catch", style="bold")
    items = doc["not_caught"]
    if not items:
        return Group(
            title,
            Text(
                "Every faulty claim was withheld or refused: the gated run admitted none.",
                style="#4ade80",
            ),
        )
    listed = Table.grid(padding=(0, 1))
    listed.add_column(no_wrap=True)
    listed.add_column(ratio=1)
    for item in items:
        tiers = ", ".join(f"{n} {tier}" for tier, n in item["by_tier"].items())
        said = plain(item["fault"], f"bold {UNGATED}")
        said.append_text(plain(f": {item['admitted']} admitted ({tiers})"))
        said.append("\n")
        said.append_text(plain(why(item), MUTED))
        listed.add_row("•", said)
    return Group(title, listed)


def report_view(doc: dict[str, Any] | None) -> RenderableType:
    """The whole screen's content: the report, or what to run when there is none."""
    if doc is None:
        return no_report()
    charts = Table.grid(padding=(0, 4))
    charts.add_row(false_completions_chart(doc), events_chart(doc))
    return Group(
        settings_grid(doc),
        Text(""),
        figures_table(doc),
        *(plain(caveat, "bold #f97316") for caveat in caveats(doc)),
        Text(""),
        charts,
        legend(),
        Text(""),
        by_fault_table(doc),
        advisory_table(doc),
        Text(""),
        not_caught(doc),
    )


class SimulationScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back", id="cockpit.simulation.back"),
        Binding("r", "reread", "read again", id="cockpit.simulation.reread"),
    ]

    report: dict[str, Any] | None = None  # the report shown (None: none yet)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with VerticalScroll():
            yield Static("reading the last simulation report…", id="simulation", classes="chart")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#status", StatusBar).refresh_from_app("simulation")
        self.load()

    def action_reread(self) -> None:
        self.load()

    @work(thread=True, group="simulation-read", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        app = cockpit(self)
        doc = last_report(app.ws)
        try:
            view = report_view(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # A report edited by hand (or by an older Cockpit): said, never fatal.
            said = f"The last simulation report cannot be shown ({type(exc).__name__}: {exc})"
            doc, view = None, plain(f"{said}: run {RUN} again, then press r.")
        if not app.quitting and not get_current_worker().is_cancelled:  # `r` read it again
            self.app.call_from_thread(self.show, doc, view)

    def show(self, doc: dict[str, Any] | None, view: RenderableType) -> None:
        if self.is_attached:
            self.report = doc
            self.query_one("#simulation", Static).update(view)
