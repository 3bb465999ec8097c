"""Engine.same_pictures and the info reply's ``same_images``: whether a compared image
column's versions are the same pictures on every row (the widget overlays them then)."""

from __future__ import annotations

import numpy as np

import dsviz_widget as dv
from dsviz_widget.engine import Engine
from dsviz_widget.widget._handler import MessageHandler


def version(shades: list[int | None], box_x: float) -> dv.Table:
    """A predictions table: row i's picture is a flat grey of shades[i] (None: no image)."""
    t = dv.Table(columns=["id", "image"])
    for i, shade in enumerate(shades):
        boxes = {
            "pred": {
                "box_data": [
                    {
                        "position": {"minX": box_x, "maxX": 0.9, "minY": 0.1, "maxY": 0.5},
                        "class_id": 1,
                    }
                ]
            }
        }
        image = (
            None if shade is None else dv.Image(np.full((6, 8, 3), shade, np.uint8), boxes=boxes)
        )
        t.add_data(i, image)
    return t


def info(cmp: dv.Comparison) -> dict[str, bool]:
    handler = MessageHandler(
        cmp.engine_source(), cmp.read_blob, compare={"labels": cmp.labels, "on": "id"}
    )
    reply, _ = handler.handle({"id": "1", "kind": "info"})
    assert reply["kind"] == "info-response"
    same = reply["same_images"]
    assert isinstance(same, dict)
    return same


def test_the_same_pictures_with_other_boxes_are_the_same_pictures() -> None:
    cmp = dv.compare(version([10, 20, 30], 0.1), version([10, 20, 30], 0.2), on="id")
    assert info(cmp) == {"image": True}


def test_one_other_picture_makes_them_differ() -> None:
    cmp = dv.compare(version([10, 20, 30], 0.1), version([10, 21, 30], 0.1), on="id")
    assert info(cmp) == {"image": False}
    three = dv.compare(
        version([10, 20, 30], 0.1),
        version([10, 20, 30], 0.1),
        version([10, 20, 31], 0.1),
        on="id",
    )
    assert info(three) == {"image": False}


def test_a_missing_image_or_row_does_not_count_against_them() -> None:
    cmp = dv.compare(version([10, None, 30], 0.1), version([10, 20, 30, 40], 0.1), on="id")
    assert info(cmp) == {"image": True}


def test_not_a_comparison_or_no_image_columns_gives_nothing() -> None:
    t = version([10], 0.1)
    handler = MessageHandler(t.engine_source(), t.read_blob)
    reply, _ = handler.handle({"id": "1", "kind": "info"})
    assert reply["same_images"] == {}
    plain = dv.compare(
        dv.Table(columns=["id", "x"], data=[[0, 1]]),
        dv.Table(columns=["id", "x"], data=[[0, 2]]),
        on="id",
    )
    assert Engine().same_pictures(plain.engine_source(), {"x": ["x@a", "x@b"]}) == {}
