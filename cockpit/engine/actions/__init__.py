"""Actions plane: what a person does (`human`: dispatch, verify, recover, review,
override, cancel, veto, dismiss; `rollback`). Each action checks the principal's
capability and the WP's state, runs git before the transaction, then appends its events
in one transaction. `preconditions` makes those checks alone, recording nothing, so a
caller can say why an action would be refused before asking for its input; `choices`
lists what a person chooses from (assignees, open advisories, override targets).

It imports the gate, repo and lifecycle planes; the CLI and the TUI call it.
"""
