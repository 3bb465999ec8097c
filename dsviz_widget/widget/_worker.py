"""Answers requests on a worker thread, newest page first.

The kernel's main thread only queues a request, so it sees every message the browser sent
while a slow query runs. That lets a newer page request supersede queued older pages and
header summaries (they get an ``error`` reply saying so, which the browser has already
stopped waiting for), and lets pages go before thumbnails and summaries. A page of another
query (a new filter, sort or grouping) also cancels the page, count or summary of the old
one running then: its DuckDB statement is interrupted, and only its own (see
``engine._lifecycle``: other widgets and Python share the engine's connection).

A cold table from a remote store may still be downloading its file (its Source is
``waiting``, see ``_table_parquet.PendingSource``): then a request that would wait for the
file (a summary, a count, a filtered or deeper page, ...) is set aside, not started, so the
pages the head can answer go on being answered; the set-aside requests go back in the queue
when the Source says the file is here (its ``when_here`` callback), or get the download's
error reply if it failed. A newer page supersedes set-aside requests as it does queued ones.
The description (``info``) is answered at once from what is here, marked provisional; the
browser's second ``info``, asking to ``wait``, is set aside like a request that reads rows and
so answered with the exact description once the file is here (or with the download's error).
Nothing set aside outlives the widget: closing it (or the kernel going) drops them, and a
swap to another table answers them with an error.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

from dsviz_widget.engine import Source, Superseded, Work, doing
from dsviz_widget.widget._handler import MessageHandler
from dsviz_widget.widget._objects import Role
from dsviz_widget.widget._requests import error_reply

Send = Callable[[dict[str, Any], list[bytes]], None]

# Lower runs first.
# A count, or a group page's aggregates, goes after the pages (rows first) but before
# thumbnails and summaries: the status line (or the group rows' values) waits for it.
PRIORITY = {
    "page": 0,
    "info": 1,
    "count": 2,
    "groups": 2,
    "thumbnails": 3,
    "blob": 3,
    "summary": 4,
}
# Requests a page of another query makes stale (their answers describe rows no longer shown).
STALE_KINDS = ("page", "count", "groups", "summary")
# Requests that read the table's rows (or media names, to check a file is the table's): set
# aside while its Source waits for its files. ``info`` is not (what the browser needs first:
# answered from what is here, see ``MessageHandler._info``) unless it asks to ``wait`` (the
# browser's second one, after a provisional answer), nor thumbnails of files the rows here
# name (a head's images, ``TableObjects.named_now``).
READS_ROWS = frozenset(PRIORITY) - {"info"} | {"ids", "changes", "transitions"}
#: Seconds between checks of a waiting Source when its callback has not come (a safety net:
#: the callback wakes the worker).
RECHECK_SECONDS = 5.0


def plain(spec: Any) -> bool:
    """Whether a page's query is the table as it is (no filter, sort, grouping, drill)."""
    if not isinstance(spec, dict):
        return spec is None
    for key, value in spec.items():
        if key in ("columns", "change_columns"):
            continue
        if not (
            value is None or value is False or (isinstance(value, str | list | dict) and not value)
        ):
            return False
    return True


def _query_key(msg: dict[str, Any]) -> str:
    try:
        return json.dumps(msg.get("query"), sort_keys=True, default=str)
    except (ValueError, TypeError, RecursionError):  # too deep or odd: equal to no other query
        return f"<unkeyable {id(msg)}>"


