"""Relations: what a view's SQL reads from, and how a page's rows are fetched by ``_row``.

Every relation exposes a ``_row`` column: the row's position in the source, stable for
the life of the source. Views keep their row order as an array of ``_row`` ids, and a
page is fetched by id (``take`` on Arrow; on Parquet, a memory-mapped read of the source's
row store once it exists, row-number pushdown in DuckDB until then) rather than by
re-running the sorted query with a deep ``OFFSET``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget.engine._background import RowStore, Worker, row_store
from dsviz_widget.engine._compile import ColumnInfo, quote_ident
from dsviz_widget.engine._source import Source

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
    columns: dict[str, ColumnInfo]
    num_rows: int

    @property
    def allowed_paths(self) -> tuple[str, ...]: ...

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        """Register what is needed on ``con`` and return a FROM-able SQL text with ``_row``."""
        ...

    def fetch(self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
              ) -> pa.Table:
        """Rows ``ids`` (in that order, repeats allowed) with ``columns`` and ``_row``."""
        ...

    def prepare(self, worker: Worker) -> None:
        """Start whatever makes reads by scattered ids fast (called by sorted/filtered views)."""
        ...


def columns_of(schema: pa.Schema, kinds: dict[str, str]) -> dict[str, ColumnInfo]:
    return {f.name: ColumnInfo(f.name, kinds.get(f.name, "native"), f.type) for f in schema
            if f.name != ROW}


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
        self._with_row = table.append_column(ROW, pa.array(np.arange(self.num_rows,
                                                                      dtype=np.int64)))

    @property
    def allowed_paths(self) -> tuple[str, ...]:
        return ()

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        con.register(self.name, self._with_row)
        return quote_ident(self.name)

    def prepare(self, worker: Worker) -> None:
        pass  # in memory: take() is already random access

    def fetch(self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
              ) -> pa.Table:
        idx = pa.array(np.asarray(ids, dtype=np.int64))
        out = self.table.select(columns).take(idx)
        return out.append_column(ROW, idx)


class ParquetRelation:
    """One or more Parquet files read by DuckDB; ``_row`` counts across the files in order."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = f"_dsviz_src{next(_names)}"
        self.paths = source.parquet
        self.columns = columns_of(source.schema, source.kinds)
        counts = [pq.ParquetFile(p).metadata.num_rows for p in self.paths]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.num_rows = int(self.offsets[-1])
        self.store: RowStore | None = None
        self._bounds: dict[str, tuple[Any, Any] | None] = {}

    @property
    def allowed_paths(self) -> tuple[str, ...]:
        return self.paths

    def prepare(self, worker: Worker) -> None:
        if self.num_rows < ROW_STORE_MIN_ROWS:
            return
        store = self.store
        if store is None or store.cancelled or store.error is not None:
            store, new = row_store(self.paths, self.source.schema)
            self.store = store
            if new:
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
                for p in self.paths:
                    md = pq.ParquetFile(p).metadata
                    idx = md.schema.to_arrow_schema().get_field_index(column)
                    for g in range(md.num_row_groups):
                        rg = md.row_group(g)
                        if rg.num_rows == 0:
                            continue
                        st = rg.column(idx).statistics
                        if st is None or not st.has_min_max:
                            raise LookupError(column)
                        lo = st.min if lo is None else min(lo, st.min)
                        hi = st.max if hi is None else max(hi, st.max)
                if lo is not None and hi is not None and all(
                        isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi)):
                    found = (lo, hi)
            except (LookupError, OSError, ValueError):
                found = None
        self._bounds[column] = found
        return found

    def _ready_store(self) -> RowStore | None:
        store = self.store
        if (store is not None and store.done.is_set() and store.error is None
                and not store.cancelled):
            return store
        return None

    def _cols_sql(self) -> str:
        return ", ".join(quote_ident(c) for c in self.columns)

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        parts = [
            f"SELECT {self._cols_sql()}, (file_row_number + {int(off)})::BIGINT AS {ROW} "
            f"FROM read_parquet({sql_string(path)}, file_row_number = true)"
            for path, off in zip(self.paths, self.offsets[:-1], strict=True)
        ]
        return "(" + " UNION ALL ".join(parts) + ")"

    def fetch(self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
              ) -> pa.Table:
        ids = np.asarray(ids, dtype=np.int64)
        # The table-level metadata (classes, derived columns) travels with every page.
        schema = pa.schema([self.source.schema.field(c) for c in columns],
                           metadata=self.source.schema.metadata)
        store = self._ready_store()
        if store is not None:
            return _conform(store.take(ids, columns), schema).append_column(ROW, pa.array(ids))
        pieces: list[pa.Table] = []
        wanted: list[np.ndarray] = []
        cols = ", ".join([*(quote_ident(c) for c in columns), "file_row_number"])
        for k, path in enumerate(self.paths):
            lo, hi = self.offsets[k], self.offsets[k + 1]
            local = np.unique(ids[(ids >= lo) & (ids < hi)]) - lo
            if not len(local):
                continue
            base = f"SELECT {cols} FROM read_parquet({sql_string(path)}, file_row_number = true)"
            if int(local[-1]) - int(local[0]) + 1 == len(local):
                got = con.sql(f"{base} WHERE file_row_number BETWEEN $1 AND $2",
                              params=[int(local[0]), int(local[-1])]).to_arrow_table()
            else:
                got = con.sql(
                    f"{base} WHERE file_row_number BETWEEN $2 AND $3 "
                    "AND file_row_number IN (SELECT unnest($1::BIGINT[]))",
                    params=[local.tolist(), int(local[0]), int(local[-1])],
                ).to_arrow_table()
            frn = got.column("file_row_number").to_numpy()
            order = np.argsort(frn, kind="stable")
            pieces.append(got.take(pa.array(order)))
            wanted.append(frn[order] + lo)
        if not pieces:
            return _empty(schema).append_column(ROW, pa.array([], pa.int64()))
        table = pa.concat_tables([p.drop_columns(["file_row_number"]) for p in pieces])
        have = np.concatenate(wanted)
        pos = np.searchsorted(have, ids)
        table = _conform(table.take(pa.array(pos)), schema)
        return table.append_column(ROW, pa.array(ids))


def _empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Give rows read back through DuckDB the source's exact types and field metadata."""
    arrays = []
    for f in schema:
        col = table.column(f.name)
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
