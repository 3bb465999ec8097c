"""The kernel side of the protocol, driven with plain dicts like the browser sends."""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from dsviz_widget.engine import Source
from dsviz_widget.widget import _handler
from dsviz_widget.widget._handler import MessageHandler
from dsviz_widget.widget._protocol import (
    MAX_BLOB_BYTES,
    MAX_PAGE_ROWS,
    MAX_THUMBNAILS,
    PROTOCOL_VERSION,
)
from tests.widget import _synth
from tests.widget.conftest import ask, decode, group_page


def test_info_describes_columns_classes_and_count(handler: MessageHandler) -> None:
    reply, buffers = ask(handler, kind="info")
    assert reply["id"] == "t1" and reply["kind"] == "info-response" and buffers == []
    assert reply["total_rows"] == 12 and reply["name"] == "images"
    assert [(c["name"], c["kind"]) for c in reply["columns"]] == [
        ("id", "int"),
        ("label", "str"),
        ("score", "float"),
        ("image", "image"),
        ("n_boxes", "derived"),
    ]
    assert list(reply["classes"].values()) == [_synth.CLASSES]
    assert reply["compare"] is None and reply["protocol"] == PROTOCOL_VERSION
    json.dumps(reply)  # the reply must be plain JSON


def test_info_says_what_the_engine_can_do_with_each_column() -> None:
    """The capability table the browser follows agrees with what the engine accepts."""
    import dsviz_widget as dv
    from dsviz_widget.engine import Engine, Query, QueryError

    t = dv.Table(columns=["id", "tags", "emb", "meta", "when"])
    for i in range(4):
        t.add_data(i, [i], np.zeros(2), {"k": i}, np.datetime64("2020-01-01") + i)
    src = t._engine_source()
    reply, _ = MessageHandler(src, read_blob=None, name="t").handle({"id": "c", "kind": "info"})
    can = {c["name"]: c["capabilities"] for c in reply["columns"]}
    assert can["emb"] == dict.fromkeys(
        ("sortable", "groupable", "filterable", "summarisable"), False
    )
    for name in ("id", "tags", "meta", "when"):
        assert all(can[name].values()), name
    engine = Engine()
    for name, caps in can.items():
        for ok, query in (
            (caps["sortable"], Query(sort=[name])),
            (caps["groupable"], Query(group_by=[name])),
        ):
            if ok:
                engine.view(src, query).page(0, 10)
            else:
                with pytest.raises(QueryError):
                    engine.view(src, query)
    engine.close()


def test_page_is_arrow_ipc_with_row_ids_in_query_order(handler: MessageHandler) -> None:
    reply, buffers = ask(handler, kind="page", query={"sort": ["-score"]}, offset=2, limit=4)
    assert reply["kind"] == "page-response" and reply["offset"] == 2
    assert reply["num_rows"] == 12 and reply["total_rows"] == 12 and reply["grouped"] is False
    table = decode(buffers)
    scores = table.column("score").to_pylist()
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    src = handler.source.arrow
    assert src is not None
    all_sorted = sorted(src.column("score").to_pylist(), reverse=True)
    assert scores == all_sorted[2:6]
    rows = table.column("_row").to_pylist()
    assert [src.column("score")[r].as_py() for r in rows] == scores
    # Image cells arrive as the storage struct: the browser reads digest, boxes and masks.
    cell = table.column("image")[0].as_py()
    assert set(cell) == {
        "digest",
        "format",
        "width",
        "height",
        "caption",
        "boxes",
        "masks",
        "classes",
    }


def test_filter_narrows_count_and_columns_select(handler: MessageHandler) -> None:
    reply, buffers = ask(
        handler,
        kind="page",
        query={"filter": "label == 'cat'", "columns": ["id", "label"]},
        offset=0,
        limit=100,
    )
    assert reply["num_rows"] == 4 and reply["total_rows"] == 12
    table = decode(buffers)
    assert table.column_names == ["id", "label", "_row"]
    assert set(table.column("label").to_pylist()) == {"cat"}


def test_page_past_the_end_is_empty_not_an_error(handler: MessageHandler) -> None:
    reply, buffers = ask(handler, kind="page", query={}, offset=500, limit=10)
    assert reply["kind"] == "page-response" and decode(buffers).num_rows == 0


def test_group_page_has_counts_and_sample_images(handler: MessageHandler) -> None:
    reply, table = group_page(handler, {"group_by": ["label"]}, limit=10)
    assert reply["grouped"] is True and reply["num_rows"] == 3
    assert dict(
        zip(table.column("label").to_pylist(), table.column("count").to_pylist(), strict=True)
    ) == {"bird": 4, "cat": 4, "dog": 4}
    samples = table.column("_sample_images").to_pylist()
    assert all(1 <= len(s) <= _handler.GROUP_SAMPLES for s in samples)
    assert all(len(d) == 64 for s in samples for d in s)


