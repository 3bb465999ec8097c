"""Generative tests of the engine's two promises (issue items 4-6, "must show (b)").

1. Random *valid* filters, deep and long (nested ``%`` and ``/``, long ``and``/``or`` chains,
   ``not``, lists, dict keys): the compiled SQL is at most ``MAX_SQL_RATIO`` times the
   filter's length, and every query finishes within the engine's time budget.
2. Random schemas whose names collide in case, are SQL keywords, DuckDB's virtual columns
   (``file_row_number``, ``filename``, ``rowid``), the engine's own aliases (``c0``, ``k0``,
   ``_frn``...) or odd unicode, on Arrow and Parquet: filter, sort, group, summary and page
   agree with pandas.

Figures (cases, max SQL-length ratio, slowest query, peak RSS) go to
``tests/reliability/figures/engine-generative-*.json`` like the other reliability figures.
``DSVIZ_LONG=1`` runs ten times as many cases.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget.engine import KIND_KEY, Engine, Query, Source
from dsviz_widget.engine._compile import compile_filter
from dsviz_widget.engine._parser import parse_filter
from dsviz_widget.engine._relation import ArrowRelation
from tests.engine._names import ODD_COLUMN_NAMES, ref
from tests.reliability._common import pick, rss_bytes
from tests.reliability.test_save_faults import _record

pytestmark = pytest.mark.slow  # minutes of generated cases; CI runs them

MAX_SQL_RATIO = 40  # compiled SQL characters per filter character, at most
BUDGET_S = 10.0
FILTERS = pick(150, 1500)
SCHEMAS = pick(60, 600)
SETTINGS = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
ENGINE = Engine(background=False, query_timeout=BUDGET_S)


# -- 1. random filters: linear SQL, within budget ---------------------------------------------
def _filter_source() -> Source:
    n = 500
    rng = np.random.default_rng(0)
    meta = [
        json.dumps({"h": int(v), "s": f"k{v}"}) if v % 7 else '{"h": NaN}'
        for v in rng.integers(0, 50, n)
    ]
    fields = [
        pa.field("id", pa.int64(), metadata={KIND_KEY: b"int"}),
        pa.field("x", pa.float64(), metadata={KIND_KEY: b"float"}),
        pa.field("label", pa.string(), metadata={KIND_KEY: b"str"}),
        pa.field("flag", pa.bool_(), metadata={KIND_KEY: b"bool"}),
        pa.field("meta", pa.string(), metadata={KIND_KEY: b"dict"}),
    ]
    x = rng.normal(size=n)
    x[::11] = np.nan
    return Source.from_arrow(
        pa.table(
            [
                pa.array(np.arange(n)),
                pa.array(x),
                pa.array([f"l{i % 13}" for i in range(n)]),
                pa.array(rng.random(n) > 0.5),
                pa.array(meta),
            ],
            schema=pa.schema(fields),
        )
    )


FSRC = _filter_source()
NUM = ["id", "x", "meta.h", 'row["x"]', "3", "0", "2.5", "1e308", "-7"]


@st.composite
def num_expr(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= draw(st.integers(0, 30)):
        return draw(st.sampled_from(NUM))
    op = draw(st.sampled_from(["%", "/", "+", "-", "*"]))
    left = draw(num_expr(depth + 1))
    shape = draw(st.integers(0, 2))
    if shape == 0:  # nest to the right (id % (id % (...))): the old exponential blow-up
        return f"{draw(st.sampled_from(NUM))} {op} ({left})"
    if shape == 1:  # a left chain with non-leaf divisors: once a DuckDB memory blow-up
        a, b = draw(st.sampled_from(NUM)), draw(st.sampled_from(NUM))
        return f"({left}) {op} ({a} {draw(st.sampled_from(['/', '%', '-']))} {b})"
    return f"({left}) {op} {draw(st.sampled_from(NUM))}"


@st.composite
def condition(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        cmp = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
        return f"{draw(num_expr())} {cmp} {draw(num_expr())}"
    if kind == 1:
        return f"label {draw(st.sampled_from(['contains', 'startswith', '==']))} 'l1'"
    if kind == 2:
        return f"{draw(num_expr())} {draw(st.sampled_from(['in', 'not in']))} [1, 2, 3.5]"
    if kind == 3:
        return f"{draw(num_expr())} is {draw(st.sampled_from(['', 'not ']))}null"
    return draw(st.sampled_from(["flag", "not flag", "meta.s == 'k3'"]))


@st.composite
def filters(draw: st.DrawFn) -> str:
    size = draw(st.sampled_from([1, 3, 40, 300]))
    parts = draw(st.lists(condition(), min_size=size, max_size=size))
    out = parts[0]
    for part in parts[1:]:
        joiner = draw(st.sampled_from([" and ", " or ", " and not "]))
        wrap = draw(st.booleans()) and len(out) < 4000
        out = f"({out}){joiner}{part}" if wrap else f"{out}{joiner}{part}"
        if len(out) > 9000:
            break
    return out


def test_random_filters_compile_linearly_and_run_within_budget() -> None:
    rel = ArrowRelation(FSRC)
    figures: dict[str, Any] = {
        "cases": 0,
        "max_sql_ratio": 0.0,
        "max_filter_chars": 0,
        "slowest_query_s": 0.0,
        "slowest_filter_chars": 0,
        "rejected": 0,
    }
    rss_start = peak = rss_bytes()

    @settings(SETTINGS, max_examples=FILTERS)
    @given(filters())
    def run(text: str) -> None:
        nonlocal peak
        if len(text) > 10_000:
            return
        try:
            tree = parse_filter(text, list(rel.columns), ["meta"])
        except Exception as exc:  # only the documented operator-depth limit may refuse
            assert "too deep" in str(exc), (text[:200], exc)
            figures["rejected"] += 1
            return
        sql = compile_filter(tree, text, rel.columns).sql
        ratio = len(sql) / len(text)
        assert ratio <= MAX_SQL_RATIO, (ratio, text[:300])
        started = time.perf_counter()
        view = ENGINE.view(FSRC, Query(filter=text, sort=["-x"]))
        view.page(0, 20)
        elapsed = time.perf_counter() - started
        assert elapsed < BUDGET_S * 2  # the budget interrupts at BUDGET_S
        figures["cases"] += 1
        figures["max_sql_ratio"] = round(max(figures["max_sql_ratio"], ratio), 2)
        figures["max_filter_chars"] = max(figures["max_filter_chars"], len(text))
        if elapsed > figures["slowest_query_s"]:
            figures["slowest_query_s"] = round(elapsed, 3)
            figures["slowest_filter_chars"] = len(text)
        peak = max(peak, rss_bytes())

    run()
    figures["peak_rss_mb"] = round(peak / 2**20, 1)
    figures["rss_growth_mb"] = round((peak - rss_start) / 2**20, 1)
    figures["max_sql_ratio_allowed"] = MAX_SQL_RATIO
    _record("engine-generative-filters", figures)
    print("\nrandom filters:", figures)
    assert figures["cases"] > FILTERS // 2


# -- 2. random schemas vs pandas -------------------------------------------------------------
names = st.lists(
    st.one_of(
        st.sampled_from(ODD_COLUMN_NAMES),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
    ),
    min_size=1,
    max_size=6,
    unique=True,
).filter(lambda ns: "_row" not in ns)
kinds = st.sampled_from(["int", "float", "str"])
floats = st.one_of(
    st.none(),
    st.just(math.nan),
    st.just(math.inf),
    st.just(-math.inf),
    st.sampled_from([0.0, -0.0, 0.5, 1.5, -2.0]),
    st.floats(-1e6, 1e6),
)


@st.composite
def schemas(draw: st.DrawFn) -> tuple[pa.Table, bool]:
    cols = draw(names)
    n = draw(st.integers(0, 30))
    arrays = []
    for _ in cols:
        kind = draw(kinds)
        if kind == "int":
            arrays.append(
                pa.array(
                    draw(
                        st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=n, max_size=n)
                    ),
                    pa.int64(),
                )
            )
        elif kind == "float":
            arrays.append(pa.array(draw(st.lists(floats, min_size=n, max_size=n)), pa.float64()))
        else:
            arrays.append(
                pa.array(
                    draw(
                        st.lists(
                            st.one_of(st.none(), st.sampled_from(["a", "A", "", "b", "é"])),
                            min_size=n,
                            max_size=n,
                        )
                    ),
                    pa.string(),
                )
            )
    return pa.Table.from_arrays(arrays, names=cols), draw(st.booleans())


def missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def norm(v: Any) -> str:
    """A group key as compared: NaN is None (one group), -0.0 is 0.0 (one group)."""
    if missing(v):
        return "None"
    return repr(0.0 if isinstance(v, float) and v == 0 else v)


def check_schema(table: pa.Table, source: Source) -> None:
    engine = ENGINE
    frame = table.to_pandas()
    frame.columns = range(table.num_columns)  # pandas by position: names may repeat in case
    page = engine.view(source, Query()).page(0, 1000)
    assert page.column_names == [*table.column_names, "_row"]
    for i in range(table.num_columns):
        assert str(page.column(i).to_pylist()) == str(table.column(i).to_pylist())
    for i, name in enumerate(table.column_names):
        col = frame[i]
        values = table.column(i).to_pylist()
        is_num = pa.types.is_integer(table.schema.field(i).type) or pa.types.is_floating(
            table.schema.field(i).type
        )
        # filter
        if is_num:
            want = [r for r, v in enumerate(values) if not missing(v) and v > 0.5]
            text = f"{ref(name)} > 0.5"
        else:
            want = [r for r, v in enumerate(values) if v == "a"]
            text = f"{ref(name)} == 'a'"
        got = engine.view(source, Query(filter=text)).page(0, 1000).column("_row").to_pylist()
        assert got == want, (name, text)
        # sort: missing last both ways, ties in row order (pandas: stable sort)
        for desc in (False, True):
            key = col.where(~col.isna(), None)
            present = [r for r in range(len(values)) if not missing(values[r])]
            order = sorted(present, key=lambda r: key[r], reverse=desc)
            order += [r for r in range(len(values)) if missing(values[r])]
            got = (
                engine.view(source, Query(sort=[("-" if desc else "") + name]))
                .page(0, 1000)
                .column("_row")
                .to_pylist()
            )
            assert got == order, (name, desc)
        # group: pandas groupby (dropna=False), NaN and None one group
        view = engine.view(source, Query(group_by=[name], aggregates={}))
        groups = view.page(0, 1000)
        got_counts = {
            norm(k): c
            for k, c in zip(
                groups.column(0).to_pylist(),
                groups.column(view.count_column).to_pylist(),
                strict=True,
            )
        }
        want_counts: dict[str, int] = {}
        for v in values:
            want_counts[norm(v)] = want_counts.get(norm(v), 0) + 1
        assert got_counts == want_counts, name
        for k, count in zip(
            groups.column(0).to_pylist(), groups.column(view.count_column).to_pylist(), strict=True
        ):
            assert engine.view(source, view.group_query({name: k})).num_rows == count
        # summary
        s = engine.view(source, Query()).summary(name)
        nulls = sum(1 for v in values if missing(v))
        assert s["nulls"] == nulls, name
        if is_num:
            finite = [v for v in values if not missing(v) and math.isfinite(v)]
            assert s["min"] == (min(finite) if finite else None)
            assert s["max"] == (max(finite) if finite else None)
            assert sum(s["counts"]) + s["posinf"] + s["neginf"] + nulls == len(values)
        else:
            assert dict(zip(s["values"], s["counts"], strict=True)) == (
                col.dropna().value_counts().to_dict()
            )


def test_random_schemas_agree_with_pandas() -> None:
    figures: dict[str, Any] = {"schemas": 0, "columns": 0, "parquet": 0, "slowest_schema_s": 0.0}
    scratch = Path(tempfile.mkdtemp(prefix="dsviz-gen-"))
    counter = iter(range(10**9))

    @settings(SETTINGS, max_examples=SCHEMAS)
    @given(schemas())
    def run(case: tuple[pa.Table, bool]) -> None:
        table, parquet = case
        started = time.perf_counter()
        if parquet:
            path = scratch / f"t{next(counter)}.parquet"
            pq.write_table(table, path)
            source = Source.from_parquet([str(path)])
            figures["parquet"] += 1
        else:
            source = Source.from_arrow(table)
        check_schema(table, source)
        figures["schemas"] += 1
        figures["columns"] += table.num_columns
        figures["slowest_schema_s"] = round(
            max(figures["slowest_schema_s"], time.perf_counter() - started), 3
        )

    run()
    figures["names_pool"] = len(ODD_COLUMN_NAMES)
    _record("engine-generative-schemas", figures)
    print("\nrandom schemas:", figures)
    assert figures["schemas"] == SCHEMAS
    assert pd is not None
