"""Disk budgets for the engine's temp files: row stores and view orders.

One least-recently-used rule for both (``_background`` owns the files): an entry takes the
bytes it expects before it writes them (:meth:`DiskBudget.reserve`); when the budget is
full, the least recently used entries nobody is reading are evicted (marked cancelled and
their files removed), and an entry that still does not fit gets a :class:`StoreTooBig`
instead of its file, so its reader falls back to a slower path that needs no file.

Each budget is an environment variable (``"20GB"``, ``"500MB"`` or a number of bytes; ``0``
turns the files off), else a share of the temp dir's free disk when first asked, capped.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol


class Kept(Protocol):
    """A file kept within a budget (a ``RowStore`` or an ``OrderJob``)."""

    size: int  # bytes it takes (or may take, while written)
    reading: int  # reads in progress: never evicted while > 0
    cancelled: bool
    error: BaseException | None

    def evicted(self) -> None:
        """Remove the file (now, or when the job writing it stops); called without the lock."""
        ...


class StoreTooBig(RuntimeError):
    """A row store or view order did not fit its disk budget ``limit``, or outgrew the disk
    it was given (its file is removed; its reader takes the path that needs none)."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(f"{message} (budget {limit} bytes)")
        self.limit = limit


def parse_bytes(text: str, what: str) -> int:
    """``"4GB"``, ``"512MB"``, ``"1.5GiB"`` or ``"1000000"`` as bytes (1 KB = 1000 bytes)."""
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
    units |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    t = text.strip().lower()
    num = t.rstrip("kmgtib ")
    unit = t[len(num) :].strip()
    try:
        value = float(num)
    except ValueError:
        value = -1.0
    if unit not in units or not value >= 0:
        raise ValueError(f"{what} must be a size such as '20GB' or '500MB', got {text!r}")
    return int(value * units[unit])


class DiskBudget:
    """Entries on disk, least recently used first, within ``limit()`` bytes together.

    Parameters
    ----------
    env:
        The environment variable holding the budget.
    share, cap:
        Without it: ``share`` of the free disk of ``where()`` when first asked, at most ``cap``.
    max_items:
        At most this many entries (``None``: any number).
    """

    def __init__(
        self,
        env: str,
        share: float,
        cap: int,
        where: Callable[[], str],
        max_items: int | None = None,
    ) -> None:
        self.env = env
        self.share = share
        self.cap = cap
        self.where = where
        self.max_items = max_items
        self.items: OrderedDict[Hashable, Kept] = OrderedDict()
        self.lock = threading.Lock()
        self._default: int | None = None

    def limit(self) -> int:
        """The budget in bytes: ``$env``, else the default decided on first use."""
        raw = os.environ.get(self.env)
        if raw:
            return parse_bytes(raw, self.env)
        if self._default is None:
            free = shutil.disk_usage(self.where()).free
            self._default = int(min(free * self.share, self.cap))
        return self._default

    def used(self) -> int:
        """Bytes the entries take (or were given) now."""
        with self.lock:
            return sum(e.size for e in self.items.values() if e.error is None)

    def touch(self, entry: Kept) -> None:
        """``entry`` was just used: evicted last. Call with :attr:`lock` held."""
        for key, e in self.items.items():
            if e is entry:
                self.items.move_to_end(key)
                return

    def forget(self, entry: Kept) -> None:
        """``entry`` left the budget (its owner removed its file)."""
        with self.lock:
            for key, e in list(self.items.items()):
                if e is entry:
                    del self.items[key]

    def reserve(self, key: Hashable, entry: Kept, size: int, what: str) -> None:
        """Give ``entry`` (kept under ``key``) ``size`` bytes, evicting the least recently
        used entries nobody is reading; :class:`StoreTooBig` naming ``what`` if it cannot fit."""
        limit = self.limit()
        evict: list[Kept] = []
        with self.lock:
            self.items[key] = entry
            others = [(k, e) for k, e in self.items.items() if e is not entry]
            used = sum(e.size for _, e in others if e.error is None)
            count = len(others)
            most = self.max_items if self.max_items is not None else count + 1
            for old_key, old in others:  # least recently used first
                if used + size <= limit and count < most:
                    break
                if old.reading:
                    continue
                del self.items[old_key]
                old.cancelled = True  # under the lock: no read starts on it after this
                used -= old.size if old.error is None else 0
                count -= 1
                evict.append(old)
            fits = used + size <= limit and count < most
            if fits:
                entry.size = size
        for old in evict:
            old.evicted()
        if not fits:
            raise StoreTooBig(f"{what} of {size} bytes does not fit the budget", limit)
