"""The Parquet backend of ``Table``: rows that live in Parquet files, read lazily in batches.

A table opened with ``Table.from_parquet`` or read from a store keeps its rows here until it
is changed; then :meth:`ParquetColumns.materialize` moves them into the in-memory backend
(``_table_memory``). ``table.py`` describes the interface both backends share.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget import _storage
from dsviz_widget._column import Column
from dsviz_widget._errors import DsvizError, IntegrityError, NotFoundError
from dsviz_widget._format import MEDIA_KINDS, kinds_of, metadata_of
from dsviz_widget._table_memory import MemoryColumns
from dsviz_widget.engine import Source
from dsviz_widget.engine._background import BackgroundWorker
from dsviz_widget.engine._relation import ParquetRelation, duckdb_path
from dsviz_widget.engine._source import (
    check_same_columns,
    file_identity,
    remember_parquet_metadata,
)
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


class WholeFiles(Protocol):
    """A stored table's files still downloading (``artifacts._remote.WholeDownload``):
    ``head`` is a checked Parquet file of its first rows (same schema), ``rows`` the whole
    table's row count, ``paths`` where the files will be."""

    head: str
    rows: int
    paths: list[str]

    def ready(self) -> bool:
        """Whether the files are here (never waits)."""

    def wait(self) -> tuple[list[str], object]:
        """The files' paths, and what keeps them there, once downloaded (or the download's
        error, typed and naming the step; a later call tries again)."""

    def fetching(self) -> bool:
        """Whether reading the files now would wait for a fetch (never waits; after a
        failure already reported, starts the next fetch in the background)."""

    def when_done(self, callback: Callable[[BaseException | None], None]) -> None:
        """``callback(error or None)`` once the running fetch ends (at once if none runs)."""


class ParquetColumns:
    """A table whose rows live in Parquet files (read lazily, in batches).

    A table read cold from a remote store may come with its files still downloading
    (``pending``): until they are here, the backend knows its schema from the head file and
    its row count from the manifest; whatever reads rows waits for the files (:meth:`_whole`),
    except the engine's pages of the first rows, unfiltered and unsorted, which
    :class:`PendingSource` answers from the head. This is the one place that decides.
    """

    def __init__(
        self,
        paths: Sequence[str],
        reader: BlobReader | None,
        origin_of: Callable[[str], Origin | None] | None,
        label: str,
        digest: str | None = None,
        origin: TableOrigin | None = None,
        keep: object = None,
        pending: WholeFiles | None = None,
        root: str | None = None,
    ) -> None:
        self.paths = list(paths)
        self.root = root  # the store's directory of these files (``Source.root``)
        # What keeps the files there while this backend reads them (a remote store's pins:
        # released when this backend is collected, so they must live exactly as long).
        self._keep = keep
        self.label = label
        self._pending = pending
        self._pending_source: PendingSource | None = None
        self._whole_lock = threading.Lock()
        self.files: list[pq.ParquetFile] = []
        with _damaged(label):
            if pending is None:
                self._open_files()
                self._schema = self.files[0].schema_arrow
                self.num_rows = sum(f.metadata.num_rows for f in self.files)
            else:
                head = pq.ParquetFile(pending.head)
                self._schema = head.schema_arrow
                self.num_rows = pending.rows
                if head.metadata.num_rows > pending.rows:
                    raise IntegrityError(
                        f"{label}: its first rows ({head.metadata.num_rows}) are more than "
                        f"the table's {pending.rows}"
                    )
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

    def _open_files(self) -> None:
        identities = file_identity(self.paths)  # before the read, as Source.from_parquet
        self.files = [pq.ParquetFile(p) for p in self.paths]
        remember_parquet_metadata(identities, [f.metadata for f in self.files])

    def _whole(self) -> None:
        """Wait until the table's files are here (if they were still downloading), then
        read from them; a failed download raises its error here, and the next call retries.
        Checks that the files are the table the head and the manifest described."""
        if self._pending is None:
            return
        with self._whole_lock:
            pending = self._pending
            if pending is None:
                return
            paths, keep = pending.wait()
            self.paths = list(paths)
            with _damaged(self.label):
                self._open_files()
                rows = sum(f.metadata.num_rows for f in self.files)
                try:
                    check_same_columns(
                        self._schema, self.files[0].schema_arrow, "the table's file", "its head"
                    )
                except ValueError as exc:
                    raise IntegrityError(f"{self.label}: {exc}") from None
            if rows != self.num_rows:
                raise IntegrityError(
                    f"{self.label}: the table has {rows} rows, its manifest says {self.num_rows}"
                )
            self._keep = (self._keep, keep)
            self._pending = None

    # -- reading -------------------------------------------------------------------------
    def batches(
        self, columns: Sequence[str] | None = None, batch_rows: int = _storage.BATCH_ROWS
    ) -> Iterator[pa.RecordBatch]:
        self._whole()
        with _damaged(self.label):
            for path in self.paths:
                yield from _streaming(path).iter_batches(
                    batch_size=batch_rows, columns=list(columns) if columns else None
                )

    def read(self, columns: Sequence[str] | None = None) -> pa.Table:
        self._whole()
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
        pending = self._pending
        if pending is not None and not pending.ready():
            if self._pending_source is None:
                self._pending_source = PendingSource.of(self, pending)
            return self._pending_source
        self._whole()
        with _damaged(self.label):
            cached = self._source
            if cached is not None and cached.unchanged():
                return cached
            self._source = Source.from_parquet(self.paths, name=self.label, root=self.root)
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


