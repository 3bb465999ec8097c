"""A deep page of a new sort by one numeric column, without the whole order (issue 15).

A page deep inside a sort the view never had (a jump to the middle of ``-score``) used to
wait for the background order: every id of the view sorted (0.7 s at 10M rows, 9 s at
100M). Here such a page is answered from a few scans of the sort column alone, while the
order is built for the pages that follow:

1. ``count``, ``min`` and ``max`` of the numbers (NaN and null are missing values, last in
   either direction, in ``_row`` order);
2. a histogram of the numbers over ``BINS`` equal-width bins; its counts are exact, so the
   bins holding the page's ranks, and how many rows come before them, are known;
3. the ``_row`` and value of the rows in those bins (a few thousand at 10M rows of spread
   values), sorted here by (value, ``_row``) — pandas' stable order — and sliced.

**Later pages while the order is built** (:class:`Ranks`, one per view). The range and the
histogram are kept, and so are the rows of the last ``KEEP_WINDOWS`` windows, sorted: a page
next to the deep page (scrolling on from it) is a slice of its window, with no query, and a
page elsewhere costs one scan (its bins' rows), not a wait for the whole order (~10 s at 100M
rows, ~1 s at 10M).

The bins are the same SQL expression in steps 2 and 3, monotone in the value, so a row's bin
never disagrees between them. When the page's bins hold more than ``MAX_WINDOW`` rows (values
bunched together) the window becomes the new range and is binned again; a window of one
value is that value's rows in ``_row`` order (a top-N on ``_row``). Anything this cannot do
exactly (infinities, integers beyond 2**53, more than ``MAX_ROUNDS`` rounds) returns None and
the page waits for the order as before.

**NaN.** Every condition and value is on the engine's NaN-as-null expression
(``column_sql``): DuckDB prunes plain-column conditions (``x <= hi``, ``isnan(x)``) against
Parquet statistics, which pyarrow writes without NaN, and then lets NaN rows through or
misses them. The window adds a plain range on the bare column only as a hint the scan can
apply itself (fast); the exact conditions on the expression decide. Over Parquet the range comes from the files'
statistics (``finite_bounds``), so a page costs two scans of the column: the histogram and
the window (the latter pruned by a plain range the scan applies itself).
"""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from dsviz_widget.engine._budget import run_arrow
from dsviz_widget.engine._columns import column_sql
from dsviz_widget.engine._relation import ROW, Relation

if TYPE_CHECKING:
    from dsviz_widget.engine._engine import Engine

BINS = 4096
MAX_WINDOW = 1_000_000  # rows of (``_row``, value) sorted in memory at most (~16 MB)
MAX_ROUNDS = 6
EXACT_INT = 2**53  # integers a double holds exactly
KEEP_WINDOWS = 2  # windows of sorted ids a view keeps (each at most MAX_WINDOW ids)

#: A window: the rank (among the numbers) of its first id, and its ids in view order.
Window = tuple[int, np.ndarray]


