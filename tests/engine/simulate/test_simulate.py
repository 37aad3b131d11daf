"""`cockpit simulate` (issue 16) on real scratch workspaces, through the real queue, runner
and gate: one seed gives one report, byte for byte; small runs match counts worked out by
hand; with no faults the gate admits what the ungated baseline admits; the gate admits no
false completion of the kinds it is built to catch, and the report names those it let
through instead of hiding them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import set_policy
from helpers.workspace import Env

from cockpit.engine.simulate import faults, last_report, markdown, simulate
from cockpit.errors import InputError

ALL = [f"WP-{n:05d}" for n in range(1, 7)]


def run(env: Env, tasks: int, spec: str, seed: int = 1, agents: int = 2) -> dict[str, Any]:
    return simulate(env.ws, tasks, agents, spec, seed)


def test_one_seed_gives_byte_identical_reports(env: Env) -> None:
    spec = ",".join(f"{kind}=0.1" for kind in faults.FAULTS)
    first, second = run(env, 12, spec, seed=5), run(env, 12, spec, seed=5)
    assert markdown(first) == markdown(second)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first != run(env, 12, spec, seed=6)  # and the seed matters


def test_with_no_faults_every_wp_is_admitted_first_time_gated_and_ungated(env: Env) -> None:
    doc = run(env, 6, "none")
    # Worked out by hand: six honest first claims, each admitted at once by the gate.
    assert doc["admitted"] == {"gated": {"num": 6, "den": 6}, "ungated": {"num": 6, "den": 6}}
    assert doc["admitted_work_packages"] == ALL  # the same WPs as the ungated baseline
    assert doc["false_completions_admitted"] == {
        "gated": {"num": 0, "den": 6},
        "ungated": {"num": 0, "den": 6},
    }
    assert doc["true_completions_withheld"] == {
        "gated": {"num": 0, "den": 6},
        "ungated": {"num": 0, "den": 6},
    }
    assert doc["recovery_cycles_per_wp"]["gated"] == {"num": 0, "den": 6}
    assert doc["gate_errors"] == {"num": 0, "den": 6}
    assert doc["left"] == []
    assert doc["claim_to_decision_rounds"] == {"p50": 0, "p95": 0, "count": 6}
    assert doc["advisory"]["agreement"] == {"num": 6, "den": 6}
    assert doc["not_caught"] == []
    assert all(row["attempts"] == 0 for row in doc["by_fault"].values())
    # Tiers of WP-1..6: standard, light, deep, light, standard, light (drive.tier_of).
    tiers = doc["events_per_wp_by_tier"]
    assert [(tier, counts["gated"]["den"]) for tier, counts in tiers.items()] == [
        ("deep", 1),
        ("light", 3),
        ("standard", 2),
    ]
    for counts in tiers.values():  # the gate's own events are what the gated run adds
        assert counts["gated"]["num"] > counts["ungated"]["num"]


def test_open_questions_on_every_claim_are_withheld_three_times_each(env: Env) -> None:
    doc = run(env, 4, "open_questions=1")
    # By hand: each WP makes its three attempts, each blocked on no_open_blockers, with a
    # recovery between them (two each); the ungated baseline admits all four first claims.
    assert doc["admitted"] == {"gated": {"num": 0, "den": 4}, "ungated": {"num": 4, "den": 4}}
    assert doc["false_completions_admitted"] == {
        "gated": {"num": 0, "den": 0},
        "ungated": {"num": 4, "den": 4},
    }
    assert doc["recovery_cycles_per_wp"]["gated"] == {"num": 8, "den": 4}
    assert doc["true_completions_withheld"]["gated"] == {"num": 0, "den": 0}
    assert doc["by_fault"]["open_questions"] | {"caught_by": None} == {
        "attempts": 12,
        "admitted_gated": 0,
        "admitted_ungated": 4,
        "caught_by": None,
    }
    # Every claim with open questions is predicted risky: the advisory is right each time.
    assert doc["advisory"] == {
        "agreement": {"num": 12, "den": 12},
        "false_success": {"num": 0, "den": 0},
        "blocked_precision": {"num": 12, "den": 12},
    }
    assert doc["claim_to_decision_rounds"]["count"] == 0


def test_a_claim_by_someone_else_never_reaches_the_gate(env: Env) -> None:
    doc = run(env, 3, "non_assignee=1")
    assert doc["admitted"]["gated"] == {"num": 0, "den": 3}
    assert doc["by_fault"]["non_assignee"]["attempts"] == 9
    assert doc["recovery_cycles_per_wp"]["gated"] == {"num": 0, "den": 3}  # refused, not withheld
    assert doc["advisory"]["agreement"] == {"num": 0, "den": 0}  # no claim was ingested


CATCHABLE = {
    "premature_claim": "0.08",
    "weak_evidence": "0.08",
    "stale_ground": "0.08",
    "out_of_scope": "0.08",
    "failing_validation": "0.08",
    "open_questions": "0.08",
    "non_assignee": "0.08",
    "replayed_entry": "0.08",
    "forged_principal": "0.08",
}


def test_one_seed_gives_one_report_where_signatures_are_required_and_rounds_are_slow(
    env: Env,
) -> None:
    """An unsigned claim is refused in its own round however long the round takes: the
    queue's retry of young entries never depends on the simulator's speed."""
    set_policy(env, signatures="required")
    spec = "forged_principal=0.5"
    quick = run(env, 8, spec, seed=5)
    slow = simulate(env.ws, 8, 2, spec, 5, progress=lambda _round, _settled: time.sleep(1.2))
    assert json.dumps(quick, sort_keys=True) == json.dumps(slow, sort_keys=True)


def test_the_owner_meets_the_policys_tier_requirements(env: Env) -> None:
    """A light tier that requires a diagnostic review and a rollback plan gets both from the
    simulated owner: honest work is admitted, never withheld for the simulator's omission."""
    path = env.root / "cockpit.yaml"
    text = path.read_text()
    old = "light:    {evidence_floor: source_trace}"
    assert old in text
    path.write_text(
        text.replace(
            old,
            "light:    {evidence_floor: source_trace, require_diagnostic_review: true, "
            "require_rollback_plan: true}",
        )
    )
    env.reload()
    doc = run(env, 6, "none")
    assert doc["admitted"]["gated"] == {"num": 6, "den": 6} and doc["left"] == []


