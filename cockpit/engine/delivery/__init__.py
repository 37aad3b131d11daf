"""Delivery plane (SPEC 11.3): taking a complete WP's verified head to where it belongs
(merge queue, push, pull request), with its provenance attestation.

`plan` says what a delivery would do (the TUI's confirmation); `deliver` does it, as the
owner's signed action. Modules: `plan` (what and where), `merge` (the merge queue),
`push` (push, and the pull request through the GitHub CLI), `body` (the pull request's
text, from the record), `facts` (what the record says of the acceptance), `provenance`
(the in-toto statement's predicate), `deliver` (the action).

It sits in the layer of the runner and the actions (which it does not import): it uses
the gate (validation commands and their sandbox), repo (git), trust (signed actions,
checkpoints, the attestation) and the store.
"""

from cockpit.engine.delivery.deliver import Delivered, deliver
from cockpit.engine.delivery.plan import Commit, Plan, plan

__all__ = ["Commit", "Delivered", "Plan", "deliver", "plan"]
