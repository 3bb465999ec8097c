"""Downloading one big object as several ranged GETs at once, hashed in order.

pyarrow's S3 file reads what it is asked for with one ranged GET per call, so a loop of 1 MiB
reads is one round trip after another (~45 MB/s on loopback for a 330 MB table). Here
:data:`IN_FLIGHT` ranges of :data:`RANGE` bytes are fetched at a time by a pool of the
process; each is written at its offset into the caller's temporary file as it arrives, and the
caller's hash is fed from that file strictly in order, range after range, so the whole-file
SHA-256 is the same one a single stream would compute. Nothing is trusted before it matches:
the file is the caller's temporary file until then, removed on any failure.

Memory stays bounded whatever the object's size and however many objects are fetched at once:
a range's bytes live only in the pool thread that fetched them until written (at most
``WORKERS`` ranges for the whole process), and hashing reads the file back from the page cache.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

#: Bytes per ranged GET.
RANGE = 8 << 20
#: Ranges of one object requested at a time.
IN_FLIGHT = 8
#: Threads fetching ranges, for the whole process.
WORKERS = 8


class ProcessPool:
    """A pool of threads for the whole process, made on first use, and made anew in a forked
    child: the parent's threads do not exist there, and a pool that believes it has them
    (its idle count says so) would never run what it is given."""

    def __init__(self, workers: int, prefix: str) -> None:
        self.workers = workers
        self.prefix = prefix
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool = None
        self._lock = threading.Lock()

    @property
    def made(self) -> bool:
        return self._pool is not None

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.prefix)
            return self._pool


#: The threads fetching ranges.
POOL = ProcessPool(WORKERS, "dsviz-range")


def _fetch_range(source: Any, fd: int, offset: int, length: int) -> int:
    data = source.read_at(length, offset)
    view = memoryview(data)
    written = 0
    while written < len(view):
        written += os.pwrite(fd, view[written:], offset + written)
    return len(data)


def download(source: Any, size: int, fd: int, h: Any, start: int = 0) -> int:
    """Copy bytes ``start`` to ``size`` of the random-access ``source`` (``read_at(n,
    offset)``, safe to call from several threads) into the file open for writing and reading
    at ``fd``, at the same offsets, feeding ``h`` in order (it holds the bytes before
    ``start`` already); returns the bytes received (fewer than ``size - start`` if the object
    is shorter).

    The first failure is raised once every range already requested has finished, so
    ``source`` is not closed under a read and the caller can remove the file.
    """
    pending: deque[tuple[int, int, Future[int]]] = deque()
    offsets = iter(range(start, size, RANGE))
    pool = POOL.get()

    def request() -> None:
        offset = next(offsets, None)
        if offset is not None:
            length = min(RANGE, size - offset)
            pending.append((offset, length, pool.submit(_fetch_range, source, fd, offset, length)))

    received = 0
    try:
        for _ in range(IN_FLIGHT):
            request()
        while pending:
            offset, length, future = pending.popleft()
            got = future.result()
            received += got
            _hash_from(fd, offset, got, h)
            if got < length:
                break  # a short object: its hash will not match
            request()
    finally:
        for *_, future in pending:
            future.cancel()
        wait([future for *_, future in pending])
    return received


def _hash_from(fd: int, offset: int, length: int, h: Any) -> None:
    end = offset + length
    while offset < end:
        chunk = os.pread(fd, min(1 << 20, end - offset), offset)
        if not chunk:
            raise OSError(f"the temporary file ended at byte {offset} of {end}")
        h.update(chunk)
        offset += len(chunk)
