"""CockpitApp: the operator's control room over one workspace.

The app either is the workspace's ingester (it holds the runner lock, sweeps on start, on
every change in queue/new/ and every few seconds) or follows a headless runner that holds
it, reading new events from the store. Never two ingesters. Every action is one engine
call made in a worker (screens/driver.py), signed by the session's key (screens/signing.py);
refusals come back as notifications. New events that need the owner are told as
notifications, with the terminal bell (screens/notices.py, `notify:` in cockpit.yaml).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, TextArea

from cockpit.engine.repo.sandbox import Availability, availability
from cockpit.engine.reports import pages
from cockpit.engine.runner.lock import RunnerLock, lock_holder
from cockpit.engine.runner.loop import sweep_and_verify
from cockpit.engine.text import literal
from cockpit.engine.trust import record
from cockpit.engine.trust.keys import HeldKey
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import CockpitError, RunnerLocked
from cockpit.messages import StoreChanged
from cockpit.screens.audit import AuditScreen
from cockpit.screens.board import BoardScreen
from cockpit.screens.canon import CanonScreen
from cockpit.screens.changes.drafts import Drafts
from cockpit.screens.doctor import DoctorScreen
from cockpit.screens.driver import ActionDriver
from cockpit.screens.help import HelpScreen
from cockpit.screens.jump import can_open, open_jump_bar, resolve
from cockpit.screens.keys import CHANGES, TRANSCRIPT, VIEWS, WP_ACTIONS, WP_TABS, bindings
from cockpit.screens.metrics import MetricsScreen
from cockpit.screens.notices import notices
from cockpit.screens.palette import CockpitCommands
from cockpit.screens.rejected import RejectedScreen
from cockpit.screens.signing import Signing, look_up_at_start
from cockpit.screens.simulation import SimulationScreen
from cockpit.screens.status_bar import StatusBar
from cockpit.screens.stepper import StepperScreen
from cockpit.screens.trust import Note, Probe, header_notes, probe_at_start
from cockpit.screens.work_package import WorkPackageScreen
from cockpit.store import Event, Store
from cockpit.store.events import utc_now

SWEEP_SECONDS = 5.0
POLL_SECONDS = 0.5
NOTICE_SECONDS = 20.0  # how long a "needs you" notification stays


class CockpitApp(ActionDriver, App[None]):
    CSS_PATH = "styles/cockpit.tcss"
    TITLE = "Cockpit"
    COMMANDS: ClassVar[set[Any]] = {*App.COMMANDS, CockpitCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit", id="cockpit.quit"),
        Binding("escape", "back", "Back", show=False, id="cockpit.back"),
        *bindings([c for c in VIEWS if c.action.startswith("app.")]),
    ]

    def __init__(
        self,
        ws: Workspace,
        *,
        principal: str,
        readonly: bool = False,
        clock: Callable[[], datetime] = utc_now,
        ingest: bool = True,
        poll_seconds: float = POLL_SECONDS,
        sweep_seconds: float = SWEEP_SECONDS,
        blink: bool = True,
        sandbox_probe: Probe = availability,
    ) -> None:
        super().__init__()
        self.ws = ws
        self.principal = principal
        self.readonly = readonly
        self.clock = clock
        self.want_ingest = ingest and not readonly
        self.poll_seconds = poll_seconds
        self.sweep_seconds = sweep_seconds
        self.blink = blink  # off for snapshots: a blinking cursor is not a fixed picture
        self.store: Store = ws.open_store(clock, readonly=readonly)
        self.last_seq = self.store.head_seq()
        self.lock: RunnerLock | None = None
        # Loaded once when the app becomes the ingester; its sweeps sign with it.
        self.runner_key: HeldKey | None = None
        self.config_recorded = False
        self.follows: str | None = None
        self._stop = asyncio.Event()
        self._halt = threading.Event()  # the same, for engine work in threads
        self._sweep_lock = threading.Lock()
        self._in_flight: set[tuple[str, str]] = set()
        self.signing = Signing(ws, principal)  # who signs this session's actions
        self.drafts = Drafts()  # review comments drafted on the Changes tab, per WP
        self.sandbox_probe = sandbox_probe
        self.sandbox: Availability | None = None  # what confines agents, once probed

    # -- lifecycle ------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(BoardScreen())
        self.set_interval(self.poll_seconds, self.poll)
        probe_at_start(self, self.sandbox_probe)
        if not self.readonly:
            look_up_at_start(self)
        if self.want_ingest:
            self.take_over()
            self.set_interval(self.sweep_seconds, self.tick)
        elif not self.readonly:
            self.follows = "nobody (ingest is off)"

    def take_over(self) -> None:
        """Become the ingester if no runner holds the workspace; else say who does."""
        try:
            self.lock = RunnerLock(self.ws, agents=False).acquire()
        except RunnerLocked as exc:
            self.follows = str(exc).removeprefix("another runner holds this workspace ")
            return
        except CockpitError as exc:  # an unusable lock file: refuse to ingest, say why
            self.follows = f"nobody ({exc})"
            return
        try:
            # Ingesting, the app is the runner: under `signatures: required` it must sign
            # the runner's events, so without a usable runner key it does not ingest.
            self.runner_key = record.runner_key_usable(self.ws)
        except CockpitError as exc:
            self.lock.release()
            self.lock = None
            self.follows = f"nobody ({exc})"
            return
        self.follows = None
        self.sweep()
        self.watch_queue()

    def tick(self) -> None:
        """The periodic sweep; a follower whose runner went away takes over."""
        if self.lock is not None:
            self.sweep()
            return
        before = self.follows
        self.take_over()
        if self.follows != before:
            self.refresh_status()

    def refresh_status(self) -> None:
        for bar in self.screen.query(StatusBar):
            bar.refresh_from_app()

    def steady_cursors(self, screen: Screen[Any]) -> None:
        """Apply the app's blink setting to the text inputs of `screen`."""
        for widget in screen.query(Input):
            widget.cursor_blink = self.blink
        for area in screen.query(TextArea):
            area.cursor_blink = self.blink

    def exit(self, *args: Any, **kwargs: Any) -> None:
        self._stop.set()
        self._halt.set()
        super().exit(*args, **kwargs)

    def on_unmount(self) -> None:
        self._stop.set()
        self._halt.set()
        # Hold the runner lock until a sweep in flight has stopped: never two ingesters.
        finished = self._sweep_lock.acquire(timeout=30)
        if self.lock is not None:
            self.lock.release()
        if finished:
            self._sweep_lock.release()
        self.store.close()

    @property
    def ingesting(self) -> bool:
        return self.lock is not None

    @property
    def unstarted_lanes(self) -> tuple[str, ...]:
        """The lanes with a command whose agents nobody starts now: this app holds the
        runner lock (it ingests but starts no agents), or no runner that starts agents
        holds it. Their waiting WPs need attention; empty while a runner runs agents."""
        if self.lock is None:
            holder = lock_holder(self.ws)
            if holder is not None and holder.get("agents", True):
                return ()
        return tuple(sorted(n for n, lane in self.ws.config.lanes.items() if lane.starts_agents))

    @property
    def quitting(self) -> bool:
        """The app is on its way out: workers stop handing results to the screens."""
        return self._halt.is_set()

    def open_reader(self) -> Store:
        """A store connection of its own for a worker's reads (read-only if the app is)."""
        return self.ws.open_store(self.clock, readonly=self.readonly)

    @property
    def trust_notes(self) -> list[Note]:
        """What the header says of the sandbox and of optional signatures."""
        config = self.ws.config
        return header_notes(config.runner.sandbox, self.sandbox, config.policy.signatures)

    @property
    def signing_label(self) -> str:
        """Which key signs this session's actions (empty when nothing needs saying)."""
        return "" if self.readonly else self.signing.label

    @property
    def ingest_label(self) -> str:
        if self.readonly:
            return "following the store"
        if self.lock is not None:
            return f"ingesting here ({self.ws.config.runner.mode.value})"
        if self.follows and self.follows.startswith("nobody"):
            return f"not ingesting: {self.follows}"
        return f"following runner {self.follows}"

    # -- ingest and follow -----------------------------------------------------------------

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_queue(self) -> None:
        """Watch events are hints: any change in queue/new/ asks for a sweep. If watching
        fails (e.g. an inotify limit), the periodic sweep carries on alone."""
        import watchfiles

        try:
            async for _changes in watchfiles.awatch(
                self.ws.queue_dir("new"), stop_event=self._stop, debounce=200, recursive=False
            ):
                self.sweep()
        except Exception as exc:
            self.say(
                f"watching the queue failed ({exc}); sweeping every "
                f"{self.sweep_seconds:g} s instead",
                severity="warning",
            )

    @work(thread=True, group="sweep", exit_on_error=False)
    def sweep(self) -> None:
        """One sweep plus due gate runs, in a thread with its own connection; it stops
        between entries when the app is quitting."""
        if self._halt.is_set() or not self._sweep_lock.acquire(blocking=False):
            return  # a sweep is running; the periodic sweep catches anything it missed
        try:
            store = self.ws.open_store(self.clock)
            try:
                # Ingesting here, the app is the runner: its events carry the runner's
                # signature, and the keys in force are recorded (SPEC 10.1).
                record.attach_held(
                    self.ws, store, self.runner_key, record_config=not self.config_recorded
                )
                self.config_recorded = True
                sweep_and_verify(self.ws, store, stop=self._halt)
            finally:
                store.close()
        except Exception as exc:  # the app never dies on a sweep
            if not self._halt.is_set():
                self.call_from_thread(self.say, f"sweep failed: {exc}", severity="error")
        finally:
            self._sweep_lock.release()
        if not self._halt.is_set():
            self.call_from_thread(self.poll)

    def say(self, message: str, *, title: str = "", severity: str = "information") -> None:
        """A notification whose text is shown literally (it may carry file names)."""
        self.notify(
            literal(message),
            title=literal(title),
            severity=severity,  # type: ignore[arg-type]
            markup=False,
        )

    def poll(self) -> None:
        """Follow the store: post StoreChanged for events appended since the last look."""
        if self.store.head_seq() <= self.last_seq:
            return
        events = self.store.events(since_seq=self.last_seq)
        if not events:
            return
        self.last_seq = events[-1].seq
        for screen in self.screen_stack:
            screen.post_message(StoreChanged(events))
        self.tell_owner(events)

    def tell_owner(self, events: list[Event]) -> None:
        """A notification for each new event that needs the owner (`notify.reasons`), and the
        terminal bell when `notify.bell` is on; not for what the acting principal did.
        Events that were there when the app opened are never looked at: `last_seq` starts
        at the head."""
        settings = self.ws.config.notify
        found = notices(events, self.store, settings.reasons, me=self.principal)
        for text in found:
            self.notify(
                literal(text),
                title="needs you",
                severity="warning",
                timeout=NOTICE_SECONDS,
                markup=False,
            )
        if found and settings.bell:
            self.bell()

    # -- actions -----------------------------------------------------------------------------

    def run_command(self, command_id: str) -> None:
        """Run a command of the key table by id (from the palette)."""
        screen = self.screen
        for command in [*WP_ACTIONS, *WP_TABS, *VIEWS, *TRANSCRIPT, *CHANGES]:
            if command.id == command_id:
                target = self if command.action.startswith("app.") else screen
                action = command.action.removeprefix("app.")
                name = action.partition("(")[0]
                if target is screen and not hasattr(screen, f"action_{name}"):
                    self.say(
                        f"{command.title} is not available on this screen; go back to "
                        "the board or open a work package",
                        severity="warning",
                    )
                    return
                self.call_later(target.run_action, action)
                return

    # -- navigation ----------------------------------------------------------------------------

    def action_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def action_open_audit(self) -> None:
        self.push_screen(AuditScreen())

    def action_open_metrics(self) -> None:
        self.push_screen(MetricsScreen())

    def action_open_doctor(self) -> None:
        self.push_screen(DoctorScreen())

    def action_open_simulation(self) -> None:
        self.push_screen(SimulationScreen())

    def action_open_rejected(self) -> None:
        self.push_screen(RejectedScreen())

    def action_open_canon(self) -> None:
        self.push_screen(CanonScreen())

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "jump_to":  # `:` is a character in a text field, and not for dialogs
            return can_open(self.screen, self.focused)
        return True

    async def action_jump_to(self) -> None:
        """`:` opens the prompt under the header (mounted, then focused, before the next key
        is read: what is typed right after `:` is the prompt's)."""
        await open_jump_bar(self.screen)

    def jump_to(self, text: str) -> None:
        """Go where `text` (typed after `:`) names: a work package's screen or a screen;
        a name that is nothing is a notification."""
        where = resolve(text, lambda wanted: pages.find_work_package(self.store, wanted))
        if isinstance(where, str):
            self.say(where, severity="warning")
            return
        kind, name = where
        if kind == "wp":
            if not (isinstance(self.screen, WorkPackageScreen) and self.screen.wp_id == name):
                self.open_work_package(name)
            return
        screens: dict[str, tuple[type[Screen[Any]], Callable[[], object]]] = {
            "audit": (AuditScreen, self.action_open_audit),
            "metrics": (MetricsScreen, self.action_open_metrics),
            "doctor": (DoctorScreen, self.action_open_doctor),
            "simulation": (SimulationScreen, self.action_open_simulation),
            "rejected": (RejectedScreen, self.action_open_rejected),
            "canon": (CanonScreen, self.action_open_canon),
            "help": (HelpScreen, self.action_help),
        }
        if name == "board":
            while len(self.screen_stack) > 2:
                self.pop_screen()
        elif name == "quit":
            self.exit()
        elif not isinstance(self.screen, screens[name][0]):
            screens[name][1]()

    def open_work_package(self, wp_id: str) -> None:
        self.push_screen(WorkPackageScreen(wp_id))

    def open_stepper(self, wp_id: str) -> None:
        self.push_screen(StepperScreen(wp_id))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
