"""Answers requests on a worker thread, newest page first.

The kernel's main thread only queues a request, so it sees every message the browser sent
while a slow query runs. That lets a newer page request supersede queued older pages and
header summaries (they get an ``error`` reply saying so, which the browser has already
stopped waiting for), and lets pages go before thumbnails and summaries.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

from dsviz_widget.widget._handler import MessageHandler

Send = Callable[[dict[str, Any], list[bytes]], None]

# Lower runs first.
PRIORITY = {"page": 0, "info": 1, "thumbnails": 2, "blob": 2, "summary": 3}


def _query_key(msg: Any) -> str:
    return json.dumps(msg.get("query"), sort_keys=True, default=str) if isinstance(msg, dict) else ""


class Worker:
    def __init__(self, handler: MessageHandler, send: Send) -> None:
        self._handler = handler
        self._send = send
        self._pending: list[Any] = []
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, msg: Any) -> None:
        superseded: list[Any] = []
        with self._cond:
            if isinstance(msg, dict) and msg.get("kind") == "page":
                key = _query_key(msg)
                keep: list[Any] = []
                for old in self._pending:
                    stale = old.get("kind") in ("page", "summary") and (
                        old.get("kind") == "page" or _query_key(old) != key)
                    (superseded if stale else keep).append(old)
                self._pending = keep
            self._pending.append(msg)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dsviz-widget", daemon=True)
                self._thread.start()
            self._cond.notify()
        for old in superseded:
            self._send(MessageHandler._error(str(old.get("id", "")), str(old.get("kind", "")),
                                             "superseded by a newer request"), [])

    def _next(self) -> Any | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._busy = False
                self._cond.notify_all()
                self._cond.wait()
            if self._closed:
                return None
            best = min(range(len(self._pending)), key=lambda i: (
                PRIORITY.get(str(self._pending[i].get("kind")) if isinstance(self._pending[i], dict)
                             else "", -1), i))
            self._busy = True
            return self._pending.pop(best)

    def _run(self) -> None:
        while (msg := self._next()) is not None:
            reply, buffers = self._handler.handle(msg)
            # The comm may have closed under us: then there is nobody left to answer.
            with contextlib.suppress(Exception):
                self._send(reply, buffers)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every queued request is answered (for tests and scripts)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
