"""The gate's accounting: SPEC 8 metrics as tables of `a/b = x%` cells, what the agents
cost (tokens and dollars, SPEC 9.1), and charts for what people would rather look at than
read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from cockpit.domain import EventType
from cockpit.engine.reports import pages
from cockpit.engine.reports.metrics import cell_text
from cockpit.messages import StoreChanged
from cockpit.screens.context import read_then
from cockpit.screens.footer import KeyFooter
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.text import OUTCOME_STYLES, plain

BAR = 40
TOP_WPS = 10  # work packages listed by cost
DECISIONS = frozenset(
    {
        EventType.AGENT_EXITED,  # a run's usage
        EventType.VERIFY_COMPLETED,
        EventType.ADVISORY_ISSUED,
        EventType.CLAIM_PACKET_CREATED,
        EventType.OVERRIDE_APPLIED,
        EventType.TASK_COMPLETED,
        EventType.MONITOR_FLAGGED,
        EventType.MONITOR_DISMISSED,
    }
)


def metrics_table(document: dict[str, Any]) -> Table:
    table = Table(title="accounting", title_justify="left", expand=True)
    table.add_column("metric", style="bold", no_wrap=True)
    table.add_column("value")
    for key, value in document.items():
        if key == "usage":
            continue  # its own section: usage_section
        if key == "advisory":
            for name, share in value.items():
                table.add_row(Text(f"advisory.{name}"), Text(cell_text(share)))
        elif key == "monitor":
            for name, text in monitor_rows(value):
                table.add_row(Text(f"monitor.{name}"), Text(text))
        else:
            table.add_row(Text(key), Text(cell_text(value)))
    return table


def monitor_rows(counts: dict[str, Any]) -> list[tuple[str, str]]:
    """The progress monitor's counts as the table's rows (raised, by reason)."""
    reasons = ", ".join(f"{n} {reason}" for reason, n in counts["by_reason"].items())
    return [
        ("flagged", f"{counts['flagged']}" + (f" ({reasons})" if reasons else "")),
        ("open", f"{counts['open']} on {counts['work_packages_flagged']} WP(s)"),
        ("dismissed", str(counts["dismissed"])),
        ("cleared_by_progress", str(counts["cleared_by_progress"])),
    ]


def _tokens(count: int) -> str:
    return f"{count:,}"


def _costed(tally: dict[str, Any]) -> str:
    return cell_text({"num": tally["runs_with_cost"], "den": tally["runs"]})


def breakdown_table(
    lanes: list[tuple[str, dict[str, Any]]], wps: list[tuple[str, dict[str, Any]]], title: str
) -> Table:
    """Cost, tokens and runs with a reported cost: per lane, then per work package."""
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("lane / work package", no_wrap=True)
    for name in ("cost", "input", "output", "cache read"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("runs with a reported cost")
    for group, (label, tallies) in enumerate((("lane ", lanes), ("", wps))):
        if group and lanes and wps:
            table.add_section()
        for name, tally in tallies:
            table.add_row(
                plain(label + name),
                Text(_dollars(tally)),
                Text(_tokens(tally["input_tokens"])),
                Text(_tokens(tally["output_tokens"])),
                Text(_tokens(tally["cache_read_tokens"])),
                Text(_costed(tally)),
            )
    return table


def _dollars(tally: dict[str, Any]) -> str:
    """A tally's cost, or `-` when none of its runs reported one (unknown, not free)."""
    return f"${tally['cost_usd']}" if tally["runs_with_cost"] else "-"


