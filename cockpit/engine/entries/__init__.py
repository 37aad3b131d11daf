"""Entries plane: what a queue file is. The pydantic model of each entry kind (`models`),
the parser of entry files with the stateless rejection codes (`parse`), the one hardened
reader of untrusted files (`reader`), the safe YAML loader (`safe_yaml`), validation errors
in the product's words (`wording`), the JSON Schemas of entries (`schema`) and entry
templates (`template`).

It owns no state and imports only the shared vocabulary (`cockpit.domain`,
`cockpit.errors`): every other plane may import it.
"""
