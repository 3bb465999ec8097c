"""The Parquet backend of ``Table``: rows that live in Parquet files, read lazily in batches.

A table opened with ``Table.from_parquet`` or read from a store keeps its rows here until it
is changed; then :meth:`ParquetColumns.materialize` moves them into the in-memory backend
(``_table_memory``). ``table.py`` describes the interface both backends share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget import _storage
from dsviz_widget._column import Column
from dsviz_widget._errors import DsvizError, IntegrityError, NotFoundError
from dsviz_widget._format import MEDIA_KINDS, metadata_of
from dsviz_widget._table_memory import MemoryColumns
from dsviz_widget.engine import Source
from dsviz_widget.engine._source import file_identity, remember_parquet_metadata
from dsviz_widget.media import Blob, BlobReader, Origin

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TableOrigin:
    """Where a table read from a store lives: the artifact version and entry it came from.

    ``Table.origin`` is one of these for tables read with ``use_artifact(...).get(...)``
    (and None for tables never logged, or changed since they were read). Adding such a
    table to another artifact of the same store borrows its files instead of copying them.
    """

    #: The store's location (its directory, or ``s3://bucket/prefix``) and its catalog's
    #: (a path or a database URL): together they name the store, on any machine.
    location: str
    catalog: str
    artifact: str
    version: int
    #: The name the table was added under (``name`` in ``art.add(table, name)``).
    entry: str
    #: Entry-name suffix -> the manifest entry (``artifacts._manifest.Entry``) of the table's
    #: files, which a borrowing artifact refers to. Opaque here: only the store reads it.
    entries: Mapping[str, Any]


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


#: Read buffer per column stream when a file is read batch by batch (see ``_streaming``).
_STREAM_BUFFER = 1 << 20


def _streaming(path: str) -> pq.ParquetFile:
    """The file opened for one pass in batches, in memory bounded by a batch.

    PyArrow's default ``pre_buffer=True`` keeps every byte range it has read cached until the
    reader is closed, so one pass over a file holds the whole file in memory (~24 MB per
    million rows of a 7-column table, 2.5 GB at 100M rows: measured). Without pre-buffering,
    with a buffered stream per column, the pass holds about one batch; reading a local file
    this way was no slower. Whole-file reads (``read``) keep the default: they hold it all
    anyway.
    """
    return pq.ParquetFile(path, pre_buffer=False, buffer_size=_STREAM_BUFFER)


class ParquetColumns:
    """A table whose rows live in Parquet files (read lazily, in batches)."""

    def __init__(
        self,
        paths: Sequence[str],
        reader: BlobReader | None,
        origin_of: Callable[[str], Origin | None] | None,
        label: str,
        digest: str | None = None,
        origin: TableOrigin | None = None,
        keep: object = None,
    ) -> None:
        self.paths = list(paths)
        # What keeps the files there while this backend reads them (a remote store's pins:
        # released when this backend is collected, so they must live exactly as long).
        self._keep = keep
        self.label = label
        with _damaged(label):
            identities = file_identity(self.paths)  # before the read, as Source.from_parquet
            self.files = [pq.ParquetFile(p) for p in self.paths]
            remember_parquet_metadata(identities, [f.metadata for f in self.files])
            self._schema = self.files[0].schema_arrow
            self.num_rows = sum(f.metadata.num_rows for f in self.files)
            self.decoder = _storage.Decoder(self._schema, reader, origin_of)
        self.reader = reader
        self._source: Source | None = None
        self.digest = digest  # of the Parquet file, when it is a stored object
        self.origin = origin
        kinds = self.decoder.kinds
        self.kinds = {n: kinds[n] for n in self._schema.names if kinds[n] != "derived"}
        self.columns = list(self.kinds)
        pk = metadata_of(self._schema).get("primary_key")
        self.primary_key: str | None = pk if pk in self.columns else None

    # -- reading -------------------------------------------------------------------------
    def batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = _storage.BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        with _damaged(self.label):
            for path in self.paths:
                yield from _streaming(path).iter_batches(
                    batch_size=batch_rows, columns=list(columns) if columns else None
                )

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        with _damaged(self.label):
            tables = [f.read(columns=list(columns) if columns else None) for f in self.files]
            return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def decode(self, name: str, array: pa.Array | pa.ChunkedArray) -> list[Any]:
        """Decoded cells (JSON, arrays, media records) of a column read from the file."""
        with _damaged(self.label):
            return self.decoder.column(name, array)

    def get_column(self, name: str) -> list[Any]:
        values = self.decode(name, self.read([name]).column(name))
        if self.kinds.get(name) in MEDIA_KINDS:
            # The whole column was asked for: a store in a bucket fetches its files at once
            # (its read_blob's owner offers it) rather than one round trip per file later.
            prefetch = getattr(getattr(self.reader, "__self__", None), "prefetch_blobs", None)
            if prefetch is not None:
                prefetch([v.digest for v in values if v is not None])
        return values

    def rows(self) -> Iterator[list[Any]]:
        names = self.columns
        with _damaged(self.label):
            yield from self.decoder.batches_as_rows(self.batches(names), names)

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        names = self.columns
        table = self.read(names)
        with _damaged(self.label):
            columns = {
                n: _storage.to_pandas_column(self.decoder, n, table.column(n)) for n in names
            }
        return pd.DataFrame(columns, columns=names)

    def to_arrow(self) -> pa.Table:
        return self.read(self.columns)

    # -- storage form --------------------------------------------------------------------
    def schema(self) -> pa.Schema:
        return self._schema

    def storage_table(self) -> pa.Table:
        return self.read()

    def storage_batches(
        self, batch_rows: int = _storage.BATCH_ROWS
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        return self._schema, self.batches(batch_rows=batch_rows)

    def media_blobs(self) -> Iterator[tuple[Blob, str]]:
        media = [n for n in self.columns if self.kinds[n] in MEDIA_KINDS]
        for batch in self.batches(media):
            for name in media:
                for obj in self.decode(name, batch.column(name)):
                    if obj is not None:
                        yield from obj._storage_blobs()

    def read_blob(self, digest: str) -> bytes:
        if self.reader is None:
            raise NotFoundError(f"media file {digest[:12]} is not available outside a store")
        return self.reader(digest)

    def engine_source(self) -> Source:
        # Kept while the files are unchanged (a stat per file, no read): ``table.query`` asks
        # on every call, and the engine finds its views by the Source's files (identity).
        with _damaged(self.label):
            cached = self._source
            if cached is not None and cached.unchanged():
                return cached
            self._source = Source.from_parquet(self.paths, name=self.label)
            return self._source

    # -- change --------------------------------------------------------------------------
    def materialize(self) -> MemoryColumns:
        """The rows loaded into memory, before the table is changed."""
        data = self.read(self.columns)
        cols = []
        for name in self.columns:
            kind = self.kinds[name]
            array = data.column(name)
            col = Column(name, kind, array.type if kind == "native" else None)
            if kind in MEDIA_KINDS:
                col.objects = self.decode(name, array)
            else:
                col.chunks = list(array.chunks)
            cols.append(col)
        return MemoryColumns(cols, self.num_rows, self.primary_key)
