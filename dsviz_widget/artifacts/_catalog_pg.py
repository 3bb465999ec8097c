"""The team store's catalog: the same tables and rules as the SQLite one, in PostgreSQL.

``PostgresCatalog("postgresql://user:pw@host/db")`` is what ``open_catalog`` returns for a
``postgresql://`` or ``postgres://`` URL; what the URL leaves out comes from the usual ``PG*``
variables (``PGHOST``, ``PGUSER``, ``PGPASSWORD``, ``PGSSLMODE``, …) and ``~/.pgpass``, as
libpq reads them. Its queries are the SQLite catalog's (``_catalog_base``); this module owns
the connections, the transactions and the locks:

- **Publishing** takes a transaction-level advisory lock on the artifact's name first, so the
  publishers of one name, on any machine, run one at a time, each reading the latest version
  and inserting the next inside its own transaction: numbers stay contiguous and none is lost,
  without retries. Publishers of different names do not wait for each other.
- **The save / gc lock** is a session-level advisory lock on one key derived from the catalog
  (its database and schema), taken shared by every save and exclusive by gc, each on a
  connection of its own held for the whole save: gc on one machine waits for saves on all.
- **The schema** is created on first open in one transaction under its own advisory lock (so
  machines opening a new catalog at once do not race ``CREATE TABLE``), and versioned in the
  one-row table ``dsviz_schema``, like SQLite's ``user_version``: a newer one is refused.
- **Connections**: one per thread, opened on first use. One lost to a server restart is
  replaced before a read or before a write transaction begins; a connection lost *inside* a
  transaction is never retried (the server rolls the transaction back, or the commit's outcome
  is unknown) and raises :class:`CatalogServerError` naming the step.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import conninfo

from dsviz_widget._errors import DsvizError, StoreError, ValidationError, store_error
from dsviz_widget.artifacts._catalog_base import BaseCatalog, Cursor, Transaction

#: The schema version this module writes, as ``_catalog.SCHEMA_VERSION`` for SQLite (the same
#: tables and columns as SQLite's schema 1; PostgreSQL catalogs began there).
SCHEMA_VERSION = 1

# Types are PostgreSQL's widest of SQLite's: BIGINT for its 64-bit INTEGER (version numbers
# reach int64), DOUBLE PRECISION for REAL (PostgreSQL's REAL is 32 bits: whole seconds lost).
# JSON stays TEXT, as in SQLite: Python's JSON keeps NaN, which jsonb refuses.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS dsviz_schema (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS artifacts (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS versions (
        artifact TEXT NOT NULL REFERENCES artifacts(name),
        version BIGINT NOT NULL,
        manifest TEXT NOT NULL,
        content TEXT NOT NULL,
        description TEXT,
        metadata TEXT NOT NULL,
        size BIGINT NOT NULL,
        run_id TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (artifact, version)
    )""",
    """CREATE TABLE IF NOT EXISTS aliases (
        artifact TEXT NOT NULL,
        alias TEXT NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (artifact, alias)
    )""",
    """CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY,
        project TEXT,
        job_type TEXT,
        name TEXT,
        config TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        finished_at DOUBLE PRECISION,
        state TEXT NOT NULL,
        entity TEXT,
        notes TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        group_name TEXT,
        mode TEXT NOT NULL DEFAULT 'online',
        summary TEXT NOT NULL DEFAULT '{}',
        exit_code BIGINT
    )""",
    """CREATE TABLE IF NOT EXISTS lineage (
        run_id TEXT NOT NULL,
        artifact TEXT NOT NULL,
        version BIGINT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('used', 'produced')),
        at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (run_id, artifact, version, direction)
    )""",
    """CREATE TABLE IF NOT EXISTS history (
        run_id TEXT NOT NULL,
        step BIGINT NOT NULL,
        row TEXT NOT NULL,
        PRIMARY KEY (run_id, step)
    )""",
)

# Advisory locks take two int4 keys: the first says which of our locks, the second which
# catalog (and which name). Other applications sharing the database use other first keys.
_SAVE_LOCK = 0x64737601
_NAME_LOCK = 0x64737602
_SCHEMA_LOCK = 0x64737603

#: Seconds to wait for the server when connecting, unless the URL or PGCONNECT_TIMEOUT says.
CONNECT_TIMEOUT = 10


class CatalogServerError(StoreError):
    """The catalog's PostgreSQL server could not be reached or failed one step.

    ``step`` names what was being done, e.g. ``"publishing a version of 'cars'"``.
    """

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return url.split("://", 1)[0] + "://(unreadable URL)"
    host = params.get("host") or "(PGHOST)"
    port = f":{params['port']}" if params.get("port") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    return f"postgresql://{user}{host}{port}/{params.get('dbname') or '(PGDATABASE)'}"


