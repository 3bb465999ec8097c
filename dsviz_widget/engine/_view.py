"""A view: one query over one relation, with exact counts and pages at any depth.

The view's row order is kept as an array of ``_row`` ids (int32 when the table allows,
so 10M rows cost 40 MB). The first pages of a new sort are answered by a top-N query,
which is fast, while the full order is computed once in the background; every later
page is a slice of that array plus a fetch by id, so its cost does not grow with depth.
"""

from __future__ import annotations

import atexit
import math
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

from dsviz_widget.engine._compile import ColumnInfo, column_sql, compile_filter, quote_ident
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._parser import parse_filter
from dsviz_widget.engine._query import (
    AGGREGATES,
    DEFAULT_AGGREGATES,
    Query,
    check_columns,
    parse_sort_key,
)
from dsviz_widget.engine._relation import ROW, Relation
from dsviz_widget.engine._summary import summarize

if TYPE_CHECKING:
    from dsviz_widget.engine._engine import Engine

TOP_N = 2_000  # pages ending above this depth wait for the materialised order
MAX_LIMIT = 100_000
SAMPLE_ROWS = 4
# DuckDB aborts the process if the interpreter exits while a daemon thread is inside a
# query, so exit waits for the (bounded, about a second) background sorts to finish.
_BACKGROUND: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


@atexit.register
def _join_background() -> None:
    for thread in list(_BACKGROUND):
        thread.join()


_AGG_SQL = {"mean": "avg", "min": "min", "max": "max", "sum": "sum", "count": "count"}


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]
            ) -> duckdb.DuckDBPyConnection:
    """Execute, turning DuckDB's errors (overflow, bad cast) into a QueryError."""
    try:
        return con.execute(sql, params)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(f"the query failed: {first}") from exc


def run_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> pa.Table:
    """Like :func:`run_sql`, returning Arrow (``con.sql`` avoids the DB-API extra copy)."""
    try:
        return con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(f"the query failed: {first}") from exc


