"""A deterministic fault injector for the save path (test-only; no hook in the store code).

While :func:`inject` is active, every step of a save that touches the store's files is a
numbered *site*: ``open`` for writing, each ``write``, ``fchmod``, ``mkdir``, ``link``,
``utime``, ``unlink``, ``rename``/``replace``, ``os.open``, ``fsync``, ``syncfs``, each
Parquet writer step and each SQLite statement that writes (``BEGIN``, ``INSERT``, ``COMMIT``,
...). Site ``target`` faults:

- ``fault="crash"``: ``os._exit`` right there (no ``finally``, no cleanup: what ``kill -9`` or a
  power cut leaves at that step boundary; ``sqlite-committed`` is the moment just after the
  COMMIT returned);
- ``fault=<errno>``: the call raises as the OS would (``OSError(errno)``; SQLite's own error for
  statements; a failing ``syncfs(2)`` for the flush), and the save must turn it into a
  ``dv.StoreError``.

Only calls on paths under the store root count (and fd-based calls made during the save), so
imports, the scratch directory and the test's own files are never faulted.
The functions are patched in their modules (``builtins.open``, ``os.*``, ``pyarrow.parquet``,
``Catalog._connect``, ``_objects._syncfs``) for the duration of the ``with`` block.
"""

from __future__ import annotations

import builtins
import ctypes
import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CRASH_EXIT = 77
SQLITE_ERRORS = {  # what SQLite reports for each: message, primary result code
    errno.ENOSPC: ("database or disk is full", 13),  # SQLITE_FULL
    errno.EIO: ("disk I/O error", 10),  # SQLITE_IOERR
    errno.EACCES: ("attempt to write a readonly database", 8),  # SQLITE_READONLY
}
_WRITE_SQL = ("BEGIN", "INSERT", "UPDATE", "DELETE", "COMMIT", "CREATE")


class Injector:
    def __init__(self, root: Path, target: int | None, fault: str | int | None) -> None:
        self.root = str(root)
        self.target = target
        self.fault = fault
        self.sites: list[str] = []
        self.fired: str | None = None

    def mine(self, path: object) -> bool:
        if isinstance(path, int):
            return False
        try:
            return os.fspath(path).startswith(self.root)  # type: ignore[arg-type]
        except TypeError:
            return False

    def tick(self, site: str) -> int | None:
        """Count a site; at the target, crash or return the errno to raise."""
        index = len(self.sites)
        self.sites.append(site)
        if index != self.target:
            return None
        self.fired = site
        if self.fault == "crash":
            os._exit(CRASH_EXIT)
        assert isinstance(self.fault, int)
        return self.fault


def _oserror(err: int, path: object = None) -> OSError:
    if path is None:
        return OSError(err, os.strerror(err))
    return OSError(err, os.strerror(err), os.fspath(path) if not isinstance(path, int) else path)


class _File:
    """A file object whose writes are sites."""

    def __init__(self, f: Any, inj: Injector, path: object) -> None:
        self._f, self._inj, self._path = f, inj, path

    def write(self, data: Any) -> int:
        err = self._inj.tick("write")
        if err:
            if err == errno.ENOSPC and len(data) > 1:  # a short write first, like a full disk
                self._f.write(bytes(data)[: len(data) // 2])
                self._f.flush()
            raise _oserror(err, self._path)
        return int(self._f.write(data))

    def __enter__(self) -> _File:
        self._f.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._f.__exit__(*exc)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._f)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


class _Conn:
    """A sqlite3 connection whose writing statements are sites."""

    def __init__(self, db: sqlite3.Connection, inj: Injector) -> None:
        self._db, self._inj = db, inj

    def _site(self, sql: str) -> None:
        word = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if word in _WRITE_SQL:
            err = self._inj.tick(f"sqlite-{word}")
            if err:
                message, code = SQLITE_ERRORS[err]
                exc = sqlite3.OperationalError(message)
                exc.sqlite_errorcode = code  # type: ignore[attr-defined]
                raise exc

    def execute(self, sql: str, *args: Any) -> Any:
        self._site(sql)
        cursor = self._db.execute(sql, *args)
        if sql.strip().upper() == "COMMIT" and self._inj.fault == "crash":
            self._inj.tick("sqlite-committed")
        return cursor

    def executescript(self, sql: str) -> Any:
        self._site(sql.strip())
        return self._db.executescript(sql)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class _FakeLibc:
    """``syncfs`` failing with ``err``, as the kernel reports a write-back error."""

    def __init__(self, err: int) -> None:
        self.err = err

    def syncfs(self, fd: int) -> int:
        ctypes.set_errno(self.err)
        return -1


@contextmanager
def inject(
    root: Path, target: int | None = None, fault: str | int | None = None
) -> Iterator[Injector]:
    import pyarrow.parquet as pq

    from dsviz_widget.artifacts import _objects
    from dsviz_widget.artifacts._catalog import Catalog

    inj = Injector(root, target, fault)
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, new: Any) -> None:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, new)

    real_open = builtins.open

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if inj.mine(file) and any(c in mode for c in "wxa+"):
            err = inj.tick("open")
            if err:
                raise _oserror(err, file)
            return _File(real_open(file, mode, *args, **kwargs), inj, file)
        return real_open(file, mode, *args, **kwargs)

    patch(builtins, "open", open_)

    def path_site(name: str, site: str, always: bool = False) -> None:
        real = getattr(os, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            target_path = args[1] if name == "link" else (args[0] if args else None)
            if always or inj.mine(target_path):
                err = inj.tick(site)
                if err:
                    raise _oserror(err, target_path if not always else None)
            return real(*args, **kwargs)

        patch(os, name, wrapper)

    for name in ("mkdir", "link", "utime", "unlink", "rename", "replace", "open"):
        path_site(name, "os.open" if name == "open" else name)
    for name in ("fchmod", "fsync"):
        path_site(name, name, always=True)

    real_syncfs = _objects._syncfs

    def syncfs(root_: Path) -> bool:
        err = inj.tick("syncfs")
        if err:
            libc = _objects._libc
            _objects._libc = _FakeLibc(err)
            try:
                return bool(real_syncfs(root_))
            finally:
                _objects._libc = libc
        return bool(real_syncfs(root_))

    patch(_objects, "_syncfs", syncfs)

    real_writer = pq.ParquetWriter

    class Writer(real_writer):  # type: ignore[misc, valid-type]
        def __init__(self, where: Any, *args: Any, **kwargs: Any) -> None:
            err = inj.tick("parquet-open")
            if err:
                raise _oserror(err, where)
            super().__init__(where, *args, **kwargs)

        def write_batch(self, *args: Any, **kwargs: Any) -> None:
            err = inj.tick("parquet-write")
            if err:
                raise _oserror(err)
            super().write_batch(*args, **kwargs)

        def close(self) -> None:
            if getattr(self, "is_open", False):
                err = inj.tick("parquet-close")
                if err:
                    super().close()
                    raise _oserror(err)
            super().close()

    patch(pq, "ParquetWriter", Writer)
    real_write_table = pq.write_table

    def write_table(table: Any, where: Any, *args: Any, **kwargs: Any) -> None:
        err = inj.tick("parquet-write-table")
        if err:
            with real_open(where, "wb") as f:  # a torn file, as a full disk leaves it
                f.write(b"PAR1")
            raise _oserror(err, where)
        real_write_table(table, where, *args, **kwargs)

    patch(pq, "write_table", write_table)

    real_connect = Catalog._connect

    def connect(self: Catalog) -> Any:
        return _Conn(real_connect(self), inj)

    patch(Catalog, "_connect", connect)
    try:
        yield inj
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)
