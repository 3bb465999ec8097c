"""Engine.overlays: what image columns draw and which classes occur, read with DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import dsviz_widget as dv
from dsviz_widget._format import META_KEY
from dsviz_widget.engine import Engine, Source
from dsviz_widget.engine._overlays import MAX_JSON_ROWS

NAMES = ["bg", "cat", "dog", "car", "bus", "tree", "sky", "road", "person", "bike"]
CLASSES = dv.Classes([{"id": i, "name": n} for i, n in enumerate(NAMES)])
PIXELS = np.zeros((20, 20, 3), np.uint8)


def box(cid: int, score: float | None = None) -> dict[str, object]:
    b: dict[str, object] = {
        "position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5},
        "class_id": cid,
    }
    if score is not None:
        b["scores"] = {"score": score}
    return b


def boxed(ids: list[int], scored: bool = True) -> dv.Image:
    data = [box(i, 0.5 if scored else None) for i in ids]
    return dv.Image(PIXELS, classes=CLASSES, boxes={"pred": {"box_data": data}})


def table(*images: dv.Image) -> dv.Table:
    t = dv.Table(("id", "image"))
    for i, im in enumerate(images):
        t.add_data(i, im)
    return t


def digest() -> str:
    meta = table(boxed([1])).engine_source().metadata
    return next(iter(meta["classes"]))


def without_derived(source: Source) -> Source:
    """The same cells with no derived columns or their description (as a hand-made table)."""
    assert source.arrow is not None
    keep = [n for n, k in source.kinds.items() if k != "derived"]
    meta = json.loads(source.schema.metadata[META_KEY])
    meta.pop("derived", None)
    arrow = source.arrow.select(keep)
    return Source.from_arrow(
        arrow.replace_schema_metadata({META_KEY: json.dumps(meta).encode()}), name="bare"
    )


def test_of_ten_classes_only_the_three_that_occur_are_present() -> None:
    t = table(boxed([3, 1]), boxed([8]), boxed([1]), dv.Image(PIXELS))
    for source in (t.engine_source(), without_derived(t.engine_source())):
        (o,) = Engine().overlays(source).values()
        assert o.box_classes == {digest(): [1, 3, 8]} and o.mask_classes == {}
        assert (o.boxes, o.scores, o.masks, o.exact) == (True, True, False, True)


def test_images_without_overlays_have_none() -> None:
    t = table(dv.Image(PIXELS), dv.Image(PIXELS, classes=CLASSES))
    for source in (t.engine_source(), without_derived(t.engine_source())):
        o = Engine().overlays(source)["image"]
        assert (o.boxes, o.scores, o.masks) == (False, False, False)
        assert o.box_classes == o.mask_classes == {}


def test_boxes_without_scores_have_no_score_control() -> None:
    t = table(boxed([2], scored=False), boxed([5], scored=False))
    for source in (t.engine_source(), without_derived(t.engine_source())):
        o = Engine().overlays(source)["image"]
        assert (o.boxes, o.scores, o.masks) == (True, False, False)
        assert o.box_classes == {digest(): [2, 5]}


def test_mask_classes_come_from_the_derived_pixel_fractions() -> None:
    m = np.zeros((20, 20), np.uint8)
    m[2:6, 2:6] = 4
    m[10:12, 10:12] = 6
    t = table(dv.Image(PIXELS, classes=CLASSES, masks={"gt": {"mask_data": m}}))
    o = Engine().overlays(t.engine_source())["image"]
    assert (o.boxes, o.scores, o.masks, o.exact) == (False, False, True, True)
    assert o.mask_classes == {digest(): [0, 4, 6]} and o.box_classes == {}
    # Without the fractions the pixels are unknown: every class of the list may occur.
    bare = Engine().overlays(without_derived(t.engine_source()))["image"]
    assert bare.masks and not bare.exact
    assert bare.mask_classes == {digest(): list(range(10))}


def test_a_parquet_table_reads_the_same(tmp_path: Path) -> None:
    t = table(boxed([7]), boxed([7, 9]))
    src = t.engine_source()
    assert src.arrow is not None
    path = tmp_path / "t.parquet"
    pq.write_table(src.arrow, path)
    o = Engine().overlays(Source.from_parquet([str(path)]))["image"]
    assert o.box_classes == {digest(): [7, 9]} and o.boxes and o.scores


def test_a_large_table_without_derived_columns_is_not_json_scanned() -> None:
    src = without_derived(table(boxed([1])).engine_source())
    assert src.arrow is not None
    many = pa.concat_tables([src.arrow] * (MAX_JSON_ROWS + 1))
    o = Engine().overlays(Source.from_arrow(many))["image"]
    # Upper bounds, never hidden controls: every class of the list, scores possible.
    assert o.boxes and o.scores and not o.exact
    assert o.box_classes == {digest(): list(range(10))}


def test_malformed_boxes_json_does_not_fail_the_scan() -> None:
    src = without_derived(table(boxed([2]), boxed([3])).engine_source())
    assert src.arrow is not None
    col = src.arrow.column("image").combine_chunks()
    cells = col.to_pylist()
    cells[1]["boxes"] = "{not json"
    arrow = src.arrow.set_column(1, src.arrow.schema.field("image"), pa.array(cells, col.type))
    o = Engine().overlays(Source.from_arrow(arrow))["image"]
    assert o.box_classes == {digest(): [2]}
