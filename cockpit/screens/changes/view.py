"""The work package screen's Changes tab (SPEC 11.1, 11.2): the WP's change as the gate
sees it, its files on the left (scope marks, counts), the chosen file's diff on the right,
and the review comments drafted on it below.

The change is computed by the engine (`gate.change.change_of`: git, in a worker thread)
as the WP's screen opens, so the tab shows it at once, and again when the WP's record
changes: at once while the tab is shown, else when it is next shown (the change shown
until then stays); a WP without a target repo or worktree says why in the engine's
sentence. For a complete WP
it is the diff between the base and the verified head the acceptance was about.

`c` (a screen key, on this tab) opens a comment box on the diff's cursor line; the comment
is a draft, kept by the app for the session (changes/drafts.py), until the review (`e`)
sends the WP's drafts with its verdict. A draft is edited or deleted from the box, or
from the list of drafts (enter edits, delete deletes).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from cockpit.engine.gate.change import Change, change_of
from cockpit.engine.repo.diff import DiffLine, FileDiff
from cockpit.engine.repo.diff_text import visible
from cockpit.errors import CockpitError
from cockpit.screens.changes.diff_view import DiffView
from cockpit.screens.changes.drafts import Draft, summary
from cockpit.screens.changes.file_list import FileList
from cockpit.screens.changes.rows import Note, coordinates, file_rows, shown
from cockpit.screens.context import cockpit
from cockpit.screens.modals.comment import CommentModal

LOADING = "Working out the change (git) …"
FRESH_SECONDS = 10.0  # a worktree's change shown again is read again after this
DRAFTS_HEAD = Text.assemble(
    ("Draft comments", "bold #fde68a"),
    (" · the review (e) sends them with its verdict · enter edits · del deletes", "#9ca3af"),
)
SHORT = 12  # characters of a commit id shown


class DraftList(OptionList):
    """The drafts of the WP: enter edits the highlighted one, delete deletes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete,backspace", "remove", "delete draft", show=False),
    ]

    class Remove(Message):
        """Delete the draft at `index`."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def action_remove(self) -> None:
        index = self.highlighted
        if index is not None:
            self.post_message(self.Remove(index))


def draft_option(draft: Draft) -> Text:
    text = Text(end="", no_wrap=True)
    text.append(visible(draft.where), style="bold")
    text.append("  ")
    text.append(summary(draft.text, shown))
    return text


class ChangesView(Vertical):
    DEFAULT_CSS = """
    ChangesView { height: 1fr; }
    ChangesView > #changes-head { height: auto; padding: 0 1; background: $boost; }
    ChangesView > #changes-body { height: 1fr; }
    ChangesView #changes-files { width: 40%; min-width: 30; max-width: 70;
                                 border-right: solid $primary-darken-2; }
    ChangesView #changes-right { width: 1fr; }
    ChangesView #changes-ruler { height: 1; padding: 0 1; background: $boost; }
    ChangesView > #changes-drafts-box { height: auto; max-height: 6; }
    ChangesView #changes-drafts-head { height: 1; padding: 0 1; background: $boost; }
    ChangesView #changes-drafts { height: auto; max-height: 5; border: none; padding: 0; }
    """

    def __init__(self, wp_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.wp_id = wp_id
        self.change: Change | None = None
        self.problem: str | None = None
        self.stale = True  # computed again when next shown
        self.loading = False
        self.loaded_at = 0.0  # time.monotonic() of the change shown
        self.file_index = -1
        self.resume: tuple[str, int] | None = None  # the file and cursor to go back to

    def compose(self) -> ComposeResult:
        yield Static(Text(LOADING, style="#9ca3af"), id="changes-head")
        with Horizontal(id="changes-body"):
            yield FileList(id="changes-files")
            with Vertical(id="changes-right"):
                yield DiffView(id="changes-diff")
                yield Static(id="changes-ruler")
        with Vertical(id="changes-drafts-box"):
            yield Static(DRAFTS_HEAD, id="changes-drafts-head")
            yield DraftList(id="changes-drafts")

    def on_mount(self) -> None:
        self.diff.say(LOADING)
        self.show_drafts()
        self.activate()  # computed now, while the person reads the WP: the tab opens at once

    @property
    def diff(self) -> DiffView:
        return self.query_one(DiffView)

    @property
    def files(self) -> FileList:
        return self.query_one(FileList)

    # -- loading -----------------------------------------------------------------------

    def activate(self) -> None:
        """The tab is shown (or the screen opened): compute the change if it is not yet,
        is out of date, or is a worktree's content read more than FRESH_SECONDS ago (an
        agent may have changed it since). What is shown stays until the new one is in."""
        aged = (
            self.change is not None
            and self.change.source == "worktree"
            and time.monotonic() - self.loaded_at > FRESH_SECONDS
        )
        if self.stale or aged:
            self.stale = False
            self.loading = True
            self.show_head()
            self.load()

    def changed(self, shown_now: bool) -> None:
        """The WP's record changed: compute the change again now if the tab is shown,
        else when it is next shown."""
        self.stale = True
        if shown_now:
            self.activate()
        self.show_drafts()

    @work(thread=True, group="changes-read", exclusive=True, exit_on_error=False)
    def load(self) -> None:
        app = cockpit(self)
        result: Change | str
        try:
            store = app.open_reader()
            try:
                wp = store.work_package(self.wp_id)
                if wp is None:
                    result = f"no work package {self.wp_id} has been booked in this workspace"
                else:
                    result = change_of(app.ws, store, wp)
            finally:
                store.close()
        except CockpitError as exc:
            result = str(exc)
        except Exception as exc:  # never a traceback on the screen
            result = f"the change of {self.wp_id} could not be read: {exc}"
        if get_current_worker().is_cancelled or app.quitting:
            return
        self.app.call_from_thread(self.take, result)

    def take(self, result: Change | str) -> None:
        if not self.is_attached:
            return
        self.loading = False
        self.loaded_at = time.monotonic()
        if isinstance(result, str):
            self.change, self.problem = None, result
            self.files.show(())
            self.diff.say(result)
            self.file_index = -1
        else:
            kept = self.diff.file.path if self.diff.file is not None else None
            self.resume = (kept, self.diff.cursor) if kept else None
            self.change, self.problem = result, None
            cockpit(self).drafts.saw(self.wp_id, result.head)
            paths = [f.path for f in result.files]
            index = paths.index(kept) if kept in paths else 0
            self.file_index = -1  # shown again: the file may have changed
            self.files.show(result.files, result.committed_only, index)
            if not result.files:
                self.diff.say("Nothing differs from the base.")
        self.show_head()
        self.show_drafts()

    # -- showing -----------------------------------------------------------------------

    def show_head(self) -> None:
        head = Text(end="")
        change = self.change
        if change is None:
            if self.problem is None or self.loading:
                head.append(LOADING, style="#9ca3af")
            else:
                head.append(self.problem, style="bold #fb923c")
            self.query_one("#changes-head", Static).update(head)
            return
        head.append(f"base {change.base[:SHORT]} → ", style="#9ca3af")
        if change.source == "verified":
            head.append(f"head {(change.head or '')[:SHORT]}", style="bold")
            head.append(" (the verified head at acceptance)", style="#9ca3af")
        elif change.head:
            head.append("worktree", style="bold")
            head.append(f" (as verified: head {change.head[:SHORT]})", style="#9ca3af")
        else:
            head.append("worktree", style="bold")
            head.append(" (not verified as it is)", style="#fb923c")
        files = len(change.files)
        head.append(f" · {files} file{'s' if files != 1 else ''} ")
        head.append(f"+{change.additions}", style="#4ade80")
        head.append(" ")
        head.append(f"-{change.deletions}", style="#f87171")
        drafts = cockpit(self).drafts
        count = drafts.count(self.wp_id)
        if count:
            head.append(f" · {count} draft comment{'s' if count != 1 else ''}", style="#fde68a")
            written = drafts.head(self.wp_id)
            if written != change.head:
                on = f"head {written[:SHORT]}" if written else "unverified content"
                head.append(f" (written on {on})", style="#fb923c")
        if self.loading:
            head.append(" · reading it again …", style="#9ca3af")
        self.query_one("#changes-head", Static).update(head)

    def show_file(self, index: int, *, keep_cursor: bool = False) -> None:
        change = self.change
        if change is None or not 0 <= index < len(change.files):
            return
        f = change.files[index]
        cursor = self.diff.cursor if keep_cursor else 0
        if self.resume is not None and self.resume[0] == f.path:
            cursor = self.resume[1]  # the same file computed again: the cursor stays
        self.resume = None
        self.file_index = index
        self.diff.show(f, file_rows(f, self.drafts_on(f)), cursor)

    def drafts_on(self, f: FileDiff) -> list[Draft]:
        return [d for d in cockpit(self).drafts.of(self.wp_id) if d.path == f.path]

    def show_drafts(self) -> None:
        drafts = cockpit(self).drafts.of(self.wp_id)
        listed = self.query_one(DraftList)
        listed.clear_options()
        listed.add_options([Option(draft_option(d)) for d in drafts])
        self.query_one("#changes-drafts-box").display = bool(drafts)

    def show_ruler(self) -> None:
        ruler = Text(end="", no_wrap=True)
        diff = self.diff
        if diff.file is None:
            self.query_one("#changes-ruler", Static).update(ruler)
            return
        ruler.append(visible(diff.file.path), style="bold")
        ruler.append(f"  row {diff.cursor + 1:,} of {len(diff.rows):,}", style="#9ca3af")
        row = diff.current
        if isinstance(row, DiffLine):
            line, side = coordinates(row)
            ruler.append(f"  · line {line:,} ({side})")
        elif isinstance(row, Note) and row.kind == "comment" and row.draft is not None:
            ruler.append(f"  · draft on line {row.draft.line:,} ({row.draft.side})")
        widget = self.query_one("#changes-ruler", Static)
        room = (widget.size.width or 80) - 2 - ruler.cell_len
        for hint in ("   c comment · [ ] file · n p hunk", "   c comment"):
            if len(hint) <= room:
                ruler.append(hint, style="#6b7280")
                break
        widget.update(ruler)

    @on(FileList.Chosen)
    def file_chosen(self, message: FileList.Chosen) -> None:
        message.stop()
        if message.index != self.file_index:
            self.show_file(message.index)
        if message.opened:
            self.diff.focus()

    @on(DiffView.Moved)
    def diff_moved(self, message: DiffView.Moved) -> None:
        message.stop()
        self.show_ruler()

    def step_file(self, delta: int) -> None:
        """`[` / `]`: the previous or next file."""
        if self.change is not None and self.change.files:
            self.files.action_cursor(delta)

    # -- comments ------------------------------------------------------------------------

    def comment(self) -> None:
        """`c`: write (or edit) the draft on the diff's cursor line."""
        app = cockpit(self)
        if app.readonly:
            app.say("Read-only: actions are disabled (started with --readonly).",
                    severity="warning")  # fmt: skip
            return
        row, f = self.diff.current, self.diff.file
        if f is None or self.change is None:
            app.say("There is no diff line here to comment on.", severity="warning")
            return
        if isinstance(row, Note) and row.kind == "comment" and row.draft is not None:
            line = self.diff.line_at(self.diff.cursor)
            self.edit(row.draft, line.text if line is not None else row.draft.code)
            return
        if not isinstance(row, DiffLine):
            app.say("Move the cursor to a line of the diff (added, removed or context) to "
                    "comment on it.", severity="warning")  # fmt: skip
            return
        number, side = coordinates(row)
        draft = app.drafts.get(self.wp_id, f.path, number, side) or Draft(
            f.path, number, side, "", row.text
        )
        self.edit(draft, row.text)

    def edit(self, draft: Draft, code: str) -> None:
        def answered(answer: dict[str, Any] | None) -> None:
            if not answer:
                return
            drafts = cockpit(self).drafts
            if answer.get("delete"):
                drafts.remove(self.wp_id, draft.key)
            else:
                kept = Draft(draft.path, draft.line, draft.side, answer["text"], code)
                drafts.put(self.wp_id, kept, self.change.head if self.change else None)
            self.drafts_changed()

        modal = CommentModal(self.wp_id, draft.where, shown(code), draft.text)
        self.app.push_screen(modal, answered)

    def drafts_changed(self) -> None:
        if self.file_index >= 0:
            self.show_file(self.file_index, keep_cursor=True)
        self.show_head()
        self.show_drafts()

    def draft_at(self, index: int) -> Draft | None:
        drafts = cockpit(self).drafts.of(self.wp_id)
        return drafts[index] if 0 <= index < len(drafts) else None

    @on(OptionList.OptionHighlighted, "#changes-drafts")
    def draft_highlighted(self, message: OptionList.OptionHighlighted) -> None:
        """Show the draft's line in the diff."""
        draft = self.draft_at(message.option_index)
        if draft is None or self.change is None:
            return
        paths = [f.path for f in self.change.files]
        if draft.path in paths:
            index = paths.index(draft.path)
            if index != self.files.cursor:
                self.files.cursor = index
            if index != self.file_index:
                self.show_file(index)
            self.diff.go_to(draft.line, draft.side)

    @on(OptionList.OptionSelected, "#changes-drafts")
    def draft_selected(self, message: OptionList.OptionSelected) -> None:
        draft = self.draft_at(message.option_index)
        if draft is not None:
            self.edit(draft, draft.code)

    @on(DraftList.Remove)
    def draft_removed(self, message: DraftList.Remove) -> None:
        draft = self.draft_at(message.index)
        if draft is not None:
            cockpit(self).drafts.remove(self.wp_id, draft.key)
            cockpit(self).say(f"The draft on {visible(draft.where)} was deleted.")
            self.drafts_changed()
