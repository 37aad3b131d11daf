"""Workspace plane: where a workspace lives on disk (`layout`: the root, its queue
directories, its store, how one is found from a flag or the environment) and how a new one
is made (`scaffold`: `cockpit init`, the bundled demo).

It imports the config plane and the store; nothing above it.
"""
