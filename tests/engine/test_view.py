"""Views as the widget and ``table.query`` use them: counts, pages, groups, summaries,
joins, comparisons and the errors a user sees."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsviz_widget.engine import (
    Engine,
    FilterError,
    Query,
    QueryError,
    Source,
    compare_sources,
    join_sources,
    parse_filter,
)


def test_counts_and_pages(engine: Engine, source: Source) -> None:
    view = engine.view(source, Query(filter="score > 0.3", sort=["-score", "id"]))
    assert (view.total_rows, view.num_rows) == (8, 4)
    page = view.page(0, 3)
    assert page.column("id").to_pylist() == [0, 5, 4]
    assert page.column("_row").type == pa.int64()
    assert view.page(3, 10).column("id").to_pylist() == [7]
    assert view.page(10, 10).num_rows == 0


def test_page_keeps_storage_schema(engine: Engine, source: Source, table: pa.Table) -> None:
    page = engine.view(source, Query(sort=["id"])).page(0, 2)
    assert page.schema.remove(page.schema.get_field_index("_row")) == table.schema.remove_metadata()
    assert page.schema.field("image").metadata == {b"dsviz.kind": b"image"}


def test_sort_nulls_and_nan_last_both_ways(engine: Engine, source: Source) -> None:
    up = engine.view(source, Query(sort=["score"])).page(0, 8).column("id").to_pylist()
    down = engine.view(source, Query(sort=["-score"])).page(0, 8).column("id").to_pylist()
    assert up == [6, 1, 4, 7, 5, 0, 2, 3]  # ties (rows 4, 7) keep source order
    assert down == [0, 5, 4, 7, 1, 6, 2, 3]


def test_columns_selection(engine: Engine, source: Source) -> None:
    page = engine.view(source, Query(columns=["label", "id"])).page(0, 2)
    assert page.column_names == ["label", "id", "_row"]


def test_parquet_matches_arrow(engine: Engine, source: Source, parquet_source: Source) -> None:
    q = Query(filter="n_boxes >= 1", sort=["label", "-id"])
    a = engine.view(source, q).page(0, 8)
    b = engine.view(parquet_source, q).page(0, 8)
    assert a.schema.equals(b.schema, check_metadata=True)
    assert str(a.to_pydict()) == str(b.to_pydict())  # str: NaN == NaN
    assert engine.view(parquet_source, Query()).page(4, 2).column("_row").to_pylist() == [4, 5]


def test_deep_pages_equal_one_big_page(tmp_path) -> None:
    n = 6000
    rng = np.random.default_rng(1)
    t = pa.table({"x": rng.integers(0, 50, n), "y": rng.random(n)})
    pq.write_table(t, tmp_path / "t.parquet", row_group_size=1000)
    for src in (Source.from_arrow(t), Source.from_parquet([str(tmp_path / "t.parquet")])):
        for background in (True, False):
            q = Query(filter="y > 0.2", sort=["x", "-y"])
            whole = Engine().view(src, q).order()
            # A fresh engine: shallow pages come from top-N queries, deep ones from the order.
            view = Engine(background=background).view(src, q)
            pages = [view.page(o, 500).column("_row").to_numpy() for o in range(0, n, 500)]
            assert np.array_equal(np.concatenate(pages), whole)
            want = t.to_pandas().query("y > 0.2").sort_values(["x", "y"], ascending=[True, False])
            assert whole.tolist() == want.index.tolist()


def test_unknown_names_suggest(engine: Engine, source: Source) -> None:
    with pytest.raises(QueryError, match="unknown column 'scroe'; did you mean 'score'"):
        engine.view(source, Query(sort=["-scroe"]))
    with pytest.raises(QueryError, match="did you mean 'label'"):
        engine.view(source, Query(columns=["lable"]))
    with pytest.raises(QueryError, match="did you mean 'label'"):
        engine.view(source, Query(group_by=["labels"]))
    with pytest.raises(QueryError, match="image column"):
        engine.view(source, Query(sort=["image"]))
    with pytest.raises(QueryError, match="non-negative"):
        engine.view(source, Query()).page(-1, 5)


def test_filter_error_caret() -> None:
    with pytest.raises(FilterError) as info:
        parse_filter("score > 0.5 and lable == 'cat'", ["score", "label"])
    assert info.value.position == 16
    assert info.value.caret == "score > 0.5 and lable == 'cat'\n" + " " * 16 + "^"


def test_group_by(engine: Engine, source: Source) -> None:
    view = engine.view(
        source,
        Query(
            group_by=["label"], filter="id < 6", aggregates={"score": ["mean", "max"], "n": ["sum"]}
        ),
    )
    page = view.page(0, 10)
    assert view.num_rows == 5
    assert page.column_names == [
        "label",
        "count",
        "mean(score)",
        "max(score)",
        "sum(n)",
        "_sample_rows",
    ]
    assert page.column("label").to_pylist() == ["Cat", "bird", "cat", "dog", None]
    assert page.column("count").to_pylist() == [1, 1, 2, 1, 1]
    assert page.column("mean(score)").to_pylist() == [0.75, 0.5, 0.9, 0.1, None]  # NaN skipped
    assert page.column("_sample_rows").to_pylist() == [[5], [4], [0, 2], [1], [3]]
    by_count = engine.view(source, Query(group_by=["label"], sort=["-count"])).page(0, 1)
    assert by_count.column("label").to_pylist() == ["cat"]


def test_group_query_opens_a_group(engine: Engine, source: Source) -> None:
    parent = engine.view(source, Query(filter="id < 6", group_by=["label"], sort=["-count"]))
    q = parent.group_query({"label": "cat"})
    assert q.group_by == () and q.filter == "id < 6" and q.match == (("label", "cat"),)
    assert engine.view(source, q).page(0, 10).column("_row").to_pylist() == [0, 2]
    q_null = parent.group_query({"label": None})
    assert engine.view(source, q_null).page(0, 10).column("_row").to_pylist() == [3]


def test_summaries(engine: Engine, source: Source) -> None:
    view = engine.view(source, Query(filter="id < 7"))
    s = view.summary("score")
    assert s["type"] == "histogram" and s["nulls"] == 2
    assert (s["min"], s["max"]) == (-1.0, 0.9)
    assert sum(s["counts"]) == 5 and len(s["edges"]) == len(s["counts"]) + 1
    assert s["counts"][0] == 1 and s["counts"][-1] == 1
    top = view.summary("label")
    assert top == {
        "type": "top",
        "values": ["cat", "Cat", "bird", "dog", "dög"],
        "counts": [2, 1, 1, 1, 1],
        "nulls": 1,
        "distinct": 5,
        "count": 7,
    }
    ints = view.summary("n_boxes")
    assert ints["edges"] == [-0.5, 0.5, 1.5, 2.5, 3.5] and ints["counts"] == [2, 2, 2, 1]
    assert view.summary("image") == {"type": "none", "nulls": 0, "count": 7}


@pytest.mark.parametrize("n", [1, 20, 1000])
def test_top_values_count_every_row_not_only_those_listed(engine: Engine, n: int) -> None:
    """A value's share on screen is its count over ``count``: all rows, nulls included."""
    import pandas as pd

    names = [f"image-{i}" for i in range(n)] + [None, None]
    src = Source.from_arrow(pa.table({"name": pa.array(names, pa.string())}))
    top = engine.view(src).summary("name")
    assert top["count"] == len(names) == len(pd.Series(names))
    assert len(top["values"]) == min(n, 10) and top["counts"][0] == 1 and top["nulls"] == 2