class Ranks:
    """Pages of one view sorted by one number, read from bins while its order is built, with
    the range, the histogram and the last windows kept (see the module docstring). Safe to
    call from several threads (one page at a time)."""

    def __init__(
        self,
        engine: Engine,
        relation: Relation,
        where: str,
        params: list[object],
        name: str,
        desc: bool,
    ) -> None:
        self.engine = engine
        self.relation = relation
        self.where = where
        self.params = list(params)
        self.name = name
        self.desc = desc
        info = relation.columns[name]
        self.is_float = info.is_float
        self.supported = self.is_float or pa.types.is_integer(info.type)
        self.x = info.ident
        self.v = column_sql(info)  # NaN read as NULL: see the module docstring
        self._lock = threading.Lock()
        self._bounds: tuple[Any, Any] | None = None  # (min, max) of the numbers, None: none
        self.numbers: int | None = None  # the numbers ``where`` keeps, once known
        self.ends: np.ndarray | None = None  # the first histogram's running counts
        self.windows: list[Window] = []  # newest last
        self.scan_seconds = 0.0  # how long the last page not kept took (its bins' scans)

    def ids(self, offset: int, stop: int) -> np.ndarray | None:
        """The ``_row`` ids at ranks ``[offset, stop)`` of the view sorted by the column alone
        (descending if ``desc``; NaN and null last, ties in ``_row`` order), or None where only
        the whole order can tell."""
        if stop <= offset:
            return np.zeros(0, dtype=np.int64)
        if not self.supported:
            return None
        with self._lock:
            return self._ids(offset, stop)

    def _ids(self, offset: int, stop: int) -> np.ndarray | None:
        lo, hi = self._range()
        if lo is not None and not (_exact(lo, self.is_float) and _exact(hi, self.is_float)):
            return None
        parts = []
        n = 0  # the numbers ``where`` keeps (none when the range is empty), counted by the bins
        if lo is not None:
            found = self._numbers(offset, stop, lo, hi)
            if found is None:
                return None
            got, n = found
            parts.append(got)
        if stop > max(offset, n):  # the missing values, in source order after every number
            missing = f"{self.v} IS NULL"
            start = max(offset, n) - n
            parts.append(
                _ids(
                    self.engine,
                    self.relation,
                    f"SELECT {ROW} FROM {{src}} WHERE ({self.where}) AND {missing} "
                    f"ORDER BY {ROW} LIMIT {int(stop - n - start)} OFFSET {int(start)}",
                    self.params,
                )
            )
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _range(self) -> tuple[Any, Any]:
        if self._bounds is None:
            bounds_of = getattr(self.relation, "finite_bounds", None)  # Parquet statistics
            bounds = bounds_of(self.name) if bounds_of is not None else None
            if bounds is None:
                v = self.v
                first = _run(
                    self.engine,
                    self.relation,
                    f"SELECT min({v}), max({v}) FROM {{src}} WHERE {self.where}",
                    self.params,
                )
                bounds = (first.column(0)[0].as_py(), first.column(1)[0].as_py())
            self._bounds = bounds
        return self._bounds

    def holds(self, offset: int, stop: int) -> bool:
        """Whether :meth:`ids` answers ``[offset, stop)`` from what is kept, with no query."""
        with self._lock:
            n = self.numbers
            return n is not None and stop <= n and self._kept(offset, stop) is not None

    def _kept(self, a: int, b: int) -> np.ndarray | None:
        n = self.numbers
        assert n is not None
        if min(b, n) <= a:
            return np.zeros(0, dtype=np.int64)
        for first, ids in reversed(self.windows):
            if first <= a and min(b, n) <= first + len(ids):
                return ids[a - first : min(b, n) - first]
        return None

    def _numbers(self, a: int, b: int, lo: float, hi: float) -> tuple[np.ndarray, int] | None:
        """Ranks ``[a, b)`` among the numbers, from a window kept or a new one."""
        if self.numbers is not None:
            kept = self._kept(a, b)
            if kept is not None:
                return kept, self.numbers
        started = time.perf_counter()
        found = _numbers(
            self.engine,
            self.relation,
            (self.x, self.v),
            self.where,
            list(self.params),
            self.desc,
            a,
            b,
            lo,
            hi,
            0,
            self,
        )
        if found is None:
            return None
        (first, ids), n = found
        self.numbers = n
        self.scan_seconds = time.perf_counter() - started
        if len(ids):
            self.windows = [*self.windows[-(KEEP_WINDOWS - 1) :], (first, ids)]
        return ids[a - first : max(a, min(b, n)) - first], n


def _exact(v: object, is_float: bool) -> bool:
    """Finite, and for integers held exactly by the DOUBLE the bins are computed in."""
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return False
    return is_float or abs(v) < EXACT_INT


