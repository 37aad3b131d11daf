"""A review's comments on lines reach the agent (SPEC 11.2, 9.1): a WP run by an agent CLI's
stand-in (tests/standins/bin: executables that accept the real CLI's flags and print its
documented output; see tests/standins/README.md) is admitted, the reviewer sends it back
with `revision_required` and comments on lines of its change, and the driver resumes the
stand-in's own session with each comment, its file, line and the code around it, in the
prompt the stand-in logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.agents import drop_booking, drop_dispatch, events_of, state
from helpers.drivers import RESUMING, calls, prompt_of, resumed_id, set_driver_lane
from helpers.git import new_repo
from helpers.workspace import Env

pytestmark = pytest.mark.usefixtures("no_ambient_principal")

CHECK = "grep -q 'stand-in' src/standin.txt"


@pytest.mark.parametrize("driver", RESUMING)
def test_revision_comments_resume_the_agent_with_their_code(
    env: Env, tmp_path: Path, driver: str
) -> None:
    set_driver_lane(env, driver, "--standin-edit", "src/standin.txt")
    repo, _base = new_repo(tmp_path)
    drop_booking(env, repo, validation_commands=[CHECK])
    drop_dispatch(env)
    env.sweep()
    assert state(env) == "accepted"
    session = events_of(env, "agent_exited")[-1].payload["usage"]["session_id"]
    runs = len(calls(env))

    shown = env.cli("diff", "WP-1")
    assert shown.code == 0, shown.err
    assert "+edited by the" in shown.out  # the stand-in's change, as the reviewer reads it
    review = env.cli(
        "review", "WP-1", "--verdict", "revision_required", "--as", "human:reviewer",
        "--comment", "src/standin.txt:1:say which run; \x1b[31mno colours\x1b[0m",
        "--finding", "the line is vague",
    )  # fmt: skip
    assert review.code == 0, review.err
    assert state(env) == "in_progress"
    env.sweep()

    again = calls(env)[runs]["argv"]
    assert resumed_id(driver, again) == session  # its own session, by its recorded id
    prompt = prompt_of(driver, again)
    head = events_of(env, "verify_completed")[0].payload["head"]
    assert f"comments on lines of the change (at commit {head})" in prompt
    assert "- src/standin.txt, line 1: say which run; \\x1b[31mno colours\\x1b[0m" in prompt
    assert "\x1b" not in prompt  # the reviewer's text is data too
    assert "  >     1 | edited by the" in prompt  # the code around the line, marked
    assert "the line is vague" in prompt
