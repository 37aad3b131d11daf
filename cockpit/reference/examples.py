"""One example entry of each kind, as a person would write it: the story of the demo's
WP-0001. `check()` parses each one with the real parser, so an example that stops being
valid stops the generator."""

from __future__ import annotations

from cockpit.domain import Kind
from cockpit.engine.entries.parse import parse_entry

# (file name, text); the names follow the queue's habit: a number that keeps a batch in
# order when listed, then the entry's id.
EXAMPLES: dict[Kind, tuple[str, str]] = {
    Kind.WORK_PACKAGE: (
        "01-WP-0001.md",
        """\
---
schema: cockpit.entry/v1
kind: work_package
id: WP-0001
work_package: WP-0001
principal: human:owner
tenant: demo
created: 2026-11-21T09:00:00Z
body:
  title: Fix off-by-one in pagination helper
  objective: page_count() returns the right number of pages for exact multiples
  success_criteria:
    - page_count(20, 10) == 2
    - checks/check_pager.py passes
  owner: agent:implementer-1
  accountable: human:owner
  tier: standard
  lane: implementation
  owned_surfaces: ["lib/pager.py", "checks/**"]
  forbidden_surfaces: ["secrets/**", ".github/**"]
  validation_commands: ["python3 checks/check_pager.py"]
  target_repo: project
  labels: [canary]
---
# Why

Users of the pager see an empty trailing page when the item count is an exact multiple
of the page size.
""",
    ),
    Kind.DISPATCH: (
        "02-DSP-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: dispatch
id: DSP-0001
work_package: WP-0001
principal: human:owner
tenant: demo
created: 2026-11-21T09:05:00Z
refs: [WP-0001]
body:
  to: agent:implementer-1
  next_gate: scope_confirmation
""",
    ),
    Kind.SCOPE_CONFIRMATION: (
        "03-SCP-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: scope_confirmation
id: SCP-0001
work_package: WP-0001
principal: agent:implementer-1
tenant: demo
created: 2026-11-21T09:10:00Z
refs: [DSP-0001]
body:
  confirmed: true
  notes: lib/pager.py and its check are enough; nothing else needs to change.
""",
    ),
    Kind.REVIEW: (
        "04-REV-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: review
id: REV-0001
work_package: WP-0001
principal: human:owner
tenant: demo
created: 2026-11-21T09:12:00Z
refs: [SCP-0001]
body:
  verdict: go
  findings: ["scope is right"]
""",
    ),
    Kind.COMMON_GROUND: (
        "05-CG-0001-v1.yaml",
        """\
schema: cockpit.entry/v1
kind: common_ground
id: CG-0001-v1
work_package: WP-0001
principal: agent:implementer-1
tenant: demo
created: 2026-11-21T09:20:00Z
refs: [REV-0001]
body:
  version: 1
  objective: page_count() returns ceil(total / size)
  accepted_facts: ["page_count(20, 10) returns 3 today"]
  open_questions: []
  assumptions: ["size is always positive"]
  success_criteria: ["page_count(20, 10) == 2"]
  stage: in_progress
""",
    ),
    Kind.EVIDENCE: (
        "06-EVD-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: evidence
id: EVD-0001
work_package: WP-0001
principal: agent:implementer-1
tenant: demo
created: 2026-11-21T09:30:00Z
refs: [CG-0001-v1]
body:
  items:
    - class: local_command_proof
      ref: checks/check_pager.py
      command: python3 checks/check_pager.py
      exit_code: 0
      log: "ok"
    - class: source_trace
      ref: lib/pager.py
  missing: []
  quality: good
""",
    ),
    Kind.CLAIM: (
        "07-CLM-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: claim
id: CLM-0001
work_package: WP-0001
principal: agent:implementer-1
tenant: demo
created: 2026-11-21T09:31:00Z
refs: [EVD-0001]
body:
  done_state: done
  common_ground:
    id: CG-0001-v1
    version: 1
    hash: b9d5bfcdadc6948d6009708282802bcee291bccb09864371fd930ee64399721c
  evidence: [EVD-0001]
  owner: agent:implementer-1
  accountable: human:owner
  unresolved_questions: []
  summary: page_count rounds up with integer arithmetic; exact multiples get no empty page.
""",
    ),
    Kind.RECOVERY: (
        "08-REC-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: recovery
id: REC-0001
work_package: WP-0002
principal: agent:implementer-2
tenant: demo
created: 2026-11-22T10:00:00Z
body:
  error_class: open_question
  failure_signal: no_open_blockers was unsatisfied
  retry_count: 0
  fallback_used: false
  next_action: ask the owner which retry limit is right, then update the runbook
  recovery_owner: agent:implementer-2
""",
    ),
    Kind.CANDIDATE: (
        "09-CAND-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: candidate
id: CAND-0001
work_package: WP-0001
principal: agent:implementer-1
tenant: demo
created: 2026-11-21T09:40:00Z
body:
  record: Pagination helpers round page counts up with integer arithmetic.
  source: WP-0001
  policy_version: 1
  evidence: [EVD-0001]
""",
    ),
    Kind.VETO: (
        "10-VETO-0001.yaml",
        """\
schema: cockpit.entry/v1
kind: veto
id: VETO-0001
work_package: WP-0003
principal: human:reviewer
tenant: demo
created: 2026-11-22T11:00:00Z
body:
  reason: the parser change needs a security review first
""",
    ),
}


def check() -> None:
    """Parse every example with the real parser; raises EntryRejected for one that is
    no longer valid (so the reference never shows a wrong example)."""
    for kind, (name, text) in EXAMPLES.items():
        parsed = parse_entry(text.encode("utf-8"), name)
        if parsed.entry.kind is not kind:
            raise ValueError(f"the example of {kind.value} is a {parsed.entry.kind.value}")
