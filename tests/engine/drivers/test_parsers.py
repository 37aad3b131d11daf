"""The four drivers' command lines and output readers (SPEC 9.1), fed the real sample lines
quoted in docs/agent-cli-formats.md (copied here verbatim, each block naming its doc section
and upstream source), then the failures a run can end with, and hostile lines: what an
agent's CLI prints is untrusted, so no line, however ill-typed, may raise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.engine.drivers.aider import AiderDriver
from cockpit.engine.drivers.base import (
    SESSION_ID,
    Driver,
    Outcome,
    Record,
    Row,
    RunRequest,
)
from cockpit.engine.drivers.claude import ClaudeDriver
from cockpit.engine.drivers.codex import CodexDriver
from cockpit.engine.drivers.gemini import GeminiDriver

CLAUDE, CODEX, GEMINI, AIDER = ClaudeDriver(), CodexDriver(), GeminiDriver(), AiderDriver()
DRIVERS: list[Driver] = [CLAUDE, CODEX, GEMINI, AIDER]

# -- the samples, verbatim ------------------------------------------------------------------

# docs/agent-cli-formats.md section 1, "Sample lines": github:anthropics/claude-agent-sdk-python
# tests/test_message_parser.py @ 02b50fc4bd6100601397d6436164fcad05624c73 (raw CLI output).
CLAUDE_HELLO = '{"type":"assistant","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_01HRq7YZE3apPqSHydvG77Ve","type":"message","role":"assistant","content":[{"type":"text","text":"Hi! I\'m ready to help."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":20012,"output_tokens":1,"service_tier":"standard"}},"parent_tool_use_id":null,"session_id":"fdf2d90a-fd9e-4736-ae35-806edd13643f","uuid":"0dbd2453-1209-4fe9-bd51-4102f64e33df"}'  # noqa: E501
CLAUDE_TOOL_USE = '{"type":"assistant","message":{"content":[{"type":"text","text":"Hello"},{"type":"tool_use","id":"tool_123","name":"Read","input":{"file_path":"/test.txt"}}],"model":"claude-opus-4-1-20250805"}}'  # noqa: E501
CLAUDE_TOOL_RESULT = '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_vrtx_01KXWexk3NJdwkjWzPMGQ2F1","type":"tool_result","content":"The file has been updated."}]},"parent_tool_use_id":null,"session_id":"84afb479-17ae-49af-8f2b-666ac2530c3a","uuid":"2ace3375-1879-48a0-a421-6bce25a9295a"}'  # noqa: E501
CLAUDE_TOOL_ERROR = '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"tool_error","content":"File not found","is_error":true}]}}'  # noqa: E501
CLAUDE_SUCCESS = '{"type":"result","subtype":"success","is_error":false,"duration_ms":2995,"duration_api_ms":2190,"num_turns":1,"result":"Hi! I\'m ready to help.","stop_reason":null,"session_id":"fdf2d90a-fd9e-4736-ae35-806edd13643f","total_cost_usd":0.010620999999999998,"usage":{"input_tokens":3,"output_tokens":24},"modelUsage":{"claude-sonnet-4-5-20250929":{"inputTokens":3,"outputTokens":24,"cacheReadInputTokens":20012,"cacheCreationInputTokens":0,"costUSD":0.010620999999999998,"contextWindow":200000,"maxOutputTokens":64000}},"permission_denials":[],"uuid":"d379c496-f33a-4ea4-b920-3c5483baa6f7"}'  # noqa: E501
CLAUDE_MAX_TURNS = '{"type":"result","subtype":"error_max_turns","duration_ms":1000,"duration_api_ms":500,"is_error":true,"num_turns":10,"session_id":"session_123","stop_reason":null}'  # noqa: E501
CLAUDE_AUTH_ERROR = '{"type":"assistant","message":{"content":[{"type":"text","text":"Invalid API key · Fix external API key"}],"model":"<synthetic>"},"session_id":"test-session","error":"authentication_failed"}'  # noqa: E501

# docs/agent-cli-formats.md section 2, "Sample output": github:openai/codex docs/exec.md @
# 6171a7ffe5292a6cb3b5cf0354b6a3e480b6a244 (the doc shortened one aggregated_output with `…`).
CODEX_SAMPLE = [
    '{"type":"thread.started","thread_id":"0199a213-81c0-7800-8aa1-bbab2a035a53"}',
    '{"type":"turn.started"}',
    '{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Searching for README files**"}}',  # noqa: E501
    '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"","status":"in_progress"}}',  # noqa: E501
    '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","aggregated_output":"2025-09-11\\nAGENTS.md\\nCHANGELOG.md\\n…","exit_code":0,"status":"completed"}}',  # noqa: E501
    '{"type":"item.completed","item":{"id":"item_3","type":"agent_message","text":"Yep — there’s a `README.md` in the repository root."}}',  # noqa: E501, RUF001 (verbatim)
    '{"type":"turn.completed","usage":{"input_tokens":24763,"cached_input_tokens":24448,"output_tokens":122}}',
]
CODEX_REPLY = "Yep — there’s a `README.md` in the repository root."  # noqa: RUF001 (verbatim)

# docs/agent-cli-formats.md section 3, stream-json sample lines: github:google-gemini/gemini-cli
# packages/cli/src/__snapshots__/nonInteractiveCli.test.ts.snap @
# 5411f113cafae26161b4969b0237b8e1e024e2c2. `<TIMESTAMP>` and `<DURATION>` are the test's
# placeholders; `<DURATION>` stands unquoted where a number goes (see `gemini_lines`).
GEMINI_SAMPLE = [
    '{"type":"init","timestamp":"<TIMESTAMP>","session_id":"test-session-id","model":"test-model"}',
    '{"type":"message","timestamp":"<TIMESTAMP>","role":"user","content":"Stream test"}',
    '{"type":"message","timestamp":"<TIMESTAMP>","role":"assistant","content":"Thinking...","delta":true}',
    '{"type":"tool_use","timestamp":"<TIMESTAMP>","tool_name":"testTool","tool_id":"tool-1","parameters":{"arg1":"value1"}}',
    '{"type":"tool_result","timestamp":"<TIMESTAMP>","tool_id":"tool-1","status":"success","output":"Tool executed successfully"}',  # noqa: E501
    '{"type":"message","timestamp":"<TIMESTAMP>","role":"assistant","content":"Final answer","delta":true}',  # noqa: E501
    '{"type":"result","timestamp":"<TIMESTAMP>","status":"success","stats":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0,"duration_ms":<DURATION>,"tool_calls":0,"models":{}}}',
    '{"type":"error","timestamp":"<TIMESTAMP>","severity":"error","message":"Maximum session turns exceeded"}',  # noqa: E501
]

# docs/agent-cli-formats.md section 4, sample lines: github:Aider-AI/aider
# tests/fixtures/chat-history.md @ 5dc9490bb35f9729ef2c95d00a19ccd30c26339c (chat-history
# form: `> ` before, two spaces after, where the fixture has them).
AIDER_SAMPLE = [
    "> Tokens: 1.6k sent, 1.6k cache write, 51 received. Cost: $0.0069 message, $0.0069 session.  ",
    "> Tokens: 2.3k sent, 1.8k cache hit, 91 received. Cost: $0.0034 message, $0.0034 session.  ",
    "> Tokens: 13k sent, 429 received.",
    "> Tokens: 15k sent, 13k cache write, 1.6k cache hit, 133 received.",
    "> Applied edit to testsr.py  ",
    "> Commit f064820 fix: Remove unused import of DEFAULT_FENCE  ",
]
# The same fixture: the line after the `15k sent` report above (line 87328; both cache
# counts shown, so the cost goes on its own line), a startup line (line 99021) and an API
# error (line 2132).
AIDER_COST_NEXT_LINE = "Cost: $0.05 message, $0.05 session.  "
AIDER_MAIN_MODEL = "> Main model: claude-3-5-sonnet-20240620 with diff edit format, prompt cache, infinite output  "  # noqa: E501
AIDER_API_ERROR = "> Unexpected error: litellm.InternalServerError: AnthropicException - Overloaded. Handle with `litellm.InternalServerError`.  "  # noqa: E501


# -- helpers ----------------------------------------------------------------------------------


def record(line: str) -> Record:
    """A line as the runner hands it to a driver: a JSON object, else its text."""
    if line.lstrip().startswith("{"):
        try:
            value = json.loads(line)
        except ValueError:
            return line
        if isinstance(value, dict):
            return value
    return line


def run(driver: Driver, lines: list[str], exit_code: int | None = 0) -> tuple[Outcome, list[Row]]:
    reader, rows = driver.reader(), []
    for line in lines:
        rec = record(line)
        reader.feed(rec)
        rows += driver.rows(rec)
    return reader.finish(exit_code), rows


def shown(rows: list[Row]) -> list[tuple[str, str, str]]:
    return [(r.kind, r.who, r.text) for r in rows]


def gemini_lines() -> list[str]:
    """The Gemini sample with the snapshot's `<DURATION>` placeholder given a number."""
    return [line.replace("<DURATION>", "1234") for line in GEMINI_SAMPLE]


