"""Signed actions (SPEC 10.1): what a person does in the CLI or the TUI is signed in namespace
`cockpit-action` over the canonical JSON of `{action, work_package, args, principal,
workspace, at, ts}`, where `at` is the `event_id` of the WP's latest event when the action
was prepared (for an action on no work package, the log's latest event).

Under `signatures: required` an action is refused (nothing recorded) when it is unsigned,
signed by a key that is not the acting principal's, its `at` is no longer the WP's latest
event, or its `ts` is more than five minutes from the runner's clock. `--as` says whom you
claim to be; the key proves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cockpit.engine.trust import signer, sshsig
from cockpit.engine.workspace.layout import Workspace
from cockpit.errors import Refused
from cockpit.store import Store, canonical_json
from cockpit.store.events import format_ts

MAX_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedAction:
    """An action document and the armored SSHSIG made over its canonical JSON."""

    document: dict[str, Any]
    sig: str


# Given the document to sign, a caller's signer returns it signed, or None when it has no
# key (an unsigned action: refused under `required`, marked unsigned under `optional`).
Sign = Callable[[dict[str, Any]], SignedAction | None]


def latest_event_id(store: Store, wp_id: str | None) -> str | None:
    """What an action is anchored at: the WP's latest event; for an action on no WP
    (`worktrees approve-setup`, `worktrees prune`), the latest event of the whole log,
    so it too is refused once anything was recorded after it was prepared."""
    if wp_id is None:
        latest = store.find_events(limit=1)
        return latest[-1].event_id if latest else None
    events = store.events(wp_id)
    return events[-1].event_id if events else None


def document(
    ws: Workspace, store: Store, action: str, wp_id: str | None, args: dict[str, Any], by: str
) -> dict[str, Any]:
    """The document to sign for `action` by `by`, anchored at the WP's latest event."""
    return {
        "action": action,
        "work_package": wp_id,
        "args": args,
        "principal": by,
        "workspace": ws.config.workspace,
        "at": latest_event_id(store, wp_id),
        "ts": format_ts(store.clock()),
    }


def message(doc: dict[str, Any]) -> bytes:
    return canonical_json(doc)


def sign_with(
    ws: Workspace,
    store: Store,
    sign: Sign | None,
    action: str,
    wp_id: str | None,
    args: dict[str, Any],
    by: str,
) -> SignedAction | None:
    """Prepare the document and have `sign` sign it (outside any transaction: a person
    may need to touch a hardware key)."""
    if sign is None:
        return None
    return sign(document(ws, store, action, wp_id, args, by))


def check(
    ws: Workspace,
    store: Store,
    signed: SignedAction | None,
    action: str,
    wp_id: str | None,
    args: dict[str, Any],
    by: str,
) -> dict[str, Any]:
    """Inside the action's transaction: the `payload.signature` its events carry. Raises
    Refused (one sentence) when the signature does not hold and signatures are required;
    with `optional`, a missing signature is recorded as unsigned, a wrong one refused."""
    required = ws.config.signatures_required
    if signed is None:
        if required:
            raise Refused(
                f"signatures are required: {action} as {by} must be signed with one of "
                f"{by}'s keys (--key FILE, $COCKPIT_SIGNING_KEY or ssh-agent)"
            )
        return {"unsigned": True}
    expected = {
        "action": action,
        "work_package": wp_id,
        "args": args,
        "principal": by,
        "workspace": ws.config.workspace,
    }
    doc = signed.document
    for key, value in expected.items():
        if doc.get(key) != value:
            raise Refused(f"the signed action's {key} is {doc.get(key)!r}, not {value!r}")
    try:
        signature = sshsig.parse(signed.sig)
        sshsig.verify(signature, message(doc), sshsig.ACTION)
    except sshsig.SignatureError as exc:
        raise Refused(f"the action's signature does not hold: {exc}") from None
    if signature.key.blob not in {k.blob for k in ws.config.keys_of(by)}:
        raise Refused(f"the action is signed by {signature.signer}, which is not a key of {by}")
    if doc.get("at") != latest_event_id(store, wp_id):
        what = wp_id if wp_id is not None else "the record"
        raise Refused(f"{what} changed since the action was signed: prepare it again")
    try:
        when = datetime.fromisoformat(str(doc.get("ts")).replace("Z", "+00:00"))
    except ValueError:
        raise Refused("the signed action's ts is not a timestamp") from None
    if abs(store.clock() - when) > MAX_SKEW:
        raise Refused("the signed action's ts is more than 5 minutes from the runner's clock")
    return {**sshsig.describe(signature), "signed": doc}


def person_signer(ws: Workspace, principal: str, key: Path | None = None) -> Sign:
    """A Sign for a person at a terminal: through ssh-keygen with `key`, else
    $COCKPIT_SIGNING_KEY, else the principal's ssh-agent key; None (unsigned) when no key
    can be found, for `check` to refuse under `required`."""

    def sign(doc: dict[str, Any]) -> SignedAction | None:
        try:
            source = signer.choose_key(ws.config, principal, key, workspace=ws.root)
        except Refused:
            return None
        return SignedAction(doc, signer.sign(message(doc), sshsig.ACTION, source))

    return sign
