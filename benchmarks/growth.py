"""How the board's costs grow with the workspace (10k, 100k, 1M WPs): what the TUI pays on
the UI thread for each thing a person does, read through the same engine calls the screens
make (cockpit.engine.reports.pages), each the median of a few runs on a read-only store."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import processes

from cockpit.engine.reports import pages
from cockpit.engine.workspace.layout import Workspace
from cockpit.store import Store
from cockpit.store import board as board_queries

PAGE = 200  # rows the board reads at a time (screens/board_table.PAGE)
DENSE = "billing"  # in one title of twelve
SPARSE = "#4242"  # in a handful of titles

# (key, what it is) in the table's order
ROWS = [
    ("first_paint_s", "first paint: `cockpit` spawned until the first row shows (best of 3)"),
    ("first_page_ms", "first page (200 rows, sort id)"),
    ("scroll_page_ms", "next page when scrolling, at the middle (by key from the row above)"),
    ("end_page_ms", "last page (End key: read backwards from the bottom)"),
    ("jump_page_ms", "page at the middle with no row near (scrollbar drag: OFFSET from an end)"),
    ("offset_page_ms", "last page read as before: `ORDER BY id, id LIMIT 200 OFFSET n`"),
    ("sort_title_deep_ms", "page at the middle sorted by title, scrolling"),
    ("count_ms", "row count of the whole board"),
    ("summary_ms", "header counts: WPs by state, attention, rejected"),
    ("attention_count_ms", "needs-attention count"),
    ("attention_page_ms", "needs-attention view: count and first page"),
    ("filter_dense_ms", f"text filter {DENSE!r} (many match): count and first page"),
    ("filter_sparse_ms", f"text filter {SPARSE!r} (few match): count and first page"),
    ("position_ms", "cursor kept on its WP after a change, WP at the middle"),
    ("position_filtered_ms", f"the same under the text filter {DENSE!r}, WP at its middle"),
    ("wp_screen_ms", "WP screen open: everything it shows about one WP"),
]


def median_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def measure(ws: Workspace, *, paint_repeat: int = 3) -> dict[str, Any]:
    """Every row of ROWS for one workspace."""
    out: dict[str, Any] = {}
    with Store.open_readonly(ws.db_path) as store:
        view = pages.BoardView()
        total = pages.board_count(store, view)
        out["wps"] = total
        mid = total // 2
        above = pages.board_page(store, view, mid - 1, 1, total=total)[0]
        by_title = pages.BoardView(sort="title")
        title_above = pages.board_page(store, by_title, mid - 1, 1, total=total)[0]
        attention = pages.BoardView(attention=True)
        wp_id = above["id"]

        def filtered(text: str) -> list[Any]:
            shown = pages.BoardView(text=text)
            count = pages.board_count(store, shown)
            return pages.board_page(store, shown, 0, PAGE, total=count)

        def attention_view() -> list[Any]:
            count = pages.board_count(store, attention)
            return pages.board_page(store, attention, 0, PAGE, total=count)

        out["first_page_ms"] = median_ms(
            lambda: pages.board_page(store, view, 0, PAGE, total=total)
        )
        out["scroll_page_ms"] = median_ms(
            lambda: pages.board_page(store, view, mid, PAGE, near=(mid - 1, above), total=total)
        )
        out["end_page_ms"] = median_ms(
            lambda: pages.board_page(store, view, total - PAGE, PAGE, total=total)
        )
        out["jump_page_ms"] = median_ms(
            lambda: pages.board_page(store, view, mid, PAGE, total=total)
        )
        out["offset_page_ms"] = median_ms(lambda: _offset_page(store, total - PAGE), repeat=3)
        out["sort_title_deep_ms"] = median_ms(
            lambda: pages.board_page(
                store, by_title, mid, PAGE, near=(mid - 1, title_above), total=total
            )
        )
        out["count_ms"] = median_ms(lambda: pages.board_count(store, view))
        out["summary_ms"] = median_ms(lambda: pages.board_summary(store))
        out["attention_count_ms"] = median_ms(lambda: board_queries.attention_count(store))
        out["attention_page_ms"] = median_ms(attention_view)
        out["filter_dense_ms"] = median_ms(lambda: filtered(DENSE), repeat=3)
        out["filter_sparse_ms"] = median_ms(lambda: filtered(SPARSE), repeat=3)
        out["position_ms"] = median_ms(lambda: pages.board_position(store, view, wp_id))
        dense = pages.BoardView(text=DENSE)
        matches = pages.board_count(store, dense)
        match_id = pages.board_page(store, dense, matches // 2, 1, total=matches)[0]["id"]
        out["position_filtered_ms"] = median_ms(
            lambda: pages.board_position(store, dense, match_id), repeat=3
        )
        out["wp_screen_ms"] = median_ms(lambda: pages.work_package_page(store, wp_id))
    if paint_repeat:
        runs = [
            processes.first_paint(processes.cockpit("-w", str(ws.root)), b"WP-000000").seconds
            for _ in range(paint_repeat)
        ]
        out["first_paint_s"] = min(runs)  # others' load only ever slows a start down
    return out


def _offset_page(store: Store, offset: int) -> list[Any]:
    """The last page as the board read every page before keyset paging (the same SQL)."""
    return store.conn.execute(
        "SELECT * FROM work_packages ORDER BY id ASC, id ASC LIMIT ? OFFSET ?", (PAGE, offset)
    ).fetchall()


def table(results: list[dict[str, Any]]) -> str:
    """The growth table in Markdown: one column per workspace size."""
    sizes = [f"{r['wps']:,} WPs" for r in results]
    lines = [
        "| measure | " + " | ".join(sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for key, what in ROWS:
        cells = []
        for result in results:
            value = result.get(key)
            if value is None:
                cells.append("-")
            elif key.endswith("_s"):
                cells.append(f"{value:.2f} s")
            else:
                cells.append(f"{value:.1f} ms")
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