class RequestWorker:
    """One widget's queue of browser requests, answered on its own thread (see module doc).

    Not to be confused with the engine's ``BackgroundWorker``, which writes view orders and
    row stores; this one only orders and answers protocol requests."""

    def __init__(self, handler: MessageHandler, send: Send) -> None:
        self._handler = handler
        self._send = send
        # Only dicts are ever queued (see submit), so everything below may call .get on them.
        self._pending: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        # Handlers swapped out while a request was running on them: closed once it is done.
        self._retired: list[MessageHandler] = []
        # The request being answered and its work (cancelled when a newer page makes it stale).
        self._running: tuple[dict[str, Any], Work] | None = None
        # Requests set aside while the Source waits for its files (module doc), the Source
        # whose ``when_here`` will put them back, and those whose download failed (answered
        # with its error by the worker thread).
        self._aside: list[dict[str, Any]] = []
        self._watching: Source | None = None
        self._failed: list[tuple[dict[str, Any], BaseException]] = []

    def submit(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            # A list, string, number or None is not a request: answer it here, on its own,
            # without queueing it, so it can never reach the code that orders dict requests
            # (where one such message used to break the next page request).
            self._answer(*self._handler.handle(msg))
            return
        superseded: list[dict[str, Any]] = []
        with self._cond:
            if msg.get("kind") == "page":
                key = _query_key(msg)
                for queue in (self._pending, self._aside):
                    keep: list[dict[str, Any]] = []
                    for old in queue:
                        stale = old.get("kind") in STALE_KINDS and (
                            old.get("kind") == "page" or _query_key(old) != key
                        )
                        (superseded if stale else keep).append(old)
                    queue[:] = keep
                if self._running is not None:
                    # Running, only another query's work is stopped: a page of the same
                    # query (scrolling) may be what the next one needs (the same order).
                    running, work = self._running
                    if running.get("kind") in STALE_KINDS and _query_key(running) != key:
                        work.cancel()
            self._pending.append(msg)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dsviz-widget", daemon=True)
                self._thread.start()
            self._cond.notify()
        for old in superseded:
            old_id, old_kind = old.get("id"), old.get("kind")
            self._answer(
                error_reply(
                    old_id if isinstance(old_id, str) else "",
                    old_kind if isinstance(old_kind, str) else "",
                    str(Superseded()),  # the reply a cancelled running one gets too
                ),
                [],
            )

    def _answer(self, reply: dict[str, Any], buffers: list[bytes]) -> None:
        # The comm may have closed under us: then there is nobody left to answer.
        with contextlib.suppress(Exception):
            self._send(reply, buffers)

    def _would_wait(self, msg: dict[str, Any]) -> bool:
        """Whether answering ``msg`` now would wait for the Source's files (never waits)."""
        try:
            return self._waits(msg)
        except Exception:  # the worker must go on: the handler answers it (with the error)
            return False

    def _waits(self, msg: dict[str, Any]) -> bool:
        kind = msg.get("kind")
        if kind == "info" and msg.get("wait") is True:
            return self._handler.source.waiting()  # the exact description, once they are here
        if not isinstance(kind, str) or kind not in READS_ROWS:
            return False  # not a request that reads rows (or not a request: answered at once)
        source = self._handler.source
        if kind == "thumbnails" and self._named_now(msg):
            return False  # files the rows here name (a head's images): read them now
        if kind == "count" and plain(msg.get("query")):
            return source.waiting((0, 0))  # the table's row count: known, no row read
        if kind == "page" and plain(msg.get("query")):
            offset, limit = msg.get("offset"), msg.get("limit")
            if type(offset) is not int or type(limit) is not int or offset < 0 or limit < 0:
                return False  # a bad request: its error reply comes at once
            return source.waiting((offset, min(offset + limit, source.num_rows)))
        return source.waiting()

    def _named_now(self, msg: dict[str, Any]) -> bool:
        """Whether the files a thumbnails request names can be checked as the table's
        without waiting for its files (False for a malformed request: it waits aside)."""
        images, masks = msg.get("images"), msg.get("masks")
        if not isinstance(images, list) or not isinstance(masks, list):
            return False
        asked: list[tuple[Role, str]] = [("image", d) for d in images]
        asked += [("mask", d) for d in masks]
        if not all(isinstance(d, str) for _, d in asked):
            return False
        return self._handler.objects.named_now(asked)

    def _set_aside(self, msg: dict[str, Any]) -> None:
        """(Under ``_cond``.) Keep ``msg`` until the Source's files are here."""
        self._aside.append(msg)
        if self._watching is None:
            source = self._watching = self._handler.source
            # May call back at once (in this thread: the condition's lock is re-entrant).
            try:
                source.when_here(lambda error: self._here(source, error))
            except Exception as exc:  # never told: answer them with why
                self._here(source, exc)

    def _here(self, source: Source, error: BaseException | None) -> None:
        """The files ``source`` waited for are here (or failed with ``error``)."""
        with self._cond:
            if source is not self._watching:
                return  # swapped to another table meanwhile: those were answered then
            self._watching = None
            back, self._aside = self._aside, []
            if error is None:
                self._pending[:0] = back
            else:
                self._failed.extend((msg, error) for msg in back)
            self._cond.notify_all()

    def _recheck(self) -> None:
        """(Under ``_cond``.) The safety net: put set-aside requests back if their Source no
        longer waits although its callback never came."""
        if self._aside and not self._handler.source.waiting():
            self._watching = None
            self._pending[:0], self._aside = self._aside, []

    def _next(self) -> tuple[dict[str, Any], BaseException | None] | None:
        with self._cond:
            while True:
                while not self._pending and not self._failed and not self._closed:
                    self._busy = False
                    self._cond.notify_all()
                    if self._aside:
                        if not self._cond.wait(RECHECK_SECONDS):
                            self._recheck()
                    else:
                        self._cond.wait()
                if self._closed:
                    return None
                self._busy = True
                if self._failed:
                    return self._failed.pop(0)
                best = min(
                    range(len(self._pending)),
                    key=lambda i: (PRIORITY.get(str(self._pending[i].get("kind")), -1), i),
                )
                msg = self._pending.pop(best)
                if self._would_wait(msg):
                    self._set_aside(msg)
                    continue
                self._running = (msg, Work())
                return msg, None

    def _run(self) -> None:
        while (job := self._next()) is not None:
            msg, error = job
            if error is not None:
                reply = self._handler.failed(msg, error)
            else:
                assert self._running is not None
                with doing(self._running[1]):
                    reply = self._handler.handle(msg)  # never raises
            with self._cond:
                self._running = None
            self._answer(*reply)
            self._close_retired()
        self._close_retired()

    def swap(self, handler: MessageHandler) -> None:
        """Answer from now on with ``handler`` (the widget shows another source): requests
        still queued were asked of the old one, so they get an error reply (the browser has
        dropped them already, see ``js/src/client.ts`` ``cancelAll``), and the old handler is
        closed once no request runs on it."""
        with self._cond:
            old, self._handler = self._handler, handler
            dropped = self._pending + self._aside + [m for m, _ in self._failed]
            self._pending, self._aside, self._failed = [], [], []
            self._watching = None
            close_now = not self._busy
            if not close_now:
                self._retired.append(old)
        for msg in dropped:
            msg_id, kind = msg.get("id"), msg.get("kind")
            self._answer(
                error_reply(
                    msg_id if isinstance(msg_id, str) else "",
                    kind if isinstance(kind, str) else "",
                    "the widget now shows another table",
                ),
                [],
            )
        if close_now:
            old.close()

    def _close_retired(self) -> None:
        with self._cond:
            retired, self._retired = self._retired, []
        for handler in retired:
            handler.close()

    @property
    def current(self) -> Work | None:
        """The work answering a request now (None when idle): what a stale page cancels."""
        with self._cond:
            return self._running[1] if self._running is not None else None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued request is answered (for tests and scripts)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not (self._pending or self._aside or self._failed or self._busy), timeout
            )

    def close(self) -> None:
        """Stop: queued requests are dropped, the one running is cancelled."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._aside.clear()
            self._failed.clear()
            self._watching = None
            if self._running is not None:
                self._running[1].cancel()
            self._cond.notify_all()
