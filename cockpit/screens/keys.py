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
    priority: bool = False  # taken before the focused widget sees the key


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
        "deliver",
        "m",
        "act('deliver')",
        "Deliver",
        "deliver a complete WP's verified head (merge, push or pull request)",
        show=False,  # for complete WPs only: the footer keeps its room; `?` lists it
    ),
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

# On the work package screen's Changes tab (shown in the footer only there). Bound before
# the WP's actions: on that tab `c` comments (cancel is `c` on the other tabs).
CHANGES: list[Command] = [
    Command(
        "changes.comment",
        "c",
        "changes_comment",
        "Comment",
        "comment on the diff's cursor line (a draft until the review, `e`, sends it)",
    ),
    Command(
        "changes.previous",
        "left_square_bracket",
        "changes_file(-1)",
        "Previous file",
        "the change's previous file",
        show=False,
    ),
    Command(
        "changes.next",
        "right_square_bracket",
        "changes_file(1)",
        "Next file",
        "the change's next file",
        show=False,
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
    for number, name in enumerate(
        ("Lineage", "Packets", "Verify", "Audit", "Transcript", "Changes"), 1
    )
]

# Views and navigation.
VIEWS: list[Command] = [
    Command(
        "filter",
        "slash",
        "filter",
        "Filter",
        "filter by text, state:S, assignee:P",
        priority=True,  # the field has the focus before the keys typed after `/` are read
    ),
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
    Command("doctor", "D", "app.open_doctor", "Doctor", "is this workspace fit to run", show=False),
    Command(
        "simulation",
        "S",
        "app.open_simulation",
        "Simulation",
        "the last `cockpit simulate` report, gated against ungated",
        show=False,
        label="sim",  # the header's word: the keys line fits beside the counts on 80 columns
    ),
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
        "jump",
        "colon",
        "app.jump_to",
        "Jump",
        "go to a work package or a screen by name (:WP-0003, :audit)",
        priority=True,  # the prompt has the focus before the keys typed after `:` are read
    ),
    Command(
        "palette",
        "ctrl+p",
        "app.command_palette",
        "Command palette",
        "every command, found by name",
        label="palette",
        priority=True,
    ),
]

# Commands that change the store: with --readonly they are not offered (not in the footer,
# the help or the palette; their keys say that actions are disabled).
ACTION_IDS = frozenset(c.id for c in WP_ACTIONS if c.action.startswith("act(")) | {
    "changes.comment"  # a review comment's draft: for the review, an action
}
# Commands the palette does not list: opening it, from it.
NOT_IN_PALETTE = frozenset({"palette"})


def offered(commands: list[Command], readonly: bool) -> list[Command]:
    """The commands a session offers: all of them, or with --readonly none that acts."""
    return [c for c in commands if not (readonly and c.id in ACTION_IDS)]


# The footer keeps these first when the terminal is too narrow for every key (by the last
# part of a binding's id); the other keys go from the end of the table first.
FOOTER_FIRST = ("help", "quit", "back", "jump", "palette", "filter", "attention", "sort")


def footer_rank(binding_id: str | None) -> int:
    name = (binding_id or "").rsplit(".", 1)[-1]
    return FOOTER_FIRST.index(name) if name in FOOTER_FIRST else len(FOOTER_FIRST)


def bindings(commands: list[Command]) -> list[Binding]:
    return [
        Binding(
            c.key,
            c.action,
            (c.label or c.title).lower(),
            show=c.show,
            id=f"cockpit.{c.id}",
            tooltip=c.help,
            priority=c.priority,
        )
        for c in commands
    ]
