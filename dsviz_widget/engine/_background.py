"""Background work that makes deep pages cheap, with bounded memory and private temp files.

Two kinds of job run on one worker thread per engine, one job at a time:

- a **row store** (:class:`RowStore`): a Parquet source decoded once into an uncompressed
  Arrow IPC file in source order, so that any row can be read by id in microseconds through
  a memory map (Parquet itself can only be decoded a whole page at a time). Python writes
  it with pyarrow, one row group at a time; DuckDB never writes files. Shared by every view
  (and engine) of the same files.
- a **view order** (:class:`OrderJob`): the ``_row`` ids of a sorted or filtered view in
  view order, streamed from DuckDB into a flat int32/int64 file that pages read through
  ``numpy.memmap``. It runs on its own DuckDB connection (one thread, a small memory limit,
  spilling to the private temp dir) with the same lockdown as the engine's connection.

A page of any view at any depth is then a slice of the order plus a read by id, so its
cost does not depend on the depth. Everything lives in one private temp dir, removed at
exit; a view's order file is removed when the view is dropped. Both kinds of file stay
within a disk budget each (``_disk``: least recently used first out): row stores
``$DSVIZ_ROW_STORE_LIMIT``, view orders ``$DSVIZ_ORDER_LIMIT``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget.engine._connection import QUIET_S, busy, open_connection, quiet_for
from dsviz_widget.engine._disk import DiskBudget
from dsviz_widget.engine._disk import StoreTooBig as StoreTooBig  # its home was here
from dsviz_widget.engine._disk import parse_bytes as parse_bytes
from dsviz_widget.engine._rows import GrowingBatches, MappedBatches, has_dictionary

# A background sort's DuckDB memory limit (it spills beyond) and threads. At 64 MB and one
# thread the order of 10M rows spilled and took 1.7-2.5 s; at 384 MB and two threads it
# sorts (key, _row) in memory in ~0.65 s, under half of plain DuckDB's deep page. Beyond
# ~25M rows it spills again, so memory stays bounded (see ``_budget``: ~1 GB in all).
BG_MEMORY = "384MB"
BG_THREADS = min(2, os.cpu_count() or 1)
# Rows per record batch of a row store. Reads take one-row slices of the memory map, so a
# batch's size costs nothing there, while each batch a read meets is parsed once (~0.1 ms):
# 8192-row batches made the first pages after a store was written parse ~50 each.
STORE_BATCH_ROWS = 1 << 17
# Work nobody waits for (a view's order after its first page, a row store) starts once no
# foreground query has run for QUIET_S (``_connection``): the page that queued it is still
# being converted when its query ends, and an order's two DuckDB threads or the row
# store's decoding would share the cores and the GIL with that. Never later than
# MAX_DEFER_S after it was queued, so a busy foreground cannot starve it (and the row store
# queued with a deep page's order, which takes longer than that, starts right after it: the
# later pages read by id from Parquet until the store is written).
MAX_DEFER_S = 0.25
# A row store being written waits between row groups while a foreground query runs (at most
# this long per wait): a page read by id from Parquet meanwhile decodes ~38 of 80 row groups
# at 10M rows, and beside the store's own decoding it took 1.8x as long (807 against 455 ms,
# medians of 8 alternating reads, load 6-8).
MAX_YIELD_S = 0.5
# ... and in all at most this many times as long as it has worked: a foreground that is
# always busy (a widget's summaries of every column) slows a store at most threefold.
YIELD_RATIO = 2.0
MAX_ROW_STORES = 4  # row stores kept on disk (least recently used are deleted)
# Disk the row stores may use together. A row store costs the source's uncompressed Arrow
# size (the Parquet footer's uncompressed row-group sizes, e.g. ~45 bytes a row for the
# benchmark table of two floats, two ints and two short strings: ~4.5 GB at 100M rows).
ROW_STORE_LIMIT_ENV = "DSVIZ_ROW_STORE_LIMIT"
ROW_STORE_DISK_SHARE = 0.25  # default budget: this share of the temp dir's free disk ...
ROW_STORE_DISK_MAX = 50 * 2**30  # ... but never more than this
# Disk the view orders may use together: 4 bytes a row (8 beyond 2^31 rows), 400 MB for a
# sort of 100M rows. Past it the least recently used orders are removed (their views make
# them again when paged deep), and an order that cannot fit is not written (its deep pages
# sort with OFFSET instead).
ORDER_LIMIT_ENV = "DSVIZ_ORDER_LIMIT"
ORDER_DISK_SHARE = 0.05
ORDER_DISK_MAX = 4 * 2**30

_tmp_lock = threading.Lock()
_tmp_dir: str | None = None


def temp_dir() -> str:
    """The engine's private temp dir (created on first use, removed at exit)."""
    global _tmp_dir
    with _tmp_lock:
        if _tmp_dir is None or not os.path.isdir(_tmp_dir):
            _tmp_dir = tempfile.mkdtemp(prefix="dsviz-engine-")
        return _tmp_dir


