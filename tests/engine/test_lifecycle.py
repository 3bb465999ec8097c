"""Stale work stops, and only its own: cancelling one request's work interrupts its DuckDB
statement and never another request's or Python's on the shared connection; view orders
stay within their disk budget, and an evicted order is made again, right."""

from __future__ import annotations

import os
import threading
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source, Superseded, Work, _background, _view, doing

# Minutes of work for DuckDB unless interrupted (a count over a range, no data needed).
ENDLESS = "SELECT count(*) FROM range(1000000000000) t(x) WHERE x % 7 = 3"
# About a second's work: long enough that a stray interrupt would hit it.
SECOND = "SELECT count(*) FROM range(60000000) t(x) WHERE x % 7 = 3"
SECOND_ANSWER = len(range(3, 60_000_000, 7))


def _table(n: int = 4_000, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    score[rng.integers(0, n, n // 20)] = np.nan
    return pa.table(
        {
            "id": np.arange(n),
            "score": pa.array(score, mask=rng.random(n) < 0.03),
            "k": rng.integers(0, 9, n),
            "label": pa.array(np.array(["cat", "dog", "bird"])[rng.integers(0, 3, n)]),
        }
    )


def _pandas_order(t: pa.Table, sort: list[str]) -> list[int]:
    """Row ids in the engine's order: NaN as missing, nulls last, ties by row id."""
    df = t.to_pandas()
    df["_row"] = np.arange(len(df))
    names = [k.lstrip("-") for k in sort] + ["_row"]
    ascending = [not k.startswith("-") for k in sort] + [True]
    out = df.sort_values(names, ascending=ascending, na_position="last", kind="stable")
    return [int(r) for r in out["_row"]]


class Runner(threading.Thread):
    """Runs ``sql`` on the engine's connection, as ``work`` if given (else as Python does)."""

    def __init__(self, engine: Engine, relation: Any, sql: str, work: Work | None) -> None:
        super().__init__(daemon=True)
        self.engine, self.relation, self.sql, self.work = engine, relation, sql, work
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.work is None:
                self.result = self._query()
            else:
                with doing(self.work):
                    self.result = self._query()
        except BaseException as exc:
            self.error = exc

    def _query(self) -> Any:
        with self.engine.connection(self.relation) as con:
            return con.execute(self.sql).fetchall()[0][0]


def test_cancelling_a_request_interrupts_its_statement_and_no_other() -> None:
    engine = Engine(background=False)
    src = Source.from_arrow(_table())
    rel = engine.view(src).relation
    for _ in range(3):  # a few rounds: the hand-over between statements is where it could slip
        stale = Work()
        a = Runner(engine, rel, ENDLESS, stale)
        a.start()
        assert stale.connected.wait(30)  # its statement holds the connection now
        # Queued behind it on the engine's lock: Python's query and another widget's.
        python = Runner(engine, rel, SECOND, None)
        other = Runner(engine, rel, SECOND, Work())
        python.start()
        other.start()
        stale.cancel()
        a.join(60)
        assert not a.is_alive(), "the cancelled statement was not interrupted"
        assert isinstance(a.error, Superseded)
        assert isinstance(a.error.__cause__, duckdb.InterruptException)
        for r in (python, other):
            r.join(120)
            assert not r.is_alive() and r.error is None, r.error
            assert r.result == SECOND_ANSWER
    engine.close()


def test_a_cancelled_request_starts_no_statement_and_python_is_never_cancelled() -> None:
    engine = Engine(background=False)
    t = _table()
    src = Source.from_arrow(t)
    work = Work()
    work.cancel()
    with doing(work), pytest.raises(Superseded, match="superseded by a newer request"):
        _ = engine.view(src, Query(filter="k > 3")).num_rows
    # The same view, asked by Python (no work), counts right: nothing half-done was kept.
    assert engine.view(src, Query(filter="k > 3")).num_rows == int(
        (t.column("k").to_numpy() > 3).sum()
    )
    engine.close()


def _orders_on_disk() -> set[str]:
    d = _background.temp_dir()
    return {f for f in os.listdir(d) if f.endswith(".order")}


@pytest.fixture()
def small_orders(monkeypatch: pytest.MonkeyPatch) -> _background.DiskBudget:
    """Deep pages need an order from a few hundred rows; orders get a budget of their own."""
    monkeypatch.setattr(_view, "TOP_N", 50)
    b = _background.ORDERS
    fresh = _background.DiskBudget(b.env, b.share, b.cap, b.where, b.max_items)
    monkeypatch.setattr(_background, "ORDERS", fresh)
    return fresh


def _deep(engine: Engine, src: Source, sort: list[str], offset: int) -> list[int]:
    page = engine.view(src, Query(sort=sort)).page(offset, 20)
    return [int(r) for r in page.column("_row").to_pylist()]


def test_view_orders_stay_within_their_budget_and_an_evicted_one_is_made_again(
    small_orders: _background.DiskBudget, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = _table()
    n = t.num_rows
    # Room for two orders of 4,000 int32 ids (16,000 bytes each), not three.
    monkeypatch.setenv(_background.ORDER_LIMIT_ENV, "40000")
    engine = Engine()
    src = Source.from_arrow(t)
    sorts = [["-score"], ["label", "-id"], ["k", "score"]]
    views = []
    for sort in sorts:
        assert _deep(engine, src, sort, n // 2) == _pandas_order(t, sort)[n // 2 : n // 2 + 20]
        views.append(engine.view(src, Query(sort=sort)))
        # A sort by one number starts its order after its first deep page: let each finish,
        # so the least recently read one is the first.
        job = views[-1]._job
        assert job is not None and job.wait(30)
        assert small_orders.used() <= 40_000
    first = views[0]._job
    assert first is not None and first.cancelled  # the least recently read one went
    assert not os.path.exists(first.path)
    assert len(small_orders.items) == 2
    # Asked again, the evicted view makes its order again, and its pages equal pandas'
    # (a sort by one number answers the page from its bins and makes the order after it).
    want = _pandas_order(t, sorts[0])
    assert _deep(engine, src, sorts[0], n - 30) == want[n - 30 : n - 10]
    again = views[0]._job
    assert again is not None and again is not first and again.wait(30)
    assert not again.cancelled and os.path.exists(again.path)
    assert small_orders.used() <= 40_000
    engine.close()


def test_without_room_for_any_order_deep_pages_are_still_right(
    small_orders: _background.DiskBudget, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = _table()
    monkeypatch.setenv(_background.ORDER_LIMIT_ENV, "0")
    engine = Engine()
    src = Source.from_arrow(t)
    before = _orders_on_disk()
    for sort in (["-score", "k"], ["label"]):
        want = _pandas_order(t, sort)
        for offset in (100, 2_000, t.num_rows - 7):
            assert _deep(engine, src, sort, offset) == want[offset : offset + 20]
    assert small_orders.used() == 0 and _orders_on_disk() <= before
    engine.close()


SORT_KEYS = ["score", "-score", "k", "-k", "label", "-label", "id", "-id"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(
            st.lists(st.sampled_from(SORT_KEYS), min_size=1, max_size=2, unique=True),
            st.integers(0, 1_999),
        ),
        min_size=1,
        max_size=8,
    ),
    room=st.sampled_from([0, 8_000, 20_000, 10**9]),
)
def test_pages_equal_pandas_whatever_the_order_budget_evicts(
    small_orders: _background.DiskBudget,
    steps: list[tuple[list[str], int]],
    room: int,
) -> None:
    t = _table(2_000, seed=5)
    old = os.environ.get(_background.ORDER_LIMIT_ENV)
    os.environ[_background.ORDER_LIMIT_ENV] = str(room)
    engine = Engine()
    try:
        src = Source.from_arrow(t)
        for sort, offset in steps:
            if len({k.lstrip("-") for k in sort}) < len(sort):
                continue  # one column twice: not a sort
            want = _pandas_order(t, sort)[offset : offset + 20]
            assert _deep(engine, src, sort, offset) == want
            assert small_orders.used() <= room
    finally:
        engine.close()
        if old is None:
            del os.environ[_background.ORDER_LIMIT_ENV]
        else:
            os.environ[_background.ORDER_LIMIT_ENV] = old


def test_pandas_reference_treats_nan_as_missing() -> None:
    # The reference itself: NaN and null both sort last, after every number.
    t = pa.table({"score": pa.array([0.5, float("nan"), None, 0.1])})
    assert _pandas_order(t, ["score"]) == [3, 0, 1, 2]
    assert _pandas_order(t, ["-score"]) == [0, 3, 1, 2]
    assert pd.isna(t.to_pandas()["score"]).sum() == 2


class _Blocker(_background.Job):
    """Holds the engine's background thread until released (no DuckDB, no pauses)."""

    needs_duckdb = False

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def run(self, con: object) -> None:
        self.started.set()
        assert self.release.wait(60)


def test_a_cancelled_deep_page_stops_waiting_for_its_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_view, "TOP_N", 50)
    t = _table()
    src = Source.from_arrow(t)
    engine = Engine()
    blocker = _Blocker()
    engine.worker.submit(blocker)
    assert blocker.started.wait(30)  # the view's order can only queue behind it
    work = Work()
    work.cancel()  # the user moved on before the deep page got its order
    try:
        with doing(work), pytest.raises(Superseded):
            engine.view(src, Query(sort=["-score"])).page(3_000, 10)
        assert not blocker.done.is_set()  # it gave up without the order being written
    finally:
        blocker.release.set()
    # Python's deep page of the same view waits for the order and is right.
    got = engine.view(src, Query(sort=["-score"])).page(3_000, 10).column("_row").to_pylist()
    assert got == _pandas_order(t, ["-score"])[3_000:3_010]
    engine.close()
