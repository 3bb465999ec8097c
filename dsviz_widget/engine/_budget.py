"""The memory and time budget every foreground query runs under.

Both are DuckDB's own mechanisms: ``memory_limit`` (bigger sorts spill to the private temp
dir; what cannot spill fails with an out-of-memory error) and ``interrupt()``, called from a
timer when a query outlives its time budget. Either way the user gets a :class:`QueryError`
that says which budget was exceeded and how to raise it, instead of a kernel that swaps or
hangs. Defaults suit a notebook; ``Engine(memory_limit=..., query_timeout=...)`` or the
environment variables ``DSVIZ_MEMORY_LIMIT`` / ``DSVIZ_QUERY_TIMEOUT`` change them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from dsviz_widget.engine._errors import QueryError

MEMORY_ENV = "DSVIZ_MEMORY_LIMIT"
TIMEOUT_ENV = "DSVIZ_QUERY_TIMEOUT"
# The kernel stays within ~1 GB RSS however big the table: a foreground query gets at
# most 512 MB, the background sort 384 MB (``_background.BG_MEMORY``), Python and Arrow's
# pages the rest. Within that, the default follows the machine: a sixteenth of its RAM,
# at least 256 MB (a string column's summary spilled at 256 MB: 4.2 s vs 2.3-2.9 s).
DEFAULT_MEMORY_MIN = 256 * 2**20
DEFAULT_MEMORY_MAX = 512 * 2**20


def default_memory() -> str:
    """A sixteenth of the machine's RAM, between 256 MB and 512 MB, as DuckDB text."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        ram = 0
    size = min(max(ram // 16, DEFAULT_MEMORY_MIN), DEFAULT_MEMORY_MAX)
    return f"{size // 2**20}MiB"


DEFAULT_TIMEOUT_S = 30.0


class BudgetError(QueryError):
    """A query exceeded the engine's memory or time budget (the message says which)."""


def memory_limit(value: str | None = None) -> str:
    """``value``, else ``$DSVIZ_MEMORY_LIMIT``, else :func:`default_memory` (DuckDB's
    syntax: ``"2GB"``)."""
    return value or os.environ.get(MEMORY_ENV) or default_memory()


def query_timeout(value: float | None = None) -> float:
    """``value``, else ``$DSVIZ_QUERY_TIMEOUT``, else 30 seconds."""
    if value is None:
        raw = os.environ.get(TIMEOUT_ENV)
        try:
            value = float(raw) if raw else DEFAULT_TIMEOUT_S
        except ValueError:
            raise QueryError(f"{TIMEOUT_ENV} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise QueryError(f"query_timeout must be a positive number of seconds, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Budget:
    memory: str
    seconds: float

    def memory_error(self, what: str) -> BudgetError:
        return BudgetError(
            f"{what} needed more than the engine's memory budget ({self.memory}); raise it "
            f"with Engine(memory_limit='4GB') or the {MEMORY_ENV} environment variable, or "
            "narrow the query"
        )

    def time_error(self, what: str) -> BudgetError:
        return BudgetError(
            f"{what} was stopped after {self.seconds:g} s, the engine's time budget; raise it "
            f"with Engine(query_timeout=120) or the {TIMEOUT_ENV} environment variable, or "
            "narrow the query"
        )

    @contextmanager
    def watch(self, con: duckdb.DuckDBPyConnection, what: str = "the query") -> Iterator[None]:
        """Run the body's DuckDB calls on ``con`` under this budget."""
        fired = threading.Event()
        token = _WATCHDOG.add(self.seconds, con, fired)
        try:
            yield
        except duckdb.InterruptException as exc:
            if fired.is_set():
                raise self.time_error(what) from exc
            raise
        except duckdb.OutOfMemoryException as exc:
            raise self.memory_error(what) from exc
        finally:
            _WATCHDOG.remove(token)


def run_sql(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[object],
    budget: Budget,
) -> duckdb.DuckDBPyConnection:
    """Execute under ``budget``, turning DuckDB's errors (overflow, bad cast) into a
    QueryError."""
    try:
        with budget.watch(con):
            return con.execute(sql, params)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(f"the query failed: {first}") from exc


def run_arrow(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[object],
    budget: Budget,
) -> pa.Table:
    """Like :func:`run_sql`, returning Arrow (``con.sql`` avoids the DB-API extra copy)."""
    try:
        with budget.watch(con):
            return con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryError(f"the query failed: {first}") from exc


REARM_S = 0.05


class _Watchdog:
    """One daemon thread interrupting the connections whose queries outlive their deadline.

    Not a ``threading.Timer`` per query: starting a thread costs about a millisecond, more
    than a first page's own queries."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._items: dict[int, tuple[float, duckdb.DuckDBPyConnection, threading.Event]] = {}
        self._next = 0
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, con: duckdb.DuckDBPyConnection, fired: threading.Event) -> int:
        with self._cv:
            self._next += 1
            self._items[self._next] = (time.monotonic() + seconds, con, fired)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="dsviz-budget", daemon=True)
                self._thread.start()
            self._cv.notify()
            return self._next

    def remove(self, token: int) -> None:
        with self._cv:  # after this, the watchdog never interrupts that query's connection
            self._items.pop(token, None)

    def _loop(self) -> None:
        with self._cv:
            while True:
                now = time.monotonic()
                for token, (deadline, con, fired) in list(self._items.items()):
                    if deadline <= now:
                        # Interrupted again every REARM_S until the query's ``watch`` ends:
                        # an interrupt that lands before DuckDB has started the statement
                        # (a budget shorter than the way to it) is lost, and the query would
                        # then run with no budget at all.
                        self._items[token] = (now + REARM_S, con, fired)
                        fired.set()
                        con.interrupt()
                wait = min((d for d, _, _ in self._items.values()), default=now + 60) - now
                self._cv.wait(timeout=max(wait, 0.001))


_WATCHDOG = _Watchdog()


def _after_fork() -> None:
    # The watchdog's thread is not copied by fork (and its lock may be held): a child gets a
    # new one, or no query of the child's would ever be interrupted.
    global _WATCHDOG
    _WATCHDOG = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
