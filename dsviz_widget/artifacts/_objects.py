"""Content-addressed file storage: every file is stored once, under its SHA-256.

Writes go to ``tmp/`` first, are fsynced, and are then hard-linked into ``objects/``. A
link is an exclusive create: an object that exists already is never replaced (its bytes
are, by construction, the same). A crash leaves at worst an unreferenced temporary file
or object, never a half-written object under a digest name.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsviz_widget._errors import (
    IntegrityError,
    MissingObjectError,
    StoreError,
    UnsafePathError,
    ValidationError,
    store_error,
)
from dsviz_widget.artifacts._verified import Stamp, Stamps, settled, stamp_of

_HEX = re.compile(r"[0-9a-f]{64}")
_SUBDIR = re.compile(r"[0-9a-f]{2}")
#: Names of the temporary files ``_tmp_path`` makes: the only files in ``tmp/`` gc removes.
_TMP_NAME = re.compile(r"[0-9]+-[0-9a-f]{32}\.part")
_CHUNK = 1 << 20
_NOFOLLOW = os.O_NOFOLLOW | os.O_NONBLOCK  # NONBLOCK: a FIFO planted there must not hang us
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def link_error(path: Path) -> StoreError:
    """The error for a symbolic link found where the store keeps its own files."""
    err = StoreError(
        f"{path} is a symbolic link; the store never follows links out of its own directory "
        "(remove the link, or put the real directory or file back)"
    )
    err.errno = errno.ELOOP
    return err


def _not_regular(path: Path, what: str) -> StoreError:
    return StoreError(f"{path} is not a regular {what}; the store did not create it (remove it)")


def own_lstat(path: Path, is_type: Callable[[int], bool], what: str) -> os.stat_result | None:
    """``lstat`` of a path the store owns (None if absent); a link there, or something other
    than ``what``, is refused with a StoreError naming it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise store_error(f"cannot look at {path}", exc) from exc
    if stat.S_ISLNK(st.st_mode):
        raise link_error(path)
    if not is_type(st.st_mode):
        raise _not_regular(path, what)
    return st


def real_dir(path: Path) -> bool:
    """True if ``path`` is a directory (not a link to one), False if it does not exist."""
    return own_lstat(path, stat.S_ISDIR, "directory") is not None


