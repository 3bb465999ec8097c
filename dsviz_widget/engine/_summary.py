"""Column summaries for the widget's headers, under the current filter."""

from __future__ import annotations

import math
from typing import Any

import duckdb

from dsviz_widget.engine._columns import SqlColumn, column_sql
from dsviz_widget.engine._temporal import from_duckdb

TOP_VALUES = 10
BINS = 20
# The first look of a top-values summary: the first SAMPLE_ROWS filtered rows in scan order
# (~0.3 s for 1M distinct strings; fewer rows than that are the whole, an exact answer).
# When more than HIGH_CARDINALITY of them are distinct values, the exact GROUP BY would build
# about as many groups as rows (100M distinct captions: past the 30 s budget, 4.9 GB in plain
# DuckDB), so the reply is the sample's top values, labelled as such, unless exact is asked.
SAMPLE_ROWS = 1_000_000
HIGH_CARDINALITY = 0.5


def summarize(
    con: duckdb.DuckDBPyConnection,
    from_sql: str,
    where_sql: str,
    params: list[object],
    col: SqlColumn,
    *,
    bins: int = BINS,
    top: int = TOP_VALUES,
    bounds: tuple[Any, Any] | None = None,
    exact: bool = False,
    sample_rows: int = SAMPLE_ROWS,
    most_rows: int | None = None,
) -> dict[str, Any]:
    """Histogram (numbers) or top values (everything else) of ``col`` over the filtered rows.

    Top values are exact unless the first ``sample_rows`` filtered rows are mostly distinct
    values (and ``exact`` is false): then the reply has ``"sample": n`` and is the summary of
    those first ``n`` rows in scan order (``count`` is ``n``, ``counts`` and ``nulls`` are
    within them, ``distinct`` is ``None`` and ``distinct_min`` the sample's distinct values,
    a lower bound of the whole's). Every number in it is exact for what it says it is of.
    ``most_rows``: at most this many rows are filtered (the source's): when that is no more
    than ``sample_rows``, the whole is read at once, exactly. (Its first rows are a sample
    read in scan order, one thread: at 1M rows, 270 ms where the exact GROUP BY takes ~170;
    and a table of exactly ``sample_rows`` rows was labelled a sample of itself.)

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
    if not exact and sample_rows > 0 and (most_rows is None or most_rows > sample_rows):
        first = f"(SELECT {value} AS v {rows} LIMIT {int(sample_rows)})"
        got = _top(con, f"FROM {first}", "v", params, top)
        if got["count"] < sample_rows:  # every filtered row: exact
            got["values"] = from_duckdb(got["values"], col.type)
            return got
        seen = got["count"] - got["nulls"]
        if seen and got["distinct"] > HIGH_CARDINALITY * seen:
            got["values"] = from_duckdb(got["values"], col.type)
            got["sample"] = got["count"]
            got["distinct_min"] = got["distinct"]
            got["distinct"] = None
            return got
    out = _top(con, rows, value, params, top)
    out["values"] = from_duckdb(out["values"], col.type)
    return out


def _top(
    con: duckdb.DuckDBPyConnection, rows: str, value: str, params: list[object], top: int
) -> dict[str, Any]:
    """Top values (raw DuckDB values), nulls, distinct and row counts of ``value`` over ``rows``."""
    # One aggregate over the groups: their number, their rows, and the top groups by
    # (null group first, count descending, value) from min_by's bounded list, ordered by that
    # key. A window (count(*) OVER ()) before an ORDER BY ... LIMIT buffered every group first:
    # ~10% dearer on 10M distinct strings, which spill at the engine's memory budget.
    g, n, best = con.execute(
        f"SELECT count(*), sum(c), min_by(struct_pack(v := v, c := c), "
        f"struct_pack(a := v IS NOT NULL, b := -c, d := v), {int(top) + 1}) "
        f"FROM (SELECT {value} AS v, count(*) AS c {rows} GROUP BY v)",
        params,
    ).fetchall()[0]
    got = [(item["v"], item["c"]) for item in best or []]
    nulls = 0
    groups = int(g)
    count = int(n or 0)  # every row, for shares of the whole column
    if got and got[0][0] is None:
        nulls = int(got[0][1])
        groups -= 1
        got = got[1:]
    got = got[:top]
    return {
        "type": "top",
        "values": [v for v, *_ in got],
        "counts": [int(c) for _, c in got],
        "nulls": nulls,
        "distinct": groups,
        "count": count,
    }


def _histogram(
    con: duckdb.DuckDBPyConnection,
    value: str,
    rows: str,
    params: list[object],
    col: SqlColumn,
    bins: int,
    bounds: tuple[Any, Any] | None,
) -> dict[str, Any]:
    """Bins over the finite values; ``+inf`` and ``-inf`` are not in any bin but counted
    apart (``"posinf"``, ``"neginf"``), NaN and null together (``"nulls"``).

    Widths are computed as ``hi/n - lo/n``, never ``hi - lo``, which overflows to inf for
    ranges wider than the largest double (e.g. -1.7e308 .. 1.7e308); likewise a value's bin
    is ``floor(v/w - lo/w)``, never ``(v - lo)/w``, and edges interpolate between the
    ends (``lo*(n-k)/n + hi*k/n``).
    """
    # The plain column, NaN included: isfinite() leaves NaN out of the bounds, and the bins
    # below count it with the nulls, so the NaN-as-null CASE is not needed on every row.
    plain = col.ident if col.is_float else value
    if bounds is not None:
        lo, hi = bounds
    else:
        lo, hi = con.execute(
            f"SELECT min({plain}) FILTER (WHERE isfinite({plain}::DOUBLE)), "
            f"max({plain}) FILTER (WHERE isfinite({plain}::DOUBLE)) {rows}",
            params,
        ).fetchall()[0]
    out: dict[str, Any] = {
        "type": "histogram",
        "edges": [],
        "counts": [],
        "nulls": 0,
        "posinf": 0,
        "neginf": 0,
        "min": lo,
        "max": hi,
    }
    edges = [0.0, 1.0]
    if lo is not None and hi is not None:
        is_int = not col.is_float and isinstance(lo, int) and isinstance(hi, int)
        if is_int and hi - lo < bins:
            # One bin per integer, centred on it, so counts read as "how many have value k".
            edges = [lo - 0.5 + k for k in range(hi - lo + 2)]
        else:
            flo, fhi = float(lo), float(hi)
            width = fhi / bins - flo / bins
            if flo == fhi or not (width > 0 and math.isfinite(width)):
                edges = [flo, fhi]  # one value (or a range too narrow to split)
            else:
                # Interpolated, not lo + k*width: k*width alone can overflow.
                edges = [flo / bins * (bins - k) + fhi / bins * k for k in range(bins)] + [fhi]
    n = len(edges) - 1
    width = edges[-1] / n - edges[0] / n
    if not (width > 0 and math.isfinite(width)):
        width = 1.0
    start = len(params)
    # One scan, grouped by the unclamped bin number as a double (a cheap key): the null key
    # counts the nulls, NaN's key is NaN (missing too), an infinity's is that infinity, and
    # the clamping below is done per key, on at most a few dozen of them. No CASE per row:
    # this is about twice as fast as clamping and classifying every value in SQL. A finite
    # value in [lo, hi] never gets an infinite key: the width is at least about
    # (hi - lo) / bins, so |v / width| stays below ~2^53 * bins.
    got = con.execute(
        f"SELECT floor({plain}::DOUBLE / ${start + 1} - ${start + 2}) AS b, count(*) {rows} GROUP BY b",
        [*params, width, edges[0] / width],
    ).fetchall()
    counts = [0] * n
    for b, c in got:
        if b is None or math.isnan(b):
            out["nulls"] += int(c)
        elif math.isinf(b):
            out["posinf" if b > 0 else "neginf"] += int(c)
        else:
            counts[min(max(int(b), 0), n - 1)] += int(c)
    if lo is not None and hi is not None:
        out["edges"] = edges
        out["counts"] = counts
    return out
