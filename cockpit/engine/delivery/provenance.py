"""The provenance of a delivery (SPEC 11.3): what the in-toto statement about the delivered
commit says, gathered from the record, and its writing (signed by the runner key, see
cockpit.engine.trust.attestation). The predicate (type `https://cockpit.dev/delivery/v1`)
holds, in snake_case as Cockpit's other documents:

- `work_package`: the WP as booked (id, title, objective, success criteria, tier);
- `claim`, `evidence`, `common_ground`: the admitted packets by id and sha256;
- `gate`: the admitting run's seq, outcome, acceptance status, mode, every predicate's
  status and detail, its validation commands and exit codes;
- `verified_tree`, `accepted_head`: the tree the gate verified and the commit delivered;
- `acceptance`: the seq, principal and signature of the review that accepted it;
- `delivery`: how (`via`), the base branch and its tip before (`base_sha`), the merge
  commit (`merge_sha`), the remote and branch, the pull request's URL, whether (and how)
  validation was re-run;
- `audit`: the seq range of the WP's events it rests on and the checkpoint that covers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.engine.delivery import facts
from cockpit.engine.trust import attestation
from cockpit.engine.trust.keys import HeldKey
from cockpit.engine.workspace.layout import Workspace
from cockpit.store.rows import WorkPackageRow


def predicate(
    wp: WorkPackageRow,
    accepted: facts.Acceptance,
    delivery: dict[str, Any],
    audit: dict[str, Any],
) -> dict[str, Any]:
    """The predicate of the statement about `accepted.head`, delivered as `delivery`."""
    return {
        "work_package": facts.booking(wp),
        **facts.packets(accepted),
        "gate": facts.gate(accepted),
        "verified_tree": accepted.tree,
        "accepted_head": accepted.head,
        "acceptance": facts.acceptance_record(accepted),
        "delivery": delivery,
        "audit": audit,
    }


def write(
    ws: Workspace,
    held: HeldKey,
    wp: WorkPackageRow,
    accepted: facts.Acceptance,
    delivery: dict[str, Any],
    audit: dict[str, Any],
) -> Path:
    """Write `.cockpit/attestations/<WP>.intoto.json` for the delivered head, replacing
    an earlier one (a pull request following a push). Returns its path."""
    assert accepted.head is not None
    document = attestation.statement(
        str(wp.get("target_repo") or wp["id"]),
        accepted.head,
        predicate(wp, accepted, delivery, audit),
    )
    return attestation.write(attestation.attestation_path(ws.state_dir, wp["id"]), document, held)
