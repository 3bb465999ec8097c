"""The widget of a cold remote image table describes it before its file and images arrive.

The info reply (row count, columns, class lists) comes from what is here: the head's schema
and metadata, the manifest's row count, the first rows' class lists. What the image cells
draw over the whole table is not known until the file is here, so every control is offered
(``exact`` False), as when reading it is over budget. Thumbnails of the images the head's
rows name are served as their objects arrive; others wait for the file (they cannot be
checked as the table's before). The whole file's GET is held by a relay in front of the
test's SeaweedFS (nothing is mocked).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.widget import DatasetWidget
from tests._store_kinds import StoreKind
from tests.team.test_head import wait_held
from tests.team.test_query_wait import cold_table
from tests.team.test_s3_parallel_reads import _Relay
from tests.widget.test_head_page import held, rows_of
from tests.widget.test_head_stall import Out, replied, reply_to, submit
from tests.widget.test_widget import sent

__all__ = ["held"]  # the fixture, imported for these tests

ROWS, LATE = 3000, 2500  # rows; from LATE on, another picture and class list (past the head)
EARLY = dv.Classes([{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}])
LATER = dv.Classes([{"id": 1, "name": "car"}, {"id": 3, "name": "bus"}])


def picture(k: int) -> np.ndarray:
    return np.full((6 + k, 8, 3), 20 * k, dtype=np.uint8)


def image_table(rows: int = ROWS, later: int = LATE) -> dv.Table:
    """Rows of 7 pictures with unscored boxes; from row ``later`` on, an 8th picture with
    scored boxes of another class list."""
    table = dv.Table(columns=["id", "image", "label"])
    for i in range(rows):
        late = i >= later
        k = 7 if late else i % 7
        box: dict[str, Any] = {
            "position": {"minX": 0, "maxX": 2, "minY": 0, "maxY": 2},
            "domain": "pixel",
            "class_id": 3 if late else 1 + i % 2,
        }
        if late:
            box["scores"] = {"p": 0.5}
        image = dv.Image(
            picture(k),
            classes=LATER if late else EARLY,
            boxes={"predictions": {"box_data": [box]}},
        )
        table.add_data(i, image, "late" if late else "early")
    return table


def cold_image_widget(
    kind: StoreKind, relay: _Relay, monkeypatch: pytest.MonkeyPatch
) -> tuple[dv.Table, DatasetWidget, Out]:
    table = cold_table(kind, relay, monkeypatch, image_table())
    w = dv.show(table)
    return table, w, sent(w, monkeypatch)


def image_digests(buffers: list[bytes]) -> list[str]:
    return [cell["digest"] for cell in rows_of(buffers).column("image").to_pylist()]


def fetched(relay: _Relay, digests: set[str]) -> set[str]:
    """Which of ``digests`` the relay has seen a GET of."""
    with relay.lock:
        paths = [path for method, path, _ in relay.requests if method == "GET"]
    return {d for d in digests if any(path.endswith(d) for path in paths)}


def test_the_info_of_a_cold_image_table_comes_before_its_file_and_images(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, relay = held
    table, w, out = cold_image_widget(kind, relay, monkeypatch)
    early, later = EARLY.digest, LATER.digest
    submit(w, {"id": "i", "kind": "info"})
    info, _ = reply_to(out, "i", timeout=10)
    # All of it while the whole file was held, and before any image object was fetched.
    assert not relay.gate.is_set()
    assert info["kind"] == "info-response", info
    assert info["total_rows"] == ROWS == len(table)
    assert [(c["name"], c["kind"]) for c in info["columns"] if c["kind"] != "derived"] == [
        ("id", "int"),
        ("image", "image"),
        ("label", "str"),
    ]
    # Both class lists (the head uses only the first): none is missing from the legend.
    assert info["class_lists"] == {"image": [early, later]}
    assert set(info["classes"]) == {early, later}
    overlay = info["overlays"]["image"]
    assert overlay["exact"] is False and overlay["boxes"] and overlay["scores"]
    assert not overlay["masks"]  # the derived columns' plan: no cell has a mask
    assert overlay["box_classes"] == {early: [1, 2], later: [1, 3]}
    # The first page: from the head; its thumbnails are served as their objects arrive.
    submit(w, {"id": "p0", "kind": "page", "query": {}, "offset": 0, "limit": 50})
    page, buffers = reply_to(out, "p0")
    assert page["kind"] == "page-response", page
    shown = image_digests(buffers)
    assert len(set(shown)) == 7
    assert not fetched(relay, set(shown))  # no image read for the description or page
    submit(w, {"id": "t0", "kind": "thumbnails", "images": shown[:7], "masks": [], "size": 64})
    thumbs, _ = reply_to(out, "t0")
    assert thumbs["kind"] == "thumbnails-response", thumbs
    assert [(t["digest"], t["error"]) for t in thumbs["items"]] == [(d, "") for d in shown[:7]]
    assert [t["height"] for t in thumbs["items"]] == [6 + k for k in range(7)]
    assert not relay.gate.is_set()
    wait_held(relay)
    # A picture only rows past the head show cannot be checked as the table's yet: it waits
    # for the file, and is served from it.
    late = picture_digest(7)
    submit(w, {"id": "t1", "kind": "thumbnails", "images": [late], "masks": [], "size": 64})
    threading.Event().wait(0.3)
    assert "t1" not in replied(out)
    relay.gate.set()
    thumbs, _ = reply_to(out, "t1")
    assert [(t["digest"], t["error"], t["height"]) for t in thumbs["items"]] == [(late, "", 13)]
    # Once the file is here, the description is exact: the later rows' scores and classes.
    submit(w, {"id": "i2", "kind": "info"})
    info, _ = reply_to(out, "i2")
    overlay = info["overlays"]["image"]
    assert overlay["exact"] is True and overlay["boxes"] and overlay["scores"]
    assert not overlay["masks"]
    assert overlay["box_classes"] == {early: [1, 2], later: [3]}
    assert info["class_lists"] == {"image": [early, later]}
    assert w._worker.wait_idle(30)


def picture_digest(k: int) -> str:
    return dv.Image(picture(k)).digest


def test_a_download_failed_before_the_widget_asked_does_not_fail_its_description(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server fails the whole file's reads from the start: the description still comes
    from what is here; what needs the file gets the download's error, and once the server
    serves it again, the next request fetches it and is answered."""
    kind, relay = held
    logged = image_table(600, 500)
    from tests.team.test_head import entry_of
    from tests.team.test_s3_store import log

    log(logged)
    relay.failing = {entry_of(kind).digest}
    kind.forget()
    monkeypatch.setenv("AWS_ENDPOINT_URL", relay.endpoint)
    table = dv.use_artifact("cars:latest").get("data")
    w = dv.show(table)
    out = sent(w, monkeypatch)
    failed_unseen(table.engine_source())
    submit(w, {"id": "i", "kind": "info"})
    info, _ = reply_to(out, "i", timeout=10)
    assert info["kind"] == "info-response", info
    assert info["total_rows"] == 600
    assert info["class_lists"] == {"image": [EARLY.digest, LATER.digest]}
    assert info["overlays"]["image"]["exact"] is False
    submit(w, {"id": "p0", "kind": "page", "query": {}, "offset": 0, "limit": 20})
    page, buffers = reply_to(out, "p0")
    assert page["kind"] == "page-response" and rows_of(buffers).num_rows == 20, page
    failed_unseen(table.engine_source())  # the description's retry failed too
    submit(w, {"id": "c1", "kind": "count", "query": {"filter": "label == 'late'"}})
    count, _ = reply_to(out, "c1")
    assert count["kind"] == "error", count
    assert count["error"].startswith("RemoteStoreError: cars:v0/data: fetching object")
    relay.failing = set()
    submit(w, {"id": "c", "kind": "count", "query": {"filter": "label == 'late'"}})
    count, _ = reply_to(out, "c")
    assert count["kind"] == "count-response" and count["num_rows"] == 100, count
    submit(w, {"id": "i2", "kind": "info"})
    info, _ = reply_to(out, "i2")
    assert info["overlays"]["image"]["exact"] is True