def request(tmp_path: Path, stage: str, **fields: Any) -> RunRequest:
    return RunRequest(
        program=["/opt/bin/cli", "--fixed"],
        prompt="Do WP-7.",
        stage=stage,
        home=tmp_path / "home",
        **fields,
    )


BAD_SESSION_IDS = ["../../x", "a b", "$(touch x)", "", "-rf", "x" * 200, "id\n", 5, None, ["a"]]

# -- Claude Code ------------------------------------------------------------------------------


def test_claude_reads_usage_cost_turns_and_session_from_the_result_line() -> None:
    outcome, _ = run(CLAUDE, [CLAUDE_HELLO, CLAUDE_SUCCESS])
    assert outcome.ok and outcome.reason is None and outcome.problem is None
    assert outcome.usage.payload() == {
        "input_tokens": 3,
        "output_tokens": 24,
        "cache_read_tokens": 20012,  # from modelUsage: the result's usage has no cache keys
        "cost_usd": "0.010621",
        "model": "claude-sonnet-4-5-20250929",
        "turns": 1,
        "session_id": "fdf2d90a-fd9e-4736-ae35-806edd13643f",
    }
    assert outcome.final_message == "Hi! I'm ready to help."


def test_claude_rows_are_one_per_meaningful_piece() -> None:
    lines = [CLAUDE_HELLO, CLAUDE_TOOL_USE, CLAUDE_TOOL_RESULT, CLAUDE_TOOL_ERROR, CLAUDE_SUCCESS]
    _, rows = run(CLAUDE, [*lines, CLAUDE_MAX_TURNS, CLAUDE_AUTH_ERROR])
    assert shown(rows) == [
        ("message", "agent", "Hi! I'm ready to help."),
        ("message", "agent", "Hello"),
        ("tool_call", "agent", 'Read {"file_path":"/test.txt"}'),
        ("tool_result", "tool", "The file has been updated."),
        ("tool_result", "tool", "error: File not found"),
        ("result", "cli", "success · 1 turn · $0.010621 · 3 in / 24 out"),
        ("result", "cli", "error_max_turns · 10 turns"),
        ("message", "agent", "Invalid API key · Fix external API key"),
        ("error", "cli", "authentication_failed"),
    ]


