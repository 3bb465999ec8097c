from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsviz_widget as dv

CLASSES = dv.Classes(
    [{"id": 0, "name": "vegetation"}, {"id": 1, "name": "person"}, {"id": 2, "name": "car"}]
)


def test_add_data_infers_types_and_reads_back() -> None:
    t = dv.Table(("id", "score", "ok", "label", "meta", "tags", "emb"))
    t.add_data(
        0,
        0.5,
        True,
        "cat",
        {"camera": "front", "n": [1, 2]},
        ["a", "b"],
        np.arange(3, dtype=np.float32),
    )
    t.add_data(1, None, False, None, {"camera": "rear"}, [], np.zeros(3, np.float32))
    assert len(t) == 2
    assert t.kinds == {
        "id": "int",
        "score": "float",
        "ok": "bool",
        "label": "str",
        "meta": "dict",
        "tags": "list",
        "emb": "array",
    }
    rows = list(t)
    assert rows[0][:6] == [0, 0.5, True, "cat", {"camera": "front", "n": [1, 2]}, ["a", "b"]]
    assert rows[0][6].dtype == np.float32 and rows[0][6].tolist() == [0.0, 1.0, 2.0]
    assert rows[1][:6] == [1, None, False, None, {"camera": "rear"}, []]
    assert t.get_column("label") == ["cat", None]


def test_int_column_widens_to_float_like_pandas() -> None:
    t = dv.Table(columns=["x"], data=[[1], [2]])
    t.add_data(2.5)
    assert t.kinds["x"] == "float" and t.get_column("x") == [1.0, 2.0, 2.5]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[1, "a"], ["two", "b"]], r"row 1, column 'n': expected int, got str 'two'"),
        ([[1, "a"], [2, 3]], r"row 1, column 's': expected str, got int 3"),
        (
            [[1, "a"], [2, dv.Image(np.zeros((2, 2), np.uint8))]],
            r"row 1, column 's': expected str, got Image",
        ),
        ([[1, "a"], [2]], r"row 1: add_data got 1 values for 2 columns"),
        ([[object(), "a"]], r"row 0, column 'n': cannot store object"),
        ([[1, "a"], [2, {"k": object()}]], r"row 1, column 's': expected str"),
    ],
)
def test_values_that_do_not_fit_name_row_and_column(rows: list[list[object]], message: str) -> None:
    t = dv.Table(("n", "s"))
    with pytest.raises(dv.ValidationError, match=message):
        for row in rows:
            t.add_data(*row)


def test_dict_cells_must_be_json_like() -> None:
    t = dv.Table(("d",))
    t.add_data({"a": 1})
    with pytest.raises(
        dv.ValidationError,
        match=r"row 1, column 'd': cannot store this list or dict cell at \['a'\]",
    ):
        t.add_data({"a": object()})


def test_column_names_are_checked() -> None:
    with pytest.raises(dv.ValidationError, match="appears twice"):
        dv.Table(("a", "a"))
    with pytest.raises(dv.ValidationError, match="reserved"):
        dv.Table(("_row",))
    with pytest.raises(dv.ValidationError, match="not a single string"):
        dv.Table("abc")


def test_dataframe_round_trip_is_vectorised_and_exact() -> None:
    df = pd.DataFrame(
        {
            "i": np.arange(5, dtype=np.int32),
            "f": [0.5, np.nan, 1.5, 2.5, 3.5],
            "b": [True, False, True, True, False],
            "s": ["a", "b", None, "d", "é"],
            "d": [{"k": 1}, None, {"k": 3}, {}, {"k": [1]}],
        }
    )
    t = dv.Table(dataframe=df)
    assert t.kinds == {"i": "int", "f": "float", "b": "bool", "s": "str", "d": "dict"}
    back = t.to_pandas()
    assert back["i"].dtype == np.int32
    pd.testing.assert_frame_equal(back.drop(columns="d"), df.drop(columns="d"))
    assert back["d"].tolist() == df["d"].tolist()
    assert dv.Table.from_arrow(t.to_arrow()) == t


def test_arrow_and_parquet_constructors(tmp_path: Path) -> None:
    arrow = pa.table({"x": pa.array([1, 2, 3]), "y": pa.array(["a", "b", "c"])})
    t = dv.Table.from_arrow(arrow)
    assert t.to_arrow().select(["x", "y"]).equals(arrow)
    pq.write_table(arrow, tmp_path / "t.parquet")
    from_file = dv.Table.from_parquet(str(tmp_path / "t.parquet"))
    assert len(from_file) == 3 and from_file == t and from_file.get_column("y") == ["a", "b", "c"]
    with pytest.raises(dv.NotFoundError, match="no such Parquet file"):
        dv.Table.from_parquet(str(tmp_path / "nope.parquet"))


