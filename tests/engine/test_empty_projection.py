"""``Query(columns=[])``: rows with no columns, on every path (issue 15).

An empty projection used to fail everywhere (a table of no columns has no rows, so ``_row``
could not be appended). It now gives one row per matching row, with ``_row`` alone, in the
view's order: the same ids the query with every column gives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv
from dsviz_widget.engine import Engine, Query, Source, _view, join_sources

NAN = float("nan")
TABLE = pa.table(
    {
        "x": [3.0, NAN, 1.0, None, 2.0, 1.0],
        "s": ["a", "b", None, "a", "c", "b"],
        "k": [1, 2, 3, 4, 5, 6],
    }
)
QUERIES = [
    Query(),
    Query(sort=["-x"]),
    Query(sort=["s", "x"]),
    Query(filter="x > 1"),
    Query(filter="x is null", sort=["-k"]),
]


def sources(tmp_path: Path) -> dict[str, Source]:
    path = tmp_path / "t.parquet"
    pq.write_table(TABLE, path, row_group_size=2)
    return {"arrow": Source.from_arrow(TABLE), "parquet": Source.from_parquet([str(path)])}


@pytest.mark.parametrize("kind", ["arrow", "parquet"])
@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_no_columns_gives_the_rows_ids_in_view_order(
    tmp_path: Path, kind: str, query: Query
) -> None:
    src = sources(tmp_path)[kind]
    engine = Engine(background=False)
    want = engine.view(src, query).page(0, 100).column("_row").to_pylist()
    empty = Query(
        filter=query.filter, sort=query.sort, group_by=query.group_by, columns=[], match=()
    )
    page = engine.view(src, empty).page(0, 100)
    assert page.column_names == ["_row"]
    assert page.column("_row").to_pylist() == want
    assert page.num_rows == len(want) > 0
    assert engine.view(src, empty).page(1, 2).column("_row").to_pylist() == want[1:3]


def test_no_columns_past_the_top_n_and_in_a_big_parquet_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Deep pages (the full order) and row-store-sized files go other ways than first pages.
    monkeypatch.setattr(_view, "TOP_N", 4)
    n = 300_000
    x = np.arange(n, dtype=np.float64) % 97
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"x": x}), path)
    engine = Engine(background=False)
    view = engine.view(Source.from_parquet([str(path)]), Query(columns=[], sort=["-x"]))
    want = np.lexsort((np.arange(n), -x))  # descending x, ties in source order
    assert view.page(0, 3).column("_row").to_pylist() == want[:3].tolist()
    assert view.page(150_000, 5).column("_row").to_pylist() == want[150_000:150_005].tolist()
    assert view.page(0, 3).schema.names == ["_row"]


def test_no_columns_through_a_join() -> None:
    a = Source.from_arrow(pa.table({"id": [1, 2, 3], "v": [0.5, NAN, 0.1]}))
    b = Source.from_arrow(pa.table({"id": [3, 1], "w": ["c", "a"]}))
    engine = Engine(background=False)
    page = engine.view(join_sources(a, b, "id"), Query(columns=[], sort=["-v"])).page(0, 10)
    assert page.column_names == ["_row"]
    assert page.num_rows == 2


def test_table_query_with_no_columns_is_an_empty_frame_with_the_row_index() -> None:
    t = dv.Table(columns=["id", "score"], data=[[0, 0.2], [1, NAN], [2, 0.7]])
    df = t.query(columns=[], sort="-score")
    assert list(df.columns) == []
    assert df.index.tolist() == [2, 0, 1]
    grouped = t.query(group_by="id", columns=[])
    assert list(grouped.columns[:2]) == ["id", "count"]
