"""``dv.Table`` / ``dv.JoinedTable`` behave as W&B documents ``wandb.Table`` (docs/wandb-compat.md).

One test per behaviour, asserting what a user sees: values read back from a logged artifact,
dtypes compared with pandas, the errors W&B code catches.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.table import CellTypeError, TableIndex


def log_and_reopen(obj: Any, name: str = "t") -> Any:
    art = dv.Artifact("things", type="dataset")
    art.add(obj, name)
    dv.log_artifact(art)
    return dv.use_artifact(art.qualified_name).get(name)


# -- construction ------------------------------------------------------------------------------
def test_data_without_columns_gets_wandbs_default_columns() -> None:
    t = dv.Table(data=[[1, "a", "b"]])
    assert t.columns == ["Input", "Output", "Expected"]
    assert t.data == [[1, "a", "b"]]


def test_data_may_be_a_dataframe(store_dir: Path) -> None:
    df = pd.DataFrame({"id": [1, 2], "score": [0.5, 0.25], "label": ["a", None]})
    back = log_and_reopen(dv.Table(data=df))
    pd.testing.assert_frame_equal(back.to_pandas(), df)
    assert dv.Table(dataframe=df) == dv.Table(data=df)


def test_rows_is_data() -> None:
    assert dv.Table(["a"], rows=[[1], [2]]).data == [[1], [2]]
    with pytest.raises(dv.ValidationError, match="either data or rows"):
        dv.Table(["a"], data=[[1]], rows=[[2]])


def test_2d_numpy_array_keeps_its_dtype_per_column(store_dir: Path) -> None:
    arr = np.arange(6, dtype=np.int64).reshape(3, 2)
    back = log_and_reopen(dv.Table(["a", "b"], data=arr))
    pd.testing.assert_frame_equal(back.to_pandas(), pd.DataFrame(arr, columns=["a", "b"]))


def test_dtype_per_column_converts_and_refuses_with_type_error() -> None:
    t = dv.Table(["x", "name"], dtype=[float, str])
    t.add_data(1, "a")
    want = pd.DataFrame({"x": [1.0], "name": ["a"]})
    assert t.to_pandas().dtypes.tolist() == want.dtypes.tolist()
    with pytest.raises(TypeError, match="row 1, column 'name': dtype=str does not take int 3"):
        t.add_data(2.0, 3)
    assert len(t) == 1


def test_dtype_int_takes_floats_as_wandbs_number_type() -> None:
    t = dv.Table(["x"], dtype=int, data=[[1], [2.5]])
    assert t.get_column("x") == [1.0, 2.5]
    with pytest.raises(TypeError):
        t.add_data(True)  # W&B's booleans are not numbers


def test_unsupported_dtype_is_named() -> None:
    with pytest.raises(dv.ValidationError, match="is not supported: give a type"):
        dv.Table(["a"], dtype=[[int]])
    with pytest.raises(dv.ValidationError, match="dtype has 1 entries for 2 columns"):
        dv.Table(["a", "b"], dtype=[int])


def test_optional_false_refuses_none_and_nan_as_type_error() -> None:
    t = dv.Table(["a", "b"], optional=[False, True])
    t.add_data(1, None)
    for missing in (None, float("nan")):
        with pytest.raises(TypeError, match="None is not allowed"):
            t.add_data(missing, 1)
    assert t.data == [[1, None]]


def test_mixed_types_are_a_type_error() -> None:
    t = dv.Table(["a"], data=[[1]])
    with pytest.raises(TypeError, match="row 1, column 'a': expected int, got str"):
        t.add_data("x")
    with pytest.raises(CellTypeError, match="allow_mixed_types=True lifts dtype checks"):
        dv.Table(["a"], data=[[1], ["x"]], allow_mixed_types=True)


def test_allow_mixed_types_ignores_dtype() -> None:
    t = dv.Table(["a"], dtype=str, allow_mixed_types=True, data=[[1], [2.5]])
    assert t.get_column("a") == [1.0, 2.5]


@pytest.mark.parametrize("mode", ["IMMUTABLE", "MUTABLE", "INCREMENTAL"])
def test_log_mode_is_accepted(mode: str, store_dir: Path) -> None:
    t = dv.Table(["a"], data=[[1]], log_mode=mode)
    assert t.log_mode == mode
    assert log_and_reopen(t).data == [[1]]


def test_log_mode_incremental_refuses_add_column_and_bad_modes_are_named() -> None:
    t = dv.Table(["a"], log_mode="INCREMENTAL")
    with pytest.raises(dv.ValidationError, match="log_mode='INCREMENTAL'"):
        t.add_column("b", [])
    with pytest.raises(dv.ValidationError, match="log_mode must be one of"):
        dv.Table(["a"], log_mode="APPEND")


def test_incremental_errors_are_wandb_errors_with_wandb_wording() -> None:
    t = dv.Table(["a", "b"], log_mode="INCREMENTAL")
    for call in (lambda: t.add_column("c", []), lambda: t.add_computed_columns(lambda i, r: {})):
        with pytest.raises(dv.Error) as err:
            call()
        assert "is not supported for tables with log_mode='INCREMENTAL'. Use a different log " in (
            str(err.value)
        )
    assert dv.Error is dv.DsvizError
    with pytest.raises(dv.Error, match="Operation 'add_computed_columns'"):
        t.add_computed_columns(lambda i, r: {})


def test_malformed_table_arguments_are_assertion_errors_as_in_wandb() -> None:
    rows = [["a", 1, True], ["b", 2, False]]
    cases = [
        lambda: dv.Table(rows),  # rows passed as columns
        lambda: dv.Table(np.array(rows)),
        lambda: dv.Table(pd.DataFrame(rows)),
        lambda: dv.Table(dataframe=rows),  # a list is not a DataFrame
        lambda: dv.Table(dataframe=np.array(rows)),
        lambda: dv.Table(["a"], log_mode="INVALID_MODE"),
        lambda: dv.Table(["n"], data=[[1], [2]]).add_column("s", ["x"]),  # wrong length
    ]
    for make in cases:
        with pytest.raises(AssertionError) as err:
            make()
        assert isinstance(err.value, dv.TableArgumentError)
        assert isinstance(err.value, dv.ValidationError)  # and a ValueError, as before
    t = dv.Table(["id", "b"], data=[["1", "a"]])
    t.set_pk("id")
    with pytest.raises(AssertionError, match="already the primary key"):
        t.set_pk("b")
    assert dv.Table(data=pd.DataFrame(rows)).data == rows  # a DataFrame as data= still works


# -- methods -----------------------------------------------------------------------------------
def test_iterrows_yields_int_indexes_and_rows() -> None:
    t = dv.Table(["b"], data=[["a"], ["b"]])
    pairs = list(t.iterrows())
    assert pairs == [(0, ["a"]), (1, ["b"])]
    assert all(isinstance(i, TableIndex) for i, _ in pairs)
    assert pairs[1][0].get_row() == {"b": "b"}


def test_index_stored_in_another_table_is_its_row_number(store_dir: Path) -> None:
    a = dv.Table(["b"], data=[["x"], ["y"]])
    t = dv.Table(["fi", "c"])
    for ndx, _ in a.iterrows():
        t.add_data(ndx, "x")
    assert t.get_index() == [0, 1]
    assert log_and_reopen(t).get_column("fi") == [0, 1]


def test_add_row_is_add_data() -> None:
    t = dv.Table(["a", "b"])
    t.add_row(1, "x")
    assert t.data == [[1, "x"]]


def test_add_column_optional_false_refuses_none() -> None:
    t = dv.Table(["a"], data=[[1], [2]])
    with pytest.raises(TypeError, match="row 1, column 'b': None is not allowed"):
        t.add_column("b", ["x", None], optional=False)
    assert t.columns == ["a"]
    t.add_column("b", ["x", None])
    assert t.get_column("b") == ["x", None]


def test_add_computed_columns() -> None:
    t = dv.Table(columns=["x", "y"], data=[[3, 1], [4, 6]])
    t.add_computed_columns(lambda ndx, row: {"diff": row["x"] - row["y"], "i": int(ndx)})
    assert t.data == [[3, 1, 2, 0], [4, 6, -2, 1]]


def test_get_column_as_numpy() -> None:
    t = dv.Table(["n", "img"])
    pixels = np.zeros((2, 3, 3), np.uint8)
    t.add_data(1, dv.Image(pixels))
    t.add_data(2, dv.Image(pixels + 9))
    np.testing.assert_array_equal(t.get_column("n", convert_to="numpy"), np.array([1, 2]))
    images = t.get_column("img", convert_to="numpy")
    assert images.shape == (2, 2, 3, 3) and images[1, 0, 0, 0] == 9
    with pytest.raises(dv.ValidationError, match="convert_to must be None or 'numpy'"):
        t.get_column("n", convert_to="torch")


def test_cast_checks_existing_values_and_later_ones() -> None:
    t = dv.Table(["a"], data=[["1"], ["2"]])
    with pytest.raises(TypeError, match="row 0, column 'a': dtype=int does not take str"):
        t.cast("a", int)
    t.cast("a", str)
    with pytest.raises(TypeError, match="None is not allowed"):
        t.add_data(None)
    n = dv.Table(["a"], data=[[1], [2]])
    n.cast("a", float, optional=True)
    assert n.to_pandas()["a"].dtype == np.float64
    n.add_data(None)


def test_primary_key_is_stored_and_refuses_none(store_dir: Path) -> None:
    t = dv.Table(columns=["id", "b"], data=[["1", "a"], ["2", "b"]])
    t.set_pk("id")
    with pytest.raises(TypeError):
        t.add_data(None, "d")
    with pytest.raises(dv.ValidationError, match="'id' is already the primary key"):
        t.set_pk("b")
    back = log_and_reopen(t)
    assert back.primary_key == "id"
    assert back == t


def test_primary_key_must_be_str_or_int() -> None:
    t = dv.Table(columns=["id"], data=[[0.5]])
    with pytest.raises(TypeError, match="the primary key does not take float"):
        t.set_pk("id")
    assert t.primary_key is None


def test_primary_key_is_the_default_join_and_compare_key() -> None:
    a = dv.Table(["id", "x"], data=[["a", 1], ["b", 2]])
    a.set_pk("id")
    b = dv.Table(["id", "x"], data=[["b", 5], ["a", 1]])
    assert dv.JoinedTable(a, b).join_key == "id"
    assert dv.compare(a, b).query(filter="changed")["id"].tolist() == ["b"]
    with pytest.raises(dv.ValidationError, match="needs a join_key"):
        dv.JoinedTable(b, b)


def test_foreign_key_refers_to_a_table_column() -> None:
    a = dv.Table(["id"], data=[["1"], ["2"]])
    a.set_pk("id")
    t = dv.Table(["fk", "c"], data=[["1", "c"]])
    t.set_fk("fk", a, "id")
    assert t.foreign_keys == {"fk": (a, "id")}
    with pytest.raises(TypeError):
        t.add_data(None, "d")
    with pytest.raises(dv.NotFoundError):
        t.set_fk("c", a, "nope")


def test_data_is_a_read_only_copy_with_a_setter() -> None:
    t = dv.Table(["a", "b"], data=[[1, "x"]])
    with pytest.raises(dv.ValidationError, match="read-only copy"):
        t.data.append([2, "y"])
    with pytest.raises(dv.ValidationError, match="read-only copy"):
        t.data[0][0] = 5
    t.data = [[2, "y"], [3, "z"]]
    assert t.data == [[2, "y"], [3, "z"]]
    with pytest.raises(TypeError):
        t.data = [["oops", 1]]
    assert t.data == [[2, "y"], [3, "z"]]


def test_eq_compares_columns_values_and_key() -> None:
    a = dv.Table(["a"], data=[[1]])
    assert a == dv.Table(["a"], data=[[1]])
    assert a != dv.Table(["a"], data=[[2]])
    b = dv.Table(["a"], data=[[1]])
    b.set_pk("a")
    assert a != b


# -- cells -------------------------------------------------------------------------------------
_NUMBERS = st.one_of(
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, width=64),
    st.integers(-(2**31), 2**31 - 1).map(np.int32),
    st.floats(allow_nan=False, width=32).map(np.float32),
    st.integers(0, 2**53).map(np.uint64),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_NUMBERS, min_size=1, max_size=6))
def test_mixed_numeric_scalars_read_back_exactly_with_pandas_dtype(values: list[Any]) -> None:
    t = dv.Table(["x"])
    for v in values:
        t.add_data(v)
    got = t.to_pandas()["x"]
    want = pd.Series([v.item() if isinstance(v, np.generic) else v for v in values])
    if want.dtype == object:  # pandas keeps big ints as objects; every value still fits
        want = want.astype(np.float64 if any(isinstance(v, float) for v in want) else np.int64)
    assert got.dtype == want.dtype
    assert got.tolist() == want.tolist()


def test_float_that_is_whole_into_int_column_and_int_into_float_column() -> None:
    t = dv.Table(["a", "b"], data=[[1, 0.5], [np.float64(2.0), np.int64(3)]])
    assert t.data == [[1.0, 0.5], [2.0, 3.0]]
    assert t.to_pandas().dtypes.tolist() == [np.float64, np.float64]


def test_int_a_float_column_would_round_is_refused() -> None:
    t = dv.Table(["a", "b"], data=[[0.5, "x"]])
    with pytest.raises(dv.ValidationError, match="cannot be held exactly by a float column"):
        t.add_data(2**53 + 1, "y")
    big = dv.Table(["a", "b"], data=[[2**53 + 1, "x"]])
    with pytest.raises(dv.ValidationError, match="not all of its ints are exactly float64"):
        big.add_data(0.5, "y")
    assert big.data == [[2**53 + 1, "x"]]


def test_nan_in_a_text_column_is_missing_as_in_wandb() -> None:
    t = dv.Table(["s"], data=[["a"], [float("nan")]])
    assert t.get_column("s") == ["a", None]


def test_datetimes_dates_and_numpy_datetimes(store_dir: Path) -> None:
    rows = [
        [dt.datetime(2000, 12, d), dt.date(2000, 12, d), np.datetime64(f"2000-12-0{d}")]
        for d in (1, 2)
    ]
    back = log_and_reopen(dv.Table(["dt", "d", "np"], data=rows))
    want = pd.DataFrame(rows, columns=["dt", "d", "np"])
    got = back.to_pandas()
    assert got["dt"].tolist() == want["dt"].tolist()
    assert got["d"].tolist() == want["d"].tolist()
    assert got["np"].tolist() == want["np"].tolist()


def test_lists_of_numbers_into_an_array_column(store_dir: Path) -> None:
    t = dv.Table(["emb"], dtype=np.ndarray)
    t.add_data(np.array([[1.5, 2.0]]))
    t.add_data([[3, 4]])
    back = log_and_reopen(t).get_column("emb")
    np.testing.assert_array_equal(back[1], np.array([[3, 4]]))
    with pytest.raises(TypeError, match="lists of numbers"):
        t.add_data([[1], [2, 3]])


def test_image_inside_a_dict_cell_is_refused_with_its_reason() -> None:
    img = dv.Image(np.zeros((2, 2), np.uint8))
    with pytest.raises(dv.ValidationError, match="Image inside a list or dict is not stored"):
        dv.Table(["meta"], data=[[{"img": img}]])


def test_joined_table_of_entry_names(store_dir: Path) -> None:
    t1 = dv.Table(["id", "x"], data=[[0, "a"], [1, "b"]])
    t2 = dv.Table(["id", "y"], data=[[1, 10.0], [0, 20.0]])
    art = dv.Artifact("joined", type="dataset")
    art.add(t1, "t1")
    art.add(t2, "t2")
    art.add(dv.JoinedTable("t1.table.json", "t2", "id"), "j")
    dv.log_artifact(art)
    back = dv.use_artifact("joined:latest").get("j")
    assert back.table1 == t1 and back.table2 == t2
    assert back.query(sort="id")["y"].tolist() == [20.0, 10.0]


def test_joined_table_naming_a_missing_entry_is_refused() -> None:
    jt = dv.JoinedTable("t1", "t2", "id")
    with pytest.raises(dv.ValidationError, match="add it to the artifact"):
        jt.query()
    art = dv.Artifact("joined", type="dataset")
    with pytest.raises(dv.NotFoundError, match="add it first"):
        art.add(jt, "j")


def test_get_dataframe_is_to_pandas() -> None:
    t = dv.Table(["a", "b"], data=[[1, "x"]])
    pd.testing.assert_frame_equal(t.get_dataframe(), pd.DataFrame({"a": [1], "b": ["x"]}))
