"""Reading rows by id from a table kept in pieces (Parquet files, Arrow IPC record batches).

Row ids (``_row``) are positions in the source; a source on disk is a sequence of pieces,
piece ``k`` holding rows ``starts[k] .. starts[k + 1]``. Every engine path that reads given
ids from such pieces goes through this module: :func:`take_pieces` (the exact Arrow read of
Parquet files) and :class:`MappedBatches` (the row store's memory-mapped batches), so ids are
mapped to pieces and put back in the order asked for in one place. :class:`GrowingBatches`
reads the batches of a row store already written while the rest is still being written.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from typing import BinaryIO

import numpy as np
import pyarrow as pa


def take_pieces(
    ids: np.ndarray,
    starts: np.ndarray,
    read: Callable[[int], pa.Table | pa.RecordBatch],
    empty: pa.Table,
) -> pa.Table:
    """Rows ``ids`` (in that order, repeats allowed) of a table kept in pieces.

    ``starts`` holds the first row id of each piece (and may end with the total row count);
    ``read(k)`` returns piece ``k`` with the wanted columns; each piece is read at most once.
    ``empty`` is the (column-selected) result when ``ids`` is empty.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> pieces = [pa.table({"x": [0, 1, 2]}), pa.table({"x": [3, 4]})]
    >>> take_pieces(np.array([4, 0, 3]), np.array([0, 3, 5]), pieces.__getitem__,
    ...             pieces[0].schema.empty_table()).column("x").to_pylist()
    [4, 0, 3]
    """
    ids = np.asarray(ids, dtype=np.int64)
    which = np.searchsorted(starts, ids, side="right") - 1
    by_piece = np.argsort(which, kind="stable")
    sorted_which = which[by_piece]
    cuts = np.flatnonzero(np.diff(sorted_which)) + 1
    parts: list[pa.Table] = []
    for chunk in np.split(np.arange(len(ids)), cuts):
        if not len(chunk):
            continue
        k = int(sorted_which[chunk[0]])
        local = ids[by_piece[chunk]] - starts[k]
        got = read(k).take(pa.array(local))
        parts.append(got if isinstance(got, pa.Table) else pa.Table.from_batches([got]))
    if not parts:
        return empty
    table = pa.concat_tables(parts)
    if len(ids) and not bool(np.all(by_piece[1:] > by_piece[:-1])):
        inverse = np.empty_like(by_piece)
        inverse[by_piece] = np.arange(len(by_piece))
        table = table.take(pa.array(inverse))
    return table


def take_rows(table: pa.Table, ids: np.ndarray) -> pa.Table:
    """Rows ``ids`` (in that order, repeats allowed) of an in-memory table.

    ``Table.take`` concatenates every chunk of a chunked column before taking from it: a
    page of 60 rows of a 10M-row string column in 3 chunks cost 27 ms, a copy of the whole
    column. A column in several chunks is taken from chunk by chunk instead (see
    :func:`take_pieces`): only the rows asked for are copied.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> t = pa.Table.from_batches([pa.record_batch({"x": [0, 1]}), pa.record_batch({"x": [2]})])
    >>> take_rows(t, np.array([2, 0, 2])).column("x").to_pylist()
    [2, 0, 2]
    """
    ids = np.asarray(ids, dtype=np.int64)
    index = pa.array(ids)
    arrays = []
    for column in table.columns:
        if column.num_chunks <= 1:
            arrays.append(column.take(index))
            continue
        lengths = [len(chunk) for chunk in column.chunks]
        starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        pieces = [pa.table({"v": chunk}) for chunk in column.chunks]
        empty = pa.table({"v": pa.array([], column.type)})
        arrays.append(take_pieces(ids, starts, pieces.__getitem__, empty).column(0))
    return pa.Table.from_arrays(arrays, schema=table.schema)


class MappedBatches:
    """An Arrow IPC file (a row store) read through a memory map: rows by id, copied out.

    Each wanted row is a zero-copy one-row slice of its record batch (batches are parsed
    once and kept), and one concatenation copies exactly those rows: a page of 50 scattered
    rows of 10M costs ~1-2 ms, where a ``take`` per batch cost 0.2-0.4 ms per batch (10-30
    ms a page). A read of one row maps far more of the file than its bytes (the kernel maps
    whole page-cache folios: ~40 MB per page of 50 rows at 10M), clean pages that stay in
    the page cache; they are dropped from the process's resident set once reads have grown
    it by ``RELEASE_BYTES``, so browsing never grows kernel memory by more. Not after every
    read: dropping costs a TLB flush across the process's threads and the next reads fault
    the pages in again (pages took 7-13 ms instead of 1.5-6 ms at 10M rows).
    """

    #: Parsed batches kept at most (each a few KB of metadata over the map).
    MAX_BATCHES = 4096
    #: Resident (file-backed, clean) memory reads may add before the map's pages are
    #: dropped: a 10M-row store (~565 MB) then stays mapped, a 100M-row one is dropped
    #: every ~12 pages.
    RELEASE_BYTES = 512 * 2**20

    def __init__(self, path: str) -> None:
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(mmap, "MADV_RANDOM"):
            self._map.madvise(mmap.MADV_RANDOM)  # no read-around: a row is a few pages
        self._reader = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._map)))
        self._batches: dict[int, pa.RecordBatch] = {}
        self._dropped_at = _file_resident()  # file-backed resident bytes after the last drop

    def _batch(self, k: int) -> pa.RecordBatch:
        batch = self._batches.get(k)
        if batch is None:
            if len(self._batches) >= self.MAX_BATCHES:
                self._batches.clear()
            batch = self._batches[k] = self._reader.get_batch(k)
        return batch

    def take(
        self, ids: np.ndarray, starts: np.ndarray, columns: list[str], empty: pa.Table
    ) -> pa.Table:
        """Rows ``ids`` (in that order, repeats allowed) of ``columns``; batch ``k`` holds
        rows ``starts[k] ..``. A copy: nothing returned refers to the map."""
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return empty
        which = np.searchsorted(starts, ids, side="right") - 1
        local = ids - starts[which]
        parts = [
            self._batch(k).select(columns).slice(i, 1)
            for k, i in zip(which.tolist(), local.tolist(), strict=True)
        ]
        # concat_batches copies even a single batch: the result never shares the map.
        rows = pa.Table.from_batches([pa.concat_batches(parts)])
        if hasattr(mmap, "MADV_DONTNEED"):
            now = _file_resident()
            if (
                now is None
                or self._dropped_at is None
                or now - self._dropped_at > self.RELEASE_BYTES
            ):
                self._map.madvise(mmap.MADV_DONTNEED)
                self._dropped_at = _file_resident()
        return rows


class GrowingBatches:
    """The record batches already written to an Arrow IPC file that is still being written.

    A row store takes seconds to write (2.5 s at 10M rows), and until it is complete a page
    reads its rows from Parquet by id, a scan of every row group between the first and the
    last id asked for (~150 ms at 10M rows). The store is written front to back, so the rows
    of the batches written so far can be read from it already, and the Parquet read shrinks
    to the rows after them (DuckDB prunes row groups by ``file_row_number``): a page gets
    cheaper as the store grows, instead of all at once when it is done.

    The IPC file's footer is written last, so batches are found by the offsets the writer
    recorded (``offsets[k]``: where batch ``k``'s message starts; ``0`` for the first, which
    follows the magic and the schema message). The file only grows (a row store is never
    rewritten in place, see ``RowStore.run``), so a map of its first ``end`` bytes stays
    valid; a longer one is mapped when more was written. Not for schemas with dictionaries
    (their batches need the dictionary messages: such stores are read when complete).
    """

    def __init__(self, path: str, schema: pa.Schema) -> None:
        self._path = path
        self._schema = schema
        self._file: BinaryIO | None = None  # opened once: later maps are of the same file
        self._map_obj: mmap.mmap | None = None
        self._buffer: pa.Buffer | None = None
        self._batches: dict[int, pa.RecordBatch] = {}
        self._closed = False
        self._dropped_at = _file_resident()  # as MappedBatches: memory stays flat

    def _map(self, end: int) -> pa.Buffer:
        if self._buffer is None or self._buffer.size < end:
            if self._closed:  # the store is complete (or gone): never reopen its old name
                raise FileNotFoundError(self._path)
            if self._file is None:
                self._file = open(self._path, "rb")  # noqa: SIM115  # closed in close()
            mapped = mmap.mmap(self._file.fileno(), end, access=mmap.ACCESS_READ)
            if hasattr(mmap, "MADV_RANDOM"):
                mapped.madvise(mmap.MADV_RANDOM)
            # One map at a time: the batches parsed from the old one go with it (parsing one
            # again costs ~0.1 ms; a read from Parquet instead, ~100 ms).
            self._batches.clear()
            self._map_obj, self._buffer = mapped, pa.py_buffer(mapped)
        return self._buffer

    def _batch(self, k: int, offset: int, end: int) -> pa.RecordBatch:
        batch = self._batches.get(k)
        if batch is None:
            reader = pa.BufferReader(self._map(end))
            if offset:
                reader.seek(offset)
            else:
                reader.seek(8)  # the magic "ARROW1" and its padding
                pa.ipc.read_message(reader)  # the schema
            batch = pa.ipc.read_record_batch(pa.ipc.read_message(reader), self._schema)
            self._batches[k] = batch
        return batch

    def take(
        self, ids: np.ndarray, starts: np.ndarray, offsets: list[int], end: int, columns: list[str]
    ) -> pa.Table:
        """Rows ``ids`` (in that order; each below ``starts[-1]``, the rows written) of
        ``columns``; batch ``k`` holds rows ``starts[k] ..`` and its message starts at
        ``offsets[k]``, the written part ends at ``end``. A copy, as :meth:`MappedBatches.take`."""
        which = np.searchsorted(starts, ids, side="right") - 1
        local = ids - starts[which]
        self._map(end)  # the longest map first: no batch is parsed twice for one read
        parts = [
            self._batch(k, offsets[k], end).select(columns).slice(i, 1)
            for k, i in zip(which.tolist(), local.tolist(), strict=True)
        ]
        rows = pa.Table.from_batches([pa.concat_batches(parts)])
        if self._map_obj is not None and hasattr(mmap, "MADV_DONTNEED"):
            now = _file_resident()
            release = MappedBatches.RELEASE_BYTES
            if now is None or self._dropped_at is None or now - self._dropped_at > release:
                self._map_obj.madvise(mmap.MADV_DONTNEED)
                self._dropped_at = _file_resident()
        return rows

    def close(self) -> None:
        """Let go of the file (maps close when the last batch over them is freed)."""
        self._closed = True
        self._batches.clear()
        self._buffer = self._map_obj = None
        if self._file is not None:
            self._file.close()
            self._file = None


def has_dictionary(schema: pa.Schema) -> bool:
    """Whether any field of ``schema``, at any depth, is dictionary-encoded."""

    def walk(t: pa.DataType) -> bool:
        if pa.types.is_dictionary(t):
            return True
        return any(walk(t.field(i).type) for i in range(getattr(t, "num_fields", 0)))

    return any(walk(f.type) for f in schema)


def _file_resident() -> int | None:
    """Bytes of file-backed (and shared) memory resident in this process (Linux's
    ``/proc/self/statm``), None where it cannot be read (then every read drops its pages)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[2]) * mmap.PAGESIZE
    except (OSError, ValueError, IndexError):
        return None
