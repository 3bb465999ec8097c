"""Item 6 of issue 6: hostile widget requests get structured errors, never a crash.

``MessageHandler.handle`` (the kernel side of the protocol, driven with plain dicts as the
browser sends them) gets: non-dict messages, missing / non-string ids, unknown kinds, every
field of every request kind with wrong types, negative / huge / NaN / infinite offsets, limits
and thumbnail sizes, 1 MB strings in every string field (filter, id, kind, column, sort key,
digest), deeply nested values, and bursts of requests. Every answer must be a JSON-serialisable
dict with the request's id (when it had a string one) and either a response kind or
``kind == "error"`` with a string ``error`` and an int ``position``; ``handle`` never raises.
Errors that escaped the handler's own validation (answered by its catch-all, ``"<Type>: ..."``)
are collected and reported. Kernel memory: RSS after a burst stays within 64 MB of RSS after a
warm-up burst.

Default: a burst of 1,500 requests; ``DSVIZ_LONG=1``: 20,000.
"""

from __future__ import annotations

import gc
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import MessageHandler
from dsviz_widget.widget._protocol import REQUEST_KINDS
from tests.reliability._common import pick, rss_bytes
from tests.reliability.test_save_faults import _record
from tests.widget import _synth

pytestmark = pytest.mark.slow  # hundreds of hostile requests and bursts; CI runs them

BURST = pick(1500, 20_000)
MB = "x" * (1 << 20)
RSS_BOUND = 64 << 20
CATCH_ALL = re.compile(r"^[A-Z][A-Za-z]*(Error|Exception|Exit|Interrupt): ")


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": [value]}
    return value


BAD_VALUES = [
    None,
    True,
    -1,
    -(2**63),
    2**64,
    10**100,
    1.5,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "0",
    MB,
    [],
    [1, 2],
    {},
    {"a": 1},
    _nested(200),
    b"bytes",
    ("tuple",),
    object(),
]
DIGEST = "0" * 64


def requests(digest: str) -> Iterator[dict[str, Any]]:
    yield from [
        {},
        {"kind": "info"},
        {"id": 5, "kind": "info"},
        {"id": "", "kind": "info"},
        {"id": MB, "kind": "info"},
        {"id": "u", "kind": MB},
        {"id": "u", "kind": "__init__"},
        {"id": "u", "kind": "_page"},
        {"id": "u", "kind": "handle"},
        {"id": "u", "kind": "view"},
        {"id": "u", "kind": "rows"},
        {"id": "u", "kind": "query"},
        {"id": "u", "kind": "audio_files"},
        {"id": "u", "kind": "page"},
    ]
    for kind in REQUEST_KINDS:
        base: dict[str, Any] = {
            "id": "r",
            "kind": kind,
            "query": {},
            "offset": 0,
            "limit": 10,
            "column": "score",
            "images": [digest],
            "masks": [],
            "size": 64,
            "digest": digest,
        }
        yield dict(base)
        for key in [*base, "extra"]:
            if key in ("id", "kind"):
                continue
            for bad in BAD_VALUES:
                yield {**base, key: bad}
        for qkey in ("filter", "sort", "group_by", "columns", "changed_only", "group", "unknown"):
            for bad in BAD_VALUES:
                yield {**base, "query": {qkey: bad}}
        for text in [
            "score > ",
            MB,
            "(" * 10_000,
            "label == '" + "é" * 9_000 + "'",
            "score > " + "9" * 5000,
            "x > ²",
        ]:
            yield {**base, "query": {"filter": text}}
        yield {**base, "query": {"sort": [MB]}}
        yield {**base, "query": {"columns": [MB, "score"]}}
        yield {**base, "query": {"group_by": ["label"], "group": {"label": MB}}}
        yield {**base, "query": {"group_by": ["label"], "group": {MB: "cat"}}}
        yield {**base, "query": {"group_by": ["label"], "group": {"label": _nested(50)}}}
        yield {**base, "images": [digest] * 10_000}
        yield {**base, "images": ["../" * 20 + "etc/passwd"]}
        yield {**base, "digest": "../../etc/passwd"}
        yield {**base, "offset": 2**62, "limit": 5000}
        yield {**base, "offset": 10**30}


