"""One object-store interface for both backends, and the S3 store seen through it.

:class:`Objects` is what the store, the serialiser and downloads ask of a content-addressed
object area: the local :class:`~dsviz_widget.artifacts._objects.ObjectStore` has it as it is,
and :class:`RemoteObjects` gives it to an :class:`~dsviz_widget.artifacts._s3.S3ObjectStore`.

What differs on S3, and why:

- **Temporary files** (a table's Parquet written in streaming batches, its media index) are
  made in the store's local working directory, then uploaded with a conditional put; the
  finished file then becomes the read cache's copy of the object (its bytes were just hashed),
  so reading a table one has just logged needs no download.
- **No mtime refresh in** ``claim``. Locally a reused object's mtime is refreshed so gc's
  grace period covers it too; S3 has no cheap "touch". It is not needed: every save holds the
  catalog's save lock shared from its first object to its publication, and gc holds it
  exclusive, so gc never runs between a save's ``claim`` and its version row.
- **Durability**: a PUT that returned is stored, so ``sync`` has nothing to flush.
- **Paths for the engine**: ``pin`` gives a *pinned* hard link of the checked cache copy,
  private to this process (``<workdir>/pinned/<pid>/<digest>``). The read cache evicts by
  unlinking its own name, which does not pull the bytes from under DuckDB. A pin is counted:
  each :class:`Pin` handle is one reader (a table read from the store keeps its handles for as
  long as its rows can be read), and the link is removed when the last handle is released or
  garbage-collected, so a long session that opens many versions keeps on disk only what is
  still open. ``verified_path`` (a plain file handed to the user as a path, which has no
  owner to watch) pins for the rest of the process: whether anything still holds a path
  cannot be known (a Path subclass with a finalizer would be collected while a ``str()`` of
  it, an open file or a subprocess's argument still names the link), and unlinking early
  would break such a reader, while keeping it costs only the files the user asked for by name. All of a process's pins go at exit, and
  the next process to open the store removes those of one that died.
- **verify** hashes the server's bytes, not the cached copy's.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import threading
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Protocol

from dsviz_widget._errors import MissingObjectError, store_error
from dsviz_widget.artifacts._objects import io_step, unlink_quietly
from dsviz_widget.artifacts._s3 import RemoteObject, S3ObjectStore, Upload

_CHUNK = 1 << 20
_TMP_NAME = re.compile(r"[0-9]+-[0-9a-f]{32}\.part")


class Objects(Protocol):
    """What the store asks of its object area (local directory or bucket)."""

    #: A local directory holding only this store's object files, where the paths of
    #: :func:`pin` lie: the query engine may let DuckDB read anything under it
    #: (``Source.root``), so one DuckDB database serves every table of the store.
    engine_root: Path

    def has(self, digest: str) -> bool: ...

    def claim(self, digest: str) -> int | None:
        """The stored object's size (kept for the save about to refer to it), None if absent."""

    def put_bytes(self, data: bytes, digest: str | None = None) -> str: ...

    def put_file(self, src: Path) -> tuple[str, int]: ...

    def new_tmp(self) -> Path:
        """A fresh local temporary path for a file that :meth:`adopt` will store."""

    def adopt(self, tmp: Path) -> tuple[str, int]:
        """Store the finished temporary file ``tmp`` (removed afterwards); (digest, size)."""

    def sync(self) -> None:
        """Make every object written so far durable, before a version refers to them."""

    def read(self, digest: str, what: str) -> bytes: ...

    def copy_out(self, digest: str, dst: int, what: str) -> int: ...

    def matches(self, fd: int, digest: str) -> bool: ...

    def verified_path(self, digest: str, what: str) -> Path:
        """A local path of the object's checked bytes, valid while the process runs."""

    def check(self, digest: str, what: str) -> None:
        """Hash the stored bytes (``dv.verify()``): IntegrityError naming ``what`` if bad."""

    def iter_digests(self) -> Iterator[str]: ...


