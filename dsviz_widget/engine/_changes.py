"""What changed between the versions of a comparison (``compare_sources``): how many rows
each compared column changed on, and how one column's values moved between two versions.

Both read the comparison's own ``<c>@changed`` and ``<c>@<label>`` columns, so they agree
with what a filter on those columns selects and with what the grid marks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from dsviz_widget.engine._columns import SqlColumn
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._tokens import unknown_column_message

#: Most distinct (from, to) pairs a transition matrix holds; more is not a matrix one reads.
MAX_TRANSITIONS = 10_000


@dataclass(frozen=True)
class ChangeCounts:
    """Rows of a comparison, and on how many of them each compared column changed.

    ``always`` are the columns that changed on every row (of two or more): a float
    confidence retrained is one; they would make every row "changed", so the default
    change definition (:attr:`default`) leaves them out.
    """

    rows: int
    counts: dict[str, int]

    @property
    def always(self) -> list[str]:
        if self.rows < 2:
            return []
        return [c for c, n in self.counts.items() if n == self.rows]

    @property
    def default(self) -> list[str]:
        always = set(self.always)
        return [c for c in self.counts if c not in always]


def compared_columns(columns: Iterable[str]) -> list[str]:
    """The columns a comparison compares (those with a ``<c>@changed`` column), in order."""
    return [n[: -len("@changed")] for n in columns if n.endswith("@changed")]


def check_change_columns(compared: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """``wanted`` checked against the compared columns (a clear error naming a wrong one)."""
    out = []
    for c in wanted:
        if not isinstance(c, str) or c not in compared:
            listed = ", ".join(repr(x) for x in compared[:20]) + (
                ", ..." if len(compared) > 20 else ""
            )
            raise QueryError(
                "change columns: "
                + unknown_column_message(str(c), list(compared))
                + f" (only columns every compared version has can define a change: {listed})"
            )
        if c not in out:
            out.append(c)
    return out


def count_changes(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    columns: Mapping[str, SqlColumn],
    num_rows: int,
) -> ChangeCounts:
    """One scan of the comparison: for each compared column, the rows it changed on."""
    compared = compared_columns(columns)
    if not compared:
        return ChangeCounts(num_rows, {})
    sums = ", ".join(f"COUNT(*) FILTER (WHERE {columns[f'{c}@changed'].ident})" for c in compared)
    row = con.sql(f"SELECT {sums} FROM {from_sql}").fetchall()[0]
    return ChangeCounts(num_rows, {c: int(n) for c, n in zip(compared, row, strict=True)})


def change_filter(columns: Sequence[str]) -> str:
    """Filter text true where any of ``columns`` (compared columns) changed; ``changed``
    (any column) when ``columns`` is empty. Names are quoted, so any name works."""
    if not columns:
        return "changed"
    return " or ".join(quote_name(f"{c}@changed") for c in columns)


def quote_name(name: str) -> str:
    """A column name as filter text: in backticks, a backtick doubled."""
    return "`" + name.replace("`", "``") + "`"


def transition_table(page: pa.Table, before: str, after: str, count: str) -> pa.Table:
    """``before``/``after``/``count`` of a group page grouped by the two version columns,
    most frequent first (the group page's own order)."""
    return pa.table(
        {"before": page.column(before), "after": page.column(after), "count": page.column(count)}
    )
