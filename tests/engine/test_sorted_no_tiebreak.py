"""A first page sorted by one float column, read without the ``_row`` tie-break (issue 15).

``_top`` asks DuckDB for ``stop + 1`` rows ordered by the key alone and keeps the answer only
when the keys at ``stop - 1`` and ``stop`` differ; equal keys inside the page are put in
source order afterwards. These tests draw keys from a handful of values (ties everywhere,
across the page's boundary), with NaN, nulls and both zeros, and hold every page to pandas'
stable sort with NaN and nulls last; then they check which queries actually ran.
"""

from __future__ import annotations

import math
import tempfile
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import Engine, Query, _top, _view
from tests.engine.test_first_pages import parquet_source

TOP_N = 12

KEYS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.5, -2.0, 7.0, math.nan, None]),  # ties and missing values
    st.floats(-1e6, 1e6, allow_nan=False),  # mostly distinct
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    keys=st.lists(KEYS, min_size=0, max_size=30),
    desc=st.booleans(),
    filtered=st.booleans(),
    offset=st.integers(0, 8),
    limit=st.integers(1, 4),
    cuts=st.lists(st.integers(1, 29), max_size=2),
)
def test_first_pages_by_one_float_key_match_pandas(
    keys: list[float | None],
    desc: bool,
    filtered: bool,
    offset: int,
    limit: int,
    cuts: list[int],
) -> None:
    n = len(keys)
    table = pa.table({"x": pa.array(keys, pa.float64()), "n": pa.array(range(n), pa.int64())})
    pdf = pd.DataFrame({"x": pd.array(table["x"].to_pylist(), dtype="float64")})
    kept = pdf[pdf.index % 3 != 1] if filtered else pdf
    want = kept.sort_values("x", ascending=not desc, na_position="last", kind="stable")
    want_ids = want.index.tolist()[offset : offset + limit]
    where = "n % 3 != 1" if filtered else None
    sort = ["-x" if desc else "x"]
    # The same view twice over one relation (the second filter keeps every row, so the
    # engine's view cache does not answer it): the second may go by a remembered tie.
    queries = [
        Query(filter=where, sort=sort),
        Query(filter=f"({where or 'true'}) and n >= 0", sort=sort),
    ]
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(_view, "TOP_N", TOP_N)
        source = parquet_source(table, d, cuts)
        engine = Engine(background=False)
        for query in queries:
            page = engine.view(source, query).page(offset, limit)
            assert page.column("_row").to_pylist() == want_ids
            assert page.column("n").to_pylist() == want_ids
            got = page.column("x").to_pylist()
            expected = table["x"].take(pa.array(want_ids, pa.int64())).to_pylist()
            assert [None if v is None or v != v else v for v in got] == [
                None if v is None or v != v else v for v in expected
            ]


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The top-N statements ``_top`` sends, in order."""
    monkeypatch.setattr(_view, "TOP_N", 100)  # the tables below are bigger: a top-N
    sent: list[str] = []
    real = _top.run_arrow

    def spy(con: Any, sql: str, *args: Any, **kwargs: Any) -> pa.Table:
        sent.append(sql)
        return real(con, sql, *args, **kwargs)

    monkeypatch.setattr(_top, "run_arrow", spy)
    return sent


def test_distinct_keys_need_one_query_without_tie_break(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = pa.table({"x": [float((i * 7919) % 1000) / 7 for i in range(1000)], "s": list(range(1000))})
    source = parquet_source(t, str(tmp_path), [])
    sent = _spy(monkeypatch)
    page = Engine(background=False).view(source, Query(sort=["-x"])).page(0, 50)
    want = sorted(range(1000), key=lambda i: (-t["x"][i].as_py(), i))[:50]
    assert page.column("s").to_pylist() == want
    assert len(sent) == 1
    assert "_row ASC" not in sent[0] and sent[0].endswith("LIMIT 51")


def test_a_tie_at_the_boundary_is_decided_by_row_and_remembered(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 0/1 floats: the 50th and 51st keys are equal, so the set depends on the tie-break.
    t = pa.table({"x": [float(i % 2) for i in range(400)], "s": list(range(400))})
    source = parquet_source(t, str(tmp_path), [150])
    sent = _spy(monkeypatch)
    engine = Engine(background=False)
    page = engine.view(source, Query(sort=["-x"])).page(0, 50)
    assert page.column("s").to_pylist() == list(range(1, 100, 2))  # the first 50 ones, in order
    assert len(sent) == 2 and "_row ASC" in sent[1]
    sent.clear()
    again = engine.view(source, Query(sort=["-x"], filter="s >= 0")).page(0, 50)
    assert again.column("s").to_pylist() == list(range(1, 100, 2))
    assert len(sent) == 1 and "_row ASC" in sent[0]  # the tie is remembered: one exact query
