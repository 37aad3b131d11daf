"""Canon plane: agent-written memory on its way to trusted canon. The secret scanner
(`redaction`, used by every plane that records agent output), candidate intake
(`intake`: what a filed candidate's event carries), the evaluator (`evaluator`: lexical
FTS5 near-duplicate and contradiction search) and the Canon Gate with commissioning and
search (`candidates`).

It imports the workspace, config and entries planes and the store.
"""
