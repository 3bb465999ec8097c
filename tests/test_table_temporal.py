"""Timestamps, dates, durations and decimals: row by row as from a DataFrame, exactly.

Before this, a DataFrame's datetime64 / timedelta64 columns made a table but the same values
through ``add_data`` were refused ("cannot store Timestamp"), and Decimals were refused both
ways. Each test here failed then. pandas is the reference: a column comes back from
``to_pandas()`` and ``query()`` with the dtype and values ``pd.DataFrame`` gives the same
Python values, in memory and after logging.
"""

from __future__ import annotations

import datetime as dt
import decimal
import zoneinfo
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import dsviz_widget as dv
from dsviz_widget import _table_memory as table_module

D = decimal.Decimal
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc

#: name -> (values of one column, the Arrow type it is stored as)
FAMILIES: dict[str, tuple[list[Any], pa.DataType]] = {
    "naive datetime": (
        [
            dt.datetime(2020, 1, 1, 12, 30, 0, 123456),
            None,
            dt.datetime(1, 1, 1),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
        ],
        pa.timestamp("us"),
    ),
    "aware datetime": (
        # both sides of a DST change, and an instant given in another zone's wall clock
        [
            dt.datetime(2021, 3, 28, 1, 59, tzinfo=PARIS),
            dt.datetime(2021, 3, 28, 3, 0, tzinfo=PARIS),
            None,
            dt.datetime(2021, 10, 31, 2, 30, fold=1, tzinfo=PARIS),
        ],
        pa.timestamp("us", tz="Europe/Paris"),
    ),
    "fixed offset": (
        [dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))), None],
        pa.timestamp("us", tz="+05:30"),
    ),
    "pandas ns": (
        [
            pd.Timestamp("2020-01-01 00:00:00.000000001", tz="UTC"),
            pd.Timestamp("2262-04-11 23:47:16.854775807", tz="UTC"),
            None,
        ],
        pa.timestamp("ns", tz="UTC"),
    ),
    "datetime then ns": (
        [dt.datetime(2020, 1, 1, 0, 0, 0, 7), pd.Timestamp(5, unit="ns")],
        pa.timestamp("ns"),
    ),
    "numpy datetime64": (
        [np.datetime64("2020-01-01"), None, np.datetime64("2021-01-01T00:00:00.250")],
        pa.timestamp("ms"),
    ),
    "date": ([dt.date(2020, 2, 29), None, dt.date(1, 1, 1), dt.date(9999, 12, 31)], pa.date32()),
    "timedelta": (
        [dt.timedelta(days=-1, microseconds=1), None, dt.timedelta(days=999_999)],
        pa.duration("us"),
    ),
    "pandas and numpy timedelta": (
        [pd.Timedelta(1), np.timedelta64(5, "ms"), pd.NaT],
        pa.duration("ns"),
    ),
    "decimal": (
        [D("1.5"), None, D("-123456789.123456789"), D("1E+5"), D("0.000001"), D("0")],
        pa.decimal128(18, 9),
    ),
}


def _logged(t: dv.Table) -> Any:
    art = dv.Artifact("temporal", type="dataset")
    art.add(t, "t")
    dv.log_artifact(art)
    return dv.use_artifact(art.qualified_name).get("t")


def _row_by_row(values: list[Any]) -> dv.Table:
    t = dv.Table(columns=["n", "c"])
    for i, v in enumerate(values):
        t.add_data(i, v)
    return t


def _assert_like_pandas(frame: pd.DataFrame, values: list[Any]) -> None:
    want = pd.Series(values, name="c")  # what pandas makes of the same Python values
    got = frame["c"].reset_index(drop=True)
    assert got.dtype == want.dtype
    # Decimals compare by value: Decimal('1.5') == Decimal('1.500000000') (the column's scale).
    pd.testing.assert_series_equal(got, want)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_add_data_values_come_back_as_pandas_gives_them_in_memory_and_logged(
    family: str, store_dir: Path
) -> None:
    values, arrow_type = FAMILIES[family]
    t = _row_by_row(values)
    assert t.kinds["c"] == "native"
    assert t.to_arrow().schema.field("c").type == arrow_type
    for table in (t, _logged(t)):
        _assert_like_pandas(table.to_pandas(), values)
        _assert_like_pandas(table.query(sort=["n"], limit=len(values)), values)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_dataframe_and_add_data_make_the_same_table(family: str) -> None:
    values, arrow_type = FAMILIES[family]
    from_frame = dv.Table(dataframe=pd.DataFrame({"n": range(len(values)), "c": values}))
    assert from_frame.to_arrow().schema.field("c").type == arrow_type
    assert from_frame == _row_by_row(values)