def test_add_column_and_get_column() -> None:
    t = dv.Table(columns=["a"], data=[[1], [2], [3]])
    t.add_column("b", np.array([0.1, 0.2, 0.3]))
    t.add_column("c", ["x", "y", "z"])
    t.add_column("img", [dv.Image(np.full((2, 2), 10 * i, np.uint8)) for i in range(3)])
    assert t.columns == ["a", "b", "c", "img"]
    assert t.get_column("b") == [0.1, 0.2, 0.3]
    assert [i.to_numpy()[0, 0] for i in t.get_column("img")] == [0, 10, 20]
    with pytest.raises(dv.ValidationError, match="has 2 values but the table has 3 rows"):
        t.add_column("d", [1, 2])
    with pytest.raises(dv.NotFoundError, match="no column 'cc'; did you mean 'c'"):
        t.get_column("cc")


def test_equality_compares_content() -> None:
    a = dv.Table(columns=["x", "y"], data=[[1, float("nan")], [2, 0.5]])
    b = dv.Table(columns=["x", "y"], data=[[1, float("nan")], [2, 0.5]])
    assert a == b
    b.add_data(3, 1.0)
    assert a != b
    assert a != dv.Table(columns=["x", "z"], data=[[1, float("nan")], [2, 0.5]])


def test_many_rows_flush_to_arrow_chunks() -> None:
    t = dv.Table(("i", "s"))
    for i in range(200_000):
        t.add_data(i, "x")
    assert len(t) == 200_000
    assert t.get_column("i")[-1] == 199_999
    assert sum(1 for _ in t) == 200_000


def test_derived_columns_follow_the_seed_names() -> None:
    t = dv.Table(("image", "label"))
    for i in range(4):
        mask = np.zeros((10, 10), np.uint8)
        mask[: i * 2] = 0
        mask[i * 2 :] = 1 if i % 2 else 2
        boxes = {
            "predictions": {
                "box_data": [
                    {
                        "position": {"minX": 0, "maxX": 0.5, "minY": 0, "maxY": 0.5},
                        "class_id": 1,
                        "scores": {"conf": 0.1 * (i + j)},
                    }
                    for j in range(i)
                ]
            }
        }
        t.add_data(
            dv.Image(
                np.zeros((10, 10, 3), np.uint8),
                classes=CLASSES,
                boxes=boxes,
                masks={"gt": {"mask_data": mask}},
            ),
            str(i),
        )
    storage = t._storage_table()
    assert t.derived_columns == [
        "n_boxes",
        "n_boxes.person",
        "max_score.conf",
        "min_score.conf",
        "%_vegetation",
        "%_person",
        "%_car",
    ]
    assert storage.column("n_boxes").to_pylist() == [0, 1, 2, 3]
    assert storage.column("%_vegetation").to_pylist() == [0.0, 0.2, 0.4, 0.6]
    assert storage.column("%_car").to_pylist() == [1.0, 0.0, 0.6, 0.0]
    assert storage.column("max_score.conf").to_pylist() == [
        None,
        0.1,
        pytest.approx(0.3),
        pytest.approx(0.5),
    ]


def test_derived_names_are_qualified_only_when_ambiguous() -> None:
    img = dv.Image(
        np.zeros((4, 4, 3), np.uint8),
        classes=CLASSES,
        boxes={"gt": {"box_data": []}, "pred": {"box_data": []}},
        masks={"gt": {"mask_data": np.zeros((4, 4), int)}},
    )
    t = dv.Table(("a", "b"), data=[[img, img]])
    names = t.derived_columns
    assert "a.gt.n_boxes" in names and "b.pred.n_boxes" in names and "a.%_vegetation" in names


def test_compare_and_join_pages_keep_kinds_and_classes() -> None:
    img = dv.Image(np.zeros((4, 4, 3), np.uint8), classes=CLASSES, boxes={"p": {"box_data": []}})
    a = dv.Table(("id", "meta", "image"), data=[[0, {"k": 1}, img], [1, {"k": 2}, img]])
    b = dv.Table(("id", "meta", "image"), data=[[0, {"k": 1}, img], [1, {"k": 3}, img]])
    changed = dv.compare(a, b, on="id").query(filter="changed")
    assert changed["meta@a"].tolist() == [{"k": 2}] and changed["meta@b"].tolist() == [{"k": 3}]
    assert changed["image@b"].iloc[0].classes == CLASSES
    page = dv.compare(a, b, on="id").query(as_arrow=True)
    assert CLASSES.digest in page.schema.metadata[b"dsviz"].decode()
    joined = dv.JoinedTable(a, dv.Table(("id", "tags"), data=[[1, ["x"]]]), "id").query(
        columns=["id", "tags"]
    )
    assert joined["tags"].tolist() == [["x"]]
