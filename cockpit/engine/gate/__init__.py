"""Gate plane: the verify gate. Pure predicates over a claim's packets (`predicates`,
`surfaces` for owned/forbidden globs), the advisory verifier (`advisory`) and the effectful
run of the gate on a worktree (`verification`: gather the facts, run the validation
commands, record `verify_started`/`verify_completed`).

It imports the repo, canon (redaction), lifecycle, workspace and entries planes.
"""
