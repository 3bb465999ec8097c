"""Derived columns: classes are per image, and their number is bounded whatever the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dsviz_widget as dv
from dsviz_widget._derived import MAX_CLASS_COLUMNS, MAX_DERIVED_COLUMNS, MAX_SCORE_NAMES


def _box(cid: int, **extra: Any) -> dict[str, Any]:
    return {"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "class_id": cid, **extra}


def _meta(t: dv.Table) -> dict[str, Any]:
    return json.loads(t._schema().metadata[b"dsviz"])


def test_class_lists_that_reuse_an_id_are_counted_by_each_images_own_names(
    store_dir: Path,
) -> None:
    cat = dv.Classes([{"id": 1, "name": "cat"}])
    dog = dv.Classes([{"id": 1, "name": "dog"}, {"id": 2, "name": "cat"}])
    pixels = np.zeros((2, 2, 3), np.uint8)
    t = dv.Table(("image",))
    t.add_data(dv.Image(pixels, classes=cat, boxes={"p": {"box_data": [_box(1)]}}))
    t.add_data(
        dv.Image(pixels, classes=dog, boxes={"p": {"box_data": [_box(1), _box(1), _box(2)]}})
    )
    mask = np.array([[1, 1], [1, 2]], np.uint8)
    t.add_data(dv.Image(pixels, classes=dog, masks={"m": {"mask_data": mask}}))
    assert t.derived_columns == ["n_boxes", "n_boxes.cat", "n_boxes.dog", "%_cat", "%_dog"]
    frame = t.query(columns=["n_boxes.cat", "n_boxes.dog", "%_cat", "%_dog"])
    assert frame["n_boxes.cat"].tolist() == [1, 1, 0]
    assert frame["n_boxes.dog"].tolist() == [0, 2, 0]
    assert frame["%_dog"].tolist()[2] == 0.75 and frame["%_cat"].tolist()[2] == 0.25
    # What the widget needs to name a box: the cell's own class list, by digest.
    art = dv.Artifact("per-image", type="dataset")
    art.add(t, "t")
    dv.log_artifact(art)
    back = dv.use_artifact("per-image:latest").get("t")
    page = back.query(as_arrow=True, columns=["image"])
    digests = [cell["classes"] for cell in page.column("image").to_pylist()]
    classes = _meta(back)["classes"]
    names = [{c["id"]: c["name"] for c in classes[d]}[1] for d in digests]
    assert names == ["cat", "dog", "dog"]
    assert back.query(filter="`n_boxes.dog` == 2")["n_boxes.cat"].tolist() == [1]


def test_a_mask_with_20000_ids_gives_a_bounded_number_of_columns_and_a_note() -> None:
    ids = np.arange(20_000, dtype=np.uint16).reshape(100, 200) + 1
    t = dv.Table(("image",))
    t.add_data(dv.Image(np.zeros((100, 200), np.uint8), masks={"gt": {"mask_data": ids}}))
    names = t.derived_columns
    assert len(names) == MAX_CLASS_COLUMNS
    assert names[:2] == ["%_1", "%_2"] and names[-1] == "%_(other)"
    frame = t.query()  # the first page: it once ran DuckDB out of memory
    own = sum(frame[n][0] for n in names[:-1])
    assert own == pytest.approx((MAX_CLASS_COLUMNS - 1) / 20_000)
    assert frame["%_(other)"][0] == pytest.approx(1 - own)
    other = next(d for d in _meta(t)["derived"] if d["name"] == "%_(other)")
    assert "counts the 19937 classes of group 'gt' without a column of their own" in other["note"]


def test_declared_classes_get_columns_before_bare_ids() -> None:
    classes = dv.Classes([{"id": 500 + i, "name": f"c{i}"} for i in range(3)])
    pixels = np.zeros((1, 1), np.uint8)
    t = dv.Table(("image",))
    t.add_data(dv.Image(pixels, boxes={"p": {"box_data": [_box(i) for i in range(200)]}}))
    t.add_data(dv.Image(pixels, classes=classes, boxes={"p": {"box_data": [_box(502)]}}))
    names = t.derived_columns
    assert names[:3] == ["n_boxes", "n_boxes.c2", "n_boxes.0"]
    assert len(names) == 1 + MAX_CLASS_COLUMNS and names[-1] == "n_boxes.(other)"
    frame = t.query()
    assert frame["n_boxes.(other)"].tolist() == [200 - (MAX_CLASS_COLUMNS - 2), 0]
    assert frame["n_boxes.c2"].tolist() == [0, 1]


def test_many_score_names_and_groups_stay_within_the_table_bound() -> None:
    pixels = np.zeros((1, 1), np.uint8)
    scores = {f"s{i:03d}": float(i) for i in range(100)}
    boxes = {f"g{g}": {"box_data": [_box(g, scores=scores)]} for g in range(40)}
    t = dv.Table(("image",))
    t.add_data(dv.Image(pixels, boxes=boxes))
    names = t.derived_columns
    assert len(names) == MAX_DERIVED_COLUMNS
    assert "g0.max_score.s015" in names and "g0.max_score.s016" not in names
    omitted = _meta(t)["derived_omitted"]
    assert any(
        f"84 score names have no min/max columns (at most {MAX_SCORE_NAMES})" in n for n in omitted
    )
    assert any("derived columns left out (a table gets at most 512)" in n for n in omitted)
    assert len(t.query(limit=1).columns) == 1 + MAX_DERIVED_COLUMNS
