"""Content-addressed file storage: every file is stored once, under its SHA-256.

Writes go to ``tmp/`` first, are fsynced, and are then hard-linked into ``objects/``. A
link is an exclusive create: an object that exists already is never replaced (its bytes
are, by construction, the same). A crash leaves at worst an unreferenced temporary file
or object, never a half-written object under a digest name.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import stat
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from dsviz_widget._errors import (
    IntegrityError,
    StoreError,
    UnsafePathError,
    ValidationError,
    store_error,
)

_HEX = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


@contextmanager
def io_step(what: str) -> Iterator[None]:
    """Turn an ``OSError`` of one store step into a :class:`StoreError` naming the step."""
    try:
        yield
    except StoreError:
        raise
    except OSError as exc:
        raise store_error(what, exc) from exc


def check_digest(digest: object) -> str:
    if not isinstance(digest, str) or not _HEX.match(digest):
        raise ValidationError(f"not a SHA-256 digest: {digest!r}")
    return digest


class ObjectStore:
    """The ``objects/`` and ``tmp/`` directories of a store root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self._verified: dict[str, tuple[int, int]] = {}
        self._local = threading.local()

    def path(self, digest: str) -> Path:
        check_digest(digest)
        return self.objects / digest[:2] / digest

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def claim(self, digest: str) -> int | None:
        """Size of an existing object, refreshing its mtime so ``gc``'s grace period covers
        the save about to refer to it; None if the object does not exist."""
        path = self.path(digest)
        try:
            with io_step(f"could not refresh stored object {digest[:12]} in {self.objects}"):
                os.utime(path)
                return path.stat().st_size
        except FileNotFoundError:
            return None
        except StoreError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                return None
            raise

    # -- writing -----------------------------------------------------------------------------
    def put_bytes(self, data: bytes, digest: str | None = None) -> str:
        """Store ``data``; returns its digest. Cheap when the object exists already."""
        digest = digest or hashlib.sha256(data).hexdigest()
        if self.claim(digest) is not None:
            return digest
        tmp = self._tmp_path()
        try:
            with io_step(f"could not write a new object to {self.tmp}"), open(tmp, "xb") as f:
                f.write(data)
                os.fchmod(f.fileno(), 0o444)  # stored objects are never modified in place
            self._link(tmp, digest)
        finally:
            unlink_quietly(tmp)
        return digest

    def put_file(self, src: Path) -> tuple[str, int]:
        """Store a copy of the file at ``src``; returns (digest, size).

        The source is opened without following a final symbolic link and must be a regular
        file: a file swapped for a link (or a FIFO) after ``add_file`` / ``add_dir`` checked it
        is refused, not followed outside the directory that was added.
        """
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(src, flags)
        except OSError as exc:
            if os.path.islink(src):
                raise UnsafePathError(
                    f"{str(src)!r} became a symbolic link after it was added; not following it"
                ) from None
            raise store_error(f"could not read {str(src)!r} to copy it into the store", exc) from exc
        with open(fd, "rb") as fsrc:
            if not stat.S_ISREG(os.fstat(fsrc.fileno()).st_mode):
                raise UnsafePathError(f"{str(src)!r} is no longer a regular file; not reading it")
            tmp = self._tmp_path()
            try:
                with io_step(f"could not copy {str(src)!r} into the store"), open(tmp, "xb") as f:
                    shutil.copyfileobj(fsrc, f, _CHUNK)
            except BaseException:
                unlink_quietly(tmp)
                raise
        return self.adopt(tmp)

    def adopt(self, tmp: Path) -> tuple[str, int]:
        """Hash a finished temporary file (written by the caller under ``new_tmp()``) and store it."""
        h = hashlib.sha256()
        size = 0
        try:
            with (
                io_step(f"could not store the new file {tmp.name} of {self.tmp}"),
                open(tmp, "rb+") as f,
            ):
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                os.fchmod(f.fileno(), 0o444)
            digest = h.hexdigest()
            if self.claim(digest) is None:
                self._link(tmp, digest)
        finally:
            unlink_quietly(tmp)
        return digest, size

    def new_tmp(self) -> Path:
        return self._tmp_path()

    def _tmp_path(self) -> Path:
        with io_step(f"could not create the store's temporary directory {self.tmp}"):
            self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / f"{os.getpid()}-{uuid.uuid4().hex}.part"

    def _link(self, tmp: Path, digest: str) -> None:
        final = self.path(digest)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.link(tmp, final)
        except FileExistsError:
            return  # same digest, same bytes: a concurrent writer got there first
        except OSError as exc:
            raise store_error(f"could not store object {digest[:12]} in {self.objects}", exc) from exc
        self._pending().append(final)

    def _pending(self) -> list[Path]:
        pending: list[Path] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        return pending

    def sync(self) -> None:
        """Make every object this thread wrote durable, before a version refers to them.

        Objects are written without a per-file fsync (thousands of images would pay one
        each); instead one ``syncfs`` flushes the store's filesystem, which also covers
        objects another process created and this save reuses. Without ``syncfs``, each
        file and directory this thread wrote is fsynced.
        """
        pending = self._pending()
        try:
            with io_step(f"could not flush the store {self.root} to disk"):
                if not _syncfs(self.root):
                    for path in pending:
                        _fsync_path(path)
                    for d in {p.parent for p in pending}:
                        _fsync_dir(d)
        finally:
            pending.clear()

    # -- reading -----------------------------------------------------------------------------
    def read(self, digest: str, what: str) -> bytes:
        """The bytes of an object, checked against its digest."""
        path = self.path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise self._missing(what, digest) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise _corrupt(what, path)
        return data

    def _missing(self, what: str, digest: str) -> IntegrityError:
        return IntegrityError(f"{what}: stored file {digest} is missing from {self.objects}")

    def verified_path(self, digest: str, what: str) -> Path:
        """The path of an object whose content was checked against its digest."""
        path = self.path(digest)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise self._missing(what, digest) from None
        key = (st.st_size, st.st_ino)  # not mtime: claim() refreshes it on every reuse
        if self._verified.get(digest) == key:
            return path
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        if h.hexdigest() != digest:
            raise _corrupt(what, path)
        self._verified[digest] = key
        return path

    def iter_digests(self) -> Iterable[str]:
        if not self.objects.is_dir():
            return
        for sub in sorted(self.objects.iterdir()):
            for f in sorted(sub.iterdir()):
                if _HEX.match(f.name):
                    yield f.name


_libc: Any = None


def _corrupt(what: str, path: Path) -> IntegrityError:
    return IntegrityError(f"{what}: stored file {path} is corrupt (its SHA-256 does not match)")


def _syncfs(root: Path) -> bool:
    """Flush the filesystem holding ``root`` (Linux ``syncfs``); False where unavailable."""
    global _libc
    if _libc is None:
        try:
            lib = ctypes.CDLL(None, use_errno=True)
            _libc = lib if hasattr(lib, "syncfs") else False
        except OSError:
            _libc = False
    if _libc is False:
        return False
    fd = os.open(root, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise store_error(f"could not flush the store {root} to disk", OSError(err, os.strerror(err)))
    finally:
        os.close(fd)
    return True


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quietly(path: Path) -> None:
    """Remove a temporary file; a failure here must not hide the error being handled (``gc``
    removes what is left)."""
    with suppress(OSError):
        path.unlink(missing_ok=True)