class Pin:
    """One reader's hold on a local path of a stored object (:func:`pin`).

    ``release()`` (or the handle's garbage collection) ends the hold; for a remote store the
    pinned link goes when the last hold on it does. Locally an object's file needs no pin:
    its handle holds nothing.
    """

    __slots__ = ("__weakref__", "_finalizer", "path")

    def __init__(self, path: Path, release: Callable[[], None] | None = None) -> None:
        self.path = path
        self._finalizer = None if release is None else weakref.finalize(self, release)

    def release(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs once, whichever comes first: this or the collection

    def __repr__(self) -> str:
        return f"Pin({str(self.path)!r})"


class RemoteObjects:
    """The objects of an ``s3://`` store, with a local working directory ``workdir``.

    Examples
    --------
    >>> objects = RemoteObjects(S3ObjectStore("s3://team/ds"), Path("/tmp/w"))  # doctest: +SKIP
    >>> objects.read(objects.put_bytes(b"x"), "a note")  # doctest: +SKIP
    b'x'
    """

    def __init__(self, remote: S3ObjectStore, workdir: Path) -> None:
        self.remote = remote
        self.workdir = workdir
        self.tmp = workdir / "tmp"
        self._pins = workdir / "pinned"
        self._own_pins = self._pins / str(os.getpid())
        self.engine_root = self._own_pins
        # Holds per pinned digest; None: pinned for the rest of the process (verified_path).
        self._holds: dict[str, int | None] = {}
        self._pin_lock = threading.Lock()
        # Releases not yet applied (see _release).
        self._released: deque[str] = deque()
        _remove_dead_pins(self._pins)
        atexit.register(shutil.rmtree, self._own_pins, ignore_errors=True)

    def __repr__(self) -> str:
        return f"RemoteObjects({self.remote.url!r})"

    def set_cache_size(self, size: int) -> None:
        """Bound this machine's read cache of the store to ``size`` bytes (evicting now)."""
        self.remote.cache.resize(size)

    @property
    def url(self) -> str:
        return self.remote.url

    # -- writing -----------------------------------------------------------------------------
    def has(self, digest: str) -> bool:
        return self.remote.has(digest)

    def claim(self, digest: str) -> int | None:
        # No refresh (see the module's notes): the save lock keeps gc out until publication.
        return self.remote.size(digest)

    def put_bytes(self, data: bytes, digest: str | None = None) -> str:
        return self.remote.put_bytes(data, digest)

    def put_file(self, src: Path) -> tuple[str, int]:
        return self.remote.put_file(src)

    def new_tmp(self) -> Path:
        with io_step(f"could not create the store's temporary directory {self.tmp}"):
            self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / f"{os.getpid()}-{uuid.uuid4().hex}.part"

    def adopt(self, tmp: Path) -> tuple[str, int]:
        try:
            digest, size = self.remote.put_file(tmp)
            # The bytes were hashed on the way up: they are the object's, keep them as its
            # cached copy (same filesystem: the working directory is inside the cache's).
            with suppress(OSError):
                if digest not in self.remote.cache:
                    self.remote.cache.add(digest, tmp)
        finally:
            unlink_quietly(tmp)
        return digest, size

    def sync(self) -> None:
        """Nothing to flush: S3 answers a PUT only once the object is stored."""

    # -- reading -----------------------------------------------------------------------------
    def read(self, digest: str, what: str) -> bytes:
        return self.remote.read(digest, what)

    def copy_out(self, digest: str, dst: int, what: str) -> int:
        return self.remote.copy_out(digest, dst, what)

    def matches(self, fd: int, digest: str) -> bool:
        h = hashlib.sha256()
        os.lseek(fd, 0, os.SEEK_SET)
        while chunk := os.read(fd, _CHUNK):
            h.update(chunk)
        return h.hexdigest() == digest

    def verified_path(self, digest: str, what: str) -> Path:
        return self._hold(digest, what, forever=True)

    def pin_path(self, digest: str) -> Path:
        """Where :meth:`pin` puts the object's pinned link in this process (known before it
        is fetched: the engine is told which paths it may read before they exist)."""
        return self._own_pins / digest

    def is_local(self, digest: str) -> bool:
        """Whether the object is on this machine already (pinned here, or in the read cache):
        reading it costs no download."""
        with self._pins_locked():
            if digest in self._holds:
                return True
        return digest in self.remote.cache

    def pin(self, digest: str, what: str) -> Pin:
        path = self._hold(digest, what, forever=False)
        return Pin(path, partial(self._release, digest))

    @property
    def pinned(self) -> dict[str, int | None]:
        """Digest -> holds on its pinned link (None: for the rest of the process)."""
        with self._pins_locked():
            return dict(self._holds)

    def _hold(self, digest: str, what: str, forever: bool) -> Path:
        pin = self._own_pins / digest
        with self._pins_locked():
            if digest in self._holds:
                self._add_hold(digest, forever)
                return pin
        # Fetched (if need be) outside the lock: other objects' pins need not wait for it.
        with self.remote.local_copy(digest, what) as path, self._pins_locked():
            if digest not in self._holds:
                try:
                    self._own_pins.mkdir(parents=True, exist_ok=True)
                    tmp = self._own_pins / f".{uuid.uuid4().hex}"
                    os.link(path, tmp)
                    os.replace(tmp, pin)
                except OSError as exc:
                    where = pin.parent
                    raise store_error(f"{what}: cannot keep a local copy in {where}", exc) from exc
                self._holds[digest] = 0
            self._add_hold(digest, forever)
        return pin

    def _add_hold(self, digest: str, forever: bool) -> None:
        held = self._holds[digest]
        if held is not None:
            self._holds[digest] = None if forever else held + 1

    @contextmanager
    def _pins_locked(self) -> Iterator[None]:
        try:
            with self._pin_lock:
                yield
        finally:
            self._apply_releases()  # any that came in while the lock was held

    def _release(self, digest: str) -> None:
        # A handle's finalizer runs wherever the garbage collector does, which may be this
        # very thread inside ``_hold`` with the lock held: it must never wait for the lock.
        # It queues the release; whoever holds the lock applies it on letting go.
        self._released.append(digest)
        self._apply_releases()

    def _apply_releases(self) -> None:
        while self._released and self._pin_lock.acquire(blocking=False):
            try:
                while self._released:
                    digest = self._released.popleft()
                    held = self._holds.get(digest)
                    if held is None:
                        continue  # pinned for the process
                    if held > 1:
                        self._holds[digest] = held - 1
                        continue
                    del self._holds[digest]
                    # No reader of it is left; a later pin links it again.
                    unlink_quietly(self._own_pins / digest)
            finally:
                self._pin_lock.release()

    def check(self, digest: str, what: str) -> None:
        self.remote.check(digest, what)

    def iter_digests(self) -> Iterator[str]:
        return iter(sorted(self.remote.iter_digests()))

    # -- gc ------------------------------------------------------------------------------------
    def iter_objects(self) -> Iterator[RemoteObject]:
        return self.remote.iter_objects()

    def delete(self, digest: str) -> None:
        self.remote.delete(digest)

    def stale_probes(self, cutoff: float) -> Iterator[str]:
        """Probe keys written before ``cutoff`` (by the server's clock): an open's probe that
        never reached its cleanup (the process was killed, or the server went away)."""
        for key, written in self.remote.iter_probes():
            if written.timestamp() < cutoff:
                yield key

    def stale_uploads(self, cutoff: float) -> Iterator[Upload]:
        """Unfinished multipart uploads begun before ``cutoff`` (a writer killed or cut off
        mid-upload: its parts are stored, unseen, until aborted). Younger ones may be a
        writer's upload in progress and are left."""
        for upload in self.remote.iter_uploads():
            if upload.initiated.timestamp() < cutoff:
                yield upload

    def stale_tmp(self, cutoff: float) -> Iterator[tuple[Path, int]]:
        """This machine's temporary files older than ``cutoff`` (a killed save's), and their
        sizes; only names the store makes, never following a link."""
        if not self.tmp.is_dir() or self.tmp.is_symlink():
            return
        for entry in os.scandir(self.tmp):
            if not _TMP_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            if st.st_mtime < cutoff:
                yield Path(entry.path), st.st_size


class _Attempt:
    """One fetch of a table's whole files (see :class:`WholeDownload`)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.pins: list[Pin] | None = None
        self.error: BaseException | None = None
        #: Whether the error reached someone (a waiter, or a ``when_done`` callback): then
        #: the next caller that needs the files fetches again instead of getting it.
        self.handed = False
        self.callbacks: list[Callable[[BaseException | None], None]] = []


class WholeDownload:
    """The whole files of a table fetched in a daemon thread, while its head is shown.

    Started by :func:`start_download`; ``paths`` are where the pinned files will be.
    :meth:`wait` returns them (and the pins that keep them) once all are fetched and
    hashed, or raises the download's error (a :class:`RemoteStoreError` naming the step, an
    :class:`IntegrityError`): everyone waiting for one fetch gets its error; a caller after
    the error was handed out starts a new fetch (in the background) and waits for it.
    :meth:`when_done` tells a caller (the widget's request worker) when a fetch ends instead
    of blocking it. A forked child never waits for its parent's thread (it does not exist
    there): its first :meth:`wait` fetches anew. Nothing unverified is ever handed out: a
    pin is made only from a checked copy (``RemoteObjects.pin``).
    """

    def __init__(
        self, objects: RemoteObjects, wanted: list[tuple[str, str]], head: Pin, rows: int
    ) -> None:
        #: The head object's checked file (the table's first rows) and the table's row count.
        self.head = str(head.path)
        self.rows = rows
        self._head_pin = head
        self._objects = objects
        self._wanted = wanted
        self.paths = [str(objects.pin_path(d)) for d, _ in wanted]
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._attempt = self._start()

    def _start(self) -> _Attempt:
        attempt = _Attempt()
        thread = threading.Thread(
            target=self._background, args=(attempt,), name="dsviz-whole-table", daemon=True
        )
        thread.start()
        return attempt

    def _background(self, attempt: _Attempt) -> None:
        # Hashing the download yields the cores to what the user waits for (the head's
        # pages); on Linux a thread's nice value is its own (this thread's, not the caller's).
        with suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            attempt.pins = [self._objects.pin(digest, what) for digest, what in self._wanted]
        except BaseException as exc:  # handed to whoever waits, raised there
            attempt.error = exc
        with self._lock:
            attempt.done.set()
            callbacks, attempt.callbacks = attempt.callbacks, []
            if callbacks and attempt.error is not None:
                attempt.handed = True
        for callback in callbacks:  # outside the lock: a callback may ask this again
            with suppress(Exception):
                callback(attempt.error)

    @property
    def _error(self) -> BaseException | None:
        """The last fetch's error, while it runs no other (``start_download`` reuses a
        download only without one)."""
        attempt = self._attempt
        return attempt.error if attempt.done.is_set() else None

    def _after_fork(self) -> None:
        """In a forked child (before taking ``_lock``, which the parent's thread may have
        held at the fork): the parent's thread and lock are not ours; fetch here anew."""
        if self._pid != os.getpid():
            self._pid, self._lock = os.getpid(), threading.Lock()
            self.paths = [str(self._objects.pin_path(d)) for d, _ in self._wanted]
            self._attempt = _Attempt()
            self._attempt.done.set()
            self._attempt.handed = True

    def _current(self, again: bool) -> _Attempt:
        """The fetch a caller needing the files waits for (under ``_lock``): the running
        or finished one, or (``again``) a new one after a failure already handed out."""
        attempt = self._attempt
        if again and attempt.done.is_set() and attempt.pins is None and attempt.handed:
            attempt = self._attempt = self._start()
        return attempt

    def ready(self) -> bool:
        """Whether every file is here and checked (never waits)."""
        attempt = self._attempt
        return self._pid == os.getpid() and attempt.done.is_set() and attempt.pins is not None

    def fetching(self) -> bool:
        """Whether reading the files now would wait for a fetch (never waits): one runs, or
        the last one failed and its error was handed out, so one is started now (in the
        background). False when the files are here, or when a failure nobody was told of
        yet is waiting for its caller (:meth:`wait` raises it at once)."""
        self._after_fork()
        with self._lock:
            attempt = self._current(again=True)
            return not attempt.done.is_set()

    def when_done(self, callback: Callable[[BaseException | None], None]) -> None:
        """Call ``callback(error)`` once the running fetch ends (``None``: the files are
        here), in the download's thread; at once, in this one, if none runs."""
        self._after_fork()
        with self._lock:
            attempt = self._current(again=False)
            if not attempt.done.is_set():
                attempt.callbacks.append(callback)
                return
            error = attempt.error if attempt.pins is None else None
            if error is not None:
                attempt.handed = True
        callback(error)

    def wait(self) -> tuple[list[str], list[Pin]]:
        """The files' paths and their pins, fetching them first if still needed."""
        self._after_fork()
        with self._lock:
            attempt = self._current(again=True)
        attempt.done.wait()
        with self._lock:
            if attempt.pins is None:
                assert attempt.error is not None
                attempt.handed = True
                raise attempt.error  # the next call fetches again
            return self.paths, attempt.pins


