"""Group-by from Python and in two stages, against pandas.

``table.query(group_by=..., aggregates=...)`` answers with the keys, the count and the
aggregates asked (no sample rows: nobody asked for them); a grouped view's keys and counts
(``Groups.counts``, what the widget draws first) are the first fields of its full page, in
the same order. The engine's rules hold in both: NaN is a missing value (left out of every
aggregate, grouped with null), nulls are a group of their own, sorted last.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.engine import Engine, Query, Source
from dsviz_widget.engine._budget import BudgetError

NAN = float("nan")
FUNCS = ["mean", "min", "max", "sum", "count"]

keys_str = st.sampled_from(["cat", "dog", "bird", "Ünï", "", None])
# No -0.0: DuckDB and pandas may tell it from 0.0 differently; NaN and None are one group.
keys_float = st.sampled_from([0.5, 1.0, -2.0, NAN, None])
keys_int = st.sampled_from([0, 7, -3, None])
values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(NAN), st.none())


@st.composite
def tables(draw: Any) -> tuple[pd.DataFrame, str]:
    n = draw(st.integers(0, 40))
    kind = draw(st.sampled_from(["str", "float", "int"]))
    key = {"str": keys_str, "float": keys_float, "int": keys_int}[kind]
    k = draw(st.lists(key, min_size=n, max_size=n))
    v = draw(st.lists(values, min_size=n, max_size=n))
    w = draw(st.lists(st.one_of(st.integers(-100, 100), st.none()), min_size=n, max_size=n))
    dtype = {"str": pa.string(), "float": pa.float64(), "int": pa.int64()}[kind]
    table = pa.table(
        {
            "k": pa.array(k, dtype),
            "v": pa.array(v, pa.float64()),
            "w": pa.array(w, pa.int64()),
        }
    )
    return table.to_pandas(), kind


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def expected(df: pd.DataFrame, threshold: float | None, sort: str) -> list[dict[str, Any]]:
    """Per group (NaN and None one group), the count and each aggregate of ``v`` and
    ``w`` with NaN and None left out, in the engine's order (``sort``, then the key with
    missing last)."""
    if threshold is not None:
        df = df[df["v"] > threshold]  # NaN and None never pass
    groups: dict[Any, list[int]] = {}
    for i, key in enumerate(df["k"].tolist()):
        groups.setdefault(None if _missing(key) else key, []).append(i)
    out = []
    for key, rows in groups.items():
        row: dict[str, Any] = {"k": key, "count": len(rows)}
        for col in ("v", "w"):
            got = [x for x in df[col].iloc[rows].tolist() if not _missing(x)]
            row[f"count({col})"] = len(got)
            row[f"sum({col})"] = float(np.sum(got)) if got else None
            row[f"min({col})"] = min(got) if got else None
            row[f"max({col})"] = max(got) if got else None
            row[f"mean({col})"] = float(np.mean(got)) if got else None
        out.append(row)

    def by_key(r: dict[str, Any]) -> tuple[bool, Any]:
        return (r["k"] is None, r["k"] if r["k"] is not None else 0)

    out.sort(key=by_key)
    if sort == "-count":
        out.sort(key=lambda r: -r["count"])  # stable: ties keep the key order
    return out


def _same(got: Any, want: Any) -> bool:
    if _missing(want):
        return _missing(got)
    if isinstance(want, float):
        return not _missing(got) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6)
    return bool(got == want)


def check(frame: pd.DataFrame, want: list[dict[str, Any]]) -> None:
    assert list(frame.columns) == ["k", "count", *[f"{f}({c})" for c in "vw" for f in FUNCS]]
    rows = frame.to_dict("records")
    assert len(rows) == len(want)
    for got, exp in zip(rows, want, strict=True):
        for name, value in exp.items():
            assert _same(got[name], value), (name, got, exp)


AGGREGATES = {"v": FUNCS, "w": FUNCS}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=tables(),
    threshold=st.one_of(st.none(), st.sampled_from([-1e9, 0.0, 1e9])),
    sort=st.sampled_from(["", "-count"]),
)
def test_table_query_groups_agree_with_pandas(
    data: tuple[pd.DataFrame, str], threshold: float | None, sort: str
) -> None:
    df, _ = data
    table = dv.Table(dataframe=df)
    filt = None if threshold is None else f"v > {threshold!r}"
    got = table.query(
        group_by="k",
        aggregates=AGGREGATES,
        filter=filt,
        sort=[sort] if sort else None,
        limit=1000,
    )
    check(got, expected(df, threshold, sort))


def test_a_parquet_tables_groups_agree_with_pandas(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 300_000  # big enough for the staged sample rows of a Parquet source
    v = rng.random(n)
    v[rng.random(n) < 0.05] = NAN
    keys = np.array(["a", "b", "c", None], dtype=object)[rng.integers(0, 4, n)]
    table = pa.table({"k": pa.array(keys, pa.string()), "v": v, "w": rng.integers(0, 9, n)})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=64_000)
    df = table.to_pandas()
    got = dv.Table.from_parquet(str(path)).query(
        group_by="k", aggregates=AGGREGATES, filter="v > 0.25", limit=10
    )
    check(got, expected(df, 0.25, ""))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=tables(), threshold=st.one_of(st.none(), st.just(0.0)), by_mean=st.booleans())
def test_counts_first_are_the_first_fields_of_the_full_page(
    data: tuple[pd.DataFrame, str], threshold: float | None, by_mean: bool
) -> None:
    df, _ = data
    src = Source.from_arrow(pa.Table.from_pandas(df, preserve_index=False))
    engine = Engine(background=False)
    query = Query(
        group_by=["k"],
        filter=None if threshold is None else f"v > {threshold!r}",
        sort=["-mean(v)"] if by_mean else ["-count"],
    )
    view = engine.view(src, query)
    groups = view.groups
    assert groups is not None and groups.known is None and not view.counted  # nothing ran
    # A sort by an aggregate cannot order the counts without it: one query for both.
    assert groups.separable is not by_mean
    counts = groups.counts()
    assert groups.ready is by_mean
    assert view.counted and view.num_rows == counts.num_rows
    full = view.page(0, 1000)
    assert full.column_names == ["k", "count", "mean(v)", "mean(w)", "_sample_rows"]
    assert counts.column_names == ["k", "count"]
    assert full.select(["k", "count"]).equals(counts)
    want = {(None if r["k"] is None else r["k"]): r["count"] for r in expected(df, threshold, "")}
    keys, sizes = counts.column("k").to_pylist(), counts.column("count").to_pylist()
    got = dict(zip(keys, sizes, strict=True))
    assert got == want


def test_a_group_views_budget_error_comes_with_its_first_stage() -> None:
    """The view is made without a query; the first stage asked runs it and fails clearly."""
    n = 1_000_000
    src = Source.from_arrow(pa.table({"s": np.char.add("key-", np.arange(n).astype(str))}))
    engine = Engine(memory_limit="16MB", background=False)
    view = engine.view(src, Query(group_by=["s"]))
    with pytest.raises(BudgetError, match="memory budget"):
        view.groups.counts()  # type: ignore[union-attr]
