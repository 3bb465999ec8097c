"""A row store decodes several row groups at once (``_background.STORE_READERS`` threads)
and writes them in order: whatever order the decoding finishes in, the store holds the
source's rows in source order, a page read from it (whole or half written) equals pandas'
rows, at most ``STORE_READERS`` row groups are decoded at once, and a cancelled store leaves
no reader running."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Source, _background

N = 6_000
GROUP = 500  # rows per Parquet row group


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, list[str]]:
    rng = np.random.default_rng(5)
    score = rng.random(N)
    score[::11] = np.nan
    t = pa.table(
        {
            "id": pa.array(np.arange(N)),
            "score": pa.array(score, mask=rng.random(N) < 0.03),
            "label": pa.array([None if i % 7 == 0 else f"é{i % 4}" for i in range(N)]),
            "tags": pa.array([["a"] * (i % 3) if i % 5 else None for i in range(N)]),
        }
    )
    d = tmp_path_factory.mktemp("readers")
    paths = [str(d / "a.parquet"), str(d / "b.parquet")]
    pq.write_table(t.slice(0, 2_250), paths[0], row_group_size=GROUP)  # a short last group
    pq.write_table(t.slice(2_250), paths[1], row_group_size=GROUP)
    return t, paths


@pytest.fixture()
def own_stores(fresh_row_stores: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_background, "STORE_READERS", 2)


class SlowReads:
    """Wraps ``ParquetFile.read_row_group``: the even row groups of each file take longer,
    so the next one (read by the other thread) finishes first; counts reads at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = pq.ParquetFile.read_row_group
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.threads: set[str] = set()
        self.gate: threading.Event | None = None  # set: reads wait for it
        slow = self

        def read(pf: pq.ParquetFile, i: int, *args: object, **kw: object) -> pa.Table:
            return slow._read(pf, i, *args, **kw)

        monkeypatch.setattr(pq.ParquetFile, "read_row_group", read)

    def _read(self, pf: pq.ParquetFile, i: int, *args: object, **kw: object) -> pa.Table:
        if not threading.current_thread().name.startswith("dsviz-store-read"):
            return self.real(pf, i, *args, **kw)  # the store's size estimate, not a reader
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.threads.add(threading.current_thread().name)
        try:
            if self.gate is not None:
                self.gate.wait(30)
            if i % 2 == 0:
                time.sleep(0.01)
            return self.real(pf, i, *args, **kw)
        finally:
            with self.lock:
                self.now -= 1


def _same(got: pa.Table, want: pa.Table) -> None:
    """Equal values, column by column (NaN equals NaN; list fields may be named otherwise)."""

    def plain(v: object) -> object:
        return "NaN" if isinstance(v, float) and v != v else v

    assert got.column_names == want.column_names and got.num_rows == want.num_rows
    for name in want.column_names:
        assert [plain(v) for v in got.column(name).to_pylist()] == [
            plain(v) for v in want.column(name).to_pylist()
        ], name


def _store(paths: list[str]) -> tuple[Source, _background.RowStore]:
    src = Source.from_parquet(paths)
    store, new = _background.row_store(tuple(src.parquet), src.schema)
    assert store is not None and new
    return src, store


def test_rows_are_written_in_source_order_whatever_order_they_are_decoded_in(
    own_stores: None, files: tuple[pa.Table, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    t, paths = files
    reads = SlowReads(monkeypatch)
    _, store = _store(paths)
    store.run(None)
    store.done.set()
    assert 1 < reads.most <= 2  # two row groups decoded at once, never more
    assert len(reads.threads) == 2
    with pa.memory_map(store.path) as f:
        written = pa.ipc.open_file(f).read_all()
    _same(written, t)  # every row, in source order, exactly
    assert store.starts[-1] == N


def test_big_row_groups_are_decoded_one_at_a_time(
    own_stores: None, files: tuple[pa.Table, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store holds up to STORE_READERS + 1 decoded row groups: big ones, one at a time.
    t, paths = files
    monkeypatch.setattr(_background, "STORE_PARALLEL_MAX_BYTES", 0)
    reads = SlowReads(monkeypatch)
    _, store = _store(paths)
    store.run(None)
    assert reads.most == 1
    with pa.memory_map(store.path) as f:
        _same(pa.ipc.open_file(f).read_all(), t)


def test_pages_while_readers_run_ahead_equal_pandas(
    own_stores: None, files: tuple[pa.Table, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store stopped before row group ``at`` while the readers have decoded ahead: pages
    read the written groups from the store, the rest (decoded or not) from Parquet."""
    t, paths = files
    SlowReads(monkeypatch)
    engine = Engine(background=False)
    src, store = _store(paths)
    engine._relation(src).store = store
    at = 7  # file a's five row groups (the last of 250 rows) and two of file b
    groups = 0
    reached, go = threading.Event(), threading.Event()

    def pause() -> None:
        nonlocal groups
        if groups == at:
            reached.set()
            go.wait(30)
        groups += 1

    store.pause = pause

    def run() -> None:
        try:
            store.run(None)
        finally:
            reached.set()
            store.done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert reached.wait(30) and not store.done.is_set()
    written = 2_250 + 2 * GROUP
    columns = ["id", "score", "label", "tags"]

    @settings(max_examples=25, deadline=None)
    @given(ids=st.lists(st.integers(0, N - 1), min_size=1, max_size=60))
    def check(ids: list[int]) -> None:
        before = store.rows_read_early
        got = engine.rows(src, ids, columns)
        assert got.column("_row").to_pylist() == ids
        want = t.take(pa.array(ids, pa.int64())).to_pandas()
        pd.testing.assert_frame_equal(got.select(columns).to_pandas(), want)
        assert store.rows_read_early - before == sum(1 for i in ids if i < written)

    check()
    go.set()
    thread.join(30)
    assert store.error is None and store.starts[-1] == N
    engine.close()


def test_a_cancelled_store_leaves_no_reader_running(
    own_stores: None,
    files: tuple[pa.Table, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _, paths = files
    reads = SlowReads(monkeypatch)
    reads.gate = threading.Event()  # the first reads hang until the store is cancelled
    _, store = _store(paths)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            store.run(None)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while reads.now < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert reads.now == 2  # both readers busy
    store.cancelled = True
    reads.gate.set()
    thread.join(30)
    assert not thread.is_alive()
    assert len(failed) == 1 and type(failed[0]).__name__ == "_Cancelled"
    assert reads.now == 0
    assert not any(th.name.startswith("dsviz-store-read") for th in threading.enumerate())
    assert not list(Path(_background.temp_dir()).glob("*.arrow.part"))
