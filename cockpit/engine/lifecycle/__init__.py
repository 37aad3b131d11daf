"""Lifecycle plane: the work package's state machine (`transitions`: one table, one pure
`transition` function) and what each trigger produces (`effects`: review verdict events,
dispatch target and veto rules, standing go, the lineage edges of answers), shared by
ingest and by people's actions so the two can never disagree.

It imports the config plane and the store's types; it never runs git or a command.
"""
