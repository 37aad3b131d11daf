"""Repo plane: git, and nothing but git. The hardened git runner (`gitops`: no hooks, no
filters, no replace refs, a recorded git dir) and the WP's worktree (`worktrees`:
provisioning, the scope diff's base, rollback's reset, the merge proof and the check that
admitted work is unchanged).

It imports the workspace plane and the store; the gate, ingest, the runner and actions
build on it.
"""
