"""Drivers plane: real agent CLIs in a lane (SPEC 9.1). Each driver (`claude`, `codex`,
`gemini`, `aider`) knows its CLI's non-interactive command line and its machine-readable
output: it reads the output line by line into readable transcript rows and, at the end, the
run's usage (tokens, cost, turns, session id) and whether the CLI succeeded. Around them:
the prompt built from the handoff (`prompt`), the redacted transcript files (`transcript`),
sessions, budgets and the agent's CLI home (`sessions`, `home`), and what a driver files
for the agent after it exits (`filing`).

It imports the queue, gate, repo, canon, trust and workspace planes; the runner, the
reports and the faces import it.
"""
