"""Cells read back exactly as given, or are refused at ``add_data`` naming row and column.

Each test here failed before the fix it guards: values were silently rewritten (dict keys,
tuples), rounded (ints with nulls), wrapped, or failed later with an untyped error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dsviz_widget as dv


def _logged(t: dv.Table) -> Any:
    art = dv.Artifact("cells", type="dataset")
    art.add(t, "t")
    dv.log_artifact(art)
    return dv.use_artifact(art.qualified_name).get("t")


def _refused(value: Any, match: str, *, first: Any = "ok") -> dv.Table:
    """add_data(value) in row 1 of column 'c' is refused, and the table keeps row 0 only."""
    t = dv.Table(("n", "c"))
    t.add_data(0, first)
    with pytest.raises(dv.ValidationError, match=r"row 1, column 'c': " + match):
        t.add_data(1, value)
    assert len(t) == 1 and t.get_column("n") == [0]
    return t


# -- item 11: list and dict cells -----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "match"),
    [
        (
            {1: "a", "1": "b", None: "n"},
            r"cannot store this list or dict cell: dict key 1 is a int",
        ),
        ({"ok": {None: 1}}, r"cannot store this list or dict cell at \['ok'\]: dict key None"),
        (
            {"t": (1, 2)},
            r"cannot store this list or dict cell at \['t'\]: tuple \(1, 2\) would not read back unchanged; use a list",
        ),
        ({"b": b"x"}, r"cannot store this list or dict cell at \['b'\]: bytes"),
        ({"s": {1, 2}}, r"cannot store this list or dict cell at \['s'\]: set"),
        ({"c": 1j}, r"cannot store this list or dict cell at \['c'\]: complex"),
        (
            {"d": np.datetime64("2020-01-01")},
            r"cannot store this list or dict cell at \['d'\]: datetime64",
        ),
        (
            {"l": np.longdouble(1) / 3},
            r"(float128|longdouble|float96) value .* does not fit in a float64",
        ),
        (
            {"a": np.zeros((2, 2))},
            r"cannot store this list or dict cell at \['a'\]: numpy array of shape \(2, 2\)",
        ),
        ({"\ud800": 1}, r"list or dict cell .* cannot be stored as UTF-8"),
        ({"k": ["\udfff"]}, r"list or dict cell .* cannot be stored as UTF-8"),
    ],
)
def test_dict_cells_that_would_change_are_refused(value: Any, match: str) -> None:
    _refused(value, match, first={"x": 1})


def test_a_cell_that_contains_itself_or_nests_too_deep_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    _refused(loop, r".*contains itself", first=[1])
    deep: list[Any] = []
    for _ in range(300):
        deep = [deep]
    _refused(deep, r".*nesting deeper than 200", first=[1])


def test_tuples_are_refused_as_cells_not_read_back_as_lists() -> None:
    t = dv.Table(("c",))
    with pytest.raises(
        dv.ValidationError,
        match=r"row 0, column 'c': cannot store tuple.*tuples would read back as lists",
    ):
        t.add_data((1, 2))


def test_json_like_values_round_trip_exactly_in_memory_and_logged(store_dir: Path) -> None:
    value = {
        "int": 2**70,  # Python's JSON keeps any int
        "neg0": -0.0,
        "nan": float("nan"),
        "inf": [float("inf"), -float("inf")],
        "np": [np.int8(-3), np.uint64(2**64 - 1), np.float32(0.1), np.bool_(True)],
        "arr": np.arange(3, dtype=np.uint16),
        "uni": "ünï \u2028 \U0001f600",
        "": {"nested": [None, [], {}]},
    }
    # The exact Python values a reader gets: numpy scalars as the Python number of equal value.
    expected = {**value, "np": [-3, 2**64 - 1, float(np.float32(0.1)), True], "arr": [0, 1, 2]}
    t = dv.Table(("d",))
    t.add_data(value)
    for got in (t.get_column("d")[0], _logged(t).get_column("d")[0], t.to_pandas()["d"][0]):
        assert repr(got) == repr(expected)  # repr: NaN == NaN and -0.0 != 0.0 both count
        assert type(got["np"][0]) is int and type(got["np"][2]) is float


# -- item 15: ints with nulls -------------------------------------------------------------------
def test_int_columns_with_nulls_keep_every_int64_in_query_and_to_pandas(store_dir: Path) -> None:
    big = 2**53 + 1
    t = dv.Table(("i", "j"))
    t.add_data(big, 1)
    t.add_data(None, 2)
    t.add_data(-(2**63), 3)
    for table in (t, _logged(t)):
        for frame in (table.to_pandas(), table.query(), table.query(sort=["j"])):
            assert str(frame["i"].dtype) == "Int64"
            assert frame["i"].tolist()[0] == big and frame["i"].tolist()[2] == -(2**63)
            assert frame["i"].isna().tolist() == [False, True, False]
            assert str(frame["j"].dtype) == "int64"  # no nulls: a plain numpy column


def test_narrow_and_unsigned_int_columns_with_nulls_keep_their_width(store_dir: Path) -> None:
    df = pd.DataFrame(
        {
            "u": pd.array([2**64 - 1, None], dtype="UInt64"),
            "s": pd.array([-128, None], dtype="Int8"),
        }
    )
    t = dv.Table(dataframe=df)
    for table in (t, _logged(t)):
        got = table.to_pandas()
        assert str(got["u"].dtype) == "UInt64" and got["u"][0] == 2**64 - 1
        assert str(got["s"].dtype) == "Int8" and got["s"][0] == -128
        assert got["u"].isna().tolist() == [False, True]


# -- item 16: failures are typed, at add_data, naming row and column -----------------------------
@pytest.mark.parametrize(
    ("value", "match"),
    [
        (2**63, r"integer 9223372036854775808 does not fit in 64 bits"),
        (-(2**63) - 1, r"integer -9223372036854775809 does not fit in 64 bits"),
        (np.uint64(2**64 - 1), r"integer 18446744073709551615 does not fit in 64 bits"),
        (10**400, r"integer 1000.*\.\.\. does not fit in 64 bits"),
    ],
)
def test_ints_beyond_int64_are_refused_at_add_data(value: Any, match: str) -> None:
    _refused(value, match, first=1)


def test_huge_int_into_a_float_column_is_refused() -> None:
    _refused(10**400, r"integer 1000.* is too large for a float column", first=1.5)


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", np.str_("\ud83d")])
def test_strings_that_are_not_utf8_are_refused_at_add_data(value: Any) -> None:
    _refused(value, r"string .* cannot be stored as UTF-8")


def test_unstorable_strings_and_ints_in_a_dataframe_name_the_row() -> None:
    with pytest.raises(dv.ValidationError, match=r"row 1, column 's': string"):
        dv.Table(dataframe=pd.DataFrame({"s": ["a", "\ud800"]}, dtype=object))
    with pytest.raises(dv.ValidationError, match=r"row 1, column 'i': integer"):
        dv.Table(dataframe=pd.DataFrame({"i": [1, 2**70]}, dtype=object))
    with pytest.raises(dv.ValidationError, match=r"row 0, column 'c': cannot store complex"):
        dv.Table(dataframe=pd.DataFrame({"c": np.array([1j, 2j])}))
    t = dv.Table(("a",), data=[[1], [2]])
    with pytest.raises(dv.ValidationError, match=r"row 1, column 'b': string"):
        t.add_column("b", ["x", "\udc80"])


def _boxed(**extra: Any) -> dv.Image:
    box = {"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "class_id": 0, **extra}
    return dv.Image(np.zeros((2, 2), np.uint8), boxes={"p": {"box_data": [box]}})


@pytest.mark.parametrize(
    "make",
    [
        lambda: dv.Image(np.zeros((2, 2), np.uint8), caption="\ud800"),
        lambda: dv.Audio(np.zeros(4, np.int16), sample_rate=8000, caption="\ud800"),
        lambda: dv.Image(np.zeros((2, 2), np.uint8), classes=[{"id": 0, "name": "\ud800"}]),
        lambda: _boxed(box_caption="\ud800"),
        lambda: _boxed(scores={"\ud800": 1}),
        lambda: dv.Image(
            np.zeros((2, 2), np.uint8), masks={"\ud800": {"mask_data": np.zeros((2, 2), np.uint8)}}
        ),
    ],
)
def test_media_text_that_is_not_utf8_is_refused_when_the_cell_is_made(make: Any) -> None:
    with pytest.raises(dv.ValidationError, match=r"cannot be stored as UTF-8"):
        make()


@pytest.mark.parametrize(
    "arr",
    [
        np.array(5),
        np.array(2.5, dtype=np.float16),
        np.zeros((0,), np.int32),
        np.zeros((0, 3), np.float64),
        np.zeros((3, 0, 2), np.uint8),
        np.zeros((1,) * 32, np.int8),
        np.arange(6, dtype=">i4").reshape(2, 3).T,  # big-endian and not contiguous
        np.array(["a", "ü"]),
        np.array([b"x", b""]),
        np.array(["2020-01-01"], dtype="datetime64[ns]"),
        np.array([1 + 2j], dtype=np.complex64),
    ],
    ids=repr,
)
def test_array_cells_round_trip_shape_dtype_and_values(arr: np.ndarray, store_dir: Path) -> None:
    t = dv.Table(("a",))
    t.add_data(arr)
    for got in (t.get_column("a")[0], _logged(t).get_column("a")[0]):
        assert got.shape == arr.shape and got.dtype == arr.dtype
        assert np.array_equal(got, arr)


def test_column_names_no_storage_can_hold_are_refused_naming_them() -> None:
    for bad in ["a\x00b", "\ud800", "", 3, None]:
        with pytest.raises(dv.ValidationError, match=r"column name|column names"):
            dv.Table((bad,))
        t = dv.Table(("x",), data=[[1]])
        with pytest.raises(dv.ValidationError, match=r"column name|column names"):
            t.add_column(bad, [1])  # type: ignore[arg-type]
    with pytest.raises(dv.ValidationError, match=r"column name 'a\\x00' contains a NUL"):
        dv.Table(dataframe=pd.DataFrame({"a\x00": [1]}))
