"""``Table`` and ``JoinedTable``: typed, Arrow-backed tables that may hold media."""

from __future__ import annotations

import decimal
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget import _derived, _storage
from dsviz_widget._cells import (
    INT64_MAX,
    INT64_MIN,
    JSON_KINDS,
    MAX_DECIMAL_DIGITS,
    MEDIA_KINDS,
    NATIVE_VALUES,
    STORAGE_TYPES,
    describe,
    is_missing_native,
    kind_of_value,
    merge_native,
    native_cell,
    native_column,
    rescale,
    to_cell,
)
from dsviz_widget._errors import DsvizError, IntegrityError, NotFoundError, ValidationError
from dsviz_widget.engine._source import kind_of_arrow, kinds_of
from dsviz_widget.media import Blob, BlobReader, Origin

if TYPE_CHECKING:
    import pandas as pd

    from dsviz_widget.engine import Source

# Values accumulate in Python lists and are moved into Arrow arrays every FLUSH_ROWS rows,
# so a long add_data loop keeps ~8 bytes per scalar cell instead of a Python object each.
FLUSH_ROWS = 65_536
BATCH_ROWS = 131_072


class _Column:
    """One column of an in-memory table: Arrow chunks + pending values, or media objects."""

    __slots__ = ("chunks", "kind", "name", "objects", "pending", "type")

    def __init__(
        self, name: str, kind: str | None = None, type_: pa.DataType | None = None
    ) -> None:
        self.name = name
        self.kind = kind
        # The Arrow type of a ``native`` column (timestamp, decimal, ...); other kinds have
        # one storage type each.
        self.type = type_
        self.chunks: list[pa.Array] = []
        self.pending: list[Any] = []
        self.objects: list[Any] = []  # media kinds only

    def storage_type(self) -> pa.DataType:
        return self.type if self.type is not None else STORAGE_TYPES.get(self.kind or "str")

    def flush(self) -> None:
        if self.pending and self.kind not in MEDIA_KINDS:
            self.chunks.append(pa.array(self.pending, type=self.storage_type()))
            self.pending = []

    def fill_missing(self, kind: str, type_: pa.DataType | None) -> None:
        """Make a column whose rows are all missing so far one of ``kind`` (its first value)."""
        n = sum(len(c) for c in self.chunks) + len(self.pending)
        self.kind, self.type, self.chunks, self.pending = kind, type_, [], []
        if kind in MEDIA_KINDS:
            self.objects = [None] * n
        elif n:
            self.chunks = [pa.nulls(n, self.storage_type())]

    def retyped(self, type_: pa.DataType, row: int) -> list[pa.Array]:
        """The chunks of a native column, pending values included, cast to a wider ``type_``."""
        arrays = [*self.chunks, pa.array(self.pending, type=self.storage_type())]
        try:
            return [a.cast(type_) for a in arrays if len(a)]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValidationError(
                f"row {row}, column {self.name!r}: this value needs the column to become "
                f"{type_}, which some of its earlier values do not fit ({exc})"
            ) from None

    def arrow(self) -> pa.ChunkedArray:
        """The column in storage form (media columns as record structs)."""
        if self.kind in MEDIA_KINDS:
            return pa.chunked_array(
                [_storage.media_array(self.kind or "", self.objects)],
                STORAGE_TYPES[self.kind or ""],
            )
        self.flush()
        type_ = self.chunks[0].type if self.chunks else self.storage_type()
        return pa.chunked_array(self.chunks, type=type_)

    def widen_to_float(self) -> None:
        self.flush()
        self.chunks = [c.cast(pa.float64()) for c in self.chunks]
        self.kind = "float"