@pytest.mark.parametrize("exit_code", [0, 1])
def test_claude_error_max_turns_fails_whatever_the_exit_code(exit_code: int) -> None:
    outcome, _ = run(CLAUDE, [CLAUDE_MAX_TURNS], exit_code)
    assert not outcome.ok
    assert outcome.reason == "cli_failed"
    assert outcome.problem == "Claude Code ended with error_max_turns after 10 turns"
    assert outcome.usage.turns == 10
    assert outcome.usage.session_id == "session_123"
    assert outcome.usage.cost_usd is None and outcome.usage.input_tokens is None


def test_claude_success_result_with_a_non_zero_exit_fails() -> None:
    outcome, _ = run(CLAUDE, [CLAUDE_HELLO, CLAUDE_SUCCESS], 1)
    assert (outcome.ok, outcome.reason) == (False, "cli_failed")
    assert outcome.problem == "Claude Code exited with code 1"
    assert outcome.usage.input_tokens == 3  # what the CLI said is kept


def test_claude_killed_is_cli_failed_and_keeps_the_session_id() -> None:
    outcome, _ = run(CLAUDE, [CLAUDE_HELLO], None)
    assert (outcome.ok, outcome.reason) == (False, "cli_failed")
    assert outcome.problem == "Claude Code was killed before it exited"
    assert outcome.usage.session_id == "fdf2d90a-fd9e-4736-ae35-806edd13643f"
    assert outcome.usage.model == "claude-sonnet-4-5-20250929"  # from the message
    assert outcome.final_message == "Hi! I'm ready to help."
    killed_after_result, _ = run(CLAUDE, [CLAUDE_HELLO, CLAUDE_SUCCESS], None)
    assert killed_after_result.reason == "cli_failed"


def test_claude_api_error_names_its_code() -> None:
    outcome, _ = run(CLAUDE, [CLAUDE_AUTH_ERROR], 1)
    assert outcome.problem == "Claude Code exited with code 1 (authentication_failed)"
    assert outcome.usage.model is None  # "<synthetic>" is not a model
    assert outcome.usage.session_id == "test-session"
    assert outcome.final_message == "Invalid API key · Fix external API key"


