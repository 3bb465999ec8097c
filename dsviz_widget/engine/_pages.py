"""The last pages a view answered, kept so that asking again is a dictionary look-up.

``table.query(sort=..., offset=1_000_000)`` called again in a notebook cell, a script's loop
or a widget redrawing the same rows asks the same view for the same page. The view is found
again (``Engine.view``, keyed by the source's files and the query), but the page's rows were
still read again: by id from Parquet (~150 ms at 10M rows) until the source's row store is
written, a few ms after. A view's rows never change (a changed file is another source, so
another view), so the page read once is the page: an Arrow table is immutable and safe to
hand out twice.

Bounded per view by pages and by bytes (a page of 50 rows is a few KB; a page of 100k wide
rows is not kept at all), so the engine's views (16 in the shared engine) keep at most a few
MB of pages together.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import pyarrow as pa

#: Pages a view keeps (most recently asked last).
MAX_PAGES = 8
#: Bytes of pages a view keeps together; a bigger page is answered but not kept.
MAX_BYTES = 1 << 20


class RecentPages:
    """``(offset, limit) -> page`` for one view, least recently used out first.

    Examples
    --------
    >>> import pyarrow as pa
    >>> pages = RecentPages()
    >>> pages.put(0, 2, pa.table({"x": [1, 2]}))
    >>> pages.get(0, 2).num_rows, pages.get(2, 2), pages.hits
    (2, None, 1)
    """

    def __init__(self, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES) -> None:
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.hits = 0  # pages answered from here: what tests check instead of timing
        self._pages: OrderedDict[tuple[int, int], pa.Table] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # two threads may page one view

    def get(self, offset: int, limit: int) -> pa.Table | None:
        with self._lock:
            page = self._pages.get((offset, limit))
            if page is not None:
                self._pages.move_to_end((offset, limit))
                self.hits += 1
            return page

    def put(self, offset: int, limit: int, page: pa.Table) -> None:
        size = page.get_total_buffer_size()  # a slice holds its parent's buffers
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._pages.pop((offset, limit), None)
            if old is not None:
                self._bytes -= old.get_total_buffer_size()
            self._pages[(offset, limit)] = page
            self._bytes += size
            while len(self._pages) > self.max_pages or self._bytes > self.max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= dropped.get_total_buffer_size()

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0
