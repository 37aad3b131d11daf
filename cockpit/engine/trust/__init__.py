"""Trust plane: who may speak (SPEC 10). OpenSSH signatures verified in-process and made for
the keys Cockpit holds (`sshsig`), the keys of principals, the runner and agent runs
(`keys`), people's signing through ssh-keygen and ssh-agent (`signer`), the signature
checks of entries and actions (`entries`, `actions`), signed notes for checkpoints
(`note`) and the signed checkpoint a command writes (`checkpoints`), and a delivery's
provenance: an in-toto statement in a DSSE envelope signed by the runner key
(`attestation`, SPEC 11.3).

It imports the config and workspace planes and the store; ingest, actions, the runner and
the reports build on it.
"""
