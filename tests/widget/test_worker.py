"""The worker thread: every message is answered or dropped on its own, whatever its shape.

The worker is held busy on a thumbnail request whose blob read waits on an event (the real
handler, engine and table; only the blob reader is the test's), so the hostile messages and the
page request below are all queued behind it, in that order, without any sleep.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import MessageHandler
from dsviz_widget.widget._worker import RequestWorker
from tests.widget import _synth
from tests.widget.conftest import decode


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"q": [value]}
    return value


HOSTILE: list[Any] = [
    None,
    0,
    1.5,
    "page",
    "",
    [],
    ["page"],
    [{"id": "x", "kind": "page"}],
    b"page",
    True,
    {},
    {"kind": "page"},
    {"kind": "summary"},
    {"id": 7, "kind": "page"},
    {"id": None},
    {"id": ["a"], "kind": "page", "query": {}, "offset": 0, "limit": 5},
    {"id": "h1", "kind": ["page"]},
    {"id": "h2", "kind": {"page": 1}},
    {"id": "h3", "kind": "page", "query": _nested(5_000), "offset": 0, "limit": 5},
    {"id": "h4", "kind": "page", "query": {"filter": "x" * 2_000_000}, "offset": 0, "limit": 5},
    list(range(200_000)),
    "y" * 2_000_000,
]


class Held:
    """A worker over a real table whose first thumbnail read waits until ``release``."""

    def __init__(self) -> None:
        table, read, _ = _synth.image_table(12)
        self.digest = table.column("image")[0].as_py()["digest"]
        self.entered = threading.Event()
        self.release = threading.Event()

        def read_blob(digest: str) -> bytes:
            if not self.entered.is_set():
                self.entered.set()
                assert self.release.wait(30)
            return read(digest)

        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        self.worker = RequestWorker(
            MessageHandler(Source.from_arrow(table), read_blob),
            lambda reply, buffers: self.sent.append((reply, buffers)),
        )

    def hold(self) -> None:
        self.worker.submit(
            {"id": "busy", "kind": "thumbnails", "images": [self.digest], "masks": [], "size": 32}
        )
        assert self.entered.wait(30)  # the worker is inside the blob read now

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {m["id"]: m for m, _ in self.sent if m.get("id")}


@pytest.mark.parametrize(
    "hostile", HOSTILE, ids=[f"{i}-{type(v).__name__}" for i, v in enumerate(HOSTILE)]
)
def test_a_hostile_message_queued_while_busy_does_not_break_the_next_page(hostile: Any) -> None:
    held = Held()
    held.hold()
    held.worker.submit(hostile)
    held.worker.submit(
        {"id": "p1", "kind": "page", "query": {"sort": ["-score"]}, "offset": 0, "limit": 5}
    )
    held.release.set()
    assert held.worker.wait_idle(60)
    replies = held.by_id()
    assert replies["busy"]["kind"] == "thumbnails-response"
    page = next((m, b) for m, b in held.sent if m.get("id") == "p1")
    assert page[0]["kind"] == "page-response", page[0]
    assert decode(page[1]).num_rows == 5
    # The hostile message got at most one answer, an error, and nothing else was disturbed.
    others = [m for m, _ in held.sent if m.get("id") not in ("busy", "p1")]
    assert len(others) <= 1 and all(m["kind"] == "error" for m in others), others
    held.worker.close()


def test_every_hostile_message_at_once_is_answered_and_the_pages_still_come() -> None:
    held = Held()
    held.hold()
    for i, msg in enumerate(HOSTILE):
        held.worker.submit(msg)
        held.worker.submit({"id": f"s{i}", "kind": "summary", "query": {}, "column": "score"})
    held.worker.submit({"id": "last", "kind": "page", "query": {}, "offset": 0, "limit": 3})
    held.release.set()
    assert held.worker.wait_idle(60)
    replies = held.by_id()
    assert replies["last"]["kind"] == "page-response"
    # Each summary is answered: by its summary, or superseded by a (hostile) page queued after
    # it with another query, as any newer page does; those after the last such page all run.
    for i in range(len(HOSTILE)):
        reply = replies[f"s{i}"]
        assert reply["kind"] == "summary-response" or "superseded" in reply["error"], reply
    assert all(replies[f"s{i}"]["kind"] == "summary-response" for i in range(19, len(HOSTILE)))
    # One answer per message, never more (a hostile one may be answered with an id-less error).
    assert len(held.sent) == 1 + 2 * len(HOSTILE) + 1
    held.worker.close()
