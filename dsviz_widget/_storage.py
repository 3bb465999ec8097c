"""Conversion between a table's cells and the storage Arrow representation.

Writing: :func:`storage_batches` and :func:`media_blobs` are what the store writes for a
``Table`` (record batches with field kinds, derived columns and the ``dsviz`` table metadata;
the media files its cells name); the media helpers below build media columns' structs.
Reading: :class:`Decoder` turns storage arrays back into the Python values users put in
(``Image`` objects, dicts, numpy arrays), with media bytes read lazily through a blob reader.
The format itself (kinds, keys, types, metadata) is ``_format``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pyarrow as pa

from dsviz_widget._cells import array_from_record
from dsviz_widget._derived import Derived
from dsviz_widget._errors import ValidationError
from dsviz_widget._format import JSON_KINDS, MEDIA_KINDS, STORAGE_TYPES, kinds_of, read_metadata
from dsviz_widget.media import Audio, Blob, BlobReader, Classes, Image, Origin

if TYPE_CHECKING:
    from dsviz_widget.table import Table

#: Rows per record batch, when a table is written or read in batches.
BATCH_ROWS = 131_072


class Layout(NamedTuple):
    """What a table's storage form adds to its columns: the derived columns (``_derived``),
    sentences on those left out, and the class lists its images use (digest -> JSON)."""

    derived: list[Derived]
    notes: list[str]
    classes: dict[str, list[dict[str, Any]]]


def storage_batches(
    table: Table, batch_rows: int = BATCH_ROWS
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The storage schema of ``table`` and its rows as record batches, built batch by batch
    (derived columns included): what the store writes to Parquet."""
    # ``_backend`` is the table's in-memory or Parquet rows; this module and the two
    # backends are the data model's storage layer, which ``Table`` delegates to.
    return table._backend.storage_batches(batch_rows)


def media_blobs(table: Table) -> Iterator[tuple[Blob, str]]:
    """Every media file ``table``'s cells name, with its file extension (repeats possible)."""
    return table._backend.media_blobs()


def distinct(cells: Sequence[Any]) -> tuple[list[Any], pa.Array]:
    """The distinct objects among ``cells`` (by identity) and each cell's index into them.

    Media columns often repeat a few objects (a pool of images behind millions of rows), so
    records and derived values are computed once per object and spread with ``take``.
    """
    seen: dict[int, int] = {}
    uniq: list[Any] = []
    index = np.empty(len(cells), dtype=np.int64)
    for i, cell in enumerate(cells):
        key = id(cell)
        j = seen.get(key)
        if j is None:
            j = seen[key] = len(uniq)
            uniq.append(cell)
        index[i] = j
    return uniq, pa.array(index)


def media_array(
    kind: str, cells: Sequence[Any], spread: tuple[list[Any], pa.Array] | None = None
) -> pa.Array:
    uniq, index = spread or distinct(cells)
    records = pa.array(
        [None if c is None else c._storage_record() for c in uniq], type=STORAGE_TYPES[kind]
    )
    return records.take(index)


def collect_classes(
    image_columns: Sequence[Sequence[Image | None]],
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for cells in image_columns:
        for img in cells:
            if img is not None and img.classes is not None and img.classes.digest not in out:
                out[img.classes.digest] = img.classes.to_json()
    return out


class Decoder:
    """Turns storage arrays back into Python cell values for one table."""

    def __init__(
        self,
        schema: pa.Schema,
        reader: BlobReader | None,
        origin_of: Callable[[str], Origin | None] | None = None,
    ) -> None:
        self.kinds = kinds_of(schema)
        meta = read_metadata(schema)
        self.classes = {d: Classes(items) for d, items in meta.get("classes", {}).items()}
        self.reader = reader or _no_reader
        self.origin_of = origin_of

    def column(self, name: str, array: pa.Array | pa.ChunkedArray) -> list[Any]:
        kind = self.kinds[name]
        values: list[Any] = array.to_pylist()
        if kind in JSON_KINDS:
            return [None if v is None else json.loads(v) for v in values]
        if kind == "array":
            return [None if v is None else array_from_record(v) for v in values]
        if kind == "image":
            return [
                None
                if v is None
                else Image._from_record(
                    v,
                    self.classes.get(v["classes"]) if v["classes"] else None,
                    self.reader,
                    self.origin_of,
                )
                for v in values
            ]
        if kind == "audio":
            return [None if v is None else Audio._from_record(v, self.reader) for v in values]
        return values

    def batches_as_rows(
        self, batches: Iterator[pa.RecordBatch], columns: Sequence[str]
    ) -> Iterator[list[Any]]:
        for batch in batches:
            cols = [self.column(c, batch.column(c)) for c in columns]
            for row in zip(*cols, strict=True):
                yield list(row)


def _no_reader(digest: str) -> bytes:
    raise ValidationError(
        f"the bytes of media file {digest[:12]}... are not available: this table was read outside a store"
    )


def to_pandas_column(decoder: Decoder, name: str, array: pa.ChunkedArray) -> Any:
    """A pandas-ready column: vectorised for scalar kinds, object values for the others."""
    kind = decoder.kinds[name]
    if kind in MEDIA_KINDS or kind in JSON_KINDS or kind == "array":
        out = np.empty(len(array), dtype=object)
        for i, value in enumerate(
            decoder.column(name, array)
        ):  # slice assignment would broadcast arrays
            out[i] = value
        return out
    if pa.types.is_integer(array.type) and array.null_count:
        # pandas would make a float64 column of an integer one with nulls, rounding every
        # value above 2**53; its nullable integer dtype (Int64, UInt8, ...) keeps them exact.
        # Columns without nulls stay plain numpy ints, so the dtype depends only on the values
        # returned, the same for query() and to_pandas(), in memory or logged.
        return array.to_pandas(types_mapper=_nullable_int)
    return array.to_pandas()


def _nullable_int(type_: pa.DataType) -> Any:
    """pandas' nullable dtype for an Arrow integer type (``Int64`` for int64), else None."""
    if not pa.types.is_integer(type_):
        return None
    import pandas as pd

    signed = "Int" if pa.types.is_signed_integer(type_) else "UInt"
    return pd.api.types.pandas_dtype(f"{signed}{type_.bit_width}")
