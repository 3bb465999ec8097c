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
    bounds: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    """Histogram (numbers) or top values (everything else) of ``col`` over the filtered rows.

    One scan each: top values, null and distinct counts come from one ``GROUP BY``; a
    histogram's bucket counts and nulls from another, after a scan for the finite
    min/max unless ``bounds`` (exact finite min and max, e.g. from Parquet statistics of
    an unfiltered column) are given.
    """
    value = column_sql(col)
    rows = f"FROM {from_sql} WHERE {where_sql}"
    if col.cls == "num":
        return _histogram(con, value, rows, params, col, bins, bounds)
    if col.cls == "opaque":
        total, nulls = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {value} IS NULL) {rows}", params
        ).fetchall()[0]
        return {"type": "none", "nulls": int(nulls), "count": int(total)}
    # The null group sorts first; count(*) OVER () counts the groups before the LIMIT.
    got = con.execute(
        f"SELECT v, c, count(*) OVER () AS g FROM (SELECT {value} AS v, count(*) AS c {rows} "
        f"GROUP BY v) ORDER BY (v IS NOT NULL), c DESC, v LIMIT {int(top) + 1}",
        params,
    ).fetchall()
    nulls = 0
    groups = int(got[0][2]) if got else 0
    if got and got[0][0] is None:
        nulls = int(got[0][1])
        groups -= 1
        got = got[1:]
    got = got[:top]
    return {
        "type": "top",
        "values": [v for v, _, _ in got],
        "counts": [int(c) for _, c, _ in got],
        "nulls": nulls,
        "distinct": groups,
    }


def _histogram(
    con: duckdb.DuckDBPyConnection,
    value: str,
    rows: str,
    params: list[object],
    col: ColumnInfo,
    bins: int,
    bounds: tuple[Any, Any] | None,
) -> dict[str, Any]:
    # Edges span the finite values; infinities land in the end bins.
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = con.execute(
            f"SELECT min({value}) FILTER (WHERE isfinite({value}::DOUBLE)), "
            f"max({value}) FILTER (WHERE isfinite({value}::DOUBLE)) {rows}",
            params,
        ).fetchall()[0]
    out: dict[str, Any] = {"type": "histogram", "edges": [], "counts": [], "nulls": 0,
                           "min": lo, "max": hi}
    if lo is None or hi is None:
        lo_ = hi_ = 0.0
        edges = [0.0, 1.0]
    else:
        is_int = col.cls == "num" and not col.is_float and isinstance(lo, int)
        if is_int and hi - lo < bins:
            # One bin per integer, centred on it, so counts read as "how many have value k".
            edges = [lo - 0.5 + k for k in range(hi - lo + 2)]
        elif lo == hi:
            edges = [float(lo), float(hi)]
        else:
            width = (float(hi) - float(lo)) / bins
            edges = [float(lo) + k * width for k in range(bins)] + [float(hi)]
        lo_, hi_ = edges[0], edges[-1]
    n = len(edges) - 1
    width = (hi_ - lo_) / n if n else 1.0
    start = len(params)
    # greatest/least skip NULLs, so a null value is kept null explicitly.
    bucket = (
        f"CASE WHEN v IS NULL THEN NULL ELSE least(greatest(floor((v::DOUBLE - ${start + 1}) "
        f"/ ${start + 2}), 0), ${start + 3})::BIGINT END"
    )
    # One scan: the NULL bucket is the null count (NaN reads as null).
    got = con.execute(
        f"SELECT {bucket} AS b, count(*) FROM (SELECT {value} AS v {rows}) GROUP BY b",
        [*params, lo_, width if width > 0 and math.isfinite(width) else 1.0, n - 1],
    ).fetchall()
    counts = [0] * n
    for b, c in got:
        if b is None:
            out["nulls"] = int(c)
        else:
            counts[int(b)] += int(c)
    if lo is not None and hi is not None:
        out["edges"] = edges
        out["counts"] = counts
    return out