class View:
    """Rows of a relation under a :class:`Query`. Made by :meth:`Engine.view`.

    Attributes
    ----------
    total_rows:
        Rows in the source, unfiltered.
    num_rows:
        Rows matching the filter; with ``group_by``, the number of groups.
    """

    def __init__(self, engine: Engine, relation: Relation, query: Query) -> None:
        self.engine = engine
        self.relation = relation
        self.query = query
        cols = relation.columns
        names = list(cols)
        self.columns: list[str] = list(query.columns) if query.columns is not None else names
        check_columns(self.columns, names, "columns")
        self.params: list[object] = []
        self.where = "TRUE"
        if query.filter is not None:
            dicts = [c for c, info in cols.items() if info.kind == "dict"]
            tree = parse_filter(query.filter, names, dicts)
            self.where = compile_filter(tree, query.filter, cols, self.params).sql
        self.group_by = list(query.group_by)
        check_columns(self.group_by, names, "group_by")
        for g in self.group_by:
            if cols[g].cls == "opaque":
                raise QueryError(f"group_by: column {g!r} is an {cols[g].kind} column and "
                                 "cannot be grouped; group by one of its derived columns")
        self.total_rows = relation.num_rows
        self._order: np.ndarray | None = None
        self._order_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._groups: pa.Table | None = None
        if self.group_by:
            self._groups = self._run_groups()
            self.num_rows = self._groups.num_rows
            return
        self.sort = [parse_sort_key(k, names) for k in query.sort]
        for name, _ in self.sort:
            if cols[name].cls == "opaque":
                raise QueryError(f"sort: column {name!r} is an {cols[name].kind} column and "
                                 "cannot be sorted; sort by one of its derived columns")
        if query.filter is None:
            self.num_rows = self.total_rows
        else:
            self.num_rows = int(self._scalar(lambda src: f"SELECT count(*) FROM {src} WHERE "
                                             f"{self.where}"))

    # -- SQL helpers ---------------------------------------------------------------
    def _scalar(self, make_sql: Callable[[str], str]) -> Any:
        # A callback, not str.format: column names inside the SQL may contain braces.
        with self.engine._lock:
            con = self.engine._connection(self.relation)
            rows = run_sql(con, make_sql(self.relation.sql(con)), self.params).fetchall()
        return rows[0][0] if rows else None

    def _order_by(self) -> str:
        keys = [f"{column_sql(self.relation.columns[n])} {'DESC' if desc else 'ASC'} NULLS LAST"
                for n, desc in self.sort]
        return ", ".join([*keys, f"{ROW} ASC"])

    def _ids_sql(self, src: str, limit: int | None = None) -> str:
        sql = f"SELECT {ROW} FROM {src} WHERE {self.where}"
        if self.sort:
            sql += f" ORDER BY {self._order_by()}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql

    # -- row order -----------------------------------------------------------------
    @property
    def natural(self) -> bool:
        """No filter and no sort: row ids are simply ``offset .. offset + limit``."""
        return self.query.filter is None and not self.sort

    def _materialise(self, con: duckdb.DuckDBPyConnection) -> np.ndarray:
        src = self.relation.sql(con)
        dtype = "INTEGER" if self.total_rows < 2**31 else "BIGINT"
        sql = self._ids_sql(src).replace(f"SELECT {ROW}", f"SELECT {ROW}::{dtype} AS r", 1)
        ids = run_sql(con, sql, self.params).fetchnumpy()["r"]
        ids = np.asarray(ids)
        if not self.sort and len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            ids = np.sort(ids)  # the scan should keep source order; never rely on it silently
        return ids

    def _start_background(self) -> None:
        if self._thread is not None or self._order is not None:
            return
        cursor = self.engine._cursor(self.relation)

        def work() -> None:
            try:
                self._order = self._materialise(cursor)
            except BaseException as exc:  # reported by the next page() that needs it
                self._order_error = exc
            finally:
                cursor.close()

        self._thread = threading.Thread(target=work, name="dsviz-order", daemon=True)
        _BACKGROUND.add(self._thread)
        self._thread.start()

    def order(self) -> np.ndarray:
        """The view's ``_row`` ids in display order (computed once, then reused)."""
        if self.natural:
            return np.arange(self.total_rows, dtype=np.int64)
        if self._order is None:
            if self._thread is not None:
                self._thread.join()
                if self._order_error is not None:
                    err, self._order_error, self._thread = self._order_error, None, None
                    raise err
            if self._order is None:
                with self.engine._lock:
                    self._order = self._materialise(self.engine._connection(self.relation))
        assert self._order is not None
        return self._order

    def ids(self, offset: int, limit: int) -> np.ndarray:
        """Row ids of ``[offset, offset + limit)`` of the view."""
        stop = min(offset + limit, self.num_rows)
        if stop <= offset:
            return np.zeros(0, dtype=np.int64)
        if self.natural:
            return np.arange(offset, stop, dtype=np.int64)
        if self._order is None and self.num_rows <= TOP_N:
            with self.engine._lock:
                self._order = self._materialise(self.engine._connection(self.relation))
        if self._order is None and stop <= TOP_N and self._thread is None:
            with self.engine._lock:
                con = self.engine._connection(self.relation)
                sql = self._ids_sql(self.relation.sql(con), limit=stop)
                got = run_sql(con, sql, self.params).fetchnumpy()[ROW]
            if self.engine.background:
                self._start_background()
            return np.asarray(got, dtype=np.int64)[offset:stop]
        return np.asarray(self.order()[offset:stop], dtype=np.int64)

    # -- public API ------------------------------------------------------------------
    def page(self, offset: int = 0, limit: int = 50) -> pa.Table:
        """Rows ``offset .. offset + limit`` of the view as Arrow.

        Columns are the storage representation of the selected columns plus ``_row``
        (int64, the row's position in the source). With ``group_by``: one row per group
        with the key columns, ``count``, the aggregates and ``_sample_rows``.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Query, Source
        >>> src = Source.from_arrow(pa.table({"x": [3, 1, 2]}))
        >>> Engine().view(src, Query(sort=["-x"])).page(0, 2).to_pydict()
        {'x': [3, 2], '_row': [0, 2]}
        """
        offset, limit = _check_paging(offset, limit)
        if self._groups is not None:
            return self._groups.slice(offset, limit)
        stop = min(offset + limit, self.num_rows)
        if (not self.natural and self._order is None and self._thread is None
                and self.num_rows > TOP_N and offset < stop <= TOP_N):
            return self._top_page(offset, stop)
        ids = self.ids(offset, limit)
        with self.engine._lock:
            con = self.engine._connection(self.relation)
            try:
                return self.relation.fetch(con, ids, self.columns)
            except duckdb.Error as exc:
                raise QueryError(f"reading rows failed: {exc}") from exc

    def _top_page(self, offset: int, stop: int) -> pa.Table:
        """A shallow page straight from a top-N query (one scan), before the order exists."""
        cols = ", ".join(quote_ident(c) for c in self.columns)
        with self.engine._lock:
            con = self.engine._connection(self.relation)
            sql = self._ids_sql(self.relation.sql(con), limit=stop - offset).replace(
                f"SELECT {ROW}", f"SELECT {cols}, {ROW}", 1) + f" OFFSET {int(offset)}"
            got = run_arrow(con, sql, self.params)
        if self.engine.background:
            self._start_background()
        fields = [self.relation.columns[c] for c in self.columns]
        arrays = [got.column(f.name) if got.column(f.name).type == f.type
                  else got.column(f.name).cast(f.type) for f in fields]
        table = pa.table([*arrays, got.column(ROW).cast(pa.int64())],
                         names=[*self.columns, ROW])
        meta = getattr(getattr(self.relation, "source", None), "schema", None)
        if meta is not None:
            table = table.cast(pa.schema(
                [*(meta.field(c) for c in self.columns), pa.field(ROW, pa.int64())],
                metadata=meta.metadata))
        return table

    def summary(self, column: str, bins: int = 20) -> dict[str, Any]:
        """Histogram or top values of ``column`` over the rows matching the filter.

        Numbers: ``{"type": "histogram", "edges", "counts", "nulls", "min", "max"}``
        (NaN counts as null). Strings, bools and other values: ``{"type": "top",
        "values", "counts", "nulls", "distinct"}``. Image, audio and array columns:
        ``{"type": "none", "nulls", "count"}``.
        """
        check_columns([column], list(self.relation.columns), "summary")
        info: ColumnInfo = self.relation.columns[column]
        with self.engine._lock:
            con = self.engine._connection(self.relation)
            try:
                return summarize(con, self.relation.sql(con), self.where, list(self.params),
                                 info, bins=bins)
            except duckdb.Error as exc:
                raise QueryError(f"summary of {column!r} failed: {exc}") from exc

    def group_query(self, key_values: dict[str, Any]) -> Query:
        """The same query restricted to one group, with ``group_by`` removed.

        Examples
        --------
        >>> View.group_filter({"label": "cat", "n": None})
        '`label` == "cat" and `n` is null'
        """
        missing = [k for k in self.group_by if k not in key_values]
        if missing:
            raise QueryError(f"group_query: missing values for group keys {missing}")
        part = View.group_filter({k: key_values[k] for k in self.group_by})
        text = f"({self.query.filter}) and {part}" if self.query.filter else part
        cols = list(self.relation.columns)
        sort = [k for k in self.query.sort if k.lstrip("+-") in cols or k in cols]
        return Query(filter=text, sort=sort, columns=self.query.columns)

    @staticmethod
    def group_filter(key_values: dict[str, Any]) -> str:
        """Filter text matching exactly the rows whose columns equal ``key_values``."""
        parts = []
        for name, value in key_values.items():
            ident = "`" + name.replace("`", "``") + "`"
            if value is None or (isinstance(value, float) and math.isnan(value)):
                parts.append(f"{ident} is null")
            else:
                parts.append(f"{ident} == {format_literal(value)}")
        return " and ".join(parts)

    # -- group-by --------------------------------------------------------------------
    def _aggregates(self) -> list[tuple[str, str, str]]:
        cols = self.relation.columns
        spec = self.query.aggregates
        if spec is None:
            spec = {c: DEFAULT_AGGREGATES for c, i in cols.items()
                    if i.cls == "num" and c not in self.group_by}
        out: list[tuple[str, str, str]] = []
        check_columns(list(spec), list(cols), "aggregates")
        for col, funcs in spec.items():
            for fn in ([funcs] if isinstance(funcs, str) else funcs):
                if fn not in AGGREGATES:
                    raise QueryError(f"aggregates: unknown function {fn!r}; use one of "
                                     f"{', '.join(AGGREGATES)}")
                if fn != "count" and cols[col].cls != "num":
                    raise QueryError(f"aggregates: {fn}({col}) needs a numeric column")
                out.append((f"{fn}({col})", fn, col))
        return out

    def _run_groups(self) -> pa.Table:
        cols = self.relation.columns
        keys = [quote_ident(g) for g in self.group_by]
        aggs = self._aggregates()
        select = [*keys, 'count(*) AS "count"']
        for out_name, fn, col in aggs:
            select.append(f"{_AGG_SQL[fn]}({column_sql(cols[col])}) AS {quote_ident(out_name)}")
        select.append(f"min({ROW}, {SAMPLE_ROWS}) AS _sample_rows")
        out_names = [*self.group_by, "count", *(a[0] for a in aggs)]
        order = []
        for key in self.query.sort:
            name, desc = parse_sort_key(key, out_names)
            order.append(f"{quote_ident(name)} {'DESC' if desc else 'ASC'} NULLS LAST")
        order += [f"{k} ASC NULLS LAST" for k in keys]
        with self.engine._lock:
            con = self.engine._connection(self.relation)
            sql = (f"SELECT {', '.join(select)} FROM {self.relation.sql(con)} "
                   f"WHERE {self.where} GROUP BY {', '.join(keys)} ORDER BY {', '.join(order)}")
            table = run_arrow(con, sql, self.params)
        fields = []
        for f in table.schema:
            if f.name in cols:
                fields.append(table.column(f.name).cast(cols[f.name].type))
            elif f.name == "_sample_rows":
                fields.append(table.column(f.name).cast(pa.list_(pa.int64())))
            elif f.name == "count":
                fields.append(table.column(f.name).cast(pa.int64()))
            else:
                fields.append(table.column(f.name))
        return pa.table(fields, names=table.column_names)


def format_literal(value: Any) -> str:
    """Filter-language text for a Python value (inverse of the tokenizer's literals)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        return repr(value)
    text = str(value)
    out = []
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ord(ch) < 32:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _check_paging(offset: object, limit: object) -> tuple[int, int]:
    for name, v in (("offset", offset), ("limit", limit)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or int(v) < 0:
            raise QueryError(f"{name} must be a non-negative integer, got {v!r}")
    if int(limit) > MAX_LIMIT:  # type: ignore[call-overload]
        raise QueryError(f"limit must be at most {MAX_LIMIT}, got {limit}")
    return int(offset), int(limit)  # type: ignore[call-overload]


SortKeys = Sequence[tuple[str, bool]]
Materialiser = Callable[[duckdb.DuckDBPyConnection], np.ndarray]
