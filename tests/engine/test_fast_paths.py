"""The engine's fast paths give exactly what the plain ones did, checked against references.

- Histograms group by the unclamped bin number, NaN included (``_summary._histogram``).
- Group pages aggregate float columns without the NaN CASE first, and again with it when a
  result is NaN (``_groups.group_page``).
- Big Parquet sources find each group's sample rows in rounds over ``_row`` ranges
  (``_samples.first_rows``), here with tiny rounds so that every path is taken.
- Top values: counts, nulls, distinct and the tie-break (count, then value) of the one
  GROUP BY a string summary is (kept as it was: aggregates instead of its window functions
  measured no faster at 1M rows, ``min_by`` over a struct slower).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source, _groups, _samples

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FLOATS = st.one_of(
    st.none(),
    st.just(math.nan),
    st.sampled_from([0.0, -0.0, 1.5, -2.25, 1e300, -1e300, math.inf, -math.inf]),
    st.floats(-1e6, 1e6, allow_nan=False),
)


def missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@pytest.fixture
def scratch() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="dsviz-fast-") as d:
        yield d


def source(table: pa.Table, parquet: bool, d: str, row_group_size: int = 5) -> Source:
    if not parquet:
        return Source.from_arrow(table)
    path = os.path.join(d, f"t{len(os.listdir(d))}.parquet")
    pq.write_table(table, path, row_group_size=row_group_size)
    return Source.from_parquet([path])


# -- histograms ---------------------------------------------------------------------------


@pytest.mark.slow
@SETTINGS
@given(
    values=st.lists(FLOATS, max_size=40),
    ints=st.booleans(),
    parquet=st.booleans(),
    filtered=st.booleans(),
)
def test_histogram_bins_match_a_reference(
    scratch: str, values: list[float | None], ints: bool, parquet: bool, filtered: bool
) -> None:
    if ints:
        values = [None if missing(v) or abs(v) > 1e15 else int(v) // 7 for v in values]
    keep = [i % 3 != 0 for i in range(len(values))]
    table = pa.table(
        {"x": pa.array(values, pa.int64() if ints else pa.float64()), "k": pa.array(keep)}
    )
    src = source(table, parquet, scratch)
    s = Engine(background=False).view(src, Query(filter="k" if filtered else None)).summary("x")
    rows = [v for v, k in zip(values, keep, strict=True) if k or not filtered]
    finite = [v for v in rows if not missing(v) and math.isfinite(v)]
    assert s["nulls"] == sum(1 for v in rows if missing(v))
    assert s["posinf"] == sum(1 for v in rows if v == math.inf)
    assert s["neginf"] == sum(1 for v in rows if v == -math.inf)
    assert s["min"] == (min(finite) if finite else None)
    assert s["max"] == (max(finite) if finite else None)
    if not finite:
        assert s["counts"] == []
        return
    edges = s["edges"]
    n = len(edges) - 1
    width = edges[-1] / n - edges[0] / n
    width = width if width > 0 and math.isfinite(width) else 1.0
    want = [0] * n
    for v in finite:  # the documented rule: floor(v/w - lo/w), clamped to the bins
        want[min(max(math.floor(float(v) / width - edges[0] / width), 0), n - 1)] += 1
    assert s["counts"] == want
    assert sum(s["counts"]) == len(finite)


# -- group aggregates over NaN ------------------------------------------------------------


@pytest.mark.slow
@SETTINGS
@given(
    keys=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=30),
    data=st.data(),
    parquet=st.booleans(),
)
def test_group_aggregates_over_nan_match_pandas(
    scratch: str, keys: list[str | None], data: st.DataObject, parquet: bool
) -> None:
    n = len(keys)
    # With and without NaN: the plain aggregate answers alone only when no result is NaN.
    pool = FLOATS if data.draw(st.booleans()) else FLOATS.filter(lambda v: not missing(v))
    xs = data.draw(st.lists(pool, min_size=n, max_size=n))
    table = pa.table({"g": pa.array(keys, pa.string()), "x": pa.array(xs, pa.float64())})
    fns = ["mean", "min", "max", "sum", "count"]
    sort = data.draw(st.sampled_from([[], ["-mean(x)"], ["max(x)"], ["-count"]]))
    view = Engine(background=False).view(
        source(table, parquet, scratch), Query(group_by=["g"], aggregates={"x": fns}, sort=sort)
    )
    page = view.page(0, 100).to_pydict()
    frame = pd.DataFrame({"g": keys, "x": pd.Series(xs, dtype="float64")})
    frame["g"] = frame["g"].fillna("\0null")
    want = frame.groupby("g", sort=False)["x"].agg(["mean", "min", "max", "sum", "count"])
    got_keys = ["\0null" if k is None else k for k in page["g"]]
    assert sorted(got_keys) == sorted(want.index)
    for i, k in enumerate(got_keys):
        row = want.loc[k]
        assert page["count"][i] == int((frame["g"] == k).sum())
        assert page["count(x)"][i] == row["count"]
        present = [x for x, g in zip(xs, frame["g"], strict=True) if g == k and not missing(x)]
        for fn in ("mean", "min", "max", "sum"):
            got = page[f"{fn}(x)"][i]
            if not present:  # every value missing: SQL's null (pandas' sum would say 0)
                assert got is None, (fn, k)
            elif math.isnan(row[fn]):  # inf - inf: NaN for both
                assert got is not None and math.isnan(got), (fn, k)
            else:
                assert got == pytest.approx(row[fn], rel=1e-9), (fn, k)
    if sort == ["-count"]:
        assert page["count"] == sorted(page["count"], reverse=True)


# -- sample rows in rounds ----------------------------------------------------------------


@pytest.fixture
def tiny_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_samples, "STAGED_MIN_ROWS", 1)
    monkeypatch.setattr(_samples, "FIRST_ROUND", 3)
    monkeypatch.setattr(_samples, "GROWTH", 2)


def first_ids(keys: list[Any], rows: list[int]) -> dict[Any, list[int]]:
    out: dict[Any, list[int]] = {}
    for r in rows:
        k = None if missing(keys[r]) else keys[r]
        out.setdefault(k, [])
        if len(out[k]) < _samples.SAMPLE_ROWS:
            out[k].append(r)
    return out


@pytest.mark.slow
@SETTINGS
@given(
    keys=st.lists(
        st.one_of(st.sampled_from(["x", "y"]), st.text(max_size=2), st.none()),
        min_size=1,
        max_size=60,
    ),
    floats=st.booleans(),
    filtered=st.booleans(),
)
def test_sample_rows_in_rounds_are_the_first_rows_of_each_group(
    scratch: str, tiny_rounds: None, keys: list[Any], floats: bool, filtered: bool
) -> None:
    n = len(keys)
    if floats:
        # NaN and null are one group, and so are 0.0 and -0.0.
        signed = {"": math.nan, "x": 0.0, "y": -0.0}
        keys = [None if k is None else signed.get(k, float(len(k))) for k in keys]
    key_type = pa.float64() if floats else pa.string()
    table = pa.table({"k": pa.array(keys, key_type), "i": pa.array(range(n), pa.int64())})
    src = source(table, True, scratch, row_group_size=4)
    assert _samples.staged(Engine().view(src).relation)
    view = Engine(background=False).view(
        src, Query(group_by=["k"], filter="i % 3 != 1" if filtered else None)
    )
    page = view.page(0, 1000).to_pydict()
    rows = [r for r in range(n) if not filtered or r % 3 != 1]
    want = first_ids(keys, rows)
    got = {
        (None if missing(k) else k): s for k, s in zip(page["k"], page["_sample_rows"], strict=True)
    }
    assert got == want
    assert dict(zip(got, page["count"], strict=True)) == {
        k: sum(1 for r in rows if (None if missing(keys[r]) else keys[r]) == k) for k in want
    }


def test_sample_rows_fall_back_when_groups_hash_alike(
    scratch: str, tiny_rounds: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every group hashing alike: no round could tell them apart, so the exact aggregate runs.
    monkeypatch.setattr(_groups, "hash_sql", lambda keys: "0::UBIGINT")
    keys = ["b", "a", "b", None, "c", "a", "a", "a", "a", "b"] * 3
    src = source(pa.table({"k": keys}), True, scratch, row_group_size=4)
    page = Engine(background=False).view(src, Query(group_by=["k"])).page(0, 10).to_pydict()
    assert page["k"] == ["a", "b", "c", None]
    assert page["_sample_rows"] == [[1, 5, 6, 7], [0, 2, 9, 10], [4, 14, 24], [3, 13, 23]]


def test_sample_rows_of_a_big_parquet_file_match_the_exact_aggregate(scratch: str) -> None:
    # The real round sizes, over a file past STAGED_MIN_ROWS with one group only at its end.
    n = _samples.STAGED_MIN_ROWS + 1_000
    rng = np.random.default_rng(7)
    keys = rng.choice(np.array(["cat", "dog", "bird"]), n).astype(object)
    keys[-3:] = "rare"
    keys[rng.integers(0, n, 50)] = None
    table = pa.table({"k": pa.array(keys, pa.string()), "x": rng.random(n)})
    src = source(table, True, scratch, row_group_size=65_536)
    fast = Engine(background=False).view(src, Query(group_by=["k"])).page(0, 10)
    exact = Engine(background=False).view(Source.from_arrow(table), Query(group_by=["k"]))
    assert fast.column("_sample_rows").equals(exact.page(0, 10).column("_sample_rows"))
    assert fast.column("k").to_pylist() == ["bird", "cat", "dog", "rare", None]
    assert fast.column("_sample_rows").to_pylist()[3] == [n - 3, n - 2, n - 1]


# -- top values ---------------------------------------------------------------------------


@pytest.mark.slow
@SETTINGS
@given(
    data=st.data(),
    kind=st.sampled_from(["str", "bool", "timestamp"]),
    parquet=st.booleans(),
    filtered=st.booleans(),
)
def test_top_values_match_a_reference(
    scratch: str, data: st.DataObject, kind: str, parquet: bool, filtered: bool
) -> None:
    pools: dict[str, Any] = {
        "str": st.text(alphabet="abé\U0001f600 ", max_size=2),
        "bool": st.booleans(),
        "timestamp": st.integers(0, 14).map(
            lambda d: pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)
        ),
    }
    values = data.draw(st.lists(st.one_of(st.none(), pools[kind]), max_size=50))
    types = {"str": pa.string(), "bool": pa.bool_(), "timestamp": pa.timestamp("us")}
    keep = [i % 4 != 1 for i in range(len(values))]
    table = pa.table({"v": pa.array(values, types[kind]), "k": pa.array(keep, pa.bool_())})
    s = (
        Engine(background=False)
        .view(source(table, parquet, scratch), Query(filter="k" if filtered else None))
        .summary("v")
    )
    rows = [v for v, k in zip(values, keep, strict=True) if k or not filtered]
    counts: dict[Any, int] = {}
    for v in rows:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert s["values"] == [v for v, _ in best]
    assert s["counts"] == [c for _, c in best]
    assert s["nulls"] == sum(1 for v in rows if v is None)
    assert s["distinct"] == len(counts)
    assert s["count"] == len(rows)


def test_a_sort_by_the_sample_rows_reads_them_in_the_group_query(
    scratch: str, tiny_rounds: None
) -> None:
    keys = ["b", "a", "b", None, "c", "a", "c"] * 2
    src = source(pa.table({"k": keys}), True, scratch, row_group_size=4)
    query = Query(group_by=["k"], sort=["-_sample_rows"])
    page = Engine(background=False).view(src, query).page(0, 10).to_pydict()
    assert page["_sample_rows"] == [[4, 6, 11, 13], [3, 10], [1, 5, 8, 12], [0, 2, 7, 9]]
    assert page["k"] == ["c", None, "a", "b"]