def open_nofollow(path: Path, flags: int, dir_fd: int | None = None, mode: int = 0o644) -> int:
    """``os.open`` refusing a symbolic link (``O_NOFOLLOW``) with a StoreError naming it.

    With ``dir_fd``, only the last part of ``path`` is opened, relative to that directory.
    """
    try:
        return os.open(
            path.name if dir_fd is not None else path, flags | os.O_NOFOLLOW, mode, dir_fd=dir_fd
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise link_error(path) from None
        raise


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
    if not isinstance(digest, str) or not _HEX.fullmatch(digest):
        raise ValidationError(f"not a SHA-256 digest: {digest!r}")
    return digest


class ObjectStore:
    """The ``objects/`` and ``tmp/`` directories of a store root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.engine_root = self.objects  # see _remote.Objects
        self.tmp = root / "tmp"
        #: Objects hashed by this process, with the stamp they had (``_verified``).
        self._verified: dict[str, Stamp] = {}
        self.stamps = Stamps(root, self._tmp_path)
        self._local = threading.local()

    def path(self, digest: str) -> Path:
        """Where the object ``digest`` lives (a pure function: no filesystem call)."""
        check_digest(digest)
        return self.objects / digest[:2] / digest

    def _safe_path(self, digest: str) -> Path:
        """``path(digest)``, after checking that no directory on the way is a link."""
        path = self.path(digest)
        if real_dir(self.objects):
            real_dir(path.parent)
        return path

    def _lstat(self, digest: str) -> os.stat_result | None:
        """The object's own stat (None if absent); a link or a non-file there is refused."""
        return own_lstat(self._safe_path(digest), stat.S_ISREG, "file")

    def has(self, digest: str) -> bool:
        return self._lstat(digest) is not None

    def claim(self, digest: str) -> int | None:
        """Size of an existing object, refreshing its mtime so ``gc``'s grace period covers
        the save about to refer to it; None if the object does not exist."""
        st = self._lstat(digest)
        if st is None:
            return None
        try:
            with io_step(f"could not refresh stored object {digest[:12]} in {self.objects}"):
                os.utime(self.path(digest), follow_symlinks=False)
                return st.st_size
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
            raise store_error(
                f"could not read {str(src)!r} to copy it into the store", exc
            ) from exc
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
        linked = False
        try:
            with (
                io_step(f"could not store the new file {tmp.name} of {self.tmp}"),
                open(tmp, "rb+") as f,
            ):
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                os.fchmod(f.fileno(), 0o444)
                ino = os.fstat(f.fileno()).st_ino
            digest = h.hexdigest()
            linked = self.claim(digest) is None and self._link(tmp, digest)
        finally:
            unlink_quietly(tmp)
        if linked:  # after the unlink: dropping the temporary name changes the inode's ctime
            self._stamp_new(digest, ino)
        return digest, size

    def new_tmp(self) -> Path:
        return self._tmp_path()

    def _tmp_path(self) -> Path:
        if not real_dir(self.tmp):
            with io_step(f"could not create the store's temporary directory {self.tmp}"):
                self.tmp.mkdir(parents=True, exist_ok=True)
            real_dir(self.tmp)  # a link put there in between is refused all the same
        return self.tmp / f"{os.getpid()}-{uuid.uuid4().hex}.part"

    def _link(self, tmp: Path, digest: str) -> bool:
        """Link a finished temporary file in as object ``digest``; False if one was there."""
        final = self._safe_path(digest)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.link(tmp, final)
        except FileExistsError:
            return False  # same digest, same bytes: a concurrent writer got there first
        except OSError as exc:
            raise store_error(
                f"could not store object {digest[:12]} in {self.objects}", exc
            ) from exc
        self._pending().append(final)
        return True

    def _stamp_new(self, digest: str, ino: int) -> None:
        """Record that the object just linked in (inode ``ino``, whose bytes this process has
        just hashed) is verified, so that the first read of a big table does not hash it again.

        Recorded although its ctime is fresh (``_verified.settled``): the file is one the store
        has just written, read-only, so an edit within the same clock tick is the residual risk
        RELIABILITY.md names.
        """
        st = own_lstat(self.path(digest), stat.S_ISREG, "file")
        if st is not None and st.st_ino == ino:
            self._verified[digest] = stamp_of(st)
            self.stamps.put(digest, stamp_of(st))

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
    @contextmanager
    def _open(self, digest: str, what: str) -> Iterator[tuple[Path, int]]:
        """An open descriptor of the object (never through a link) and its path."""
        path = self._safe_path(digest)
        try:
            fd = open_nofollow(path, os.O_RDONLY | _NOFOLLOW)
        except FileNotFoundError:
            raise self._missing(what, digest) from None
        except OSError as exc:
            raise store_error(f"{what}: cannot read stored file {path}", exc) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _not_regular(path, "file")
            yield path, fd
        finally:
            os.close(fd)

    def read(self, digest: str, what: str) -> bytes:
        """The bytes of an object, checked against its digest."""
        with (
            self._open(digest, what) as (path, fd),
            io_step(f"{what}: cannot read stored file {path}"),
            open(fd, "rb", closefd=False) as f,
        ):
            data = f.read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise _corrupt(what, path)
        return data

    def copy_out(self, digest: str, dst: int, what: str) -> int:
        """Copy an object to the open descriptor ``dst``, hashing as it goes; returns its size.

        Raises :class:`IntegrityError` naming ``what`` when the bytes do not match the digest:
        the caller must then discard what was written (it is a temporary file).
        """
        h = hashlib.sha256()
        size = 0
        with (
            self._open(digest, what) as (path, fd),
            io_step(f"{what}: cannot copy stored file {path}"),
        ):
            while chunk := os.read(fd, _CHUNK):
                h.update(chunk)
                size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(dst, view) :]
        if h.hexdigest() != digest:
            raise _corrupt(what, path)
        return size

    def matches(self, fd: int, digest: str) -> bool:
        """True if the file open as ``fd`` holds exactly the bytes of object ``digest``."""
        return _hash_fd(fd) == digest

    def _missing(self, what: str, digest: str) -> IntegrityError:
        return MissingObjectError(f"{what}: stored file {digest} is missing from {self.objects}")

    def verified_path(self, digest: str, what: str) -> Path:
        """The path of an object whose content was checked against its digest.

        An object whose file state (``_verified.stamp_of``: inode, size, mtime and ctime) is
        the one it had when it was last hashed is not hashed again; any change to the file
        since then makes this hash it (``_verified`` says what that does and does not cover).
        """
        with self._open(digest, what) as (path, fd):
            stamp = stamp_of(os.fstat(fd))
            if self._verified.get(digest) == stamp or self.stamps.get(digest) == stamp:
                self._verified[digest] = stamp
                return path
            self._hash_and_stamp(digest, fd, path, what)
        return path

    def check(self, digest: str, what: str) -> None:
        """Hash the object whatever its stamp says (``dv.verify()``): IntegrityError if its
        bytes do not match its digest."""
        with self._open(digest, what) as (path, fd):
            self._hash_and_stamp(digest, fd, path, what)

    def _hash_and_stamp(self, digest: str, fd: int, path: Path, what: str) -> None:
        before = os.fstat(fd)
        if _hash_fd(fd) != digest:
            self._verified.pop(digest, None)
            self.stamps.drop(digest)
            raise _corrupt(what, path)
        after = os.fstat(fd)
        stamp = stamp_of(after)
        # Recorded only if nothing changed the file while it was hashed, and its last change
        # is older than a clock tick (a later edit then always moves ctime).
        if stamp == stamp_of(before) and settled(before):
            self._verified[digest] = stamp
            if self.stamps.get(digest) != stamp:
                self.stamps.put(digest, stamp)

    def iter_digests(self) -> Iterator[str]:
        """Digests of the objects stored (links refused, foreign files skipped)."""
        scan = self.scan()
        return iter(sorted(scan.objects))

    # -- walking (gc) --------------------------------------------------------------------------
    def scan(self) -> Scan:
        """Everything under ``objects/`` and ``tmp/``, without following any link.

        Raises a :class:`StoreError` naming the first symbolic link met, before anything is
        done with the rest, so that ``gc`` removes nothing from a store it cannot trust.
        Files the store did not create (other names, other types, misplaced objects) are
        listed as ``foreign`` and left alone.
        """
        out = Scan()
        for sub, names in _list_tree(self.objects, depth=2):
            if sub is None or not _SUBDIR.fullmatch(sub):
                out.foreign.extend(names)
                continue
            for name, st in names:
                if stat.S_ISREG(st.st_mode) and _HEX.fullmatch(name) and name.startswith(sub):
                    out.objects[name] = st
                else:
                    out.foreign.append((name, st))
        for _, names in _list_tree(self.tmp, depth=1):
            for name, st in names:
                if stat.S_ISREG(st.st_mode) and _TMP_NAME.fullmatch(name):
                    out.tmp[name] = st
                else:
                    out.foreign.append((name, st))
        return out

    def remove_object(self, digest: str, seen: os.stat_result) -> bool:
        """Remove an unreferenced object found by ``scan``, if it is still that file and its
        bytes match its name (else it is not one the store wrote, and it stays)."""
        path = self.path(digest)
        with _dir_fd(self.objects) as top, _dir_fd(path.parent, top) as sub:
            removed = _unlink_if_same(sub, digest, seen, path, expect=digest)
        if removed:
            self._verified.pop(digest, None)
            self.stamps.drop(digest)
        return removed

    def remove_tmp(self, name: str, seen: os.stat_result) -> bool:
        with _dir_fd(self.tmp) as fd:
            return _unlink_if_same(fd, name, seen, self.tmp / name, expect=None)


