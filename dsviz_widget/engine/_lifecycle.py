"""Work nobody wants any more stops, and views nobody holds any more go.

The engine is shared by every widget of the kernel and by ``table.query``, on one DuckDB
connection, so both rules are about *whose* work and *whose* views:

- **Work** (:class:`Work`): one widget request. Its thread runs it inside
  :func:`doing`; every statement it runs on the engine's connection does so inside
  :meth:`Work.on`, which records the connection while the engine's lock is held.
  :meth:`Work.cancel` interrupts that connection only while the work is recorded on it, under
  the work's own lock, which ``on`` also takes before the engine's lock is let go: so the
  interrupt can only reach a statement of this work. Another widget's query, or Python's,
  runs only once this work has let go of the connection, and is never interrupted. (DuckDB's
  ``interrupt()`` stops whatever runs on a connection; called when nothing runs, it does
  nothing to the next statement.) Code outside :func:`doing` (``table.query``, the widget's
  Python API) is never cancelled.
- **Holders** (:class:`ViewHolder`): the views one widget asked for. When the widget looks
  at another view, the background orders of its other views stop unless someone else holds
  them or Python asked for them (:meth:`Engine.focus`); when the widget closes, its views
  leave the cache with their order files, on the same condition (:meth:`Engine.release`).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import duckdb

from dsviz_widget.engine._errors import QueryError

SUPERSEDED = "superseded by a newer request"
# How often a wait that cannot be interrupted (see ``wait``) looks whether it was cancelled.
CANCEL_POLL_S = 0.02


class Superseded(QueryError):
    """The request was cancelled (a newer one made it stale): nobody waits for its answer."""

    def __init__(self) -> None:
        super().__init__(SUPERSEDED)


class Work:
    """One cancellable request (see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cons: list[duckdb.DuckDBPyConnection] = []  # innermost last (``on`` nests)
        self._left = threading.Event()  # set whenever the work holds no connection
        self._left.set()
        #: Set once the work first holds the engine's connection.
        self.connected = threading.Event()
        self.cancelled = False

    def cancel(self) -> None:
        """Stop this work: its running statement is interrupted, later ones do not start."""
        with self._lock:
            self.cancelled = True
            if not self._interrupt():
                return
        threading.Thread(target=self._keep_interrupting, name="dsviz-cancel", daemon=True).start()

    def _interrupt(self) -> bool:
        """Interrupt the statement running for this work (lock held); False: none can be."""
        if not self._cons:
            return False
        with contextlib.suppress(duckdb.Error):
            self._cons[-1].interrupt()
        return True

    def _keep_interrupting(self) -> None:
        # An interrupt landing just before a statement starts is lost (DuckDB forgets it when
        # the next statement begins), so it is repeated until the work lets go of the
        # connection; never after (the lock is held around each interrupt, see ``on``).
        while not self._left.wait(0.005):
            with self._lock:
                if not self._interrupt():
                    return

    def check(self) -> None:
        """Raise :class:`Superseded` if the work was cancelled (between two steps)."""
        if self.cancelled:
            raise Superseded()

    @contextlib.contextmanager
    def on(self, con: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """The body runs this work's statements on ``con``; the caller holds the engine's
        lock for the whole block (see the module doc for why that makes cancel safe)."""
        with self._lock:
            if self.cancelled:
                raise Superseded()
            self._cons.append(con)
            self._left.clear()
        self.connected.set()
        try:
            yield
        except Exception as exc:
            if self.cancelled and not isinstance(exc, Superseded):
                # Interrupted (DuckDB's error, or a QueryError made of it): say why.
                raise Superseded() from exc
            raise
        finally:
            with self._lock:
                self._cons.pop()
                if not self._cons:
                    self._left.set()
        if self.cancelled:
            raise Superseded()  # finished as it was cancelled: its answer is not wanted


_current: ContextVar[Work | None] = ContextVar("dsviz_work", default=None)


def current_work() -> Work | None:
    """The work the calling thread does now, or None (Python's own calls)."""
    return _current.get()


@contextlib.contextmanager
def doing(work: Work) -> Iterator[Work]:
    """Run the body as ``work``: the engine's statements in it can be cancelled with it."""
    token = _current.set(work)
    try:
        yield work
    finally:
        _current.reset(token)


def wait(done: threading.Event, timeout: float) -> bool:
    """``done.wait(timeout)``, given up with :class:`Superseded` as soon as the current work
    is cancelled (a deep page waiting for its view's order: no DuckDB statement of its own
    to interrupt meanwhile)."""
    work = current_work()
    if work is None:
        return done.wait(timeout)
    deadline = time.monotonic() + timeout
    while not done.wait(min(CANCEL_POLL_S, max(deadline - time.monotonic(), 0.0))):
        work.check()
        if time.monotonic() >= deadline:
            return False
    return True


@contextlib.contextmanager
def working_on(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The engine's connection block: recorded for the current work, if any."""
    work = current_work()
    if work is None:
        yield
        return
    with work.on(con):
        yield


class ViewHolder:
    """The views one widget asked for (by engine cache key), released when it closes."""

    def __init__(self) -> None:
        self.keys: set[tuple[Any, ...]] = set()  # (source key, query key)