def usage_section(usage: dict[str, Any]) -> Group | Text:
    """Tokens and cost: totals, per lane, the costliest work packages, and the shares,
    each with its denominator. A run whose CLI reported no cost is counted apart."""
    if not usage["total"]["runs"]:
        return Text("tokens and cost: no agent run has reported its usage yet", style="#9ca3af")
    total = usage["total"]
    shares = Table(title="tokens and cost", title_justify="left", expand=True)
    shares.add_column("metric", style="bold", no_wrap=True)
    shares.add_column("value")
    shares.add_row(
        "total",
        Text(
            f"{_dollars(total)} · {_tokens(total['input_tokens'])} in · "
            f"{_tokens(total['output_tokens'])} out · "
            f"{_tokens(total['cache_read_tokens'])} cache read · {total['runs']} runs"
        ),
    )
    shares.add_row("runs with a reported cost", Text(cell_text(usage["runs_with_cost"])))
    shares.add_row("cost per accepted WP", Text(cell_text(usage["cost_per_accepted_wp"])))
    shares.add_row(
        "tokens per accepted WP", Text(cell_text(usage["tokens_per_accepted_wp"], per=True))
    )
    shares.add_row("cost on withheld work", Text(cell_text(usage["cost_on_withheld"])))
    lanes = sorted(usage["by_lane"].items())
    by_cost = sorted(
        usage["by_work_package"].items(), key=lambda kv: (-Decimal(kv[1]["cost_usd"]), kv[0])
    )
    title = "per lane, then work packages by cost"
    if len(by_cost) > TOP_WPS:
        title += f" (the top {TOP_WPS} of {len(by_cost)})"
    return Group(shares, breakdown_table(lanes, by_cost[:TOP_WPS], title))


def outcomes_chart(days: list[tuple[str, dict[str, int]]]) -> Text:
    chart = Text("verify outcomes per day\n", style="bold")
    if not days:
        return chart.append("no verify has run yet", style="#9ca3af")
    peak = max(sum(c.values()) for _, c in days) or 1
    for day, counts in days[-14:]:
        chart.append(f"{day}  ", style="#9ca3af")
        for name in ("success", "blocked", "failed", "skipped"):
            width = round(BAR * counts.get(name, 0) / peak)
            if counts.get(name) and width == 0:
                width = 1
            chart.append("█" * width, style=OUTCOME_STYLES[name])
        chart.append("  " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())) + "\n")
    chart.append("█ success ", style=OUTCOME_STYLES["success"])
    chart.append("█ blocked ", style=OUTCOME_STYLES["blocked"])
    chart.append("█ failed ", style=OUTCOME_STYLES["failed"])
    chart.append("█ skipped", style=OUTCOME_STYLES["skipped"])
    return chart


def bars(title: str, counts: dict[str, int]) -> Text:
    chart = Text(f"{title}\n", style="bold")
    if not counts:
        return chart.append("none", style="#9ca3af")
    peak = max(counts.values()) or 1
    width = max(len(k) for k in counts)
    for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        chart.append(f"{name:<{width}}  ", style="#9ca3af")
        chart.append("█" * max(round(BAR * n / peak), 1), style="#f97316")
        chart.append(f" {n}\n")
    return chart


class MetricsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "back", id="cockpit.metrics.back"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with VerticalScroll():
            yield Static(id="metrics-table")
            yield Static(id="usage")
            yield Static(id="charts", classes="chart")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#status", StatusBar).refresh_from_app("metrics")
        self.fill()

    def fill(self) -> None:
        self.load()

    @work(thread=True, group="metrics-read", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        read_then(self, pages.metrics_page, self.show)

    def show(self, page: pages.MetricsPage) -> None:
        document = page.document
        self.query_one("#status", StatusBar).refresh_from_app("metrics")
        self.query_one("#metrics-table", Static).update(metrics_table(document))
        self.query_one("#usage", Static).update(usage_section(document["usage"]))
        charts = Group(
            outcomes_chart(page.outcomes_by_day),
            Text(""),
            bars("blocked verifies by reason class", document["blocked_by_reason_class"]),
            bars("blocked verifies by predicate", document["blocked_by_predicate"]),
        )
        self.query_one("#charts", Static).update(charts)

    def on_store_changed(self, message: StoreChanged) -> None:
        # Only decisions and agents' exits (their usage) move the accounting; a burst of
        # other events costs nothing here.
        if any(e.type in DECISIONS for e in message.events):
            self.fill()
