"""A view keeps its last pages (``engine/_pages``): the same page asked again is not read again,
and whatever order pages are asked in, each equals pandas' answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source
from dsviz_widget.engine._pages import MAX_BYTES, MAX_PAGES, RecentPages
from dsviz_widget.engine._view import TOP_N

N = 3 * TOP_N  # deep pages go past the top-N, through the view's order


def _frame(n: int = N, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 50, n).astype(np.float64)  # many ties: broken by row
    score[::7] = np.nan
    score[3::11] = None  # pandas holds both as NaN: the engine treats both as missing
    return pd.DataFrame({"id": np.arange(n), "score": score, "label": rng.choice(["a", "b"], n)})


def _want(df: pd.DataFrame, desc: bool) -> list[int]:
    """``sort=["[-]score"]``: missing last either way, ties by row."""
    got = df.sort_values(["score", "id"], ascending=[not desc, True], na_position="last")
    return got["id"].tolist()


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, str]:
    df = _frame()
    path = tmp_path_factory.mktemp("pages") / "t.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=1000)
    return df, str(path)


def test_a_repeated_deep_page_is_answered_from_the_view_without_a_read(
    parquet: tuple[pd.DataFrame, str],
) -> None:
    df, path = parquet
    engine = Engine()
    try:
        want = _want(df, desc=True)
        deep = N // 2
        first = engine.query(Source.from_parquet([path]), sort=["-score"], offset=deep, limit=20)
        assert first.column("id").to_pylist() == want[deep : deep + 20]
        view = engine.view(Source.from_parquet([path]), Query(sort=["-score"]))
        job, views, hits = view._job, engine.cached_views(), view.pages.hits
        # The first deep page was answered from bins (_rank); the order started after it.
        assert job is not None and job.done.wait(60)
        # A new Source of the same file, as table.query makes: the same view, the same page.
        again = engine.query(Source.from_parquet([path]), sort=["-score"], offset=deep, limit=20)
        assert again is first  # the page read the first time, not a new read
        assert view.pages.hits == hits + 1
        assert view._job is job and engine.cached_views() == views  # no new view, no new order
        # Another page of the view is read, then kept too.
        other = engine.query(Source.from_parquet([path]), sort=["-score"], offset=5, limit=20)
        assert other.column("id").to_pylist() == want[5:25]
        assert view.pages.hits == hits + 1
    finally:
        engine.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    calls=st.lists(
        st.tuples(
            st.booleans(),  # descending
            st.integers(0, N + 10),  # offset (past the end too)
            st.sampled_from([0, 1, 7, 50]),  # limit
        ),
        min_size=1,
        max_size=12,
    ),
    repeat=st.lists(st.integers(0, 11), max_size=6),
)
def test_pages_in_any_order_and_repeated_equal_pandas(
    parquet: tuple[pd.DataFrame, str],
    calls: list[tuple[bool, int, int]],
    repeat: list[int],
) -> None:
    df, path = parquet
    asked = calls + [calls[i % len(calls)] for i in repeat]  # some calls again, later
    engine = Engine()
    try:
        for desc, offset, limit in asked:
            page = engine.query(
                Source.from_parquet([path]),
                sort=["-score" if desc else "score"],
                offset=offset,
                limit=limit,
            )
            want = _want(df, desc)[offset : offset + limit]
            assert page.column("id").to_pylist() == want
            assert page.column("_row").to_pylist() == want  # id is the row number
            got = page.column("score").to_pylist()
            expected = df["score"].iloc[want].tolist()
            assert [None if v is None or v != v else v for v in got] == [
                None if v != v else v for v in expected
            ]
    finally:
        engine.close()


def test_kept_pages_are_bounded_by_count_and_bytes() -> None:
    pages = RecentPages()
    small = pa.table({"x": np.arange(10)})
    for k in range(MAX_PAGES + 3):
        pages.put(k * 10, 10, small)
    assert pages.get(0, 10) is None  # the oldest went first
    kept = [k for k in range(MAX_PAGES + 3) if pages.get(k * 10, 10) is not None]
    assert kept == list(range(3, MAX_PAGES + 3))
    big = pa.table({"x": np.zeros(MAX_BYTES // 8 + 1)})
    pages.put(0, 100_000, big)
    assert pages.get(0, 100_000) is None  # too big to keep: answered, not kept
    half = pa.table({"x": np.zeros(MAX_BYTES // 16 + 1000)})
    pages.put(1, 1, half)
    pages.put(2, 2, half)
    assert pages.get(2, 2) is half and pages.get(1, 1) is None  # the bytes bound evicts too


def test_group_pages_are_slices_of_the_groups_not_kept_copies() -> None:
    src = Source.from_arrow(pa.table({"label": ["a", "b", "a"]}))
    engine = Engine()
    try:
        view = engine.view(src, Query(group_by=["label"]))
        for _ in range(2):
            page = view.page(0, 10)
            labels, counts = page.column("label").to_pylist(), page.column("count").to_pylist()
            assert dict(zip(labels, counts, strict=True)) == {"a": 2, "b": 1}
        assert view.pages.hits == 0  # computed once with the view: nothing to keep
    finally:
        engine.close()
