"""Whether the versions of a compared image column show one picture on every row.

The widget overlays the versions of an image column (each version's boxes in its colour on
one thumbnail) by default only when that makes sense: when every row's versions name the same
image file (its digest), as two models' predictions on one dataset do. A row missing from a
version (a null cell) does not count against it. One aggregate over the digests, under the
engine's budget; the pixels are never read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from dsviz_widget.engine._columns import SqlColumn


def _digest(col: SqlColumn) -> str:
    # The field name is the storage format's constant, never user text.
    return f"struct_extract({col.ident}, 'digest')"


def _has_digest(col: SqlColumn) -> bool:
    return col.kind == "image" and pa.types.is_struct(col.type) and "digest" in col.type.names


def same_pictures(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    columns: Mapping[str, SqlColumn],
    groups: Mapping[str, Sequence[str]],
) -> dict[str, bool]:
    """Per group (name -> its version columns), whether the versions' digests agree on
    every row where both are present. Groups whose columns are not image structs with a
    digest are left out."""
    names: list[str] = []
    select: list[str] = []
    for name, fields in groups.items():
        cols = [c for c in (columns.get(f) for f in fields) if c is not None and _has_digest(c)]
        if len(cols) < 2 or len(cols) != len(fields):
            continue
        first = _digest(cols[0])
        same = " AND ".join(
            f"({first} IS NULL OR {_digest(c)} IS NULL OR {_digest(c)} = {first})" for c in cols[1:]
        )
        names.append(name)
        select.append(f"coalesce(bool_and({same}), true)")
    if not select:
        return {}
    # fetchall, not fetchone: a result left unfinished blocks the connection's next query.
    rows = con.execute(f"SELECT {', '.join(select)} FROM {from_sql}").fetchall()
    values = list(rows[0]) if rows else [True] * len(names)
    return {n: bool(v) for n, v in zip(names, values, strict=True)}
