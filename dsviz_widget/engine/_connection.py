"""The engine's locked-down DuckDB connections, and spare ones opened ahead of need.

External access is switched off, so SQL cannot reach the file system or the network
(``read_text('/etc/passwd')``, ``COPY ... TO``, ``ATTACH`` all fail); the only files
DuckDB may open are the Parquet files of the sources being viewed (``allowed_paths``, set
before access is switched off, since DuckDB refuses to change it afterwards), or, for a
store's tables, the store's own object directory (``_relation.grants``); DuckDB can also
write those, see RELIABILITY.md "Not covered". Extension
loading and installation are off and the configuration is locked, so no statement can
undo any of this.

**Why spares.** Because ``allowed_paths`` cannot be widened, the engine opens a new
connection whenever a query reads a file it may not read yet (the first query of each
Parquet file of the user's, or of each store, in a process), and the background worker
opens one per job. Making a DuckDB
database costs ~25-30 ms of CPU (60-150 ms of wall time on a busy machine), more than a
first page takes, while configuring and locking one costs ~2 ms. So unlocked, idle
databases are made ahead by a helper thread (``SPARES`` of them), and
:func:`open_connection` takes one, configures it (threads, memory, temp dir, allowed paths)
and locks it in the caller's thread, then asks for the next. No statement ever runs on a
spare before it is locked, and none leaves this module unlocked. When no spare is ready,
the caller opens its own, as before; one being made is waited for.

Two, not one: a new file's first query often follows another new file's within the ~30 ms a
spare takes to make (a script reading two tables, a comparison of two versions, the first
query after the first table's): with one spare, the second waited for it (8 of the 65 ms of
a sorted first page, profiled). An idle database holds ~4 MB.

The helper makes (and closes replaced) databases only while no foreground query runs
(:func:`foreground`): done during a query, it slowed that query by a third. At the lowest
CPU priority instead, it held DuckDB's and the allocator's locks while descheduled and
slowed queries more. The spare is made with one thread and the taker sets the real count,
so DuckDB's query threads start in the taker's thread.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator

import duckdb

# Fixed at creation (DuckDB reads them when the database starts); the rest is set per use.
_CREATE_CONFIG: dict[str, str | int | bool] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "threads": 1,
    # Row order of scans must be the source's order: it defines ``_row``.
    "preserve_insertion_order": True,
    # Give memory back after each task instead of keeping up to 128 MB cached:
    # the kernel's footprint matters more than a few microseconds per query.
    "allocator_flush_threshold": "16MB",
    "allocator_bulk_deallocation_flush_threshold": "16MB",
}

_cv = threading.Condition()
SPARES = 2
_spares: list[duckdb.DuckDBPyConnection] = []  # made ahead, unlocked, never used
_retired: list[duckdb.DuckDBPyConnection] = []  # closed by the helper thread
_helper: threading.Thread | None = None
_spares_made = 0  # how many spares were taken (tests check that opening reuses them)
_making = False  # fewer than SPARES are ready, and more were asked for
_creating = False  # the helper is making it right now
_busy = 0  # foreground queries running (the helper works only when there are none)
_quiet_since = 0.0  # time.monotonic() when the last foreground query ended
_enabled = True
SPARE_WAIT_S = 1.0  # a taker waits at most this long for the spare being made
# Seconds without a foreground query (or a connection just taken, whose query follows)
# before the background worker starts work nobody waits for (``_background``): a page's
# query ends before its rows are converted and sent (a DataFrame, the widget's Arrow
# reply), and a view order's two threads or a row store's decoding would share the cores
# and the GIL with that. The spare-connection helper waits for it too, unless no spare is
# ready (then the next new file's query would wait for one, or make its own): making a
# database holds the GIL for much of its ~20 ms, and right after a sorted first page's query
# that slowed its conversion to a DataFrame from ~1 to ~5 ms.
QUIET_S = 0.1
LATE_ROWS = 2048  # >= _view.TOP_N + 1: see open_connection


def open_connection(
    allowed_paths: Iterable[str] = (),
    *,
    memory_limit: str = "256MB",
    threads: int = 2,
    temp_directory: str | None = None,
    progress: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection that can read only ``allowed_paths``: files, and
    directories (entries ending in ``os.sep``: every file whose resolved path is under one).
    ``progress``: its queries' progress can be asked (``query_progress()``; nothing printed).

    ``temp_directory`` is where sorts bigger than ``memory_limit`` spill (DuckDB's default
    would be ``.tmp`` in the current directory); the engine passes its private temp dir.

    Examples
    --------
    >>> con = open_connection()
    >>> con.execute("SELECT 40 + 2").fetchall()
    [(42,)]
    """
    con = _take_spare()
    if con is None:
        con = _create()
    try:
        if temp_directory is not None:
            con.execute("SET temp_directory = $1", [temp_directory])
        con.execute("SET memory_limit = $1", [memory_limit])
        con.execute(f"SET threads = {int(threads)}")
        # Parse each Parquet footer once per connection, not on every statement: a 100M-row
        # file's footer (800 row groups) cost 15-20 ms of every page read. (Set here, not at
        # creation: the built-in Parquet extension is loaded only once the database is.) A
        # rewritten file never meets its old footer: ``_relation.duckdb_path`` names each
        # link after the file's size and mtime too, and DuckDB checks the file as well.
        con.execute("SET parquet_metadata_cache = true")
        # A top-N reads the non-key columns of the winning rows only (late materialization,
        # the winners' ids pushed into the scan as an IN filter) up to these many rows;
        # DuckDB's default of 50 missed the engine's ``stop + 1`` first pages (_top) and
        # every page ending deeper than row 50, which then read every column of the file.
        con.execute(f"SET late_materialization_max_rows = {LATE_ROWS}")
        con.execute(f"SET dynamic_or_filter_threshold = {LATE_ROWS}")
        if progress:  # measured: no cost on a 10M-row sort (1.0 s either way)
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")
        grants = set(allowed_paths)
        paths = sorted(p for p in grants if not p.endswith(os.sep))
        folders = sorted(p for p in grants if p.endswith(os.sep))
        if paths:
            con.execute("SET allowed_paths = $1", [paths])
        if folders:
            con.execute("SET allowed_directories = $1", [folders])
        # DuckDB's statistics propagation trusts Parquet min/max, which pyarrow writes
        # without NaN; it then folds isnan() to false and lets NaN rows through filters.
        con.execute("SET disabled_optimizers = 'statistics_propagation'")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    _make_spare()
    return con