class PendingSource(Source):
    """The engine's Source of a table whose files are still downloading (see
    :class:`ParquetColumns`): the whole table's schema and row count, read through a
    :class:`PendingRelation` until the files are here; from then on it *is* the files'
    Source (same :attr:`identity` and relation as ``Source.from_parquet`` of them), so the
    engine's views over the head are left behind and every new one reads the whole files.
    A widget keeps its Source for its life: that is how it switches without knowing."""

    _backend: ParquetColumns
    _pending: WholeFiles
    _waiting: PendingRelation

    @classmethod
    def of(cls, backend: ParquetColumns, pending: WholeFiles) -> PendingSource:
        schema = backend.schema()
        self = cls(schema=schema, name=backend.label, num_rows=backend.num_rows)
        object.__setattr__(self, "_kinds", kinds_of(schema))
        object.__setattr__(self, "_backend", backend)
        object.__setattr__(self, "_pending", pending)
        object.__setattr__(self, "_waiting", PendingRelation(backend, pending))
        return self

    def _whole_source(self) -> Source | None:
        """The files' Source once they are here (None while they are not)."""
        if not self._pending.ready():
            return None
        self._backend._whole()
        return self._backend.engine_source()

    @property
    def _relation(self) -> Any:
        # ``engine.relation_for`` asks this first: the waiting relation, or the files' own.
        whole = self._whole_source()
        return self._waiting if whole is None else ParquetRelation(whole)

    def waiting(self, rows: tuple[int, int] | None = None) -> bool:
        # The one place that says what the head answers while the files download: rows by
        # id within it (what PendingRelation.fetch reads from it).
        pending = self._pending
        if pending.ready():
            return False
        if rows is not None and 0 <= rows[0] <= rows[1] <= self._waiting.head_rows:
            return False  # the head answers: nothing waits (and no new fetch is started)
        # False for a failure nobody was told of: whoever asks gets it at once.
        return pending.fetching()

    def when_here(self, callback: Callable[[BaseException | None], None]) -> None:
        self._pending.when_done(callback)

    def present(self) -> Source:
        # While the files download: the head's Source (checked when the relation was made).
        whole = self._whole_source()
        return self._waiting.head_source if whole is None else whole

    @property
    def identity(self) -> Hashable:
        whole = self._whole_source()
        return ("pending", id(self)) if whole is None else whole.identity


class PendingRelation:
    """The engine's relation of a table whose files are still downloading.

    Rows by id within the head (an unfiltered, unsorted page of the first rows: ids are
    the whole table's, the head being its first rows) come from the head file while the
    download runs. Anything else (SQL over the table: filters, sorts, groups, summaries,
    counts; deeper rows) waits for the files and reads them. DuckDB is allowed the files'
    paths from the start (they are known before they exist), so the connection opened for
    the head page serves the whole table too.
    """

    def __init__(self, backend: ParquetColumns, pending: WholeFiles) -> None:
        self._backend = backend
        self._pending = pending
        with _damaged(backend.label):
            #: The head file's own Source (``PendingSource.present``).
            self.head_source = Source.from_parquet([pending.head], name=backend.label)
            self._head: ParquetRelation | None = ParquetRelation(self.head_source)
            self.head_rows = self._head.num_rows
        self.name = self._head.name
        self.columns = self._head.columns
        self.num_rows = backend.num_rows
        self._links = tuple(duckdb_path(p) for p in pending.paths)
        self._files: ParquetRelation | None = None
        self._lock = threading.Lock()

    @property
    def allowed_paths(self) -> tuple[str, ...]:
        head = self._head
        return (head.allowed_paths if head is not None else ()) + self._links

    def _whole(self) -> ParquetRelation:
        with self._lock:
            if self._files is None:
                self._backend._whole()  # waits; raises the download's error
                # Read by the paths DuckDB was allowed (``_links``): no file identity.
                source = Source(
                    schema=self._backend.schema(),
                    parquet=tuple(self._pending.paths),
                    name=self._backend.label,
                    num_rows=self.num_rows,
                    _kinds=kinds_of(self._backend.schema()),
                )
                self._files = ParquetRelation(source)
                self._head = None  # the head's part is over
            return self._files

    def _in_head(self, ids: np.ndarray) -> ParquetRelation | None:
        head = self._head
        if head is None or self._pending.ready():
            return None
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= self.head_rows):
            return None
        return head

    def sql(self, con: duckdb.DuckDBPyConnection) -> str:
        return self._whole().sql(con)

    def fetch(
        self, con: duckdb.DuckDBPyConnection, ids: np.ndarray, columns: list[str]
    ) -> pa.Table:
        ids = np.asarray(ids, dtype=np.int64)
        head = self._in_head(ids)
        if head is not None:
            return head.fetch(con, ids, columns)
        return self._whole().fetch(con, ids, columns)

    def prepare(self, worker: BackgroundWorker) -> None:
        self._whole().prepare(worker)

    def __getattr__(self, name: str) -> Any:
        # What the engine asks of a Parquet relation beyond the protocol (``scan``,
        # ``finite_bounds``, ``page_select``, ...): the files', once here.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._whole(), name)