def _src(**cols: list[object]) -> Source:
    return Source.from_arrow(pa.table(cols))


def test_join(engine: Engine) -> None:
    left = _src(id=[1, 2, 3], x=["a", "b", "c"])
    right = _src(id=[3, 1, 4], x=["C", "A", "D"], p=[0.3, 0.1, 0.4])
    inner = engine.query(join_sources(left, right, "id"), sort=["id"])
    assert inner.to_pydict() == {
        "id": [1, 3],
        "x@left": ["a", "c"],
        "x@right": ["A", "C"],
        "p": [0.1, 0.3],
        "_row": [0, 1],
    }
    outer = join_sources(left, right, "id", how="outer")
    assert engine.view(outer, Query()).num_rows == 4
    assert engine.query(outer, filter="p is null", columns=["id"]).to_pydict() == {
        "id": [2],
        "_row": [1],
    }
    lj = join_sources(left, right, "id", how="left")
    assert engine.query(lj, filter="p > 0.2 or x@left == 'b'", columns=["id"]).column(
        "id"
    ).to_pylist() == [2, 3]


def test_compare_on_key(engine: Engine) -> None:
    v0 = _src(id=[1, 2, 3], score=[0.5, 0.9, 0.1], label=["a", "b", "c"])
    v1 = _src(id=[3, 2, 4], score=[0.1, 0.7, 0.2], label=["c", "b", "d"])
    cmp = compare_sources([v0, v1], labels=["v0", "v1"], on="id")
    assert cmp.columns == [
        "id",
        "score@v0",
        "label@v0",
        "score@v1",
        "label@v1",
        "score@changed",
        "label@changed",
        "changed",
        "score@delta",
    ]
    page = engine.query(cmp, sort=["id"], columns=["id", "changed", "score@delta"])
    assert page.column("id").to_pylist() == [1, 2, 3, 4]
    assert page.column("changed").to_pylist() == [True, True, False, True]
    assert page.column("score@delta").to_pylist() == pytest.approx([None, -0.2, 0.0, None])
    changed = engine.query(cmp, filter="changed and score@v1 > 0.5", columns=["id"])
    assert changed.column("id").to_pylist() == [2]


