"""Pages read while a Parquet source's row store is still being written: the rows it holds
already come from it, the others from Parquet (``_rows.GrowingBatches``), and every page
equals pandas' rows, whatever ids it asks for and however far the store got."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Source, _background

N = 12_000
GROUP = 1_000  # rows per Parquet row group: the store pauses before each


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, list[str]]:
    rng = np.random.default_rng(11)
    score = rng.random(N)
    score[::13] = np.nan
    wide = pa.decimal256(50, 3)  # read from Parquet by Arrow, not DuckDB: exact either way
    t = pa.table(
        {
            "id": pa.array(np.arange(N)),
            "score": pa.array(score, mask=rng.random(N) < 0.02),
            "label": pa.array(
                [None if i % 17 == 0 else f"ü {i % 5}" for i in range(N)], pa.string()
            ),
            "big": pa.array([Decimal(f"1{i:040d}.125") for i in range(N)], wide),
            "box": pa.array(  # a struct with a list inside, as image columns are
                [None if i % 29 == 0 else {"w": i, "tags": ["a"] * (i % 3)} for i in range(N)],
                pa.struct([("w", pa.int32()), ("tags", pa.list_(pa.string()))]),
            ),
        }
    )
    d = tmp_path_factory.mktemp("growing")
    paths = [str(d / "a.parquet"), str(d / "b.parquet")]
    pq.write_table(t.slice(0, N // 3), paths[0], row_group_size=GROUP)
    pq.write_table(t.slice(N // 3), paths[1], row_group_size=GROUP)
    return t, paths


class Paused:
    """A row store written in a thread of its own, stopped before row group ``at``."""

    def __init__(self, store: _background.RowStore, at: int) -> None:
        self.store = store
        self.groups = 0
        self.at = at
        self.reached = threading.Event()
        self.go = threading.Event()
        store.pause = self._pause
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _pause(self) -> None:
        if self.groups == self.at:
            self.reached.set()
            self.go.wait(30)
        self.groups += 1

    def _run(self) -> None:
        try:
            self.store.run(None)
        except BaseException as exc:  # the test reads it
            self.store.error = exc
        finally:
            self.reached.set()
            self.store.done.set()


@pytest.fixture()
def own_stores(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    budget = _background.ROW_STORES
    fresh = _background.DiskBudget(
        budget.env, budget.share, budget.cap, budget.where, budget.max_items
    )
    monkeypatch.setattr(_background, "ROW_STORES", fresh)
    monkeypatch.setattr(_background, "STORE_BATCH_ROWS", 300)  # several batches a group
    yield
    for store in list(fresh.items.values()):
        assert isinstance(store, _background.RowStore)
        store.discard()


def _expected(t: pa.Table, ids: list[int], columns: list[str]) -> pd.DataFrame:
    return t.select(columns).take(pa.array(ids, pa.int64())).to_pandas()


@pytest.mark.parametrize("at", [0, 1, 5, 11])
def test_pages_while_the_store_is_written_equal_pandas(
    own_stores: None, files: tuple[pa.Table, list[str]], at: int
) -> None:
    t, paths = files
    engine = Engine(background=False)
    src = Source.from_parquet(paths)
    store, new = _background.row_store(tuple(src.parquet), src.schema)
    assert store is not None and new
    rel = engine._relation(src)
    rel.store = store  # as ``prepare`` would, without the engine's worker
    paused = Paused(store, at)
    assert paused.reached.wait(30)
    assert not store.done.is_set()
    written = at * GROUP  # the groups before ``at``: in the store already
    narrow = ["id", "score", "label", "box"]

    @settings(max_examples=30, deadline=None)
    @given(
        ids=st.lists(st.integers(0, N - 1), min_size=1, max_size=40),
        wide=st.booleans(),
    )
    def check(ids: list[int], wide: bool) -> None:
        columns = [*narrow, "big"] if wide else narrow
        before = store.rows_read_early
        got = engine.rows(src, ids, columns)
        assert got.column("_row").to_pylist() == ids
        pd.testing.assert_frame_equal(got.select(columns).to_pandas(), _expected(t, ids, columns))
        early = sum(1 for i in ids if i < written)
        assert store.rows_read_early - before == early  # from the store, not Parquet

    check()
    paused.go.set()
    paused.thread.join(30)
    assert store.done.is_set() and store.error is None
    ids = [N - 1, 0, written, 7, 7]
    got = engine.rows(src, ids, narrow)
    pd.testing.assert_frame_equal(got.select(narrow).to_pandas(), _expected(t, ids, narrow))
    engine.close()


def test_a_store_with_dictionaries_is_read_only_when_complete(
    own_stores: None, tmp_path: Path
) -> None:
    # Their batches need the dictionary messages: the Parquet read serves until it is done.
    t = pa.table({"c": pa.array(["a", "b", None, "a"] * 1_000).dictionary_encode()})
    path = str(tmp_path / "d.parquet")
    pq.write_table(t, path, row_group_size=GROUP)
    engine = Engine(background=False)
    src = Source.from_parquet([path])
    store, _ = _background.row_store(tuple(src.parquet), src.schema)
    assert store is not None
    engine._relation(src).store = store
    paused = Paused(store, 3)
    assert paused.reached.wait(30)
    got = engine.rows(src, [5, 0, 3_998], ["c"])
    assert got.column("c").to_pylist() == ["b", "a", None]
    assert store.rows_read_early == 0
    paused.go.set()
    paused.thread.join(30)
    engine.close()
