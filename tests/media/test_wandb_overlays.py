"""Boxes and masks as ``wandb.Image`` takes them: per-group ``class_labels``, masks of any size,
float masks, ids no class list names. Behaviour from W&B's docs and source
(``Image._set_initialization_meta``, ``BoundingBoxes2D``, ``ImageMask``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import dsviz_widget as dv
from tests.media._wandb import PIXELS, box, logged, one_image_table


def names(img: dv.Image) -> dict[int, str]:
    assert img.classes is not None
    return {c["id"]: c["name"] for c in img.classes.class_set}


def test_box_group_class_labels_name_the_classes_and_the_derived_columns(run: dv.Run) -> None:
    img = dv.Image(
        PIXELS,
        boxes={
            "predictions": {
                "box_data": [box(0), box(1), box(1)],
                "class_labels": {0: "car", 1: "person"},
            }
        },
    )
    assert names(img) == {0: "car", 1: "person"}
    back = logged(one_image_table(img))
    assert back.derived_columns == ["n_boxes", "n_boxes.car", "n_boxes.person"]
    assert back.query()[["n_boxes.car", "n_boxes.person"]].values.tolist() == [[1, 2]]
    assert names(back.get_column("image")[0]) == {0: "car", 1: "person"}


def test_mask_group_class_labels_name_the_classes_and_the_derived_columns(run: dv.Run) -> None:
    mask = np.zeros((8, 12), np.uint8)
    mask[:2] = 3
    img = dv.Image(
        PIXELS, masks={"ground_truth": {"mask_data": mask, "class_labels": {0: "road", 3: "sky"}}}
    )
    assert names(img) == {0: "road", 3: "sky"}
    frame = logged(one_image_table(img)).query()
    assert frame["%_sky"].tolist() == [pytest.approx(0.25)]
    assert frame["%_road"].tolist() == [pytest.approx(0.75)]


def test_groups_naming_different_ids_are_merged_into_one_class_list() -> None:
    mask = np.array([[0, 2], [2, 2]])
    img = dv.Image(
        np.zeros((2, 2)),
        boxes={"pred": {"box_data": [box(1)], "class_labels": {1: "car"}}},
        masks={"seg": {"mask_data": mask, "class_labels": {0: "road", 2: "tree"}}},
    )
    assert names(img) == {1: "car", 0: "road", 2: "tree"}


def test_a_later_group_renames_an_id_and_classes_overrides_every_group() -> None:
    # W&B folds box groups, then mask groups, then ``classes`` into one id -> name map,
    # each overwriting the names before it.
    boxes = {
        "a": {"box_data": [box(1)], "class_labels": {1: "car"}},
        "b": {"box_data": [box(1)], "class_labels": {1: "auto", 2: "bus"}},
    }
    assert names(dv.Image(PIXELS, boxes=boxes)) == {1: "auto", 2: "bus"}
    masks = {"m": {"mask_data": np.ones((8, 12), int), "class_labels": {1: "vehicle"}}}
    assert names(dv.Image(PIXELS, boxes=boxes, masks=masks)) == {1: "vehicle", 2: "bus"}
    given = dv.Classes([{"id": 1, "name": "truck", "color": "#ff0000"}])
    img = dv.Image(PIXELS, classes=given, boxes=boxes, masks=masks)
    assert names(img) == {1: "truck", 2: "bus"}
    assert img.classes is not None and img.classes.color(1) == "#ff0000"


def test_class_labels_that_agree_with_classes_keep_that_class_list() -> None:
    given = dv.Classes([{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}])
    img = dv.Image(
        PIXELS, classes=given, boxes={"p": {"box_data": [box(1)], "class_labels": {1: "dog"}}}
    )
    assert img.classes is given


def test_class_labels_must_map_integer_ids_to_names() -> None:
    with pytest.raises(TypeError, match="must be a non-empty string"):
        dv.Image(PIXELS, boxes={"p": {"box_data": [box(0)], "class_labels": {0: 5}}})
    with pytest.raises(dv.ValidationError, match=r"class ids must be integers, got 0\.5"):
        dv.Image(
            PIXELS, masks={"m": {"mask_data": np.zeros((8, 12), int), "class_labels": {0.5: "a"}}}
        )
    # W&B takes any number as an id: a whole float is that id.
    img = dv.Image(PIXELS, boxes={"p": {"box_data": [box(2)], "class_labels": {2.0: "bus"}}})
    assert names(img) == {2: "bus"}


def test_a_mask_file_takes_class_labels_too(tmp_path: Path) -> None:
    mask = np.zeros((8, 12), np.uint8)
    mask[4:] = 1
    PILImage.fromarray(mask, mode="L").save(tmp_path / "m.png")
    img = dv.Image(
        PIXELS, masks={"gt": {"path": str(tmp_path / "m.png"), "class_labels": {1: "water"}}}
    )
    assert names(img) == {1: "water"}
    assert img._class_stats()["masks"]["gt"] == {"0": 0.5, "water": 0.5}


def test_ids_no_class_list_names_are_accepted_and_counted_by_number(run: dv.Run) -> None:
    mask = np.zeros((8, 12), np.uint8)
    mask[0] = 9
    img = dv.Image(
        PIXELS,
        classes=[{"id": 0, "name": "bg"}],
        boxes={"p": {"box_data": [box(7), box(0)]}},
        masks={"m": {"mask_data": mask}},
    )
    frame = logged(one_image_table(img)).query()
    assert frame["n_boxes.7"].tolist() == [1] and frame["n_boxes.bg"].tolist() == [1]
    assert frame["%_9"].tolist() == [pytest.approx(1 / 8)]


def test_a_mask_of_another_size_is_accepted_and_keeps_its_size(run: dv.Run) -> None:
    half = np.zeros((4, 6), np.uint8)
    half[:, 3:] = 1
    img = dv.Image(PIXELS, masks={"pred": {"mask_data": half, "class_labels": {1: "car"}}})
    back = logged(one_image_table(img))
    got = back.get_column("image")[0]
    assert (got.width, got.height) == (12, 8)
    assert np.array_equal(got.masks["pred"]["mask_data"], half)
    assert back.query()["%_car"].tolist() == [pytest.approx(0.5)]
    cell = back.query(as_arrow=True, columns=["image"]).column("image")[0].as_py()
    assert '"width":6,"height":4' in cell["masks"]


def test_a_float_mask_of_whole_numbers_is_accepted_and_fractions_are_refused() -> None:
    ids = np.array([[0.0, 2.0], [2.0, 1.0]])
    img = dv.Image(np.zeros((2, 2)), masks={"m": {"mask_data": ids}})
    assert img.masks is not None
    assert img._masks() is not None and img._masks()["m"].tolist() == [[0, 2], [2, 1]]
    with pytest.raises(TypeError, match=r"whole-number class ids; .* values like 0.5"):
        dv.Image(np.zeros((2, 2)), masks={"m": {"mask_data": ids / 4}})


def test_box_and_mask_type_errors_are_type_errors_as_in_wandb() -> None:
    with pytest.raises(TypeError, match="must be a 2-D array"):
        dv.Image(PIXELS, masks={"m": {"mask_data": np.zeros(5, int)}})
    with pytest.raises(TypeError, match=r"\['class_id'\] must be an int"):
        dv.Image(PIXELS, boxes={"p": {"box_data": [box("car")]}})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"\['box_data'\] must be a list"):
        dv.Image(PIXELS, boxes={"p": {"box_data": "x"}})
    with pytest.raises(ValueError, match="boxes must be a dict"):
        dv.Image(PIXELS, boxes=[box(0)])  # type: ignore[arg-type]


def test_a_box_middle_may_be_an_array() -> None:
    pos = {"middle": np.array([6, 4]), "width": 2, "height": 2}
    img = dv.Image(
        PIXELS, boxes={"p": {"box_data": [{"position": pos, "class_id": 0, "domain": "pixel"}]}}
    )
    assert img.boxes is not None
    assert img.boxes["p"]["box_data"][0]["position"]["middle"] == [6, 4]
