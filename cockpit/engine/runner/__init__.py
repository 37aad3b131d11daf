"""Runner plane: the headless runner. The loop and its lock (`loop`: sweep, start agents,
verify due claims, until stopped), the agents' supervisor (`agents`: worktrees, lane
commands, exits, restarts) and the handoff message each agent reads (`handoff`).

It imports the queue, gate, repo and canon planes; nothing imports it but the CLI and
the TUI.
"""
