"""Relations: what a view's SQL reads from, and how a page's rows are fetched by ``_row``.

Every relation exposes a ``_row`` column: the row's position in the source, stable for
the life of the source. Views keep their row order as an array of ``_row`` ids, and a
page is fetched by id (``take`` on Arrow; on Parquet, a memory-mapped read of the source's
row store once it exists, until then scattered rows from their pages (``_pagerows``) and
runs of rows by row-number pushdown in DuckDB) rather than by re-running the sorted query
with a deep ``OFFSET``.

**User column names never reach SQL.** Every relation renames the source's columns by
position to ``c0``, ``c1``, ... (Arrow: a zero-copy rename; Parquet: ``read_parquet(...) AS
t(c0, c1, ...)``), and results are renamed back to the user's names at the edge. DuckDB
matches even quoted names case-insensitively and reserves some (``file_row_number``,
``rowid``...), so ``score`` and ``Score``, or a column called ``file_row_number``, ``count``
or ``_sample_rows``, would otherwise collide with each other or with the engine's own.

**Paths given to DuckDB are never patterns.** DuckDB expands ``*``, ``?``, ``[...]``,
``{...}`` and ``**`` in any path it reads, so ``d[1].parquet`` could read ``d1.parquet``.
Each Parquet file is handed to DuckDB as a symlink with a plain name of ours, in the
engine's private temp dir.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import os
import threading
import time
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget.engine._background import (
    BackgroundWorker,
    RowStore,
    StoreGone,
    row_store,
    temp_dir,
    until_quiet,
)
from dsviz_widget.engine._budget import Budget, run_arrow
from dsviz_widget.engine._columns import SqlColumn, quote_ident
from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._pagerows import PageRows, Unsupported, readable_type
from dsviz_widget.engine._rows import take_pieces, take_rows
from dsviz_widget.engine._source import Source, parquet_metadata
from dsviz_widget.engine._temporal import for_duckdb, is_wide_decimal

ROW = "_row"
# Parquet sources from this many rows get a row store when a sorted or filtered view needs
# pages by id (below it, DuckDB reads any rows of the file in a few milliseconds).
ROW_STORE_MIN_ROWS = 200_000
_names = itertools.count()


def sql_string(text: str) -> str:
    """A SQL string literal for text *we* produced (file paths), quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


class Relation(Protocol):
    name: str
    columns: dict[str, SqlColumn]
    num_rows: int

    @property
    def allowed_paths(self) -> tuple[str, ...]: ...

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        """Register what is needed on ``con`` and return a FROM-able SQL text with ``_row``."""
        ...

    def fetch(
        self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
    ) -> pa.Table:
        """Rows ``ids`` (in that order, repeats allowed) with ``columns`` and ``_row``."""
        ...

    def prepare(self, worker: BackgroundWorker) -> None:
        """Start whatever makes reads by scattered ids fast (called by sorted/filtered views)."""
        ...


def columns_of(schema: pa.Schema, kinds: dict[str, str]) -> dict[str, SqlColumn]:
    """User name -> column, aliased ``c<i>`` by its position ``i`` in ``schema``."""
    seen: set[str] = set()
    for name in schema.names:
        if name in seen:  # Arrow allows it; one of the two would silently disappear
            raise QueryError(f"the table has two columns named {name!r}; rename one")
        seen.add(name)
    return {
        f.name: SqlColumn(f.name, kinds.get(f.name, "native"), f.type, f"c{i}")
        for i, f in enumerate(schema)
        if f.name != ROW
    }


def aliases(schema: pa.Schema) -> str:
    """``c0, c1, ...``: one alias per field of ``schema``, in order."""
    return ", ".join(f"c{i}" for i in range(len(schema)))