def test_table_from_rows_and_add_column_accept_them_too() -> None:
    values, _ = FAMILIES["aware datetime"]
    rows = dv.Table(columns=["n", "c"], data=[[i, v] for i, v in enumerate(values)])
    assert rows == _row_by_row(values)
    t = dv.Table(columns=["n"], data=[[0], [1]])
    t.add_column("price", [D("9.99"), D("10")])
    t.add_column("when", [dt.date(2020, 1, 1), None])
    assert t.get_column("price") == [D("9.99"), D("10.00")]
    assert t.get_column("when") == [dt.date(2020, 1, 1), None]
    assert t.to_arrow().schema.field("price").type == pa.decimal128(4, 2)


def test_get_column_and_rows_give_the_python_values_back() -> None:
    values = [
        dt.datetime(2020, 1, 1, 0, 0, 1, tzinfo=PARIS),
        None,
        dt.datetime(2020, 1, 2, tzinfo=PARIS),
    ]
    t = _row_by_row(values)
    assert t.get_column("c") == values
    assert [row[1] for row in t] == values


def test_query_filters_sorts_and_groups_them_in_memory_and_logged(store_dir: Path) -> None:
    t = dv.Table(columns=["n", "when", "price", "day", "took"])
    t.add_data(
        0, dt.datetime(2021, 1, 1, tzinfo=UTC), D("10.50"), dt.date(2021, 1, 1), dt.timedelta(1)
    )
    t.add_data(
        1, dt.datetime(2020, 1, 1, tzinfo=UTC), D("-3.25"), dt.date(2020, 1, 1), dt.timedelta(3)
    )
    t.add_data(2, None, None, None, None)
    t.add_data(
        3, dt.datetime(2022, 1, 1, tzinfo=UTC), D("99.999"), dt.date(2020, 1, 1), dt.timedelta(2)
    )
    for table in (t, _logged(t)):
        assert table.query(sort=["-when"]).index.tolist() == [3, 0, 1, 2]  # nulls last
        assert table.query(sort=["took"]).index.tolist() == [0, 3, 1, 2]
        page = table.query(filter="price > 0", sort=["-price"])
        assert page["price"].tolist() == [D("99.999"), D("10.500")]
        groups = table.query(group_by="day", sort=["day"])
        assert groups["day"].tolist() == [dt.date(2020, 1, 1), dt.date(2021, 1, 1), None]
        assert groups["count"].tolist() == [2, 1, 1]
        assert table.query(filter="when is null").index.tolist() == [2]


def test_filtering_a_timestamp_against_a_date_text() -> None:
    t = _row_by_row([dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1)])
    assert t.query(filter="c > '2020-06-01'").index.tolist() == [1]