def new_temp_path(suffix: str) -> str:
    fd, path = tempfile.mkstemp(suffix=suffix, dir=temp_dir())
    os.close(fd)
    return path


def until_quiet(since: float) -> float:
    """Seconds work nobody waits for, asked for at ``since`` (``time.monotonic()``), should
    still wait before it starts (0: now): until the foreground has been quiet for
    ``QUIET_S``, and no longer than ``MAX_DEFER_S`` after ``since``."""
    left = QUIET_S - quiet_for()
    waited = time.monotonic() - since
    if left <= 0 or waited >= MAX_DEFER_S:
        return 0.0
    return min(left, MAX_DEFER_S - waited)


def remove_file(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# -- jobs ------------------------------------------------------------------------------
class Job:
    """One unit of background work. ``run`` gets a DuckDB connection (or ``None``)."""

    needs_duckdb = True
    allowed_paths: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.cancelled = False
        self.urgent = False  # someone waits for it: it runs before anything else
        self.queued_at = 0.0  # time.monotonic() of its first submit (see QUIET_S)
        # A long job calls this between steps, so that urgent jobs run in between (the
        # worker sets it; run outside a worker, it does nothing).
        self.pause: Callable[[], None] = _nothing

    def run(self, con: duckdb.DuckDBPyConnection | None) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        """Undo partial output after a failure or cancellation."""

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)


def _nothing() -> None:
    pass


class OrderJob(Job):
    """Stream a view's ``_row`` ids in view order into a flat file."""

    def __init__(
        self,
        relation: Any,
        make_sql: Callable[[str], str],
        params: list[object],
        dtype: np.dtype[Any],
        num_rows: int | None,
        size_rows: int | None = None,
    ) -> None:
        super().__init__()
        self.relation = relation
        self.make_sql = make_sql  # FROM-able source SQL -> SELECT of one id column
        self.params = params
        self.dtype = dtype
        # Checked against the ids streamed when known; else learned from them (a filtered
        # view need not count its rows before its order is written).
        self.expected = num_rows
        self.num_rows = num_rows or 0
        # The rows the order may hold (the view's count when known, else the source's): what
        # it asks of the disk budget before writing, corrected to the truth once written.
        self.size_rows = size_rows if size_rows is not None else num_rows
        self.size = 0
        self.reading = 0  # read through a memory map that outlives the file: never pinned
        self.allowed_paths = tuple(relation.allowed_paths)
        self.path = new_temp_path(".order")
        self._order: np.ndarray | None = None

    def run(self, con: duckdb.DuckDBPyConnection | None) -> None:
        assert con is not None
        rows_hint = self.size_rows if self.size_rows is not None else self.relation.num_rows
        ORDERS.reserve(self, self, int(rows_hint) * self.dtype.itemsize, "a view order")
        sql = self.make_sql(self.relation.sql(con))
        rows = 0
        # A fresh file per run, renamed into place when complete: a re-run (after an
        # interruption) must never truncate a file an earlier memory map still reads,
        # which would kill the process with SIGBUS.
        part = new_temp_path(".order.part")
        try:
            with open(part, "wb") as f:
                for batch in con.sql(sql, params=self.params).to_arrow_reader(1 << 17):
                    ids = np.asarray(batch.column(0).to_numpy(), dtype=self.dtype)
                    ids.tofile(f)
                    rows += len(ids)
            if self.expected is not None and rows != self.expected:
                raise RuntimeError(f"view order has {rows} rows, expected {self.expected}")
            os.replace(part, self.path)
            self.num_rows = rows
        finally:
            remove_file(part)
        with ORDERS.lock:
            self.size = rows * self.dtype.itemsize
        # Mapped now, not on first read: a map outlives the file's removal (eviction, the
        # view dropped), so a page that got it reads on while the disk is given back.
        self._order = (
            np.memmap(self.path, dtype=self.dtype, mode="r", shape=(rows,))
            if rows
            else np.zeros(0, dtype=self.dtype)
        )

    def order(self) -> np.ndarray | None:
        """The ids (a read-only memory map: pages touch only what they read), or None once
        the order was evicted or dropped (its view makes it again)."""
        with ORDERS.lock:
            if self.cancelled:
                return None
            ORDERS.touch(self)
            return self._order

    def evicted(self) -> None:
        if self.done.is_set():
            self.discard()  # else the worker discards it when the run stops (cancelled)

    def discard(self) -> None:
        self._order = None
        remove_file(self.path)
        ORDERS.forget(self)


