"""Board queries: the work packages a screen shows, filtered, sorted and paged in SQLite so
a board of a million WPs only ever loads the rows on screen, and a page deep down costs what
the first one does (keyset paging on the sort's index, see `page`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cockpit.store import attention, projections
from cockpit.store.db import Store
from cockpit.store.rows import WorkPackageRow
from cockpit.store.schema import (
    BOARD_SORTS,
    COUNTED_BY_STATE,
    LIFECYCLE,
    STATE_COUNTS,
    WAITING_SQL,
)

SORTS = BOARD_SORTS  # sort name -> SQL key; each has an index on (key, id)


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows: free text (id or title), states, an assignee, or only the WPs
    that need attention."""

    text: str = ""
    states: tuple[str, ...] = ()
    assignee: str | None = None
    attention: bool = False
    # Lanes whose agents nobody starts now (no runner running agents): their waiting WPs
    # need attention too.
    unstarted_lanes: tuple[str, ...] = ()

    def where(self) -> tuple[str, list[Any]]:
        """The filter as an SQL WHERE clause and its arguments. The text is matched on the
        sort's index, which holds each WP's id and title: no row is read to be left out."""
        clauses: list[str] = []
        args: list[Any] = []
        if self.text:
            clauses.append("(id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\')")
            like = (
                "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            args += [like, like]
        if self.states:
            clauses.append(f"state IN ({', '.join('?' for _ in self.states)})")
            args += list(self.states)
        if self.assignee:
            clauses.append("assignee = ?")
            args.append(self.assignee)
        if self.attention:
            sql, lanes = attention.attention_sql(self.unstarted_lanes)
            clauses.append(sql)
            args += lanes
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def count(store: Store, board_filter: BoardFilter) -> int:
    where, args = board_filter.where()
    if not where:  # the whole board: the kept counts, not a million rows counted
        return sum(state_counts(store).values())
    lanes = board_filter.unstarted_lanes
    if board_filter == BoardFilter(attention=True, unstarted_lanes=lanes) and lanes:
        # In two parts, each on its partial index (one OR over both reads every row): the
        # WPs that need attention anyway, and those waiting for an agent nobody starts.
        marks = ", ".join("?" for _ in lanes)
        waiting = f"SELECT count(*) FROM work_packages WHERE {WAITING_SQL} AND lane IN ({marks})"
        return count(store, BoardFilter(attention=True)) + _count(store, waiting, lanes)
    return _count(store, f"SELECT count(*) FROM work_packages{where}", args)


def _count(store: Store, sql: str, args: Sequence[Any]) -> int:
    return int(store.conn.execute(sql, list(args)).fetchone()[0])


def sort_key(row: Mapping[str, Any], sort: str) -> tuple[Any, str]:
    """Where `row` stands in `sort`: (its sort key, its id), as SORTS orders them."""
    name = sort if sort in SORTS else "id"
    if name == "assignee":
        return (row.get("assignee") or "", row["id"])
    if name == "state":  # the lifecycle's order (LIFECYCLE_SQL)
        return (LIFECYCLE.get(row["state"], len(LIFECYCLE)), row["id"])
    return (row[SORTS[name]], row["id"])


def page(
    store: Store,
    board_filter: BoardFilter,
    *,
    sort: str = "id",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
    near: tuple[int, Mapping[str, Any]] | None = None,
    total: int | None = None,
) -> list[WorkPackageRow]:
    """Rows `offset` to `offset + limit` of the filtered, sorted board.

    A deep page is read by key (keyset paging: `(key, id) > (?, ?)` on the sort's index)
    rather than by skipping `offset` rows: given `near`, a row (index, row) read before
    from this same board, and `total`, its row count, the page is read from the nearest of
    the top, that row and the bottom, and only the rows in between are skipped (none when
    the page is next to `near`, as when scrolling)."""
    if total is not None:
        limit = min(limit, max(total - offset, 0))
    if limit <= 0:
        return []
    column = SORTS.get(sort, "id")
    # (rows skipped, reading backwards, the key to read from or None for an end)
    plans: list[tuple[int, bool, tuple[Any, str] | None]] = [(offset, False, None)]
    if total is not None:
        plans.append((total - offset - limit, True, None))
    if near is not None:
        index, row = near
        known = sort_key(row, sort)
        between = offset - index - 1 if index < offset else index - offset - limit
        # NULL has no place in a row-value comparison; an expression's key is read in two
        # parts (see _Reader.after), which only a page right next to `near` may be.
        if between >= 0 and known[0] is not None and (column in _COLUMNS or between == 0):
            plans.append((between, index >= offset + limit, known))
    skip, backwards, key = min(plans, key=lambda plan: plan[0])
    # Reading backwards walks the same index the other way and turns the rows round.
    read = _Reader(store, board_filter.where(), column, ascending=descending == backwards)
    rows = read(limit, skip) if key is None else read.after(key, limit, skip)
    return rows[::-1] if backwards else rows


# Sort keys that are plain columns (a row-value comparison on them uses their index).
_COLUMNS = frozenset(key for key in SORTS.values() if key.isidentifier())


@dataclass(frozen=True)
class _Reader:
    """Reads pages of one filtered board in one direction of its sort."""

    store: Store
    where: tuple[str, list[Any]]
    column: str
    ascending: bool

    def __call__(
        self,
        limit: int,
        skip: int,
        clause: str = "",
        keys: Sequence[Any] = (),
        order: str | None = None,
    ) -> list[WorkPackageRow]:
        where, args = self.where
        if clause:
            where = f"{where} AND {clause}" if where else f" WHERE {clause}"
        direction = "ASC" if self.ascending else "DESC"
        order = order or ("id" if self.column == "id" else f"{self.column} {direction}, id")
        rows = self.store.conn.execute(
            f"SELECT * FROM work_packages{where} ORDER BY {order} {direction} LIMIT ? OFFSET ?",
            [*args, *keys, limit, skip],
        ).fetchall()
        return [projections.decode_work_package(dict(r)) for r in rows]

    def after(self, key: tuple[Any, str], limit: int, skip: int) -> list[WorkPackageRow]:
        """`limit` rows after `key` in this direction, the first `skip` of them skipped."""
        sign = ">" if self.ascending else "<"
        column = self.column
        if column == "id":
            return self(limit, skip, f"id {sign} ?", [key[1]])
        if column in _COLUMNS:
            return self(limit, skip, f"({column}, id) {sign} (?, ?)", key)
        # SQLite seeks an expression's index by the expression alone, not by a row value
        # holding it: the rest of the key's own group by id, then the groups after it.
        rows = self(limit, skip, f"{column} = ? AND id {sign} ?", key, order="id")
        if len(rows) < limit:
            rows += self(limit - len(rows), 0, f"{column} {sign} ?", key[:1])
        return rows


def position(
    store: Store,
    board_filter: BoardFilter,
    wp_id: str,
    *,
    sort: str = "id",
    descending: bool = False,
) -> int | None:
    """The row index of `wp_id` on the filtered, sorted board, or None if not on it (a
    count over the sort's index up to the row)."""
    where, args = board_filter.where()
    column = SORTS.get(sort, "id")
    row = store.conn.execute(
        f"SELECT {column} FROM work_packages{where}{' AND' if where else ' WHERE'} id = ?",
        [*args, wp_id],
    ).fetchone()
    if row is None:
        return None
    sign = "<" if not descending else ">"
    if column == "id":
        parts = [(f"id {sign} ?", [wp_id])]
    elif row[0] is None:  # no comparison with NULL: the NULL keys sort first
        parts = [(f"{column} IS NULL AND id {sign} ?", [wp_id])]
        if descending:
            parts.append((f"{column} IS NOT NULL", []))
    elif column in _COLUMNS:
        parts = [(f"({column}, id) {sign} (?, ?)", [row[0], wp_id])]
    else:  # an expression's index is searched by the expression alone (see _Reader.after)
        parts = [
            (f"{column} {sign} ?", [row[0]]),
            (f"{column} = ? AND id {sign} ?", [row[0], wp_id]),
        ]
    before = 0
    for clause, keys in parts:
        joined = f"{where} AND ({clause})" if where else f" WHERE {clause}"
        found = store.conn.execute(f"SELECT count(*) FROM work_packages{joined}", [*args, *keys])
        before += int(found.fetchone()[0])
    return before


def state_counts(store: Store) -> dict[str, int]:
    """WPs by state (those with none left out), as the triggers keep them; counted on a
    store opened read-only that does not have them yet."""
    try:
        rows = store.conn.execute(f"SELECT state, n FROM {STATE_COUNTS} WHERE n > 0").fetchall()
    except sqlite3.OperationalError:  # no such table: made before the counts were kept
        rows = store.conn.execute(COUNTED_BY_STATE).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def state_counts_as_kept_and_counted(store: Store) -> tuple[dict[str, int], dict[str, int]]:
    """(`state_counts`, the same counted from the rows), read at one moment whatever a
    runner commits meanwhile: they differ only if the kept counts went wrong. Outside any
    transaction of the caller's."""
    store.conn.execute("BEGIN")
    try:
        kept = state_counts(store)
        counted = {r[0]: int(r[1]) for r in store.conn.execute(COUNTED_BY_STATE).fetchall()}
    finally:
        store.conn.execute("COMMIT")
    return kept, counted


def attention_count(store: Store, unstarted_lanes: tuple[str, ...] = ()) -> int:
    return count(store, BoardFilter(attention=True, unstarted_lanes=unstarted_lanes))