def test_group_drill_down_shows_the_group_rows(handler: MessageHandler) -> None:
    reply, buffers = ask(
        handler,
        kind="page",
        query={"group_by": ["label"], "group": {"label": "dog"}},
        offset=0,
        limit=50,
    )
    assert reply["grouped"] is False and reply["num_rows"] == 4
    assert set(decode(buffers).column("label").to_pylist()) == {"dog"}


def test_summary_histogram_and_top_values(handler: MessageHandler) -> None:
    reply, _ = ask(handler, kind="summary", query={}, column="score")
    s = reply["summary"]
    assert reply["kind"] == "summary-response" and s["type"] == "histogram"
    assert sum(s["counts"]) + s["nulls"] == 12
    reply, _ = ask(handler, kind="summary", query={"filter": "label != 'cat'"}, column="label")
    assert reply["summary"]["type"] == "top" and sorted(reply["summary"]["values"]) == [
        "bird",
        "dog",
    ]
    json.dumps(reply)


def test_thumbnails_are_encoded_images_and_raw_masks(images, handler: MessageHandler) -> None:
    _, read, table = images
    cell = table.column("image")[2].as_py()
    mask_digest = json.loads(cell["masks"])["ground_truth"]["digest"]
    reply, buffers = ask(
        handler, kind="thumbnails", images=[cell["digest"]], masks=[mask_digest], size=32
    )
    img_item, mask_item = reply["items"]
    assert img_item["role"] == "image" and img_item["mime"] == "image/jpeg"
    assert (img_item["width"], img_item["height"]) == (32, 24)
    im = Image.open(io.BytesIO(buffers[img_item["buffer"]]))
    assert im.size == (32, 24) and im.format == "JPEG"
    assert mask_item["role"] == "mask" and mask_item["dtype"] == "uint8"
    ids = np.frombuffer(buffers[mask_item["buffer"]], np.uint8).reshape(
        mask_item["height"], mask_item["width"]
    )
    full = np.asarray(Image.open(io.BytesIO(read(mask_digest))))
    assert set(np.unique(ids)) == set(np.unique(full)) == {0, 1, 2, 3}


def test_thumbnails_are_cached(images, handler: MessageHandler) -> None:
    _, _, table = images
    digest = table.column("image")[0].as_py()["digest"]
    first = ask(handler, kind="thumbnails", images=[digest], masks=[], size=64)
    second = ask(handler, kind="thumbnails", images=[digest], masks=[], size=64)
    assert first[1] == second[1] and handler.media.hits == 1 and handler.media.misses == 1


def test_missing_or_corrupt_blob_is_an_item_error_not_a_failure() -> None:
    t, read, blobs = _synth.image_table(2)
    bad = "0" * 64
    blobs[bad] = b"not an image"
    # The table's own cells name a file missing from the store and a corrupt one.
    cells = t.column("image").to_pylist()
    cells[0]["digest"], cells[1]["digest"] = "f" * 64, bad
    t = t.set_column(
        t.schema.get_field_index("image"),
        t.schema.field("image"),
        pa.array(cells, t.schema.field("image").type),
    )
    h = MessageHandler(Source.from_arrow(t), read)
    reply, buffers = ask(h, kind="thumbnails", images=["f" * 64, bad], masks=[], size=64)
    assert reply["kind"] == "thumbnails-response" and buffers == []
    assert [i["buffer"] for i in reply["items"]] == [-1, -1]
    assert "cannot read image" in reply["items"][0]["error"]
    assert "not a readable image" in reply["items"][1]["error"]


def test_transparent_images_stay_png() -> None:
    blobs = _synth.Blobs()
    im = Image.new("RGBA", (300, 100), (255, 0, 0, 128))
    d = blobs.add(_synth.png(im))
    h = MessageHandler(Source.from_arrow(_synth.one_image(d)), blobs.read)
    reply, buffers = ask(h, kind="thumbnails", images=[d], masks=[], size=150)
    item = reply["items"][0]
    assert item["mime"] == "image/png" and (item["width"], item["height"]) == (150, 50)
    assert Image.open(io.BytesIO(buffers[0])).mode == "RGBA"


