"""The :class:`Engine`: one locked-down DuckDB connection and a cache of views."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from dsviz_widget.engine import _align
from dsviz_widget.engine._background import BackgroundWorker, temp_dir
from dsviz_widget.engine._budget import Budget
from dsviz_widget.engine._budget import memory_limit as _memory_limit
from dsviz_widget.engine._budget import query_timeout as _query_timeout
from dsviz_widget.engine._changes import (
    MAX_TRANSITIONS,
    ChangeCounts,
    change_filter,
    check_change_columns,
    compared_columns,
    count_changes,
    transition_table,
)
from dsviz_widget.engine._connection import foreground, open_connection, retire
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._groups import check_group_by, drill_query, group_fields
from dsviz_widget.engine._join import JoinRelation
from dsviz_widget.engine._lifecycle import ViewHolder, working_on
from dsviz_widget.engine._overlays import Overlays, image_overlays
from dsviz_widget.engine._pictures import same_pictures
from dsviz_widget.engine._query import Query, check_columns
from dsviz_widget.engine._relation import Relation, ids_only, relation_for
from dsviz_widget.engine._source import Source
from dsviz_widget.engine._view import View

CLOSED = "this engine is closed (the widget or table using it was closed)"


def source_key(source: object) -> Hashable:
    """The cache key of ``source``: :attr:`Source.identity` (the same Parquet files share
    one key), else the object itself, by id (the cache holds it, so the id stays unique)."""
    return source.identity if isinstance(source, Source) else ("object", id(source))


class Engine:
    """Answers queries over sources; safe to call from several threads (one at a time).

    Parameters
    ----------
    memory_limit:
        The memory budget of each query (DuckDB's ``memory_limit``, e.g. ``"2GB"``): bigger
        sorts spill to temporary files; a query that still needs more fails with a
        :class:`QueryError` saying so. Default: ``$DSVIZ_MEMORY_LIMIT``, else a sixteenth
        of the machine's RAM between 256 MB and 512 MB.
    query_timeout:
        The time budget of each query, in seconds: a query still running then is
        interrupted and fails with a :class:`QueryError` saying so. Default:
        ``$DSVIZ_QUERY_TIMEOUT``, else 30.
    background:
        After the first page of a sorted or filtered view, write its full row order (and,
        for big Parquet sources, a row store readable by id) in a background thread with
        its own small DuckDB memory limit, so that later pages at any depth are fast.
    max_views:
        How many views (and their row orders) to keep for reuse.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from dsviz_widget.engine import Engine, Query, Source
    >>> src = Source.from_arrow(pa.table({"label": ["cat", "dog", "cat"], "score": [0.9, 0.2, 0.4]}))
    >>> view = Engine().view(src, Query(filter="label == 'cat'", sort=["-score"]))
    >>> view.num_rows, view.page(0, 10).column("_row").to_pylist()
    (2, [0, 2])
    """

    def __init__(
        self,
        memory_limit: str | None = None,
        background: bool = True,
        max_views: int = 8,
        query_timeout: float | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.budget = Budget(_memory_limit(memory_limit), _query_timeout(query_timeout))
        self.memory_limit = self.budget.memory
        self.background = background
        self.max_views = max_views
        self._allowed: frozenset[str] = frozenset()
        # Opened on first use, with the paths that use needs: opening costs more than a
        # first page, so it is not paid twice (once empty, again for the first file).
        self._con: duckdb.DuckDBPyConnection | None = None
        self._closed = False
        self._worker = BackgroundWorker()
        # Both keyed by source_key: every Source of the same files (Table.query builds one
        # per call, a table read twice has two) finds the same relation, views and orders.
        self._relations: OrderedDict[Hashable, tuple[object, Relation]] = OrderedDict()
        self._views: OrderedDict[tuple[Any, ...], tuple[object, View]] = OrderedDict()
        # (source key, filter, match) -> rows it keeps: a count outlives its view and serves
        # every sort of the same filter (and table.count), so a new sort never recounts.
        # Each count keeps the source it was made from alive: a key holding an id (Arrow,
        # joins) must never match a later object that reuses the id (a wrong count shown).
        self._counts: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()

    def _connection(self, relation: Relation) -> duckdb.DuckDBPyConnection:
        """The connection, reopened if ``relation`` reads files it may not read yet."""
        paths = frozenset(relation.allowed_paths)
        if self._con is None or not paths <= self._allowed:
            # DuckDB cannot widen allowed_paths once external access is off, so a new
            # connection is opened with the union (usually the ready-made spare, see
            # ``_connection``); views keep their orders as arrays.
            allowed = self._allowed | paths
            con = self._open(allowed)
            if self._con is not None:
                retire(self._con)  # closed off the query's path
            self._con, self._allowed = con, allowed
        return self._con

    def _open(self, paths: frozenset[str]) -> duckdb.DuckDBPyConnection:
        return open_connection(paths, memory_limit=self.memory_limit, temp_directory=temp_dir())

    @contextlib.contextmanager
    def connection(self, relation: Relation) -> Iterator[duckdb.DuckDBPyConnection]:
        """The engine's connection, able to read ``relation``, held for the ``with`` block.

        Views run their SQL through this: one statement at a time per engine (DuckDB's
        connection is not for concurrent use), and the connection is reopened with wider
        ``allowed_paths`` first when ``relation`` reads files it may not read yet.
        """
        with self._lock:
            if self._closed:
                raise QueryError(CLOSED)
            # Foreground from before a new file's connection is taken: the spare it asks
            # for next is made after this query, not beside it (40-90 ms of CPU on 2 cores).
            with foreground():
                con = self._connection(relation)
                with working_on(con):  # widget statements: cancellable (_lifecycle)
                    yield con

    @property
    def worker(self) -> BackgroundWorker:
        """The thread that writes view orders and row stores for this engine's views."""
        return self._worker

    def _relation(self, source: object) -> Relation:
        if self._closed:
            raise QueryError(CLOSED)
        key = source_key(source)
        hit = self._relations.get(key)
        if hit is not None:
            self._relations.move_to_end(key)
            return hit[1]
        rel = relation_for(source)
        self._relations[key] = (source, rel)  # the strong ref keeps the ids in keys unique
        while len(self._relations) > 4 * self.max_views:
            self._relations.popitem(last=False)
        return rel

    def view(
        self, source: object, query: Query | None = None, holder: ViewHolder | None = None
    ) -> View:
        """A :class:`View` of ``source`` under ``query`` (reused if asked again).

        ``holder``: the widget asking (its views go when it closes, see :meth:`release`);
        None, as from ``table.query``: the view stays cached until evicted.
        """
        query = query if query is not None else Query()
        with self._lock:
            rel = self._relation(source)
            key = (source_key(source), query.key())
            hit = self._views.get(key)
            if hit is not None:
                self._views.move_to_end(key)
                self._hold(key, hit[1], holder)
                return hit[1]
        view = View(self, rel, query)
        if not query.group_by:
            qkey = key[1]  # (filter, sort, group_by, aggregates, columns, match as text)
            view.count_key = (key[0], qkey[0], qkey[-1])
            view.count_anchor = source
        with self._lock:
            # Two threads may have made the same view at once: keep the first one, so both
            # page (and count, and order) one view.
            hit = self._views.get(key)
            if hit is not None:
                self._hold(key, hit[1], holder)
                return hit[1]
            self._views[key] = (source, view)
            self._hold(key, view, holder)
            while len(self._views) > self.max_views:
                self._views.popitem(last=False)
        return view

    def _hold(self, key: tuple[Any, ...], view: View, holder: ViewHolder | None) -> None:
        if holder is None:
            view.anonymous = True  # Python asked: kept (and its order built) for Python
        else:
            view.holders.add(holder)
            holder.keys.add(key)

    def _unheld(self, holder: ViewHolder, keep: View | None) -> list[tuple[tuple[Any, ...], View]]:
        """The views only ``holder`` holds (none of Python's), but ``keep``."""
        out = []
        for key in list(holder.keys):
            hit = self._views.get(key)
            if hit is None:
                holder.keys.discard(key)  # evicted meanwhile
                continue
            view = hit[1]
            if view is keep:
                continue
            if set(view.holders) <= {holder} and not view.anonymous:
                out.append((key, view))
        return out

    def focus(self, holder: ViewHolder, view: View) -> None:
        """``holder`` now looks at ``view``: the background orders of its other views stop
        (unless another widget holds them, or Python asked for them); the views stay cached."""
        with self._lock:
            others = self._unheld(holder, view)
        for _, other in others:
            other.stop_background()

    def release(self, holder: ViewHolder) -> None:
        """``holder`` (a widget) closed: its views leave the cache, with their orders and
        files, unless another widget holds them or Python asked for them; a source no
        cached view reads any more is let go too (with the counts that keep it alive)."""
        with self._lock:
            gone = self._unheld(holder, None)
            for key, _ in gone:
                del self._views[key]
            for key in list(holder.keys):
                hit = self._views.get(key)
                if hit is not None:
                    hit[1].holders.discard(holder)
            holder.keys.clear()
            still = {k[0] for k in self._views}
            for skey in {k[0] for k, _ in gone} - still:
                self._relations.pop(skey, None)
                for ckey in [c for c in self._counts if isinstance(c, tuple) and c[0] == skey]:
                    del self._counts[ckey]
        for _, view in gone:
            view.drop()

    def cached_views(self, source: object | None = None) -> int:
        """How many views the engine keeps now (of ``source``, if given)."""
        with self._lock:
            if source is None:
                return len(self._views)
            skey = source_key(source)
            return sum(1 for k in self._views if k[0] == skey)

    def known_count(self, key: Hashable) -> int | None:
        """The rows a filter keeps, if a view of it counted them (see :attr:`View.count_key`)."""
        with self._lock:
            hit = self._counts.get(key)
            if hit is None:
                return None
            self._counts.move_to_end(key)
            return hit[1]

    def remember_count(self, key: Hashable, n: int, anchor: object) -> None:
        """Keep a view's count for other views (sorts) of the same source and filter."""
        with self._lock:
            self._counts[key] = (anchor, n)
            self._counts.move_to_end(key)
            while len(self._counts) > 64 * self.max_views:
                self._counts.popitem(last=False)

    def rows(
        self,
        source: object,
        ids: Sequence[int] | np.ndarray | pa.Array | pa.ChunkedArray,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """The rows of ``source`` with these row ids, in the order given (repeats allowed).

        A row id is the row's position in the source (the ``_row`` of a page). Columns are
        the storage representation of ``columns`` (default: all) plus ``_row``. Arrow sources
        are read with ``take``; Parquet sources read only the rows asked for (from the row
        store once a sorted view made one); joins and comparisons read each part by id.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Source
        >>> src = Source.from_arrow(pa.table({"x": [10, 11, 12]}))
        >>> Engine().rows(src, [2, 0], ["x"]).to_pydict()
        {'x': [12, 10], '_row': [2, 0]}
        """
        with self._lock:
            rel = self._relation(source)
        wanted = ids.to_pylist() if isinstance(ids, pa.Array | pa.ChunkedArray) else list(ids)
        for r in wanted:
            if not isinstance(r, int | np.integer) or r < 0 or r >= rel.num_rows:
                raise IndexError(f"row {r} is out of range (the table has {rel.num_rows} rows)")
        names = list(columns) if columns is not None else list(rel.columns)
        check_columns(names, list(rel.columns), "columns")
        return self.read_rows(rel, np.asarray(wanted, dtype=np.int64), names, "reading rows")

    def group_query(
        self,
        source: object,
        query: Query,
        key_values: Mapping[str, Any] | None = None,
        *,
        row: int | None = None,
    ) -> Query:
        """``query`` (with ``group_by``) restricted to one group, without computing the groups.

        The group is named by its ``key_values`` or, with ``row``, by the row id of one of its
        rows: the keys are then read from that row as Arrow scalars of each column's own type,
        exact where a value passed through JSON or a JavaScript number is not (int64 above
        2^53, NaN, decimals, nanosecond times). See :meth:`View.group_query` for the match.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Query, Source
        >>> src = Source.from_arrow(pa.table({"label": ["cat", "dog", "cat"]}))
        >>> engine = Engine()
        >>> q = engine.group_query(src, Query(group_by=["label"]), row=2)
        >>> engine.view(src, q).page(0, 10).column("_row").to_pylist()
        [0, 2]
        """
        with self._lock:
            rel = self._relation(source)
        group_by = check_group_by(rel.columns, query.group_by)
        if row is not None:
            cells = self.rows(source, [row], group_by)
            # Arrow scalars, not as_py(): a nanosecond time or timestamp would lose its last
            # digits in Python, and the match compares a scalar exactly as the column's type.
            key_values = {name: cells.column(name)[0] for name in group_by}
        return drill_query(rel.columns, query, key_values or {})

    def group_fields(
        self, source: object, group_by: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[str]:
        """Field names of the group page of ``source`` grouped by ``group_by`` (keys,
        ``count``, the default aggregates such as ``mean(x)`` of the numeric ``columns``,
        default all, ``_sample_rows``), without computing the groups: what a grouped view's
        sort keys may name.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Source
        >>> src = Source.from_arrow(pa.table({"label": ["a"], "x": [1.0]}))
        >>> Engine().group_fields(src, ["label"])
        ['label', 'count', 'mean(x)', '_sample_rows']
        """
        with self._lock:
            rel = self._relation(source)
        return group_fields(rel.columns, group_by, shown=columns)

    def read_rows(
        self, relation: Relation, ids: np.ndarray, columns: list[str], what: str
    ) -> pa.Table:
        """Rows ``ids`` of ``relation`` (checked by the caller) under the engine's budget;
        ``what`` names the read in a budget error. :meth:`rows` and view pages use it."""
        if not columns:  # Query(columns=[])
            return ids_only(ids)
        with self.connection(relation) as con:
            try:
                with self.budget.watch(con, what):
                    return relation.fetch(con, ids, columns)
            except duckdb.Error as exc:
                raise QueryError(f"reading rows failed: {exc}") from exc

    def scan_rows(
        self,
        relation: Relation,
        where: str,
        params: list[object],
        columns: list[str],
        limit: int,
    ) -> pa.Table | None:
        """The first ``limit`` rows of ``relation`` that ``where`` keeps, in source order,
        with ``columns`` and ``_row``, read in one scan (see ``ParquetRelation.scan``); None
        where that is not cheaper than ids first, then rows by id (Arrow, joins)."""
        scan = getattr(relation, "scan", None)
        if scan is None:
            return None
        with self.connection(relation) as con:
            got: pa.Table | None = scan(con, where, params, columns, limit, self.budget)
            return got

    def overlays(self, source: object) -> dict[str, Overlays]:
        """What each image column of ``source`` draws (boxes, scores, masks) and which
        classes occur, per class list; see ``_overlays``. One scan, under the engine's budget.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Source
        >>> Engine().overlays(Source.from_arrow(pa.table({"x": [1]})))
        {}
        """
        with self._lock:
            rel = self._relation(source)
        if not any(c.kind == "image" for c in rel.columns.values()):
            return {}  # nothing to scan (a table still downloading need not wait for it)
        metadata = getattr(source, "metadata", None) or {}
        with self.connection(rel) as con:
            try:
                with self.budget.watch(con, "reading the image overlays"):
                    return image_overlays(con, rel.sql(con), rel.columns, metadata, rel.num_rows)
            except duckdb.Error as exc:
                raise QueryError(f"reading the image overlays failed: {exc}") from exc

    def same_pictures(self, source: object, groups: Mapping[str, Sequence[str]]) -> dict[str, bool]:
        """Per group of image columns (a compared column's versions), whether they show the
        same picture (digest) on every row where each has one; see ``_pictures``.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Source
        >>> Engine().same_pictures(Source.from_arrow(pa.table({"x": [1]})), {"x": ["x"]})
        {}
        """
        with self._lock:
            rel = self._relation(source)
        with self.connection(rel) as con:
            try:
                with self.budget.watch(con, "comparing the versions' images"):
                    return same_pictures(con, rel.sql(con), rel.columns, groups)
            except duckdb.Error as exc:
                raise QueryError(f"comparing the versions' images failed: {exc}") from exc

    def change_counts(self, source: object) -> ChangeCounts:
        """Rows of a comparison (``compare_sources``) and, per compared column, the rows it
        changed on: one scan under the engine's budget, kept with the source.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Source, compare_sources
        >>> v0 = Source.from_arrow(pa.table({"id": [1, 2], "pred": [3, 4], "p": [0.1, 0.2]}))
        >>> v1 = Source.from_arrow(pa.table({"id": [1, 2], "pred": [3, 5], "p": [0.3, 0.4]}))
        >>> c = Engine().change_counts(compare_sources([v0, v1], on="id"))
        >>> c.counts, c.always, c.default
        ({'pred': 1, 'p': 2}, ['p'], ['pred'])
        """
        with self._lock:
            rel = self._relation(source)
        cached = getattr(rel, "change_counts", None)
        if isinstance(cached, ChangeCounts):
            return cached
        if not compared_columns(rel.columns):
            raise QueryError("change counts need a comparison (dv.compare / compare_sources)")
        fast = _align.change_counts(rel) if isinstance(rel, JoinRelation) else None
        if fast is not None:  # the compared columns alone, no SQL join (see _align)
            counts = ChangeCounts(rel.num_rows, fast)
            rel.change_counts = counts  # type: ignore[attr-defined]
            return counts
        with self.connection(rel) as con:
            try:
                with self.budget.watch(con, "counting the changed rows"):
                    counts = count_changes(con, rel.sql(con), rel.columns, rel.num_rows)
            except duckdb.Error as exc:
                raise QueryError(f"counting the changed rows failed: {exc}") from exc
        rel.change_counts = counts  # type: ignore[attr-defined]
        return counts

    def count_changed(self, source: object, columns: Sequence[str]) -> int:
        """Rows of a comparison where any of ``columns`` (compared columns) changed; none
        named: any column, or a row missing from a version (the ``changed`` column)."""
        with self._lock:
            rel = self._relation(source)
        if not isinstance(rel, JoinRelation) or not rel.compare:
            raise QueryError("changed rows need a comparison (dv.compare / compare_sources)")
        check_change_columns(compared_columns(rel.columns), columns)
        fast = _align.count_changed(rel, columns)
        if fast is not None:
            return fast
        return int(self.view(source, Query(filter=change_filter(columns))).num_rows)

    def transitions(
        self,
        source: object,
        column: str,
        before: str,
        after: str,
        filter: str | None = None,
    ) -> pa.Table:
        """How ``column``'s values moved from version ``before`` to version ``after`` of a
        comparison: ``before``, ``after`` and ``count`` per pair of values that occurs (nulls
        included), most frequent first, over the rows ``filter`` keeps.

        Examples
        --------
        >>> import pyarrow as pa
        >>> from dsviz_widget.engine import Engine, Source, compare_sources
        >>> v0 = Source.from_arrow(pa.table({"id": [1, 2, 3], "pred": ["a", "a", "b"]}))
        >>> v1 = Source.from_arrow(pa.table({"id": [1, 2, 3], "pred": ["a", "b", "b"]}))
        >>> t = Engine().transitions(compare_sources([v0, v1], on="id"), "pred", "v0", "v1")
        >>> sorted(zip(*t.to_pydict().values()))
        [('a', 'a', 1), ('a', 'b', 1), ('b', 'b', 1)]
        """
        with self._lock:
            rel = self._relation(source)
        compared = compared_columns(rel.columns)
        check_change_columns(compared, [column])
        fields = [f"{column}@{before}", f"{column}@{after}"]
        for f, label in zip(fields, (before, after), strict=True):
            if f not in rel.columns:
                labels = [n[len(column) + 1 :] for n in rel.columns if n.startswith(column + "@")]
                versions = [x for x in labels if x not in ("changed", "delta")]
                raise QueryError(
                    f"transitions: no version {label!r} of {column!r}; versions are "
                    + ", ".join(repr(v) for v in versions)
                )
        if before == after:
            raise QueryError("transitions need two different versions")
        if filter is None and isinstance(rel, JoinRelation):
            ids = rel.labels.index(before), rel.labels.index(after)
            fast = _align.transition_counts(rel, column, *ids)
            if fast is not None and fast.num_rows <= MAX_TRANSITIONS:
                return fast
        view = self.view(source, Query(filter=filter, group_by=fields, aggregates={}))
        if view.num_rows > MAX_TRANSITIONS:
            raise QueryError(
                f"{column!r} moved between {view.num_rows:,} distinct pairs of values (more than "
                f"{MAX_TRANSITIONS:,}): transitions are for categories; filter first, or "
                "group by the two columns instead"
            )
        page = view.page(0, max(view.num_rows, 1))
        count = next(f for f in page.column_names if f not in fields)
        return transition_table(page, fields[0], fields[1], count)

    def query(
        self,
        source: object,
        filter: str | None = None,
        sort: Sequence[str] = (),
        group_by: Sequence[str] = (),
        columns: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 50,
        aggregates: dict[str, Sequence[str]] | None = None,
    ) -> pa.Table:
        """One page of ``source`` in a single call; see :class:`Query` and :meth:`View.page`."""
        q = Query(
            filter=filter, sort=sort, group_by=group_by, columns=columns, aggregates=aggregates
        )
        return self.view(source, q).page(offset, limit)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called; a closed engine answers no more queries."""
        return self._closed

    def close(self) -> None:
        """Stop background work, drop every view (their temp files go with them) and close
        the connection. A query running in another thread is interrupted first; closing
        twice is harmless."""
        self._worker.stop()
        con = self._con
        if con is not None:
            with contextlib.suppress(duckdb.Error):
                con.interrupt()
        with self._lock:
            self._closed = True
            self._views.clear()
            self._relations.clear()
            self._counts.clear()
            if self._con is not None:
                self._con.close()
