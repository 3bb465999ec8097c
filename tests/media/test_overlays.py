from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import dsviz_widget as dv

CLASSES = dv.Classes([{"id": 0, "name": "bg"}, {"id": 1, "name": "car"}])
PIXELS = np.zeros((10, 16, 3), np.uint8)


def image(**kw: object) -> dv.Image:
    return dv.Image(PIXELS, classes=CLASSES, **kw)  # type: ignore[arg-type]


def boxes(*bs: dict[str, object]) -> dict[str, object]:
    return {"predictions": {"box_data": list(bs)}}


def corner(**pos: float) -> dict[str, float]:
    return {"minX": 0.0, "maxX": 1.0, "minY": 0.0, "maxY": 1.0, **pos}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (boxes({"position": corner(minX=float("nan")), "class_id": 1}), r"\['minX'\] is nan"),
        (boxes({"position": corner(maxY=float("inf")), "class_id": 1}), "must be finite"),
        (boxes({"position": corner()}), "has no 'class_id'"),
        (
            boxes({"position": {"minX": 0, "maxX": 1}, "class_id": 1}),
            "either minX, maxX, minY, maxY or middle",
        ),
        (boxes({"position": corner(minX=0.9, maxX=0.1), "class_id": 1}), "min greater than max"),
        (
            boxes({"position": corner(), "class_id": 1, "domain": "percent"}),
            r"\['domain'\] must be 'pixel'",
        ),
        (
            boxes({"position": corner(), "class_id": 1, "scores": {"conf": "high"}}),
            r"\['scores'\]\['conf'\] must be a number",
        ),
        (boxes({"position": corner(), "class_id": 1, "colour": 1}), "unknown keys"),
        ({"predictions": [1, 2]}, "must be a dict with a 'box_data' list"),
    ],
)
def test_bad_boxes_name_the_box_and_field(bad: dict[str, object], message: str) -> None:
    with pytest.raises(dv.ValidationError, match=message) as info:
        image(boxes=bad)
    assert "predictions" in str(info.value)


def test_a_mask_needs_exactly_one_source_and_class_ids() -> None:
    with pytest.raises(dv.ValidationError, match="exactly one of 'mask_data' or 'path'"):
        image(masks={"gt": {}})
    with pytest.raises(dv.ValidationError, match="integer class ids"):
        image(masks={"gt": {"mask_data": np.full((10, 16), "a")}})
    with pytest.raises(dv.ValidationError, match=r"class ids must be in 0..65535, got -1..0"):
        image(masks={"gt": {"mask_data": -np.eye(10, 16, dtype=int)}})


def test_mask_from_png_path(tmp_path: Path) -> None:
    arr = np.zeros((10, 16), np.uint8)
    arr[5:] = 1
    PILImage.fromarray(arr, mode="L").save(tmp_path / "m.png")
    img = image(masks={"gt": {"path": str(tmp_path / "m.png")}})
    assert img.masks == {"gt": {"path": str(tmp_path / "m.png")}}
    assert np.array_equal(img._masks()["gt"], arr)  # type: ignore[index]
    assert img._stats()["masks"]["gt"] == {0: 0.5, 1: 0.5}


def test_masks_with_ids_over_255_round_trip_losslessly() -> None:
    from dsviz_widget.media._masks import decode_mask, encode_mask

    arr = np.arange(160, dtype=np.int64).reshape(10, 16) * 400
    assert np.array_equal(decode_mask(encode_mask(arr)), arr)


def test_classes_validation() -> None:
    with pytest.raises(dv.ValidationError, match="id 1 appears twice"):
        dv.Classes([{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])
    with pytest.raises(dv.ValidationError, match="'name' must be a non-empty string"):
        dv.Classes([{"id": 1}])
    with pytest.raises(dv.ValidationError, match="'color' must look like"):
        dv.Classes([{"id": 1, "name": "a", "color": "red"}])
    with pytest.raises(dv.ValidationError, match="'color' must look like"):
        dv.Classes([{"id": 1, "name": "a", "color": "#aabbcc\n"}])  # `$` would accept it
    c = dv.Classes([{"id": 3, "name": "cat"}])
    assert c.name(3) == "cat" and c.color(3).startswith("#") and 3 in c and len(c) == 1
