"""The board marks delivered WPs (SPEC 11.3): a ✓ beside the state, read with the row from
the `work_packages` projection the board pages (no extra query per row)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.delivery import complete_wp
from helpers.workspace import Env

from cockpit.engine import delivery
from cockpit.screens.board_table import DELIVERED, row_text
from cockpit.store import board as board_queries
from tui.conftest import NOW

pytestmark = pytest.mark.usefixtures("no_ambient_principal")


def test_a_delivered_work_package_is_marked_on_its_board_row(env: Env, tmp_path: Path) -> None:
    complete_wp(env, tmp_path)
    with env.store() as store:
        [row] = board_queries.page(store, board_queries.BoardFilter())
        assert DELIVERED not in row_text(row, 118, NOW).plain
        delivery.deliver(env.ws, store, "WP-1", "human:owner", "merge")
        [row] = board_queries.page(store, board_queries.BoardFilter())
    assert row["delivery"]["via"] == "merge"
    for width in (80, 118, 160):
        text = row_text(row, width, NOW)
        assert text.cell_len == width
        assert f"complete{DELIVERED}" in text.plain.replace(" ", "")
