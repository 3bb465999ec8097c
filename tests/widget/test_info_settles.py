"""The widget's description of a cold remote image table becomes exact once its file is here.

The first ``info`` reply comes from what is here (the head), marked ``provisional``; the
browser then asks again with ``wait``, which the request worker sets aside (not started) while
the whole file downloads and answers once it is here: exact overlays, equal to what a local
copy of the same table reports, or the download's typed error. The whole file's GET is held
by a relay in front of the test's SeaweedFS (nothing is mocked).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import dsviz_widget as dv
from dsviz_widget.widget import DatasetWidget
from dsviz_widget.widget._handler import MessageHandler
from tests._store_kinds import StoreKind
from tests.team.test_head import wait_held
from tests.team.test_s3_parallel_reads import _Relay
from tests.widget.test_head_images import EARLY, LATER, ROWS, cold_image_widget, image_table
from tests.widget.test_head_page import held
from tests.widget.test_head_stall import _FailingAfterHold, replied, reply_to, submit

__all__ = ["held"]  # the fixture, imported for these tests

WAIT = {"id": "exact", "kind": "info", "wait": True}


def taken(w: DatasetWidget, req_id: str) -> None:
    """Until the widget's worker has taken request ``req_id`` from its queue (a barrier: a
    request submitted after it is not answered before it just for its priority)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with w._worker._cond:
            if not any(m.get("id") == req_id for m in w._worker._pending):
                return
        time.sleep(0.01)
    raise AssertionError(f"the worker never took {req_id!r}")


def local_info(table: dv.Table) -> dict[str, Any]:
    """The info reply for ``table`` held in memory (no store, nothing to wait for)."""
    handler = MessageHandler(table.engine_source(), table.read_blob, name="cars")
    try:
        reply, _ = handler.handle({"id": "l", "kind": "info"})
    finally:
        handler.close()
    assert reply["kind"] == "info-response", reply
    return reply


def test_the_provisional_description_is_followed_by_the_exact_one_once_the_file_is_here(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, relay = held
    _, w, out = cold_image_widget(kind, relay, monkeypatch)
    submit(w, {"id": "i", "kind": "info"})
    first, _ = reply_to(out, "i", timeout=10)
    assert first["kind"] == "info-response", first
    assert first["provisional"] is True
    early, later = EARLY.digest, LATER.digest
    assert first["overlays"]["image"]["exact"] is False
    assert first["overlays"]["image"]["box_classes"] == {early: [1, 2], later: [1, 3]}
    # Asked to wait: set aside while the file is held, and the worker goes on answering
    # the pages the head holds (a page asked after it is answered, it is not).
    submit(w, WAIT)
    taken(w, "exact")
    wait_held(relay)
    submit(w, {"id": "p", "kind": "page", "query": {}, "offset": 0, "limit": 50})
    page, _ = reply_to(out, "p", timeout=5)
    assert page["kind"] == "page-response", page
    assert "exact" not in replied(out) and not relay.gate.is_set()
    relay.gate.set()
    exact, _ = reply_to(out, "exact")
    assert exact["kind"] == "info-response", exact
    assert exact["provisional"] is False
    local = local_info(image_table())
    assert exact["overlays"] == local["overlays"]
    assert exact["overlays"]["image"]["box_classes"] == {early: [1, 2], later: [3]}
    assert exact["class_lists"] == local["class_lists"] == {"image": [early, later]}
    assert exact["columns"] == first["columns"] == local["columns"]
    assert exact["total_rows"] == first["total_rows"] == ROWS
    # Asked again now, the description is the exact one at once, and not provisional.
    submit(w, {"id": "again", "kind": "info"})
    again, _ = reply_to(out, "again")
    assert again["provisional"] is False and again["overlays"] == local["overlays"]
    assert w._worker.wait_idle(30)


def test_a_failed_download_answers_the_waiting_description_with_its_error(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, relay = held
    relay.RequestHandlerClass = _FailingAfterHold
    _, w, out = cold_image_widget(kind, relay, monkeypatch)
    submit(w, {"id": "i", "kind": "info"})
    assert reply_to(out, "i", timeout=10)[0]["provisional"] is True
    submit(w, WAIT)
    wait_held(relay)
    assert "exact" not in replied(out)
    relay.failing = set(relay.held)  # the held read fails once let through
    relay.gate.set()
    failed, _ = reply_to(out, "exact")
    assert failed["kind"] == "error" and failed["request_kind"] == "info", failed
    assert failed["error"].startswith("RemoteStoreError: cars:v0/data: fetching object")
    # Pages within the head are still answered; once the server serves the file again, the
    # next description that waits fetches it and is exact.
    submit(w, {"id": "p", "kind": "page", "query": {}, "offset": 0, "limit": 20})
    assert reply_to(out, "p")[0]["kind"] == "page-response"
    relay.failing = set()
    submit(w, {**WAIT, "id": "exact2"})
    exact, _ = reply_to(out, "exact2")
    assert exact["kind"] == "info-response" and exact["provisional"] is False, exact
    assert exact["overlays"] == local_info(image_table())["overlays"]


def test_closing_the_widget_while_its_description_waits_leaves_nothing_behind(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, relay = held
    _, w, out = cold_image_widget(kind, relay, monkeypatch)
    submit(w, WAIT)
    taken(w, "exact")
    wait_held(relay)
    thread = w._worker._thread
    assert thread is not None and thread.is_alive()
    w.close()
    thread.join(5)
    assert not thread.is_alive()  # the worker's thread ended though the file is still held
    relay.gate.set()
    # The download ending calls back into the closed worker: nothing is answered or started.
    assert w._worker.wait_idle(5)
    assert "exact" not in replied(out)


@pytest.mark.parametrize("wait", ["yes", 1, None])
def test_a_wait_that_is_not_true_or_false_is_refused(wait: object) -> None:
    table = image_table(rows=3)
    handler = MessageHandler(table.engine_source(), table.read_blob)
    try:
        reply, _ = handler.handle({"id": "w", "kind": "info", "wait": wait})
    finally:
        handler.close()
    assert reply["kind"] == "error" and reply["error"] == "'wait' must be true or false"


def test_a_local_table_is_described_exactly_at_once_waiting_or_not() -> None:
    table = image_table(rows=40, later=30)
    handler = MessageHandler(table.engine_source(), table.read_blob)
    try:
        now, _ = handler.handle({"id": "a", "kind": "info"})
        waited, _ = handler.handle({"id": "b", "kind": "info", "wait": True})
    finally:
        handler.close()
    assert now["provisional"] is False and waited["provisional"] is False
    assert {**now, "id": ""} == {**waited, "id": ""}
