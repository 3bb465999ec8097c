"""Every request that sends file bytes serves only files the shown table's own cells name.

One store holds two tables' files: the widget of one must not hand out the other's images,
masks (raw class ids) or audio, by any request kind, however the digest was learnt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import dsviz_widget as dv
from dsviz_widget.engine import Source, compare_sources
from dsviz_widget.widget._handler import MessageHandler
from tests.widget import _synth
from tests.widget.conftest import ask


def _cells(table: pa.Table, column: str = "image") -> list[dict[str, Any]]:
    return table.column(column).to_pylist()


def _mask(cell: dict[str, Any]) -> str:
    import json

    return str(json.loads(cell["masks"])["ground_truth"]["digest"])


def _two_tables_one_store() -> tuple[pa.Table, pa.Table, _synth.Blobs]:
    mine, _, blobs = _synth.image_table(3, seed=1)
    theirs, _, their_blobs = _synth.image_table(3, seed=2, score_shift=0.5, width=56)
    blobs.update(their_blobs)  # one store, both tables' files
    return mine, theirs, blobs


def _served(handler: MessageHandler, images: list[str], masks: list[str]) -> dict[str, str]:
    """digest -> "" when bytes came back, else the item's error."""
    reply, buffers = ask(handler, kind="thumbnails", images=images, masks=masks, size=32)
    assert reply["kind"] == "thumbnails-response", reply
    assert len(buffers) == sum(i["buffer"] >= 0 for i in reply["items"])
    return {i["digest"]: i["error"] for i in reply["items"]}


def test_thumbnails_of_another_tables_images_and_masks_are_refused() -> None:
    mine, theirs, blobs = _two_tables_one_store()
    h = MessageHandler(Source.from_arrow(mine), blobs.read)
    own, other = _cells(mine)[0], _cells(theirs)[0]
    out = _served(h, [own["digest"], other["digest"]], [_mask(own), _mask(other)])
    assert out[own["digest"]] == "" and out[_mask(own)] == ""
    assert (
        out[other["digest"]]
        == f"no image cell of this table refers to the file {other['digest'][:12]}"
    )
    assert out[_mask(other)] == f"no mask cell of this table refers to the file {_mask(other)[:12]}"
    # A mask of this table is not an image of it either (no raw pixels through the other role).
    assert "no image cell" in _served(h, [_mask(own)], [])[_mask(own)]


def test_blob_refuses_images_and_masks_even_of_the_own_table() -> None:
    mine, theirs, blobs = _two_tables_one_store()
    h = MessageHandler(Source.from_arrow(mine), blobs.read)
    for digest in (_cells(mine)[0]["digest"], _mask(_cells(mine)[0]), _cells(theirs)[0]["digest"]):
        reply, buffers = ask(h, kind="blob", digest=digest)
        assert reply["kind"] == "error" and buffers == []
        assert reply["error"] == f"no audio cell of this table refers to the file {digest[:12]}"


def test_a_comparison_serves_the_files_of_its_parts_only() -> None:
    a, _, blobs = _synth.image_table(3, seed=1)
    b, _, b_blobs = _synth.image_table(3, seed=3, width=60)
    c, _, c_blobs = _synth.image_table(3, seed=4, width=58)
    blobs.update(b_blobs)
    blobs.update(c_blobs)
    source = compare_sources(
        [Source.from_arrow(a), Source.from_arrow(b)], labels=["a", "b"], on="id"
    )
    h = MessageHandler(source, blobs.read, compare={"labels": ["a", "b"], "on": "id"})
    wa, wb, wc = _cells(a)[1], _cells(b)[1], _cells(c)[1]
    out = _served(h, [wa["digest"], wb["digest"], wc["digest"]], [_mask(wb), _mask(wc)])
    assert out[wa["digest"]] == out[wb["digest"]] == out[_mask(wb)] == ""
    assert "no image cell" in out[wc["digest"]] and "no mask cell" in out[_mask(wc)]


def test_a_logged_table_does_not_serve_another_artifacts_image(store_dir: Path) -> None:
    rng = np.random.default_rng(0)
    classes = dv.Classes([{"id": 0, "name": "bg"}, {"id": 1, "name": "cat"}])

    def log(name: str) -> Any:
        t = dv.Table(columns=["id", "image"])
        for i in range(2):
            pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            mask = (pixels[..., 0] > 128).astype(np.uint8)
            t.add_data(i, dv.Image(pixels, classes=classes, masks={"gt": {"mask_data": mask}}))
        art = dv.Artifact(name, type="dataset")
        art.add(t, "table")
        dv.log_artifact(art)
        return dv.use_artifact(f"{name}:latest").get("table")

    mine, theirs = log("mine"), log("theirs")
    w = dv.show(mine)
    other = theirs._engine_source()
    other_digest = _cells(_first_rows(other))[0]["digest"]
    mine_digest = _cells(_first_rows(mine._engine_source()))[0]["digest"]
    # The store can read both files; the widget of "mine" serves only its own.
    assert mine._read_blob(other_digest)
    out = _served(w._handler, [mine_digest, other_digest], [])
    assert out[mine_digest] == "" and "no image cell" in out[other_digest]
    w.close()


def _first_rows(source: Source) -> pa.Table:
    if source.arrow is not None:
        return source.arrow
    import pyarrow.parquet as pq

    return pa.concat_tables(pq.read_table(p) for p in source.parquet)


def test_info_names_the_class_lists_each_image_column_uses() -> None:
    table, _, blobs = _synth.image_table(3)
    h = MessageHandler(Source.from_arrow(table), blobs.read)
    reply, _ = ask(h, kind="info")
    cdig = _synth.classes_digest()
    assert reply["class_lists"] == {"image": [cdig]}
    assert [c["name"] for c in reply["classes"][cdig]] == ["background", "cat", "dog", "bird"]


def test_info_says_what_each_image_column_draws() -> None:
    table, _, blobs = _synth.image_table(3)
    h = MessageHandler(Source.from_arrow(table), blobs.read)
    reply, _ = ask(h, kind="info")
    cdig = _synth.classes_digest()
    overlays = reply["overlays"]["image"]
    assert (overlays["boxes"], overlays["scores"], overlays["masks"]) == (True, True, True)
    # Boxes of classes 1..3; masks without derived fractions: the whole list, not exact.
    assert overlays["box_classes"] == {cdig: [1, 2, 3]}
    assert overlays["mask_classes"] == {cdig: [0, 1, 2, 3]} and overlays["exact"] is False
    plain, _, _ = _synth.image_table(1)
    cells = plain.column("image").to_pylist()
    for c in cells:
        c.update(boxes=None, masks=None)
    bare = plain.set_column(3, plain.schema.field("image"), pa.array(cells, _synth.IMAGE_TYPE))
    reply, _ = ask(MessageHandler(Source.from_arrow(bare), blobs.read), kind="info")
    assert reply["overlays"]["image"] == {
        "boxes": False,
        "scores": False,
        "masks": False,
        "box_classes": {},
        "mask_classes": {},
        "exact": True,
    }
