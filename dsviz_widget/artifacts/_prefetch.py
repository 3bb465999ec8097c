"""Reading many objects of a remote store at once, and only those asked for.

A store in a bucket answers each GET after a round trip; fetched one after the other, a page
of thumbnails or a download of a thousand images waits for a thousand round trips. The
callers here hand a bounded pool of threads the objects they were asked for (the digests of
a page of thumbnails, the images of a column, the entries of a download) and each object
still goes through the store's read-through cache, hashed on the way as a single read would
be (:meth:`~dsviz_widget.artifacts._s3.S3ObjectStore.local_copy`).

- **Bounded**: at most :data:`WORKERS` objects are fetched at a time, by one pool for the
  whole process, so two widgets asking at once share it rather than doubling the connections.
- **Nothing unasked**: no read-ahead; what is fetched is exactly what the caller names.
- **Within the cache**: a prefetch stops handing out work once what it fetched reaches half
  the cache's bound, so it never evicts its own first objects (the rest are then read one by
  one when asked for, as before).
- **Errors**: :func:`run_all` cancels what has not started at the first failure and raises
  the failure of the earliest item, so the error names the same entry a sequential loop
  would have stopped at.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from dsviz_widget.artifacts._ranged import ProcessPool
from dsviz_widget.artifacts._remote import RemoteObjects

#: Objects fetched at the same time (S3 serves many GETs in parallel; 16 keeps a page of
#: thumbnails to about two round trips without opening a connection per image).
WORKERS = 16

T = TypeVar("T")
R = TypeVar("R")

_PREFIX = "dsviz-fetch"
#: The process's fetching threads.
POOL = ProcessPool(WORKERS, _PREFIX)


def pool() -> ThreadPoolExecutor:
    """The process's pool of fetching threads (made on first use)."""
    return POOL.get()


def run_all(call: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[call(item) for item in items]``, at most :data:`WORKERS` at a time, in order.

    At the first failure the items not yet started are dropped and the failure of the
    earliest failed item is raised (the one a sequential loop would have met first).
    """
    if len(items) <= 1 or _in_pool():
        # In one of the pool's own threads, waiting on the pool could wait on itself.
        return [call(item) for item in items]
    futures = [pool().submit(call, item) for item in items]
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    if any(f.exception() is not None for f in done):
        for f in futures:
            f.cancel()
        wait(futures)  # the ones running: their temporary files are cleaned up by them
        for f in futures:
            if not f.cancelled() and (exc := f.exception()) is not None:
                raise exc
    return [f.result() for f in futures]


def fetch_objects(objects: Any, wanted: Iterable[tuple[str, str]]) -> None:
    """Bring the objects ``(digest, what)`` of a remote store into its read cache, at
    most :data:`WORKERS` at a time; nothing for a local store (its reads are a file away).

    Errors are left to the read that follows (it fetches again and raises, naming its
    object): a prefetch is an optimisation and must not fail a call that may never read the
    damaged object. It stops at the first failure, and at half the cache's bound.
    """
    if not isinstance(objects, RemoteObjects):
        return
    remote = objects.remote
    cache = remote.cache
    todo: list[tuple[str, str]] = []
    seen: set[str] = set()
    for digest, what in wanted:
        if digest not in seen and digest not in cache:
            seen.add(digest)
            todo.append((digest, what))
    if len(todo) <= 1 or _in_pool():
        return  # one object (or no pool to spare): the read itself fetches it
    progress = _Progress(cache.bound // 2)

    def fetch(item: tuple[str, str]) -> None:
        if progress.stopped():
            return
        digest, what = item
        try:
            with remote.local_copy(digest, what) as path:
                size = path.stat().st_size
        except Exception:
            progress.stop()
            return
        progress.add(size)

    futures: list[Future[None]] = [pool().submit(fetch, item) for item in todo]
    wait(futures)


class _Progress:
    """Bytes a prefetch has fetched, and whether it should hand out more work."""

    def __init__(self, budget: int) -> None:
        self._lock = threading.Lock()
        self._budget = budget
        self._bytes = 0
        self._stop = False

    def stopped(self) -> bool:
        with self._lock:
            return self._stop

    def stop(self) -> None:
        with self._lock:
            self._stop = True

    def add(self, size: int) -> None:
        with self._lock:
            self._bytes += size
            self._stop = self._stop or self._bytes >= self._budget


def _in_pool() -> bool:
    return threading.current_thread().name.startswith(_PREFIX)
