"""A float column found holding NaN is read with the NaN guard from the start afterwards.

A group page first aggregates float columns as they are (no CASE on every row) and runs again
with NaN read as missing only when some result is NaN. Which columns needed that is kept per
relation, so the next group page of the same data aggregating one of them scans the rows
once. Every answer is still pandas' ``groupby(dropna=False)`` with NaN a missing value.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, Source, _groups

NAN = float("nan")
keys = st.sampled_from(["cat", "dog", "Ünï", "", None])
values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(NAN), st.none())


@contextlib.contextmanager
def _scans() -> Iterator[list[bool]]:
    """The grouped queries run inside the block (the real ones, only counted): per scan,
    whether it read NaN as missing."""
    scans: list[bool] = []
    real = _groups._group_table

    def counted(*args: Any) -> pa.Table:
        scans.append(args[8])  # the guard flag
        return real(*args)

    _groups._group_table = counted  # type: ignore[assignment]
    try:
        yield scans
    finally:
        _groups._group_table = real  # type: ignore[assignment]


def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _want(df: pd.DataFrame, threshold: int | None, fn: str) -> dict[Any, tuple[int, Any]]:
    """Per key (None for the missing keys), pandas' count and ``fn`` of ``v`` with NaN and
    None left out (pandas skips them: ``v`` is float64 with NaN for both)."""
    if threshold is not None:
        df = df[df["w"] > threshold]
    got = df.groupby("k", dropna=False, sort=False)["v"].agg(["size", fn])
    return {
        (None if _missing(k) else k): (int(row["size"]), None if _missing(row[fn]) else row[fn])
        for k, row in got.iterrows()
    }


def _got(frame: pa.Table, fn: str) -> dict[Any, tuple[int, Any]]:
    rows = zip(
        frame.column("k").to_pylist(),
        frame.column("count").to_pylist(),
        frame.column(f"{fn}(v)").to_pylist(),
        strict=True,
    )
    return {k: (n, None if _missing(a) else a) for k, n, a in rows}


def _agree(got: dict[Any, tuple[int, Any]], want: dict[Any, tuple[int, Any]]) -> None:
    assert got.keys() == want.keys()
    for key, (n, value) in want.items():
        assert got[key][0] == n, key
        if value is None:
            assert got[key][1] is None, key
        else:
            assert math.isclose(got[key][1], value, rel_tol=1e-9, abs_tol=1e-6), key


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    k=st.lists(keys, min_size=0, max_size=30),
    data=st.data(),
    steps=st.lists(
        st.tuples(st.sampled_from([None, -50, 0, 50]), st.sampled_from(["mean", "min", "max"])),
        min_size=1,
        max_size=4,
        unique=True,
    ),
)
def test_group_pages_after_nan_was_found_scan_once_and_agree_with_pandas(
    k: list[Any], data: Any, steps: list[tuple[int | None, str]]
) -> None:
    n = len(k)
    v = data.draw(st.lists(values, min_size=n, max_size=n))
    w = data.draw(st.lists(st.integers(-100, 100), min_size=n, max_size=n))
    table = pa.table(
        {"k": pa.array(k, pa.string()), "v": pa.array(v, pa.float64()), "w": pa.array(w)}
    )
    df = table.to_pandas()
    engine = Engine(background=False)
    src = Source.from_arrow(table)
    seen_nan = False
    with _scans() as scans:
        for threshold, fn in steps:
            scans.clear()
            query = Query(
                group_by=["k"],
                filter=None if threshold is None else f"w > {threshold}",
                aggregates={"v": [fn]},
                samples=False,
            )
            page = engine.view(src, query).page(0, 1000)
            _agree(_got(page, fn), _want(df, threshold, fn))
            kept = df if threshold is None else df[df["w"] > threshold]
            has_nan = bool(np.isnan(kept["v"].to_numpy(dtype=float, na_value=NAN)).any())
            if seen_nan:
                # Found before (maybe under another filter): one scan, guarded.
                assert scans == [True]
            else:
                # NaN among the rows makes the plain aggregate NaN (min only when every
                # value of a group is NaN): then, and only then, a second, guarded scan.
                assert scans[0] is False and len(scans) in (1, 2)
                if len(scans) == 2:
                    assert has_nan and scans[1] is True
                    seen_nan = True
    engine.close()


def test_a_parquet_columns_nan_is_remembered_across_table_query_calls(tmp_path: Any) -> None:
    """From Python: two ``table.query`` calls on a logged-style Parquet table, the second a
    different view of the same file; its float column holds NaN in every group."""
    import pyarrow.parquet as pq

    import dsviz_widget as dv

    rng = np.random.default_rng(3)
    n = 5_000
    score = rng.random(n)
    score[::7] = np.nan
    labels = rng.choice(np.array(["a", "b", "c"]), n)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"label": labels, "score": score, "n": np.arange(n)}), path)
    df = pd.read_parquet(path)
    table = dv.Table.from_parquet(str(path))
    with _scans() as scans:
        first = table.query(group_by="label", aggregates={"score": ["mean"]})
        assert scans == [False, True]
        scans.clear()
        second = table.query(group_by="label", filter="n > 100", aggregates={"score": ["max"]})
        assert scans == [True]
    want = df.groupby("label")["score"].agg(["size", "mean"])
    assert first["label"].tolist() == want.index.tolist()
    assert first["count"].tolist() == want["size"].tolist()
    np.testing.assert_allclose(first["mean(score)"], want["mean"], rtol=1e-12)
    want2 = df[df["n"] > 100].groupby("label")["score"].agg(["size", "max"])
    assert second["count"].tolist() == want2["size"].tolist()
    np.testing.assert_allclose(second["max(score)"], want2["max"], rtol=0)
