"""``Table`` and ``JoinedTable``: typed, Arrow-backed tables that may hold media.

A ``Table``'s rows live in one of two backends, and the table delegates to it:

- ``_table_memory.MemoryColumns``: columns built in memory (``add_data``, ``add_column``,
  DataFrames, Arrow), whose storage form is built on demand and cached;
- ``_table_parquet.ParquetColumns``: Parquet files (``from_parquet``, tables read from a
  store), read lazily in batches.

Both answer the small :class:`_Backend` interface below. Changing a Parquet-backed table
first loads it into memory (``ParquetColumns.materialize``); nothing else depends on which
backend a table has. ``Table`` adds what is the same for both: checks, error messages, the
query bridge (:class:`dsviz_widget.engine.Queryable`) and display. W&B's column rules
(``dtype=``, ``optional=``, ``cast``, keys) and the constructor's data are read and checked
by ``_table_rules``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from dsviz_widget import _display, _format
from dsviz_widget._column import check_names
from dsviz_widget._column_types import LOG_MODES, Rows, TableIndex, key_rule, rule_for
from dsviz_widget._errors import (
    CellTypeError,
    NotFoundError,
    TableArgumentError,
    ValidationError,
)
from dsviz_widget._table_dask import DaskColumns, PartitionRules, is_dask
from dsviz_widget._table_memory import MemoryColumns
from dsviz_widget._table_parquet import ParquetColumns, TableOrigin, WholeFiles
from dsviz_widget._table_rules import PK_LABEL, ColumnRules, build, computed_columns
from dsviz_widget.media import Blob, BlobReader, Origin

if TYPE_CHECKING:
    import pandas as pd

    from dsviz_widget.engine import Source

__all__ = ["CellTypeError", "JoinedTable", "Table", "TableIndex", "TableOrigin"]


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
    @property
    def primary_key(self) -> str | None: ...
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

    The constructor takes W&B's ``wandb.Table`` arguments (docs/wandb-compat.md, Tables).

    Parameters
    ----------
    columns : sequence of str, optional
        Column names. Without them, a table built from ``data`` or ``rows`` has W&B's columns
        ``Input``, ``Output``, ``Expected``, and one built from a DataFrame its columns.
    data : list of rows, 2-D numpy array or pandas.DataFrame, optional
        Each row is a sequence with one value per column.
    rows : list of rows, optional
        The same as ``data`` (W&B's older name).
    dataframe : pandas.DataFrame or dask.dataframe.DataFrame, optional
        Converted column by column (vectorised for numeric, boolean and string columns).
        A Dask DataFrame (or ``data=`` a Dask bag of rows) stays uncomputed: when the table
        is logged, the Dask workers convert and write each partition to the store (derived
        columns included) and the version is published once all are stored. Reading it
        before that computes it here.
    dtype : type or list of types, optional
        What each column holds (``int``, ``float``, ``str``, ``bool``, ``list``, ``dict``,
        ``numpy.ndarray``, ``datetime.datetime``, ``dv.Image``, ...), one for all columns or
        one per column (None: fixed by the first value). A cell that does not fit is a
        :class:`CellTypeError`, which is a ``TypeError``.
    optional : bool or list of bool
        Whether None (and NaN) is allowed, for all columns or per column.
    allow_mixed_types : bool
        Ignore ``dtype``, as W&B does. A column still holds one kind of value (ints and
        floats mix), so that it can be sorted, filtered and compared.
    log_mode : {"IMMUTABLE", "MUTABLE", "INCREMENTAL"}
        Accepted for W&B code. Every ``Artifact.add`` stores the table as it is then, so a
        table can always be changed and added again; ``INCREMENTAL`` tables may only grow by
        rows (``add_column`` is refused, as in W&B).

    Examples
    --------
    >>> t = Table(("id", "label"))
    >>> t.add_data(0, "cat")
    >>> t.add_data(1, "dog")
    >>> len(t), t.get_column("label")
    (2, ['cat', 'dog'])
    """

    _backend: _Backend
    #: Per-column rules from dtype / optional / cast / keys, and the foreign keys.
    _rules: ColumnRules
    log_mode: str = "IMMUTABLE"

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Iterable[Sequence[Any]] | np.ndarray | pd.DataFrame | None = None,
        rows: Iterable[Sequence[Any]] | None = None,
        dataframe: pd.DataFrame | None = None,
        dtype: Any = None,
        optional: bool | Sequence[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str = "IMMUTABLE",
    ) -> None:
        if log_mode not in LOG_MODES:
            raise TableArgumentError(f"log_mode must be one of {list(LOG_MODES)}, got {log_mode!r}")
        self.log_mode = log_mode
        collection = next((d for d in (dataframe, data, rows) if is_dask(d)), None)
        if collection is not None:
            # Built per partition, on the Dask workers when logged (_table_dask).
            self._rules = ColumnRules(mixed=bool(allow_mixed_types))
            self._backend = DaskColumns(
                collection,
                PartitionRules(
                    tuple(columns) if columns is not None else None,
                    dtype,
                    optional if isinstance(optional, bool) else tuple(optional),
                    bool(allow_mixed_types),
                ),
            )
            return
        self._backend, self._rules = build(
            columns, data, rows, dataframe, dtype, optional, bool(allow_mixed_types)
        )

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def _of(cls, backend: _Backend) -> Table:
        self = cls.__new__(cls)
        self._backend = backend
        self._rules = ColumnRules()
        if backend.primary_key is not None:
            self._rules.by_column[backend.primary_key] = key_rule(PK_LABEL)
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
        keep: object = None,
        pending: WholeFiles | None = None,
        root: str | None = None,
    ) -> Table:
        """A Table over Parquet files of a store (how ``artifacts`` reads a table entry).

        ``reader`` returns the bytes of media files by digest, ``origin_of`` where each media
        file is stored, ``label`` names the table in errors, ``digest`` is the Parquet
        file's, and ``origin`` (:attr:`origin`) says which artifact version it is. ``keep``
        is held for as long as the files are read (the store's pins of them). ``pending``:
        the files are still downloading (``paths`` empty); its head is read until then.
        ``root``: the store's directory of its files, which the engine may read wholesale.
        """
        return cls._of(
            ParquetColumns(paths, reader, origin_of, label, digest, origin, keep, pending, root)
        )

    @property
    def origin(self) -> TableOrigin | None:
        """The artifact version and entry this table was read from, or None for a table
        never logged (or changed since it was read)."""
        return self._backend.origin

    def _memory(self) -> MemoryColumns:
        """The in-memory backend, loading a Parquet-backed table first (before a change)."""
        backend = self._backend
        if isinstance(backend, (ParquetColumns, DaskColumns)):
            backend = self._backend = backend.materialize()
        assert isinstance(backend, MemoryColumns)
        return backend

    # -- mutation --------------------------------------------------------------------------
    def add_data(self, *values: Any) -> None:
        """Append one row: one value per column, in column order.

        A value that does not fit its column (an int column given a str) is a
        :class:`CellTypeError`, also a ``TypeError`` as in W&B; the table is left unchanged.
        """
        self._rules.append(self.columns, values, len(self), self._memory)

    def add_row(self, *values: Any) -> None:
        """The same as :meth:`add_data` (W&B's older name)."""
        self.add_data(*values)

    def add_column(
        self,
        name: str,
        data: Sequence[Any] | np.ndarray | pa.Array | pd.Series,
        optional: bool = True,
    ) -> None:
        """Append a column; ``data`` has one value per row (vectorised for arrays and Series).

        ``optional=False`` refuses None and NaN (W&B's default; ours is True, as our columns
        are nullable: see docs/wandb-compat.md).
        """
        self._check_not_incremental("add_column")
        check_names([*self.columns, name])
        if not optional:
            rule = rule_for(None, False)
            for row, value in enumerate(data):
                rule.check(value, row, name)
        self._memory().add_column(name, data)
        if not optional:
            self._rules.by_column[name] = rule_for(None, False)

    def add_computed_columns(self, fn: Callable[[int, dict[str, Any]], dict[str, Any]]) -> None:
        """Add the columns ``fn(index, row_dict)`` returns for each row, as W&B's does.

        Examples
        --------
        >>> t = Table(columns=["x", "y"], data=[[3, 1], [4, 6]])
        >>> t.add_computed_columns(lambda ndx, row: {"diff": row["x"] - row["y"]})
        >>> t.get_column("diff")
        [2, -2]
        """
        self._check_not_incremental("add_computed_columns")
        for key, values in computed_columns(self.columns, self.iterrows(), fn).items():
            self.add_column(key, values)

    def _check_not_incremental(self, operation: str) -> None:
        if self.log_mode == "INCREMENTAL":  # W&B's message, word for word
            raise ValidationError(
                f"Operation '{operation}' is not supported for tables with "
                "log_mode='INCREMENTAL'. Use a different log mode like 'MUTABLE' or 'IMMUTABLE'."
            )

    def cast(self, col_name: str, dtype: Any, optional: bool = False) -> None:
        """Declare what a column holds, as W&B's ``cast``: every value already there must fit
        (else a :class:`CellTypeError`, a ``TypeError``), and so must values added later.

        ``float`` makes an int column float (exactly, or refused); W&B's ``int`` and
        ``float`` are one number type, so a float column cast to ``int`` keeps its floats.
        """
        self._column(col_name)
        self._rules.cast(col_name, rule_for(dtype, optional), self._backend, self._memory)

    def set_pk(self, col_name: str) -> None:
        """Make ``col_name`` the primary key: str or int values, never None.

        It is stored with the table, and it is the key ``JoinedTable`` and ``dv.compare``
        use when given none.
        """
        self._column(col_name)
        self._rules.set_primary_key(col_name, self._backend, self._memory)

    def set_fk(self, col_name: str, table: Table, table_col: str) -> None:
        """Say that ``col_name`` holds values of ``table``'s column ``table_col`` (W&B's
        foreign key): str or int values, never None.

        Stored with the table: a table read back from an artifact has it in
        :attr:`foreign_keys`, referring to the table read back from the same version (added
        to that artifact too, or stored with it as W&B does), or from the version it was
        read from.
        """
        self._column(col_name)
        if not isinstance(table, Table):
            raise ValidationError(f"set_fk needs a dv.Table, got {type(table).__name__}")
        if table is self:
            raise ValidationError("a foreign key cannot refer to its own table")
        table._column(table_col)
        self._rules.set_foreign_key(col_name, table, table_col, self._backend, self._memory)
        if self.origin is not None:
            # A stored table is borrowed, not rewritten, when added again: the new key must
            # reach its metadata, so the table is no longer the stored one.
            self._memory()

    @property
    def primary_key(self) -> str | None:
        """The column ``set_pk`` chose (kept when the table is stored), or None."""
        return self._backend.primary_key

    @property
    def foreign_keys(self) -> dict[str, tuple[Table, str]]:
        """Column -> (table, column) it refers to, from ``set_fk`` (kept when stored)."""
        return dict(self._rules.foreign)

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

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of one column (``Image`` objects for an image column).

        ``convert_to="numpy"`` gives a numpy array, as W&B's: images and audio become their
        pixels and samples (``to_numpy()``) and the values are passed to ``numpy.array``.
        """
        if name not in self.kinds and name not in self.derived_columns:
            raise NotFoundError(_unknown_column(name, self.columns + self.derived_columns))
        values = self._backend.get_column(name)
        if convert_to is None:
            return values
        if convert_to != "numpy":
            raise ValidationError(f"convert_to must be None or 'numpy', got {convert_to!r}")
        return np.array([v.to_numpy() if hasattr(v, "to_numpy") else v for v in values])

    def _column(self, name: str) -> None:
        if name not in self.kinds:
            raise NotFoundError(_unknown_column(name, self.columns))

    def row(self, index: int) -> list[Any]:
        """One row's values (W&B's ``_Index.get_row`` reads it)."""
        if not 0 <= index < len(self):
            raise IndexError(f"row {index} of a table of {len(self)} rows")
        return [self._backend.get_column(n)[index] for n in self.columns]

    def __iter__(self) -> Iterator[list[Any]]:
        """Rows as lists of values, streamed in batches."""
        return self._backend.rows()

    def iterrows(self) -> Iterator[tuple[TableIndex, list[Any]]]:
        """``(index, row)`` pairs, as W&B's: the index is an int (a :class:`TableIndex`)."""
        for ndx, row in enumerate(self):
            yield TableIndex.of(ndx, self), row

    def get_index(self) -> list[TableIndex]:
        """The row indexes, ``0 .. len - 1``, as :class:`TableIndex` ints (W&B's ``_Index``)."""
        return [TableIndex.of(i, self) for i in range(len(self))]

    @property
    def data(self) -> list[list[Any]]:
        """All rows as lists (loads the whole table); read-only, see :class:`Rows`."""
        return Rows(Rows(row) for row in self)

    @data.setter
    def data(self, rows: Iterable[Sequence[Any]]) -> None:
        """Replace every row (checked as ``add_data`` checks them; all or nothing)."""
        fresh = Table(self.columns)
        fresh._rules = self._rules
        for name, kind in self.kinds.items():
            if kind not in ("str", "native"):
                fresh._memory().declare(name, kind)
        for row in rows:
            fresh.add_data(*row)
        fresh._memory().primary_key = self.primary_key
        self._backend = fresh._backend

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame; media cells are ``Image`` / ``Audio`` objects, dicts and lists stay Python values."""
        return self._backend.to_pandas()

    def get_dataframe(self) -> pd.DataFrame:
        """The same as :meth:`to_pandas` (W&B's name)."""
        return self.to_pandas()

    def to_arrow(self) -> pa.Table:
        """The table in its storage form without derived columns (see docs/architecture.md).

        Lists and dicts are JSON text; images and audio are description structs whose bytes
        stay in the store. Use ``to_pandas`` or ``get_column`` to get media objects.
        """
        return self._backend.to_arrow()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        if (
            self.columns != other.columns
            or len(self) != len(other)
            or self.kinds != other.kinds
            or self.primary_key != other.primary_key
        ):
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
        aggregates: Mapping[str, Sequence[str] | str] | None = None,
    ) -> Any:
        """Filter, sort, group and page the table without loading it into memory.

        The page comes back without counting the rows the filter keeps (ask
        :meth:`count`); the same call again, or the widget showing the same view, reads
        from the view made the first time.

        Parameters
        ----------
        filter : str, optional
            An expression such as ``"score > 0.9 and label == 'cat'"`` or ``"%_vegetation > 0.5"``.
        sort : str or list of str, optional
            Column names; a leading ``-`` sorts descending. Nulls sort last.
        group_by : str or list of str, optional
            One row per group with a ``count`` column and numeric aggregates.
        aggregates : dict, optional
            With ``group_by``: the aggregates to compute, e.g. ``{"score": ["mean"]}``
            (``mean``, ``min``, ``max``, ...); ``{}`` for the count alone. Default: the
            mean of every numeric column (of those in ``columns``, when given).
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
            self.engine_source,
            self.read_blob,
            filter,
            sort,
            group_by,
            columns,
            offset,
            limit,
            as_arrow,
            aggregates,
        )

    def count(self, filter: str | None = None) -> int:
        """Rows the filter keeps (all rows without one), counted exactly.

        Counted once per filter and kept: after ``query(filter=...)`` or the widget showed
        the same filter, asking again costs nothing.

        Examples
        --------
        >>> t = Table(columns=["id", "score"], data=[[0, 0.2], [1, 0.95], [2, 0.7]])
        >>> t.count("score > 0.5"), t.count()
        (2, 3)
        """
        from dsviz_widget._frames import run_count

        return run_count(self.engine_source, filter)

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
    return bool(a.combine_chunks().equals(b.combine_chunks()))


def restore_foreign_keys(table: Table, keys: Mapping[str, tuple[Table, str]]) -> None:
    """Give a table read from a store the foreign keys stored with it (how ``artifacts``
    rebuilds ``set_fk``; the values were checked when the key was set)."""
    for name, (other, column) in keys.items():
        table._rules.restore_foreign_key(name, other, column)


# JoinedTable lives in _joined.py (it builds on Table); imported last so that both names stay
# importable from here, as the public ``dsviz_widget.table`` module always offered them.
from dsviz_widget._joined import JoinedTable  # noqa: E402
