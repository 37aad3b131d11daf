"""Workspace plane: where a workspace lives on disk (`layout`: the root, its queue
directories, its store, how one is found from a flag or the environment, and the template
that is never written to), how a new one is made (`scaffold`: `cockpit init`, the bundled
demo) and what a new entry in it would say (`drafts`: `cockpit new`).

It imports the config and entries planes and the store; nothing above it.
"""