@pytest.mark.parametrize(
    ("first", "value", "match"),
    [
        (
            dt.datetime(2020, 1, 1, tzinfo=UTC),
            dt.datetime(2020, 1, 1, tzinfo=PARIS),
            r".* is in time zone Europe/Paris but the column's timestamps are in UTC; "
            r"convert it first \(e\.g\. tz_convert\('UTC'\)\)",
        ),
        (
            dt.datetime(2020, 1, 1),
            pd.Timestamp("2020-01-01", tz="UTC"),
            r".* is tz-aware but the column holds naive timestamps \(timestamp\[us\]\)",
        ),
        (
            dt.datetime(2020, 1, 1, tzinfo=UTC),
            dt.datetime(2020, 1, 1),
            r".* is naive but the column holds tz-aware timestamps \(timestamp\[us, tz=UTC\]\)",
        ),
        (
            dt.datetime(2020, 1, 1),
            dt.date(2020, 1, 1),
            r"expected timestamp\[us\] like the column's values, got date",
        ),
        (
            dt.datetime(9999, 1, 1),
            pd.Timestamp(1, unit="ns"),
            r"this value needs the column to become timestamp\[ns\], which some of its earlier "
            r"values do not fit",
        ),
        (
            pd.Timestamp(1, unit="ns"),
            dt.datetime(9999, 1, 1),
            r"datetime datetime\.datetime\(9999, 1, 1, 0, 0\) does not fit in a timestamp\[ns\] "
            r"column",
        ),
        (
            None,
            np.datetime64(1, "ps"),
            r".* is in unit 'ps', which no timestamp or duration column",
        ),
    ],
)
def test_values_that_do_not_fit_the_column_are_refused_naming_row_and_column(
    first: Any, value: Any, match: str
) -> None:
    t = dv.Table(("n", "c"))
    t.add_data(0, first)
    before = t.to_arrow()
    with pytest.raises(dv.ValidationError, match=r"row 1, column 'c': " + match):
        t.add_data(1, value)
    assert len(t) == 1 and t.to_arrow().equals(before)  # the refused row left no trace


def test_a_column_keeps_the_sort_of_value_its_first_value_fixed() -> None:
    """As for ints and floats (an int column only widens to float): no datetime in an int
    column, no int in a timestamp column, no float in a decimal one, either way round."""
    cases = [
        (5, dt.datetime(2020, 1, 1), r"expected int, got datetime datetime\.datetime\(2020, 1, 1"),
        (
            dt.datetime(2020, 1, 1),
            5,
            r"expected timestamp\[us\] like the column's values, got int 5",
        ),
        (1.5, D("1.5"), r"expected float, got Decimal Decimal\('1\.5'\)"),
        (D("1.5"), 2.5, r"expected decimal128\(2, 1\) like the column's values, got float 2\.5"),
    ]
    for first, value, match in cases:
        t = dv.Table(("c",), data=[[first]])
        with pytest.raises(dv.ValidationError, match=r"row 1, column 'c': " + match):
            t.add_data(value)
        assert t.get_column("c") == [first]
        with pytest.raises(dv.ValidationError, match=r"row 1, column 'c': " + match):
            dv.Table(dataframe=pd.DataFrame({"c": pd.Series([first, value], dtype=object)}))