def test_sixteen_bit_masks_keep_large_class_ids() -> None:
    blobs = _synth.Blobs()
    arr = np.zeros((10, 10), np.uint16)
    arr[:5] = 300
    d = blobs.add(_synth.png(Image.fromarray(arr)))
    h = MessageHandler(Source.from_arrow(_synth.one_image("0" * 64, mask=d)), blobs.read)
    reply, buffers = ask(h, kind="thumbnails", images=[], masks=[d], size=64)
    item = reply["items"][0]
    assert item["dtype"] == "uint16"
    ids = np.frombuffer(buffers[0], "<u2").reshape(10, 10)
    assert ids[0, 0] == 300 and ids[9, 9] == 0


# ---- audio --------------------------------------------------------------------------------


def audio_handler() -> tuple[MessageHandler, pa.Table, _synth.Blobs]:
    t, read, blobs = _synth.audio_table(3)
    return MessageHandler(Source.from_arrow(t), read), t, blobs


def test_blob_sends_an_audio_cells_file_bytes_and_mime() -> None:
    h, t, blobs = audio_handler()
    cell = t.column("clip")[1].as_py()
    reply, buffers = ask(h, kind="blob", digest=cell["digest"])
    assert reply == {
        "id": "t1",
        "kind": "blob-response",
        "digest": cell["digest"],
        "mime": "audio/wav",
        "size": len(blobs[cell["digest"]]),
    }
    assert buffers == [blobs[cell["digest"]]]
    import wave

    with wave.open(io.BytesIO(buffers[0])) as w:  # a playable WAV: 0.5 s at 8 kHz
        assert (w.getframerate(), w.getnframes()) == (8000, 4000)
    json.dumps(reply)


def test_blob_serves_only_files_named_by_audio_cells() -> None:
    h, t, blobs = audio_handler()
    audio = {c["digest"] for c in t.column("clip").to_pylist() if c}
    other = next(d for d in blobs if d not in audio)  # an image in the same store
    err = error_of(h, kind="blob", digest=other)
    assert "no audio cell of this table refers to the file" in str(err["error"])
    # A table without audio columns serves nothing, not even its images.
    t2, read2, _ = _synth.image_table(2)
    h2 = MessageHandler(Source.from_arrow(t2), read2)
    digest = t2.column("image")[0].as_py()["digest"]
    assert "no audio cell" in str(error_of(h2, kind="blob", digest=digest)["error"])


@pytest.mark.parametrize(
    "digest", ["../../catalog.sqlite", "A" * 64, "a" * 63, None, 7, ["a" * 64]]
)
def test_blob_digest_must_be_sha256_hex(digest: object) -> None:
    h, _, _ = audio_handler()
    assert "'digest' must be a SHA-256 hex digest" in str(
        error_of(h, kind="blob", digest=digest)["error"]
    )


def test_blob_unreadable_or_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    t, _, blobs = _synth.audio_table(2)
    d = t.column("clip")[0].as_py()["digest"]
    h = MessageHandler(Source.from_arrow(t), lambda _d: (_ for _ in ()).throw(KeyError("gone")))
    assert "cannot read audio" in str(error_of(h, kind="blob", digest=d)["error"])
    monkeypatch.setattr(_handler, "MAX_BLOB_BYTES", 10)
    h = MessageHandler(Source.from_arrow(t), blobs.read)
    assert f"more than the {10:,}" in str(error_of(h, kind="blob", digest=d)["error"])
    assert MAX_BLOB_BYTES >= 16 * 1024 * 1024


def test_blob_from_parquet_and_a_logged_dv_table(tmp_path, store_dir) -> None:
    import pyarrow.parquet as pq

    import dsviz_widget as dv

    t, read, _ = _synth.audio_table(3)
    pq.write_table(t, tmp_path / "a.parquet")
    h = MessageHandler(Source.from_parquet([str(tmp_path / "a.parquet")]), read)
    d = t.column("clip")[0].as_py()["digest"]
    assert ask(h, kind="blob", digest=d)[0]["kind"] == "blob-response"
    # The user's way: dv.Audio in a dv.Table, logged, read back, shown.
    tone = np.sin(np.linspace(0, 200, 4000)).astype(np.float32)
    table = dv.Table(
        columns=["id", "clip"], data=[[0, dv.Audio(tone, sample_rate=8000, caption="sine")]]
    )
    art = dv.Artifact("sounds", type="dataset")
    art.add(table, "clips")
    dv.log_artifact(art)
    same = dv.use_artifact("sounds:latest").get("clips")
    w = dv.show(same)
    ((digest, fmt),) = w._handler.objects._load().audio.items()
    assert fmt == "wav"
    reply, buffers = ask(w._handler, kind="blob", digest=digest)
    assert reply["mime"] == "audio/wav" and buffers[0][:4] == b"RIFF"
    w.close()