def _key(*parts: str) -> int:
    """A signed int4 advisory-lock key, the same on every machine (Python's ``hash`` is
    salted per process). Two names sharing a key only wait for each other."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


def _qmark(sql: str) -> str:
    """The shared ``?`` SQL in psycopg's ``%s`` style (see ``_catalog_base``)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Transaction:
    """A psycopg connection inside a transaction, with the ``Transaction`` interface."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self._conn.execute(_qmark(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        cur = self._conn.cursor()
        cur.executemany(_qmark(sql), [tuple(p) for p in parameters])
        return cur


class _Held:
    """A thread's connection. It is closed when the thread ends (its ``threading.local``
    entry goes, and with it this holder) or when the catalog is closed.

    A forked child inherits the holder but must neither use nor close the connection: the
    socket is its parent's session (closing sends the server a goodbye that ends it). So the
    process that opened it is remembered, and a child opens its own.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.pid = os.getpid()
        weakref.finalize(self, _close_quietly, conn, self.pid)

    @property
    def usable(self) -> bool:
        return self.pid == os.getpid() and not _lost(self.conn)


def _close_quietly(conn: psycopg.Connection[Any], pid: int | None = None) -> None:
    """Close ``conn``, unless it belongs to another process (``pid``: the one that opened it)."""
    if pid is not None and pid != os.getpid():
        return
    with suppress(Exception):
        conn.close()


def _lost(conn: psycopg.Connection[Any]) -> bool:
    return conn.closed or conn.broken


