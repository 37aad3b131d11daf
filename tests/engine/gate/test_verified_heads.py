"""What was verified is what is accepted (SPEC 11.1) and comments sit on lines of the
change (SPEC 11.2), on real git worktrees through the real runner and queue: each gate run
records the commit holding the content it measured (and keeps it under
refs/cockpit/verified/<WP>/<seq>); a review names that head; a comment off the change is
`bad_ref` for an entry and refused (exit 1) by the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers.gate import Flow, add_worktree, admitted, scoped_flow, verdicts
from helpers.git import commit_all, git, make_repo
from helpers.workspace import Env, rejection_reason

from cockpit.engine.actions import human
from cockpit.engine.gate.change import change_of
from cockpit.engine.repo import verified
from cockpit.errors import Refused

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def _ref(repo: Path, name: str) -> str | None:
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", name)
    except Exception:
        return None


def _started_seq(env: Env) -> int:
    return [e.seq for e in env.events("WP-1") if e.type == "verify_started"][-1]


def test_a_clean_worktree_is_verified_at_its_own_head(env: Env, tmp_path: Path) -> None:
    flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('committed')\n")
    commit_all(worktree, "the work")
    flow.claim()
    payload = admitted(env)
    head = git(worktree, "rev-parse", "HEAD")
    assert payload["head"] == head  # the branch's HEAD itself: nothing new was made
    assert payload["tree"] == payload["worktree_tree"] == git(worktree, "rev-parse", "HEAD^{tree}")
    name = f"refs/cockpit/verified/WP-1/{_started_seq(env)}"
    assert payload["verified_ref"] == name
    assert _ref(tmp_path / "repo", name) == head
    assert git(worktree, "rev-parse", "HEAD") == head != base


def test_a_dirty_worktree_is_verified_as_a_commit_on_top_of_its_head(
    env: Env, tmp_path: Path
) -> None:
    flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('committed')\n")
    commit_all(worktree, "the work")
    tip = git(worktree, "rev-parse", "HEAD")
    (worktree / "src/app.py").write_text("print('then edited')\n")
    (worktree / "src/new.py").write_text("# untracked\n")
    status_before = git(worktree, "status", "--porcelain")
    flow.claim()
    payload = admitted(env)
    head = payload["head"]
    assert head != tip
    assert git(worktree, "rev-parse", f"{head}^") == tip  # on top of the branch's HEAD
    assert git(worktree, "log", "-1", "--format=%an <%ae>", head) == "Cockpit <cockpit@localhost>"
    assert git(worktree, "rev-parse", f"{head}^{{tree}}") == payload["tree"]
    assert git(worktree, "show", f"{head}:src/app.py") == "print('then edited')"
    assert git(worktree, "show", f"{head}:src/new.py") == "# untracked"
    names = git(worktree, "diff", "--name-only", base, head).splitlines()
    assert names == ["src/app.py", "src/new.py"]
    # The worktree, its branch and its index are as the agent left them.
    assert git(worktree, "rev-parse", "HEAD") == tip
    assert git(worktree, "status", "--porcelain") == status_before
    assert _ref(tmp_path / "repo", payload["verified_ref"]) == head


def test_a_lost_ref_is_put_back_from_the_record(env: Env, tmp_path: Path) -> None:
    flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('edited')\n")
    flow.claim()
    payload = admitted(env)
    repo = tmp_path / "repo"
    git(repo, "update-ref", "-d", payload["verified_ref"])
    with env.store() as store:
        assert verified.keep_refs(repo, store, "WP-1") == [payload["verified_ref"]]
    assert _ref(repo, payload["verified_ref"]) == payload["head"]


def _review_entry(flow: Flow, **body: Any) -> str:
    """Drop a review entry (not swept); its file name."""
    review_id = flow.new_id("REV")
    flow.drop("review", review_id, "human:reviewer", body, sweep=False)
    return f"{review_id}.yaml"


def test_an_acceptance_must_name_the_latest_verified_head(env: Env, tmp_path: Path) -> None:
    flow, worktree, _base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('first')\n")
    flow.claim(unresolved_questions=["is it right?"])  # blocked: the first head measured
    first = verdicts(env)[-1].payload["head"]
    flow.recovery()
    (worktree / "src/app.py").write_text("print('second')\n")
    flow.claim()
    latest = admitted(env)["head"]
    assert first and latest and first != latest

    name = _review_entry(flow, verdict="accepted", head=first)
    summary = env.sweep()
    assert summary.sweep.rejected == 1
    reason = rejection_reason(env, name)
    assert reason["code"] == "bad_ref" and latest in reason["message"]
    name = _review_entry(flow, verdict="accepted", head=latest[:12])  # not named in full
    env.sweep()
    assert rejection_reason(env, name)["code"] == "bad_ref"
    cli = env.cli("review", "WP-1", "--verdict", "accepted", "--head", first, "--as",
                  "human:reviewer")  # fmt: skip
    assert cli.code == 1 and "latest verified head" in cli.err
    with env.store() as store, pytest.raises(Refused):
        human.review(env.ws, store, "WP-1", "accepted", [], "human:reviewer", head=first)
    assert flow.state() == "accepted"

    cli = env.cli("review", "WP-1", "--verdict", "accepted", "--as", "human:reviewer", "--json")
    assert cli.code == 0, cli.err
    assert cli.json()["payload"]["head"] == latest  # `cockpit review` names it itself
    assert flow.state() == "complete"
    with env.store() as store:
        assert verified.verified_head_at_acceptance(store, "WP-1") == latest


def test_a_complete_wps_change_is_the_one_accepted(env: Env, tmp_path: Path) -> None:
    flow, worktree, base = scoped_flow(env, tmp_path)
    (worktree / "src/app.py").write_text("print('accepted')\n")
    flow.claim()
    head = admitted(env)["head"]
    accepted = env.cli("review", "WP-1", "--verdict", "accepted", "--as", "human:reviewer")
    assert accepted.code == 0, accepted.err
    (worktree / "src/app.py").write_text("print('changed after acceptance')\n")
    (worktree / "src/late.py").write_text("late\n")
    shown = env.cli("diff", "WP-1", "--json").json()
    assert shown["source"] == "verified" and shown["head"] == head and shown["base"] == base
    assert [f["path"] for f in shown["files"]] == ["src/app.py"]
    assert shown["files"][0]["hunks"][0]["lines"][-1]["text"] == "print('accepted')"


def _accepted_with_a_change(env: Env, tmp_path: Path) -> tuple[Flow, Path]:
    """A WP admitted with one line of a 20-line file of its base changed."""
    repo = tmp_path / "repo"
    repo.mkdir()
    make_repo(repo)
    lines = "".join(f"line {n}\n" for n in range(1, 21))
    (repo / "src/long.py").write_text(lines)
    commit_all(repo, "a long file")
    base = git(repo, "rev-parse", "HEAD")
    flow = Flow(env).book(
        target_repo=str(repo), base_ref=base, owned_surfaces=["src/**"], forbidden_surfaces=[]
    )
    worktree = add_worktree(env, repo, base)
    flow.ground()
    flow.evidence()
    (worktree / "src/long.py").write_text(lines.replace("line 10\n", "line ten\n"))
    flow.claim()
    admitted(env)
    return flow, worktree


def test_comments_are_recorded_with_their_head_and_code(env: Env, tmp_path: Path) -> None:
    flow, _worktree = _accepted_with_a_change(env, tmp_path)
    head = verdicts(env)[-1].payload["head"]
    result = env.cli("review", "WP-1", "--verdict", "revision_required", "--as",
                     "human:reviewer", "--comment", "src/long.py:10:spell it out: please",
                     "--json")  # fmt: skip
    assert result.code == 0, result.err
    payload = result.json()["payload"]
    assert payload["head"] == head
    [comment] = payload["comments"]
    assert comment["path"] == "src/long.py" and comment["side"] == "new"
    assert comment["text"] == "spell it out: please"  # the text may hold colons
    assert [c["line"] for c in comment["context"]] == [7, 8, 9, 10, 11, 12, 13]
    assert comment["context"][3] == {"line": 10, "text": "line ten"}
    signed = payload["signature"]
    assert signed.get("unsigned") or signed["signed"]["args"]["comments"][0]["line"] == 10
    assert flow.state() == "in_progress"
    lineage = env.cli("lineage", "WP-1", "--json").json()
    [node] = [n for n in lineage["nodes"] if n["event"] == "review_recorded"][-1:]
    assert node["head"] == head
    assert node["comments"] == [
        {"path": "src/long.py", "line": 10, "side": "new", "text": "spell it out: please"}
    ]
    audit = env.cli("audit", "log", "WP-1", "--json").json()
    assert audit[-1]["payload"]["comments"][0]["context"][3]["text"] == "line ten"


def test_a_review_template_names_the_verified_head(env: Env, tmp_path: Path) -> None:
    _accepted_with_a_change(env, tmp_path)
    head = verdicts(env)[-1].payload["head"]
    draft = tmp_path / "review.yaml"
    made = env.cli("new", "review", "WP-1", "--as", "human:reviewer", "-o", str(draft))
    assert made.code == 0, made.err
    text = draft.read_text()
    assert f"  head: {head}" in text and "  comments: []" in text


@pytest.mark.parametrize(
    ("comment", "why"),
    [
        ({"path": "src/elsewhere.py", "line": 1, "text": "x"}, "not on a file of the change"),
        ({"path": "src/long.py", "line": 1, "text": "x"}, "not on a line the diff shows"),
        ({"path": "src/long.py", "line": 2, "side": "old", "text": "x"}, "old side"),
    ],
)
def test_a_comment_off_the_change_is_bad_ref_and_refused(
    env: Env, tmp_path: Path, comment: dict[str, Any], why: str
) -> None:
    flow, _worktree = _accepted_with_a_change(env, tmp_path)
    name = _review_entry(flow, verdict="revision_required", comments=[comment])
    summary = env.sweep()
    assert summary.sweep.rejected == 1
    reason = rejection_reason(env, name)
    assert reason["code"] == "bad_ref" and why in reason["message"], reason
    side = "-" if comment.get("side") == "old" else ""
    given = f"{comment['path']}:{side}{comment['line']}:{comment['text']}"
    cli = env.cli("review", "WP-1", "--verdict", "revision_required", "--as",
                  "human:reviewer", "--comment", given)  # fmt: skip
    assert cli.code == 1 and why in cli.err, cli.err
    assert flow.state() == "accepted"


def test_a_comment_entry_on_the_old_side_is_recorded(env: Env, tmp_path: Path) -> None:
    flow, _worktree = _accepted_with_a_change(env, tmp_path)
    name = _review_entry(
        flow,
        verdict="revision_required",
        comments=[{"path": "src/long.py", "line": 10, "side": "new", "text": "ok"}],
    )
    assert name
    summary = env.sweep()
    assert summary.sweep.rejected == 0, summary.sweep.log
    [review] = [e for e in env.events("WP-1") if e.type == "review_recorded"][-1:]
    assert review.payload["comments"][0]["context"][3]["text"] == "line ten"
    assert review.payload["head"] == verdicts(env)[-1].payload["head"]
    assert flow.state() == "in_progress"


def test_a_malformed_comment_is_a_bad_argument(env: Env, tmp_path: Path) -> None:
    _accepted_with_a_change(env, tmp_path)
    for given in ("src/long.py", "src/long.py:ten:x", "src/long.py:10:", ":10:x"):
        cli = env.cli("review", "WP-1", "--verdict", "revision_required", "--comment", given)
        assert cli.code == 2, (given, cli.err)


def test_the_change_names_its_verified_head_while_unchanged(env: Env, tmp_path: Path) -> None:
    _flow, worktree = _accepted_with_a_change(env, tmp_path)
    head = verdicts(env)[-1].payload["head"]
    with env.store() as store:
        wp = store.work_package("WP-1")
        assert wp is not None
        assert change_of(env.ws, store, wp).head == head
        (worktree / "src/long.py").write_text("moved on\n")
        assert change_of(env.ws, store, wp).head is None
    document = env.cli("diff", "WP-1", "--json").json()
    assert json.dumps(document)  # plain data
    assert document["head"] is None and document["source"] == "worktree"