@contextmanager
def _damaged(label: str) -> Iterator[None]:
    """Turn any failure to read or decode a Parquet file into one typed, named error."""
    try:
        yield
    except DsvizError:
        raise
    except (pa.ArrowException, OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise IntegrityError(
            f"{label}: the Parquet file is damaged or is not a table ({type(exc).__name__}: {exc})"
        ) from None


class _Stored:
    """A table whose rows live in Parquet files (read lazily, in batches)."""

    def __init__(
        self,
        paths: Sequence[str],
        reader: BlobReader | None,
        origin_of: Callable[[str], Origin | None] | None,
        label: str,
        digest: str | None = None,
    ) -> None:
        self.paths = list(paths)
        self.label = label
        with _damaged(label):
            self.files = [pq.ParquetFile(p) for p in self.paths]
            self.schema = self.files[0].schema_arrow
            self.num_rows = sum(f.metadata.num_rows for f in self.files)
            self.decoder = _storage.Decoder(self.schema, reader, origin_of)
        self.reader = reader
        self.digest = digest  # of the Parquet file, when it is a stored object
        # Set by artifacts/ for tables read from a store: lets them be borrowed, not copied.
        self.logged: Any = None

    def batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        with _damaged(self.label):
            for f in self.files:
                yield from f.iter_batches(
                    batch_size=batch_rows, columns=list(columns) if columns else None
                )

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        with _damaged(self.label):
            tables = [f.read(columns=list(columns) if columns else None) for f in self.files]
            return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def column(self, name: str, array: pa.Array | pa.ChunkedArray) -> list[Any]:
        """Decoded cells (JSON, arrays, media records) of a column read from the file."""
        with _damaged(self.label):
            return self.decoder.column(name, array)

    def rows(self, names: Sequence[str]) -> Iterator[list[Any]]:
        with _damaged(self.label):
            yield from self.decoder.batches_as_rows(self.batches(names), names)


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

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Iterable[Sequence[Any]] | None = None,
        dataframe: pd.DataFrame | None = None,
    ) -> None:
        self._cols: list[_Column] = []
        self._n = 0
        self._stored: _Stored | None = None
        self._cache: dict[str, Any] = {}
        if dataframe is not None:
            if data is not None:
                raise ValidationError("give either data or dataframe, not both")
            self._init_dataframe(dataframe, columns)
            return
        if columns is None:
            if data is not None:
                raise ValidationError(
                    "a Table built from data needs column names: Table(columns=[...], data=...)"
                )
            columns = []
        if isinstance(columns, str):
            raise ValidationError("columns must be a list of names, not a single string")
        self._cols = [_Column(name) for name in _check_names(list(columns))]
        self._index = {c.name: c for c in self._cols}
        if data is not None:
            for row in data:
                self.add_data(*row)

    # -- construction ----------------------------------------------------------------------
    def _init_dataframe(self, df: pd.DataFrame, columns: Sequence[str] | None) -> None:
        if columns is not None:
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise ValidationError(f"columns {missing} are not in the DataFrame")
            df = df[list(columns)]
        names = _check_names([c if isinstance(c, str) else str(c) for c in df.columns])
        self._cols = []
        for name, (_, series) in zip(names, df.items(), strict=True):
            col = _Column(name)
            if series.dtype == object:
                _fill_from_object_series(col, series, name)
            else:
                _fill_from_series(col, series, name)
            self._cols.append(col)
        self._index = {c.name: c for c in self._cols}
        self._n = len(df)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Table:
        """A Table from an Arrow table (zero-copy for scalar columns).

        Columns written by ``to_arrow`` keep their kinds (lists, dicts, arrays); image and
        audio descriptions come back as dict columns, since their bytes are not in Arrow.
        """
        self = cls(columns=[])
        kinds = kinds_of(table.schema)
        names = _check_names(table.column_names)
        for name in names:
            col = _Column(name)
            array = table.column(name)
            kind = kinds[name]
            if kind in JSON_KINDS or kind == "array":
                col.kind = kind
                col.chunks = [c for c in array.chunks]
            elif kind in ("int", "float", "bool", "str", "native"):
                _fill_from_arrow(col, array)
            elif kind == "derived":
                continue
            else:
                _fill_from_values(col, array.to_pylist(), name)
            self._cols.append(col)
        self._index = {c.name: c for c in self._cols}
        self._n = table.num_rows
        return self

    @classmethod
    def from_parquet(cls, path: str) -> Table:
        """A Table over a Parquet file, read lazily in batches (no row limit)."""
        from pathlib import Path

        if not Path(path).is_file():
            raise NotFoundError(f"no such Parquet file: {path!r}")
        self = cls(columns=[])
        self._attach(_Stored([str(path)], None, None, label=str(path)))
        return self

    @classmethod
    def _from_stored(
        cls,
        paths: Sequence[str],
        reader: BlobReader,
        origin_of: Callable[[str], Origin | None] | None,
        label: str,
        digest: str | None = None,
    ) -> Table:
        self = cls(columns=[])
        self._attach(_Stored(paths, reader, origin_of, label, digest))
        return self

    def _attach(self, stored: _Stored) -> None:
        self._stored = stored
        self._n = stored.num_rows
        kinds = stored.decoder.kinds
        self._cols = [
            _Column(n, kinds[n], stored.schema.field(n).type if kinds[n] == "native" else None)
            for n in stored.schema.names
            if kinds[n] != "derived"
        ]
        self._index = {c.name: c for c in self._cols}

    def _materialize(self) -> None:
        """Load a Parquet-backed table into memory before it is changed."""
        stored = self._stored
        if stored is None:
            return
        data = stored.read([c.name for c in self._cols])
        for col in self._cols:
            col.chunks, col.pending, col.objects = [], [], []
            array = data.column(col.name)
            if col.kind in MEDIA_KINDS:
                col.objects = stored.column(col.name, array)
            else:
                col.chunks = list(array.chunks)
                if col.kind == "native":
                    col.type = array.type
        self._stored = None

    # -- mutation --------------------------------------------------------------------------
    def add_data(self, *values: Any) -> None:
        """Append one row: one value per column, in column order."""
        cols = self._cols
        if len(values) != len(cols):
            raise ValidationError(
                f"row {self._n}: add_data got {len(values)} values for {len(cols)} columns {self.columns}"
            )
        if self._stored is not None:
            self._materialize()
        row = self._n
        # Every value is checked and converted before any column changes, so a refused row
        # leaves the table as it was (no column one value longer than the others).
        cells: list[Any] = []
        new_kinds: list[str | None] = []
        # Native columns whose Arrow type changes with this row: (column, type, its chunks
        # cast to the type, or None when the column had no values yet).
        retypes: list[tuple[_Column, pa.DataType, list[pa.Array] | None]] = []
        for col, value in zip(cols, values, strict=False):  # lengths checked above
            kind = col.kind
            if kind is None and value is not None:
                kind = kind_of_value(value)
                if kind is None:
                    raise ValidationError(
                        f"row {row}, column {col.name!r}: cannot store {describe(value)}; "
                        "use numbers, strings, bools, None, Image, Audio, numpy arrays, lists, "
                        "dicts, datetimes, dates, timedeltas or Decimals"
                        + ("; tuples would read back as lists" if isinstance(value, tuple) else "")
                    )
                if kind == "native" and is_missing_native(value):
                    kind = value = None
            elif kind == "int" and type(value) is float:
                kind = "float"
            new_kinds.append(kind)
            if value is None:
                cells.append(None)
            elif kind in MEDIA_KINDS:
                if kind_of_value(value) != kind:
                    raise ValidationError(
                        f"row {row}, column {col.name!r}: expected {kind}, got {describe(value)}"
                    )
                cells.append(value)
            elif (
                # The plain Python values to_cell would pass unchanged, checked inline: this
                # is the hot loop of ingest.
                (type(value) is int and kind == "int" and INT64_MIN <= value <= INT64_MAX)
                or (type(value) is str and kind == "str" and value.isascii())
                or (type(value) is float and kind == "float")
                or (type(value) is bool and kind == "bool")
            ):
                cells.append(value)
            elif kind == "native":
                cells.append(self._native_cell(col, value, row, retypes))
            else:
                cells.append(to_cell(kind or "", value, row, col.name))
        for col, type_, chunks in retypes:
            if chunks is None:
                col.type = type_
            else:
                col.type, col.chunks, col.pending = type_, chunks, []
        for col, kind, cell in zip(cols, new_kinds, cells, strict=True):
            if kind != col.kind:
                if col.kind == "int":
                    col.widen_to_float()
                    col.kind = kind
                else:  # the column's first value: the rows before it were all missing
                    col.fill_missing(kind or "str", col.type)
            (col.objects if kind in MEDIA_KINDS else col.pending).append(cell)
        self._n = row + 1
        self._cache.clear()
        if len(cols[0].pending if cols else ()) >= FLUSH_ROWS:
            for col in cols:
                col.flush()

    @staticmethod
    def _native_cell(
        col: _Column,
        value: Any,
        row: int,
        retypes: list[tuple[_Column, pa.DataType, list[pa.Array] | None]],
    ) -> Any:
        """A timestamp, date, duration or Decimal cell for ``col``, checked against its type.

        A change of the column's type (a finer unit, a wider decimal) is added to
        ``retypes`` with the column's chunks already cast, so that it can fail here, before
        any column changes.
        """
        if is_missing_native(value):
            return None
        if not isinstance(value, NATIVE_VALUES):
            raise ValidationError(
                f"row {row}, column {col.name!r}: expected {col.type} like the column's "
                f"values, got {describe(value)}"
            )
        got, cell = native_cell(value, row, col.name)
        have = col.type if col.kind == "native" else None
        want = merge_native(have, got, value, row, col.name)
        if want != have:
            retypes.append((col, want, col.retyped(want, row) if have is not None else None))
        return rescale(cell, got, want, value, row, col.name)

    def add_column(
        self, name: str, data: Sequence[Any] | np.ndarray | pa.Array | pd.Series
    ) -> None:
        """Append a column; ``data`` has one value per row (vectorised for arrays and Series)."""
        _check_names([*self.columns, name])
        if self._stored is not None:
            self._materialize()
        n = len(data)
        if n != self._n and self._cols:
            raise ValidationError(
                f"column {name!r} has {n} values but the table has {self._n} rows"
            )
        col = _Column(name)
        if isinstance(data, (pa.Array, pa.ChunkedArray)):
            _fill_from_arrow(col, data)
        elif (isinstance(data, np.ndarray) and data.dtype != object and data.ndim == 1) or (
            hasattr(data, "dtype")
            and getattr(data, "dtype", None) is not np.dtype(object)
            and hasattr(data, "to_numpy")
        ):
            _fill_from_series(col, data, name)
        else:
            _fill_from_values(col, list(data), name)
        self._cols.append(col)
        self._index[name] = col
        self._n = n
        self._cache.clear()

    # -- reading ---------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """The column names, in order (derived columns not included)."""
        return [c.name for c in self._cols]

    @property
    def kinds(self) -> dict[str, str]:
        """Column name -> kind (``int``, ``float``, ``bool``, ``str``, ``image``, ``audio``, ...)."""
        return {c.name: c.kind or "str" for c in self._cols}

    @property
    def derived_columns(self) -> list[str]:
        """Names of the queryable columns computed from image overlays."""
        return [d["name"] for d in _storage.read_metadata(self._schema()).get("derived", [])]

    def __len__(self) -> int:
        return self._n

    def get_column(self, name: str) -> list[Any]:
        """The values of one column (``Image`` objects for an image column)."""
        if name not in self._index and name not in self.derived_columns:
            raise NotFoundError(_unknown_column(name, self.columns + self.derived_columns))
        if self._stored is not None:
            return self._stored.column(name, self._stored.read([name]).column(name))
        col = self._index.get(name)
        if col is not None and col.kind in MEDIA_KINDS:
            return list(col.objects)
        decoder = self._memory_decoder()
        return decoder.column(name, self._storage_table().column(name))

    def __iter__(self) -> Iterator[list[Any]]:
        """Rows as lists of values, streamed in batches."""
        names = self.columns
        if self._stored is not None:
            yield from self._stored.rows(names)
            return
        decoder = self._memory_decoder()
        for start in range(0, self._n, BATCH_ROWS):
            stop = min(start + BATCH_ROWS, self._n)
            cols = []
            for col in self._cols:
                if col.kind in MEDIA_KINDS:
                    cols.append(col.objects[start:stop])
                else:
                    cols.append(decoder.column(col.name, col.arrow().slice(start, stop - start)))
            for row in zip(*cols, strict=True):
                yield list(row)

    @property
    def data(self) -> list[list[Any]]:
        """All rows as lists (loads the whole table)."""
        return list(self)

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame; media cells are ``Image`` / ``Audio`` objects, dicts and lists stay Python values."""
        import pandas as pd

        names = self.columns
        if self._stored is not None:
            table = self._stored.read(names)
            with _damaged(self._stored.label):
                columns = {
                    n: _storage.to_pandas_column(self._stored.decoder, n, table.column(n))
                    for n in names
                }
        else:
            table = self._storage_table().select(names)
            decoder = self._memory_decoder()
            columns = {n: _storage.to_pandas_column(decoder, n, table.column(n)) for n in names}
        return pd.DataFrame(columns, columns=names)

    def to_arrow(self) -> pa.Table:
        """The table in its storage form without derived columns (see docs/architecture.md).

        Lists and dicts are JSON text; images and audio are description structs whose bytes
        stay in the store. Use ``to_pandas`` or ``get_column`` to get media objects.
        """
        if self._stored is not None:
            return self._stored.read(self.columns)
        return self._storage_table().select(self.columns)

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
        where = f", stored at {self._stored.label}" if self._stored is not None else ""
        return f"Table({len(self):,} rows; {cols}{where})"

    # -- query -----------------------------------------------------------------------------
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
        from dsviz_widget._query import run_query

        return run_query(self, filter, sort, group_by, columns, offset, limit, as_arrow)

    def _memory_decoder(self) -> _storage.Decoder:
        """Decoder for the in-memory storage form (cached until the table changes)."""
        decoder = self._cache.get("decoder")
        if decoder is None:
            decoder = self._cache["decoder"] = _storage.Decoder(self._schema(), self._read_blob)
        return decoder

    # -- storage (used by artifacts/ and the engine bridge) -----------------------------------
    def _schema(self) -> pa.Schema:
        if self._stored is not None:
            return self._stored.schema
        return self._storage_table().schema

    def _storage_table(self) -> pa.Table:
        """The whole in-memory table in storage form, derived columns included (cached)."""
        if self._stored is not None:
            return self._stored.read()
        cached = self._cache.get("storage")
        if cached is None:
            schema, batches = self._storage_batches()
            cached = pa.Table.from_batches(list(batches), schema=schema)
            self._cache["storage"] = cached
        return cached

    def _storage_batches(
        self, batch_rows: int = BATCH_ROWS
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """Schema and record batches of the storage form, built batch by batch."""
        if self._stored is not None:
            stored = self._stored
            return stored.schema, stored.batches(batch_rows=batch_rows)
        images = {c.name: c.objects for c in self._cols if c.kind == "image"}
        derived, notes = _derived.plan({n: self._distinct(n) for n in images}, self.columns)
        fields = [_storage.field(c.name, c.kind or "str", _arrow_type(c)) for c in self._cols]
        fields += [_storage.field(d.name, "derived", d.arrow_type) for d in derived]
        meta = _storage.table_metadata(
            _storage.collect_classes([self._distinct(n) for n in images]), derived, notes
        )
        schema = pa.schema(fields, metadata=meta)
        arrays = {c.name: c.arrow() for c in self._cols if c.kind not in MEDIA_KINDS}
        n = self._n

        def batches() -> Iterator[pa.RecordBatch]:
            for start in range(0, max(n, 1), batch_rows):
                stop = min(start + batch_rows, n)
                cols: list[pa.Array] = []
                spreads = {}
                for c in self._cols:
                    if c.kind in MEDIA_KINDS:
                        spreads[c.name] = _storage.distinct(c.objects[start:stop])
                        cols.append(_storage.media_array(c.kind or "", [], spreads[c.name]))
                    else:
                        cols.append(arrays[c.name].slice(start, stop - start).combine_chunks())
                for d in derived:
                    uniq, index = spreads[d.source]
                    cols.append(_derived.values(d, uniq).take(index))
                yield pa.RecordBatch.from_arrays(cols, schema=schema)

        return schema, batches()

    def _media_blobs(self) -> Iterator[tuple[Blob, str]]:
        """Every media file the table's cells need, with extensions (repeats possible)."""
        if self._stored is not None:
            media = [n for n in self.columns if self._stored.decoder.kinds[n] in MEDIA_KINDS]
            for batch in self._stored.batches(media):
                for name in media:
                    for obj in self._stored.column(name, batch.column(name)):
                        if obj is not None:
                            yield from obj._storage_blobs()
            return
        for col in self._cols:
            if col.kind in MEDIA_KINDS:
                for obj in self._distinct(col.name):
                    if obj is not None:
                        yield from obj._storage_blobs()

    def _distinct(self, name: str) -> list[Any]:
        """The distinct objects of an in-memory media column, by identity (cached)."""
        key = f"distinct:{name}"
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = list({id(o): o for o in self._index[name].objects}.values())
        return found

    def _read_blob(self, digest: str) -> bytes:
        """Bytes of a media file this table refers to (verified by the store when stored)."""
        if self._stored is not None:
            if self._stored.reader is None:
                raise NotFoundError(f"media file {digest[:12]} is not available outside a store")
            return self._stored.reader(digest)
        index = self._cache.get("blobs")
        if index is None:
            index = {blob.digest: blob for blob, _ in self._media_blobs()}
            self._cache["blobs"] = index
        blob = index.get(digest)
        if blob is None:
            raise NotFoundError(f"this table has no media file with digest {digest[:12]}...")
        return bytes(blob.data())

    def _engine_source(self) -> Source:
        from dsviz_widget.engine import Source

        if self._stored is not None:
            with _damaged(self._stored.label):
                return Source.from_parquet(self._stored.paths, name=self._stored.label)
        source = self._cache.get("source")
        if source is None:
            source = Source.from_arrow(self._storage_table(), name="table")
            self._cache["source"] = source
        return source

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from dsviz_widget.widget import show

        display(show(self))