def failed_unseen(source: Any) -> None:
    """Until the table's download has failed (its error not yet handed to anyone)."""
    deadline = time.monotonic() + 10
    while source.waiting() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not source.waiting()


_CLASS_LISTS = [
    dv.Classes([{"id": 0, "name": "bg"}, {"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]),
    dv.Classes([{"id": 1, "name": "car"}, {"id": 3, "name": "bus"}]),
]


@st.composite
def _cells(draw: st.DrawFn) -> dv.Image:
    kwargs: dict[str, Any] = {"classes": draw(st.sampled_from(_CLASS_LISTS))}
    boxes = []
    for cid in draw(st.lists(st.integers(0, 3), max_size=3)):
        box: dict[str, Any] = {
            "position": {"minX": 0, "maxX": 2, "minY": 0, "maxY": 2},
            "domain": "pixel",
            "class_id": cid,
        }
        if draw(st.booleans()):
            box["scores"] = {"p": draw(st.floats(0, 1))}
        boxes.append(box)
    if boxes or draw(st.booleans()):
        kwargs["boxes"] = {"predictions": {"box_data": boxes}}
    if draw(st.booleans()):
        values = draw(st.lists(st.integers(0, 3), min_size=16, max_size=16))
        kwargs["masks"] = {"truth": {"mask_data": np.array(values, np.uint8).reshape(4, 4)}}
    return dv.Image(np.zeros((4, 4, 3), np.uint8), **kwargs)


@settings(max_examples=40, deadline=None)
@given(first=_cells(), rest=st.lists(st.one_of(st.none(), _cells()), max_size=5))
def test_the_description_before_the_file_never_hides_what_the_cells_draw(
    first: dv.Image, rest: list[dv.Image | None]
) -> None:
    """What the info reply offers before a table's file is here (from its metadata's plan of
    derived columns) is never less than what the whole table's cells draw."""
    from dsviz_widget.widget._handler import MessageHandler

    table = dv.Table(columns=["image"], data=[[c] for c in [first, *rest]])
    handler = MessageHandler(table.engine_source(), table.read_blob)
    try:
        exact = handler.overlays()
        planned = handler._planned_overlays(handler.objects.class_lists())
    finally:
        handler.close()
    assert set(planned) == set(exact) == {"image"}
    for name, got in exact.items():
        before = planned[name]
        for flag in ("boxes", "scores", "masks"):
            assert before[flag] or not got[flag], (flag, before, got)
        for which in ("box_classes", "mask_classes"):
            for digest, ids in got[which].items():
                assert set(ids) <= set(before[which].get(digest, [])), (which, before, got)