def test_compare_on_row_identity(engine: Engine) -> None:
    v0 = _src(score=[0.5, 0.9])
    v1 = _src(score=[0.5, 0.8])
    cmp = compare_sources([v0, v1])
    assert engine.query(cmp, filter="changed").column("_row").to_pylist() == [1]
    with pytest.raises(QueryError, match="same number of rows"):
        compare_sources([v0, _src(score=[1.0])])


def test_dict_field_needs_dict_column(engine: Engine, source: Source) -> None:
    with pytest.raises(FilterError, match="has no keys"):
        engine.view(source, Query(filter="label.x == 1"))


def test_rows_by_id_read_the_right_rows_of_every_kind_of_source(tmp_path) -> None:
    """``Engine.rows`` is the one read by row id: Parquet across files and row groups, Arrow,
    and a join, in the order asked for, repeats kept, ``_row`` echoing the ids."""
    t = pa.table(
        {
            "id": pa.array(np.arange(5_000, dtype=np.int64)),
            "x": pa.array(np.arange(5_000, dtype=np.int64) * 2),
        }
    )
    paths = []
    for i, part in enumerate((t.slice(0, 3000), t.slice(3000))):
        p = tmp_path / f"part{i}.parquet"
        pq.write_table(part, p, row_group_size=700)
        paths.append(str(p))
    want = [4999, 0, 3000, 2999, 701, 0]
    engine = Engine()
    for src in (Source.from_parquet(paths), Source.from_arrow(t)):
        got = engine.rows(src, want, ["id"])
        assert got.column_names == ["id", "_row"]
        assert got.column("id").to_pylist() == want == got.column("_row").to_pylist()
        assert engine.rows(src, pa.array([7], pa.int64())).column("x").to_pylist() == [14]
        with pytest.raises(IndexError, match="row 5000 is out of range"):
            engine.rows(src, [5000])
        with pytest.raises(QueryError, match="nope"):
            engine.rows(src, [1], ["nope"])
    joined = join_sources(Source.from_arrow(t), Source.from_arrow(t), on="id", labels=["a", "b"])
    assert engine.rows(joined, [3, 1], ["id"]).column("id").to_pylist() == [3, 1]
    engine.close()
