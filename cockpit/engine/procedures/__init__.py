"""Procedures plane: procedure packs (`procedures/<archetype>.yaml`, `cockpit.procedure/v1`)
and booking a work package from one or from options alone (`cockpit book`).

`pack` reads and validates a pack strictly (pure: bytes in, a model or one sentence out)
and fills its templates; `booking` turns a pack and the booking's options into a
`work_package` entry (and, if asked, its dispatch) and files them as `cockpit submit
--sign` would. The pack's lane-shaped context is copied into the entry's
`body.procedure`, so the handoff is derived from the record, never from `procedures/`.

It imports the queue plane (to file entries) and the planes below it.
"""
