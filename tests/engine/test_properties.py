"""Property tests: the engine's rows equal a plain-Python/pandas reference.

Random tables with nulls, NaN, unicode strings and ``%``/``.`` in column names; random
filters built together with a reference predicate in three-valued logic (a missing value,
null or NaN, makes a comparison unknown; unknown rows are not returned).
"""

from __future__ import annotations

import math
import os
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
from dsviz_widget.engine._view import format_literal

Row = dict[str, Any]
Pred = Callable[[Row], "bool | None"]
ENGINE = Engine(background=False)
NUM = ["a", "%b"]
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=4)
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@st.composite
def tables(draw: st.DrawFn) -> dict[str, list[Any]]:
    n = draw(st.integers(0, 25))
    ints = st.one_of(st.none(), st.integers(-5, 5))
    floats = st.one_of(
        st.none(),
        st.just(math.nan),
        st.sampled_from([-1.5, 0.0, 0.5, 2.0]),
        st.floats(-3, 3, allow_nan=False),
    )
    return {
        "a": draw(st.lists(ints, min_size=n, max_size=n)),
        "%b": draw(st.lists(floats, min_size=n, max_size=n)),
        "c.d": draw(st.lists(st.one_of(st.none(), TEXT), min_size=n, max_size=n)),
        "flag": draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)),
    }


def to_source(df: dict[str, list[Any]]) -> Source:
    types = {"a": pa.int64(), "%b": pa.float64(), "c.d": pa.string(), "flag": pa.bool_()}
    table = pa.table({name: pa.array(df[name], t) for name, t in types.items()})
    return Source.from_arrow(table)


def rows_of(df: dict[str, list[Any]]) -> list[Row]:
    # The reference reads exactly what the engine got: the Arrow table's Python values.
    return to_source(df).arrow.to_pylist()  # type: ignore[union-attr]


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda x, y: x == y,
    "!=": lambda x, y: x != y,
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def cmp(col: str, op: str, lit: Any, shift: int = 0) -> Pred:
    def f(r: Row) -> bool | None:
        v = r[col]
        if missing(v):
            return None
        return _CMP[op](v + shift if shift else v, lit)

    return f


@st.composite
def atoms(draw: st.DrawFn) -> tuple[str, Pred]:
    choice = draw(st.integers(0, 6))
    op = draw(st.sampled_from(list(_CMP)))
    if choice == 0:
        col = draw(st.sampled_from(NUM))
        lit = draw(st.one_of(st.integers(-4, 4), st.sampled_from([-1.5, 0.0, 0.5, 2.0])))
        return f"{col} {op} {format_literal(lit)}", cmp(col, op, lit)
    if choice == 1:
        lit = draw(TEXT)
        name = draw(st.sampled_from(["c.d", "`c.d`", 'row["c.d"]']))
        return f"{name} {op} {format_literal(lit)}", cmp("c.d", op, lit)
    if choice == 2:
        col = draw(st.sampled_from(["a", "%b", "c.d", "flag"]))
        neg = draw(st.booleans())
        return (
            f"{col} is {'not ' if neg else ''}null",
            lambda r: (not missing(r[col])) if neg else missing(r[col]),
        )
    if choice == 3:
        fn = draw(st.sampled_from(["contains", "startswith", "endswith"]))
        lit = draw(TEXT)
        py = {
            "contains": lambda s, t: t in s,
            "startswith": str.startswith,
            "endswith": str.endswith,
        }[fn]
        return (
            f"c.d {fn} {format_literal(lit)}",
            lambda r: None if r["c.d"] is None else py(r["c.d"], lit),
        )
    if choice == 4:
        lits = draw(st.lists(st.integers(-3, 3), max_size=3))
        neg = draw(st.booleans())
        text = f"a {'not ' if neg else ''}in [{', '.join(map(str, lits))}]"
        return text, lambda r: None if missing(r["a"]) else ((r["a"] in lits) != neg)
    if choice == 5:
        return "flag", lambda r: r["flag"]
    shift = draw(st.integers(1, 3))
    lit = draw(st.integers(-3, 6))
    return f"a + {shift} {op} {lit}", cmp("a", op, lit, shift)


def and3(x: bool | None, y: bool | None) -> bool | None:
    if x is False or y is False:
        return False
    return None if x is None or y is None else True


def or3(x: bool | None, y: bool | None) -> bool | None:
    if x is True or y is True:
        return True
    return None if x is None or y is None else False


def exprs() -> st.SearchStrategy[tuple[str, Pred]]:
    def extend(inner: st.SearchStrategy[tuple[str, Pred]]) -> st.SearchStrategy[tuple[str, Pred]]:
        def both(op: str, x: tuple[str, Pred], y: tuple[str, Pred]) -> tuple[str, Pred]:
            f = and3 if op == "and" else or3
            return f"({x[0]}) {op} ({y[0]})", lambda row: f(x[1](row), y[1](row))

        def neg(x: tuple[str, Pred]) -> tuple[str, Pred]:
            return f"not ({x[0]})", lambda row: None if (v := x[1](row)) is None else not v

        return st.one_of(
            st.builds(both, st.sampled_from(["and", "or"]), inner, inner),
            st.builds(neg, inner),
        )

    return st.recursive(atoms(), extend, max_leaves=6)


