"""The background machinery behind deep pages: view orders in temp files, Parquet row
stores read by id, cancellation, clean-up, bounded memory; and one-scan summaries."""

from __future__ import annotations

import gc
import os
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv
from dsviz_widget.engine import (
    Engine,
    FilterError,
    Query,
    QueryError,
    Source,
    _background,
    _relation,
    _rows,
    _view,
)

N = 30_000


@pytest.fixture()
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Exercise the big-table paths on small tables.
    monkeypatch.setattr(_view, "TOP_N", 300)
    monkeypatch.setattr(_relation, "ROW_STORE_MIN_ROWS", 0)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, str, str]:
    rng = np.random.default_rng(7)
    score = rng.random(N)
    score[rng.integers(0, N, 300)] = np.nan
    labels = np.array(["cat", "dog", "car", "tree", None], dtype=object)
    t = pa.table(
        {
            "id": pa.array(np.arange(N)),
            "score": pa.array(score, mask=rng.random(N) < 0.01),
            "label": pa.array(labels[rng.integers(0, 5, N)].tolist(), pa.string()),
            "k": pa.array(rng.integers(0, 7, N)),
            "caption": pa.array([f"image {i} ü" for i in range(N)]),
        }
    ).replace_schema_metadata({b"dsviz": b'{"format": 1, "classes": {}, "derived": []}'})
    d = tmp_path_factory.mktemp("bg")
    pq.write_table(t.slice(0, N // 3), d / "a.parquet", row_group_size=2_000)
    pq.write_table(t.slice(N // 3), d / "b.parquet", row_group_size=3_000)
    return t, str(d / "a.parquet"), str(d / "b.parquet")


def _reference(t: pa.Table, q: Query) -> np.ndarray:
    view = Engine(background=False).view(Source.from_arrow(t), q)
    return view.order()


QUERIES = [
    Query(sort=["-score"]),
    Query(sort=["label", "-k", "score"]),
    Query(filter="score > 0.3 and label != 'dog'"),
    Query(filter="k >= 2", sort=["caption"]),
]


@pytest.mark.parametrize("q", QUERIES)
def test_pages_from_order_and_row_store_equal_full_sort(
    small_thresholds: None, data: tuple[pa.Table, str, str], q: Query
) -> None:
    t, a, b = data
    want = _reference(t, q)
    src = Source.from_parquet([a, b])
    eng = Engine()
    view = eng.view(src, q)
    assert view.num_rows == len(want)
    # Shallow pages first (top-N, before the order and the row store exist) ...
    first = view.page(0, 100)
    assert first.column("_row").to_numpy().tolist() == want[:100].tolist()
    # ... then pages at many depths, some while the background work is still running.
    offsets = [0, 250, 299, 5_000, len(want) - 37, 1_234, len(want) // 2, 17]
    for i, off in enumerate(offsets):
        if i == 3:
            eng._worker.wait(view._order_job())
            assert view.relation.store is not None
            view.relation.store.wait(30)
            assert view.relation.store.done.is_set()
        page = view.page(off, 64)
        assert page.column("_row").to_numpy().tolist() == want[off : off + 64].tolist()
        expect = t.take(pa.array(want[off : off + 64]))
        for c in t.column_names:
            assert str(page.column(c).to_pylist()) == str(expect.column(c).to_pylist())
        assert page.schema.metadata == t.schema.metadata
    assert np.array_equal(view.order(), want)
    eng.close()


def test_row_store_pages_equal_duckdb_pages(
    small_thresholds: None, data: tuple[pa.Table, str, str]
) -> None:
    _, a, b = data
    src = Source.from_parquet([a, b])
    plain = Engine(background=False).view(src, Query(sort=["k", "-id"]))
    eng = Engine()
    view = eng.view(src, Query(sort=["k", "-id"]))
    view.page(0, 10)
    eng._worker.wait(view._order_job())
    view.relation.store.wait(30)
    rng = np.random.default_rng(3)
    for off in rng.integers(0, N - 80, 25):
        x, y = plain.page(int(off), 80), view.page(int(off), 80)
        assert x.schema.equals(y.schema, check_metadata=True)
        assert str(x.to_pydict()) == str(y.to_pydict())  # str: NaN == NaN
    # Repeated and unordered ids read back in the order asked for.
    ids = np.array([5, 29_999, 5, 12_000, 0, 9_999, 10_000])
    got = view.relation.fetch(eng._con, ids, ["id", "caption"])
    assert got.column("id").to_pylist() == ids.tolist() == got.column("_row").to_pylist()
    eng.close()


def test_order_file_removed_when_view_dropped(data: tuple[pa.Table, str, str]) -> None:
    t, _, _ = data
    eng = Engine()
    view = eng.view(Source.from_arrow(t), Query(sort=["-score"]))
    view.page(10_000, 5)  # deep: waits for the background order
    job = view._job
    assert job is not None and os.path.exists(job.path)
    path = job.path
    eng._views.clear()
    del view
    gc.collect()
    # The order may still be running (a deep page of one sort key is answered before it):
    # then it is interrupted and its worker removes the file as it stops.
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not os.path.exists(path)
    assert job.done.wait(10) and job.cancelled
    eng.close()


def test_newer_order_interrupts_older_which_is_requeued(data: tuple[pa.Table, str, str]) -> None:
    t, _, _ = data
    eng = Engine()
    src = Source.from_arrow(t)
    views = [eng.view(src, Query(sort=[s])) for s in ("score", "-k", "caption", "-label")]
    for v in views:
        v.page(0, 5)  # each queues its order; later ones go first
    for v in views:
        want = _reference(t, v.query)
        assert np.array_equal(v.order(), want)
        assert v.page(20_000, 7).column("_row").to_numpy().tolist() == want[20_000:20_007].tolist()
    eng.close()


def test_background_off_and_closed_engine(data: tuple[pa.Table, str, str]) -> None:
    t, _, _ = data
    q = Query(filter="label == 'cat'", sort=["-k", "id"])
    want = _reference(t, q)
    eng = Engine(background=False)
    view = eng.view(Source.from_arrow(t), q)
    assert view.page(3_000, 10).column("_row").to_numpy().tolist() == want[3_000:3_010].tolist()
    eng.close()
    assert not list(eng._worker._queue)


def test_browsing_keeps_memory_flat(
    small_thresholds: None, data: tuple[pa.Table, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The map's pages are dropped once reads grew the resident set by this much (a small
    # store here would otherwise fit in the default).
    monkeypatch.setattr(_rows.MappedBatches, "RELEASE_BYTES", 4 * 2**20)
    _, a, b = data
    eng = Engine()
    view = eng.view(Source.from_parquet([a, b]), Query(sort=["-score"]))
    view.page(0, 50)
    eng._worker.wait(view._order_job())
    view.relation.store.wait(30)

    def rss_kb() -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    rng = np.random.default_rng(0)
    for off in rng.integers(0, N - 50, 50):
        view.page(int(off), 50)
    before = rss_kb()
    for off in rng.integers(0, N - 50, 400):
        view.page(int(off), 50)
    assert rss_kb() - before < 20_000
    eng.close()


def test_temp_files_live_in_the_private_dir(data: tuple[pa.Table, str, str]) -> None:
    t, _, _ = data
    eng = Engine()
    view = eng.view(Source.from_arrow(t), Query(sort=["k"]))
    view.page(9_000, 3)
    assert view._job is not None
    assert os.path.dirname(view._job.path) == _background.temp_dir()
    eng.close()


def test_summary_from_parquet_statistics_equals_scan(data: tuple[pa.Table, str, str]) -> None:
    t, a, b = data
    eng = Engine()
    pq_view = eng.view(Source.from_parquet([a, b]), Query())
    arrow_view = eng.view(Source.from_arrow(t), Query())
    for col in ("score", "k", "id", "label", "caption"):
        assert pq_view.summary(col) == arrow_view.summary(col), col
    assert pq_view.relation.finite_bounds("score") is not None


def test_summary_with_infinities_falls_back_to_a_scan(tmp_path) -> None:
    t = pa.table({"x": [1.0, float("inf"), float("nan"), None, -2.0, 3.0]})
    pq.write_table(t, tmp_path / "x.parquet")
    eng = Engine()
    view = eng.view(Source.from_parquet([str(tmp_path / "x.parquet")]), Query())
    assert view.relation.finite_bounds("x") is None
    s = view.summary("x", bins=5)
    assert (s["min"], s["max"], s["nulls"]) == (-2.0, 3.0, 2)
    # inf is counted apart (posinf), not in the last bin
    assert sum(s["counts"]) == 3 and s["counts"][-1] == 1 and s["posinf"] == 1
    assert s == eng.view(Source.from_arrow(t), Query()).summary("x", bins=5)


def test_top_values_one_scan() -> None:
    t = pa.table({"s": ["a", "b", None, "a", "c", None, "a", "b"]})
    s = Engine().view(Source.from_arrow(t), Query()).summary("s")
    assert s == {
        "type": "top",
        "values": ["a", "b", "c"],
        "counts": [3, 2, 1],
        "nulls": 2,
        "distinct": 3,
        "count": 8,
    }
    empty = Engine().view(Source.from_arrow(t), Query(filter="s == 'z'")).summary("s")
    assert empty == {
        "type": "top",
        "values": [],
        "counts": [],
        "nulls": 0,
        "distinct": 0,
        "count": 0,
    }


def test_errors_are_dsviz_errors() -> None:
    assert issubclass(QueryError, dv.DsvizError) and issubclass(QueryError, ValueError)
    assert issubclass(FilterError, dv.ValidationError)
    with pytest.raises(dv.DsvizError):
        Engine().view(Source.from_arrow(pa.table({"x": [1]})), Query(filter="x >"))


class _Counting(_background.Job):
    """A job that counts its runs; the first run holds until ``release`` is set."""

    needs_duckdb = False

    def __init__(self, hold: bool = False) -> None:
        super().__init__()
        self.runs = 0
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def run(self, con: object) -> None:
        self.runs += 1
        self.started.set()
        assert self.release.wait(10)


def test_submit_or_wait_on_a_running_job_never_runs_it_twice() -> None:
    worker = _background.BackgroundWorker()
    job = _Counting(hold=True)
    worker.submit(job)
    assert job.started.wait(10)
    worker.submit(job)  # the old worker queued it again while it ran
    waiter = threading.Thread(target=worker.wait, args=(job, 10))
    waiter.start()
    job.release.set()
    assert job.wait(10)
    waiter.join(10)
    after = _Counting()
    worker.submit(after)  # runs after anything wrongly queued before it
    assert after.wait(10)
    assert job.runs == 1
    worker.stop()


def test_work_nobody_waits_for_does_not_start_while_a_page_holds_the_worker() -> None:
    """A deep page's scans hold the worker (``holding``): a job queued before them (the order
    a sorted first page queued) waits past ``MAX_DEFER_S`` until they end; a job someone
    waits for still runs at once."""
    worker = _background.BackgroundWorker()
    queued, urgent = _Counting(), _Counting()
    with worker.holding():
        worker.submit(queued)
        assert not queued.started.wait(_background.MAX_DEFER_S + 0.5)
        worker.submit(urgent, urgent=True)
        assert urgent.wait(10)
        assert not queued.started.is_set()
    assert queued.wait(10) and queued.runs == 1
    worker.stop()


def test_a_jump_after_the_first_page_runs_its_scans_before_the_order(tmp_path) -> None:
    """The widget's jump: a sorted first page (which queues the view's order), then at once
    a page in the middle. Its scans run alone; the order starts after them."""
    from dsviz_widget.engine import _rank

    n = 60_000
    path = tmp_path / "t.parquet"
    rng = np.random.default_rng(3)
    pq.write_table(pa.table({"score": rng.random(n), "i": np.arange(n)}), path)
    engine = Engine()
    events: list[str] = []
    run_order, scan = _background.OrderJob.run, _rank.Ranks.ids

    def order(job: _background.OrderJob, con: object) -> None:
        events.append("order")
        run_order(job, con)

    def scans(ranks: _rank.Ranks, start: int, stop: int) -> object:
        time.sleep(_background.MAX_DEFER_S + 0.2)  # slower than the defer: as at 100M rows
        got = scan(ranks, start, stop)
        events.append("scans")
        return got

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_background.OrderJob, "run", order)
        mp.setattr(_rank.Ranks, "ids", scans)
        view = engine.view(Source.from_parquet([str(path)]), Query(sort=["-score"]))
        view.page(0, 50)
        deep = view.page(n // 2, 50).column("_row").to_pylist()
        assert view.order()[n // 2 : n // 2 + 50].tolist() == deep
    assert events[:2] == ["scans", "order"], events
    engine.close()


def test_waits_racing_the_worker_run_each_job_once() -> None:
    # wait() used to read the running job without the lock: a job popped between that
    # read and its re-submit was queued again and ran twice.
    worker = _background.BackgroundWorker()
    jobs = [_Counting() for _ in range(300)]
    waiters = []
    for job in jobs:
        worker.submit(job)
        t = threading.Thread(target=worker.wait, args=(job, 10))
        t.start()
        waiters.append(t)
    for t in waiters:
        t.join(10)
    last = _Counting()
    worker.submit(last)
    assert last.wait(10)
    assert [j.runs for j in jobs] == [1] * len(jobs)
    worker.stop()


@pytest.fixture()
def own_stores(monkeypatch: pytest.MonkeyPatch) -> object:
    # Row stores are shared process-wide: these tests get a registry of their own.
    budget = _background.ROW_STORES
    fresh = _background.DiskBudget(
        budget.env, budget.share, budget.cap, budget.where, budget.max_items
    )
    monkeypatch.setattr(_background, "ROW_STORES", fresh)
    monkeypatch.setattr(_relation, "ROW_STORE_MIN_ROWS", 0)
    yield fresh.items
    for store in list(fresh.items.values()):
        store.cancelled = True
        store.wait(30)
        store.discard()


def _two_sources(tmp_path, t: pa.Table) -> tuple[Source, Source]:
    pq.write_table(t, tmp_path / "one.parquet", row_group_size=4_000)
    pq.write_table(t.slice(0, N // 2), tmp_path / "two.parquet", row_group_size=4_000)
    return Source.from_parquet([str(tmp_path / "one.parquet")]), Source.from_parquet(
        [str(tmp_path / "two.parquet")]
    )


def _built_store(eng: Engine, src: Source, q: Query) -> tuple[object, _background.RowStore | None]:
    view = eng.view(src, q)
    view.page(0, 5)
    view.relation.prepare(eng.worker)
    store = view.relation.store
    assert store is not None and store.wait(30)
    if isinstance(store.error, _background.StoreTooBig):
        assert not os.path.exists(store.path)
        view.relation.prepare(eng.worker)
        assert view.relation.store is None  # not tried again on every sorted view
        return view, None
    assert store.error is None
    return view, store


def test_row_stores_stay_within_the_disk_budget_evicting_the_least_recent(
    own_stores: object, data: tuple[pa.Table, str, str], tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t, _, _ = data
    one, two = _two_sources(tmp_path, t)
    paths = tuple(one.parquet)
    size_one = _background.store_size(paths, one.schema)
    # Room for the first store, not for both.
    monkeypatch.setenv(_background.ROW_STORE_LIMIT_ENV, str(int(size_one * 1.2)))
    eng = Engine()
    q = Query(sort=["-score", "caption"])
    view_one, store_one = _built_store(eng, one, q)
    assert store_one is not None and os.path.exists(store_one.path)
    assert os.path.getsize(store_one.path) <= store_one.size  # the estimate bounds the file
    _, store_two = _built_store(eng, two, q)
    assert store_two is not None and os.path.exists(store_two.path)
    # The least recently used store, which nobody was reading, is gone from disk ...
    assert store_one.cancelled and not os.path.exists(store_one.path)
    on_disk = sum(os.path.getsize(s.path) for s in own_stores.values())  # type: ignore[attr-defined]
    assert on_disk <= int(size_one * 1.2)
    # ... and its view's pages are still right: read from Parquet by id.
    want = _reference(t, q)
    got = view_one.page(20_000, 9).column("_row").to_numpy()  # type: ignore[attr-defined]
    assert got.tolist() == want[20_000:20_009].tolist()
    eng.close()


def test_no_row_store_over_the_budget_or_while_the_others_are_read(
    own_stores: object, data: tuple[pa.Table, str, str], tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t, _, _ = data
    one, two = _two_sources(tmp_path, t)
    q = Query(filter="k >= 2", sort=["label", "-id"])
    want = _reference(t, q)
    monkeypatch.setenv(_background.ROW_STORE_LIMIT_ENV, "10kB")  # smaller than any store
    eng = Engine()
    view, store = _built_store(eng, one, q)
    assert store is None
    page = view.page(9_000, 6)  # type: ignore[attr-defined]
    assert page.column("_row").to_numpy().tolist() == want[9_000:9_006].tolist()
    assert page.column("id").to_pylist() == t.column("id").take(want[9_000:9_006]).to_pylist()
    eng.close()

    size_two = _background.store_size(tuple(two.parquet), two.schema)
    size_one = _background.store_size(tuple(one.parquet), one.schema)
    monkeypatch.setenv(_background.ROW_STORE_LIMIT_ENV, str(size_one + size_two // 2))
    eng = Engine()
    _, store_one = _built_store(eng, one, q)
    assert store_one is not None
    store_one.reading += 1  # a page being read from it right now
    try:
        _, store_two = _built_store(eng, two, q)
    finally:
        store_one.reading -= 1
    assert store_two is None and os.path.exists(store_one.path)  # never evicted mid-read
    eng.close()


@pytest.mark.parametrize(
    ("text", "value"),
    [("20GB", 20 * 10**9), ("500 MB", 500 * 10**6), ("1.5GiB", 3 * 2**29), ("4096", 4096)],
)
def test_row_store_limit_syntax(text: str, value: int) -> None:
    assert _background.parse_bytes(text, "x") == value


def test_row_store_limit_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_background.ROW_STORE_LIMIT_ENV, "lots")
    with pytest.raises(ValueError, match="DSVIZ_ROW_STORE_LIMIT"):
        _background.row_store_limit()


def test_a_row_store_outgrowing_its_estimate_stops_and_is_not_tried_again(
    own_stores: object, data: tuple[pa.Table, str, str], tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t, _, _ = data
    one, _ = _two_sources(tmp_path, t)
    key = tuple((p, *_background._stat(p)) for p in one.parquet)
    monkeypatch.setitem(_background._sizes, key, 50_000)  # an estimate far too small
    monkeypatch.setenv(_background.ROW_STORE_LIMIT_ENV, "1GB")
    eng = Engine()
    q = Query(sort=["caption"])
    view = eng.view(one, q)
    view.page(0, 5)
    view.relation.prepare(eng.worker)
    store = view.relation.store
    assert store is not None and store.wait(30)
    assert isinstance(store.error, _background.StoreTooBig) and not os.path.exists(store.path)
    view.relation.prepare(eng.worker)
    assert view.relation.store is None  # not rebuilt on every sorted view
    want = _reference(t, q)
    assert view.page(15_000, 4).column("_row").to_numpy().tolist() == want[15_000:15_004].tolist()
    eng.close()


class _SlowStore(_background.RowStore):
    """A row store that writes until released, pausing between "row groups"."""

    def __init__(self) -> None:
        super().__init__((), pa.schema([]))
        self.started = threading.Event()
        self.release = threading.Event()

    def run(self, con: object) -> None:
        self.started.set()
        while not self.release.wait(0.005):
            self.pause()


def test_an_order_waited_for_runs_while_a_row_store_is_written() -> None:
    worker = _background.BackgroundWorker()
    store = _SlowStore()
    worker.submit(store)
    assert store.started.wait(10)
    later = _Counting()
    worker.submit(later)  # nobody waits for it: after the store
    waited = _Counting()
    assert worker.wait(waited, 10)  # runs between two of the store's row groups
    assert waited.runs == 1 and not store.done.is_set() and later.runs == 0
    store.release.set()
    assert later.wait(10) and store.done.is_set() and store.error is None
    worker.stop()
    store.discard()


def test_a_filtered_views_order_counts_the_ids_it_writes(data: tuple[pa.Table, str, str]) -> None:
    t, _, _ = data
    q = Query(filter="k >= 3", sort=["-score"])
    want = _reference(t, q)
    eng = Engine()
    view = eng.view(Source.from_arrow(t), q)
    job = view._order_job()
    assert job.expected is None  # the order does not wait for the view's count
    assert eng.worker.wait(job, 30) and job.error is None
    assert job.num_rows == len(want) and np.array_equal(job.order(), want)
    eng.close()