def test_claude_without_a_result_line_is_no_result_or_malformed() -> None:
    well_formed, _ = run(CLAUDE, [CLAUDE_HELLO, CLAUDE_TOOL_RESULT])
    assert (well_formed.reason, well_formed.problem) == (
        "no_result",
        "Claude Code printed no result line",
    )
    cut = '{"type":"result","subtype":"success","is_err'
    malformed, _ = run(CLAUDE, [CLAUDE_HELLO, cut, "TypeError: x is undefined"])
    assert malformed.reason == "malformed_output"
    assert malformed.problem == (
        "Claude Code printed no result line (2 of 3 lines were not valid JSON)"
    )
    # The CLI's own complaint, in plain text (the --verbose case of the doc's flag table).
    text_only = "Error: When using --print, --output-format=stream-json requires --verbose"
    plain, _ = run(CLAUDE, [text_only])
    assert plain.reason == "malformed_output"
    assert plain.problem == "Claude Code printed no result line (1 of 1 line was not valid JSON)"
    failed, _ = run(CLAUDE, [text_only], 1)
    assert (failed.reason, failed.problem) == ("cli_failed", "Claude Code exited with code 1")
    silent, _ = run(CLAUDE, [])
    assert (silent.reason, silent.problem) == ("malformed_output", "Claude Code printed nothing")


def test_claude_prefers_the_results_own_cache_count_and_falls_back_to_init_for_the_model() -> None:
    init = '{"type":"system","subtype":"init","session_id":"s-1","model":"claude-opus-4-1"}'
    result = (
        '{"type":"result","subtype":"success","is_error":false,"num_turns":2,'
        '"usage":{"input_tokens":5,"output_tokens":6,"cache_read_input_tokens":7},'
        '"modelUsage":{"m":{"cacheReadInputTokens":999}}}'
    )
    outcome, rows = run(CLAUDE, [init, result])
    assert outcome.ok
    assert outcome.usage.cache_read_tokens == 7
    assert outcome.usage.model == "m"  # the first key of modelUsage comes first
    assert shown(rows)[0] == ("system", "cli", "init · session s-1 · model claude-opus-4-1")
    bare = '{"type":"result","subtype":"success","is_error":false}'
    only_init, _ = run(CLAUDE, [init, bare])
    assert only_init.usage.model == "claude-opus-4-1"
    assert only_init.usage.session_id == "s-1"
    assert only_init.usage.cache_read_tokens is None


@pytest.mark.parametrize("bad", BAD_SESSION_IDS)
def test_claude_records_no_session_id_that_is_not_plain(bad: Any) -> None:
    line = json.dumps(
        {"type": "result", "subtype": "success", "is_error": False, "session_id": bad}
    )
    outcome, _ = run(CLAUDE, [line])
    assert outcome.usage.session_id is None
    kept, _ = run(CLAUDE, [CLAUDE_HELLO, line])  # a bad id never replaces a plain one
    assert kept.usage.session_id == "fdf2d90a-fd9e-4736-ae35-806edd13643f"


# -- Codex CLI --------------------------------------------------------------------------------


def test_codex_reads_thread_id_and_sums_turn_usage() -> None:
    outcome, _ = run(CODEX, CODEX_SAMPLE)
    assert outcome.ok and outcome.reason is None
    assert outcome.usage.payload() == {
        "input_tokens": 24763,
        "output_tokens": 122,
        "cache_read_tokens": 24448,
        "cost_usd": None,  # codex reports no cost
        "model": None,  # nor the model
        "turns": 1,
        "session_id": "0199a213-81c0-7800-8aa1-bbab2a035a53",
    }
    assert outcome.final_message == CODEX_REPLY
    two_turns, _ = run(CODEX, [*CODEX_SAMPLE, CODEX_SAMPLE[-1]])
    assert (two_turns.usage.input_tokens, two_turns.usage.turns) == (2 * 24763, 2)


def test_codex_rows() -> None:
    _, rows = run(CODEX, CODEX_SAMPLE)
    assert shown(rows) == [
        ("system", "cli", "session 0199a213-81c0-7800-8aa1-bbab2a035a53"),
        ("thinking", "agent", "**Searching for README files**"),
        ("tool_call", "agent", "$ bash -lc ls"),
        ("tool_result", "tool", "exit 0: 2025-09-11\nAGENTS.md\nCHANGELOG.md\n…"),
        ("message", "agent", CODEX_REPLY),
        ("usage", "cli", "24763 in / 122 out (24448 cached)"),
    ]
    # Shapes from codex-rs/exec/src/exec_events.rs @ 08a1f30 (no first-party sample line).
    edit = {
        "type": "item.completed",
        "item": {
            "id": "item_2",
            "type": "file_change",
            "changes": [{"path": "a.py", "kind": "update"}, {"path": "b.py", "kind": "add"}],
            "status": "completed",
        },
    }
    assert shown(CODEX.rows(edit)) == [("tool_call", "agent", "edit a.py (update), b.py (add)")]
    long: dict[str, Any] = {"type": "item.completed"}
    long["item"] = {"type": "command_execution", "exit_code": 2}
    long["item"]["aggregated_output"] = "x" * 5000 + "END"
    (tail,) = CODEX.rows(long)
    assert tail.text.startswith("exit 2: …x") and tail.text.endswith("END")
    assert len(tail.text) < 1100


