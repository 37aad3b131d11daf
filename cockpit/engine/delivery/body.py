"""The pull request's body, written from the record (SPEC 11.3): the objective and success
criteria, the gate's predicates, the evidence with its hashes, the reviewers and their
verdicts, the commits, the audit seq range and the signed checkpoint that covers it, and
the provenance attestation.

Text an agent wrote (commit subjects, the claim's summary, predicate details naming its
files and entries, findings) goes only inside a fenced code block whose fence is longer
than any run of backticks in it, so it cannot close the fence and turn into Markdown
(links, mentions, images, HTML) on the forge. Control and bidirectional characters are
shown as visible escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cockpit.engine.delivery import facts
from cockpit.engine.delivery.plan import Plan
from cockpit.engine.text import clip, literal
from cockpit.store import Store
from cockpit.store.rows import WorkPackageRow

_TICKS = re.compile(r"`+")


def _longest_ticks(text: str) -> int:
    """The length of the longest run of backticks in `text` (0: none)."""
    return max((len(m.group()) for m in _TICKS.finditer(text)), default=0)


def fence(text: str, info: str = "text") -> str:
    """`text` as a fenced code block it cannot escape: the fence is one backtick longer
    than the longest run of backticks in it (at least three)."""
    shown = literal(text, keep_newlines=True)
    bar = "`" * max(3, _longest_ticks(shown) + 1)
    return f"{bar}{info}\n{shown}\n{bar}"


def _rows(rows: Iterable[tuple[str, ...]]) -> str:
    listed = [tuple(str(c) for c in row) for row in rows]
    if not listed:
        return "(none)"
    widths = [max(len(row[i]) for row in listed) for i in range(len(listed[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in listed
    )


def _code(text: object) -> str:
    """`text` as an inline code span it cannot escape."""
    shown = literal(text)
    longest = _longest_ticks(shown)
    bar = "`" * (longest + 1)
    return f"{bar} {shown} {bar}" if longest else f"`{shown}`"


def _plain(text: object) -> str:
    """Owner-written text (the booking) on one line, its Markdown specials escaped."""
    shown = literal(text)
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~])", r"\\\1", shown)


TITLE_MAX = 256  # GitHub's limit on a pull request's title
BODY_MAX = 65_000  # under GitHub's 65,536 characters for a pull request's body
_CUT = (
    "[… cut: {n} characters of the agent's text above were left out, to keep this body "
    "under GitHub's limit; the audit record holds them]"
)


def pull_request_title(wp: WorkPackageRow) -> str:
    return clip(f"{wp['id']}: {literal(wp['title'])}", TITLE_MAX)


def pull_request_body(
    store: Store,
    wp: WorkPackageRow,
    accepted: facts.Acceptance,
    planned: Plan,
    audit: dict[str, Any],
    attestation: str | None,
) -> str:
    """The body of the pull request that delivers `wp` (`audit`: its seq range and the
    checkpoint written before delivering; `attestation`: where the provenance is). At
    most BODY_MAX characters: the agent's texts are cut first, the longest first, each
    cut named below its block; only if the rest is still too long is the end cut."""
    gate = facts.gate(accepted)
    agent = {
        "predicates": _rows(
            (name, r.get("status") or "", r.get("detail") or "")
            for name, r in gate["predicates"].items()
        ),
        "reviews": _review_text(facts.reviews(store, wp["id"])),
        "summary": facts.claim_summary(store, accepted) or "",
        "commits": "\n".join(
            [f"{c.sha[:12]}  {c.subject}" for c in planned.commits]
            + ([f"… and {planned.more_commits} more"] if planned.more_commits else [])
        ),
    }
    texts = {name: literal(text, keep_newlines=True) for name, text in agent.items()}
    cut: dict[str, int] = {}
    whole = _compose(wp, accepted, planned, audit, attestation, texts, cut)
    for _ in texts:
        over = len(whole) - BODY_MAX
        if over <= 0:
            return whole
        name = max(texts, key=lambda n: len(texts[n]))
        if not texts[name]:
            break
        keep = max(len(texts[name]) - over - len(_CUT) - 20, 0)
        cut[name] = cut.get(name, 0) + len(texts[name]) - keep
        texts[name] = texts[name][:keep]
        whole = _compose(wp, accepted, planned, audit, attestation, texts, cut)
    if len(whole) <= BODY_MAX:
        return whole
    note = "\n\n[… cut: the rest was left out, to keep this body under GitHub's limit]\n"
    return whole[: BODY_MAX - len(note)] + note


def _compose(
    wp: WorkPackageRow,
    accepted: facts.Acceptance,
    planned: Plan,
    audit: dict[str, Any],
    attestation: str | None,
    texts: dict[str, str],
    cut: dict[str, int],
) -> str:
    def block(name: str, empty: str = "(none)") -> str:
        shown = fence(texts[name] or empty)
        return shown + (f"\n\n{_CUT.format(n=cut[name])}" if cut.get(name) else "")

    gate = facts.gate(accepted)
    parts = [
        f"## {_plain(pull_request_title(wp))}",
        "Written by Cockpit from the audit record. Text an agent wrote is shown only in "
        "code blocks.",
        f"**Objective:** {_plain(wp.get('objective') or '-')}",
        "**Success criteria:**",
        "\n".join(f"- {_plain(c)}" for c in wp.get("success_criteria") or []) or "- (none)",
        "### The gate",
        f"The gate admitted the claim at seq {gate['seq']} (mode {_plain(gate.get('mode'))}): "
        f"outcome {_plain(gate.get('outcome'))}, {_plain(gate.get('acceptance_status'))}.",
        block("predicates"),
        "### Evidence",
        fence(_rows(_packet_rows(facts.packets(accepted)))),
        "### Reviews",
        block("reviews"),
    ]
    if texts["summary"] or cut.get("summary"):
        parts += ["### The claim's summary (the agent's words)", block("summary")]
    parts += [
        "### Commits",
        block("commits"),
        "### The record",
        "\n".join(_record_lines(planned, accepted, audit, attestation)),
    ]
    return "\n\n".join(parts) + "\n"


def _packet_rows(found: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    claim = found.get("claim") or {}
    if claim:
        rows.append(("claim", str(claim.get("id")), f"sha256 {claim.get('sha256')}"))
    for item in found.get("evidence") or []:
        rows.append(("evidence", str(item.get("id")), f"sha256 {item.get('sha256')}"))
    ground = found.get("common_ground") or {}
    if ground:
        name = f"{ground.get('id')} v{ground.get('version')}"
        rows.append(("common ground", name, f"sha256 {ground.get('sha256')}"))
    return rows


def _review_text(reviews: list[dict[str, Any]]) -> str:
    """One aligned line per review (who, verdict, signed by), its findings below it."""
    heads = _rows(
        (
            f"seq {r['seq']}",
            str(r["principal"]),
            str(r["verdict"]),
            f"signed by {r['signer']}" if r.get("signer") else "unsigned",
        )
        for r in reviews
    ).splitlines()
    lines = []
    for head, review in zip(heads, reviews, strict=False):
        lines.append(head)
        lines += [f"    finding: {finding}" for finding in review["findings"]]
    return "\n".join(lines) or "(none)"


def _record_lines(
    planned: Plan, accepted: facts.Acceptance, audit: dict[str, Any], attestation: str | None
) -> list[str]:
    checkpoint = audit.get("checkpoint") or {}
    signed = (
        f"the signed checkpoint {_code(checkpoint.get('note'))} (origin "
        f"{_code(checkpoint.get('origin'))})"
        if checkpoint.get("note")
        else f"the checkpoint {_code(checkpoint.get('file'))} (not signed: no runner key)"
    )
    accepting = facts.acceptance_record(accepted)
    lines = [
        f"- Audit record: seq {audit['first_seq']} to {audit['last_seq']}, covered by "
        f"{signed}: size {checkpoint.get('size')}, Merkle root "
        f"{_code(checkpoint.get('merkle_root'))}.",
        f"- Verified head {_code(planned.head)} (tree {_code(accepted.tree)}), accepted at "
        f"seq {accepting['seq']} by {_code(accepting['principal'])}.",
        f"- Base {_code(planned.base)} at {_code(planned.base_sha or '-')}.",
    ]
    if attestation:
        lines.append(
            f"- Provenance: {_code(attestation)}, an in-toto Statement v1 in a DSSE "
            "envelope signed by the runner key (`cockpit attest verify` checks it)."
        )
    else:
        lines.append("- Provenance: none (runner.key names no key to sign it with).")
    return lines
