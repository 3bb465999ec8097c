"""The first deep page of a new sort by one number, from bins instead of the whole order.

``_rank`` answers it with a histogram of the sort column and the rows of the page's bins
(issue 15). Every page must be pandas' (stable sort, NaN and nulls last) whatever the data:
ties, both zeros, NaN, nulls, one value only, values bunched into one bin (so the window is
binned again), integers and floats, filters, pages that cross from the numbers into the
missing values, over Parquet (range from the statistics) and Arrow (range from a scan).
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source, _background, _rank, _view
from tests.engine.test_first_pages import parquet_source

FLOATS = st.one_of(
    st.none(),
    st.just(math.nan),
    st.sampled_from([-1.5, -0.0, 0.0, 0.5, 2.0, 1e-300, 3e12]),
    st.floats(-1e6, 1e6, allow_nan=False),
)
INTS = st.one_of(st.none(), st.integers(-5, 5), st.integers(-(2**40), 2**40))


def expected(values: list[Any], keep: list[bool], desc: bool, is_float: bool) -> list[int]:
    dtype = "float64" if is_float else "Int64"
    frame = pd.DataFrame({"x": pd.array(values, dtype=dtype)})
    frame = frame.loc[np.array(keep, dtype=bool)]
    return frame.sort_values(
        "x", ascending=not desc, na_position="last", kind="stable"
    ).index.tolist()


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    is_float=st.booleans(),
    desc=st.booleans(),
    filtered=st.booleans(),
    parquet=st.booleans(),
    bins=st.sampled_from([4, 64, 4096]),
    window=st.sampled_from([2, 5, 1_000_000]),
)
def test_deep_pages_by_one_number_match_pandas(
    data: st.DataObject,
    is_float: bool,
    desc: bool,
    filtered: bool,
    parquet: bool,
    bins: int,
    window: int,
) -> None:
    values = data.draw(st.lists(FLOATS if is_float else INTS, min_size=0, max_size=40))
    n = len(values)
    table = pa.table(
        {
            "x": pa.array(values, pa.float64() if is_float else pa.int64()),
            "n": pa.array(range(n), pa.int64()),
        }
    )
    keep = [i % 4 != 1 for i in range(n)] if filtered else [True] * n
    want = expected(values, keep, desc, is_float)
    offset = data.draw(st.integers(0, max(0, len(want) + 2)))
    limit = data.draw(st.integers(1, 6))
    query = Query(filter="n % 4 != 1" if filtered else None, sort=["-x" if desc else "x"])
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(_view, "TOP_N", 3)  # every page below is deep
        mp.setattr(_rank, "BINS", bins)
        mp.setattr(_rank, "MAX_WINDOW", window)
        source = parquet_source(table, d, [n // 2]) if parquet else Source.from_arrow(table)
        view = Engine(background=False).view(source, query)
        got = _rank.Ranks(view.engine, view.relation, view.where, view.params, "x", desc).ids(
            offset, min(offset + limit, len(want))
        )
        page = Engine(background=False).view(source, query).page(offset, limit)
    assert page.column("n").to_pylist() == want[offset : offset + limit]
    if got is not None:  # None: only the whole order can tell (rounds run out)
        assert got.tolist() == want[offset : offset + limit]


def _spread(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, seed: int, nan_every: int
) -> tuple[np.ndarray, Source, list[str]]:
    """200,000 random floats (every ``nan_every``-th NaN) in a Parquet file of 10 row groups,
    and the list of the SQL ``_rank`` sends from now on."""
    x = np.random.default_rng(seed).random(200_000)
    x[::nan_every] = np.nan
    table = pa.table({"x": x, "n": np.arange(200_000)})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=20_000)
    sent: list[str] = []
    real = _rank._run

    def spy(engine: Any, relation: Any, sql: str, params: list[object]) -> pa.Table:
        sent.append(sql)
        return real(engine, relation, sql, params)

    monkeypatch.setattr(_rank, "_run", spy)
    return x, Source.from_parquet([str(tmp_path / "t.parquet")]), sent


def test_a_deep_page_of_a_spread_column_is_answered_from_two_scans(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 200,000 rows, a deep page of -x: the bins, then the page's rows; no order waited for.
    monkeypatch.setattr(_view, "TOP_N", 100)
    x, source, sent = _spread(tmp_path, monkeypatch, seed=7, nan_every=1000)
    view = Engine(background=False).view(source, Query(sort=["-x"]))
    page = view.page(123_456, 50)
    frame = pd.DataFrame({"x": x})
    want = frame.sort_values("x", ascending=False, na_position="last", kind="stable")
    assert page.column("n").to_pylist() == want.index[123_456 : 123_456 + 50].tolist()
    assert len(sent) == 2 and "GROUP BY" in sent[0]  # the range came from the statistics
    assert view._job is None or not view._job.done.is_set()  # nothing sorted the whole view
    # The last page holds the NaN rows, in source order, after every number.
    last = view.page(199_950, 50)
    assert last.column("n").to_pylist() == want.index[199_950:].tolist()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    is_float=st.booleans(),
    desc=st.booleans(),
    parquet=st.booleans(),
    bins=st.sampled_from([4, 64]),
    window=st.sampled_from([3, 1_000_000]),
)
def test_later_pages_from_the_kept_bins_match_pandas(
    data: st.DataObject, is_float: bool, desc: bool, parquet: bool, bins: int, window: int
) -> None:
    """One view's pages one after the other while its order is built: each from a window
    kept, the histogram kept, or new bins — always pandas' page."""
    values = data.draw(st.lists(FLOATS if is_float else INTS, min_size=1, max_size=40))
    n = len(values)
    table = pa.table(
        {
            "x": pa.array(values, pa.float64() if is_float else pa.int64()),
            "n": pa.array(range(n), pa.int64()),
        }
    )
    want = expected(values, [True] * n, desc, is_float)
    pages = data.draw(
        st.lists(st.tuples(st.integers(0, n + 2), st.integers(1, 6)), min_size=1, max_size=6)
    )
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(_rank, "BINS", bins)
        mp.setattr(_rank, "MAX_WINDOW", window)
        source = parquet_source(table, d, [n // 2]) if parquet else Source.from_arrow(table)
        view = Engine(background=False).view(source, Query(sort=["-x" if desc else "x"]))
        ranks = _rank.Ranks(view.engine, view.relation, view.where, view.params, "x", desc)
        for offset, limit in pages:
            got = ranks.ids(offset, min(offset + limit, n))
            if got is None:  # only the whole order can tell (rounds run out)
                break
            assert got.tolist() == want[offset : offset + limit]
            assert len(ranks.windows) <= _rank.KEEP_WINDOWS


def test_pages_after_a_deep_page_need_no_order_and_at_most_one_scan(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scrolling on from a deep page while the order is built: the next pages are slices of
    the deep page's bins (no query); a page elsewhere is one scan (the histogram is kept);
    none waits for the order (which the page tells apart by ``_job`` not being done)."""
    monkeypatch.setattr(_view, "TOP_N", 100)
    monkeypatch.setattr(_rank, "BINS", 64)  # ~3,000 rows a bin: room to scroll in one
    x, source, sent = _spread(tmp_path, monkeypatch, seed=11, nan_every=997)
    # No background: an order would be built only if a page waited for it (it never does).
    view = Engine(background=False).view(source, Query(sort=["x"]))
    want = pd.DataFrame({"x": x}).sort_values("x", na_position="last", kind="stable").index
    page = view.page(100_000, 50)
    assert page.column("n").to_pylist() == want[100_000:100_050].tolist()
    assert len(sent) == 2  # the bins, then the page's rows
    assert isinstance(view._ranks, _rank.Ranks)
    ((first, ids),) = view._ranks.windows
    end = first + len(ids)
    assert first <= 100_000 and end >= 100_050 and len(ids) > 1_000
    for offset in (end - 30, 100_050, first, 100_010):  # scrolling within the bins
        got = view.page(offset, 30)
        assert got.column("n").to_pylist() == want[offset : offset + 30].tolist()
    assert len(sent) == 2
    far = view.page(150_000, 50)  # other bins: their rows, the histogram kept
    assert far.column("n").to_pylist() == want[150_000:150_050].tolist()
    assert len(sent) == 3 and "GROUP BY" not in sent[2]
    back = view.page(first + 5, 50)  # the first window is still kept
    assert back.column("n").to_pylist() == want[first + 5 : first + 55].tolist()
    assert len(sent) == 3
    last = view.page(199_950, 50)  # the NaN rows, after every number, in source order
    assert last.column("n").to_pylist() == want[199_950:].tolist()
    assert view._job is None  # nothing sorted the whole view


class _Hold(_background.Job):
    """Background work that holds the worker until released (the order queues behind it)."""

    needs_duckdb = False

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def run(self, con: Any) -> None:
        self.release.wait(30)


def test_a_far_page_waits_a_moment_for_the_order_then_reads_its_bins(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the view's order cannot finish (the worker busy elsewhere), a page away from the
    kept bins waits ``ORDER_PATIENCE_S`` for it, then comes from its own bins; once the order
    is there, pages come from it."""
    monkeypatch.setattr(_view, "TOP_N", 100)
    monkeypatch.setattr(_view, "ORDER_PATIENCE_S", 0.2)
    rng = np.random.default_rng(5)
    x = rng.random(100_000)
    table = pa.table({"x": x, "n": np.arange(100_000)})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=10_000)
    source = Source.from_parquet([str(tmp_path / "t.parquet")])
    want = pd.DataFrame({"x": x}).sort_values("x", ascending=False, kind="stable").index
    engine = Engine()
    hold = _Hold()
    engine.worker.submit(hold, urgent=True)
    try:
        view = engine.view(source, Query(sort=["-x"]))
        assert view.page(50_000, 50).column("n").to_pylist() == want[50_000:50_050].tolist()
        job = view._job
        assert job is not None and not job.done.is_set()  # queued behind the held work
        start = time.perf_counter()
        far = view.page(90_000, 50)
        took = time.perf_counter() - start
        assert far.column("n").to_pylist() == want[90_000:90_050].tolist()
        assert 0.2 <= took < 10 and not job.done.is_set()
    finally:
        hold.release.set()
    assert job.wait(30) and not job.cancelled
    assert view.page(10_000, 50).column("n").to_pylist() == want[10_000:10_050].tolist()
    engine.close()


def test_a_far_page_stops_waiting_once_the_orders_progress_says_it_cannot_make_it(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the view's order runs, a page away from the kept bins waits for it only while
    DuckDB's progress leaves it a chance (``BackgroundWorker.eta``): an order that would need
    far longer than the patience left (100M rows: ~15 s) is not waited for, the page reads
    its bins at once; one about to finish is waited for."""
    monkeypatch.setattr(_view, "TOP_N", 100)
    monkeypatch.setattr(_view, "ORDER_PATIENCE_S", 3.0)
    rng = np.random.default_rng(6)
    x = rng.random(100_000)
    pq.write_table(pa.table({"x": x, "n": np.arange(100_000)}), tmp_path / "t.parquet")
    source = Source.from_parquet([str(tmp_path / "t.parquet")])
    want = pd.DataFrame({"x": x}).sort_values("x", ascending=False, kind="stable").index
    for eta, waits in ((1000.0, False), (0.5, True)):
        engine = Engine()
        hold = _Hold()
        engine.worker.submit(hold, urgent=True)  # the order queues behind it: never done
        monkeypatch.setattr(engine.worker, "eta", lambda job, eta=eta: eta)
        view = engine.view(source, Query(sort=["-x"]))
        assert view.page(50_000, 50).column("n").to_pylist() == want[50_000:50_050].tolist()
        start = time.perf_counter()
        far = view.page(90_000, 50)
        took = time.perf_counter() - start
        assert far.column("n").to_pylist() == want[90_000:90_050].tolist()
        # Hopeless: read at once (one poll); else (almost) the whole patience: the order is
        # never done, and only its last moments are hopeless too (0.5 s > 4 x what is left).
        assert (took >= 2.5) if waits else (took < 1.5), (eta, took)
        hold.release.set()
        engine.close()


def test_a_running_orders_eta_comes_from_duckdbs_progress(tmp_path: Any) -> None:
    """``eta`` of a view order while DuckDB sorts it: seconds left, from its progress; None
    for a job not running (queued or done)."""
    rng = np.random.default_rng(7)
    n = 3_000_000
    pq.write_table(pa.table({"x": rng.random(n)}), tmp_path / "t.parquet")
    source = Source.from_parquet([str(tmp_path / "t.parquet")])
    engine = Engine()
    hold = _Hold()
    engine.worker.submit(hold, urgent=True)
    view = engine.view(source, Query(sort=["-x"]))
    view.page(n // 2, 10)
    job = view._job
    assert job is not None and engine.worker.eta(job) is None  # queued behind the hold
    hold.release.set()
    seen: list[float] = []
    while not job.done.is_set():
        got = engine.worker.eta(job)
        if got is not None:
            seen.append(got)
        time.sleep(0.002)
    assert seen and all(0 < s < 60 for s in seen), seen[:5]
    assert engine.worker.eta(job) is None
    engine.close()