def _numbers(
    engine: Engine,
    relation: Relation,
    col: tuple[str, str],
    where: str,
    params: list[object],
    desc: bool,
    a: int,
    b: int,
    lo: float,
    hi: float,
    rounds: int,
    top: Ranks | None = None,
) -> tuple[Window, int] | None:
    """The window of ranks holding ``[a, b)`` among the numbers ``where`` keeps (all within
    ``[lo, hi]``) and how many numbers it keeps; None where the bins cannot tell (see the
    module docstring). ``top`` keeps the first histogram for the next call."""
    x, v = col
    k = len(params)
    inside = f"({where}) AND {v} >= ${k + 1} AND {v} <= ${k + 2}"
    params = [*params, lo, hi]
    if lo == hi:  # one value: its rows in source order
        n = int(
            _run(engine, relation, f"SELECT count(*) FROM {{src}} WHERE {inside}", params)
            .column(0)[0]
            .as_py()
        )
        b = min(b, n)
        if b <= a:
            return (a, np.zeros(0, dtype=np.int64)), n
        got = _ids(
            engine,
            relation,
            f"SELECT {ROW} FROM {{src}} WHERE {inside} "
            f"ORDER BY {ROW} LIMIT {int(b - a)} OFFSET {int(a)}",
            params,
        )
        return (a, got), n
    width = float(hi) - float(lo)
    scale = BINS / width if width > 0 else math.inf
    if not math.isfinite(width) or not math.isfinite(scale) or rounds >= MAX_ROUNDS:
        return None
    k = len(params)
    # DOUBLE arithmetic, clamped: monotone in x, the same expression in both queries.
    bin_sql = f"least({BINS - 1}, greatest(0, floor(({v}::DOUBLE - ${k + 1}) * ${k + 2})))::BIGINT"
    params = [*params, float(lo), scale]
    ends = top.ends if top is not None else None
    if ends is None:
        hist = _run(
            engine,
            relation,
            f"SELECT {bin_sql} AS b, count(*) AS c FROM {{src}} WHERE {inside} GROUP BY b",
            params,
        )
        counts = np.zeros(BINS, dtype=np.int64)
        counts[np.asarray(hist.column(0).to_numpy(), dtype=np.int64)] = hist.column(1).to_numpy()
        ends = np.cumsum(counts[::-1] if desc else counts)
        if top is not None:
            top.ends = ends
    n = int(ends[-1])
    b = min(b, n)
    if b <= a:
        return (a, np.zeros(0, dtype=np.int64)), n
    first = int(np.searchsorted(ends, a, side="right"))  # the bin holding rank a
    last = int(np.searchsorted(ends, b - 1, side="right"))  # ... and rank b - 1
    before = int(ends[first - 1]) if first else 0
    window = int(ends[last]) - before
    b1, b2 = (BINS - 1 - last, BINS - 1 - first) if desc else (first, last)
    # The bins' values, a bin wider each side (rounding), as a plain range the scan can
    # apply itself; the exact bins are checked on what it keeps.
    near_lo = lo + (b1 - 1) * width / BINS
    near_hi = lo + (b2 + 2) * width / BINS
    if isinstance(lo, int):
        near_lo, near_hi = math.floor(near_lo), math.ceil(near_hi)
    k = len(params)
    chosen = (
        f"{inside} AND {x} >= ${k + 1} AND {x} <= ${k + 2} "
        f"AND {bin_sql} BETWEEN ${k + 3} AND ${k + 4}"
    )
    params = [*params, max(lo, near_lo), min(hi, near_hi), b1, b2]
    if window > MAX_WINDOW:
        edges = _run(
            engine, relation, f"SELECT min({v}), max({v}) FROM {{src}} WHERE {chosen}", params
        )
        lo2, hi2 = edges.column(0)[0].as_py(), edges.column(1)[0].as_py()
        deeper = _numbers(
            engine,
            relation,
            col,
            chosen,
            params,
            desc,
            a - before,
            b - before,
            lo2,
            hi2,
            rounds + 1,
        )
        if deeper is None:
            return None
        (first, got), _ = deeper
        return (before + first, got), n
    rows = _run(engine, relation, f"SELECT {ROW}, {v} FROM {{src}} WHERE {chosen}", params)
    ids = np.asarray(rows.column(0).to_numpy(), dtype=np.int64)
    values = np.asarray(rows.column(1).to_numpy(), dtype=np.float64)
    order = np.lexsort((ids, -values if desc else values))
    return (before, ids[order]), n


def _run(engine: Engine, relation: Relation, sql: str, params: list[object]) -> pa.Table:
    """``sql`` with ``{src}`` standing for the relation (split, not formatted: nothing else
    in it is touched)."""
    head, sep, tail = sql.partition("{src}")
    assert sep and "{src}" not in tail
    with engine.connection(relation) as con:
        return run_arrow(con, head + relation.sql(con) + tail, params, engine.budget)


def _ids(engine: Engine, relation: Relation, sql: str, params: list[object]) -> np.ndarray:
    got = _run(engine, relation, sql, params)
    return np.asarray(got.column(0).to_numpy(), dtype=np.int64)
