"""``Table`` and ``JoinedTable``: typed, Arrow-backed tables that may hold media.

A ``Table``'s rows live in one of two backends, and the table delegates to it:

- ``_table_memory.MemoryColumns``: columns built in memory (``add_data``, ``add_column``,
  DataFrames, Arrow), whose storage form is built on demand and cached;
- ``_table_parquet.ParquetColumns``: Parquet files (``from_parquet``, tables read from a
  store), read lazily in batches.

Both answer the small :class:`_Backend` interface below. Changing a Parquet-backed table
first loads it into memory (``ParquetColumns.materialize``); nothing else depends on which
backend a table has. ``Table`` adds what is the same for both: checks, error messages, the
query bridge (:class:`dsviz_widget.engine.Queryable`) and display.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from dsviz_widget import _display, _format
from dsviz_widget._column import check_names
from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget._table_memory import MemoryColumns
from dsviz_widget._table_parquet import ParquetColumns, TableOrigin
from dsviz_widget.media import Blob, BlobReader, Origin

if TYPE_CHECKING:
    import pandas as pd

    from dsviz_widget.engine import Source

__all__ = ["JoinedTable", "Table", "TableOrigin"]


class _Backend(Protocol):
    """What ``Table`` needs of the rows' home (``MemoryColumns`` or ``ParquetColumns``)."""

    @property
    def columns(self) -> list[str]: ...
    @property
    def kinds(self) -> dict[str, str]: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def origin(self) -> TableOrigin | None: ...
    @property
    def label(self) -> str | None: ...
    def get_column(self, name: str) -> list[Any]: ...
    def rows(self) -> Iterator[list[Any]]: ...
    def to_pandas(self) -> pd.DataFrame: ...
    def to_arrow(self) -> pa.Table: ...
    def schema(self) -> pa.Schema: ...
    def storage_table(self) -> pa.Table: ...
    def storage_batches(
        self, batch_rows: int = ...
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]: ...
    def media_blobs(self) -> Iterator[tuple[Blob, str]]: ...
    def read_blob(self, digest: str) -> bytes: ...
    def engine_source(self) -> Source: ...