def test_codex_failures() -> None:
    failed_turn = '{"type":"turn.failed","error":{"message":"stream disconnected"}}'
    outcome, rows = run(CODEX, [*CODEX_SAMPLE[:2], failed_turn], 1)
    assert (outcome.ok, outcome.reason) == (False, "cli_failed")
    assert outcome.problem == "Codex CLI reported an error: stream disconnected"
    assert shown(rows)[-1] == ("error", "cli", "stream disconnected")
    fatal = '{"type":"error","message":"unexpected status 401 Unauthorized\\nretry later"}'
    outcome, _ = run(CODEX, [CODEX_SAMPLE[0], fatal], 1)
    assert outcome.problem == (
        "Codex CLI reported an error: unexpected status 401 Unauthorized\\x0aretry later"
    )
    # exec prints a retried stream error as an `error` event too: a completed turn after it
    # and a clean exit mean it recovered.
    recovered, _ = run(CODEX, [*CODEX_SAMPLE[:2], fatal, *CODEX_SAMPLE[2:]])
    assert recovered.ok
    no_exit, _ = run(CODEX, CODEX_SAMPLE, 1)
    assert (no_exit.reason, no_exit.problem) == ("cli_failed", "Codex CLI exited with code 1")
    killed, _ = run(CODEX, CODEX_SAMPLE[:3], None)
    assert (killed.reason, killed.problem) == (
        "cli_failed",
        "Codex CLI was killed before it exited",
    )
    assert killed.usage.session_id == "0199a213-81c0-7800-8aa1-bbab2a035a53"
    assert killed.usage.turns == 0


def test_codex_without_a_completed_turn_is_no_result_or_malformed() -> None:
    outcome, _ = run(CODEX, CODEX_SAMPLE[:3])
    assert (outcome.reason, outcome.problem) == ("no_result", "Codex CLI completed no turn")
    outcome, _ = run(CODEX, ["error: unexpected argument '--full-auto' found"])
    assert outcome.reason == "malformed_output"
    assert outcome.problem == "Codex CLI completed no turn (1 of 1 line was not valid JSON)"


@pytest.mark.parametrize("bad", BAD_SESSION_IDS)
def test_codex_records_no_thread_id_that_is_not_plain(bad: Any) -> None:
    line = json.dumps({"type": "thread.started", "thread_id": bad})
    outcome, _ = run(CODEX, [line, *CODEX_SAMPLE[1:]])
    assert outcome.usage.session_id is None


# -- Gemini CLI -------------------------------------------------------------------------------


def test_gemini_reads_session_model_and_stats() -> None:
    outcome, _ = run(GEMINI, gemini_lines())
    assert outcome.ok and outcome.reason is None
    assert outcome.usage.payload() == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": None,
        "model": "test-model",
        "turns": None,
        "session_id": "test-session-id",
    }
    # The assistant text after the last user message, delta chunks joined.
    assert outcome.final_message == "Thinking...Final answer"


def test_gemini_rows() -> None:
    _, rows = run(GEMINI, gemini_lines())
    assert shown(rows) == [
        ("system", "cli", "init · session test-session-id · model test-model"),
        ("message", "user", "Stream test"),
        ("message", "agent", "Thinking..."),
        ("tool_call", "agent", 'testTool {"arg1":"value1"}'),
        ("tool_result", "tool", "Tool executed successfully"),
        ("message", "agent", "Final answer"),
        ("result", "cli", "success · 0 in / 0 out"),
        ("error", "cli", "Maximum session turns exceeded"),
    ]


def test_gemini_verbatim_snapshot_result_line_is_not_json() -> None:
    # `"duration_ms":<DURATION>` is not JSON: read verbatim, the result line is a bad line.
    outcome, _ = run(GEMINI, GEMINI_SAMPLE)
    assert outcome.reason == "malformed_output"
    assert outcome.problem == "Gemini CLI printed no result line (1 of 8 lines was not valid JSON)"


def test_gemini_failures() -> None:
    # A fatal error's result (ResultEvent in packages/core/src/output/types.ts).
    error_result = (
        '{"type":"result","timestamp":"t","status":"error",'
        '"error":{"type":"FatalTurnLimitedError","message":"Reached max session turns"},'
        '"stats":{"input_tokens":10,"output_tokens":2,"cached":4}}'
    )
    outcome, rows = run(GEMINI, [*gemini_lines()[:6], error_result], 53)
    assert (outcome.ok, outcome.reason) == (False, "cli_failed")
    assert outcome.problem == "Gemini CLI ended with an error: Reached max session turns"
    assert (outcome.usage.input_tokens, outcome.usage.cache_read_tokens) == (10, 4)
    assert shown(rows)[-1] == ("result", "cli", "error · 10 in / 2 out · Reached max session turns")
    coded, _ = run(GEMINI, gemini_lines()[:3], 53)
    assert coded.problem == "Gemini CLI exited with code 53 (turn limit exceeded)"
    success_but_exit_1, _ = run(GEMINI, gemini_lines(), 1)
    assert success_but_exit_1.problem == "Gemini CLI exited with code 1"
    killed, _ = run(GEMINI, gemini_lines()[:3], None)
    assert killed.problem == "Gemini CLI was killed before it exited"
    assert killed.usage.session_id == "test-session-id"
    no_result, _ = run(GEMINI, gemini_lines()[:6])
    assert (no_result.reason, no_result.problem) == (
        "no_result",
        "Gemini CLI printed no result line",
    )