@pytest.mark.parametrize("text", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity"])
def test_decimals_that_are_not_finite_are_refused_both_ways(text: str) -> None:
    match = (
        rf"row 1, column 'c': Decimal '{text}' cannot be stored; decimal columns hold finite "
        r"numbers \(use None for a missing value\)"
    )
    t = dv.Table(("c",), data=[[D("1")]])
    with pytest.raises(dv.ValidationError, match=match):
        t.add_data(D(text))
    with pytest.raises(dv.ValidationError, match=match):
        dv.Table(dataframe=pd.DataFrame({"c": [D("1"), D(text)]}))


def test_decimals_wider_than_38_digits_are_refused_both_ways() -> None:
    match = (
        r"row 1, column 'c': Decimal Decimal\('0\.1111111111'\) needs 40 decimal digits \(30 "
        r"before the point and 10 after, counting the column's other values\); a decimal column "
        r"holds at most 38"
    )
    values = [D("1" * 30), D("0.1111111111")]
    t = dv.Table(("c",), data=[[values[0]]])
    with pytest.raises(dv.ValidationError, match=match):
        t.add_data(values[1])
    with pytest.raises(dv.ValidationError, match=match):
        dv.Table(dataframe=pd.DataFrame({"c": values}))


def test_a_dataframe_column_of_mixed_time_zones_is_refused_naming_the_row() -> None:
    df = pd.DataFrame(
        {"c": pd.Series([pd.Timestamp("2020", tz="UTC"), pd.Timestamp("2020", tz=PARIS)])}
    )
    assert df["c"].dtype == object
    with pytest.raises(
        dv.ValidationError, match=r"row 1, column 'c': .* in time zone Europe/Paris"
    ):
        dv.Table(dataframe=df)


def test_arrow_backed_decimal_and_timestamp_dataframe_columns(store_dir: Path) -> None:
    df = pd.DataFrame(
        {
            "price": pd.Series([D("1.50"), None], dtype=pd.ArrowDtype(pa.decimal128(10, 2))),
            "wide": pd.Series([D("2.5"), D("-1")], dtype=pd.ArrowDtype(pa.decimal256(50, 1))),
            "when": pd.Series(
                [dt.datetime(2020, 1, 1, tzinfo=UTC), None],
                dtype=pd.ArrowDtype(pa.timestamp("us", tz="UTC")),
            ),
        }
    )
    t = dv.Table(dataframe=df)
    schema = t.to_arrow().schema
    # decimal256 holds these in 38 digits; the query engine reads no wider decimal
    assert [schema.field(n).type for n in df.columns] == [
        pa.decimal128(10, 2),
        pa.decimal128(38, 1),
        pa.timestamp("us", tz="UTC"),
    ]
    t.add_data(D("0.125"), D("3"), pd.Timestamp("2021-01-01", tz="UTC"))  # widens the scale
    for table in (t, _logged(t)):
        page = table.query(sort=["-price"])
        assert page["price"].tolist() == [D("1.500"), D("0.125"), None]
        assert page["wide"].tolist() == [D("2.5"), D("3.0"), D("-1.0")]
        assert str(page["when"].dtype) == "datetime64[us, UTC]"
    wide = pd.DataFrame({"c": pd.Series([D("1" * 45)], dtype=pd.ArrowDtype(pa.decimal256(50, 0)))})
    with pytest.raises(
        dv.ValidationError,
        match=r"column 'c': its decimal256\(50, 0\) values need "
        r"more than 38 digits",
    ):
        dv.Table(dataframe=wide)


def test_add_data_onto_a_dataframe_made_timestamp_column_keeps_its_unit_and_zone() -> None:
    df = pd.DataFrame({"c": pd.to_datetime([1], unit="ns", utc=True).tz_convert("Asia/Kolkata")})
    t = dv.Table(dataframe=df)
    t.add_data(dt.datetime(2020, 1, 1, tzinfo=zoneinfo.ZoneInfo("Asia/Kolkata")))
    assert t.to_arrow().schema.field("c").type == pa.timestamp("ns", tz="Asia/Kolkata")
    assert t.to_pandas()["c"].tolist() == [
        pd.Timestamp(1, unit="ns", tz="UTC").tz_convert("Asia/Kolkata"),
        pd.Timestamp("2020-01-01", tz="Asia/Kolkata"),
    ]
    with pytest.raises(dv.ValidationError, match=r"row 2, column 'c': .* in time zone UTC"):
        t.add_data(pd.Timestamp("2020", tz="UTC"))


def test_unit_and_scale_widen_across_flushed_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_module, "FLUSH_ROWS", 2)
    t = dv.Table(("when", "price"))
    rows = [
        (dt.datetime(2020, 1, 1, 0, 0, 0, 1), D("1")),
        (None, D("22.5")),
        (dt.datetime(2020, 1, 2), None),
        (pd.Timestamp(3, unit="ns"), D("-0.125")),
        (dt.datetime(2020, 1, 3), D("12345")),
    ]
    for row in rows:
        t.add_data(*row)
    schema = t.to_arrow().schema
    assert schema.field("when").type == pa.timestamp("ns")
    assert schema.field("price").type == pa.decimal128(8, 3)
    assert t.get_column("when") == [pd.Timestamp(r[0]) if r[0] else None for r in rows]
    assert t.get_column("price") == [r[1] for r in rows]


def test_nat_is_missing_and_a_column_of_missing_values_takes_its_first_value_kind() -> None:
    t = dv.Table(("c",), data=[[pd.NaT], [None], [np.datetime64("NaT")]])
    assert t.kinds["c"] == "str"  # nothing known yet, as for None
    t.add_data(dt.date(2020, 1, 1))
    assert t.get_column("c") == [None, None, None, dt.date(2020, 1, 1)]
    # the same for a DataFrame column of missing values, which failed on any kind
    t = dv.Table(dataframe=pd.DataFrame({"c": [None, None]}))
    t.add_data(7)
    assert t.get_column("c") == [None, None, 7]