class RowStore(Job):
    """A Parquet source's rows in an uncompressed Arrow IPC file, readable by row id."""

    needs_duckdb = False

    def __init__(self, paths: tuple[str, ...], schema: pa.Schema, size: int = 0) -> None:
        super().__init__()
        self.paths = paths
        self.schema = schema
        self.size = size  # the disk it is expected to take (see ``store_size``)
        self.reading = 0  # takes in progress: a store being read is never evicted
        self.key: tuple[Any, ...] = ()  # its key in ROW_STORES (the files and their stats)
        self.path = new_temp_path(".arrow")
        self.starts = np.zeros(1, dtype=np.int64)
        self._lock = threading.Lock()
        self._mapped: MappedBatches | None = None
        # While it is written: the batches written so far (see ``GrowingBatches``), their
        # first rows (``_written_starts[-1]``: the rows written) and where each starts.
        self._growing: GrowingBatches | None = None
        self._written_starts = [0]
        self._written_offsets: list[int] = []
        self._written_end = 0
        self._grow_lock = threading.Lock()  # one partial read at a time (its parsed batches)
        self.rows_read_early = 0  # rows pages read from it before it was complete
        # Set by the worker between row groups: when it began, seconds it waited for the
        # foreground (see ``BackgroundWorker._store_pause``).
        self.started_at = 0.0
        self.yielded = 0.0

    def run(self, con: duckdb.DuckDBPyConnection | None) -> None:
        sizes: list[int] = []
        size = store_size(self.paths, self.schema)
        ROW_STORES.reserve(self.key, self, size, "row store: a row store")
        names = self.schema.names
        part = new_temp_path(".arrow.part")  # renamed into place when complete (see OrderJob)
        try:
            if not has_dictionary(self.schema):
                with self._lock:
                    self._growing = GrowingBatches(part, self.schema)
            self._write(part, names, sizes)
            with self._lock:  # readers see the old file and offsets, or the new ones
                os.replace(part, self.path)
                self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
                self._mapped = None
        finally:
            with self._lock:  # done or failed: pages read the whole store, or Parquet
                growing, self._growing = self._growing, None
                self._written_starts, self._written_offsets, self._written_end = [0], [], 0
            if growing is not None:
                with self._grow_lock:  # after a partial read in progress
                    growing.close()
            remove_file(part)

    def _written(self, offset: int, rows: int, end: int) -> None:
        """A batch of ``rows`` rows, starting at byte ``offset``, is now in the file."""
        with self._lock:
            self._written_offsets = [*self._written_offsets, offset]
            self._written_starts = [*self._written_starts, self._written_starts[-1] + rows]
            self._written_end = end

    def _write(self, part: str, names: list[str], sizes: list[int]) -> None:
        with pa.OSFile(part, "wb") as sink, pa.ipc.new_file(sink, self.schema) as w:
            for p in self.paths:
                pf = pq.ParquetFile(p)
                for g in range(pf.num_row_groups):
                    self.pause()  # a view order someone waits for goes first
                    if self.cancelled:
                        raise _Cancelled()
                    t = pf.read_row_group(g, columns=names)
                    if not t.schema.equals(self.schema, check_metadata=True):
                        t = (
                            pa.Table.from_arrays(t.columns, schema=self.schema)
                            if t.schema.equals(self.schema)
                            else t.cast(self.schema)
                        )
                    for b in t.to_batches(max_chunksize=STORE_BATCH_ROWS):
                        if b.num_rows:
                            offset = sink.tell()
                            w.write_batch(b)
                            sizes.append(b.num_rows)
                            self._written(offset, b.num_rows, sink.tell())
                    del t
                    if self.size and sink.tell() > self.size:
                        raise StoreTooBig(
                            f"row store: over its {self.size} bytes", row_store_limit()
                        )
                    pa.default_memory_pool().release_unused()  # keep the footprint flat

    def _open(self) -> MappedBatches:
        if self._mapped is None:
            self._mapped = MappedBatches(self.path)
        return self._mapped

    def take(self, ids: np.ndarray, columns: list[str]) -> pa.Table:
        """Rows ``ids`` (in that order) with ``columns``; always a copy, never the map."""
        with ROW_STORES.lock:
            if self.cancelled:
                raise StoreGone(self.path)
            self.reading += 1
            ROW_STORES.touch(self)
        try:
            return self._take(ids, columns)
        finally:
            with ROW_STORES.lock:
                self.reading -= 1

    def take_written(
        self, ids: np.ndarray, columns: list[str]
    ) -> tuple[pa.Table, np.ndarray] | None:
        """While the store is being written: the rows of ``ids`` already written (in the
        order asked, ``columns`` only) and a mask of which ids they are; None when none of
        them is written yet (or the store cannot be read before it is complete)."""
        with self._lock:
            growing = self._growing
            starts = np.asarray(self._written_starts, dtype=np.int64)
            offsets, end = self._written_offsets, self._written_end
        if growing is None or len(starts) < 2:
            return None
        ids = np.asarray(ids, dtype=np.int64)
        have = ids < starts[-1]
        if not have.any():
            return None
        with ROW_STORES.lock:
            if self.cancelled:
                return None
            self.reading += 1
        try:
            with self._grow_lock:
                got = growing.take(ids[have], starts, offsets, end, columns)
                self.rows_read_early += len(got)
        except OSError:
            return None  # finished (renamed) or removed meanwhile: read it another way
        finally:
            with ROW_STORES.lock:
                self.reading -= 1
        return got, have

    def _take(self, ids: np.ndarray, columns: list[str]) -> pa.Table:
        with self._lock:
            empty = self.schema.empty_table().select(columns)
            return self._open().take(ids, self.starts, columns, empty)

    def close(self) -> None:
        with self._lock:
            self._mapped = None  # the map closes when the last buffer over it is freed

    def evicted(self) -> None:
        """Delete an evicted (cancelled) store's file; one still queued or being written is
        discarded by the worker when it stops (``_run``). A relation that still holds it
        sees it cancelled and reads Parquet by id, or asks for a new one."""
        if self.done.is_set():
            self.discard()

    def discard(self) -> None:
        self.close()
        remove_file(self.path)


