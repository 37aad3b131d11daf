"""The gate's predicate table, shared by the verify dialog, the WP screen and the
stepper."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from cockpit.domain import Predicate
from cockpit.screens.text import STATUS_STYLES, plain


def predicate_table(predicates: dict[str, Any]) -> Table:
    """The gate's predicates as a table, details shown literally."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("predicate", no_wrap=True, min_width=22)
    table.add_column("status", no_wrap=True, min_width=14)
    table.add_column("detail", ratio=1)
    order = {p.value: i for i, p in enumerate(Predicate)}  # the gate's order, not the log's
    for name, result in sorted(predicates.items(), key=lambda kv: order.get(kv[0], 99)):
        status = result.get("status", "")
        table.add_row(
            Text(name),
            Text(status, style=STATUS_STYLES.get(status, "")),
            plain(result.get("detail", "")),
        )
    return table
