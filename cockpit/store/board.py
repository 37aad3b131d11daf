"""Board queries: the work packages a screen shows, filtered, sorted and paged in SQLite so
a board of 10,000 WPs only ever loads the rows on screen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.store import attention, projections
from cockpit.store.db import Store
from cockpit.store.rows import WorkPackageRow

SORTS = {
    "id": "id",
    "state": "state",
    "tier": "tier",
    "assignee": "coalesce(assignee, '')",
    "age": "created",
    "updated": "last_seq",
    "title": "title",
}


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
    return int(store.conn.execute(f"SELECT count(*) FROM work_packages{where}", args).fetchone()[0])


def page(
    store: Store,
    board_filter: BoardFilter,
    *,
    sort: str = "id",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> list[WorkPackageRow]:
    """Rows `offset` to `offset + limit` of the filtered, sorted board."""
    where, args = board_filter.where()
    direction = "DESC" if descending else "ASC"
    order = f"{SORTS.get(sort, 'id')} {direction}, id {direction}"
    rows = store.conn.execute(
        f"SELECT * FROM work_packages{where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [projections.decode_work_package(dict(r)) for r in rows]


def position(
    store: Store,
    board_filter: BoardFilter,
    wp_id: str,
    *,
    sort: str = "id",
    descending: bool = False,
) -> int | None:
    """The row index of `wp_id` on the filtered, sorted board, or None if not on it."""
    where, args = board_filter.where()
    key = SORTS.get(sort, "id")
    row = store.conn.execute(
        f"SELECT {key} FROM work_packages{where}{' AND' if where else ' WHERE'} id = ?",
        [*args, wp_id],
    ).fetchone()
    if row is None:
        return None
    before = "<" if not descending else ">"
    clause = f"({key} {before} ? OR ({key} = ? AND id {before} ?))"
    joined = f"{where} AND {clause}" if where else f" WHERE {clause}"
    return int(
        store.conn.execute(
            f"SELECT count(*) FROM work_packages{joined}", [*args, row[0], row[0], wp_id]
        ).fetchone()[0]
    )


def state_counts(store: Store) -> dict[str, int]:
    rows = store.conn.execute("SELECT state, count(*) FROM work_packages GROUP BY state")
    return {r[0]: int(r[1]) for r in rows}


def attention_count(store: Store, unstarted_lanes: tuple[str, ...] = ()) -> int:
    return count(store, BoardFilter(attention=True, unstarted_lanes=unstarted_lanes))
