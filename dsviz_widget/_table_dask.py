"""The Dask backend of ``Table``: rows that are a Dask collection's partitions.

``dv.Table(dataframe=dask_df)`` (or ``data=`` a Dask bag of rows, or of images for a
one-column table) keeps the collection uncomputed. Logging the table has each partition
built, stored and written by the Dask workers (``artifacts/_dask_ingest.py``); everything
else a ``Table`` offers (``len``, ``to_pandas``, ``query``, showing it) first computes the
collection here, into the in-memory backend, as ``dask_df.compute()`` would.

A partition becomes a table exactly as a local one does: :meth:`PartitionRules.build` calls
the same ``_table_rules.build`` as ``Table(dataframe=pandas_df)``, so kinds, conversions and
W&B's column rules are the local path's. This module never imports Dask: a collection is
recognised by its type's module, and only its ``to_delayed`` / ``compute`` are called.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dsviz_widget import _storage
from dsviz_widget._errors import ValidationError
from dsviz_widget._table_memory import MemoryColumns
from dsviz_widget._table_parquet import TableOrigin
from dsviz_widget._table_rules import build
from dsviz_widget.engine import Source
from dsviz_widget.media import Audio, Blob, Image

if TYPE_CHECKING:
    import pandas as pd

    from dsviz_widget.table import Table


def is_dask(obj: object) -> bool:
    """Whether ``obj`` is a Dask DataFrame or bag, without importing Dask."""
    kind = type(obj)
    module = kind.__module__ or ""
    return (
        module.startswith(("dask.", "dask_expr."))
        and kind.__name__ in ("DataFrame", "Bag")
        and hasattr(obj, "to_delayed")
    )


@dataclass(frozen=True)
class PartitionRules:
    """The constructor's arguments a partition is built with (sent to the workers)."""

    columns: tuple[str, ...] | None
    dtype: Any
    optional: bool | tuple[bool, ...]
    mixed: bool

    def build(self, part: Any) -> MemoryColumns:
        """Partition ``part`` (a pandas DataFrame, or a bag partition's list of rows) as the
        in-memory backend ``Table(...)`` would make of it."""
        columns = list(self.columns) if self.columns is not None else None
        if type(part).__name__ == "DataFrame":
            _check_not_stringified(part)
            memory, _ = build(columns, None, None, part, self.dtype, self.optional, self.mixed)
            return memory
        rows = [self._row(item) for item in part]
        memory, _ = build(columns, rows, None, None, self.dtype, self.optional, self.mixed)
        return memory

    def _row(self, item: Any) -> Sequence[Any]:
        # A bag of images (or audio) is a one-column table: each item is that column's cell.
        if isinstance(item, (Image, Audio)) and self.columns is not None and len(self.columns) == 1:
            return (item,)
        return item  # type: ignore[no-any-return]


#: How ``str()`` of an ``Image`` or ``Audio`` reads (their ``__repr__``).
_MEDIA_REPR = re.compile(r"(?:Image\(\d+x\d+ \w+|Audio\(\w+, sample_rate=).*\)", re.S)


def _check_not_stringified(part: pd.DataFrame) -> None:
    """Refuse a column of media objects that Dask turned into their text.

    Dask converts object columns to strings when a frame is built from pandas or delayed
    partitions (its ``dataframe.convert-string`` option, on by default), media objects
    included. Stored as text, the images would be lost without a word; a column whose
    every value reads like an ``Image`` or ``Audio`` is that case.
    """
    for name in part.columns:
        column = part[name]
        if column.dtype == object or not len(column):
            continue
        values = column.dropna()
        if (
            len(values)
            and isinstance(values.iloc[0], str)
            and _MEDIA_REPR.fullmatch(values.iloc[0])
        ) and all(isinstance(v, str) and _MEDIA_REPR.fullmatch(v) for v in values):
            raise ValidationError(
                f"column {name!r} holds the text of images or audio, not the objects: "
                "Dask converted its values to strings. Build the frame inside "
                "dask.config.set({'dataframe.convert-string': False}), or make the media "
                "objects in map_partitions"
            )


class DaskColumns:
    """A table whose rows are the partitions of a Dask DataFrame or bag, not computed yet."""

    origin: TableOrigin | None = None
    label: str | None = None

    def __init__(self, collection: Any, rules: PartitionRules) -> None:
        self.collection = collection
        self.rules = rules
        self._memory: MemoryColumns | None = None

    def partitions(self) -> list[Any]:
        """One ``dask.delayed`` object per partition, in order (rows are numbered in it)."""
        return list(self.collection.to_delayed())

    def materialize(self) -> MemoryColumns:
        """The whole collection computed here, as the in-memory backend (kept)."""
        if self._memory is None:
            self._memory = self.rules.build(self.collection.compute())
        return self._memory

    # -- everything but logging reads the computed rows --------------------------------------
    @property
    def columns(self) -> list[str]:
        if self._memory is None and self.rules.columns is not None:
            return list(self.rules.columns)
        if self._memory is None and hasattr(self.collection, "columns"):
            return [str(c) for c in self.collection.columns]
        return self.materialize().columns

    @property
    def kinds(self) -> dict[str, str]:
        return self.materialize().kinds

    @property
    def num_rows(self) -> int:
        return self.materialize().num_rows

    @property
    def primary_key(self) -> str | None:
        return None

    def get_column(self, name: str) -> list[Any]:
        return self.materialize().get_column(name)

    def rows(self) -> Iterator[list[Any]]:
        return self.materialize().rows()

    def to_pandas(self) -> pd.DataFrame:
        return self.materialize().to_pandas()

    def to_arrow(self) -> pa.Table:
        return self.materialize().to_arrow()

    def schema(self) -> pa.Schema:
        return self.materialize().schema()

    def storage_table(self) -> pa.Table:
        return self.materialize().storage_table()

    def storage_batches(
        self, batch_rows: int = _storage.BATCH_ROWS
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        return self.materialize().storage_batches(batch_rows)

    def media_blobs(self) -> Iterator[tuple[Blob, str]]:
        return self.materialize().media_blobs()

    def read_blob(self, digest: str) -> bytes:
        return self.materialize().read_blob(digest)

    def engine_source(self) -> Source:
        return self.materialize().engine_source()


def dask_rows(table: Table) -> DaskColumns | None:
    """The Dask backend of ``table``, or None: how the store decides to ingest it on the
    workers. (``_backend`` is the table's rows; this module is one of its backends.)"""
    backend = table._backend
    return backend if isinstance(backend, DaskColumns) else None