class _Cancelled(Exception):
    pass


class StoreGone(LookupError):
    """The row store was evicted (or cancelled) before this read: read Parquet instead."""


#: Row stores by their files (shared by every view and engine of them), least recent first.
ROW_STORES = DiskBudget(
    ROW_STORE_LIMIT_ENV, ROW_STORE_DISK_SHARE, ROW_STORE_DISK_MAX, temp_dir, MAX_ROW_STORES
)
#: Every finished (or being written) view order of the process, least recently read first.
ORDERS = DiskBudget(ORDER_LIMIT_ENV, ORDER_DISK_SHARE, ORDER_DISK_MAX, temp_dir)


def row_store_limit() -> int:
    """The disk budget of all row stores together, in bytes: ``$DSVIZ_ROW_STORE_LIMIT``
    (``"20GB"``, ``"500MB"`` or a number of bytes), else a quarter of the free disk of the
    temp dir when first asked (at most 50 GB). ``0`` turns row stores off."""
    return ROW_STORES.limit()


def order_limit() -> int:
    """The disk budget of all view orders together, in bytes: ``$DSVIZ_ORDER_LIMIT`` (the
    same syntax), else a twentieth of the temp dir's free disk when first asked (at most
    4 GiB). ``0`` writes no orders (deep pages then sort with ``OFFSET``)."""
    return ORDERS.limit()