@pytest.mark.slow
@SETTINGS
@given(df=tables(), expr=exprs())
def test_filter_matches_reference(df: dict[str, list[Any]], expr: tuple[str, Pred]) -> None:
    text, pred = expr
    expected = [i for i, r in enumerate(rows_of(df)) if pred(r) is True]
    view = ENGINE.view(to_source(df), Query(filter=text))
    assert view.num_rows == len(expected), text
    assert view.page(0, 100).column("_row").to_pylist() == expected, text


def reference_order(rows: list[Row], keys: list[tuple[str, bool]]) -> list[int]:
    order = list(range(len(rows)))
    for col, desc in reversed(keys):  # stable passes, last key first; missing always last
        present = [i for i in order if not missing(rows[i][col])]
        absent = [i for i in order if missing(rows[i][col])]
        order = sorted(present, key=lambda i: rows[i][col], reverse=desc) + absent
    return order


@pytest.mark.slow
@SETTINGS
@given(
    df=tables(),
    keys=st.lists(
        st.tuples(st.sampled_from(["a", "%b", "c.d", "flag"]), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda k: k[0],
    ),
    offset=st.integers(0, 10),
    limit=st.integers(0, 10),
)
def test_sort_and_paging_match_reference(
    df: dict[str, list[Any]], keys: list[tuple[str, bool]], offset: int, limit: int
) -> None:
    expected = reference_order(rows_of(df), keys)
    sort = [("-" if desc else "") + col for col, desc in keys]
    view = ENGINE.view(to_source(df), Query(sort=sort))
    assert view.page(0, 100).column("_row").to_pylist() == expected
    assert view.page(offset, limit).column("_row").to_pylist() == expected[offset : offset + limit]


@pytest.mark.slow
@SETTINGS
@given(df=tables())
def test_group_counts_match_pandas(df: dict[str, list[Any]]) -> None:
    view = ENGINE.view(to_source(df), Query(group_by=["flag"]))
    page = view.page(0, 10)
    got = dict(zip(page.column("flag").to_pylist(), page.column("count").to_pylist(), strict=True))
    want = pd.Series(df["flag"], dtype="boolean").value_counts(dropna=False).to_dict()
    assert got == {(None if k is pd.NA else bool(k)): int(v) for k, v in want.items()}
    assert sum(got.values()) == len(df["flag"])


@pytest.mark.slow
@SETTINGS
@given(
    floats=st.lists(
        st.sampled_from([None, math.nan] * 4 + [0.0, -0.0, 1.5, -math.inf, math.inf]),
        min_size=9,
        max_size=30,
    ),
    desc=st.booleans(),
    second=st.sampled_from([[], ["a"], ["-c.d"]]),
    filtered=st.booleans(),
    parquet=st.booleans(),
    stop=st.integers(1, 8),
)
def test_shallow_pages_of_a_float_sort_match_reference(
    floats: list[float | None],
    desc: bool,
    second: list[str],
    filtered: bool,
    parquet: bool,
    stop: int,
) -> None:
    # Shallow pages of a float sort try the plain column first (see View._top_ids); with
    # TOP_N = 8 every page here goes that way, over NaN, nulls, ±0, ±inf and ties, with
    # many missing values so that pages often run out of numbers.
    n = len(floats)
    df: dict[str, list[Any]] = {
        "a": [(i * 5) % 7 - 3 if i % 5 else None for i in range(n)],
        "%b": floats,
        "c.d": [str(i % 3) if i % 4 else None for i in range(n)],
        "flag": [None] * n,
    }
    rows = rows_of(df)
    keys = [("%b", desc)] + [(k.lstrip("-"), k.startswith("-")) for k in second]
    expected = reference_order(rows, keys)
    if filtered:
        expected = [i for i in expected if rows[i]["a"] is not None and rows[i]["a"] > -3]
    src = to_source(df)
    with tempfile.TemporaryDirectory() as d, pytest.MonkeyPatch.context() as mp:
        mp.setattr(_view, "TOP_N", 8)
        if parquet:
            path = os.path.join(d, "t.parquet")
            pq.write_table(src.arrow, path, row_group_size=7)  # type: ignore[arg-type]
            src = Source.from_parquet([path])
        query = Query(
            filter="a > -3" if filtered else None,
            sort=[("-" if desc else "") + "%b", *second],
        )
        view = Engine(background=False).view(src, query)
        got = view.page(0, stop).column("_row").to_pylist()
    assert got == expected[:stop]
