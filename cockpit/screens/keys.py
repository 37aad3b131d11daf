"""The one table of user commands: key bindings (with ids, for remapping), the footer and
the command palette are all built from it."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Command:
    id: str
    key: str
    action: str
    title: str
    help: str
    show: bool = True
    label: str = ""  # the footer's word, when shorter than the title
    group: str = ""  # footer group: its keys share one word


# Actions on the selected work package (the engine's human actions).
WP_ACTIONS: list[Command] = [
    Command("dispatch", "d", "act('dispatch')", "Dispatch", "dispatch to an eligible agent"),
    Command("verify", "v", "act('verify')", "Verify", "run the verify gate now"),
    Command(
        "recover",
        "r",
        "act('recover')",
        "Recover",
        "file a recovery (owner + next action)",
    ),
    Command("review", "e", "act('review')", "Review", "record a review verdict"),
    Command(
        "override",
        "o",
        "act('override')",
        "Override",
        "override the state (reason required)",
    ),
    Command("cancel", "c", "act('cancel')", "Cancel", "cancel the work package"),
    Command(
        "rollback",
        "b",
        "act('rollback')",
        "Rollback",
        "roll a failed WP back to its base commit",
    ),
    Command("veto", "x", "act('veto')", "Veto", "raise or lift a veto"),
    Command("dismiss", "z", "act('dismiss')", "Dismiss", "dismiss an advisory"),
    Command(
        "lineage",
        "l",
        "open_stepper",
        "Lineage",
        "step through the decision history",
        label="steps",
    ),
]

# On the work package screen's Transcript tab (shown in the footer only there).
TRANSCRIPT: list[Command] = [
    Command(
        "transcript.previous",
        "left_square_bracket",
        "transcript_run(-1)",
        "Previous run",
        "the transcript of the WP's previous agent run",
        show=False,  # the tab's header says `[ ] runs`; the footer keeps its room
    ),
    Command(
        "transcript.next",
        "right_square_bracket",
        "transcript_run(1)",
        "Next run",
        "the transcript of the WP's next agent run",
        show=False,
    ),
    Command(
        "transcript.raw",
        "t",
        "transcript_raw",
        "Raw record",
        "the selected transcript row's raw record (JSON), or its text again",
        label="raw",
    ),
]

# The work package screen's tabs, by number.
WP_TABS: list[Command] = [
    Command(
        f"tab.{name.lower()}",
        str(number),
        f"show_tab('tab-{name.lower()}')",
        f"{name} tab",
        f"the work package's {name} tab",
        show=False,
    )
    for number, name in enumerate(("Lineage", "Packets", "Verify", "Audit", "Transcript"), 1)
]

# Views and navigation.
VIEWS: list[Command] = [
    Command("filter", "slash", "filter", "Filter", "filter by text, state:S, assignee:P"),
    Command(
        "attention",
        "a",
        "toggle_attention",
        "Attention",
        "show only what needs a person",
        label="attn",
    ),
    Command("sort", "s", "cycle_sort", "Sort", "change the sort column"),
    Command(
        "audit", "A", "app.open_audit", "Audit", "the audit chain and its integrity", show=False
    ),
    Command("metrics", "M", "app.open_metrics", "Metrics", "the gate's accounting", show=False),
    Command(
        "rejected", "R", "app.open_rejected", "Rejected", "entries the queue refused", show=False
    ),
    Command(
        "canon",
        "C",
        "app.open_canon",
        "Canon",
        "candidates, the Canon Gate and canon search",
        show=False,
    ),
    Command("help", "question_mark", "app.help", "Help", "keys and commands"),
    Command(
        "command", "colon", "app.command_palette", "Command", "command mode (palette)", show=False
    ),
]


def bindings(commands: list[Command]) -> list[Binding]:
    return [
        Binding(
            c.key,
            c.action,
            (c.label or c.title).lower(),
            show=c.show,
            id=f"cockpit.{c.id}",
            tooltip=c.help,
        )
        for c in commands
    ]
