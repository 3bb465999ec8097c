"""Column summaries for the widget's headers, under the current filter."""

from __future__ import annotations

import math
from typing import Any

import duckdb

from dsviz_widget.engine._compile import ColumnInfo, column_sql

TOP_VALUES = 10
BINS = 20


def summarize(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    where_sql: str,
    params: list[object],
    col: ColumnInfo,
    *,
    bins: int = BINS,
    top: int = TOP_VALUES,
) -> dict[str, Any]:
    """Histogram (numbers) or top values (everything else) of ``col`` over the filtered rows."""
    value = column_sql(col)
    rows = f"FROM {from_sql} WHERE {where_sql}"
    if col.cls == "num":
        return _histogram(con, value, rows, params, col, bins)
    if col.cls == "opaque":
        total, nulls = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {value} IS NULL) {rows}", params
        ).fetchall()[0]
        return {"type": "none", "nulls": int(nulls), "count": int(total)}
    got = con.execute(
        f"SELECT {value} AS v, count(*) AS c {rows} AND {value} IS NOT NULL "
        f"GROUP BY v ORDER BY c DESC, v LIMIT {int(top)}",
        params,
    ).fetchall()
    nulls, distinct = con.execute(
        f"SELECT count(*) FILTER (WHERE {value} IS NULL), count(DISTINCT {value}) {rows}", params
    ).fetchall()[0]
    return {
        "type": "top",
        "values": [v for v, _ in got],
        "counts": [int(c) for _, c in got],
        "nulls": int(nulls),
        "distinct": int(distinct),
    }


def _histogram(
    con: duckdb.DuckDBPyConnection,
    value: str,
    rows: str,
    params: list[object],
    col: ColumnInfo,
    bins: int,
) -> dict[str, Any]:
    # Edges span the finite values; infinities land in the end bins.
    nulls, lo, hi = con.execute(
        f"SELECT count(*) FILTER (WHERE {value} IS NULL), "
        f"min({value}) FILTER (WHERE isfinite({value}::DOUBLE)), "
        f"max({value}) FILTER (WHERE isfinite({value}::DOUBLE)) {rows}",
        params,
    ).fetchall()[0]
    out: dict[str, Any] = {"type": "histogram", "edges": [], "counts": [], "nulls": int(nulls),
                           "min": lo, "max": hi}
    if lo is None or hi is None:
        return out
    is_int = col.cls == "num" and not col.is_float and isinstance(lo, int)
    if is_int and hi - lo < bins:
        # One bin per integer, centred on it, so counts read as "how many have value k".
        edges = [lo - 0.5 + k for k in range(hi - lo + 2)]
    elif lo == hi:
        edges = [float(lo), float(hi)]
    else:
        width = (float(hi) - float(lo)) / bins
        edges = [float(lo) + k * width for k in range(bins)] + [float(hi)]
    n = len(edges) - 1
    width = (edges[-1] - edges[0]) / n if n else 1.0
    start = len(params)
    bucket = (
        f"least(greatest(floor(({value}::DOUBLE - ${start + 1}) / ${start + 2}), 0), "
        f"${start + 3})::BIGINT"
    )
    got = con.execute(
        f"SELECT {bucket} AS b, count(*) {rows} AND {value} IS NOT NULL GROUP BY b",
        [*params, edges[0], width if width > 0 and math.isfinite(width) else 1.0, n - 1],
    ).fetchall()
    counts = [0] * n
    for b, c in got:
        counts[int(b)] += int(c)
    out["edges"] = edges
    out["counts"] = counts
    return out
