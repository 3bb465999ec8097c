"""``table.query`` and ``table.count`` on the kernel's one engine: the same view is found again
(by the table's files, not by the Python object), rows come before the count, and nothing about
the results changes for it (compared with pandas)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.engine import Engine, Query, Source, shared_engine
from dsviz_widget.engine._view import TOP_N

N = 3 * TOP_N  # deep pages go past the top-N, through the view's order


def _frame(n: int = N, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    score[::9] = np.nan  # missing: sorted last, kept by no comparison
    return pd.DataFrame(
        {"id": np.arange(n), "score": score, "label": rng.choice(["cat", "dog", "eel"], n)}
    )


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    """``sort=["-score"]`` as the engine means it: NaN last, ties by row."""
    return df.sort_values(["score", "id"], ascending=[False, True], na_position="last")


def _log(df: pd.DataFrame) -> None:
    with dv.init(project="p15") as run:
        art = dv.Artifact("d", type="dataset")
        art.add(dv.Table(dataframe=df), "t")
        run.log_artifact(art)


def _read() -> dv.Table:
    with dv.init(project="p15") as run:
        table = run.use_artifact("d:latest").get("t")
    assert isinstance(table, dv.Table)
    return table


def test_a_logged_tables_repeated_deep_query_reuses_its_view(store_dir: Path) -> None:
    df = _frame()
    _log(df)
    table = _read()
    want = _sorted(df)["id"].tolist()
    engine = shared_engine()
    deep = N // 2
    first = table.query(sort=["-score"], offset=deep, limit=10)
    assert first["id"].tolist() == want[deep : deep + 10]
    assert table.engine_source() is table.engine_source()  # kept by the Parquet backend
    view = engine.view(table.engine_source(), Query(sort=["-score"]))
    job, views = view._job, len(engine._views)
    # The first deep page was answered from bins (engine/_rank); the order started after it.
    assert job is not None and job.done.wait(60)
    again = table.query(sort=["-score"], offset=deep + 10, limit=10)
    assert again["id"].tolist() == want[deep + 10 : deep + 20]
    assert engine.view(table.engine_source(), Query(sort=["-score"])) is view
    assert view._job is job and len(engine._views) == views  # no new view, no new order
    hits = view.pages.hits
    repeated = table.query(sort=["-score"], offset=deep, limit=10)  # the first call again
    assert repeated["id"].tolist() == want[deep : deep + 10]
    assert view.pages.hits == hits + 1  # answered from the view's kept page, not read again
    assert view._job is job and len(engine._views) == views
    # Another read of the same version is another Table over the same file: the same view.
    other = _read()
    assert other is not table and other.engine_source() is not table.engine_source()
    assert engine.view(other.engine_source(), Query(sort=["-score"])) is view
    assert other.query(sort=["-score"], offset=N - 5, limit=5)["id"].tolist() == want[-5:]
    assert view._job is job


def test_a_changed_file_is_not_the_same_view(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pandas(_frame(seed=1), preserve_index=False), path)
    before = dv.Table.from_parquet(str(path))
    assert (
        before.query(sort=["-score"], limit=3)["id"].tolist()
        == (_sorted(_frame(seed=1))["id"].tolist()[:3])
    )
    engine = shared_engine()
    old_view = engine.view(before.engine_source(), Query(sort=["-score"]))
    # Rewritten (a new file moved over the old one, as a careful writer does), other rows.
    df = _frame(n=N - 7, seed=2)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "new.parquet")
    os.replace(tmp_path / "new.parquet", path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # whatever the clock
    after = dv.Table.from_parquet(str(path))
    assert after.engine_source().identity != old_view.relation.source.identity
    assert engine.view(after.engine_source(), Query(sort=["-score"])) is not old_view
    assert after.query(sort=["-score"], limit=3)["id"].tolist() == _sorted(df)["id"].tolist()[:3]
    assert after.count() == N - 7 and after.count("score > 0.5") == int((df.score > 0.5).sum())


def test_a_filtered_first_page_does_not_count_and_count_is_exact() -> None:
    df = _frame()
    table = dv.Table(dataframe=df)
    engine = shared_engine()
    page = table.query(filter="score > 0.1", sort=["-score"], limit=20)
    keep = _sorted(df[df.score > 0.1])
    assert page["id"].tolist() == keep["id"].tolist()[:20]
    view = engine.view(table.engine_source(), Query(filter="score > 0.1", sort=["-score"]))
    assert not view.counted  # rows first
    assert table.count("score > 0.1") == len(keep)
    # Counted once for the filter: the sorted view (and any other sort) knows it now.
    assert view.counted and view.num_rows == len(keep)
    other = engine.view(table.engine_source(), Query(filter="score > 0.1", sort=["id"]))
    assert other.counted and other.num_rows == len(keep)
    assert table.count() == N and table.count("") == N


def test_query_passes_the_aggregates_asked_for() -> None:
    df = _frame()
    table = dv.Table(dataframe=df)
    got = table.query(group_by="label", aggregates={"score": ["mean"]}, limit=10)
    assert list(got.columns) == ["label", "count", "mean(score)"]  # no sample rows asked
    want = df.groupby("label")["score"].agg(["size", "mean"])  # NaN left out of the mean
    by_label = got.set_index("label")
    assert by_label["count"].to_dict() == want["size"].to_dict()
    assert np.allclose(by_label["mean(score)"].sort_index(), want["mean"].sort_index())
    counted = table.query(group_by=["label"], aggregates={}, limit=10)
    assert list(counted.columns) == ["label", "count"]
    with pytest.raises(dv.ValidationError, match="aggregates need group_by"):
        table.query(aggregates={"score": ["mean"]})
    with pytest.raises(dv.ValidationError, match="function name"):
        table.query(group_by="label", aggregates={"score": [1]})  # type: ignore[list-item]


def test_joined_tables_and_comparisons_reuse_their_views_and_count() -> None:
    df = _frame(n=500)
    right = pd.DataFrame({"id": df.id, "weight": np.arange(500) % 7})
    joined = dv.JoinedTable(dv.Table(dataframe=df), dv.Table(dataframe=right), "id")
    engine = shared_engine()
    assert joined.engine_source() is joined.engine_source()
    first = joined.query(filter="weight == 3", sort=["-score"], limit=5)
    view = engine.view(joined.engine_source(), Query(filter="weight == 3", sort=["-score"]))
    assert joined.query(filter="weight == 3", sort=["-score"], offset=5, limit=5) is not None
    assert engine.view(joined.engine_source(), Query(filter="weight == 3", sort=["-score"])) is view
    both = df.assign(weight=right.weight)
    keep = _sorted(both[both.weight == 3])
    assert first["id"].tolist() == keep["id"].tolist()[:5]
    assert joined.count("weight == 3") == len(keep)
    v1 = df.assign(score=df.score.where(df.id % 3 != 0, 0.5))
    cmp = dv.compare(dv.Table(dataframe=df), dv.Table(dataframe=v1), on="id")
    changed = int((df.score.fillna(-1) != v1.score.fillna(-1)).sum())
    assert cmp.count("changed") == changed and cmp.count() == 500


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    threshold=st.floats(0.0, 1.0),
    offset=st.integers(0, TOP_N),
    limit=st.integers(0, 300),
    sort=st.sampled_from([[], ["-score"], ["label", "score"]]),
    count_first=st.booleans(),
)
def test_pages_and_counts_match_pandas_whether_counted_first_or_not(
    threshold: float, offset: int, limit: int, sort: list[str], count_first: bool
) -> None:
    df = _FRAME
    src = Source.from_arrow(pa.Table.from_pandas(df, preserve_index=False))
    engine = Engine(background=False)  # a fresh cache: the first page is the uncounted one
    try:
        view = engine.view(src, Query(filter=f"score > {threshold!r}", sort=sort))
        keep = df[df.score > threshold]
        if sort:
            names = [k.lstrip("-") for k in sort] + ["id"]
            asc = [not k.startswith("-") for k in sort] + [True]
            keep = keep.sort_values(names, ascending=asc, na_position="last")
        if count_first:
            assert view.num_rows == len(keep)
        got = view.page(offset, limit).column("_row").to_pylist()
        assert got == keep["id"].tolist()[offset : offset + limit]
        assert view.num_rows == len(keep)
        deeper = view.page(offset + limit, 50).column("_row").to_pylist()
        assert deeper == keep["id"].tolist()[offset + limit : offset + limit + 50]
    finally:
        engine.close()


_FRAME = _frame(n=TOP_N + 700, seed=3)