def duckdb_path(path: str, identity: tuple[str, int, int] | None = None) -> str:
    """A path DuckDB can read ``path`` through that holds no glob character: a symlink
    named after a hash of the absolute path and, given its ``identity`` (``file_identity``:
    real path, size, mtime), of that too, in the private temp dir (made once). DuckDB
    caches footers by path (``parquet_metadata_cache``): a rewritten file gets a new link."""
    target = os.path.abspath(path)
    named = target if identity is None else f"{target}\0{identity[1]}\0{identity[2]}"
    digest = hashlib.sha256(named.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    links = os.path.join(temp_dir(), "links")
    os.makedirs(links, exist_ok=True)
    link = os.path.join(links, f"{digest}.parquet")
    try:
        if os.readlink(link) == target:
            return link
    except OSError:
        pass
    tmp = f"{link}.{os.getpid()}.{next(_names)}"
    os.symlink(target, tmp)
    os.replace(tmp, link)
    return link


def grants(source: Source, links: tuple[str, ...]) -> tuple[str, ...]:
    """What DuckDB must be allowed to read for ``source`` (``Relation.allowed_paths``): the
    directory of the store its files belong to (``Source.root``, ending in ``os.sep``) when
    they all lie under it, else its links alone.

    Why a directory: DuckDB cannot widen what a locked connection may read, so a new file
    means a new database (~5-10 ms of a 20-50 ms first page, see ``_connection``), while a
    directory granted once covers every table of the store. DuckDB checks a file against
    ``allowed_directories`` by its resolved path, so the links in the private temp dir
    still work and nothing outside the store's own directory becomes readable. A user's own
    Parquet file (no root) opens only itself: its folder may hold anything."""
    root = source.root
    # DuckDB reads a backslash in an allowed directory as a separator: the files under such
    # a root are refused, so they open by their links (found by the generated names test).
    if root is not None and source.files and "\\" not in root:
        under = root.rstrip(os.sep) + os.sep
        if all(real.startswith(under) for real, _, _ in source.files):
            return (under,)
    return links


class ArrowRelation:
    """An in-memory Arrow table; ``_row`` is appended once (8 bytes a row)."""

    def __init__(self, source: Source) -> None:
        assert source.arrow is not None
        self.source = source
        self.name = f"_dsviz_src{next(_names)}"
        table = source.arrow
        if ROW in table.column_names:
            table = table.drop_columns([ROW])
        self.table = table
        self.num_rows = table.num_rows
        self.columns = columns_of(table.schema, source.kinds)
        self._index = {name: int(info.alias[1:]) for name, info in self.columns.items()}
        # Zero-copy: the same buffers under positional names.
        renamed = table.rename_columns([f"c{i}" for i in range(table.num_columns)])
        # Durations as integers, over-wide decimals as text (see _temporal); pages are read
        # from ``self.table``, so they keep the exact values and types.
        renamed = for_duckdb(renamed)
        self._with_row = renamed.append_column(
            ROW, pa.array(np.arange(self.num_rows, dtype=np.int64))
        )

    @property
    def allowed_paths(self) -> tuple[str, ...]:
        return ()

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        con.register(self.name, self._with_row)
        return quote_ident(self.name)

    def prepare(self, worker: BackgroundWorker) -> None:
        pass  # in memory: take() is already random access

    def fetch(
        self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
    ) -> pa.Table:
        idx = np.asarray(ids, dtype=np.int64)
        out = take_rows(self.table.select([self._index[c] for c in columns]), idx)
        return out.append_column(ROW, pa.array(idx))


class ParquetRelation:
    """One or more Parquet files read by DuckDB; ``_row`` counts across the files in order."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = f"_dsviz_src{next(_names)}"
        self.paths = source.parquet
        files = source.files or (None,) * len(self.paths)
        self.links = tuple(duckdb_path(p, f) for p, f in zip(self.paths, files, strict=True))
        self._grants = grants(source, self.links)  # asked before every query: decided once
        self.columns = columns_of(source.schema, source.kinds)
        self._aliases = aliases(source.schema)
        counts = [self._footer(k).num_rows for k in range(len(self.paths))]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.num_rows = int(self.offsets[-1])
        self.store: RowStore | None = None
        self._bounds: dict[str, tuple[Any, Any] | None] = {}
        self._pages: dict[int, PageRows | None] = {}  # per file, made on first use
        self._whole_by_pages: bool | None = None  # see _pages_read_everything
        self._group_starts: dict[int, np.ndarray] = {}  # per file: its row groups' first rows

    @property
    def allowed_paths(self) -> tuple[str, ...]:
        return self._grants

    def _footer(self, k: int) -> pq.FileMetaData:
        files = self.source.files
        return parquet_metadata(files[k]) if files else pq.read_metadata(self.paths[k])

    def prepare(self, worker: BackgroundWorker) -> None:
        if self.num_rows < ROW_STORE_MIN_ROWS:
            return
        if self._pages_read_everything():
            # No row store; the files' footers are parsed ahead, once the page that made
            # this view is out (beside its order, which lets go of the GIL), not when its
            # first deep page needs them (~0.2 s of Python at 100M rows).
            if len(self._pages) < len(self.paths):
                threading.Thread(
                    target=self._page_readers,
                    args=(time.monotonic(),),
                    daemon=True,
                    name="dsviz-footers",
                ).start()
            return
        store = self.store
        if store is None or store.cancelled or store.error is not None:
            store, new = row_store(self.paths, self.source.schema)
            self.store = store  # None: over the disk budget, pages read Parquet by id
            if store is not None and new:
                worker.submit(store)

    def finite_bounds(self, column: str) -> tuple[Any, Any] | None:
        """Exact finite (min, max) of a numeric column from the files' statistics, or None
        when any row group lacks them or they are not finite (then a scan decides)."""
        if column in self._bounds:
            return self._bounds[column]
        t = self.columns[column].type
        found: tuple[Any, Any] | None = None
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            lo: Any = None
            hi: Any = None
            try:
                for k in range(len(self.paths)):
                    md = self._footer(k)
                    idx = _leaf_index(md.schema.to_arrow_schema(), column)
                    for g in range(md.num_row_groups):
                        rg = md.row_group(g)
                        if rg.num_rows == 0:
                            continue
                        st = rg.column(idx).statistics
                        if st is None or not st.has_min_max:
                            raise LookupError(column)
                        lo = st.min if lo is None else min(lo, st.min)
                        hi = st.max if hi is None else max(hi, st.max)
                if (
                    lo is not None
                    and hi is not None
                    and all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi))
                ):
                    found = (lo, hi)
            except (LookupError, OSError, ValueError):
                found = None
        self._bounds[column] = found
        return found

    def _ready_store(self) -> RowStore | None:
        store = self.store
        if (
            store is not None
            and store.done.is_set()
            and store.error is None
            and not store.cancelled
        ):
            return store
        return None

    def _read_exact(self, ids: np.ndarray, columns: list[str]) -> pa.Table:
        """Rows ``ids`` (in that order) of ``columns`` read by Arrow, not DuckDB: whole
        columns of the files holding them (only over-wide decimals come this way)."""
        return take_pieces(
            ids,
            self.offsets,
            lambda k: pq.read_table(self.paths[k], columns=columns).select(columns),
            self.source.schema.empty_table().select(columns),
        )

    def _read(self, path: str) -> str:
        # file_row_number is DuckDB's virtual column: once every file column is renamed
        # c<i>, a user column of that name no longer hides it.
        return f"read_parquet({sql_string(path)}) AS t({self._aliases})"

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        cols = ", ".join(f"t.{info.alias}" for info in self.columns.values())
        # file_row_number is a BIGINT already: the first file's is ``_row`` as it is (no
        # addition and cast per row scanned; a top-N sorts by it as its tie-break).
        parts = [
            f"SELECT {cols}, {_row_sql(int(off))} AS {ROW} FROM {self._read(p)}"
            for p, off in zip(self.links, self.offsets[:-1], strict=True)
        ]
        return "(" + " UNION ALL ".join(parts) + ")"

    def scan(
        self,
        con: duckdb.DuckDBPyConnection,
        where: str,
        params: list[object],
        columns: list[str],
        limit: int,
        budget: Budget,
    ) -> pa.Table | None:
        """The first ``limit`` rows ``where`` keeps, in source order, with ``columns`` and
        ``_row``, as :meth:`fetch` would return them; None when a column must be read by
        Arrow (over-wide decimals, see :meth:`fetch`).

        One scan that stops once it has them: an unsorted filter's first page read as ids
        first and then rows by id read the start of the file twice (24 ms instead of 17 ms
        at 10M rows, where plain DuckDB's ``SELECT * ... WHERE ... LIMIT`` takes 15 ms).
        """
        select = self.page_select(columns)
        if not select:
            return None
        sql = f"SELECT {select}, {ROW} FROM {self.sql(con)} WHERE {where} LIMIT {int(limit)}"
        got = run_arrow(con, sql, params, budget)
        ids = np.asarray(got.column(len(columns)).to_numpy(), dtype=np.int64)
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            # The scan keeps source order (preserve_insertion_order); never rely on it silently.
            order = np.argsort(ids, kind="stable")
            got, ids = got.take(pa.array(order)), ids[order]
        return self.as_page(got, 0, columns, ids)

    def page_select(self, columns: list[str]) -> str | None:
        """The SELECT list reading ``columns`` in a query over :meth:`sql`, for
        :meth:`as_page`; None when a column must be read by Arrow (over-wide decimals, see
        :meth:`fetch`) or there is none."""
        if not columns or any(is_wide_decimal(self.columns[c].type) for c in columns):
            return None
        return ", ".join(self.columns[c].alias for c in columns)

    def as_page(self, got: pa.Table, first: int, columns: list[str], ids: np.ndarray) -> pa.Table:
        """``columns`` read by a :meth:`page_select` list at position ``first`` of ``got``,
        as :meth:`fetch` returns rows ``ids``: the source's names, types and metadata."""
        picked = got.select(list(range(first, first + len(columns))))
        return _conform(picked, self._page_schema(columns)).append_column(ROW, pa.array(ids))

    def _page_schema(self, columns: list[str]) -> pa.Schema:
        # The table-level metadata (classes, derived columns) travels with every page.
        return pa.schema(
            [self.source.schema.field(c) for c in columns], metadata=self.source.schema.metadata
        )

    def fetch(
        self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
    ) -> pa.Table:
        ids = np.asarray(ids, dtype=np.int64)
        # The table-level metadata (classes, derived columns) travels with every page.
        schema = pa.schema(
            [self.source.schema.field(c) for c in columns], metadata=self.source.schema.metadata
        )
        store = self._ready_store()
        if store is not None:
            with contextlib.suppress(StoreGone):  # evicted meanwhile: read Parquet below
                got = store.take(ids, columns)
                return _conform(got, schema).append_column(ROW, pa.array(ids))
        writing = self.store
        partial = writing.take_written(ids, columns) if writing is not None else None
        if partial is not None:
            # The rows the store being written holds already, Parquet only for the others
            # (all after them: DuckDB skips the row groups before, see GrowingBatches).
            written, have = partial
            parts = [_conform(written, schema)]
            if not have.all():
                parts.append(
                    self._fetch_parquet(con, ids[~have], columns, schema).drop_columns([ROW])
                )
            table = pa.concat_tables(parts)
            where = np.concatenate([np.flatnonzero(have), np.flatnonzero(~have)])
            if not bool(np.all(where[1:] > where[:-1])):
                inverse = np.empty_like(where)
                inverse[where] = np.arange(len(where))
                table = table.take(pa.array(inverse))
            return table.append_column(ROW, pa.array(ids))
        return self._fetch_parquet(con, ids, columns, schema)

    def _fetch_parquet(
        self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str], schema: pa.Schema
    ) -> pa.Table:
        """Rows ``ids`` read from the Parquet files (scattered rows page by page where the
        file has an offset index, else DuckDB by ``file_row_number``)."""
        # DuckDB reads a decimal of more than 38 digits from Parquet as a DOUBLE: those
        # columns are read by Arrow instead, exactly (only the pages' rows are kept).
        wide = [c for c in columns if is_wide_decimal(self.columns[c].type)]
        if wide:
            narrow = [c for c in columns if c not in wide]
            exact = self._read_exact(ids, wide)
            got = self.fetch(con, ids, narrow) if narrow else exact
            arrays = [(exact if c in wide else got).column(c) for c in columns]
            return pa.Table.from_arrays(
                [*arrays, pa.array(ids)], schema=schema.append(pa.field(ROW, pa.int64()))
            )
        pieces: list[pa.Table] = []
        wanted: list[np.ndarray] = []
        for k in range(len(self.links)):
            lo, hi = self.offsets[k], self.offsets[k + 1]
            local = np.unique(ids[(ids >= lo) & (ids < hi)]) - lo
            if len(local):
                pieces.append(self._file_rows(con, k, local, columns))
                wanted.append(local + lo)
        if not pieces:
            return _empty(schema).append_column(ROW, pa.array([], pa.int64()))
        table = pa.concat_tables([_conform(p, schema) for p in pieces])
        have = np.concatenate(wanted)
        pos = np.searchsorted(have, ids)
        table = table.take(pa.array(pos))
        return table.append_column(ROW, pa.array(ids))

    def _file_rows(
        self, con: duckdb.DuckDBPyConnection, k: int, local: np.ndarray, columns: list[str]
    ) -> pa.Table:
        """Rows ``local`` (sorted, distinct positions in file ``k``) of ``columns``, in
        that order: scattered rows of the columns the page reader reads from their pages,
        the others (and runs of rows) by DuckDB."""
        by_pages: pa.Table | None = None
        reader = self._page_reader(k) if self._scattered(k, local) else None
        if reader is not None:
            try:
                by_pages = reader.take(local, columns)
            except Unsupported:
                self._pages[k] = None  # the file changed: DuckDB from now on
            except OSError:
                pass  # gone or unreadable now: DuckDB reads it (or names the error)
        have = (
            {}
            if by_pages is None
            else dict(zip(by_pages.column_names, by_pages.columns, strict=True))
        )
        rest = [c for c in columns if c not in have]
        if rest:
            got = self._duckdb_rows(con, k, local, rest)
            have.update(zip(got.column_names, got.columns, strict=True))
        return pa.Table.from_arrays([have[c] for c in columns], names=list(columns))

    def _pages_read_everything(self) -> bool:
        """Whether every column of every file can be read page by page (flat columns of
        kinds ``_pagerows`` reads, offset indexes everywhere, from the footers pyarrow
        already parsed). Then no row store is made: its disk (the uncompressed table:
        ~0.5 GB at 10M rows of the benchmark table, 5.5 GB at 100M) and the CPU of writing
        it (1.2 s at 10M, 20 s at 100M, beside the user's queries) buy later pages of ~2 ms
        instead of ~8 ms."""
        if self._whole_by_pages is None:
            self._whole_by_pages = all(
                readable_type(f.type) for f in self.source.schema if f.name != ROW
            ) and all(
                md.row_group(g).column(c).has_offset_index
                for md in (self._footer(k) for k in range(len(self.paths)))
                for g in range(md.num_row_groups)
                for c in range(md.num_columns)
            )
        return self._whole_by_pages

    def _scattered(self, k: int, local: np.ndarray) -> bool:
        """Whether rows ``local`` of file ``k`` are better read page by page than by
        DuckDB: DuckDB decodes the pages of every row group a row falls in (~2 ms a row
        group of six columns, at 128k-row groups), the page reader one page per row and
        column (~30 us). A run of rows, or many rows in few row groups, stays with DuckDB;
        so does a read of many rows (the page reader's Python cost grows with each row)."""
        if len(local) > _PAGE_READ_MAX_ROWS or int(local[-1]) - int(local[0]) + 1 == len(local):
            return False
        starts = self._group_starts.get(k)
        if starts is None:
            md = self._footer(k)
            sizes = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
            starts = self._group_starts[k] = np.cumsum([0, *sizes])
        touched = len(np.unique(np.searchsorted(starts, local, side="right")))
        return len(local) <= _ROWS_PER_GROUP_TOUCHED * touched

    def _page_readers(self, since: float) -> None:
        """The footer thread: page readers made and their offset indexes decoded ahead. Only
        a head start: whatever fails here (a file gone meanwhile) is met again, and reported,
        by the read that needs it.

        It starts as other work nobody waits for does (``until_quiet``): started right after
        a sorted first page's query, its ~50 ms of Python at 10M rows shared the GIL with
        that page's conversion to a DataFrame and made ``table.query`` ~15 ms slower
        (medians of 6 alternating fresh processes: 107 against 90 ms)."""
        while (wait := until_quiet(since)) > 0:
            time.sleep(wait)
        for k in range(len(self.paths)):
            reader = self._page_reader(k)
            if reader is not None:
                with contextlib.suppress(Exception):
                    reader.load_indexes()

    def _page_reader(self, k: int) -> PageRows | None:
        """File ``k``'s page reader (made once; two threads asking at the same moment may
        both parse the footer, no lock is held meanwhile: a fork then cannot leave one
        held), None where its file has no offset index or nothing it reads."""
        if k not in self._pages:
            try:
                reader: PageRows | None = PageRows(self.paths[k], self.source.schema)
            except (Unsupported, OSError):
                reader = None
            self._pages.setdefault(k, reader)
        return self._pages[k]

    def _duckdb_rows(
        self, con: duckdb.DuckDBPyConnection, k: int, local: np.ndarray, columns: list[str]
    ) -> pa.Table:
        """Rows ``local`` of file ``k`` read by DuckDB (by ``file_row_number``)."""
        cols = ", ".join(
            [*(f"t.{self.columns[c].alias}" for c in columns), "file_row_number AS _frn"]
        )
        base = f"SELECT {cols} FROM {self._read(self.links[k])}"
        if int(local[-1]) - int(local[0]) + 1 == len(local):
            got = con.sql(
                f"{base} WHERE file_row_number BETWEEN $1 AND $2",
                params=[int(local[0]), int(local[-1])],
            ).to_arrow_table()
        else:
            got = con.sql(
                f"{base} WHERE file_row_number BETWEEN $2 AND $3 "
                "AND file_row_number IN (SELECT unnest($1::BIGINT[]))",
                params=[local.tolist(), int(local[0]), int(local[-1])],
            ).to_arrow_table()
        order = np.argsort(got.column(len(columns)).to_numpy(), kind="stable")
        got = got.take(pa.array(order)).remove_column(len(columns))
        return got.rename_columns(list(columns))


# The page reader is chosen for at most this many rows per file ...
_PAGE_READ_MAX_ROWS = 512
# ... when there are no more than this many rows per row group they fall in: DuckDB's read
# of a row group costs about as much as a dozen rows read page by page (measured at 10M).
_ROWS_PER_GROUP_TOUCHED = 12


def _row_sql(offset: int) -> str:
    """``_row`` of a file whose first row is row ``offset`` of the source (a BIGINT)."""
    return "file_row_number" if offset == 0 else f"(file_row_number + {offset}::BIGINT)"


def ids_only(ids: np.ndarray) -> pa.Table:
    """A page of no columns (``Query(columns=[])``): just ``_row``, one row per id. Built
    directly, for every relation: appending ``_row`` to a table of no columns fails (it has
    no rows)."""
    return pa.table({ROW: pa.array(np.asarray(ids, dtype=np.int64))})


def _leaf_index(schema: pa.Schema, name: str) -> int:
    """The Parquet column-chunk index of top-level ``name``: a struct (an image column)
    before it holds several leaf columns, so its Arrow field index would be wrong."""

    def leaves(t: pa.DataType) -> int:
        if pa.types.is_struct(t):
            return sum(leaves(t.field(i).type) for i in range(t.num_fields))
        if pa.types.is_map(t):
            return leaves(t.key_type) + leaves(t.item_type)
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            return leaves(t.value_type)
        return 1

    index = 0
    for f in schema:
        if f.name == name:
            return index
        index += leaves(f.type)
    raise LookupError(name)


def _empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Give rows read back (by position) the source's names, exact types and metadata."""
    arrays = []
    for i, f in enumerate(schema):
        col = table.column(i)
        arrays.append(col if col.type == f.type else col.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def relation_for(source: object) -> Relation:
    rel = getattr(source, "_relation", None)
    if rel is not None:  # a join or comparison (DerivedSource)
        return rel  # type: ignore[no-any-return,unused-ignore]
    if isinstance(source, Source):
        if source.arrow is not None:
            return ArrowRelation(source)
        return ParquetRelation(source)
    raise TypeError(f"not a Source: {type(source).__name__}")