@pytest.mark.parametrize("bad", BAD_SESSION_IDS)
def test_gemini_records_no_session_id_that_is_not_plain(bad: Any) -> None:
    line = json.dumps({"type": "init", "session_id": bad, "model": "m"})
    outcome, _ = run(GEMINI, [line, *gemini_lines()[1:]])
    assert outcome.usage.session_id is None


# -- Aider ------------------------------------------------------------------------------------


def test_aider_sums_the_rounded_token_reports() -> None:
    outcome, _ = run(AIDER, AIDER_SAMPLE)
    assert outcome.ok  # aider exits 0 whatever happened; the worktree is judged elsewhere
    assert outcome.usage.payload() == {
        "input_tokens": 1600 + 2300 + 13000 + 15000,
        "output_tokens": 51 + 91 + 429 + 133,
        "cache_read_tokens": 1800 + 1600,
        "cost_usd": "0.0034",  # the session figure of the last Cost report
        "model": None,
        "turns": None,
        "session_id": None,
    }
    assert outcome.final_message is None  # only reports, edits and commits were printed


def test_aider_cost_on_the_next_line_model_and_final_message() -> None:
    reply = "I removed the unused import."
    lines = [AIDER_MAIN_MODEL, reply, *AIDER_SAMPLE[3:4], AIDER_COST_NEXT_LINE, *AIDER_SAMPLE[4:]]
    outcome, rows = run(AIDER, lines)
    assert outcome.usage.cost_usd == "0.05"
    assert outcome.usage.model == "claude-3-5-sonnet-20240620"
    assert outcome.final_message == reply
    assert shown(rows) == [
        ("text", "agent", AIDER_MAIN_MODEL.rstrip()),
        ("text", "agent", reply),
        ("usage", "cli", "Tokens: 15k sent, 13k cache write, 1.6k cache hit, 133 received."),
        ("usage", "cli", "Cost: $0.05 message, $0.05 session."),
        ("tool_result", "tool", "Applied edit to testsr.py"),
        ("system", "cli", "Commit f064820 fix: Remove unused import of DEFAULT_FENCE"),
    ]


def test_aider_reads_stdout_form_and_the_older_format() -> None:
    # On stdout the same reports come without the history's `> `; before 2024-08 counts had
    # thousands separators and the cost said `request` (doc section 4).
    lines = [
        "Tokens: 26,200 sent, 1,234 received. Cost: $0.09 request, $0.12 session.",
        "Tokens: 2.3k sent, 1.8k cache hit, 91 received. Cost: $0.0034 message, $0.13 session.",
    ]
    outcome, _ = run(AIDER, lines)
    assert (outcome.usage.input_tokens, outcome.usage.output_tokens) == (28500, 1325)
    assert (outcome.usage.cache_read_tokens, outcome.usage.cost_usd) == (1800, "0.13")


def test_aider_keeps_an_api_error_as_its_final_message() -> None:
    after = "Retrying in 0.2 seconds..."
    outcome, rows = run(AIDER, [AIDER_MAIN_MODEL, AIDER_API_ERROR, after])
    assert outcome.ok  # exit 0: the runner judges the worktree
    assert outcome.final_message is not None
    assert outcome.final_message.startswith("Unexpected error: litellm.InternalServerError")
    assert shown(rows)[1][:2] == ("error", "cli")
    recovered, _ = run(AIDER, [AIDER_API_ERROR, after, "Done.", AIDER_SAMPLE[2]])
    assert recovered.final_message == "Done."  # a reply came after the error


@pytest.mark.parametrize(
    ("exit_code", "problem"),
    [(1, "Aider exited with code 1"), (None, "Aider was killed before it exited")],
)
def test_aider_fails_only_on_its_exit(exit_code: int | None, problem: str) -> None:
    outcome, _ = run(AIDER, AIDER_SAMPLE, exit_code)
    assert (outcome.ok, outcome.reason, outcome.problem) == (False, "cli_failed", problem)
    assert outcome.usage.input_tokens == 31900


# -- command lines ----------------------------------------------------------------------------

