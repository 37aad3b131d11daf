"""Dialogs, one per file: each is a ModalScreen[T] that gathers what it asks for and
returns it through dismiss(); whoever opened it makes the engine call. Nothing is decided
here."""

from cockpit.screens.modals.cancel import ReasonModal
from cockpit.screens.modals.comment import CommentModal
from cockpit.screens.modals.confirm import ConfirmModal
from cockpit.screens.modals.deliver import DeliverModal
from cockpit.screens.modals.dismiss import DismissModal
from cockpit.screens.modals.dispatch import DispatchModal
from cockpit.screens.modals.form import ActionModal
from cockpit.screens.modals.override import OverrideModal
from cockpit.screens.modals.recover import RecoverModal
from cockpit.screens.modals.review import ReviewModal
from cockpit.screens.modals.rollback import RollbackModal
from cockpit.screens.modals.signing_key import SigningKeyModal
from cockpit.screens.modals.text import TextModal
from cockpit.screens.modals.verify_result import VerifyResultModal
from cockpit.screens.modals.veto import VetoModal

__all__ = [
    "ActionModal",
    "CommentModal",
    "ConfirmModal",
    "DeliverModal",
    "DismissModal",
    "DispatchModal",
    "OverrideModal",
    "ReasonModal",
    "RecoverModal",
    "ReviewModal",
    "RollbackModal",
    "SigningKeyModal",
    "TextModal",
    "VerifyResultModal",
    "VetoModal",
]