def retire(con: duckdb.DuckDBPyConnection) -> None:
    """Close ``con`` (no longer used by anyone) in the helper thread: closing a database
    joins its threads and frees its memory, ~10-20 ms nobody should wait for."""
    global _quiet_since
    with _cv:
        if _enabled:
            _quiet_since = time.monotonic()  # its replacement's query is about to run
            _retired.append(con)
            _start_helper()
            _cv.notify_all()
            return
    con.close()


def _create() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:", config=dict(_CREATE_CONFIG))


def _take_spare() -> duckdb.DuckDBPyConnection | None:
    global _spares_made
    with _cv:
        if not _enabled:
            return None
        if not _spares:
            # One being made is further along than one we would start: wait for it.
            _cv.wait_for(lambda: not _creating, SPARE_WAIT_S)
        if not _spares:
            return None
        _spares_made += 1
        return _spares.pop()


def _make_spare() -> None:
    """Ask the helper thread for the next spare (unless one is ready): a notify, no wait."""
    global _making, _quiet_since
    with _cv:
        _quiet_since = time.monotonic()  # the taker's query is about to run
        if _enabled and len(_spares) < SPARES and not _making:
            _making = True
            _start_helper()
            _cv.notify_all()


def _start_helper() -> None:
    global _helper
    if _helper is None or not _helper.is_alive():
        # One long-lived thread: starting a thread per spare waits for it to start, which
        # on a busy machine took as long as the open it saves.
        _helper = threading.Thread(target=_helper_loop, name="dsviz-duckdb-spare", daemon=True)
        _helper.start()