def _arrow_type(col: _Column) -> pa.DataType:
    if col.kind in MEDIA_KINDS or not col.chunks:
        return col.storage_type()
    return col.chunks[0].type


def _fill_from_arrow(col: _Column, array: pa.Array | pa.ChunkedArray) -> None:
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    if pa.types.is_null(array.type):
        array = array.cast(pa.string())
    if pa.types.is_decimal(array.type) and not pa.types.is_decimal128(array.type):
        array = _as_decimal128(array, col.name)
    col.kind = kind_of_arrow(array.type)
    col.type = array.type if col.kind == "native" else None
    col.chunks = list(array.chunks) if isinstance(array, pa.ChunkedArray) else [array]


def _as_decimal128(array: pa.Array | pa.ChunkedArray, name: str) -> pa.Array | pa.ChunkedArray:
    """decimal32/64/256 as decimal128, the only decimal the engine (DuckDB) reads; refused
    when a value needs more digits than it holds."""
    type_ = array.type
    precision = min(type_.precision, MAX_DECIMAL_DIGITS)
    try:
        return array.cast(pa.decimal128(precision, min(type_.scale, precision)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        raise ValidationError(
            f"column {name!r}: its {type_} values need more than {MAX_DECIMAL_DIGITS} digits, "
            f"the most a decimal column holds; store them as strings, or round them"
        ) from None


#: What Arrow raises for values it cannot convert (lone surrogates, huge ints, complex...).
_ARROW_REFUSALS = (
    pa.ArrowInvalid,
    pa.ArrowTypeError,
    pa.ArrowNotImplementedError,
    UnicodeEncodeError,
    OverflowError,
    TypeError,  # Decimal('Infinity') in an object column, for one
    decimal.InvalidOperation,
)


def _fill_from_series(col: _Column, data: Any, name: str) -> None:
    """A typed Series or 1-D array, vectorised; values Arrow refuses are checked one by one,
    so the error names the row (or the column gets its kind from the Python values)."""
    try:
        array = pa.Array.from_pandas(data) if hasattr(data, "to_numpy") else pa.array(data)
    except _ARROW_REFUSALS:
        _fill_from_values(col, list(data), name)
        return
    _fill_from_arrow(col, array)


def _fill_from_object_series(col: _Column, series: Any, name: str) -> None:
    """An ``object`` column: vectorised when Arrow reads it as plain strings or numbers."""
    try:
        array = pa.Array.from_pandas(series)
    except _ARROW_REFUSALS:
        array = None
    if array is not None and (
        pa.types.is_string(array.type)
        or pa.types.is_large_string(array.type)
        or pa.types.is_boolean(array.type)
        or pa.types.is_int64(array.type)
        or pa.types.is_float64(array.type)
    ):
        _fill_from_arrow(col, array)
        return
    _fill_from_values(col, series.tolist(), name)


def _fill_from_values(col: _Column, values: list[Any], name: str) -> None:
    """Fill a column from Python values, checking each against the column's kind."""
    kind: str | None = None
    for row, v in enumerate(values):
        if v is not None and not _storage_is_missing(v):
            kind = kind_of_value(v)
            if kind is None:
                raise ValidationError(f"row {row}, column {name!r}: cannot store {describe(v)}")
            break
    col.kind = kind
    if kind is None:
        col.chunks = [pa.nulls(len(values), pa.string())]
        return
    if kind == "int" and any(kind_of_value(v) == "float" for v in values if v is not None):
        kind = col.kind = "float"
    if kind == "native":
        col.type, cells = native_column(values, name)
        col.chunks = [pa.array(cells, type=col.type)]
        return
    if kind in MEDIA_KINDS:
        for row, v in enumerate(values):
            if v is not None and not _storage_is_missing(v) and kind_of_value(v) != kind:
                raise ValidationError(
                    f"row {row}, column {name!r}: expected {kind}, got {describe(v)}"
                )
        col.objects = [None if _storage_is_missing(v) else v for v in values]
        return
    cells = [
        to_cell(kind, None if _storage_is_missing(v) else v, row, name)
        for row, v in enumerate(values)
    ]
    col.chunks = [pa.array(cells, type=STORAGE_TYPES[kind])]


def _storage_is_missing(value: Any) -> bool:
    """pandas puts NaN (or NaT) in object columns for missing values; treat it as None there."""
    return (isinstance(value, float) and value != value) or is_missing_native(value)


def _check_names(names: list[Any]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValidationError(f"column names must be non-empty strings, got {name!r}")
        # Arrow, Parquet and DuckDB hold any UTF-8 text as a name, but nothing else: NUL ends
        # a C string and a lone surrogate is not UTF-8.
        if "\x00" in name:
            raise ValidationError(f"column name {name!r} contains a NUL character")
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(
                f"column name {name!r} cannot be stored as UTF-8 ({exc.reason} at position "
                f"{exc.start})"
            ) from None
        if name in seen:
            raise ValidationError(f"column {name!r} appears twice")
        if name == "_row" or name.startswith("_dsviz"):
            raise ValidationError(f"column name {name!r} is reserved")
        seen.add(name)
    return names


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

    def _engine_source(self, how: str = "inner") -> Any:
        from dsviz_widget.engine import join_sources

        keys = self.join_key
        return join_sources(
            self.table1._engine_source(), self.table2._engine_source(), keys, how=how
        )

    def _read_blob(self, digest: str) -> bytes:
        try:
            return self.table1._read_blob(digest)
        except NotFoundError:
            return self.table2._read_blob(digest)

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
        from dsviz_widget._query import run_query

        return run_query(self, filter, sort, group_by, columns, offset, limit, as_arrow, how=how)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from dsviz_widget.widget import show

        display(show(self))
