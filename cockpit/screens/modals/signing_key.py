"""The signing key: asked once per session, when an action needs a signature and neither
ssh-agent nor $COCKPIT_SIGNING_KEY holds a key of the acting principal. It returns the
private key file's path (or, where signatures are optional, the choice to act unsigned);
whoever opened it reads the key and signs."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from cockpit.screens.context import cockpit
from cockpit.screens.modals.form import dialog_box, dialog_footer
from cockpit.screens.text import plain


class ActUnsigned:
    """The answer "act unsigned for this session" (offered only under `optional`)."""


UNSIGNED = ActUnsigned()
KeyAnswer = Path | ActUnsigned | None


class SigningKeyModal(ModalScreen[KeyAnswer]):
    """Asks for the private key file that signs the session's actions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "sign", id="cockpit.signing.submit"),
        Binding("escape", "cancel", "back", id="cockpit.signing.cancel"),
    ]

    def __init__(self, principal: str, *, required: bool) -> None:
        super().__init__()
        self.principal = principal
        self.required = required

    def compose(self) -> ComposeResult:
        with dialog_box():
            title = Text("Signing key · ", style="bold")
            title.append_text(plain(self.principal, "bold #facc15"))
            yield Label(title, classes="dialog-title")
            need = (
                "Signatures are required: every action is signed"
                if self.required
                else "Your actions can be signed"
            )
            yield Label(
                f"{need} with one of {self.principal}'s keys in cockpit.yaml. Neither "
                "ssh-agent nor $COCKPIT_SIGNING_KEY holds one."
            )
            yield Label("Private key file (asked once per session):")
            yield Input(placeholder="~/.ssh/id_ed25519", id="path")
            yield Label(
                Text(
                    "A key with a passphrase cannot be typed here: add it to ssh-agent "
                    "(ssh-add) and act again.",
                    style="#9ca3af",
                )
            )
            with Horizontal(classes="buttons"):
                yield Label("", id="problem", classes="problem")
                yield Button("Sign", variant="primary", id="ok")
                if not self.required:
                    yield Button("Act unsigned", id="unsigned")
                yield Button("Back (esc)", id="cancel")
        yield dialog_footer()

    def on_mount(self) -> None:
        cockpit(self).steady_cursors(self)
        self.query_one("#path", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_submit()
        elif event.button.id == "unsigned":
            self._answer(UNSIGNED)
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            problem = Text("Name the private key file.", style="bold #ef4444")
            self.query_one("#problem", Label).update(problem)
            return
        self._answer(Path(path))

    def action_cancel(self) -> None:
        self._answer(None)

    def _answer(self, answer: KeyAnswer) -> None:
        if self.app.screen is self:  # a second Enter after dismiss must not pop the board
            self.dismiss(answer)
