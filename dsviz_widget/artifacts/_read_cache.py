"""The read cache of a remote store: whole objects, bounded, least recently read out first."""

from __future__ import annotations

import atexit
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import suppress
from pathlib import Path

from dsviz_widget._errors import ValidationError

_HEX = re.compile(r"[0-9a-f]{64}")
_TMP = re.compile(r"([0-9]+)-[0-9a-f]{32}\.part")


class ReadCache:
    """Whole objects fetched from a remote store, at most ``bound`` bytes, least recently read
    removed first. Files are ``<root>/objects/ab/<digest>``; the recency survives the process
    in each file's mtime (touched on every hit), so the next session evicts in the same order.

    Several processes may share it: each keeps its own index and tolerates files another one
    removed (a miss, fetched again).
    """

    def __init__(self, root: Path, bound: int) -> None:
        if bound < 0:
            raise ValidationError("cache_bytes must be >= 0")
        self.root = root
        self.bound = bound
        self._lock = threading.Lock()
        self._index: OrderedDict[str, int] | None = None
        self._last_ns = 0
        self._sweep_dead()
        with _exit_lock:
            if root not in _swept_at_exit:
                _swept_at_exit.add(root)
                atexit.register(_sweep_own, root)

    def _sweep_dead(self) -> None:
        """Remove the partial downloads of processes that are gone (one killed, or one that
        exited while a table's whole file was downloading in the background): a fetch's
        temporary file is ``<pid>-<uuid>.part``, and only a live process finishes it."""
        with suppress(OSError):
            for entry in os.scandir(self.root / "tmp"):
                match = _TMP.fullmatch(entry.name)
                if (
                    match
                    and not _alive(int(match.group(1)))
                    and entry.is_file(follow_symlinks=False)
                ):
                    with suppress(OSError):
                        os.unlink(entry.path)

    def _touch(self, path: Path) -> None:
        """Mark ``path`` most recently used. Explicit, strictly increasing times: the kernel's
        own timestamps are coarse (a few ms), and two reads in one tick would tie."""
        self._last_ns = max(time.time_ns(), self._last_ns + 1)
        os.utime(path, ns=(self._last_ns, self._last_ns))

    def path(self, digest: str) -> Path:
        return self.root / "objects" / digest[:2] / digest

    @property
    def used(self) -> int:
        with self._lock:
            return sum(self._load().values())

    def _load(self) -> OrderedDict[str, int]:
        if self._index is None:
            found = []
            objects = self.root / "objects"
            if objects.is_dir():
                for sub in objects.iterdir():
                    for entry in sub.iterdir() if sub.is_dir() else ():
                        if _HEX.fullmatch(entry.name):
                            with suppress(FileNotFoundError):
                                st = entry.stat()
                                found.append((st.st_mtime_ns, entry.name, st.st_size))
            found.sort()
            self._index = OrderedDict((name, size) for _, name, size in found)
            if found:
                self._last_ns = max(self._last_ns, found[-1][0])
        return self._index

    def get(self, digest: str) -> Path | None:
        """The cached copy (now the most recently used), or None."""
        path = self.path(digest)
        with self._lock:
            index = self._load()
            if digest not in index:
                return None
            try:
                self._touch(path)
            except FileNotFoundError:
                del index[digest]  # another process evicted it
                return None
            index.move_to_end(digest)
        return path

    def new_tmp(self) -> Path:
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / f"{os.getpid()}-{uuid.uuid4().hex}.part"

    def add(self, digest: str, tmp: Path) -> Path | None:
        """Keep the fetched (checked) file ``tmp`` as ``digest``'s copy, evicting the least
        recently used; None if it is larger than the whole cache (then ``tmp`` stays)."""
        size = tmp.stat().st_size
        if size > self.bound:
            return None
        path = self.path(digest)
        with self._lock:
            index = self._load()
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, path)  # same bytes if another process cached it meanwhile
            self._touch(path)
            index[digest] = size
            index.move_to_end(digest)
            self._evict(index)
        return path

    def resize(self, bound: int) -> None:
        """Bound the cache to ``bound`` bytes from now on, evicting the least recently read
        objects beyond it at once."""
        if bound < 0:
            raise ValidationError("cache_bytes must be >= 0")
        with self._lock:
            self.bound = bound
            self._evict(self._load())

    def _evict(self, index: OrderedDict[str, int]) -> None:
        """Remove the least recently read objects until the cache fits (under the lock).
        An object pinned for the engine keeps its bytes: only the cache's name goes."""
        total = sum(index.values())
        while total > self.bound:
            old, old_size = next(iter(index.items()))
            del index[old]
            total -= old_size
            with suppress(FileNotFoundError):
                self.path(old).unlink()

    def discard(self, digest: str) -> None:
        with self._lock:
            self._load().pop(digest, None)
            with suppress(FileNotFoundError):
                self.path(digest).unlink()

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            return isinstance(digest, str) and digest in self._load()


_swept_at_exit: set[Path] = set()
_exit_lock = threading.Lock()


def _sweep_own(root: Path) -> None:
    """At exit: this process's partial downloads (a table's whole file still downloading in
    a background thread, which stops with the process) go with it."""
    with suppress(OSError):
        for entry in os.scandir(root / "tmp"):
            match = _TMP.fullmatch(entry.name)
            if match and int(match.group(1)) == os.getpid():
                with suppress(OSError):
                    os.unlink(entry.path)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process (or not a pid: left alone)
    return True
