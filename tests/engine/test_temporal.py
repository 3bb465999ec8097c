"""Dates, times, durations and decimals in the engine: filters, sort, group + drill-in,
summaries and pages, on Arrow and Parquet.

The regression tests each failed before: a timestamp compared with date text, or a duration
with anything, was DuckDB's raw "Binder Error" (no position); grouping a duration raised
ArrowNotImplementedError (month_day_nano_interval to duration); any decimal256 column made
every query of its table fail with DuckDB's NotImplementedException.

The generative test makes random tables of every Arrow temporal and decimal type and runs
filters with literals of every sort, sort, group + drill-in, summary and page: every failure
must be a typed DsvizError (a FilterError with a position for filters), every success must
agree with a reference computed in Python (literals read by pandas). Figures go to
``tests/reliability/figures/engine-temporal.json``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import zoneinfo
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsviz_widget import DsvizError
from dsviz_widget.engine import Engine, FilterError, Query, QueryError, Source
from tests.reliability._common import pick
from tests.reliability.test_save_faults import _record

D = decimal.Decimal
UTC = dt.timezone.utc
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
ENGINE = Engine(background=False)


def _table() -> pa.Table:
    return pa.table(
        {
            "n": pa.array([0, 1, 2, 3], pa.int64()),
            "when": pa.array(
                [
                    dt.datetime(2020, 1, 1),
                    dt.datetime(2021, 1, 1, 0, 0, 0, 1),
                    None,
                    dt.datetime(2020, 6, 1),
                ],
                pa.timestamp("us"),
            ),
            "tz": pa.array(
                [
                    dt.datetime(2020, 1, 1, tzinfo=UTC),
                    None,
                    dt.datetime(2021, 3, 28, 1, 30, tzinfo=UTC),
                    dt.datetime(2019, 1, 1, tzinfo=UTC),
                ],
                pa.timestamp("ns", tz="Europe/Paris"),
            ),
            "day": pa.array(
                [dt.date(2020, 1, 2), None, dt.date(2020, 1, 1), dt.date(9999, 12, 31)],
                pa.date32(),
            ),
            "took": pa.array([10**9 + 1, 3600 * 10**9, None, 1], pa.duration("ns")),
            "secs": pa.array([1, 3600, 86400, None], pa.duration("s")),
            "at": pa.array([0, 45_000 * 10**9, None, 86_399_999_999_999], pa.time64("ns")),
            "price": pa.array([D("1.50"), None, D("-2.25"), D("1.50")], pa.decimal128(10, 2)),
        }
    )


@pytest.fixture(scope="module", params=["arrow", "parquet"])
def src(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Source:
    table = _table()
    if request.param == "arrow":
        return Source.from_arrow(table)
    path = tmp_path_factory.mktemp("temporal") / "t.parquet"
    pq.write_table(table, path)
    return Source.from_parquet([str(path)])


def _rows(src: Source, text: str) -> list[int]:
    view = ENGINE.view(src, Query(filter=text))
    return sorted(view.page(0, 100).column("_row").to_pylist())


# -- 1. filters -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("when > '2020-06-01'", [1]),
        ("when >= '2020-06-01'", [1, 3]),
        ("'2020-06-01' < when", [1]),
        ("when == '2021-01-01 00:00:00.000001'", [1]),
        ("when == '2021-01-01T00:00:00.0000015'", []),  # between two microseconds
        ("when > '2021-01-01 00:00:00.0000005'", [1]),
        ("when <= '2021-01-01 00:00:00.0000015'", [0, 1, 3]),
        ("not (when == '2020-01-01')", [1, 3]),  # the null row stays out, negated or not
        ("when != '2020-01-01 00:00:00.5'", [0, 1, 3]),
        ("when in ['2020-01-01', '2020-06-01 00:00', '2020-06-01 00:00:00.1']", [0, 3]),
        ("when not in ['2020-01-01']", [1, 3]),
        ("tz == '2020-01-01T01:00'", [0]),  # no zone: the column's (Paris, UTC+1)
        ("tz == '2020-01-01T00:00Z'", [0]),
        ("tz == '2020-01-01 02:00:00+02:00'", [0]),
        ("tz == '2021-03-28 03:30'", [2]),  # after the DST change: 01:30 UTC is 03:30 CEST
        ("tz > '2021-03-28 03:29:59.999999999'", [2]),
        ("tz < '2020-01-01'", [3]),
        ("day == '2020-01-02'", [0]),
        ("day > '2020-01-01 12:00'", [0, 3]),
        ("day < '2020-01-01 12:00'", [2]),
        ("day >= '9999-12-31'", [3]),
        ("took > '1 s'", [0, 1]),
        ("took == '1ns'", [3]),
        ("took == '1 days 00:00:00'", []),
        ("took <= '00:00:01.000000001'", [0, 3]),
        ("took in ['1 hour', '1ns']", [1, 3]),
        ("secs >= '1 day'", [2]),
        ("secs > '1.5 s'", [1, 2]),
        ("secs == '0.5s'", []),
        ("took > secs", [0]),  # two units: compared in nanoseconds
        ("took <= secs", [1]),
        ("at >= '12:30'", [1, 3]),
        ("at > '23:59:59.999999998'", [3]),
        ("price > 1", [0, 3]),
        ("when is null or took is null", [2]),
    ],
)
def test_temporal_columns_compare_with_text(src: Source, text: str, rows: list[int]) -> None:
    assert _rows(src, text) == rows


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("when > '2020-13-01'", "'2020-13-01' is not a date/time for column 'when'", 7),
        ("when > 'yesterday'", "'yesterday' is not a date/time for column 'when'; write e.g.", 7),
        ("when in ['2020-01-01', '2020-02-30']", "'2020-02-30' is not a date/time", 23),
        (
            "when > 5",
            "cannot compare column 'when' (a date/time) with 5 (a number); write the "
            "date/time as text, e.g. '2020-06-01'",
            7,
        ),
        ("5 < when", "cannot compare column 'when' (a date/time) with 5 (a number)", 0),
        ("when == true", "with True (true/false)", 8),
        ("when == null", "comparing with null never matches", 8),
        ("when == n", "cannot compare column 'when' (a date/time) with column 'n' (a number)", 8),
        ("when in [1, 2]", "with 1 (a number)", 9),
        (
            "when > '2020-01-01T00:00+01:00'",
            "'2020-01-01T00:00+01:00' has a time zone for column "
            "'when'; the column holds timestamp[us] values without one",
            7,
        ),
        (
            "when < tz",
            "cannot compare column 'when' (a date/time) with column 'tz' (a date/time "
            "with a time zone)",
            5,
        ),
        ("when + 1 > 2", "'+' needs numbers; column 'when' is a date/time", 0),
        ("when contains '2020'", "'contains' needs strings; column 'when' is a date/time", 0),
        (
            "took > 5",
            "cannot compare column 'took' (a duration) with 5 (a number); write the "
            "duration as text, e.g. '1 hour' or '00:30:00'",
            7,
        ),
        (
            "took > '5'",
            "'5' is a number without a unit for column 'took'; write a duration such as '1 hour'",
            7,
        ),
        ("took > '1 month'", "'1 month' is not a duration for column 'took'", 7),
        ("took > when", "cannot compare column 'took' (a duration) with column 'when'", 5),
        ("at > '25:00'", "'25:00' is not a time of day for column 'at'", 5),
        ("at > 3", "cannot compare column 'at' (a time of day) with 3 (a number)", 5),
        ("day > '2020-01-01Z'", "'2020-01-01Z' is not a date/time for column 'day'", 6),
        ("price > '1.5'", "cannot compare column 'price' (a number) with '1.5' (a string)", 6),
    ],
)
def test_a_bad_temporal_comparison_is_a_positioned_filter_error(
    src: Source, text: str, message: str, position: int
) -> None:
    with pytest.raises(FilterError) as info:
        ENGINE.view(src, Query(filter=text))
    assert message in str(info.value)
    assert info.value.position == position


def test_the_message_of_a_bad_date_is_exactly_this(src: Source) -> None:
    with pytest.raises(FilterError) as info:
        ENGINE.view(src, Query(filter="when > '2020-13-01'"))
    assert str(info.value).splitlines()[0] == (
        "'2020-13-01' is not a date/time for column 'when' (at character 7)"
    )


# -- 2. group, drill-in, sort, summaries ----------------------------------------------------
@pytest.mark.parametrize("column", ["when", "tz", "day", "took", "secs", "at", "price"])
def test_groups_come_back_in_the_column_type_and_open_exactly_their_rows(
    src: Source, column: str
) -> None:
    table = _table()
    parent = ENGINE.view(src, Query(group_by=[column]))
    groups = parent.page(0, 100)
    assert groups.schema.field(column).type == table.schema.field(column).type
    values = table.column(column).to_pylist()
    assert groups.column(column).to_pylist() == (
        [*sorted({v for v in values if v is not None}), None]
    )
    for j, key in enumerate(groups.column(column).to_pylist()):
        # The group page's own Arrow scalar: as_py() of a nanosecond time drops digits.
        child = ENGINE.view(src, parent.group_query({column: groups.column(column)[j]}))
        want = [i for i, v in enumerate(values) if v == key or (v is None and key is None)]
        assert sorted(child.page(0, 100).column("_row").to_pylist()) == want, key


@pytest.mark.parametrize("column", ["when", "tz", "day", "took", "secs", "at", "price"])
def test_sort_and_summaries_of_temporal_and_decimal_columns(src: Source, column: str) -> None:
    table = _table()
    values = table.column(column).to_pylist()
    page = ENGINE.view(src, Query(sort=[f"-{column}"])).page(0, 100)
    assert page.schema.field(column).type == table.schema.field(column).type
    present = sorted((v for v in values if v is not None), reverse=True)
    assert page.column(column).to_pylist() == [*present, None]
    summary = ENGINE.view(src, Query()).summary(column)
    assert summary["nulls"] == 1
    if column == "price":
        assert summary["type"] == "histogram"
        assert (summary["min"], summary["max"]) == (D("-2.25"), D("1.50"))
    else:
        assert summary["type"] == "top"
        counts = Counter(v for v in values if v is not None)
        assert dict(zip(summary["values"], summary["counts"], strict=True)) == counts


# -- 3. decimals wider than 38 digits ----------------------------------------------------
WIDE = [D("1" * 40), None, D("-" + "9" * 39 + ".5")]


@pytest.fixture(scope="module", params=["arrow", "parquet"])
def wide_src(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Source:
    table = pa.table({"a": pa.array([1, 2, 3]), "w": pa.array(WIDE, pa.decimal256(41, 1))})
    if request.param == "arrow":
        return Source.from_arrow(table)
    path = tmp_path_factory.mktemp("wide") / "w.parquet"
    pq.write_table(table, path)
    return Source.from_parquet([str(path)])


def test_a_decimal256_column_does_not_break_the_others(wide_src: Source) -> None:
    def page(q: Query) -> dict[str, list[Any]]:
        return ENGINE.view(wide_src, q).page(0, 10).to_pydict()  # type: ignore[no-any-return]

    assert page(Query())["w"] == WIDE
    assert page(Query(filter="a > 1")) == {"a": [2, 3], "w": WIDE[1:], "_row": [1, 2]}
    assert page(Query(sort=["-a"]))["w"] == WIDE[::-1]  # read exactly, not through a DOUBLE
    assert page(Query(filter="w is null"))["_row"] == [1]
    assert page(Query(group_by=["a"]))["count"] == [1, 1, 1]  # no mean(w): not a number here
    assert ENGINE.view(wide_src, Query()).summary("a")["type"] == "histogram"
    assert ENGINE.view(wide_src, Query()).summary("w") == {"type": "none", "nulls": 1, "count": 3}


def test_a_decimal256_column_is_refused_where_its_values_would_be_read(wide_src: Source) -> None:
    why = re.escape("holds decimal256(41, 1) values, wider than the 38 digits the query engine")
    with pytest.raises(FilterError, match=rf"column 'w' {why}.*only 'is null'") as info:
        ENGINE.view(wide_src, Query(filter="a > 0 and w > 1"))
    assert info.value.position == 10
    with pytest.raises(
        QueryError, match=rf"sort: column 'w' {why} reads exactly: it cannot be sorted"
    ):
        ENGINE.view(wide_src, Query(sort=["w"]))
    with pytest.raises(QueryError, match=rf"group_by: column 'w' {why}.*cannot be grouped"):
        ENGINE.view(wide_src, Query(group_by=["w"]))


# -- 4. generative ------------------------------------------------------------------------------
CASES = pick(120, 1200)
SETTINGS = settings(
    max_examples=CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
DAY = 86_400 * 10**9
TYPES: list[pa.DataType] = [
    *(pa.timestamp(u) for u in NS),
    *(pa.timestamp(u, tz=z) for u in NS for z in ("UTC", "Europe/Paris", "+05:30")),
    pa.date32(),
    pa.date64(),
    pa.time32("s"),
    pa.time32("ms"),
    pa.time64("us"),
    pa.time64("ns"),
    *(pa.duration(u) for u in NS),
    pa.decimal128(5, 2),
    pa.decimal128(18, 0),
    pa.decimal128(38, 10),
    pa.decimal256(40, 5),
    pa.decimal256(20, 2),  # fits 38 digits, but DuckDB refuses any decimal256 array
    pa.month_day_nano_interval(),
]
OPS = ["==", "!=", "<", "<=", ">", ">="]
PY_OPS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
# Steps each type's integers may span: timestamps in ns stay inside pandas' ns range.
SPAN = {
    "s": 240_000_000_000,
    "ms": 240_000_000_000_000,
    "us": 240_000_000_000_000_000,
    "ns": 9_000_000_000_000_000_000,
}


def _ints(t: pa.DataType) -> tuple[int, int]:
    if pa.types.is_date32(t):
        return (-719_162, 2_932_896)  # years 1 .. 9999
    if pa.types.is_date64(t):
        return (-719_162 * 86_400_000, 2_932_896 * 86_400_000)
    if pa.types.is_time(t):
        return (0, DAY // NS[t.unit] - 1)
    if pa.types.is_timestamp(t):
        return (-SPAN[t.unit] // 4, SPAN[t.unit] // 4)
    return (-(10**15), 10**15)  # durations


@st.composite
def columns(draw: st.DrawFn, t: pa.DataType, n: int) -> pa.Array:
    nulls = st.none() if draw(st.booleans()) else st.nothing()
    if pa.types.is_decimal(t):
        digits = t.precision - t.scale
        ints = st.integers(-(10 ** (t.precision)) + 1, 10 ** (t.precision) - 1)
        small = st.integers(-500, 500).map(lambda i: i * 10**t.scale // 4)
        vals = draw(st.lists(st.one_of(ints, small, nulls), min_size=n, max_size=n))
        assert digits >= 0
        # D(f"{v}E-{s}"), not D(v).scaleb(-s): arithmetic rounds to the context's 28 digits
        return pa.array([None if v is None else D(f"{v}E-{t.scale}") for v in vals], t)
    if pa.types.is_interval(t):
        item = st.tuples(st.integers(-50, 50), st.integers(-50, 50), st.integers(-(10**12), 10**12))
        return pa.array(draw(st.lists(st.one_of(item, nulls), min_size=n, max_size=n)), t)
    lo, hi = _ints(t)
    pool = draw(st.lists(st.integers(lo, hi), min_size=1, max_size=4))  # repeats: groups
    if pa.types.is_date64(t):
        pool = [p - p % 86_400_000 for p in pool]
    vals = draw(st.lists(st.one_of(st.sampled_from(pool), nulls), min_size=n, max_size=n))
    storage = pa.int32() if pa.types.is_date32(t) or (pa.types.is_time32(t)) else pa.int64()
    return pa.array(vals, storage).cast(t)


def _ns(t: pa.DataType, v: int) -> int:
    """A column's integer (in its unit) as nanoseconds."""
    if pa.types.is_date32(t):
        return v * DAY
    if pa.types.is_date64(t):
        return v * 10**6
    return v * NS[t.unit]


