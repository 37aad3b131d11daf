"""Repo: git operations and worktrees, and the git defences against agents."""
