"""Must show (a): random schemas x random values round-trip through a logged artifact.

Each case builds a pandas DataFrame (pandas is the reference), makes a ``Table`` of it (from
the DataFrame, and row by row through ``add_data``), logs it, reads it back with
``use_artifact(...).get`` and compares ``to_pandas()`` and ``query()`` with the original,
value by value. Every family of values round-trips both ways (timestamps, dates, durations
and decimals included); only a column name no storage can hold may be refused, with a typed
``DsvizError`` naming it. Figures go to ``figures/schemas-roundtrip.json``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from tests.reliability._common import pick
from tests.reliability.test_save_faults import _record

EXAMPLES = pick(40, 600)
FIGURES: Counter[str] = Counter()

_INT_WIDTHS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


def _ints(dtype: str) -> st.SearchStrategy[list[Any]]:
    info = np.iinfo(dtype)
    edge = st.sampled_from([int(info.min), int(info.max), 0, 2**53 + 1 if info.bits == 64 else 1])
    return st.lists(st.integers(int(info.min), int(info.max)) | edge, min_size=1, max_size=5)


_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [-0.0, 5e-324, 1.7976931348623157e308]
)
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _FLOATS | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _column(draw: Any) -> tuple[str, pd.Series | list[Any]]:
    """A (family, series) pair: the series' dtype is the point of the case."""
    family = draw(
        st.sampled_from(
            [
                "int",
                "nullable_int",
                "float",
                "bool",
                "nullable_bool",
                "str",
                "category",
                "datetime",
                "datetime_tz",
                "date",
                "timedelta",
                "decimal",
                "list",
                "dict",
                "all_null",
            ]
        )
    )
    n = draw(st.integers(1, 5))
    if family == "int":
        dtype = draw(st.sampled_from(_INT_WIDTHS))
        values = draw(_ints(dtype))
        return family, pd.Series(values, dtype=dtype)
    if family == "nullable_int":
        dtype = draw(st.sampled_from(_INT_WIDTHS))
        values = draw(_ints(dtype))
        values = [draw(st.sampled_from([v, None])) for v in values]
        return family, pd.Series(
            pd.array(
                values,
                dtype=dtype.replace("u", "U").replace("int", "Int", 1)
                if dtype.startswith("u")
                else dtype.capitalize(),
            )
        )
    if family == "float":
        dtype = draw(st.sampled_from(["float32", "float64"]))
        width = 32 if dtype == "float32" else 64
        values = draw(st.lists(st.floats(width=width, allow_nan=True), min_size=n, max_size=n))
        return family, pd.Series(values, dtype=dtype)
    if family == "bool":
        return family, pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if family == "nullable_bool":
        values = draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n))
        return family, pd.Series(pd.array(values, dtype="boolean"))
    if family == "str":
        values = draw(st.lists(_TEXT | st.none(), min_size=n, max_size=n))
        return family, pd.Series(values, dtype=object)
    if family == "category":
        values = draw(st.lists(st.sampled_from(["a", "b", "ü"]), min_size=n, max_size=n))
        return family, pd.Series(values, dtype="category")
    if family == "datetime":
        if draw(st.booleans()):  # nanoseconds, pandas' own
            stamps = draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
            return family, pd.Series(pd.to_datetime(stamps, unit="ns"))
        # Python datetimes, years 1 to 9999 (pandas holds them in microseconds), or missing
        values = draw(st.lists(st.datetimes() | st.none(), min_size=n, max_size=n))
        return family, pd.Series(values, dtype=object if None in values else None)
    if family == "date":
        values = draw(st.lists(st.dates() | st.none(), min_size=n, max_size=n))
        return family, pd.Series(values, dtype=object)
    if family == "datetime_tz":
        tz = draw(st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata"]))
        stamps = draw(st.lists(st.integers(0, 2**62), min_size=n, max_size=n))
        return family, pd.Series(pd.to_datetime(stamps, unit="ns", utc=True)).dt.tz_convert(tz)
    if family == "timedelta":
        values = draw(st.lists(st.integers(-(2**62), 2**62), min_size=n, max_size=n))
        return family, pd.Series(pd.to_timedelta(values, unit="ns"))
    if family == "decimal":
        places = draw(st.integers(0, 12))
        values = draw(
            st.lists(
                st.decimals(places=places, min_value=-(10**20), max_value=10**20, allow_nan=False)
                | st.none(),
                min_size=n,
                max_size=n,
            )
        )
        return family, pd.Series(values, dtype=object)
    if family == "list":
        return family, pd.Series(
            draw(st.lists(st.lists(_JSON, max_size=3), min_size=n, max_size=n)), dtype=object
        )
    if family == "dict":
        return family, pd.Series(
            draw(st.lists(st.dictionaries(_TEXT, _JSON, max_size=3), min_size=n, max_size=n)),
            dtype=object,
        )
    return family, pd.Series([None] * n, dtype=object)


_NAMES = st.text(
    st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6
) | st.sampled_from(
    [
        "count",
        "file_row_number",
        "filename",
        "rowid",
        "_sample_rows",
        "select",
        "a.b",
        "%_x",
        "n_boxes",
        " ",
        "é",
        "É",
        "😀",
        "score",
        "Score",
        "SCORE",
        "c0",
        "C0",
    ]
)
_BAD_NAMES = st.sampled_from(["_row", "_dsviz_x", "a\x00", "\ud800", ""])


def _norm(value: Any) -> Any:
    """A comparable form: every kind of missing is None, NaN is a token, numbers are Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)):
        return (
            "NaN"
            if math.isnan(value)
            else ("-0.0" if value == 0 and math.copysign(1, value) < 0 else float(value))
        )
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, (pd.Timestamp, dt.datetime, np.datetime64)):
        stamp = pd.Timestamp(value)  # an instant (UTC) for tz-aware ones, exact in any unit
        return ("ts", _count_ns(stamp.to_datetime64()), str(stamp.tz))
    if isinstance(value, dt.date):
        return ("date", value.isoformat())
    if isinstance(value, (pd.Timedelta, dt.timedelta, np.timedelta64)):
        return ("td", _count_ns(pd.Timedelta(value).to_timedelta64()))
    if isinstance(value, decimal.Decimal):
        # Arrow's decimals have no negative zero (pandas' own Arrow path drops its sign too);
        # every other value keeps its digits, the scale becoming the column's.
        return ("dec", "0" if value.is_zero() else str(value.normalize()))
    return value


def _count_ns(value: np.datetime64 | np.timedelta64) -> int:
    """Nanoseconds as a Python int (no int64 overflow for a year-9999 datetime)."""
    unit, step = np.datetime_data(value.dtype)
    per = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    return int(value.astype(np.int64)) * step * per


def _values(series: pd.Series) -> list[Any]:
    values = [_norm(v) for v in series.astype(object).tolist()]
    if series.dtype != object and pd.api.types.is_string_dtype(series.dtype):
        values = [None if v == "NaN" else v for v in values]  # pandas' str dtype: NaN is missing
    return values


def _logged(t: dv.Table, tag: str) -> Any:
    art = dv.Artifact(f"schemas-{tag}", type="dataset")
    art.add(t, "t")
    dv.log_artifact(art)
    return dv.use_artifact(f"schemas-{tag}:{art.version}").get("t")


def _reason(message: str) -> str:
    """A refusal's class for the figures: the type that cannot be stored, or the rule."""
    found = re.search(r"cannot store (\w+)", message)
    if found:
        return f"cannot store {found.group(1)}"
    if "column name" in message:
        return "column name"
    if "does not fit in 64 bits" in message:
        return "int beyond int64"
    return message.split(":")[-1].strip()[:40]


def _check(df: pd.DataFrame, via: str) -> None:
    """Make, log, read back and compare; record a refusal with its reason."""
    try:
        if via == "dataframe":
            t = dv.Table(dataframe=df)
        else:
            t = dv.Table(columns=list(df.columns))
            for row in df.astype(object).itertuples(index=False):
                t.add_data(*[None if (v is pd.NA or v is pd.NaT) else v for v in row])
    except dv.DsvizError as exc:
        message = str(exc)
        assert any(repr(c) in message for c in df.columns) or "column name" in message, message
        # Every family of values must round-trip, row by row as from the DataFrame. Refused
        # are only a name no storage can hold (NUL), and, row by row, a uint64 above int64's
        # range (a Python int has no width; a DataFrame's uint64 column keeps it).
        allowed = {"column name"} | ({"int beyond int64"} if via == "add_data" else set())
        assert _reason(message) in allowed, f"{via} refused {df.dtypes.to_dict()}: {message}"
        FIGURES[f"refused:{via}:{_reason(message)}"] += 1
        return
    back = _logged(t, via)
    for label, frame in (("to_pandas", back.to_pandas()), ("query", back.query(limit=len(df)))):
        assert list(frame.columns) == list(df.columns), label
        for name in df.columns:
            want, got = _values(df[name]), _values(frame[name])
            if via == "add_data" and want != got:
                # add_data widens ints to float when a float arrives, as pandas would
                got = [int(v) if isinstance(v, float) and v.is_integer() else v for v in got]
            assert got == want, f"{via} {label} column {name!r} ({df[name].dtype}): {want} != {got}"
    FIGURES[f"ok:{via}"] += 1


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    # Names may differ only in case (score / Score): the engine must keep them apart.
    names=st.lists(_NAMES, min_size=1, max_size=4, unique=True),
    data=st.data(),
)
def test_random_schemas_round_trip_or_are_refused(
    names: list[str], data: Any, tmp_path_factory: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("DSVIZ_DIR", str(tmp_path_factory.mktemp("store")))
    dv.finish()
    columns = [data.draw(_column()) for _ in names]
    n = min(len(s) for _, s in columns)
    df = pd.DataFrame(
        {
            name: s.iloc[:n].reset_index(drop=True)
            for name, (_, s) in zip(names, columns, strict=True)
        }
    )
    FIGURES["cases"] += 1
    for family, _ in columns:
        FIGURES[f"family:{family}"] += 1
    for via in ("dataframe", "add_data"):
        _check(df, via)


@settings(max_examples=pick(20, 200), deadline=None, suppress_health_check=list(HealthCheck))
@given(bad=_BAD_NAMES, good=_NAMES)
def test_names_no_storage_can_hold_are_refused_naming_them(bad: str, good: str) -> None:
    if bad == good:
        return
    with pytest.raises(dv.ValidationError, match=r"column name"):
        dv.Table(columns=[good, bad])
    FIGURES["refused:bad name"] += 1


@settings(max_examples=pick(10, 100), deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(["score", "Label", "count", "ÄB"]))
def test_case_colliding_names_round_trip(
    name: str, tmp_path_factory: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("DSVIZ_DIR", str(tmp_path_factory.mktemp("store")))
    dv.finish()
    df = pd.DataFrame({name: [1, 2], name.swapcase(): [3.5, None]})
    _check(df, "dataframe")


@pytest.mark.slow
def test_record_figures() -> None:
    """Runs last in this module: writes what the generative tests saw."""
    _record("schemas-roundtrip", dict(sorted(FIGURES.items())))
    print(f"\n{dict(FIGURES)}")
