"""A view: one query over one relation, with exact counts and pages at any depth.

Pages are read by ``_row`` id. The first pages of a new sort or filter come from a top-N
query (over Parquet it selects the page's columns too, see ``_top``; otherwise only
``_row``, followed by a read of those few rows). Meanwhile the view's full order is written, in the background,
to a private temp file (see ``_background``); every later page at any depth is a slice of
that file plus a read by id, so its cost does not grow with depth and memory stays flat.
Unsorted, unfiltered views need no order: page ``k`` is rows ``k*n .. (k+1)*n``.

A filtered view does not count its rows when made: its shallow pages come from the top-N
alone (rows first), and :attr:`View.num_rows` counts once someone asks (the widget right
after drawing, ``table.count()`` in Python), then starts the background order.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

from dsviz_widget.engine import _lifecycle as lifecycle
from dsviz_widget.engine._background import BackgroundWorker, OrderJob, StoreTooBig
from dsviz_widget.engine._budget import BudgetError, query_timeout, run_sql
from dsviz_widget.engine._changes import quote_name
from dsviz_widget.engine._columns import SqlColumn, column_sql, unusable
from dsviz_widget.engine._compile import compile_filter
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._groups import Groups, check_group_by, drill_query, match_sql
from dsviz_widget.engine._pages import RecentPages
from dsviz_widget.engine._parser import parse_filter
from dsviz_widget.engine._query import Query, check_columns, parse_sort_key
from dsviz_widget.engine._rank import Ranks
from dsviz_widget.engine._relation import ROW, Relation
from dsviz_widget.engine._summary import SAMPLE_ROWS, summarize
from dsviz_widget.engine._top import TopRows, rows_for, top_rows

if TYPE_CHECKING:
    from dsviz_widget.engine._engine import Engine
    from dsviz_widget.engine._lifecycle import ViewHolder

TOP_N = 2_000  # pages ending above this depth wait for the view's order
ORDER_WAIT_S = 300.0  # then a deep page gives up waiting and sorts with OFFSET itself
ORDER_PATIENCE_S = 1.0  # a page away from the bins kept waits this long for the order (ids)
# ... but stops waiting as soon as DuckDB's progress says the order needs more than this many
# times the patience left (its estimate runs high early on: never stop a 10M-row order that
# would have made it), and reads its bins at once instead (100M rows: a ~15 s order).
ORDER_HOPELESS = 4.0
ORDER_POLL_S = 0.1
MAX_LIMIT = 100_000


def ids_query(
    where: str, order_by: str | None, cast: str = "", limit: int | None = None, offset: int = 0
) -> Callable[[str], str]:
    """FROM-able source SQL -> ``SELECT _row`` of the view, in view order."""

    def make(src: str) -> str:
        sql = f"SELECT {ROW}{cast} AS {ROW} FROM {src} WHERE {where}"
        if order_by is not None:
            sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
            if offset:
                sql += f" OFFSET {int(offset)}"
        return sql

    return make


def _drop_order(worker: BackgroundWorker, job: OrderJob) -> None:
    worker.cancel(job)
    if job.done.is_set():
        job.discard()


class View:
    """Rows of a relation under a :class:`Query`. Made by :meth:`Engine.view`.

    Attributes
    ----------
    total_rows:
        Rows in the source, unfiltered.
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
        if query.match:
            match = match_sql(engine, relation, dict(query.match), self.params)
            self.where = f"({self.where}) AND {match}"
        self.group_by = check_group_by(cols, query.group_by)
        self.total_rows = relation.num_rows
        self._order: np.ndarray | None = None  # small views: the order in memory
        self._top: TopRows | None = None  # the last top-N's ids and rows (see _top)
        self._job: OrderJob | None = None  # bigger ones: the order in a temp file
        self._job_lock = threading.Lock()  # two threads paging one view make one order
        self._start_pending = False
        # Deep pages answered from bins while the order is built (_rank); False: they cannot be.
        self._ranks: Ranks | bool | None = None
        #: With ``group_by``: the groups, computed in two stages when asked (see ``Groups``).
        self.groups: Groups | None = None
        # Rows matching the filter, counted when first asked (see num_rows): None until then.
        self._num_rows: int | None = None
        self._count_lock = threading.Lock()
        #: Set by the engine for row views: where their count is shared with other sorts.
        self.count_key: Hashable | None = None
        self.count_anchor: object = None  # the source, kept alive with a remembered count
        self.count_column = "count"
        self.samples_column = "_sample_rows"
        # Who uses the view (see ``_lifecycle``): the widgets holding it, and whether Python
        # (``table.query``, a holder-less call) asked for it; set by ``Engine.view``.
        self.holders: weakref.WeakSet[ViewHolder] = weakref.WeakSet()
        self.anonymous = False
        #: The last pages read: the same page asked again is not read again (see ``_pages``).
        self.pages = RecentPages()
        if self.group_by:
            self.groups = Groups(engine, relation, query, self.where, self.params)
            self.count_column = self.groups.count_column
            self.samples_column = self.groups.samples_column
            return
        self.sort = [parse_sort_key(k, names) for k in query.sort]
        for name, _ in self.sort:
            if cols[name].cls == "opaque":
                raise QueryError(f"sort: column {name!r} {unusable(cols[name], 'sorted')}")
        if query.filter is None and not query.match:
            self._num_rows = self.total_rows

    # -- count -----------------------------------------------------------------------
    @property
    def counted(self) -> bool:
        """Whether :attr:`num_rows` is known without a query (a filtered view's first page
        does not count: rows first, the exact count when asked)."""
        if self.groups is not None:
            return self.groups.known is not None
        if self._num_rows is None and self.count_key is not None:
            known = self.engine.known_count(self.count_key)
            if known is not None:
                with self._count_lock:
                    if self._num_rows is None:
                        self._num_rows = known
        return self._num_rows is not None

    @property
    def num_rows(self) -> int:
        """Rows matching the filter; with ``group_by``, the number of groups. A filtered
        view counts on first use (one scan, then kept; two threads asking count once)."""
        if self.groups is not None:
            return len(self.groups)
        if self.counted:
            return self._num_rows  # type: ignore[return-value]  # counted: set
        with self._count_lock:
            if self._num_rows is not None:
                return self._num_rows
            n = int(self._scalar(lambda src: f"SELECT count(*) FROM {src} WHERE {self.where}"))
            self._num_rows = n
        if self.count_key is not None:
            self.engine.remember_count(self.count_key, n, self.count_anchor)
        if self._start_pending:  # a shallow page ran uncounted: the order for later pages
            self._start_pending = False
            self._order_job()
        return n

    def _uncounted_ids(self, offset: int, limit: int) -> np.ndarray:
        """A shallow page of a view not counted yet: top-N over the ids, no count. Fewer ids
        than asked means these are all of them: the count and the whole order, for free."""
        stop = offset + limit
        got = self._top_ids(stop)  # exact: fewer than stop only when the view has fewer
        self._learn_from_top(got, stop)
        return got[offset:stop]

    def _learn_from_top(self, got: np.ndarray, stop: int) -> None:
        if len(got) < stop:
            with self._count_lock:
                self._order = got
                self._num_rows = len(got)
            if self.count_key is not None:
                self.engine.remember_count(self.count_key, len(got), self.count_anchor)
        else:
            self._start_pending = self.engine.background

    # -- SQL helpers ---------------------------------------------------------------
    def _scalar(self, make_sql: Callable[[str], str]) -> Any:
        # A callback, not str.format: column names inside the SQL may contain braces.
        with self.engine.connection(self.relation) as con:
            rows = run_sql(
                con, make_sql(self.relation.sql(con)), self.params, self.engine.budget
            ).fetchall()
        return rows[0][0] if rows else None

    def _order_by(self, first: str | None = None) -> str:
        """The view's ORDER BY; ``first`` replaces the first sort key's SQL."""
        keys = [
            f"{column_sql(self.relation.columns[n])} {'DESC' if desc else 'ASC'} NULLS LAST"
            for n, desc in self.sort
        ]
        if first is not None:
            keys[0] = first
        return ", ".join([*keys, f"{ROW} ASC"])

    def _ids_sql(
        self, limit: int | None = None, offset: int = 0, cast: str = "", ordered: bool = False
    ) -> Callable[[str], str]:
        """The view's ids in order. Without a sort, the scan's order is the source order
        (``preserve_insertion_order``); ``ordered`` adds an explicit ``ORDER BY _row``."""
        order_by = self._order_by() if self.sort else (f"{ROW} ASC" if ordered else None)
        return ids_query(self.where, order_by, cast, limit, offset)

    # -- row order -----------------------------------------------------------------
    @property
    def natural(self) -> bool:
        """No filter and no sort: row ids are simply ``offset .. offset + limit``."""
        return self.query.filter is None and not self.query.match and not self.sort

    def _run_ids(self, make_sql: Callable[[str], str]) -> np.ndarray:
        """Run an ids query in the foreground; ids of an unsorted view come back sorted."""
        with self.engine.connection(self.relation) as con:
            got = run_sql(
                con, make_sql(self.relation.sql(con)), self.params, self.engine.budget
            ).fetchnumpy()[ROW]
        ids = np.asarray(got, dtype=np.int64)
        if not self.sort and len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            ids = np.sort(ids)  # the scan should keep source order; never rely on it silently
        return ids

    def _top_ids(self, stop: int) -> np.ndarray:
        """The first ``stop`` ids of the view: a top-N query (see ``_top``), which for a
        sort over Parquet also reads the page's rows (kept for :meth:`page`)."""
        if not self.sort:
            return self._run_ids(self._ids_sql(limit=stop))
        got = top_rows(
            self.engine,
            self.relation,
            self.where,
            self.params,
            self.sort,
            self._order_by,
            stop,
            self.columns,
        )
        self._top = got
        return got.ids

    def _order_job(self, urgent: bool = False) -> OrderJob:
        """This view's background order (created and queued on first use; ``urgent``: a
        page waits for it, so it goes before the row store the relation may start)."""
        with self._job_lock:
            job = self._job
            if job is None or (job.done.is_set() and (job.cancelled or job.error is not None)):
                big = self.total_rows >= 2**31
                dtype = np.dtype(np.int64 if big else np.int32)
                cast = "::BIGINT" if big else "::INTEGER"
                job = OrderJob(
                    self.relation,
                    self._ids_sql(cast=cast, ordered=True),
                    list(self.params),
                    dtype,
                    self.total_rows if self.query.filter is None and not self.query.match else None,
                    size_rows=self._num_rows,
                )
                self._job = job
                weakref.finalize(self, _drop_order, self.engine.worker, job)
                if self.engine.background:
                    if urgent:
                        self.engine.worker.submit(job, urgent=True)
                    self.relation.prepare(self.engine.worker)
                    self.engine.worker.submit(job)
        return job

    def _full_order(self) -> np.ndarray | None:
        """The whole order if it is (or can be made) available; None means: fall back."""
        if self._order is not None:
            return self._order
        if self.num_rows <= TOP_N:
            self._order = self._run_ids(self._ids_sql())
            return self._order
        job = self._order_job(urgent=True)
        if not self.engine.background and not job.done.is_set():
            self.engine.worker.run_sync(job)
        else:
            self.engine.worker.submit(job, urgent=True)  # first in the queue, as waited for
            lifecycle.wait(job.done, ORDER_WAIT_S)  # a cancelled request stops waiting
        if job.done.is_set() and job.error is None and not job.cancelled:
            return job.order()  # None: evicted just now (the next deep page makes it again)
        if isinstance(job.error, StoreTooBig):
            return None  # no room on disk for the order: sort with OFFSET instead
        if job.error is not None:
            err, self._job = job.error, None
            if isinstance(err, QueryError):
                raise err
            if isinstance(err, duckdb.OutOfMemoryException):
                raise BudgetError(
                    f"sorting the whole view needed more than the background "
                    f"memory budget ({self.engine.worker.memory_limit})"
                ) from err
            raise QueryError(f"the query failed: {err}") from err
        return None

    def _wait_for_order(self, job: OrderJob, patience: float) -> None:
        """Wait up to ``patience`` seconds for ``job``, or less once its progress shows it
        cannot be done in time (``ORDER_HOPELESS``): waiting longer would only delay the
        page's own scan."""
        end = time.monotonic() + patience
        while True:
            left = end - time.monotonic()
            if left <= 0 or lifecycle.wait(job.done, min(left, ORDER_POLL_S)):
                return
            eta = self.engine.worker.eta(job)
            if eta is not None and eta > ORDER_HOPELESS * (end - time.monotonic()):
                return

    def stop_background(self) -> None:
        """Nobody looks at this view now: its order, if still queued or being written, is
        cancelled (a running DuckDB sort interrupted), so it never competes with the view
        that is looked at. A finished order is kept; a later deep page starts it again."""
        with self._job_lock:
            self._start_pending = False
            job = self._job
            if job is None or job.done.is_set():
                return
            self._job = None
        _drop_order(self.engine.worker, job)

    def drop(self) -> None:
        """The view left the engine's cache for good: stop its order and remove its file."""
        with self._job_lock:
            self._start_pending = False
            job, self._job = self._job, None
        if job is not None:
            _drop_order(self.engine.worker, job)

    def order(self) -> np.ndarray:
        """The view's ``_row`` ids in display order (computed once, then reused)."""
        if self.natural:
            return np.arange(self.total_rows, dtype=np.int64)
        got = self._full_order()
        if got is None:
            got = self._run_ids(self._ids_sql())
        return np.array(got)

    def ids(self, offset: int, limit: int) -> np.ndarray:
        """Row ids of ``[offset, offset + limit)`` of the view."""
        if not self.counted and limit > 0 and offset + limit <= TOP_N:
            return self._uncounted_ids(offset, limit)
        stop = min(offset + limit, self.num_rows)
        if stop <= offset:
            return np.zeros(0, dtype=np.int64)
        if self.natural:
            return np.arange(offset, stop, dtype=np.int64)
        if self._order is not None:
            return np.asarray(self._order[offset:stop], dtype=np.int64)
        job = self._job
        ready = job is not None and job.done.is_set() and job.error is None and not job.cancelled
        if not ready and stop <= TOP_N and self.num_rows > TOP_N:
            # A shallow page of a new sort or filter: top-N over the ids alone.
            got = self._top_ids(stop)
            self._start_pending = self.engine.background
            return got[offset:stop]
        if not ready and self._ranks is not False and len(self.sort) == 1:
            # A deep page of a new sort by one number: a few scans of that column (_rank)
            # instead of waiting for every id to be sorted. The order for the pages that
            # follow starts once the first is done: started before, its sort competed with
            # it for the two cores and the page took twice as long. Until the order is
            # there, the pages near it are slices of its bins' rows, and others one scan.
            ranks = self._ranks
            if not isinstance(ranks, Ranks):
                name, desc = self.sort[0]
                ranks = Ranks(self.engine, self.relation, self.where, self.params, name, desc)
                self._ranks = ranks
            elif job is not None and not ranks.holds(offset, stop):
                # A page away from the bins kept: the order may be nearly done (at 10M rows
                # it takes ~1 s), and its scans would share the cores with it (scanned at
                # once, 5 such pages took ~220 ms each instead of ~8 ms once it was done).
                # So it is waited for ORDER_PATIENCE_S (or as long as the last scans took),
                # then the bins are scanned: never the whole order (~10 s at 100M rows).
                if self.engine.background:  # first in the queue, as waited for (_full_order)
                    self.engine.worker.submit(job, urgent=True)
                self._wait_for_order(job, max(ORDER_PATIENCE_S, ranks.scan_seconds))
                if job.done.is_set() and job.error is None and not job.cancelled:
                    return self.ids(offset, limit)
            with self.engine.worker.holding():  # an order queued by the first page waits
                ranked = ranks.ids(offset, stop)
            if ranked is None:
                self._ranks = False  # only the whole order can tell: it is waited for
            else:
                if self.engine.background:
                    self._order_job(urgent=True)  # once: a queued or running job stays
                return ranked
        order = self._full_order()
        if order is None:  # the background order was cancelled or is taking too long
            return self._run_ids(self._ids_sql(limit=stop - offset, offset=offset))
        return np.asarray(order[offset:stop], dtype=np.int64)

    # -- public API ------------------------------------------------------------------
    def page(self, offset: int = 0, limit: int = 50) -> pa.Table:
        """Rows ``offset .. offset + limit`` of the view as Arrow.

        Columns are the storage representation of the selected columns plus ``_row``
        (int64, the row's position in the source). With ``group_by``: one row per group
        with the key columns, ``count``, the aggregates and ``_sample_rows`` (the latter
        names get ``_`` appended when a key has the same name: see :attr:`count_column`).

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Query, Source
        >>> src = Source.from_arrow(pa.table({"x": [3, 1, 2]}))
        >>> Engine().view(src, Query(sort=["-x"])).page(0, 2).to_pydict()
        {'x': [3, 2], '_row': [0, 2]}
        """
        offset, limit = _check_paging(offset, limit)
        if self.groups is not None:
            return self.groups.table().slice(offset, limit)
        kept = self.pages.get(offset, limit)
        if kept is not None:
            return kept
        page = self._read_page(offset, limit)
        self.pages.put(offset, limit, page)
        return page

    def _read_page(self, offset: int, limit: int) -> pa.Table:
        if not self.sort and not self.counted and limit > 0 and offset + limit <= TOP_N:
            # An unsorted filter's first pages: ids and rows in one scan (Engine.scan_rows).
            stop = offset + limit
            rows = self.engine.scan_rows(self.relation, self.where, self.params, self.columns, stop)
            if rows is not None:
                self._learn_from_top(np.asarray(rows.column(ROW).to_numpy(), np.int64), stop)
                return rows.slice(offset, limit)
        ids = self.ids(offset, limit)
        page = rows_for(self._top, ids, self.columns)  # a sorted first page, read with its ids
        if page is None:
            page = self.engine.read_rows(
                self.relation, ids, self.columns, "reading the page's rows"
            )
        if self._start_pending and self.counted:
            # After the page is read, not before: the two never compete for memory or cores.
            # (An uncounted view starts it once counted, in num_rows: the order job checks
            # its length against the count.)
            self._start_pending = False
            self._order_job()  # the full order, for the pages that follow
        return page

    def summary(
        self,
        column: str,
        bins: int = 20,
        *,
        exact: bool = False,
        sample_rows: int = SAMPLE_ROWS,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Histogram or top values of ``column`` over the rows matching the filter.

        Top values of a column whose first ``sample_rows`` (a million) filtered rows are
        mostly distinct values are those rows' (``"sample": n``, ``"distinct": None``, ``"distinct_min"``; see
        :func:`summarize`) unless ``exact``; ``timeout`` (seconds) replaces the engine's
        time budget for this summary, e.g. for an exact one over 100M distinct values.

        Numbers: ``{"type": "histogram", "edges", "counts", "nulls", "min", "max"}``
        (NaN counts as null). Strings, bools and other values: ``{"type": "top",
        "values", "counts", "nulls", "distinct"}``. Image, audio and array columns:
        ``{"type": "none", "nulls", "count"}``.
        """
        check_columns([column], list(self.relation.columns), "summary")
        if not isinstance(exact, bool):
            raise QueryError(f"exact must be True or False, got {exact!r}")
        if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 1:
            raise QueryError(f"sample_rows must be a positive whole number, got {sample_rows!r}")
        info: SqlColumn = self.relation.columns[column]
        bounds = None
        finite_bounds = getattr(self.relation, "finite_bounds", None)
        unfiltered = self.query.filter is None and not self.query.match
        if info.cls == "num" and unfiltered and finite_bounds is not None:
            bounds = finite_bounds(column)  # Parquet statistics: saves a scan
        with self.engine.connection(self.relation) as con:
            try:
                budget = self.engine.budget
                if timeout is not None:
                    budget = dataclasses.replace(budget, seconds=query_timeout(timeout))
                with budget.watch(con, f"the summary of {column!r}"):
                    return summarize(
                        con,
                        self.relation.sql(con),
                        self.where,
                        list(self.params),
                        info,
                        bins=bins,
                        bounds=bounds,
                        exact=exact,
                        sample_rows=sample_rows,
                        most_rows=self.total_rows,
                    )
            except duckdb.Error as exc:
                raise QueryError(f"summary of {column!r} failed: {exc}") from exc

    def group_query(self, key_values: dict[str, Any]) -> Query:
        """The same query restricted to one group, with ``group_by`` removed.

        The group is matched exactly by its key values (``Query.match``), compared in the
        key column's own type: int64 and uint64 extremes, decimals, timestamps, ±inf and
        any string work, and a null (or NaN: the same group) key matches the missing values.
        A value may also be given as text DuckDB can cast to the column's type (e.g.
        ``"18446744073709551615"``, for a browser that cannot hold such integers), or as
        the group page's own Arrow scalar (exact where ``as_py()`` is not: a nanosecond
        time of day comes back from ``as_py()`` as a microsecond ``datetime.time``).

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Query, Source
        >>> src = Source.from_arrow(pa.table({"label": ["cat", "dog", "cat"]}))
        >>> parent = Engine().view(src, Query(group_by=["label"]))
        >>> q = parent.group_query({"label": "cat"})
        >>> q.match, Engine().view(src, q).num_rows
        ((('label', 'cat'),), 2)
        """
        return drill_query(self.relation.columns, self.query, key_values)

    @staticmethod
    def group_filter(key_values: dict[str, Any]) -> str:
        """Filter text matching the rows whose columns equal ``key_values`` (for showing;
        :meth:`group_query` matches exactly, also where a literal cannot)."""
        parts = []
        for name, value in key_values.items():
            ident = quote_name(name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                parts.append(f"{ident} is null")
            else:
                parts.append(f"{ident} == {format_literal(value)}")
        return " and ".join(parts)


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
