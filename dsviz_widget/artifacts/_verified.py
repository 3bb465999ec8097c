"""Which stored objects were hashed, and the file state they had then: so that reading a big
table does not hash its whole file again while nothing has touched the file.

A stamp is ``(device, inode, size, mtime_ns, ctime_ns)`` of an object, recorded in
``<root>/verified/ab/<digest>`` right after its bytes were checked against its digest (by the
writer, which hashed what it wrote, or by a reader that hashed the file). A reader trusts an
object whose current ``fstat`` gives the same stamp; any other state is hashed again.

Why ctime: writing to a file, ``chmod`` (needed to write a read-only object), ``truncate``,
``utime`` (restoring mtime after an edit) and replacing the file all set the inode's change time
to "now", and no system call sets it back. Edits through the filesystem therefore always change
the stamp. What a stamp cannot see is listed in RELIABILITY.md: bit rot under the filesystem
(the disk returning other bytes for an unchanged inode), a write within the same clock tick as
the stamp of a file the store has just created, and someone who edits the disk or the clock
(or writes a forged stamp) on purpose. ``dv.verify()`` never uses stamps: it hashes every file.

A stamp that cannot be read (absent, malformed, a link, not a file) only costs a re-hash.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

Stamp = tuple[int, int, int, int, int]

_VERSION = "v1"
#: How old a file's ctime must be for a reader to record a stamp of it: Linux sets ctime from a
#: coarse clock (one tick: 1-10 ms), so an edit in the same tick as the file's last change would
#: leave the stamp equal. The writer records its fresh objects anyway (see module docstring).
_SETTLED_NS = 200_000_000


def stamp_of(st: os.stat_result) -> Stamp:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def settled(st: os.stat_result) -> bool:
    """True if the file has not changed within the last clock tick or so (see ``_SETTLED_NS``)."""
    return time.time_ns() - st.st_ctime_ns > _SETTLED_NS


class Stamps:
    """The ``verified/`` directory of a store root."""

    def __init__(self, root: Path, new_tmp: Callable[[], Path]) -> None:
        self.dir = root / "verified"
        #: A fresh temporary path under the store's ``tmp/`` (which ``gc`` sweeps after a crash).
        self.new_tmp = new_tmp

    @contextmanager
    def _subdir(self, digest: str, create: bool) -> Iterator[int]:
        """A descriptor of ``verified/<digest[:2]>``, each level opened without following a
        link: a stamp is never read, written or removed outside the store."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
        if create:
            with suppress(FileExistsError):
                os.mkdir(self.dir)
        top = os.open(self.dir, flags)
        try:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(digest[:2], dir_fd=top)
            sub = os.open(digest[:2], flags, dir_fd=top)
        finally:
            os.close(top)
        try:
            yield sub
        finally:
            os.close(sub)

    def get(self, digest: str) -> Stamp | None:
        """The recorded stamp of ``digest``, or None (also for anything unreadable)."""
        try:
            with self._subdir(digest, create=False) as sub:
                fd = os.open(digest, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=sub)
                try:
                    if not stat.S_ISREG(os.fstat(fd).st_mode):
                        return None
                    text = os.read(fd, 256).decode("ascii", "replace").split()
                finally:
                    os.close(fd)
        except OSError:
            return None
        if len(text) != 6 or text[0] != _VERSION or not all(t.isdigit() for t in text[1:]):
            return None
        dev, ino, size, mtime, ctime = (int(t) for t in text[1:])
        return (dev, ino, size, mtime, ctime)

    def put(self, digest: str, stamp: Stamp) -> None:
        """Record a stamp (atomically: a crash leaves the old one or the new one). Best effort:
        a store on a read-only disk still reads, paying a hash per process."""
        line = " ".join([_VERSION, *(str(v) for v in stamp)]) + "\n"
        try:
            tmp = self.new_tmp()  # refuses a linked tmp/
        except OSError:  # StoreError included
            return
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                os.write(fd, line.encode("ascii"))
            finally:
                os.close(fd)
            with self._subdir(digest, create=True) as sub:
                os.replace(tmp, digest, dst_dir_fd=sub)
        except OSError:
            with suppress(OSError):
                tmp.unlink()

    def drop(self, digest: str) -> None:
        with suppress(OSError), self._subdir(digest, create=False) as sub:
            os.unlink(digest, dir_fd=sub)
