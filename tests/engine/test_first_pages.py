"""First pages of Parquet sources equal a plain-Python reference (issue 15).

An unsorted filter's shallow pages of Parquet files are read in one scan (ids and rows
together, ``ParquetRelation.scan``) instead of ids first and rows by id: the rows, their
order, their values and types must be exactly what the reference (and an Arrow source of
the same table, read the other way) gives, over nulls, NaN, unicode, several files and small
row groups, and a page that runs out of rows must give the exact count.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source, _view
from tests.engine.test_properties import Pred, exprs, rows_of, tables, to_source

TOP_N = 12  # shallow pages end at or above it (patched: small tables reach both sides)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b) and type(a) is type(b)


def parquet_source(table: pa.Table, folder: str, cuts: list[int]) -> Source:
    """``table`` written as one file per piece between ``cuts``, row groups of 3 rows."""
    bounds = [0, *sorted(c for c in cuts if 0 < c < table.num_rows), table.num_rows]
    paths = []
    for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        path = os.path.join(folder, f"part{k}.parquet")
        pq.write_table(table.slice(lo, hi - lo), path, row_group_size=3)
        paths.append(path)
    return Source.from_parquet(paths)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    df=tables(),
    expr=exprs(),
    cuts=st.lists(st.integers(1, 24), max_size=2),
    offset=st.integers(0, 8),
    limit=st.integers(1, 4),
)
def test_unsorted_filtered_first_pages_match_reference(
    df: dict[str, list[Any]], expr: tuple[str, Pred], cuts: list[int], offset: int, limit: int
) -> None:
    text, pred = expr
    rows = rows_of(df)
    expected = [i for i, r in enumerate(rows) if pred(r) is True]
    arrow = to_source(df)
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(_view, "TOP_N", TOP_N)
        src = parquet_source(arrow.arrow, d, cuts)  # type: ignore[arg-type]
        view = Engine(background=False).view(src, Query(filter=text))
        page = view.page(offset, limit)
        want = expected[offset : offset + limit]
        assert page.column("_row").to_pylist() == want, text
        for name in df:
            got = page.column(name).to_pylist()
            assert all(same(g, rows[i][name]) for g, i in zip(got, want, strict=True)), name
        # The same page of the same table in memory (ids first, then take): same table.
        other = Engine(background=False).view(arrow, Query(filter=text)).page(offset, limit)
        assert page.schema.remove_metadata() == other.schema.remove_metadata()
        assert page.column("_row").to_pylist() == other.column("_row").to_pylist()
        if len(expected) < offset + limit:
            assert view.counted  # ran out of rows: the count came with the page
        assert view.num_rows == len(expected)
        assert view.page(0, TOP_N + 5).column("_row").to_pylist() == expected[: TOP_N + 5]


def test_first_page_of_a_filter_keeps_the_files_schema_and_metadata(tmp_path: Any) -> None:
    """Types DuckDB reads differently (large strings, narrow ints, timestamps with a zone)
    come back as the file has them, with the table's metadata, as rows by id do."""
    table = pa.table(
        {
            "n": pa.array([1, 2, 3, 4], pa.int16()),
            "s": pa.array(["a", None, "ccc", "dd"], pa.large_string()),
            "t": pa.array(np.array([1, 2, 3, 4], "datetime64[ms]")).cast(
                pa.timestamp("ms", tz="Europe/Paris")
            ),
        }
    ).replace_schema_metadata({b"dsviz": b'{"format": 1}'})
    path = str(tmp_path / "t.parquet")
    pq.write_table(table, path)
    src = Source.from_parquet([path])
    engine = Engine(background=False)
    page = engine.view(src, Query(filter="n >= 2")).page(0, 2)
    assert page.schema.metadata == src.schema.metadata
    assert [page.schema.field(c).type for c in ("n", "s", "t")] == [
        src.schema.field(c).type for c in ("n", "s", "t")
    ]
    assert page.to_pydict() | {"_row": None} == {
        "n": [2, 3],
        "s": [None, "ccc"],
        "t": table.column("t").to_pylist()[1:3],
        "_row": None,
    }
    by_id = engine.rows(src, [1, 2], ["n", "s", "t"])
    assert page.equals(by_id)