class Table:
    """A table of typed columns whose cells may be numbers, strings, media, arrays, lists or dicts.

    Parameters
    ----------
    columns : sequence of str, optional
        Column names. Required unless ``dataframe`` is given.
    data : list of rows, optional
        Each row is a list with one value per column.
    dataframe : pandas.DataFrame, optional
        Converted column by column (vectorised for numeric, boolean and string columns).

    Examples
    --------
    >>> t = Table(("id", "label"))
    >>> t.add_data(0, "cat")
    >>> t.add_data(1, "dog")
    >>> len(t), t.get_column("label")
    (2, ['cat', 'dog'])
    """

    _backend: _Backend

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Iterable[Sequence[Any]] | None = None,
        dataframe: pd.DataFrame | None = None,
    ) -> None:
        if dataframe is not None:
            if data is not None:
                raise ValidationError("give either data or dataframe, not both")
            self._backend = MemoryColumns.from_dataframe(dataframe, columns)
            return
        if columns is None:
            if data is not None:
                raise ValidationError(
                    "a Table built from data needs column names: Table(columns=[...], data=...)"
                )
            columns = []
        if isinstance(columns, str):
            raise ValidationError("columns must be a list of names, not a single string")
        self._backend = MemoryColumns.empty(check_names(list(columns)))
        if data is not None:
            for row in data:
                self.add_data(*row)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def _of(cls, backend: _Backend) -> Table:
        self = cls.__new__(cls)
        self._backend = backend
        return self

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Table:
        """A Table from an Arrow table (zero-copy for scalar columns).

        Columns written by ``to_arrow`` keep their kinds (lists, dicts, arrays); image and
        audio descriptions come back as dict columns, since their bytes are not in Arrow.
        """
        return cls._of(MemoryColumns.from_arrow(table))

    @classmethod
    def from_parquet(cls, path: str) -> Table:
        """A Table over a Parquet file, read lazily in batches (no row limit)."""
        if not Path(path).is_file():
            raise NotFoundError(f"no such Parquet file: {path!r}")
        return cls._of(ParquetColumns([str(path)], None, None, label=str(path)))

    @classmethod
    def from_stored(
        cls,
        paths: Sequence[str],
        reader: BlobReader,
        origin_of: Callable[[str], Origin | None] | None,
        label: str,
        digest: str | None = None,
        origin: TableOrigin | None = None,
    ) -> Table:
        """A Table over Parquet files of a store (how ``artifacts`` reads a table entry).

        ``reader`` returns the bytes of media files by digest, ``origin_of`` where each media
        file is stored, ``label`` names the table in errors, ``digest`` is the Parquet
        file's, and ``origin`` (:attr:`origin`) says which artifact version it is.
        """
        return cls._of(ParquetColumns(paths, reader, origin_of, label, digest, origin))

    @property
    def origin(self) -> TableOrigin | None:
        """The artifact version and entry this table was read from, or None for a table
        never logged (or changed since it was read)."""
        return self._backend.origin

    def _memory(self) -> MemoryColumns:
        """The in-memory backend, loading a Parquet-backed table first (before a change)."""
        backend = self._backend
        if isinstance(backend, ParquetColumns):
            backend = self._backend = backend.materialize()
        assert isinstance(backend, MemoryColumns)
        return backend

    # -- mutation --------------------------------------------------------------------------
    def add_data(self, *values: Any) -> None:
        """Append one row: one value per column, in column order."""
        if len(values) != len(self.columns):
            raise ValidationError(
                f"row {len(self)}: add_data got {len(values)} values for {len(self.columns)} columns {self.columns}"
            )
        self._memory().add_row(values)

    def add_column(
        self, name: str, data: Sequence[Any] | np.ndarray | pa.Array | pd.Series
    ) -> None:
        """Append a column; ``data`` has one value per row (vectorised for arrays and Series)."""
        check_names([*self.columns, name])
        self._memory().add_column(name, data)

    # -- reading ---------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """The column names, in order (derived columns not included)."""
        return self._backend.columns

    @property
    def kinds(self) -> dict[str, str]:
        """Column name -> kind (``int``, ``float``, ``bool``, ``str``, ``image``, ``audio``, ...)."""
        return self._backend.kinds

    @property
    def derived_columns(self) -> list[str]:
        """Names of the queryable columns computed from image overlays."""
        return [d["name"] for d in _format.read_metadata(self._schema()).get("derived", [])]

    def __len__(self) -> int:
        return self._backend.num_rows

    def get_column(self, name: str) -> list[Any]:
        """The values of one column (``Image`` objects for an image column)."""
        if name not in self.kinds and name not in self.derived_columns:
            raise NotFoundError(_unknown_column(name, self.columns + self.derived_columns))
        return self._backend.get_column(name)

    def __iter__(self) -> Iterator[list[Any]]:
        """Rows as lists of values, streamed in batches."""
        return self._backend.rows()

    @property
    def data(self) -> list[list[Any]]:
        """All rows as lists (loads the whole table)."""
        return list(self)

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame; media cells are ``Image`` / ``Audio`` objects, dicts and lists stay Python values."""
        return self._backend.to_pandas()

    def to_arrow(self) -> pa.Table:
        """The table in its storage form without derived columns (see docs/architecture.md).

        Lists and dicts are JSON text; images and audio are description structs whose bytes
        stay in the store. Use ``to_pandas`` or ``get_column`` to get media objects.
        """
        return self._backend.to_arrow()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        if self.columns != other.columns or len(self) != len(other) or self.kinds != other.kinds:
            return False
        a, b = self.to_arrow(), other.to_arrow()
        return all(_columns_equal(a.column(n), b.column(n)) for n in self.columns)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        cols = ", ".join(f"{n}: {k}" for n, k in self.kinds.items())
        label = self._backend.label
        where = f", stored at {label}" if label is not None else ""
        return f"Table({len(self):,} rows; {cols}{where})"

    # -- query (dsviz_widget.engine.Queryable) -----------------------------------------------
    def query(
        self,
        filter: str | None = None,
        sort: Sequence[str] | str | None = None,
        group_by: Sequence[str] | str | None = None,
        columns: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 50,
        as_arrow: bool = False,
    ) -> Any:
        """Filter, sort, group and page the table without loading it into memory.

        Parameters
        ----------
        filter : str, optional
            An expression such as ``"score > 0.9 and label == 'cat'"`` or ``"%_vegetation > 0.5"``.
        sort : str or list of str, optional
            Column names; a leading ``-`` sorts descending. Nulls sort last.
        group_by : str or list of str, optional
            One row per group with a ``count`` column and numeric aggregates.
        columns : list of str, optional
            The columns to return (all by default).
        offset, limit : int
            The page to return.
        as_arrow : bool
            Return the page as Arrow (storage form) instead of a pandas DataFrame.

        Returns
        -------
        pandas.DataFrame indexed by row number (``_row``), or ``pyarrow.Table``.

        Examples
        --------
        >>> t = Table(columns=["id", "score"], data=[[0, 0.2], [1, 0.95], [2, 0.7]])
        >>> t.query(filter="score > 0.5", sort=["-score"])["id"].tolist()
        [1, 2]
        """
        from dsviz_widget._frames import run_query

        return run_query(
            self.engine_source, self.read_blob, filter, sort, group_by, columns, offset, limit,
            as_arrow,
        )

    def engine_source(self) -> Source:
        """The rows as an engine ``Source``: in-memory Arrow in the storage representation
        (derived columns included), or the Parquet file(s) of a logged table."""
        return self._backend.engine_source()

    def read_blob(self, digest: str) -> bytes:
        """Bytes of a media file this table refers to (verified by the store when stored)."""
        return self._backend.read_blob(digest)

    # The bridge's former private names, still called by tests.
    _engine_source = engine_source
    _read_blob = read_blob

    # -- storage form (see _storage.storage_batches for the writer) ----------------------------
    def _schema(self) -> pa.Schema:
        return self._backend.schema()

    def _storage_table(self) -> pa.Table:
        """The whole table in storage form, derived columns included."""
        return self._backend.storage_table()

    def _ipython_display_(self) -> None:
        _display.display_table(self)


def _unknown_column(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else f"; columns are {known}"
    return f"no column {name!r}{hint}"


def _columns_equal(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    if a.type != b.type:
        try:
            b = b.cast(a.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
    if pa.types.is_floating(a.type):
        x, y = a.to_numpy(zero_copy_only=False), b.to_numpy(zero_copy_only=False)
        nulls_a, nulls_b = (
            a.is_null().to_numpy(zero_copy_only=False),
            b.is_null().to_numpy(zero_copy_only=False),
        )
        if not np.array_equal(nulls_a, nulls_b):
            return False
        return bool(np.array_equal(x[~nulls_a], y[~nulls_b], equal_nan=True))
    return a.combine_chunks().equals(b.combine_chunks())


class JoinedTable:
    """The join of two tables on a key column; the tables may live in other artifacts.

    Parameters
    ----------
    table1, table2 : Table
    join_key : str or list of str
        Column(s) present in both tables.

    Examples
    --------
    >>> left = Table(columns=["id", "x"], data=[[0, "a"], [1, "b"]])
    >>> right = Table(columns=["id", "y"], data=[[1, 10.0], [0, 20.0]])
    >>> jt = JoinedTable(left, right, "id")
    >>> jt.join_key
    'id'
    """

    def __init__(self, table1: Table, table2: Table, join_key: str | Sequence[str]) -> None:
        if not isinstance(table1, Table) or not isinstance(table2, Table):
            raise ValidationError("JoinedTable joins two dv.Table objects")
        keys = [join_key] if isinstance(join_key, str) else list(join_key)
        for key in keys:
            for label, t in (("first", table1), ("second", table2)):
                if key not in t.columns:
                    raise ValidationError(
                        f"join key {key!r} is not a column of the {label} table {t.columns}"
                    )
        self.table1 = table1
        self.table2 = table2
        self.join_key = join_key if isinstance(join_key, str) else list(join_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JoinedTable):
            return NotImplemented
        return (self.join_key, self.table1, self.table2) == (
            other.join_key,
            other.table1,
            other.table2,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"JoinedTable(on={self.join_key!r}, {len(self.table1):,} x {len(self.table2):,} rows)"
        )

    def engine_source(self, how: str = "inner") -> Source:
        """The joined rows as an engine ``Source`` (``how``: inner, left or outer)."""
        from dsviz_widget.engine import join_sources

        return join_sources(
            self.table1.engine_source(), self.table2.engine_source(), self.join_key, how=how
        )

    def read_blob(self, digest: str) -> bytes:
        """Bytes of a media file either table refers to."""
        try:
            return self.table1.read_blob(digest)
        except NotFoundError:
            return self.table2.read_blob(digest)

    def query(
        self,
        filter: str | None = None,
        sort: Sequence[str] | str | None = None,
        group_by: Sequence[str] | str | None = None,
        columns: Sequence[str] | None = None,
        offset: int = 0,
        limit: int = 50,
        as_arrow: bool = False,
        how: str = "inner",
    ) -> Any:
        """Query the joined rows like ``Table.query``; ``how`` is inner, left or outer."""
        from dsviz_widget._frames import run_query

        return run_query(
            lambda: self.engine_source(how), self.read_blob, filter, sort, group_by, columns,
            offset, limit, as_arrow,
        )

    def _ipython_display_(self) -> None:
        _display.display_table(self)