def _iso(ns: int, precision: int, zone: str) -> str:
    days, rest = divmod(ns, DAY)
    day = dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + days)
    s, frac = divmod(rest, 10**9)
    text = day.isoformat()
    if precision >= 0:
        text += f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
        if precision:
            text += "." + f"{frac:09d}"[:precision]
        text += zone
    return text


@st.composite
def literals(draw: st.DrawFn, t: pa.DataType, ints: list[int]) -> str:
    """Filter-language text of a literal: mostly of the column's own sort, near its values."""
    sort = draw(st.sampled_from(["own", "own", "own", "int", "float", "bool", "text", "bad"]))
    if sort == "int":
        return str(draw(st.integers(-1000, 1000)))
    if sort == "float":
        return repr(draw(st.sampled_from([0.5, -2.25, 1e10, 3.0])))
    if sort == "bool":
        return draw(st.sampled_from(["true", "false"]))
    if sort == "bad":
        return repr(
            draw(
                st.sampled_from(
                    [
                        "2020-13-01",
                        "2020-02-30",
                        "25:00",
                        "soon",
                        "",
                        "5",
                        "1 month",
                        "2020-01-01T00:00+25:00",
                        "12:60",
                    ]
                )
            )
        )
    base = draw(st.sampled_from(ints)) if ints and draw(st.booleans()) else None
    if pa.types.is_decimal(t):
        if sort == "text":
            return "'1.5'"
        return format(base, "f") if isinstance(base, D) else str(draw(st.integers(-99, 99)))
    if pa.types.is_interval(t):
        return "'1 day'"
    if pa.types.is_duration(t) or pa.types.is_time(t):
        ns = _ns(t, base) if isinstance(base, int) else draw(st.integers(0, DAY - 1))
        ns += draw(st.sampled_from([0, 0, 1, -1, 500, 10**6, -(10**9)]))
        if pa.types.is_time(t):
            ns = min(max(ns, 0), DAY - 1)
            s, frac = divmod(ns, 10**9)
            digits = draw(st.sampled_from([0, 3, 6, 9]))
            text = f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
            return repr(text + ("." + f"{frac:09d}"[:digits] if digits else ""))
        if not -(2**63) < ns < 2**63:  # pandas (so the engine) reads no such duration text
            return repr(f"{ns}ns")
        return repr(draw(st.sampled_from([f"{ns}ns", str(pd.Timedelta(ns))])))
    ns = _ns(t, base) if isinstance(base, int) else draw(st.integers(-(10**18), 10**18))
    ns += draw(st.sampled_from([0, 0, 1, -1, 10**3, 10**9, -DAY, DAY // 2]))
    ns = min(max(ns, -62_135_596_800 * 10**9 + DAY), 253_402_214_400 * 10**9 - DAY)
    precision = draw(st.sampled_from([-1, 0, 3, 6, 9]))
    zone = draw(st.sampled_from(["", "", "Z", "+01:00", "-05:30"]))
    return repr(_iso(ns, precision, zone))


def _reference_literal(t: pa.DataType, text: str) -> int | None:
    """The literal as pandas reads it, in ns (UTC for aware columns), or None when pandas
    refuses it (then the engine must refuse it too, or it is counted apart)."""
    try:
        if pa.types.is_duration(t) or pa.types.is_time(t):
            if text.strip().lstrip("-").replace(".", "").isdigit():
                return None
            td = pd.Timedelta(text)
            if td is pd.NaT:
                return None
            if pa.types.is_time(t) and not (0 <= td.value < DAY and ":" in text):
                return None
            return int(td.value)
        ts = pd.Timestamp(text)
        if ts is pd.NaT:
            return None
        if pa.types.is_timestamp(t) and t.tz is not None:
            if ts.tz is None:
                ts = ts.tz_localize(t.tz, ambiguous="raise", nonexistent="raise")
        elif ts.tz is not None:
            return None
        unit_ns = NS[ts.unit]
        return (
            int(ts.asm8.astype("int64")) * unit_ns
            if ts.tz is None
            else int(ts.tz_convert("UTC").tz_localize(None).asm8.astype("int64")) * unit_ns
        )
    except (ValueError, OverflowError, TypeError):
        return None


def _reference(table: pa.Table, name: str, op: str, lit: str) -> list[int] | None:
    """Matching rows in Python, or None when the comparison has no reference."""
    t = table.schema.field(name).type
    col = table.column(name)
    if pa.types.is_decimal(t):
        if not lit.lstrip("-").replace(".", "").replace("e", "").isdigit():
            return None
        value: Any = D(lit) if "." not in lit and "e" not in lit else float(lit)
        py = col.to_pylist()
        cast = (lambda v: v) if isinstance(value, D) else float
        return [i for i, v in enumerate(py) if v is not None and PY_OPS[op](cast(v), value)]
    if not (lit.startswith("'") and lit.endswith("'")):
        return None
    ref = _reference_literal(t, lit[1:-1])
    if ref is None:
        return None
    storage = pa.int32() if pa.types.is_date32(t) or pa.types.is_time32(t) else pa.int64()
    ints = col.cast(storage).to_pylist()
    return [i for i, v in enumerate(ints) if v is not None and PY_OPS[op](_ns(t, v), ref)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[pa.Table, bool, list[tuple[str, str, str]]]:
    n = draw(st.integers(1, 12))
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=3))
    arrays = [draw(columns(t, n)) for t in types]
    names = [f"c{i}_{t}".replace(" ", "") for i, t in enumerate(types)]
    table = pa.table([*arrays, pa.array(range(n), pa.int64())], names=[*names, "k"])
    parquet = draw(st.booleans()) and not any(pa.types.is_interval(t) for t in types)
    filters = []
    for name, t, arr in zip(names, types, arrays, strict=True):
        if pa.types.is_decimal(t):
            own: list[Any] = [v for v in arr.to_pylist() if v is not None]
        elif pa.types.is_interval(t):
            own = []
        else:
            storage = pa.int32() if pa.types.is_date32(t) or pa.types.is_time32(t) else pa.int64()
            own = [v for v in arr.cast(storage).to_pylist() if v is not None]
        for _ in range(draw(st.integers(1, 3))):
            filters.append((name, draw(st.sampled_from(OPS)), draw(literals(t, own))))
    return table, parquet, filters


def _plain(col: pa.ChunkedArray | pa.Array, t: pa.DataType) -> list[Any]:
    """Comparable Python values of a column: integers in its unit for dates, times,
    timestamps and durations (as_py of nanosecond times may not exist), else as_py."""
    if pa.types.is_decimal(t) or pa.types.is_interval(t):
        return col.to_pylist()  # type: ignore[no-any-return]
    storage = pa.int32() if pa.types.is_date32(t) or pa.types.is_time32(t) else pa.int64()
    return col.cast(storage).to_pylist()  # type: ignore[no-any-return]


def _bt(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _same(a: Any, b: Any) -> bool:
    return a == b or (a is None and b is None)


@pytest.mark.slow
def test_random_temporal_and_decimal_tables(tmp_path: Path) -> None:
    figures: dict[str, Any] = {
        "cases": 0,
        "parquet": 0,
        "filters": 0,
        "filters_matched_reference": 0,
        "filters_without_reference": 0,
        "sorts": 0,
        "groups": 0,
        "drill_ins": 0,
        "summaries": 0,
        "pages": 0,
        "typed_errors": Counter(),
        "untyped_errors": [],
        "filter_errors_without_position": 0,
        "mismatches": [],
        "types": Counter(),
    }
    counter = iter(range(10**9))

    def attempt(what: str, fn: Any) -> Any:
        try:
            return fn()
        except DsvizError as exc:
            figures["typed_errors"][type(exc).__name__] += 1
            if what == "filter" and not isinstance(exc, FilterError):
                figures["mismatches"].append(f"filter error not a FilterError: {exc}")
            return exc
        except Exception as exc:  # the point: count what escapes untyped
            figures["untyped_errors"].append(f"{what}: {type(exc).__name__}: {exc}"[:300])
            return exc

    @SETTINGS
    @given(cases())
    def run(case: tuple[pa.Table, bool, list[tuple[str, str, str]]]) -> None:
        table, parquet, filters = case
        figures["cases"] += 1
        if parquet:
            figures["parquet"] += 1
            path = tmp_path / f"{next(counter)}.parquet"
            pq.write_table(table, path)
            src = Source.from_parquet([str(path)])
            table = pq.read_table(path)  # as the file holds it (date64 comes back date32)
        else:
            src = Source.from_arrow(table)
        for f in table.schema:
            figures["types"][str(f.type)] += 1
        # page: exact values and types
        got = attempt("page", lambda: ENGINE.view(src, Query()).page(0, 100))
        if isinstance(got, pa.Table):
            figures["pages"] += 1
            if not got.drop_columns(["_row"]).equals(table):
                figures["mismatches"].append(f"page differs: {table.schema}")
        for name, op, lit in filters:
            text = f"{_bt(name)} {op} {lit}"
            figures["filters"] += 1
            res = attempt(
                "filter",
                lambda text=text: sorted(
                    ENGINE.view(src, Query(filter=text)).page(0, 100).column("_row").to_pylist()
                ),
            )
            want = _reference(table, name, op, lit)
            if isinstance(res, FilterError):
                if not 0 <= res.position <= len(text):
                    figures["filter_errors_without_position"] += 1
                if want is not None and not pa.types.is_decimal(table.schema.field(name).type):
                    figures["mismatches"].append(f"refused but pandas reads it: {text}: {res}")
            elif isinstance(res, list):
                if want is None:
                    figures["filters_without_reference"] += 1
                elif res == want:
                    figures["filters_matched_reference"] += 1
                else:
                    figures["mismatches"].append(f"{text}: engine {res}, reference {want}")
        for f in table.schema:
            name = f.name
            values = _plain(table.column(name), f.type)
            # sort: nulls last, ties in source order
            got = attempt(
                f"sort {f.type}",
                lambda name=name: (
                    ENGINE.view(src, Query(sort=[name])).page(0, 100).column("_row").to_pylist()
                ),
            )
            if isinstance(got, list):
                figures["sorts"] += 1
                present = [i for i, v in enumerate(values) if v is not None]
                want = sorted(present, key=lambda i: values[i]) + [
                    i for i, v in enumerate(values) if v is None
                ]
                if got != want:
                    figures["mismatches"].append(f"sort {f.type}: {got} != {want}")
            # group + drill-in
            parent = attempt(
                f"group {f.type}", lambda name=name: ENGINE.view(src, Query(group_by=[name]))
            )
            if not isinstance(parent, Exception):
                figures["groups"] += 1
                groups = attempt(f"group page {f.type}", lambda parent=parent: parent.page(0, 100))
                if isinstance(groups, pa.Table):
                    if groups.schema.field(name).type != f.type:
                        figures["mismatches"].append(f"group key type {groups.schema.field(name)}")
                    keys = _plain(groups.column(name), f.type)
                    for j, plain in enumerate(keys):
                        key = groups.column(name)[j]  # exact (as_py of a ns time is not)
                        rows = attempt(
                            f"drill-in {f.type}",
                            lambda parent=parent, key=key, name=name: sorted(
                                ENGINE.view(src, parent.group_query({name: key}))
                                .page(0, 100)
                                .column("_row")
                                .to_pylist()
                            ),
                        )
                        if isinstance(rows, list):
                            figures["drill_ins"] += 1
                            want = [i for i, v in enumerate(values) if _same(v, plain)]
                            if rows != want:
                                figures["mismatches"].append(
                                    f"drill-in {f.type} {key!r}: {rows} != {want}"
                                )
            # summary: typed, and its null count right
            summary = attempt(
                f"summary {f.type}", lambda name=name: ENGINE.view(src, Query()).summary(name)
            )
            if isinstance(summary, dict):
                figures["summaries"] += 1
                if summary["nulls"] != sum(v is None for v in values):
                    figures["mismatches"].append(f"summary nulls {f.type}: {summary}")

    run()
    figures["typed_errors"] = dict(figures["typed_errors"])
    figures["types"] = len(figures["types"])
    figures["untyped_error_count"] = len(figures["untyped_errors"])
    figures["mismatch_count"] = len(figures["mismatches"])
    figures["untyped_errors"] = figures["untyped_errors"][:20]
    figures["mismatches"] = figures["mismatches"][:20]
    _record("engine-temporal", figures)
    print("\ntemporal:", {k: v for k, v in figures.items() if k not in ("mismatches",)})
    assert figures["untyped_errors"] == []
    assert figures["filter_errors_without_position"] == 0
    assert figures["mismatches"] == []
    assert figures["cases"] == CASES


def test_joined_and_compared_sources_keep_durations_and_wide_decimals_exact() -> None:
    from dsviz_widget.engine import compare_sources, join_sources

    a = Source.from_arrow(
        pa.table(
            {
                "k": [1, 2],
                "took": pa.array([1, 10**9 + 1], pa.duration("ns")),
                "w": pa.array([D("1" * 40), None], pa.decimal256(40, 0)),
            }
        )
    )
    b = Source.from_arrow(pa.table({"k": [2, 1], "x": [6, 5]}))
    joined = join_sources(a, b, "k")
    page = ENGINE.view(joined, Query(filter="took > '1s'")).page(0, 10)
    assert page.to_pydict() == {
        "k": [2],
        "took": [pd.Timedelta(10**9 + 1)],
        "w": [None],
        "x": [6],
        "_row": [1],
    }
    assert ENGINE.view(joined, Query()).page(0, 10).column("w").to_pylist() == [D("1" * 40), None]
    groups = ENGINE.view(joined, Query(group_by=["took"])).page(0, 10)
    assert groups.column("took").type == pa.duration("ns")
    compared = compare_sources([a, a], on="k")
    assert ENGINE.view(compared, Query(filter="changed")).num_rows == 0


@pytest.mark.parametrize(
    "arr",
    [
        pa.array([0, 1, 5, 1, 0], pa.int64()).cast(pa.time64("ns")),  # keys alike to as_py()
        pa.array([-62_135_596_800_000, 253_402_214_400_000, None], pa.int64()).cast(pa.date64()),
        pa.array([1, 2, 1], pa.int64()).cast(pa.timestamp("ns", tz="+05:30")),
    ],
    ids=["time64ns", "date64", "timestamp-ns-offset"],
)
def test_drilling_in_by_the_group_pages_scalar_is_exact(arr: pa.Array) -> None:
    src = Source.from_arrow(pa.table({"c": arr}))
    parent = ENGINE.view(src, Query(group_by=["c"]))
    groups = parent.page(0, 100).column("c")
    values = arr.to_pylist() if pa.types.is_date(arr.type) else arr.cast(pa.int64()).to_pylist()
    keys = groups.to_pylist() if pa.types.is_date(arr.type) else groups.cast(pa.int64()).to_pylist()
    for j, key in enumerate(keys):
        child = ENGINE.view(src, parent.group_query({"c": groups[j]}))
        want = [i for i, v in enumerate(values) if v == key]
        assert sorted(child.page(0, 100).column("_row").to_pylist()) == want, key


def test_a_summary_of_durations_longer_than_a_timedelta_names_them_in_the_unit() -> None:
    src = Source.from_arrow(pa.table({"c": pa.array([10**15, 1, None], pa.duration("s"))}))
    summary = ENGINE.view(src, Query()).summary("c")
    assert summary["values"] == [dt.timedelta(seconds=1), "1000000000000000 s"]