PROG = ["/opt/bin/cli", "--fixed"]
EXTRA = ("--extra", "x")


def test_claude_argv(tmp_path: Path) -> None:
    base = [*PROG, "-p", "--output-format", "stream-json", "--verbose", "--permission-mode"]
    assert CLAUDE.argv(request(tmp_path, "dispatched")) == [*base, "plan", "Do WP-7."]
    full = request(
        tmp_path,
        "in_progress",
        model="sonnet",
        args=EXTRA,
        max_turns=30,
        budget_left="1.25",
        resume="fdf2d90a-fd9e-4736-ae35-806edd13643f",
    )
    assert CLAUDE.argv(full) == [
        *base,
        "bypassPermissions",
        "--model",
        "sonnet",
        "--max-turns",
        "30",
        "--max-budget-usd",
        "1.25",
        "--resume",
        "fdf2d90a-fd9e-4736-ae35-806edd13643f",
        *EXTRA,
        "Do WP-7.",
    ]
    unconfined = request(tmp_path, "recovering", sandboxed=False, max_turns=0)
    assert CLAUDE.argv(unconfined) == [*base, "acceptEdits", "--max-turns", "0", "Do WP-7."]
    read_only = request(tmp_path, "dispatched", sandboxed=False, resume="s-1")
    assert CLAUDE.argv(read_only) == [*base, "plan", "--resume", "s-1", "Do WP-7."]


def test_codex_argv(tmp_path: Path) -> None:
    base = [*PROG, "exec", "--json", "--skip-git-repo-check", "--sandbox"]
    assert CODEX.argv(request(tmp_path, "dispatched")) == [*base, "read-only", "Do WP-7."]
    full = request(
        tmp_path,
        "recovering",
        model="gpt-5-codex",
        args=EXTRA,
        max_turns=30,  # codex has no such flags
        budget_left="1.25",
        resume="0199a213-81c0-7800-8aa1-bbab2a035a53",
    )
    assert CODEX.argv(full) == [
        *base,
        "workspace-write",
        "--model",
        "gpt-5-codex",
        *EXTRA,
        "resume",
        "0199a213-81c0-7800-8aa1-bbab2a035a53",
        "Do WP-7.",
    ]


def test_gemini_argv(tmp_path: Path) -> None:
    base = [*PROG, "--output-format", "stream-json", "--approval-mode"]
    assert GEMINI.argv(request(tmp_path, "dispatched")) == [
        *base,
        "plan",
        "--skip-trust",
        "--prompt",
        "Do WP-7.",
    ]
    full = request(
        tmp_path, "in_progress", model="gemini-2.5-pro", args=EXTRA, max_turns=3, resume="u-1"
    )
    assert GEMINI.argv(full) == [
        *base,
        "yolo",
        "--skip-trust",
        "--model",
        "gemini-2.5-pro",
        "--resume",
        "u-1",
        *EXTRA,
        "--prompt",
        "Do WP-7.",
    ]


def test_aider_argv(tmp_path: Path) -> None:
    history = tmp_path / "home" / ".aider"
    base = [
        *PROG,
        "--yes-always",
        "--no-pretty",
        "--no-stream",
        "--no-check-update",
        "--no-analytics",
        "--no-show-model-warnings",
        "--no-gitignore",
        "--chat-history-file",
        str(history / "chat.history.md"),
        "--input-history-file",
        str(history / "input.history"),
    ]
    assert AIDER.argv(request(tmp_path, "dispatched")) == [
        *base,
        "--chat-mode",
        "ask",
        "--message",
        "Do WP-7.",
    ]
    history.mkdir(parents=True)
    (history / "chat.history.md").write_text("# aider chat started\n")
    full = request(tmp_path, "in_progress", model="sonnet", args=EXTRA, max_turns=3, resume="x")
    assert AIDER.argv(full) == [
        *base,
        "--restore-chat-history",
        "--model",
        "sonnet",
        *EXTRA,
        "--message",
        "Do WP-7.",
    ]


def test_driver_attributes() -> None:
    assert [(d.name, d.binary, d.cli, d.resumable) for d in DRIVERS] == [
        ("claude-code", "claude", "Claude Code", True),
        ("codex", "codex", "Codex CLI", True),
        ("gemini", "gemini", "Gemini CLI", True),
        ("aider", "aider", "Aider", False),
    ]
    assert [d.session_dirs for d in DRIVERS] == [
        (".claude/projects",),
        (".codex/sessions",),
        (".gemini/tmp",),
        (".aider",),
    ]
    for d in DRIVERS:
        assert d.version and d.credential_files and d.credential_env
        assert all(not Path(p).is_absolute() and ".." not in p for p in d.credential_files)


# -- hostile lines ----------------------------------------------------------------------------

