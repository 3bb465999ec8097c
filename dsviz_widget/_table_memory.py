"""The in-memory backend of ``Table``: typed columns, built row by row or column by column.

Scalar values accumulate in Python lists and move into Arrow arrays every ``FLUSH_ROWS``
rows; media columns keep their ``Image`` / ``Audio`` objects. The storage form
(``docs/architecture.md``) is built from them on demand, derived columns included, and
cached until the table changes. ``table.py`` describes the interface both backends share.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from dsviz_widget import _derived, _storage
from dsviz_widget._cells import (
    INT64_MAX,
    INT64_MIN,
    NATIVE_VALUES,
    describe,
    exact_float,
    is_missing_native,
    kind_of_value,
    merge_native,
    mismatch,
    native_cell,
    rescale,
    to_cell,
)
from dsviz_widget._column import (
    Column,
    check_names,
    fill_from_arrow,
    fill_from_object_series,
    fill_from_series,
    fill_from_values,
)
from dsviz_widget._errors import (
    CellTypeError,
    NotFoundError,
    TableArgumentError,
    ValidationError,
)
from dsviz_widget._format import (
    JSON_KINDS,
    MEDIA_KINDS,
    kinds_of,
    metadata_of,
    storage_field,
    table_metadata,
)
from dsviz_widget.engine import Source
from dsviz_widget.media import Blob

if TYPE_CHECKING:
    import pandas as pd

# Values accumulate in Python lists and are moved into Arrow arrays every FLUSH_ROWS rows,
# so a long add_data loop keeps ~8 bytes per scalar cell instead of a Python object each.
FLUSH_ROWS = 65_536


class MemoryColumns:
    """The columns of an in-memory table, and their storage form (cached until a change)."""

    origin = None  # never read from a store
    label = None

    def __init__(self, cols: list[Column], num_rows: int, primary_key: str | None = None) -> None:
        self.cols = cols
        self.index = {c.name: c for c in cols}
        self.num_rows = num_rows
        self.cache: dict[str, Any] = {}
        #: The column ``Table.set_pk`` chose, written to the table metadata.
        self.primary_key = primary_key

    # -- construction --------------------------------------------------------------------
    @classmethod
    def empty(cls, names: Sequence[str]) -> MemoryColumns:
        """Columns with these (checked) names and no rows; each kind comes with its first value."""
        return cls([Column(name) for name in names], 0)

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, columns: Sequence[str] | None) -> MemoryColumns:
        if columns is not None:
            missing = [c for c in columns if c not in df.columns]
            if missing:
                raise ValidationError(f"columns {missing} are not in the DataFrame")
            df = df[list(columns)]
        names = check_names([c if isinstance(c, str) else str(c) for c in df.columns])
        cols = []
        for name, (_, series) in zip(names, df.items(), strict=True):
            col = Column(name)
            if series.dtype == object:
                fill_from_object_series(col, series, name)
            else:
                fill_from_series(col, series, name)
            cols.append(col)
        return cls(cols, len(df))

    @classmethod
    def from_arrow(cls, table: pa.Table) -> MemoryColumns:
        cols: list[Column] = []
        kinds = kinds_of(table.schema)
        names = check_names(table.column_names)
        pk = metadata_of(table.schema).get("primary_key")
        for name in names:
            col = Column(name)
            array = table.column(name)
            kind = kinds[name]
            if kind in JSON_KINDS or kind == "array":
                col.kind = kind
                col.chunks = [c for c in array.chunks]
            elif kind in ("int", "float", "bool", "str", "native"):
                fill_from_arrow(col, array)
            elif kind == "derived":
                continue
            else:
                fill_from_values(col, array.to_pylist(), name)
            cols.append(col)
        return cls(cols, table.num_rows, pk if pk in names else None)

    # -- change --------------------------------------------------------------------------
    def declare(self, name: str, kind: str) -> None:
        """Give a column the kind a declared dtype starts it as: an empty (or all-missing)
        column takes it, an int column becomes float for ``float``; others keep theirs (the
        values were checked against the dtype)."""
        col = self.index[name]
        if col.kind == kind:
            return
        if col.kind is None:
            col.fill_missing(kind, None)
        elif col.kind == "int" and kind == "float":
            col.widen_to_float(col.widened(self.num_rows))
        else:
            return
        self.cache.clear()

    def add_row(self, values: Sequence[Any]) -> None:
        """Append one row (its length checked by the caller)."""
        cols = self.cols
        row = self.num_rows
        # Every value is checked and converted before any column changes, so a refused row
        # leaves the table as it was (no column one value longer than the others).
        cells: list[Any] = []
        new_kinds: list[str | None] = []
        # Native columns whose Arrow type changes with this row: (column, type, its chunks
        # cast to the type, or None when the column had no values yet).
        retypes: list[tuple[Column, pa.DataType, list[pa.Array] | None]] = []
        # Int columns that become float with this row: their chunks, already cast.
        widened: dict[str, list[pa.Array]] = {}
        for col, value in zip(cols, values, strict=False):  # lengths checked above
            kind = col.kind
            if type(value) is not float and isinstance(value, (float, np.floating)):
                value = exact_float(value, row, col.name)
            if type(value) is float and value != value and kind not in (None, "int", "float"):
                value = None  # NaN is a missing value, as W&B and pandas read it
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
                widened[col.name] = col.widened(row)
            new_kinds.append(kind)
            if value is None:
                cells.append(None)
            elif kind in MEDIA_KINDS:
                if kind_of_value(value) != kind:
                    raise mismatch(row, col.name, kind or "", value)
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
                cells.append(_native_cell(col, value, row, retypes))
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
                    col.widen_to_float(widened[col.name])
                else:  # the column's first value: the rows before it were all missing
                    col.fill_missing(kind or "str", col.type)
            (col.objects if kind in MEDIA_KINDS else col.pending).append(cell)
        self.num_rows = row + 1
        self.cache.clear()
        if len(cols[0].pending if cols else ()) >= FLUSH_ROWS:
            for col in cols:
                col.flush()

    def add_column(
        self, name: str, data: Sequence[Any] | np.ndarray | pa.Array | pd.Series
    ) -> None:
        """Append a column (its name checked by the caller)."""
        n = len(data)
        if n != self.num_rows and self.cols:
            raise TableArgumentError(
                f"column {name!r} has {n} values but the table has {self.num_rows} rows"
            )
        col = Column(name)
        if isinstance(data, (pa.Array, pa.ChunkedArray)):
            fill_from_arrow(col, data)
        elif (isinstance(data, np.ndarray) and data.dtype != object and data.ndim == 1) or (
            hasattr(data, "dtype")
            and getattr(data, "dtype", None) is not np.dtype(object)
            and hasattr(data, "to_numpy")
        ):
            fill_from_series(col, data, name)
        else:
            fill_from_values(col, list(data), name)
        self.cols.append(col)
        self.index[name] = col
        self.num_rows = n
        self.cache.clear()

    # -- reading -------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.cols]

    @property
    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind or "str" for c in self.cols}

    def get_column(self, name: str) -> list[Any]:
        col = self.index.get(name)
        if col is not None and col.kind in MEDIA_KINDS:
            return list(col.objects)
        return self.decoder().column(name, self.storage_table().column(name))

    def rows(self) -> Iterator[list[Any]]:
        decoder = self.decoder()
        n = self.num_rows
        for start in range(0, n, _storage.BATCH_ROWS):
            stop = min(start + _storage.BATCH_ROWS, n)
            cols = []
            for col in self.cols:
                if col.kind in MEDIA_KINDS:
                    cols.append(col.objects[start:stop])
                else:
                    cols.append(decoder.column(col.name, col.arrow().slice(start, stop - start)))
            for row in zip(*cols, strict=True):
                yield list(row)

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        names = self.columns
        table = self.storage_table().select(names)
        decoder = self.decoder()
        columns = {n: _storage.to_pandas_column(decoder, n, table.column(n)) for n in names}
        return pd.DataFrame(columns, columns=names)

    def to_arrow(self) -> pa.Table:
        return self.storage_table().select(self.columns)

    def decoder(self) -> _storage.Decoder:
        """Decoder for the in-memory storage form (cached until the table changes)."""
        decoder = self.cache.get("decoder")
        if decoder is None:
            decoder = self.cache["decoder"] = _storage.Decoder(self.schema(), self.read_blob)
        return decoder

    # -- storage form --------------------------------------------------------------------
    def schema(self) -> pa.Schema:
        return self.storage_table().schema

    def storage_table(self) -> pa.Table:
        """The whole table in storage form, derived columns included (cached)."""
        cached = self.cache.get("storage")
        if cached is None:
            schema, batches = self.storage_batches()
            cached = pa.Table.from_batches(list(batches), schema=schema)
            self.cache["storage"] = cached
        return cached

    def layout(self) -> _storage.Layout:
        """The derived columns, notes and class lists this table's storage form has."""
        images = [c.name for c in self.cols if c.kind == "image"]
        derived, notes = _derived.plan({n: self.distinct(n) for n in images}, self.columns)
        classes = _storage.collect_classes([self.distinct(n) for n in images])
        return _storage.Layout(derived, notes, classes)

    def storage_batches(
        self, batch_rows: int = _storage.BATCH_ROWS, layout: _storage.Layout | None = None
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """Schema and record batches of the storage form, built batch by batch.

        ``layout`` replaces the table's own (:meth:`layout`): a Dask partition is written
        with the derived columns and class lists of the whole table.
        """
        derived, notes, classes = layout or self.layout()
        fields = [storage_field(c.name, c.kind or "str", _arrow_type(c)) for c in self.cols]
        fields += [storage_field(d.name, "derived", d.arrow_type) for d in derived]
        meta = table_metadata(classes, [d.to_json() for d in derived], notes, self.primary_key)
        schema = pa.schema(fields, metadata=meta)
        arrays = {c.name: c.arrow() for c in self.cols if c.kind not in MEDIA_KINDS}
        n = self.num_rows

        def batches() -> Iterator[pa.RecordBatch]:
            for start in range(0, max(n, 1), batch_rows):
                stop = min(start + batch_rows, n)
                cols: list[pa.Array] = []
                spreads = {}
                for c in self.cols:
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

    def media_blobs(self) -> Iterator[tuple[Blob, str]]:
        for col in self.cols:
            if col.kind in MEDIA_KINDS:
                for obj in self.distinct(col.name):
                    if obj is not None:
                        yield from obj._storage_blobs()

    def distinct(self, name: str) -> list[Any]:
        """The distinct objects of a media column, by identity (cached)."""
        key = f"distinct:{name}"
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = list({id(o): o for o in self.index[name].objects}.values())
        return found

    def read_blob(self, digest: str) -> bytes:
        index = self.cache.get("blobs")
        if index is None:
            index = {blob.digest: blob for blob, _ in self.media_blobs()}
            self.cache["blobs"] = index
        blob = index.get(digest)
        if blob is None:
            raise NotFoundError(f"this table has no media file with digest {digest[:12]}...")
        return bytes(blob.data())

    def engine_source(self) -> Source:
        source = self.cache.get("source")
        if source is None:
            source = Source.from_arrow(self.storage_table(), name="table")
            self.cache["source"] = source
        return source


def _native_cell(
    col: Column,
    value: Any,
    row: int,
    retypes: list[tuple[Column, pa.DataType, list[pa.Array] | None]],
) -> Any:
    """A timestamp, date, duration or Decimal cell for ``col``, checked against its type.

    A change of the column's type (a finer unit, a wider decimal) is added to
    ``retypes`` with the column's chunks already cast, so that it can fail here, before
    any column changes.
    """
    if is_missing_native(value):
        return None
    if not isinstance(value, NATIVE_VALUES):
        raise CellTypeError(
            f"row {row}, column {col.name!r}: expected {col.type} like the column's "
            f"values, got {describe(value)}"
        )
    got, cell = native_cell(value, row, col.name)
    have = col.type if col.kind == "native" else None
    want = merge_native(have, got, value, row, col.name)
    if want != have:
        retypes.append((col, want, col.retyped(want, row) if have is not None else None))
    return rescale(cell, got, want, value, row, col.name)


def _arrow_type(col: Column) -> pa.DataType:
    if col.kind in MEDIA_KINDS or not col.chunks:
        return col.storage_type()
    return col.chunks[0].type
