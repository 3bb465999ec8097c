"""A sorted view's first rows, from one top-N query (issue 15: sorted first pages).

A shallow page of a new sort used to be two reads: a top-N over the ids alone, then the
page's rows by id. The ids of a sorted page are scattered over the whole file, so that read
by id (``file_row_number IN (...)``) scanned every row group again: at 10M rows the pair
cost about 1.3x DuckDB's own ``SELECT * ... ORDER BY ... LIMIT``. Over Parquet the page's
columns are now selected by the top-N itself, whose late materialization reads them for the
winning rows only; :func:`rows_for` then hands the page its rows without a second read.
(Arrow sources select ids alone: a ``take`` in memory is already free.)

**NaN and the plain column.** A float first sort key is first sorted as the plain column,
not NaN-as-null (``column_sql``): DuckDB then prunes the scan with the top-N's running
bound and reads a fraction of the file (18 ms instead of 560 ms at 10M rows). The plain
order differs only where NaN or null are: DuckDB sorts NaN above every number (first when
descending) and null last. So the answer is taken only when its ``stop`` rows are all
numbers: ascending, the plain prefix is then the view's; descending, NaN rows are excluded
with ``x < NaN`` (false for NaN and null) when the plain query met any. When fewer than
``stop`` numbers match, the exact NaN-as-null query decides.

**No tie-break where no tie can matter.** ``_row`` after the sort keys only decides among equal
keys, yet DuckDB pays for it on every row it compares (10-15% of the top-N at 10M rows, the
whole gap to DuckDB's own ``ORDER BY score DESC LIMIT 50``). A view sorted by one float column
therefore asks for ``stop + 1`` rows ordered by the key alone. If the key at ``stop - 1``
differs from the one at ``stop``, the first ``stop`` rows are exactly the rows whose key comes
before the ``stop``-th one's: the set is the view's whatever the tie-break, and equal keys
inside it are put in ``_row`` order here (runs of equal keys sorted by id, as pandas' stable
sort keeps them). If they are equal the set depends on the tie-break: the exact query with
``_row`` decides, and the column is remembered as tied for this relation (rounded scores, 0/1
floats), so its next first pages go straight to the exact query instead of paying for two.
The connection's ``late_materialization_max_rows`` (``_connection``) covers ``stop + 1``, so
the page's other columns are still read for the winning rows only.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dsviz_widget.engine._budget import run_arrow
from dsviz_widget.engine._relation import ROW, Relation

if TYPE_CHECKING:
    from dsviz_widget.engine._engine import Engine


@dataclass(frozen=True)
class TopRows:
    """The first ids of a sorted view and, when read with them, their rows (``columns``
    and ``_row``, in the ids' order)."""

    ids: np.ndarray
    rows: pa.Table | None
    columns: tuple[str, ...]


def top_rows(
    engine: Engine,
    relation: Relation,
    where: str,
    params: list[object],
    sort: list[tuple[str, bool]],
    order_by: Callable[[str | None], str],
    stop: int,
    columns: list[str],
) -> TopRows:
    """The first ``stop`` rows of the view sorted by ``sort`` (``order_by(first)``: the
    view's ORDER BY, ``first`` replacing its first key's SQL), with their rows when the
    relation can select ``columns`` in the same query (see the module docstring)."""
    select_of = getattr(relation, "page_select", None)
    select: str | None = select_of(columns) if select_of is not None else None

    def run(
        where_sql: str, order: str, key: str | None, limit: int = stop
    ) -> tuple[TopRows, np.ndarray | None]:
        parts = [ROW, *([f"{key} AS _k"] if key else []), *([select] if select else [])]
        with engine.connection(relation) as con:
            sql = (
                f"SELECT {', '.join(parts)} FROM {relation.sql(con)} WHERE {where_sql} "
                f"ORDER BY {order} LIMIT {int(limit)}"
            )
            got = run_arrow(con, sql, params, engine.budget)
        ids = np.asarray(got.column(0).to_numpy(), dtype=np.int64)
        keys = None
        if key:
            k = got.column(1).cast(pa.float64())
            keys = np.asarray(pc.fill_null(k, float("nan")).to_numpy(), dtype=np.float64)
        rows = None
        if select:
            as_page = relation.as_page  # type: ignore[attr-defined]  # has page_select
            rows = as_page(got, 2 if key else 1, columns, ids)
        return TopRows(ids, rows, tuple(columns)), keys

    name, desc = sort[0]
    info = relation.columns[name]
    if info.is_float:
        key = info.ident
        first = f"{key} {'DESC' if desc else 'ASC'} NULLS LAST"
        tied = _TIED.setdefault(relation, set())
        if len(sort) == 1 and name not in tied:
            found, keys = run(where, first, key, stop + 1)
            assert keys is not None
            if desc and len(keys) and bool(np.isnan(keys).any()):
                found, keys = run(f"({where}) AND {key} < 'NaN'::DOUBLE", first, key, stop + 1)
                assert keys is not None
            if len(keys) >= stop and not bool(np.isnan(keys[:stop]).any()):
                if len(keys) == stop or keys[stop - 1] != keys[stop]:
                    return _in_row_order(found, keys, stop)
                tied.add(name)  # the set depends on the tie-break: the exact query below
        order = order_by(first)
        found, keys = run(where, order, key)
        assert keys is not None
        if desc and len(keys) and bool(np.isnan(keys).any()):
            found, keys = run(f"({where}) AND {key} < 'NaN'::DOUBLE", order, key)
            assert keys is not None
        if len(keys) == stop and not bool(np.isnan(keys).any()):
            return found
    return run(where, order_by(None), None)[0]


_TIED: weakref.WeakKeyDictionary[Relation, set[str]] = weakref.WeakKeyDictionary()
"""Float columns of a relation whose first page met equal keys at its boundary."""


def _in_row_order(found: TopRows, keys: np.ndarray, stop: int) -> TopRows:
    """The first ``stop`` of ``found`` (ordered by ``keys`` alone, ties in any order) with
    each run of equal keys in ``_row`` order: the view's order (see the module docstring)."""
    ids = found.ids
    if len(keys) > 1:
        run = np.concatenate([[0], np.cumsum(keys[1:] != keys[:-1])])
        order = np.lexsort((ids, run))[:stop]
    else:
        order = np.arange(min(len(ids), stop))
    rows = found.rows
    return TopRows(ids[order], None if rows is None else rows.take(pa.array(order)), found.columns)


def rows_for(top: TopRows | None, ids: np.ndarray, columns: list[str]) -> pa.Table | None:
    """The rows of ``ids`` (in that order) if ``top`` read them all, else None."""
    if top is None or top.rows is None or top.columns != tuple(columns) or not len(top.ids):
        return None
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(top.ids, kind="stable")
    at = np.searchsorted(top.ids, ids, sorter=order)
    at = np.minimum(at, len(order) - 1)
    pos = order[at]
    if not bool(np.array_equal(top.ids[pos], ids)):
        return None  # another page of the view (or another thread's top-N): read by id
    return top.rows.take(pa.array(pos))
