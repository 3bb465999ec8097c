"""Float comparisons with a number push down into the Parquet scan, and NaN stays missing.

``x > 3`` on a float column compiles to the plain comparison (which DuckDB pushes into the
scan and checks against row-group statistics) and, apart, ``NULL`` for NaN. pyarrow's
statistics leave NaN out, so a row group whose numbers all match may hold NaN rows: they
must never match, negated or not, whatever the row groups (pandas is the reference).
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

from dsviz_widget.engine import Engine, Query, Source
from dsviz_widget.engine._columns import SqlColumn
from dsviz_widget.engine._compile import compile_filter
from dsviz_widget.engine._connection import open_connection
from dsviz_widget.engine._parser import parse_filter

NAN = float("nan")
OPS = {
    ">": lambda s, v: s > v,
    ">=": lambda s, v: s >= v,
    "<": lambda s, v: s < v,
    "<=": lambda s, v: s <= v,
    "==": lambda s, v: s == v,
    "!=": lambda s, v: s != v,
}


def pandas_rows(
    x: list[float | None], op: str, value: float, negated: bool, flip: bool
) -> list[int]:
    s = pd.Series(x, dtype="float64")  # None and NaN: both missing
    hit = OPS[op](s, value) if not flip else OPS[op](pd.Series(value, index=s.index), s)
    hit = ~hit if negated else hit
    return [i for i in range(len(s)) if not math.isnan(s[i]) and bool(hit[i])]


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    x=st.lists(
        st.sampled_from([None, NAN, NAN, -1.0, 0.0, 0.5, 2.0, 3.0, math.inf, -math.inf]),
        min_size=1,
        max_size=24,
    ),
    op=st.sampled_from(list(OPS)),
    value=st.sampled_from([0, 2, 0.5, -1.0, 3.5]),
    negated=st.booleans(),
    flip=st.booleans(),
    group=st.integers(1, 5),
)
def test_float_comparisons_on_parquet_row_groups_match_pandas(
    tmp_path: Path,
    x: list[float | None],
    op: str,
    value: float,
    negated: bool,
    flip: bool,
    group: int,
) -> None:
    path = tmp_path / f"t{group}.parquet"
    pq.write_table(pa.table({"x": pa.array(x, pa.float64())}), path, row_group_size=group)
    cmp = f"{value} {op} x" if flip else f"x {op} {value}"
    text = f"not ({cmp})" if negated else cmp
    view = Engine(background=False).view(Source.from_parquet([str(path)]), Query(filter=text))
    got = view.page(0, 100).column("_row").to_pylist()
    assert got == pandas_rows(x, op, value, negated, flip), text
    assert view.num_rows == len(got)


def test_nan_in_a_row_group_whose_numbers_all_match_is_not_let_through(tmp_path: Path) -> None:
    # Row group 0: numbers 1, 2 (statistics: 1..2, NaN left out) and NaN; 'x < 5' holds for
    # the whole group by its statistics, yet its NaN row is missing, not less than 5.
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": [1.0, NAN, 2.0, 9.0, NAN, 8.0]}), path, row_group_size=3)
    engine = Engine(background=False)
    src = Source.from_parquet([str(path)])
    assert engine.view(src, Query(filter="x < 5")).page(0, 10)["_row"].to_pylist() == [0, 2]
    assert engine.view(src, Query(filter="x > 5")).page(0, 10)["_row"].to_pylist() == [3, 5]
    assert engine.view(src, Query(filter="not (x > 5)")).page(0, 10)["_row"].to_pylist() == [0, 2]
    assert engine.view(src, Query(filter="x != 1")).page(0, 10)["_row"].to_pylist() == [2, 3, 5]


def test_the_comparison_is_pushed_into_the_parquet_scan(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": np.arange(10, dtype=np.float64)}), path)
    cols = {"x": SqlColumn("x", "float", pa.float64(), "c0")}
    compiled = compile_filter(parse_filter("x > 3", ["x"], []), "x > 3", cols)
    con = open_connection([str(path)])
    try:
        sql = f"SELECT c0 FROM read_parquet('{path}') AS t(c0) WHERE {compiled.sql}"
        plan = "\n".join(
            str(row[1]) for row in con.execute(f"EXPLAIN {sql}", compiled.params).fetchall()
        )
        got = con.execute(sql, compiled.params).fetchall()
    finally:
        con.close()
    # The plain comparison is a filter of its own, which the scan checks against statistics.
    assert "c0 > 3" in plan.replace("CAST(3 AS DOUBLE)", "3").replace("3.0", "3"), plan
    assert [r[0] for r in got] == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


@pytest.mark.parametrize("text", ["x > 1 and x < 3", "x >= 2 or x == 0.5", "not (x <= 2)"])
def test_float_filters_agree_between_arrow_and_parquet(tmp_path: Path, text: str) -> None:
    t = pa.table({"x": [0.5, NAN, None, 2.0, 3.0, math.inf, 1.5]})
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, row_group_size=2)
    engine = Engine(background=False)
    a: Any = engine.view(Source.from_arrow(t), Query(filter=text)).page(0, 10)
    b: Any = engine.view(Source.from_parquet([str(path)]), Query(filter=text)).page(0, 10)
    assert a["_row"].to_pylist() == b["_row"].to_pylist()