def start_download(
    objects: Objects, wanted: list[tuple[str, str]], head: str, rows: int, what: str
) -> WholeDownload | None:
    """Fetch the head object ``head`` (checked: an :class:`IntegrityError` naming ``what``
    if it is damaged), then the objects ``wanted`` ((digest, what it is), in order) in the
    background; None when the store is local or they are all on this machine already (read
    them as usual: nothing to wait for; also when the head object is missing from the store).
    """
    if not isinstance(objects, RemoteObjects):
        return None
    if all(objects.is_local(digest) for digest, _ in wanted):
        return None
    key = tuple(digest for digest, _ in wanted)
    with _downloads_lock:
        running = _downloads.get(key)
        if running is not None and running._objects is objects and running._error is None:
            return running  # the same table opened again meanwhile: one download
    try:
        head_pin = objects.pin(head, what)
    except MissingObjectError:
        # Not damaged, just gone (e.g. removed by the gc of a dsviz that did not know heads):
        # the table itself is intact, so it is read the way a table without a head is.
        return None
    download = WholeDownload(objects, wanted, head_pin, rows)
    with _downloads_lock:
        _downloads[key] = download
    return download


#: Whole downloads still held by a table, by the digests they fetch.
_downloads: weakref.WeakValueDictionary[tuple[str, ...], WholeDownload] = (
    weakref.WeakValueDictionary()
)
_downloads_lock = threading.Lock()


def pin(objects: Objects, digest: str, what: str) -> Pin:
    """A local path of the object's checked bytes, valid until the returned handle is
    released or garbage-collected: keep it with whatever reads the path (a table read from
    the store keeps its files' handles). A local store's object file is its own path."""
    if isinstance(objects, RemoteObjects):
        return objects.pin(digest, what)
    return Pin(objects.verified_path(digest, what))


def _remove_dead_pins(pins: Path) -> None:
    """Pins of processes that are gone (killed before their exit hook ran)."""
    if not pins.is_dir():
        return
    for entry in pins.iterdir():
        if entry.name.isdigit() and not _alive(int(entry.name)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