# ---- errors -------------------------------------------------------------------------------


def error_of(handler: MessageHandler, **msg: object) -> dict[str, object]:
    reply, buffers = ask(handler, **msg)
    assert reply["kind"] == "error" and buffers == [], reply
    assert reply["id"] == msg.get("id", "t1")
    return reply


def test_unknown_kind(handler: MessageHandler) -> None:
    err = error_of(handler, kind="drop-table")
    assert "unknown request kind 'drop-table'" in str(err["error"]) and "page" in str(err["error"])


@pytest.mark.parametrize("msg", [None, [], "page", 3])
def test_non_object_requests(handler: MessageHandler, msg: object) -> None:
    reply, _ = handler.handle(msg)
    assert reply["kind"] == "error" and "JSON object" in reply["error"]


def test_missing_id(handler: MessageHandler) -> None:
    reply, _ = handler.handle({"kind": "info"})
    assert reply["kind"] == "error" and "'id'" in reply["error"]


@pytest.mark.parametrize(
    ("offset", "limit", "words"),
    [
        (-1, 10, "'offset' must be at least 0"),
        (0, -5, "'limit' must be at least 0"),
        (0, MAX_PAGE_ROWS + 1, f"'limit' must be at most {MAX_PAGE_ROWS}"),
        (0, 10**12, "'limit' must be at most"),
        ("0", 10, "'offset' must be an integer"),
        (0, 2.5, "'limit' must be an integer"),
        (True, 10, "'offset' must be an integer"),
        (None, 10, "'offset' must be an integer"),
    ],
)
def test_bad_paging(handler: MessageHandler, offset: object, limit: object, words: str) -> None:
    err = error_of(handler, kind="page", query={}, offset=offset, limit=limit)
    assert words in str(err["error"])


def test_filter_error_points_at_the_position(handler: MessageHandler) -> None:
    err = error_of(handler, kind="page", query={"filter": "score > "}, offset=0, limit=10)
    assert err["position"] == len("score > ") and err["request_kind"] == "page"
    assert "expected" in str(err["error"]) and "\n" not in str(err["error"])


def test_unknown_column_is_named(handler: MessageHandler) -> None:
    err = error_of(handler, kind="page", query={"sort": ["nope"]}, offset=0, limit=10)
    assert "nope" in str(err["error"])
    err = error_of(handler, kind="summary", query={}, column="nope")
    assert "nope" in str(err["error"])


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("score > 1", "'query' must be an object"),
        ({"sql": "drop table x"}, "unknown query field(s): sql"),
        ({"filter": 3}, "'filter' must be a string"),
        ({"sort": "score"}, "'sort' must be a list of strings"),
        ({"group_by": [1]}, "'group_by' must be a list of strings"),
        ({"group": ["cat"]}, "'group' must be an object"),
        ({"filter": "x" * 10_001}, "longer than 10,000"),
    ],
)
def test_malformed_queries(handler: MessageHandler, query: object, words: str) -> None:
    assert words in str(error_of(handler, kind="page", query=query, offset=0, limit=1)["error"])


@pytest.mark.parametrize(
    ("msg", "words"),
    [
        ({"images": ["../etc/passwd"], "masks": [], "size": 64}, "not a SHA-256 hex digest"),
        ({"images": "abc", "masks": [], "size": 64}, "'images' must be a list of strings"),
        ({"images": [], "masks": [], "size": 4}, "'size' must be at least 16"),
        ({"images": [], "masks": [], "size": 100_000}, "'size' must be at most"),
        (
            {"images": ["a" * 64] * (MAX_THUMBNAILS + 1), "masks": ["b" * 64], "size": 64},
            "too many thumbnails",
        ),
    ],
)
def test_bad_thumbnail_requests(
    handler: MessageHandler, msg: dict[str, object], words: str
) -> None:
    if "too many" in words:  # duplicates collapse: use distinct digests
        msg["images"] = [f"{i:064x}" for i in range(MAX_THUMBNAILS + 1)]
    assert words in str(error_of(handler, kind="thumbnails", **msg)["error"])


