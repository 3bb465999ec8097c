"""Sorted first pages read with their top-N equal pandas (issue 15).

A shallow page of a sort over Parquet takes its rows from the top-N query itself (``_top``)
instead of reading them by id afterwards; a float first key is first sorted as the plain
column and checked for NaN. Rows, order and values must be pandas' (``sort_values`` with
NaN and nulls last, ties in source order) over NaN, nulls, ties, all-missing columns,
filters, column subsets, small row groups and several files, and equal to what an Arrow source gives.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source, _view
from tests.engine.test_first_pages import parquet_source
from tests.engine.test_properties import tables, to_source

TOP_N = 12  # every page below ends above it: the top-N path

Keep = Callable[[pd.DataFrame], "pd.Series[bool]"]
FILTERS: dict[str | None, Keep | None] = {
    None: None,
    "a > -3": lambda f: f["a"] > -3,
    "%b < 1": lambda f: f["%b"] < 1,
}


def frame(src: Source) -> pd.DataFrame:
    """The table as pandas reads it: NaN and null both missing in the float column."""
    assert src.arrow is not None
    t = src.arrow
    return pd.DataFrame(
        {
            "a": pd.array(t["a"].to_pylist(), dtype="Int64"),
            "%b": pd.array(t["%b"].to_pylist(), dtype="float64"),
            "c.d": pd.Series(t["c.d"].to_pylist(), dtype=object),
            "flag": pd.array(t["flag"].to_pylist(), dtype="boolean"),
        }
    )


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b) and type(a) is type(b)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    df=tables(),
    keys=st.lists(
        st.tuples(st.sampled_from(["%b", "a", "c.d", "flag"]), st.booleans()),
        min_size=1,
        max_size=2,
        unique_by=lambda k: k[0],
    ),
    where=st.sampled_from(list(FILTERS)),
    columns=st.sampled_from([None, ["c.d", "%b"], ["flag"]]),
    offset=st.integers(0, 8),
    limit=st.integers(1, 4),
    all_nan=st.booleans(),
    cuts=st.lists(st.integers(1, 24), max_size=2),
)
def test_sorted_first_pages_of_parquet_match_pandas(
    df: dict[str, list[Any]],
    keys: list[tuple[str, bool]],
    where: str | None,
    columns: list[str] | None,
    offset: int,
    limit: int,
    all_nan: bool,
    cuts: list[int],
) -> None:
    if all_nan:  # an all-missing float key: the plain top-N meets only NaN and nulls
        df = {**df, "%b": [math.nan if i % 2 else None for i in range(len(df["%b"]))]}
    arrow_src = to_source(df)
    pdf = frame(arrow_src)
    keep = FILTERS[where]
    kept = pdf if keep is None else pdf[keep(pdf).fillna(False)]
    ordered = kept.sort_values(
        [k for k, _ in keys],
        ascending=[not d for _, d in keys],
        na_position="last",
        kind="stable",
    )
    want = ordered.index.tolist()[offset : offset + limit]
    sort = [("-" if d else "") + k for k, d in keys]
    query = Query(filter=where, sort=sort, columns=columns)
    shown = columns if columns is not None else ["a", "%b", "c.d", "flag"]
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(_view, "TOP_N", TOP_N)
        assert arrow_src.arrow is not None
        parquet = parquet_source(arrow_src.arrow, d, cuts)  # row groups of 3, files at cuts
        engine = Engine(background=False)
        page = engine.view(parquet, query).page(offset, limit)
        from_arrow = Engine(background=False).view(arrow_src, query).page(offset, limit)
    assert page.column("_row").to_pylist() == want
    assert page.column_names == [*shown, "_row"]
    assert page.schema == from_arrow.schema
    source_rows = arrow_src.arrow.take(pa.array(want, pa.int64())).select(shown).to_pylist()
    for got, expected, other in zip(
        page.select(shown).to_pylist(),
        source_rows,
        from_arrow.select(shown).to_pylist(),
        strict=True,
    ):
        for name in shown:
            assert same(got[name], expected[name]), (name, got, expected)
            assert same(got[name], other[name]), (name, got, other)


def test_later_pages_within_the_top_n_have_their_own_rows(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_view, "TOP_N", TOP_N)
    # Pages after the first, inside the same top-N, take their rows from it by id.
    t = pa.table({"x": [float(i % 5) for i in range(40)], "s": [str(i) for i in range(40)]})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, row_group_size=8)
    view = Engine(background=False).view(Source.from_parquet([str(path)]), Query(sort=["-x"]))
    first = view.page(0, 10)
    assert first.column("x").to_pylist() == [4.0] * 8 + [3.0] * 2
    assert first.column("s").to_pylist() == ["4", "9", "14", "19", "24", "29", "34", "39", "3", "8"]
    assert view.page(2, 3).column("s").to_pylist() == ["14", "19", "24"]
    assert view.page(9, 3).column("s").to_pylist() == ["8", "13", "18"]
