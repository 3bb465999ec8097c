"""The catalog: one SQLite database of artifacts, versions, aliases, runs, history and lineage.

A version becomes visible in one SQLite transaction (``BEGIN IMMEDIATE``), after all of
its files are stored. Writers in any number of threads and processes serialise on that
short transaction, each computing the next version number inside it, so no two writers
get the same number and none is lost. WAL mode lets readers proceed during writes.

The schema is versioned with SQLite's ``user_version`` (``SCHEMA_VERSION``). Opening a
catalog brings an older one up to date in one transaction (:func:`_migrate`), adding
tables and columns and never rewriting a row; a catalog from a newer release is refused
rather than written with rules it does not follow.

The queries themselves are shared with the PostgreSQL catalog (``_catalog_base``); this
module owns the SQLite file: its schema and migrations, connections, transactions and the
``gc.lock`` file beside it.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from dsviz_widget._errors import StoreError, store_error
from dsviz_widget.artifacts._catalog_base import BaseCatalog, Transaction, VersionRow
from dsviz_widget.artifacts._objects import open_nofollow

__all__ = ["SCHEMA_VERSION", "Catalog", "VersionRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    name TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    artifact TEXT NOT NULL REFERENCES artifacts(name),
    version INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    content TEXT NOT NULL,
    description TEXT,
    metadata TEXT NOT NULL,
    size INTEGER NOT NULL,
    run_id TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (artifact, version)
);
CREATE TABLE IF NOT EXISTS aliases (
    artifact TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (artifact, alias)
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    project TEXT,
    job_type TEXT,
    name TEXT,
    config TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lineage (
    run_id TEXT NOT NULL,
    artifact TEXT NOT NULL,
    version INTEGER NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('used', 'produced')),
    at REAL NOT NULL,
    PRIMARY KEY (run_id, artifact, version, direction)
);
"""

#: ``PRAGMA user_version`` of a catalog this module writes. 0: the first schema (no history,
#: runs without labels or summary); 1: ``runs`` gains the columns of ``_RUN_COLUMNS_V1`` and
#: the ``history`` table holds one JSON row per logged step.
SCHEMA_VERSION = 1

#: Columns added to ``runs`` by schema 1: (name, SQL declaration). Nullable or defaulted, so
#: ``ALTER TABLE ADD COLUMN`` fills the rows of older runs without touching them.
_RUN_COLUMNS_V1 = (
    ("entity", "TEXT"),
    ("notes", "TEXT"),
    ("tags", "TEXT NOT NULL DEFAULT '[]'"),
    ("group_name", "TEXT"),
    ("mode", "TEXT NOT NULL DEFAULT 'online'"),
    ("summary", "TEXT NOT NULL DEFAULT '{}'"),
    ("exit_code", "INTEGER"),
)

_HISTORY_V1 = """
CREATE TABLE IF NOT EXISTS history (
    run_id TEXT NOT NULL,
    step INTEGER NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
)
"""


def _migrate(db: sqlite3.Connection) -> None:
    """Bring the catalog to ``SCHEMA_VERSION`` inside the caller's write transaction.

    Every step is idempotent (columns are added only when ``table_info`` lacks them), so a
    crash between two steps, or two processes opening an old store at once, ends at the same
    schema. Nothing is copied or rewritten: existing rows keep every value they had.
    """
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"the catalog was written by a newer dsviz_widget (schema {found}; this one "
            f"knows {SCHEMA_VERSION}); upgrade dsviz_widget to open it"
        )
    if found == SCHEMA_VERSION:
        return
    have = {r[1] for r in db.execute("PRAGMA table_info(runs)")}
    for column, declaration in _RUN_COLUMNS_V1:
        if column not in have:
            db.execute(f"ALTER TABLE runs ADD COLUMN {column} {declaration}")
    db.execute(_HISTORY_V1)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _rollback(db: sqlite3.Connection) -> None:
    """End a failed transaction. SQLite may have rolled back already (a full disk or an I/O
    error does), and that must not replace the error being reported."""
    if db.in_transaction:
        with suppress(sqlite3.Error):
            db.execute("ROLLBACK")


#: How long opening waits for another process switching a new catalog to WAL (see _set_wal).
_WAL_WAIT_S = 120.0


def _set_wal(db: sqlite3.Connection) -> None:
    """``PRAGMA journal_mode=WAL``, waiting while another connection switches the same new
    file: SQLite answers that one "database is locked" at once, without its busy handler
    (several machines opening a new catalog at once: 1 in ~15 tries of 6 failed here)."""
    deadline = time.monotonic() + _WAL_WAIT_S
    delay = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


class Catalog(BaseCatalog):
    """Thin typed access to ``catalog.sqlite``; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        db = self._connect()
        try:
            db.executescript(_SCHEMA)  # CREATE IF NOT EXISTS: safe to race with other processes
        except sqlite3.Error as exc:
            raise store_error(f"cannot create the catalog {self.path}", exc) from exc
        if self._read("PRAGMA user_version")[0][0] != SCHEMA_VERSION:
            with self._write() as db:  # BEGIN IMMEDIATE: one process migrates, the others see it
                _migrate(db)

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=120.0, isolation_level=None)
                _set_wal(db)
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA busy_timeout=120000")
            except sqlite3.Error as exc:
                raise store_error(f"cannot open the catalog {self.path}", exc) from exc
            self._local.db = db
        return db

    @contextmanager
    def _write(self, step: str = "") -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise store_error(f"cannot write the catalog {self.path}", exc) from exc
        try:
            yield db
        except sqlite3.Error as exc:
            _rollback(db)
            raise store_error(f"cannot write the catalog {self.path}", exc) from exc
        except BaseException:
            _rollback(db)
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(db)
                raise store_error(f"cannot commit to the catalog {self.path}", exc) from exc

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._connect().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise store_error(f"cannot read the catalog {self.path}", exc) from exc

    # -- the store's save / gc lock ------------------------------------------------------
    @contextmanager
    def hold_saving(self) -> Iterator[None]:
        """Shared for the whole of a save; see :meth:`hold_exclusive`."""
        with _flock(self.path.parent / "gc.lock", fcntl.LOCK_SH):
            yield

    @contextmanager
    def hold_exclusive(self) -> Iterator[None]:
        """Exclusive, for ``gc``: waits for saves in progress and keeps new ones out."""
        with _flock(self.path.parent / "gc.lock", fcntl.LOCK_EX):
            yield

    def _serialise_name(self, db: Transaction, artifact: str) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already makes every write transaction the
        only one, for every name."""


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    try:
        # Not open(): a lock file replaced by a link must not create or lock a file elsewhere.
        fd = open_nofollow(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    except OSError as exc:
        if isinstance(exc, StoreError):
            raise
        raise store_error(f"cannot open the store's lock file {path}", exc) from exc
    with open(fd, "r+b") as f:
        fcntl.flock(f.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