def _check(reply: Any, buffers: Any, msg: Any, unexpected: dict[str, str]) -> None:
    assert isinstance(reply, dict) and isinstance(buffers, list), (msg, reply)
    json.dumps(reply)  # plain JSON, no NaN objects or bytes
    raw_id = msg.get("id") if isinstance(msg, dict) else None
    if isinstance(raw_id, str) and raw_id:
        assert reply.get("id") == raw_id
    if reply.get("kind") == "error":
        assert isinstance(reply.get("error"), str) and reply["error"]
        assert isinstance(reply.get("position"), int)
        if CATCH_ALL.match(reply["error"]):
            shown = (
                {
                    k: (v[:40] + "..." if isinstance(v, str) and len(v) > 40 else v)
                    for k, v in msg.items()
                }
                if isinstance(msg, dict)
                else msg
            )
            unexpected.setdefault(
                reply["error"].split(":")[0] + " " + reply["error"][:120], repr(shown)[:300]
            )
    else:
        assert str(reply.get("kind", "")).endswith("-response"), reply


def test_hostile_requests_get_structured_errors() -> None:
    table, read, _ = _synth.image_table(12)
    digest = table.column("image")[0].as_py()["digest"]
    handler = MessageHandler(Source.from_arrow(table), read, name="hostile")
    unexpected: dict[str, str] = {}
    count = errors = 0
    for msg in [None, 1, "page", [], ["page"], b"{}", *requests(digest)]:
        reply, buffers = handler.handle(msg)
        _check(reply, buffers, msg, unexpected)
        count += 1
        errors += reply.get("kind") == "error"
    _record(
        "widget-hostile", {"requests": count, "errors": errors, "answered_by_catch_all": unexpected}
    )
    print(f"\n{count} hostile requests, {errors} errors, catch-all answers: {len(unexpected)}")
    for key, msg in unexpected.items():
        print(f"  catch-all: {key}\n    for {msg}")
    # Every hostile request is refused by the handler's own validation, naming the field.
    assert not unexpected, unexpected


def test_bursts_keep_memory_flat() -> None:
    table, read, _ = _synth.image_table(200)
    digests = [c["digest"] for c in table.column("image").to_pylist()]
    handler = MessageHandler(Source.from_arrow(table), read, name="burst")
    variety = [
        {"kind": "page", "query": {"sort": ["-score"]}, "offset": 0, "limit": 100},
        {"kind": "page", "query": {"filter": "score > 0.5"}, "offset": 50, "limit": 50},
        {"kind": "page", "query": {"group_by": ["label"]}, "offset": 0, "limit": 10},
        {"kind": "summary", "query": {}, "column": "score"},
        {"kind": "thumbnails", "images": digests[:20], "masks": [], "size": 64},
        {"kind": "page", "query": {"filter": "score >"}, "offset": 0, "limit": 10},
        {"kind": "page", "query": {"filter": "x" * 10_001}, "offset": 0, "limit": 10},
        {"kind": "info"},
    ]

    def burst(n: int, salt: str) -> int:
        errors = 0
        for i in range(n):
            msg = dict(variety[i % len(variety)], id=f"{salt}{i}")
            if i % 16 == 5:  # a new filter text each time: views are cached, these must not pile up
                msg["query"] = {"filter": f"score > {i / n:.6f}"}
            reply, _buffers = handler.handle(msg)
            errors += reply["kind"] == "error"
        return errors

    burst(300, "warm")
    gc.collect()
    before = rss_bytes()
    errors = burst(BURST, "b")
    gc.collect()
    after = rss_bytes()
    growth = after - before
    _record(
        "widget-burst",
        {
            "requests": BURST,
            "errors": errors,
            "rss_before_mb": before >> 20,
            "rss_after_mb": after >> 20,
            "growth_mb": round(growth / 2**20, 1),
        },
    )
    print(f"\nburst of {BURST}: RSS {before >> 20} -> {after >> 20} MB")
    assert growth < RSS_BOUND, f"RSS grew by {growth >> 20} MB over {BURST} requests"