class PostgresCatalog(BaseCatalog):
    """The catalog in a PostgreSQL database; one connection per thread.

    Examples
    --------
    >>> catalog = PostgresCatalog("postgresql://dsviz@db.example/team")  # doctest: +SKIP
    >>> catalog.resolve("cars:latest").version  # doctest: +SKIP
    3
    """

    def __init__(self, url: str) -> None:
        self.url = url
        #: The URL without its password: what messages and ``repr`` show.
        self.location = redact(url)
        self._local = threading.local()
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._held_lock = threading.Lock()
        schema = self._read("SELECT current_schema()")[0][0]
        if schema is None:
            raise StoreError(
                f"the catalog {self.location} has no schema to create its tables in "
                "(none of the search_path exists)"
            )
        #: The key of the save / gc lock: one per database and schema, as the tables are.
        self._save_key = _key("save", schema)
        self._schema = schema
        self._create_or_check()

    def __repr__(self) -> str:
        return f"PostgresCatalog({self.location!r})"

    # -- schema ------------------------------------------------------------------------------
    def _create_or_check(self) -> None:
        exists = self._read("SELECT to_regclass('dsviz_schema') IS NOT NULL")[0][0]
        found = self._read("SELECT max(version) FROM dsviz_schema")[0][0] if exists else None
        if found is None:
            with self._write(f"creating the catalog's tables in {self.location}") as db:
                # CREATE TABLE IF NOT EXISTS is not safe against a concurrent create in
                # PostgreSQL (both may insert the type): machines opening at once queue here.
                db.execute("SELECT pg_advisory_xact_lock(?, ?)", (_SCHEMA_LOCK, _key(self._schema)))
                for statement in _SCHEMA:
                    db.execute(statement)
                row = db.execute("SELECT max(version) FROM dsviz_schema").fetchone()
                found = row[0]
                if found is None:
                    db.execute("INSERT INTO dsviz_schema VALUES (?)", (SCHEMA_VERSION,))
                    found = SCHEMA_VERSION
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"the catalog {self.location} was written by a newer dsviz_widget (schema "
                f"{found}; this one knows {SCHEMA_VERSION}); upgrade dsviz_widget to open it"
            )

    # -- connections -------------------------------------------------------------------------
    def _connect(self, step: str) -> psycopg.Connection[Any]:
        """A new connection, in autocommit: transactions are begun explicitly."""
        options: dict[str, Any] = {"autocommit": True}
        try:
            given = conninfo.conninfo_to_dict(self.url)
        except psycopg.ProgrammingError as exc:
            raise ValidationError(f"the catalog URL is not a PostgreSQL URL: {exc}") from None
        if "application_name" not in given:
            options["application_name"] = "dsviz_widget"
        if "connect_timeout" not in given and not os.environ.get("PGCONNECT_TIMEOUT"):
            options["connect_timeout"] = CONNECT_TIMEOUT
        if "keepalives" not in given:
            # A server gone without closing the connection (a machine or network down) is
            # noticed in about a minute instead of the system's two hours.
            options.update(keepalives=1, keepalives_idle=30, keepalives_interval=10)
            options.update(keepalives_count=3)
        try:
            return psycopg.connect(self.url, **options)
        except psycopg.Error as exc:
            raise CatalogServerError(
                step, f"cannot connect to {self.location}: {_reason(exc)}"
            ) from exc

    def _conn(self, step: str) -> psycopg.Connection[Any]:
        """This thread's connection, a new one if there is none or it was lost."""
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or not held.usable:
            if held is not None:
                _close_quietly(held.conn, held.pid)
            held = _Held(self._connect(step))
            self._local.held = held
            with self._held_lock:
                self._held.add(held)
        return held.conn

    def close(self) -> None:
        """Close every thread's connection (a thread that uses the catalog again reconnects)."""
        with self._held_lock:
            for held in list(self._held):
                _close_quietly(held.conn, held.pid)

    # -- transactions and reads --------------------------------------------------------------
    def _begin(self, step: str) -> psycopg.Connection[Any]:
        """A connection with a transaction begun. A connection lost since its last use (the
        server restarted) fails at BEGIN, before anything was done: replaced once."""
        for attempt in (1, 2):
            conn = self._conn(step)
            try:
                conn.execute("BEGIN")
                return conn
            except psycopg.OperationalError as exc:
                if attempt == 2 or not _lost(conn):
                    raise _server_error(step, self.location, exc) from exc
        raise AssertionError("unreachable")

    @contextmanager
    def _write(self, step: str) -> Iterator[Transaction]:
        conn = self._begin(step)
        try:
            yield _Transaction(conn)
        except BaseException as exc:
            _rollback(conn)
            if isinstance(exc, psycopg.Error):
                raise _server_error(step, self.location, exc) from exc
            raise
        try:
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            _rollback(conn)
            if isinstance(exc, psycopg.OperationalError):
                # The COMMIT may have reached the server before the connection went: the
                # transaction is then whole and visible, else wholly absent. Say so.
                raise CatalogServerError(
                    step,
                    f"the connection to {self.location} was lost while committing, so the "
                    f"change may or may not have been stored (nothing partial) ({_reason(exc)})",
                ) from exc
            raise _server_error(step, self.location, exc) from exc

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        step = "reading the catalog"
        query = _qmark(sql)
        for attempt in (1, 2):
            conn = self._conn(step)
            try:
                return conn.execute(query, args).fetchall()
            except psycopg.Error as exc:
                # A read changes nothing: on a connection lost since its last use, once more.
                if attempt == 2 or not _lost(conn):
                    raise _server_error(step, self.location, exc) from exc
        raise AssertionError("unreachable")

    def _serialise_name(self, db: Transaction, artifact: str) -> None:
        # Transaction-level: released by COMMIT or ROLLBACK, and by the server when the
        # client dies mid-transaction. Read Committed gives every later statement of the
        # transaction a snapshot taken after the lock, so it sees the previous publisher's row.
        db.execute("SELECT pg_advisory_xact_lock(?, ?)", (_NAME_LOCK, _key(self._schema, artifact)))

    # -- the store's save / gc lock ----------------------------------------------------------
    @contextmanager
    def hold_saving(self) -> Iterator[None]:
        """Shared for the whole of a save; see :meth:`hold_exclusive`."""
        with self._advisory("pg_advisory_lock_shared", "taking the store's save lock (shared)"):
            yield

    @contextmanager
    def hold_exclusive(self) -> Iterator[None]:
        """Exclusive, for ``gc``: waits for saves in progress on every machine and keeps new
        ones out."""
        with self._advisory("pg_advisory_lock", "taking the store's gc lock (exclusive)"):
            yield

    @contextmanager
    def _advisory(self, function: str, step: str) -> Iterator[None]:
        # A connection of its own, held for the whole save: a session-level lock belongs to
        # its connection, and this thread's ordinary connection runs short transactions and
        # may be replaced after a restart. Closing it releases the lock, also if this
        # process dies (the server ends the session). If the connection is lost mid-save the
        # lock is gone with it; gc's grace period is the second guard for that save.
        conn = self._connect(step)
        try:
            try:
                conn.execute(f"SELECT {function}(%s, %s)", (_SAVE_LOCK, self._save_key))
            except psycopg.Error as exc:
                raise _server_error(step, self.location, exc) from exc
            yield
        finally:
            _close_quietly(conn)


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """End a failed transaction; a lost connection is rolled back by the server, and that
    must not replace the error being reported."""
    if not _lost(conn):
        with suppress(psycopg.Error):
            conn.execute("ROLLBACK")


def _reason(exc: psycopg.Error) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _server_error(step: str, location: str, exc: psycopg.Error) -> DsvizError:
    """The typed error for a psycopg failure during ``step``."""
    if isinstance(exc, psycopg.DataError):
        # A value PostgreSQL cannot hold (a NUL character in text): the caller's, not the server's.
        return ValidationError(f"{step}: the catalog cannot store a value: {_reason(exc)}")
    if isinstance(exc, psycopg.OperationalError):
        return CatalogServerError(step, f"the server {location} failed: {_reason(exc)}")
    return store_error(f"{step}: the catalog {location} refused", exc)
