"""Regression tests for the attacker's findings 4-10 on the engine (one class of flaw each).

4. compiled SQL grew exponentially (``id % (id % (...))``); queries had no budget.
5. quadratic tokenizer, RecursionError on a long flat chain.
6. user column names reached SQL: case collisions, ``file_row_number``, ``count``...
7. Parquet paths were read as glob patterns.
8. NaN in a dict value satisfied ``meta.x > 100``.
9. group drill-in merged NaN and null, and could not open extreme or decimal keys.
10. histograms over ±1.7e308 overflowed to inf edges.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsviz_widget.engine import KIND_KEY, Engine, FilterError, Query, QueryError, Source
from dsviz_widget.engine._budget import BudgetError
from dsviz_widget.engine._compile import compile_filter
from dsviz_widget.engine._parser import MAX_OPERATOR_DEPTH, parse_filter
from dsviz_widget.engine._relation import ArrowRelation
from dsviz_widget.engine._tokens import tokenize
from tests.engine._names import ODD_COLUMN_NAMES, ref

NAN = float("nan")
INF = float("inf")


def rows(engine: Engine, source: Source, **query: Any) -> list[int]:
    view = engine.view(source, Query(**query))
    return view.page(0, 10_000).column("_row").to_pylist()


def compiled_sql(text: str, source: Source) -> str:
    rel = ArrowRelation(source)
    dicts = [c for c, i in rel.columns.items() if i.kind == "dict"]
    return compile_filter(parse_filter(text, list(rel.columns), dicts), text, rel.columns).sql


@pytest.fixture(scope="module")
def ids() -> Source:
    return Source.from_arrow(
        pa.table({"id": np.arange(1, 201, dtype=np.int64), "x": np.linspace(-2.0, 2.0, 200)})
    )


# -- 4. linear SQL, budgets ------------------------------------------------------------------
@pytest.mark.parametrize("op", ["%", "/"])
def test_nested_modulo_and_division_compile_to_linear_sql(ids: Source, op: str) -> None:
    for depth in (4, 12, 40):
        text = f"id {op} (" * depth + "id" + ")" * depth + " >= 0"
        sql = compiled_sql(text, ids)
        assert len(sql) <= 20 * len(text), (depth, len(text), len(sql))
    engine = Engine(background=False)
    text = "id % (" * 40 + "7" + ")" * 40 + " == 1"
    started = time.perf_counter()
    got = rows(engine, ids, filter=text)
    assert time.perf_counter() - started < 5
    # The reference in Python: None (no match) once a modulo is by zero.
    ref = []
    for i in range(1, 201):
        v: int | None = 7
        for _ in range(40):
            v = None if v in (None, 0) else i % v
        if v == 1:
            ref.append(i - 1)
    assert got == ref


def test_time_budget_stops_a_long_query_with_a_clear_error() -> None:
    n = 2_000_000
    src = Source.from_arrow(
        pa.table({"id": np.arange(n), "s": np.char.add("k", np.arange(n).astype(str))})
    )
    engine = Engine(query_timeout=0.02, background=False)
    started = time.perf_counter()
    with pytest.raises(BudgetError) as err:
        view = engine.view(
            src, Query(filter="s + s + s contains '123456' and id % 7 == 1 and s endswith '9'")
        )
        assert view.num_rows >= 0  # the count scans every row (a view is made without it)
    assert time.perf_counter() - started < 5
    message = str(err.value)
    assert "time budget" in message and "0.02 s" in message
    assert "query_timeout" in message and "DSVIZ_QUERY_TIMEOUT" in message


def test_memory_budget_fails_a_query_with_a_clear_error() -> None:
    n = 1_000_000
    src = Source.from_arrow(pa.table({"s": np.char.add("key-", np.arange(n).astype(str))}))
    engine = Engine(memory_limit="16MB", background=False)
    with pytest.raises(BudgetError) as err:
        # The groups are computed when first asked for (counts or a page), not with the view.
        engine.view(src, Query(group_by=["s"])).page(0, 10)
    message = str(err.value)
    assert "memory budget (16MB)" in message
    assert "memory_limit" in message and "DSVIZ_MEMORY_LIMIT" in message


def test_budgets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSVIZ_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("DSVIZ_QUERY_TIMEOUT", "7.5")
    engine = Engine(background=False)
    assert (engine.budget.memory, engine.budget.seconds) == ("300MB", 7.5)
    assert Engine(memory_limit="1GB", query_timeout=3).budget.seconds == 3
    monkeypatch.setenv("DSVIZ_QUERY_TIMEOUT", "soon")
    with pytest.raises(QueryError, match="DSVIZ_QUERY_TIMEOUT must be a number of seconds"):
        Engine()


# -- 5. linear tokenizer, no recursion ------------------------------------------------------
def test_tokenizer_is_linear() -> None:
    text = ("a" + "%a" * 5000)[:9999]
    started = time.perf_counter()
    tokens = tokenize(text, ["a", "b" * 5000])
    assert time.perf_counter() - started < 1.0
    assert len(tokens) == 10_000


def test_long_modulo_chain_gets_a_positioned_error() -> None:
    text = ("a" + "%a" * 5000)[:9999]
    started = time.perf_counter()
    with pytest.raises(FilterError) as err:
        parse_filter(text, ["a"])
    assert time.perf_counter() - started < 1.0
    assert "too deep" in err.value.message and str(MAX_OPERATOR_DEPTH) in err.value.message
    assert err.value.position == 2 * MAX_OPERATOR_DEPTH + 1  # the 101st '%'


def test_long_flat_and_or_chains_work(ids: Source) -> None:
    engine = Engine(background=False)
    text = " and ".join(["id>0"] * 1100)  # ~9,900 characters, 1,099 operators
    assert len(text) < 10_000
    assert len(rows(engine, ids, filter=text)) == 200
    text = " or ".join(["id==1"] * 1000) + " or id == 5"
    assert rows(engine, ids, filter=text) == [0, 4]
    text = " and ".join(["(id > 1 or x > 0)"] * 400)
    assert len(rows(engine, ids, filter=text)) == 199


def test_arithmetic_chain_works_up_to_the_limit_then_errors_at_the_operator(ids: Source) -> None:
    engine = Engine(background=False)
    ok = "id" + " + id" * (MAX_OPERATOR_DEPTH - 1) + " == 200"
    assert rows(engine, ids, filter=ok) == [1]  # 100 * id == 200
    too_long = "id" + " + id" * MAX_OPERATOR_DEPTH + " == 200"
    with pytest.raises(FilterError) as err:
        engine.view(ids, Query(filter=too_long))
    assert err.value.position == too_long.index("==")  # the operator one level too deep
    nested = "(" * 60 + "id > 1" + ")" * 60
    with pytest.raises(FilterError, match="nested too deeply") as err:
        engine.view(ids, Query(filter=nested))
    assert err.value.position < 60


# -- 6. any column name ---------------------------------------------------------------------
def odd_table() -> pa.Table:
    data = {}
    for i, name in enumerate(ODD_COLUMN_NAMES):
        data[name] = pa.array([float(i * 10 + k) for k in range(4)], pa.float64())
    return pa.table(data)


@pytest.fixture(scope="module", params=["arrow", "parquet"])
def odd_source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Source:
    table = odd_table()
    if request.param == "arrow":
        return Source.from_arrow(table)
    path = tmp_path_factory.mktemp("odd") / "odd.parquet"
    pq.write_table(table, path)
    return Source.from_parquet([str(path)])


def test_every_column_name_is_its_own_column(odd_source: Source) -> None:
    engine = Engine(background=False)
    page = engine.view(odd_source, Query()).page(0, 10)
    assert page.column_names == [*ODD_COLUMN_NAMES, "_row"]
    for i, name in enumerate(ODD_COLUMN_NAMES):
        assert page.column(i).to_pylist() == [float(i * 10 + k) for k in range(4)], name
        # Filter, sort, group and summary on this column see this column's values only.
        assert rows(engine, odd_source, filter=f"{ref(name)} >= {i * 10 + 2}") == [2, 3], name
        assert rows(engine, odd_source, sort=["-" + name]) == [3, 2, 1, 0], name
        summary = engine.view(odd_source, Query()).summary(name)
        assert (summary["min"], summary["max"]) == (i * 10, i * 10 + 3), name
    assert rows(engine, odd_source, filter="Score > 12.5") == [3]
    assert rows(engine, odd_source, filter="score > 2.5") == [3]


@pytest.mark.parametrize("key", ["count", "_sample_rows", "file_row_number", "Score", "a\x00b"])
def test_group_by_any_name(odd_source: Source, key: str) -> None:
    engine = Engine(background=False)
    view = engine.view(odd_source, Query(group_by=[key], aggregates={"score": ["sum"]}))
    page = view.page(0, 10)
    assert page.column_names[0] == key
    assert len(set(page.column_names)) == len(page.column_names)
    assert page.column(view.count_column).to_pylist() == [1, 1, 1, 1]
    assert page.column(view.samples_column).to_pylist() == [[0], [1], [2], [3]]
    assert page.column("sum(score)").to_pylist() == [0.0, 1.0, 2.0, 3.0]
    for k, value in enumerate(page.column(0).to_pylist()):
        assert rows(engine, odd_source, **_fields(view.group_query({key: value}))) == [k]


def _fields(q: Query) -> dict[str, Any]:
    return {"filter": q.filter, "match": q.match, "sort": q.sort}


# -- 7. paths are never patterns ------------------------------------------------------------
@pytest.mark.parametrize(
    "dirname,filename",
    [
        ("plain", "d[1].parquet"),
        ("plain", "*.parquet"),
        ("plain", "?.parquet"),
        ("plain", "{a,b}.parquet"),
        ("**", "x.parquet"),
        ("d[1]", "a.parquet"),
        ("{a,b}", "*.parquet"),
    ],
)
def test_parquet_paths_with_glob_characters_read_that_file(
    tmp_path: Path, dirname: str, filename: str
) -> None:
    decoys = {
        "plain": ["d1.parquet", "a.parquet", "b.parquet", "x.parquet"],
        "**": [],
        "d[1]": [],
        "{a,b}": [],
    }
    folder = tmp_path / dirname
    folder.mkdir()
    for decoy in decoys[dirname]:
        pq.write_table(pa.table({"v": ["decoy"] * 3}), folder / decoy)
    for other in ("d1", "a", "b"):
        (tmp_path / other).mkdir(exist_ok=True)
        pq.write_table(pa.table({"v": ["decoy"] * 3}), tmp_path / other / "a.parquet")
    target = folder / filename
    pq.write_table(pa.table({"v": ["mine"]}), target)
    src = Source.from_parquet([str(target)])
    engine = Engine(background=False)
    assert engine.view(src, Query()).page(0, 10).column("v").to_pylist() == ["mine"]
    assert engine.view(src, Query(filter="v == 'mine'")).num_rows == 1
    assert engine.view(src, Query(sort=["-v"])).page(0, 10).column("v").to_pylist() == ["mine"]


# -- 8. one NaN rule ------------------------------------------------------------------------
def nan_source() -> Source:
    meta = ['{"x": NaN}', '{"x": 500}', '{"x": null}', None, '{"x": Infinity}', '{"x": -5}']
    return Source.from_arrow(
        pa.table(
            {
                "f": pa.array([NAN, 500.0, None, 1.0, INF, -INF]),
                "d": pa.array([NAN, 500.0, None, 1.0, INF, NAN]),
                "meta": pa.array(meta),
                "tags": pa.array(["[NaN, 1]", "[500]", None, "[]", "[Infinity]", '["NaN"]']),
            },
            schema=pa.schema(
                [
                    pa.field("f", pa.float64(), metadata={KIND_KEY: b"float"}),
                    pa.field("d", pa.float64(), metadata={KIND_KEY: b"derived"}),
                    pa.field("meta", pa.string(), metadata={KIND_KEY: b"dict"}),
                    pa.field("tags", pa.string(), metadata={KIND_KEY: b"list"}),
                ]
            ),
        )
    )


@pytest.mark.parametrize("value", ["f", "d", "meta.x", "f - f + 1", "f * 0 + 1", "d / d * 100"])
def test_nan_is_missing_in_every_comparison(value: str) -> None:
    engine = Engine(background=False)
    src = nan_source()
    matched = set(rows(engine, src, filter=f"{value} > 100"))
    unmatched = set(rows(engine, src, filter=f"not ({value} > 100)"))
    missing = set(rows(engine, src, filter=f"{value} is null"))
    assert 0 in missing and 0 not in matched | unmatched  # row 0 holds NaN
    assert matched | unmatched | missing == set(range(6))
    assert not (matched & unmatched) and not (missing & (matched | unmatched))


def test_nan_in_dicts_and_lists() -> None:
    engine = Engine(background=False)
    src = nan_source()
    assert rows(engine, src, filter="meta.x > 100") == [1, 4]
    assert rows(engine, src, filter="meta.x is null") == [0, 2, 3]
    assert rows(engine, src, filter="not (meta.x > 100)") == [5]
    # Lists are JSON text: string operators see NaN as the text it is written as.
    assert rows(engine, src, filter="tags contains 'NaN'") == [0, 5]


def test_nan_sorts_and_groups_with_null() -> None:
    engine = Engine(background=False)
    src = nan_source()
    for key in ("f", "-f"):
        order = rows(engine, src, sort=[key])
        assert sorted(order[-2:]) == [0, 2]  # NaN and null last, both ways
    view = engine.view(src, Query(group_by=["f"]))
    page = view.page(0, 10).to_pydict()
    assert page["f"] == [-INF, 1.0, 500.0, INF, None]
    assert page["count"] == [1, 1, 1, 1, 2]
    assert rows(engine, src, **_fields(view.group_query({"f": NAN}))) == [0, 2]
    assert rows(engine, src, **_fields(view.group_query({"f": None}))) == [0, 2]


# -- 9. exact group keys --------------------------------------------------------------------
KEYS: dict[str, tuple[pa.DataType, list[Any]]] = {
    "float": (pa.float64(), [NAN, None, INF, -INF, 0.1, 0.1 + 0.2, 5e-324, -0.0]),
    "int": (pa.int64(), [-(2**63), 2**63 - 1, None, 0, -1, 1, 2**53 + 1, 7]),
    "uint": (pa.uint64(), [2**64 - 1, 0, None, 2**63, 2**53 + 1, 1, 2, 3]),
    "decimal": (
        pa.decimal128(38, 10),
        [
            Decimal("1234567890123456789012345678.0123456789"),
            Decimal("-0.0000000001"),
            None,
            Decimal(0),
            Decimal("1.1"),
            Decimal("2.2"),
            Decimal("3.3"),
            Decimal("4.4"),
        ],
    ),
    "ts": (
        pa.timestamp("us", tz="UTC"),
        [
            dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc),
            None,
            dt.datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=dt.timezone.utc),
            dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(2002, 1, 1, tzinfo=dt.timezone.utc),
        ],
    ),
    "str": (pa.string(), ["", " ", '"', "\\", "a\nb", "\x00", "🙂`'%", None]),
    "bool": (pa.bool_(), [True, False, None, True, False, True, None, False]),
}


@pytest.mark.parametrize("key", list(KEYS))
def test_group_keys_are_exact_and_open_exactly_their_rows(key: str) -> None:
    typ, values = KEYS[key]
    n = len(values)
    # Each value twice, so every group (and the NaN/null group) has a known size.
    table = pa.table({key: pa.array(values + values, typ), "i": np.arange(2 * n)})
    src = Source.from_arrow(table)
    engine = Engine(background=False)
    view = engine.view(src, Query(group_by=[key]))
    page = view.page(0, 100)
    total = 0
    for value, count in zip(
        page.column(key).to_pylist(), page.column("count").to_pylist(), strict=True
    ):
        opened = engine.view(src, view.group_query({key: value}))
        assert opened.num_rows == count, (key, value)
        got = opened.page(0, 100).column(key).to_pylist()
        if value is None:
            assert all(v is None or (isinstance(v, float) and math.isnan(v)) for v in got)
        else:
            assert all(v == value for v in got), (key, value, got)
        total += count
    assert total == 2 * n
    keys = page.column(key).to_pylist()
    for v in values:  # every key comes back exactly (equal, not just close)
        if not (isinstance(v, float) and math.isnan(v)):
            assert any(k == v and type(k) is type(v) for k in keys), (key, v)


def test_group_keys_given_as_text_are_cast_exactly() -> None:
    src = Source.from_arrow(
        pa.table(
            {
                "u": pa.array([2**64 - 1, 2**64 - 2], pa.uint64()),
                "i": pa.array([-(2**63), 2**63 - 1]),
            }
        )
    )
    engine = Engine(background=False)
    view = engine.view(src, Query(group_by=["u", "i"]))
    q = view.group_query({"u": "18446744073709551615", "i": "-9223372036854775808"})
    assert engine.view(src, q).page(0, 5).column("_row").to_pylist() == [0]
    with pytest.raises(
        QueryError, match=r"'not a number' is not a value of column 'u' \(UBIGINT\)"
    ):
        engine.view(src, view.group_query({"u": "not a number", "i": 0}))


# -- 10. histograms over any finite range ---------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        [-1.7e308, 0.0, 1.0, 1.7e308, INF, -INF, None, NAN],
        [-1.7976931348623157e308, 1.7976931348623157e308],
        [5e-324, 1e-323, 1.5e-323],
        [-(2.0**63), 2.0**63],
    ],
)
def test_histogram_edges_are_finite_and_counts_right(values: list[float | None]) -> None:
    src = Source.from_arrow(pa.table({"x": pa.array(values, pa.float64())}))
    h = Engine(background=False).view(src, Query()).summary("x")
    finite = [v for v in values if v is not None and math.isfinite(v)]
    edges, counts = h["edges"], h["counts"]
    assert all(math.isfinite(e) for e in edges)
    assert edges == sorted(edges) and edges[0] == min(finite) and edges[-1] == max(finite)
    assert sum(counts) == len(finite)
    for v in finite:  # each value is counted in the bin whose edges hold it
        last = len(counts) - 1
        k = next(
            i
            for i in range(len(counts))
            if edges[i] <= v < edges[i + 1] or (i == last and v == edges[-1])
        )
        assert counts[k] > 0
    assert h["posinf"] == values.count(INF) and h["neginf"] == values.count(-INF)
    assert h["nulls"] == sum(1 for v in values if v is None or (v != v))


def test_parquet_statistics_are_read_from_the_columns_own_leaf(tmp_path: Path) -> None:
    # A struct before the column holds several Parquet leaves: its Arrow index is not its
    # column chunk's, and the histogram must not take the struct's statistics.
    img = pa.array([{"a": 1.0, "b": 500.0}] * 3)
    pq.write_table(pa.table({"img": img, "x": [10.0, 20.0, 30.0]}), tmp_path / "t.parquet")
    view = Engine(background=False).view(
        Source.from_parquet([str(tmp_path / "t.parquet")]), Query()
    )
    assert view.relation.finite_bounds("x") == (10.0, 30.0)
    s = view.summary("x", bins=2)
    assert (s["min"], s["max"], s["edges"], s["counts"]) == (10.0, 30.0, [10.0, 20.0, 30.0], [1, 2])


def _deep(core: str, tail_op: str) -> str:
    """``(core) op (x/x) op (x/x) ...``: a left chain with non-leaf right operands, as long
    as the operator-depth limit allows."""
    text = core
    while True:
        longer = f"({text}) {tail_op} (x / x)"
        try:
            parse_filter(longer + " > 0", ["id", "x", "meta"], ["meta"])
        except FilterError:
            return text + " > 0"
        text = longer


@pytest.mark.parametrize(
    "core",
    [
        "id % (" * 48 + "7" + ")" * 48,
        "x / (" * 48 + "x" + ")" * 48,
        "".join(f"x {op} (" for op in ["%", "/", "*", "-", "+"] * 9 + ["%", "/", "*"])
        + "meta.h"
        + ")" * 48,
        "-(x % " * 24 + "x" + ")" * 24,
    ],
)
@pytest.mark.parametrize("tail_op", ["%", "/", "+", "<"])
def test_filters_at_the_depth_limit_run_in_bounded_time_and_memory(core: str, tail_op: str) -> None:
    from tests.reliability._common import rss_bytes

    src = Source.from_arrow(
        pa.table(
            {"id": np.arange(1, 50), "x": np.linspace(-1, 1, 49), "meta": ['{"h": 2}'] * 49},
            schema=pa.schema(
                [
                    pa.field("id", pa.int64()),
                    pa.field("x", pa.float64()),
                    pa.field("meta", pa.string(), metadata={KIND_KEY: b"dict"}),
                ]
            ),
        )
    )
    text = _deep(core, tail_op) if tail_op != "<" else f"({core}) < ({core})"
    before = rss_bytes()
    started = time.perf_counter()
    view = Engine(background=False).view(src, Query(filter=text))
    view.page(0, 5)
    assert time.perf_counter() - started < 5
    assert rss_bytes() - before < 300 * 2**20
    assert len(compiled_sql(text, src)) <= 40 * len(text)


def test_two_columns_with_one_name_are_refused_not_dropped() -> None:
    table = pa.Table.from_arrays([pa.array([1]), pa.array([2])], names=["x", "x"])
    with pytest.raises(QueryError, match="two columns named 'x'"):
        Engine(background=False).view(Source.from_arrow(table), Query())
