"""One in-memory column of a ``Table`` and how it is filled from Arrow, pandas or Python values.

The column's kind is fixed by its first non-null value or by its Arrow type (``_cells``
converts the values); a ``native`` column keeps the Arrow type of its values.
"""

from __future__ import annotations

import decimal
from typing import Any

import pyarrow as pa

from dsviz_widget import _storage
from dsviz_widget._cells import (
    MAX_DECIMAL_DIGITS,
    describe,
    is_missing_native,
    kind_of_value,
    mismatch,
    native_column,
    to_cell,
)
from dsviz_widget._errors import TableArgumentError, ValidationError
from dsviz_widget._format import MEDIA_KINDS, STORAGE_TYPES, kind_of_arrow


class Column:
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

    def widened(self, row: int) -> list[pa.Array]:
        """The chunks of an int column, pending values included, as float64 (to hold a float
        that arrives); refused, before anything changes, when an int would round."""
        arrays = [*self.chunks, pa.array(self.pending, type=pa.int64())]
        try:
            return [a.cast(pa.float64()) for a in arrays if len(a)]
        except pa.ArrowInvalid as exc:  # Arrow's cast checks that every int is exact
            raise ValidationError(
                f"row {row}, column {self.name!r}: this float would make the int column a float "
                f"column, but not all of its ints are exactly float64 values ({exc}); store "
                "this column's numbers as ints only, or as strings"
            ) from None

    def widen_to_float(self, chunks: list[pa.Array]) -> None:
        """Make an int column float, given its :meth:`widened` chunks."""
        self.chunks, self.pending, self.kind = chunks, [], "float"


def fill_from_arrow(col: Column, array: pa.Array | pa.ChunkedArray) -> None:
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


def fill_from_series(col: Column, data: Any, name: str) -> None:
    """A typed Series or 1-D array, vectorised; values Arrow refuses are checked one by one,
    so the error names the row (or the column gets its kind from the Python values)."""
    try:
        array = pa.Array.from_pandas(data) if hasattr(data, "to_numpy") else pa.array(data)
    except _ARROW_REFUSALS:
        fill_from_values(col, list(data), name)
        return
    fill_from_arrow(col, array)


def fill_from_object_series(col: Column, series: Any, name: str) -> None:
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
        fill_from_arrow(col, array)
        return
    fill_from_values(col, series.tolist(), name)


def fill_from_values(col: Column, values: list[Any], name: str) -> None:
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
                raise mismatch(row, name, kind, v)
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


def check_names(names: list[Any]) -> list[str]:
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise TableArgumentError(
                f"column names must be non-empty strings, got {name!r} (rows go in data=, "
                "as in Table(columns=[...], data=rows))"
            )
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
