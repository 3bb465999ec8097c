"""Background work nobody waits for starts after the foreground has been quiet (issue 15).

A sorted first page queues its view's order (and the source's row store) as it returns; the
page is then still being converted (a DataFrame, the widget's Arrow reply). The worker
starts such work only once no foreground query has run for ``QUIET_S``, never later than
``MAX_DEFER_S`` after it was queued; work someone waits for starts at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsviz_widget.engine import Engine, Query, Source, _background, _relation, _view
from dsviz_widget.engine._connection import foreground


class _Recording(_background.Job):
    needs_duckdb = False

    def __init__(self) -> None:
        super().__init__()
        self.started_at = 0.0

    def run(self, con: object) -> None:
        self.started_at = time.monotonic()


def _queued(worker: _background.BackgroundWorker) -> _Recording:
    job = _Recording()
    worker.submit(job)
    return job


@pytest.fixture()
def worker() -> Iterator[_background.BackgroundWorker]:
    w = _background.BackgroundWorker()
    yield w
    w.stop()


def test_work_nobody_waits_for_starts_after_the_foreground_is_quiet(
    worker: _background.BackgroundWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_background, "MAX_DEFER_S", 30.0)  # the quiet alone decides here
    with foreground():
        job = _queued(worker)
        assert not job.wait(0.3)  # a query runs: not started
        ended = time.monotonic()
    assert job.wait(30)
    assert job.started_at - ended >= _background.QUIET_S * 0.9


def test_work_someone_waits_for_starts_during_a_foreground_query(
    worker: _background.BackgroundWorker,
) -> None:
    with foreground():
        assert worker.wait(_Recording(), 30)


def test_a_busy_foreground_delays_background_work_by_at_most_max_defer(
    worker: _background.BackgroundWorker,
) -> None:
    with foreground():
        job = _queued(worker)
        assert job.wait(30)  # started while the query still runs
        assert job.started_at - job.queued_at >= _background.MAX_DEFER_S * 0.9


@pytest.fixture()
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_view, "TOP_N", 300)
    monkeypatch.setattr(_relation, "ROW_STORE_MIN_ROWS", 0)


def test_a_sorted_first_page_answers_before_its_order_starts_then_deep_pages_match(
    tmp_path, small_thresholds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_background, "MAX_DEFER_S", 30.0)
    rng = np.random.default_rng(3)
    n = 5_000
    score = rng.integers(0, 50, n).astype(float)  # many ties: _row decides among them
    score[rng.integers(0, n, 200)] = np.nan
    t = pa.table({"id": np.arange(n), "score": score})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, row_group_size=700)
    eng = Engine()
    try:
        view = eng.view(Source.from_parquet([str(path)]), Query(sort=["-score"]))
        with foreground():  # the caller still converting the page it got
            first = view.page(0, 50)
            job = view._job
            assert job is not None and not job.wait(0.3)
        assert job.wait(30) and job.error is None
        frame = t.to_pandas()
        frame["key"] = frame["score"]
        want = frame.sort_values("key", ascending=False, kind="stable", na_position="last")
        ids = want["id"].to_numpy()
        assert first.column("id").to_pylist() == ids[:50].tolist()
        for offset in (1_000, 4_900, 4_990):
            page = view.page(offset, 50)
            assert page.column("id").to_pylist() == ids[offset : offset + 50].tolist()
    finally:
        eng.close()


def _store(tmp_path, n: int = 3_000) -> tuple[pa.Table, _background.RowStore]:
    t = pa.table({"id": np.arange(n), "text": [f"row {i}" for i in range(n)]})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, row_group_size=500)
    store, new = _background.row_store((str(path),), t.schema)
    assert store is not None and new
    return t, store


def test_a_row_store_waits_between_row_groups_while_a_foreground_query_runs(
    tmp_path, worker: _background.BackgroundWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_background, "MAX_DEFER_S", 0.0)
    monkeypatch.setattr(_background, "MAX_YIELD_S", 30.0)
    monkeypatch.setattr(_background, "YIELD_RATIO", 1e9)
    t, store = _store(tmp_path)
    try:
        with foreground():  # a page being read from Parquet meanwhile
            worker.submit(store)
            assert not store.wait(0.5)
            assert store.take_written(np.array([2_999]), ["id"]) is None  # not the last group
        assert store.wait(30) and store.error is None
        ids = np.array([2_999, 0, 1_234, 500])
        assert store.take(ids, ["id", "text"]).to_pydict() == t.take(ids).to_pydict()
    finally:
        store.cancelled = True
        store.discard()


def test_a_row_store_waits_for_the_foreground_at_most_twice_as_long_as_it_works(
    tmp_path, worker: _background.BackgroundWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_background, "MAX_DEFER_S", 0.0)
    monkeypatch.setattr(_background, "MAX_YIELD_S", 30.0)
    _, store = _store(tmp_path)
    try:
        with foreground():  # always busy: the store is written all the same
            worker.submit(store)
            assert store.wait(30) and store.error is None
        assert store.yielded > 0
    finally:
        store.cancelled = True
        store.discard()