@dataclass
class Scan:
    """What ``ObjectStore.scan`` found: objects and temporary files by name, and foreign files."""

    objects: dict[str, os.stat_result] = field(default_factory=dict)
    tmp: dict[str, os.stat_result] = field(default_factory=dict)
    foreign: list[tuple[str, os.stat_result]] = field(default_factory=list)


@contextmanager
def _dir_fd(path: Path, parent: int | None = None) -> Iterator[int]:
    """A descriptor of the directory ``path`` (relative to ``parent`` if given), never a link.

    Removing by ``unlinkat`` on this descriptor stays inside it even if the path is swapped
    for a link after it was opened.
    """
    try:
        fd = open_nofollow(path, _DIR_FLAGS, dir_fd=parent)
    except StoreError:
        raise
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise _not_regular(path, "directory") from None
        raise store_error(f"cannot open the store directory {path}", exc) from exc
    try:
        yield fd
    finally:
        os.close(fd)


def _list_tree(
    top: Path, depth: int
) -> Iterator[tuple[str | None, list[tuple[str, os.stat_result]]]]:
    """``(subdirectory or None, [(name, lstat)])`` for ``top`` (depth 1) or its subdirectories
    (depth 2: entries of ``top`` that are not directories come with None). Refuses links."""
    if not real_dir(top):
        return
    with _dir_fd(top) as fd:
        entries = _entries(fd, top)
        if depth == 1:
            yield None, entries
            return
        yield None, [(n, st) for n, st in entries if not stat.S_ISDIR(st.st_mode)]
        for name, st in entries:
            if stat.S_ISDIR(st.st_mode):
                if not _SUBDIR.fullmatch(name):
                    yield name, [(name, st)]  # a directory the store did not make: not entered
                    continue
                with _dir_fd(top / name, fd) as sub:
                    yield name, _entries(sub, top / name)


def _entries(fd: int, where: Path) -> list[tuple[str, os.stat_result]]:
    out = []
    with io_step(f"cannot list the store directory {where}"), os.scandir(fd) as listing:
        for entry in listing:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise link_error(where / entry.name)
            out.append((entry.name, st))
    return out


def _unlink_if_same(
    dir_fd: int, name: str, seen: os.stat_result, path: Path, expect: str | None
) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return False  # removed meanwhile (another gc)
    except OSError as exc:
        raise store_error(f"cannot open {path} to check it before removing it", exc) from exc
    try:
        st = os.fstat(fd)
        if (st.st_ino, st.st_dev) != (seen.st_ino, seen.st_dev) or not stat.S_ISREG(st.st_mode):
            return False
        if expect is not None and _hash_fd(fd) != expect:
            return False  # named like an object, but not one: the store did not write it
    finally:
        os.close(fd)
    with io_step(f"could not remove {path}"):
        os.unlink(name, dir_fd=dir_fd)
    return True


def _hash_fd(fd: int) -> str:
    h = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, _CHUNK):
        h.update(chunk)
    return h.hexdigest()


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
            raise store_error(
                f"could not flush the store {root} to disk", OSError(err, os.strerror(err))
            )
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
