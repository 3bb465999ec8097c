"""The kernel's one engine, shared by ``table.query``, comparisons and every widget.

One engine means one view cache: a view made by a widget is the view ``table.query`` pages
(and the other way round), a deep page costs what it costs anywhere, and its background
order is written once. Closing a widget does not close it (a widget closes only an engine
it was given to own); if someone closes it anyway, the next call makes a new one.
"""

from __future__ import annotations

import os
import threading

from dsviz_widget.engine._engine import Engine

#: Views the shared engine keeps: several widgets and Python calls use it at once.
SHARED_MAX_VIEWS = 16

_engine: Engine | None = None
_lock = threading.Lock()


def shared_engine() -> Engine:
    """The process-wide :class:`Engine` (one DuckDB connection, made on first use).

    Examples
    --------
    >>> from dsviz_widget.engine import shared_engine
    >>> shared_engine() is shared_engine()
    True
    """
    global _engine
    with _lock:
        if _engine is None or _engine.closed:
            _engine = Engine(max_views=SHARED_MAX_VIEWS)
        return _engine


_forked_leftovers: list[Engine] = []


def _after_fork() -> None:
    # The parent's engine (its connections, background threads and locks) is not usable in a
    # forked child, e.g. a data loader's worker: the child makes its own on first use, and
    # keeps the parent's referenced so that nothing frees the parent's databases there
    # (``_connection._forked_leftovers``).
    global _engine, _lock
    if _engine is not None:
        _forked_leftovers.append(_engine)
    _engine = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
