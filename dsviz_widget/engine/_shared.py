"""The kernel's one engine, shared by ``table.query``, comparisons and every widget.

One engine means one view cache: a view made by a widget is the view ``table.query`` pages
(and the other way round), a deep page costs what it costs anywhere, and its background
order is written once. Closing a widget does not close it (a widget closes only an engine
it was given to own); if someone closes it anyway, the next call makes a new one.
"""

from __future__ import annotations

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