def test_unexpected_exceptions_become_errors(
    handler: MessageHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(handler, "view", boom)
    err = error_of(handler, kind="page", query={}, offset=0, limit=1)
    assert err["error"] == "RuntimeError: disk on fire"


def test_slow_requests_are_logged(
    handler: MessageHandler, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_handler, "SLOW_SECONDS", -1.0)
    with caplog.at_level(logging.WARNING, logger="dsviz_widget.widget"):
        ask(handler, kind="page", query={"filter": "score > 0.5"}, offset=0, limit=1)
    assert "slow widget request page" in caplog.text and "score > 0.5" in caplog.text


def test_hostile_keys_are_plain_data() -> None:
    t = _synth.hostile_table()
    h = MessageHandler(Source.from_arrow(t), lambda d: b"")
    reply, buffers = ask(h, kind="page", query={}, offset=0, limit=10)
    table = decode(buffers)
    assert table.column("text").to_pylist() == _synth.HOSTILE
    assert "<img src=x onerror=alert(9)>" in table.column_names
    reply, _ = ask(h, kind="page", query={"filter": "__proto__ == 1"}, offset=0, limit=1)
    assert reply["kind"] == "error" and "__proto__" in reply["error"]


def test_every_request_kind_has_a_parser_and_a_handler(handler: MessageHandler) -> None:
    from dsviz_widget.widget._protocol import REQUEST_KINDS
    from dsviz_widget.widget._requests import PARSERS

    assert set(PARSERS) == set(handler._handlers) == set(REQUEST_KINDS)


@pytest.mark.parametrize("kind", ["_page", "view", "__init__", "handle", "close", "rows"])
def test_a_kind_is_never_an_attribute_name(handler: MessageHandler, kind: str) -> None:
    err = error_of(handler, kind=kind, query={}, offset=0, limit=1)
    assert f"unknown request kind {kind!r}" in str(err["error"]) and err["request_kind"] == kind


def test_requests_are_parsed_into_their_typed_shape() -> None:
    from dsviz_widget.widget._requests import parse_request

    req = parse_request(
        {"id": "p", "kind": "page", "query": {"sort": ["-score"]}, "offset": 2.0, "limit": 5}
    )
    assert req == {
        "id": "p",
        "kind": "page",
        "offset": 2,
        "limit": 5,
        "query": {
            "filter": "",
            "sort": ["-score"],
            "group_by": [],
            "columns": None,
            "changed_only": False,
            "change_columns": [],
            "group": None,
            "group_row": None,
        },
    }
    assert type(req["offset"]) is int
    req = parse_request(
        {
            "id": "t",
            "kind": "thumbnails",
            "images": ["a" * 64, "a" * 64],
            "masks": [],
            "size": 64,
            "extra": 1,
        }
    )
    assert req == {"id": "t", "kind": "thumbnails", "images": ["a" * 64], "masks": [], "size": 64}


def test_a_new_filters_page_comes_before_its_count_which_a_count_request_gets() -> None:
    from dsviz_widget.engine import Engine

    rng = np.random.default_rng(15)
    score = rng.random(5_000)
    score[::11] = np.nan  # missing: kept by no comparison
    src = Source.from_arrow(pa.table({"id": np.arange(5_000), "score": score}))
    h = MessageHandler(src, read_blob=None, name="t", engine=Engine(background=False))
    query = {"filter": "score > 0.25", "sort": ["-score"]}
    want = [int(i) for i in np.argsort(-np.nan_to_num(score, nan=-1), kind="stable")]
    want = [i for i in want if score[i] > 0.25]
    reply, buffers = h.handle({"id": "p", "kind": "page", "query": query, "offset": 0, "limit": 50})
    assert reply["kind"] == "page-response"
    assert reply["num_rows"] is None and reply["rows_at_least"] == 50  # rows first
    assert decode(buffers).column("_row").to_pylist() == want[:50]
    reply, buffers = h.handle({"id": "c", "kind": "count", "query": query})
    assert reply["kind"] == "count-response" and buffers == []
    assert reply["num_rows"] == len(want) and reply["total_rows"] == 5_000
    json.dumps(reply)
    # The view now knows its count; so does another sort of the same filter.
    again, _ = h.handle({"id": "p2", "kind": "page", "query": query, "offset": 50, "limit": 50})
    assert again["num_rows"] == again["rows_at_least"] == len(want)
    by_id = {**query, "sort": ["id"]}
    other, _ = h.handle({"id": "p3", "kind": "page", "query": by_id, "offset": 0, "limit": 50})
    assert other["num_rows"] == len(want)
    # A filter keeping fewer rows than the page asked for is counted by the page itself.
    few, buffers = h.handle(
        {"id": "p4", "kind": "page", "query": {"filter": "score > 0.999"}, "offset": 0, "limit": 50}
    )
    assert few["num_rows"] == int(np.sum(score > 0.999)) == decode(buffers).num_rows
    bad, _ = h.handle({"id": "c2", "kind": "count", "query": {"filter": "score >"}})
    assert bad["kind"] == "error" and bad["request_kind"] == "count"
    h.engine.close()
