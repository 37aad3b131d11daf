"""Candidate intake: what a filed candidate's event carries beyond the entry (its
redaction state, the hash of its record for anti-replay against canon, the tenant it was
filed under). A secret never reaches an event: the record is stored redacted."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cockpit.engine.canon import redaction
from cockpit.engine.config.model import Config
from cockpit.engine.entries.models import CandidateBody, ParsedEntry


def candidate_payload(parsed: ParsedEntry, body: CandidateBody, config: Config) -> dict[str, Any]:
    """What a candidate's event carries beyond the entry: its redaction state, the hash of
    its record (for anti-replay against canon) and the workspace tenant it was filed
    under. A record with secrets is stored redacted (entry and raw text alike), so no
    secret reaches an event; the entry's sha256 stays the hash of the submitted bytes."""
    hits = redaction.scan(body.record)
    extra_hits = redaction.scan(body.description or "")
    raw_hits = redaction.scan(parsed.raw)
    stored = parsed.entry.to_json()
    update: dict[str, Any] = {
        "record_sha256": hashlib.sha256(body.record.encode("utf-8")).hexdigest(),
        "tenant": config.tenant,
        "redaction": {
            "clean": not hits,
            "kinds": sorted({h.kind for h in hits}),
            "detail": redaction.describe(hits),
            "scanner": redaction.SCANNER_VERSION,
        },
    }
    if hits or extra_hits or raw_hits:
        stored["body"]["record"] = redaction.redact(body.record, hits)
        if body.description:
            stored["body"]["description"] = redaction.redact(body.description, extra_hits)
        update["entry"] = stored
        raw = redaction.redact(parsed.raw, raw_hits)
        # The raw text quotes the record as YAML: a secret found in the record may stand
        # there escaped, where the scanner's patterns do not see it. Remove it by value.
        found = [(body.record, h) for h in hits]
        found += [(body.description or "", h) for h in extra_hits]
        for text, hit in found:
            secret = text[hit.start : hit.end]
            for form in {secret, json.dumps(secret, ensure_ascii=False)[1:-1]}:
                if form:
                    raw = raw.replace(form, f"[REDACTED:{hit.kind}]")
        update["raw"] = raw
        update["redacted"] = True
    return update