def test_a_booking_the_policy_refuses_is_named_and_the_run_ends(env: Env) -> None:
    set_policy(env, max_entry_age_s=1)  # entries are ingested half a simulated hour later
    set_policy(env, signatures="required")
    doc = run(env, 3, "none")
    assert doc["admitted"]["gated"] == {"num": 0, "den": 3}
    assert doc["left"] == [
        {"work_package": wp, "why": "booking refused: stale_entry"} for wp in ALL[:3]
    ]
    assert "3 WPs were not driven to a decision: WP-00001 (booking refused" in markdown(doc)


@pytest.mark.parametrize("signatures", ["optional", "required"])
def test_the_gate_admits_no_false_completion_it_is_built_to_catch(
    env: Env, signatures: str
) -> None:
    if signatures == "required":
        set_policy(env, signatures="required")
    spec = ",".join(f"{k}={v}" for k, v in CATCHABLE.items())
    doc = run(env, 48, spec, seed=11, agents=3)
    enacted = {kind for kind, row in doc["by_fault"].items() if row["attempts"]}
    assert enacted == set(faults.FAULTS), enacted
    admitted = {kind: row["admitted_gated"] for kind, row in doc["by_fault"].items()}
    # What the policy cannot see, it lets through, and says so by kind and tier: a premature
    # claim on a light WP (nothing to re-run), and, where signatures are optional, an
    # unsigned claim in the assignee's name (on any tier once an earlier attempt left work
    # that passes). Every other kind: none admitted.
    blind = {"premature_claim"} | ({"forged_principal"} if signatures == "optional" else set())
    assert {kind for kind, n in admitted.items() if n} <= blind
    for item in doc["not_caught"]:
        assert item["fault"] in blind and item["admitted"] == admitted[item["fault"]]
        if item["fault"] == "premature_claim":
            assert set(item["by_tier"]) == {"light"}
    said = markdown(doc)
    for item in doc["not_caught"]:
        assert f"- **{item['fault']}**: {item['admitted']} admitted" in said
    ungated = doc["false_completions_admitted"]["ungated"]["num"]
    gated = doc["false_completions_admitted"]["gated"]["num"]
    assert gated == sum(admitted.values()) < ungated


def test_bad_arguments_are_one_sentence(env: Env) -> None:
    for spec, said in [
        ("bogus=1", "is not KIND=RATE"),
        ("open_questions=2", "must be between 0 and 1"),
        ("open_questions=0.6,stale_ground=0.6", "add up to more than 1"),
        ("open_questions=x", "is not a number"),
    ]:
        with pytest.raises(InputError, match=said):
            faults.parse_spec(spec)
    with pytest.raises(InputError, match="--tasks must be between 1"):
        run(env, 0, "none")
    result = env.cli("simulate", "--agents", "0", "--tasks", "2")
    assert result.code == 2
    assert result.err.strip() == "cockpit: --agents must be between 1 and 1000, not 0."
    nowhere = env.cli("simulate", "-n", "1", "--report", str(env.root / "missing" / "r.md"))
    assert nowhere.code == 2
    assert nowhere.err.strip().endswith("missing is not a directory.")


def test_the_command_prints_writes_and_keeps_the_report(env: Env, tmp_path: Path) -> None:
    target = tmp_path / "sim.md"
    result = env.cli("simulate", "-n", "4", "-k", "2", "--seed", "9", "--report", str(target))
    assert result.code == 0, result.err
    text = target.read_text(encoding="utf-8")
    assert result.out.startswith(text)  # the same Markdown, then the line saying where
    assert "| false completions admitted (of admitted) |" in text
    kept = last_report(env.ws)
    assert kept is not None and markdown(kept) == text
    as_json = env.cli("simulate", "-n", "4", "-k", "2", "--seed", "9", "--json")
    assert as_json.code == 0 and as_json.json() == kept
    assert env.events() == []  # nothing was written to this workspace's record