HOSTILE: list[Any] = [
    {"type": "assistant", "message": "str"},
    {"type": "assistant", "message": {"content": [None, 5, "x", {"type": "tool_use"}]}},
    {"type": "assistant", "message": {"content": {"type": "text"}}, "error": ["x"]},
    {"type": "user", "message": {"content": [{"type": "tool_result", "content": [{"text": 5}]}]}},
    {"type": "result", "usage": [1]},
    {"type": "result", "usage": {"input_tokens": 10**30, "output_tokens": -1}, "num_turns": True},
    {"type": "result", "modelUsage": {"m": "x", "n": [1]}, "total_cost_usd": "NaN"},
    {"type": "result", "modelUsage": [], "total_cost_usd": float("inf"), "subtype": {"a": 1}},
    {"type": "result", "stats": None, "status": ["success"], "error": "boom"},
    {"type": "result", "stats": {"models": ["a"], "input_tokens": 1.5}},
    {"type": 5},
    {"type": None},
    {"type": ["thread.started"]},
    {"type": {"x": 1}},
    {},
    {"type": "system", "subtype": "init", "model": {"a": 1}, "session_id": ["a"]},
    {"type": "init", "session_id": 7, "model": "x" * 100_000},
    {"type": "thread.started", "thread_id": {"id": "x"}},
    {"type": "turn.completed", "usage": "x"},
    {"type": "turn.completed", "usage": {"input_tokens": "5", "cached_input_tokens": None}},
    {"type": "turn.failed", "error": "nope"},
    {"type": "error", "message": None},
    {"type": "item.completed", "item": None},
    {"type": "item.completed", "item": {"type": ["agent_message"]}},
    {"type": "item.started", "item": {"type": "command_execution", "command": ["ls"]}},
    {"type": "item.completed", "item": {"type": "command_execution", "exit_code": "0"}},
    {"type": "item.completed", "item": {"type": "file_change", "changes": [None, {"path": 1}]}},
    {"type": "item.completed", "item": {"type": "todo_list", "items": [1, {"completed": 1}]}},
    {"type": "item.completed", "item": {"type": "mcp_tool_call", "error": "x", "result": {1}}},
    {"type": "message", "role": "assistant", "content": ["a"]},
    {"type": "message", "role": ["user"], "content": "a"},
    {"type": "tool_use", "tool_name": None, "parameters": float("nan")},
    {"type": "tool_result", "status": "error", "error": ["x"]},
    {"type": "error", "severity": None, "message": "x" * 1_000_000},
    {"type": "assistant", "message": {"content": [{"type": "text", "text": "y" * 1_000_000}]}},
]


def nested(depth: int) -> dict[str, Any]:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return {"type": "tool_use", "tool_name": "t", "parameters": value, "x": value}


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
def test_hostile_records_never_raise(driver: Driver) -> None:
    hostile: list[Any] = [*HOSTILE, nested(800), "", "{", "> Tokens: 9" * 10_000]
    hostile.append("Tokens: 999999999,999,999,999.999k sent, 1k received.")
    for exit_code in (0, 1, None):
        reader = driver.reader()
        for rec in hostile:
            reader.feed(rec)
            for r in driver.rows(rec):
                assert isinstance(r.text, str) and len(r.text) < 2100
        outcome = reader.finish(exit_code)
        assert outcome.usage.session_id is None or SESSION_ID.fullmatch(outcome.usage.session_id)
        assert outcome.ok is False or exit_code == 0
        json.dumps(outcome.usage.payload())  # a payload holds no floats, nothing unencodable


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    [
        "type",
        "subtype",
        "message",
        "content",
        "usage",
        "result",
        "item",
        "session_id",
        "thread_id",
        "stats",
        "status",
        "error",
        "modelUsage",
        "role",
        "text",
        "model",
    ]
)
_TYPES = st.sampled_from(
    [
        "system",
        "assistant",
        "user",
        "result",
        "thread.started",
        "turn.completed",
        "turn.failed",
        "error",
        "item.started",
        "item.completed",
        "init",
        "message",
        "tool_use",
        "tool_result",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(
        st.builds(lambda t, rest: {"type": t, **rest}, _TYPES, st.dictionaries(_KEYS, _JSON)),
        max_size=6,
    ),
    exit_code=st.none() | st.integers(-300, 300),
)
def test_fuzzed_records_never_raise(records: list[dict[str, Any]], exit_code: int | None) -> None:
    for driver in DRIVERS:
        reader = driver.reader()
        for rec in records:
            reader.feed(rec)
            assert all(isinstance(r, Row) for r in driver.rows(rec))
        outcome = reader.finish(exit_code)
        assert outcome.ok in (True, False)
        assert outcome.usage.session_id is None or SESSION_ID.fullmatch(outcome.usage.session_id)