def _helper_loop() -> None:
    global _making, _creating
    while True:
        with _cv:
            while True:
                _cv.wait_for(_has_work)
                wait = _until_quiet()
                if wait <= 0:
                    break
                _cv.wait(wait)  # a query starting meanwhile is seen by _has_work
            if not _enabled and not _retired:
                return
            if _retired and not (_making and not _spares):
                old: duckdb.DuckDBPyConnection | None = _retired.pop()
            else:
                old = None
                _creating = True
        if old is not None:
            with contextlib.suppress(duckdb.Error):
                old.close()
            continue
        con: duckdb.DuckDBPyConnection | None = None
        with contextlib.suppress(duckdb.Error):  # then the next taker opens its own
            con = _create()
        made = con is not None
        with _cv:
            _creating = False
            if _enabled and con is not None and len(_spares) < SPARES:
                _spares.append(con)
                con = None
            # The next one is made in the next round (if no query runs by then); after a
            # failure, only when asked again.
            _making = _enabled and made and len(_spares) < SPARES
            _cv.notify_all()
        if con is not None:
            con.close()


def _until_quiet() -> float:
    """Seconds the helper waits before its next database (see ``QUIET_S``): none when no
    spare is ready and one is asked for, or when shutting down."""
    if not _enabled or (_making and not _spares):
        return 0.0
    return QUIET_S - (time.monotonic() - _quiet_since)


def _has_work() -> bool:
    """Work to do, and no foreground query running: making or closing a database while a
    query runs slowed the query (cores, the allocator, the process's memory map)."""
    if not _enabled:
        return True
    return (bool(_retired) or _making) and _busy == 0


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """Mark a query someone waits for: the helper makes and closes databases only between
    such queries."""
    global _busy, _quiet_since
    with _cv:
        _busy += 1
    try:
        yield
    finally:
        with _cv:
            _busy -= 1
            _quiet_since = time.monotonic()
            _cv.notify_all()


def busy() -> bool:
    """Whether a foreground query runs now (a row store being written waits meanwhile)."""
    return _busy > 0


def quiet_for() -> float:
    """Seconds since the last foreground query ended; 0 while one runs. The background
    worker starts work nobody waits for only after a short quiet (``_background``)."""
    with _cv:
        return 0.0 if _busy else max(0.0, time.monotonic() - _quiet_since)


def spares_taken() -> int:
    """How many connections were taken ready-made from the spares (for tests)."""
    return _spares_made


def wait_for_spare(timeout: float | None = None) -> bool:
    """Wait until the spares asked for are made (no foreground query must be running);
    whether all ``SPARES`` are ready (for tests)."""
    with _cv:
        _cv.wait_for(lambda: not _making, timeout)
        return len(_spares) >= SPARES


@atexit.register
def _shutdown() -> None:
    # A database being made or closed while the interpreter exits could abort the process.
    global _enabled
    with _cv:
        _enabled = False
        helper, cons = _helper, list(_spares)
        _spares.clear()
        _cv.notify_all()
    if helper is not None:
        helper.join()
    for con in cons:
        con.close()


#: In a forked child, the parent's connections: kept referenced for the child's whole life.
#: Closing (or freeing) one there joins database threads the fork did not copy: the child
#: hangs or crashes.
_forked_leftovers: list[object] = []


def _after_fork() -> None:
    # A database's threads do not survive fork: the child must never use the parent's,
    # nor free them (see _forked_leftovers).
    global _spares, _helper, _cv, _retired, _making, _creating, _busy
    _forked_leftovers.extend([*_spares, *_retired])
    _cv = threading.Condition()
    _spares = []
    _helper = None
    _retired = []
    _making = _creating = False
    _busy = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