_sizes: dict[tuple[Any, ...], int] = {}


def store_size(paths: tuple[str, ...], schema: pa.Schema) -> int:
    """The disk a row store of ``paths`` may take: 1.25x the larger of the uncompressed
    size the Parquet footers record and the Arrow size of the first row group scaled to
    all rows (dictionary-encoded text is small in Parquet, not in Arrow), plus Arrow's
    per-batch overhead. A store that outgrows it while being written stops (see
    :class:`StoreTooBig`), so the budget holds even where the estimate is wrong."""
    key = tuple((p, *_stat(p)) for p in paths)
    if key in _sizes:
        return _sizes[key]
    recorded = rows = 0
    sample = 0.0
    for p in paths:
        pf = pq.ParquetFile(p)
        md = pf.metadata
        recorded += sum(md.row_group(g).total_byte_size for g in range(md.num_row_groups))
        rows += md.num_rows
        if not sample and md.num_row_groups and md.row_group(0).num_rows:
            first = pf.read_row_group(0, columns=schema.names)
            sample = first.nbytes / first.num_rows
    overhead = (rows // STORE_BATCH_ROWS + len(paths)) * (512 + 200 * len(schema))
    size = int(1.25 * max(recorded, sample * rows)) + overhead
    _sizes[key] = size
    return size


def row_store(paths: tuple[str, ...], schema: pa.Schema) -> tuple[RowStore | None, bool]:
    """The shared row store of these files, and whether it is new (needs running); None
    when it was found not to fit the disk budget (pages of the source then read Parquet by
    id). Whether a new store fits is decided when it runs (``RowStore.reserve``), in the
    background: estimating its size reads a row group."""
    key: tuple[Any, ...] = tuple((p, *_stat(p)) for p in paths)
    with ROW_STORES.lock:
        hit = ROW_STORES.items.get(key)
        if hit is not None and not hit.cancelled and hit.error is None:
            ROW_STORES.items.move_to_end(key)
            assert isinstance(hit, RowStore)
            return hit, False
        if (
            hit is not None
            and isinstance(hit.error, StoreTooBig)
            and hit.error.limit >= row_store_limit()
        ):
            return None, False  # tried once: it did not fit (and the budget did not grow)
        store = RowStore(paths, schema)
        store.key = key
        ROW_STORES.items[key] = store
        return store, True


def _stat(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


# -- the worker ------------------------------------------------------------------------
class BackgroundWorker:
    """Runs jobs one at a time on a daemon thread: view orders someone waits for first,
    then row stores, then the other view orders, newest first. A running view order is
    interrupted (and queued again) when a newer one arrives or another one is waited for,
    so the view the user looks at goes first; a row store being written pauses between
    row groups for the orders waited for (a deep page does not need the store: it reads
    its rows from Parquet by id meanwhile). Jobs nobody waits for start once the
    foreground has been quiet for ``QUIET_S`` (at most ``MAX_DEFER_S`` after queued)."""

    def __init__(self, memory_limit: str = BG_MEMORY, threads: int = BG_THREADS) -> None:
        self.memory_limit = memory_limit
        self.threads = threads
        self._cv = threading.Condition()
        self._queue: list[Job] = []  # last = next to run
        self._active: list[Job] = []  # running jobs: a paused row store, the job it let run
        self._con: duckdb.DuckDBPyConnection | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._held = 0  # blocks of ``holding`` running now
        self._started = 0.0  # time.monotonic() when the running job's connection opened
        _WORKERS.add(self)

    def eta(self, job: Job) -> float | None:
        """Seconds the running ``job``'s DuckDB statement still needs, from DuckDB's own
        progress and the time it has run; None if ``job`` is not running or its progress is
        not known yet. A view order's progress grows about evenly with the rows it reads
        (100M rows: 2% at 0.5 s, 52% at 10 s, done at 18 s); early on the estimate runs
        high (10M rows: 1.3 s at 0.1 s for a 1.1 s sort). DuckDB reports no progress for
        an in-memory Arrow source: None then."""
        with self._cv:  # the connection is closed only after the worker let go of it here
            con = self._con
            if con is None or self._running is not job:
                return None
            try:
                done = float(con.query_progress())
            except duckdb.Error:
                return None
            ran = time.monotonic() - self._started
        if not 0.0 < done < 100.0:
            return None
        return ran * (100.0 - done) / done

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Start no job nobody waits for while the block runs (a running one goes on;
        urgent ones still run). For a page's long scans, which ``MAX_DEFER_S`` would
        otherwise let such a job join: the order a sorted first page queued started 0.25 s
        into the deep page that followed it and doubled it (100M rows: 4.3 s instead of
        ~2.3 s; the widget's jump from the first page to the middle)."""
        with self._cv:
            self._held += 1
        try:
            yield
        finally:
            with self._cv:
                self._held -= 1
                self._cv.notify_all()

    def submit(self, job: Job, *, urgent: bool = False) -> None:
        with self._cv:
            if self._stopped:
                job.cancelled = True
                job.done.set()
                return
            if job in self._active or job.done.is_set():
                # Running (or finished): queueing it again would run it twice, and a
                # re-run of an order job costs as much as the first (+26 s at 100M rows).
                return
            if job in self._queue:
                self._queue.remove(job)
            elif not job.queued_at:
                job.queued_at = time.monotonic()
            job.urgent = job.urgent or urgent
            self._queue.append(job)
            self._arrange()
            running = self._running
            if (
                isinstance(job, OrderJob)
                and isinstance(running, OrderJob)
                and running is not job
                and (job.urgent or not running.urgent)  # never for a job nobody waits for
            ):
                self._interrupt()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="dsviz-engine-bg", daemon=True
                )
                self._thread.start()
            self._cv.notify_all()

    @property
    def _running(self) -> Job | None:
        return self._active[-1] if self._active else None

    def _arrange(self) -> None:
        """Queue order (last runs next): other orders, row stores, orders waited for;
        within each, the latest submitted last (a stable sort keeps that)."""
        self._queue.sort(key=lambda j: 2 if j.urgent else 1 if isinstance(j, RowStore) else 0)

    def _run_urgent(self) -> None:
        """Run the queued jobs someone waits for, now, in this thread (a row store calls
        this between row groups through ``job.pause``)."""
        while True:
            with self._cv:
                if self._stopped:
                    raise _Cancelled()
                if not self._queue or not self._queue[-1].urgent:
                    return
                job = self._queue.pop()
                self._active.append(job)
            self._run(job)

    def _store_pause(self, store: RowStore) -> None:
        """Between two row groups of ``store``: the jobs someone waits for first, then a
        wait while a foreground query runs (see ``MAX_YIELD_S`` and ``YIELD_RATIO``)."""
        self._run_urgent()
        now = time.monotonic()
        if not store.started_at:
            store.started_at = now
        worked = now - store.started_at - store.yielded
        until = now + min(MAX_YIELD_S, max(0.0, YIELD_RATIO * worked - store.yielded))
        while busy() and time.monotonic() < until:
            with self._cv:
                if self._stopped or (self._queue and self._queue[-1].urgent):
                    break
            time.sleep(0.005)
        self._run_urgent()
        store.yielded += time.monotonic() - now  # an order run meanwhile counts too

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        """Wait for ``job``, moving it to the front of the queue (unless it is running:
        ``submit`` decides that under the lock, never from a stale read here)."""
        self.submit(job, urgent=True)
        return job.wait(timeout)

    def run_sync(self, job: Job) -> None:
        """Run ``job`` in the calling thread (engines without background work)."""
        con = None
        try:
            if job.needs_duckdb:
                con = open_connection(
                    job.allowed_paths,
                    memory_limit=self.memory_limit,
                    threads=self.threads,
                    temp_directory=temp_dir(),
                )
            job.run(con)
        except BaseException as exc:
            job.discard()
            job.error = exc
        finally:
            job.done.set()
            if con is not None:
                con.close()

    def cancel(self, job: Job) -> None:
        with self._cv:
            job.cancelled = True
            if job in self._queue:
                self._queue.remove(job)
                job.done.set()
            elif self._running is job:
                self._interrupt()

    def _interrupt(self) -> None:
        if self._con is not None:
            with contextlib.suppress(duckdb.Error):
                self._con.interrupt()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stopped:
                    if not self._cv.wait(timeout=5.0) and not self._queue:
                        self._thread = None
                        return  # idle: the thread ends (a new one starts on submit)
                if self._stopped:
                    return
                wait = self._defer(self._queue[-1])
                if wait > 0:
                    self._cv.wait(timeout=wait)  # a submit (an urgent job) wakes it
                    continue
                job = self._queue.pop()
                self._active.append(job)
            self._run(job)

    def _defer(self, job: Job) -> float:
        """Seconds to wait before starting ``job`` (0: now); see ``QUIET_S`` and
        :meth:`holding` (whose end wakes the loop)."""
        if job.urgent:
            return 0.0
        if self._held:
            return 1.0
        return until_quiet(job.queued_at)

    def _run(self, job: Job) -> None:
        con = None
        requeue = False
        try:
            if job.cancelled:
                raise _Cancelled()
            if job.needs_duckdb:
                con = open_connection(
                    job.allowed_paths,
                    memory_limit=self.memory_limit,
                    threads=self.threads,
                    temp_directory=temp_dir(),
                    progress=isinstance(job, OrderJob),
                )
                with self._cv:
                    self._con = con
                    self._started = time.monotonic()
            elif isinstance(job, RowStore):
                job.pause = functools.partial(self._store_pause, job)
            job.run(con)
            if job.cancelled:
                job.discard()
        except BaseException as exc:
            job.discard()
            interrupted = isinstance(exc, (duckdb.InterruptException, _Cancelled))
            if interrupted and not job.cancelled and not self._stopped:
                requeue = True
            elif not interrupted:
                job.error = exc
        finally:
            with self._cv:
                self._con = None
                self._active.remove(job)
                job.pause = _nothing
                if requeue:
                    if isinstance(job, OrderJob):
                        job.path = new_temp_path(".order")
                    self._queue.insert(0, job)
                    self._arrange()
                else:
                    job.done.set()
                self._cv.notify_all()
            if con is not None:
                con.close()
            if job.cancelled and not requeue:
                job.discard()  # cancelled while finishing: nobody else removes its file

    def forked(self) -> tuple[object, ...]:
        """In a forked child: stop for good without touching the parent's lock, thread or
        connection (see ``_after_fork``); returns what the parent's state held, for the
        caller to keep referenced (freeing the connection here would join absent threads)."""
        held = (self._con, self._queue, self._active)
        self._cv = threading.Condition()
        self._stopped = True
        self._thread = self._con = None
        self._queue, self._active = [], []
        return held

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            pending, self._queue = self._queue, []
            for running in self._active:
                running.cancelled = True
            self._interrupt()
            self._cv.notify_all()
            thread = self._thread
        for job in pending:
            job.cancelled = True
            job.done.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()


_WORKERS: weakref.WeakSet[BackgroundWorker] = weakref.WeakSet()
#: In a forked child, what the parent's workers and budgets held (see ``_after_fork``).
_forked_leftovers: list[object] = []


def _after_fork() -> None:
    """In a forked child (a data loader's worker, ``multiprocessing``): the parent's workers
    have no threads here and their locks may be held, and the parent's row stores and orders
    are the parent's files. The child keeps all of it referenced and unused: it stops each
    worker (new lock, nothing queued, so a view freed here cancels its order without
    waiting), forgets the stores without deleting them, and makes its own temp dir, which
    only it removes at exit."""
    global _tmp_dir, _tmp_lock, _WORKERS
    for worker in list(_WORKERS):
        _forked_leftovers.append(worker.forked())
    _WORKERS = weakref.WeakSet()
    for budget in (ROW_STORES, ORDERS):
        budget.lock = threading.Lock()
        _forked_leftovers.append(dict(budget.items))
        budget.items.clear()
    _tmp_lock = threading.Lock()
    _tmp_dir = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


@atexit.register
def _shutdown() -> None:
    # DuckDB aborts the process if the interpreter exits while a thread is inside a
    # query, so running queries are interrupted and their threads joined first.
    for worker in list(_WORKERS):
        worker.stop()
    with ROW_STORES.lock:
        for store in ROW_STORES.items.values():
            if isinstance(store, RowStore):
                store.close()
        ROW_STORES.items.clear()
    if _tmp_dir is not None:
        shutil.rmtree(_tmp_dir, ignore_errors=True)
