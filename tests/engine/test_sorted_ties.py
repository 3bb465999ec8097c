"""Sorted pages over Parquet where ties decide: keys from a tiny set, NaN only, all equal.

The first file's ``_row`` is its ``file_row_number`` itself, the others' offset by the rows
before them (``_relation``): the tie-break among equal keys. Pages across the top-N boundary
and deep pages (the background order), ascending and descending, over one file or several,
must equal pandas' stable ``sort_values`` with NaN and nulls last (issue 15).
"""

from __future__ import annotations

import tempfile

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, _view
from tests.engine.test_first_pages import parquet_source

KEYS = {
    "few": [1.5, -2.0, 1.5, 0.0],  # duplicates everywhere
    "nan_only": [float("nan"), None],
    "all_equal": [3.25],
    "mixed": [1.5, float("nan"), None, -0.0, 0.0, float("inf")],
}


@pytest.fixture(autouse=True)
def small_top_n(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_view, "TOP_N", 12)  # pages end on both sides of it


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
    kind=st.sampled_from(sorted(KEYS)),
    n=st.integers(1, 40),
    desc=st.booleans(),
    cuts=st.lists(st.integers(1, 39), max_size=2),
    offset=st.integers(0, 30),
    limit=st.integers(1, 8),
)
def test_tied_keys_page_like_pandas(
    data: st.DataObject,
    kind: str,
    n: int,
    desc: bool,
    cuts: list[int],
    offset: int,
    limit: int,
) -> None:
    keys = data.draw(st.lists(st.sampled_from(KEYS[kind]), min_size=n, max_size=n))
    table = pa.table({"id": list(range(n)), "x": pa.array(keys, pa.float64())})
    frame = pd.DataFrame({"id": range(n), "x": pd.array(keys, dtype="float64")})
    want = frame.sort_values("x", ascending=not desc, kind="stable", na_position="last")
    with tempfile.TemporaryDirectory() as folder:
        src = parquet_source(table, folder, cuts)
        eng = Engine()
        try:
            view = eng.view(src, Query(sort=["-x" if desc else "x"]))
            got = view.page(offset, limit).column("id").to_pylist()
        finally:
            eng.close()
    assert got == want["id"].tolist()[offset : offset + limit]
