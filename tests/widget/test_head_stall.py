"""Scrolling a cold remote table while its whole file downloads does not stall.

The browser asks for header summaries and a count right after the first page; those wait for
the whole file. The widget's request worker sets them aside (not started) while the table's
Source waits for its file, keeps answering the pages its head holds, and answers the
set-aside ones once the file is here (or with the download's error). The whole file's GET is
held by a relay in front of the test's SeaweedFS (nothing is mocked): every reply that came
while it was held came before the file did.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsviz_widget as dv
from dsviz_widget.widget import DatasetWidget
from tests._store_kinds import StoreKind
from tests.team.test_head import _GatedHandler, wait_held
from tests.team.test_s3_parallel_reads import _Relay
from tests.widget.test_head_page import cold_widget, held, rows_of

__all__ = ["held"]  # the fixture, imported for these tests

Out = list[tuple[dict[str, Any], list[bytes]]]


class _FailingAfterHold(_GatedHandler):
    """Holds each GET of a held object until the gate opens, then answers it with a 500 if
    the object is failing by then (the server failing the read the client already made)."""

    def _gated(self) -> None:
        path = urlsplit(self.path).path
        server = self.server
        if self.command == "GET" and any(path.endswith(d) for d in server.held):
            server.waiting.append(path)
            server.gate.wait(60)
        if self.command == "GET" and any(path.endswith(d) for d in server.failing):
            self.send_error(500, "InternalError")
            return
        self._relay()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _gated


def frame(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {"id": np.arange(n), "label": rng.choice(["a", "b", "c"], n), "x": rng.random(n)}
    )


def submit(w: DatasetWidget, msg: dict[str, Any]) -> None:
    """Deliver a message as the browser does, without waiting for its answer."""
    w._on_custom_msg(w, msg, [])


def reply_to(out: Out, req_id: str, timeout: float = 20.0) -> tuple[dict[str, Any], list[bytes]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for reply, buffers in list(out):
            if reply.get("id") == req_id:
                return reply, buffers
        time.sleep(0.01)
    raise AssertionError(f"no reply to {req_id!r}; got {[r.get('id') for r, _ in out]}")


def replied(out: Out) -> set[str]:
    return {str(reply.get("id")) for reply, _ in list(out)}


def page(offset: int, limit: int, query: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": f"p{offset}",
        "kind": "page",
        "query": query or {},
        "offset": offset,
        "limit": limit,
    }


def check_page(out: Out, offset: int, limit: int, df: pd.DataFrame) -> None:
    reply, buffers = reply_to(out, f"p{offset}")
    assert reply["kind"] == "page-response", reply
    rows = rows_of(buffers)
    assert rows.column("_row").to_pylist() == list(range(offset, offset + limit))
    assert rows.column("id").to_pylist() == df.id.iloc[offset : offset + limit].tolist()
    assert rows.column("label").to_pylist() == df.label.iloc[offset : offset + limit].tolist()
    assert rows.column("x").to_pylist() == df.x.iloc[offset : offset + limit].tolist()


def check_count(out: Out, df: pd.DataFrame, suffix: str = "") -> None:
    count, _ = reply_to(out, "count" + suffix)
    assert count["kind"] == "count-response" and count["num_rows"] == len(df), count


def check_summaries(out: Out, df: pd.DataFrame, suffix: str = "") -> None:
    x, _ = reply_to(out, "sx" + suffix)
    s = x["summary"]
    assert x["kind"] == "summary-response" and s["type"] == "histogram", x
    assert (s["min"], s["max"]) == (df.x.min(), df.x.max())
    assert sum(s["counts"]) == len(df) and s["nulls"] == 0
    label, _ = reply_to(out, "sl" + suffix)
    top = label["summary"]
    assert dict(zip(top["values"], top["counts"], strict=True)) == df.label.value_counts().to_dict()


def ask_summaries(w: DatasetWidget, suffix: str = "") -> None:
    submit(w, {"id": "sx" + suffix, "kind": "summary", "query": {}, "column": "x"})
    submit(w, {"id": "sl" + suffix, "kind": "summary", "query": {}, "column": "label"})
    submit(w, {"id": "count" + suffix, "kind": "count", "query": {}})


def opened(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch, df: pd.DataFrame
) -> tuple[dv.Table, DatasetWidget, Out]:
    """The cold table's widget after its first page, with the summaries and the count
    asked as the browser asks them then: the summaries wait for the file."""
    kind, relay = held
    table, w, out = cold_widget(kind, relay, monkeypatch, df)
    submit(w, page(0, 50))
    check_page(out, 0, 50, df)
    ask_summaries(w)
    check_count(out, df)  # the table's row count does not wait: the manifest has it
    return table, w, out


def test_pages_within_the_head_are_answered_while_summaries_wait_for_the_file(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    relay, df = held[1], frame()
    table, w, out = opened(held, monkeypatch, df)
    for offset in (50, 200, 350):  # the user scrolls: every page within the head (400 rows)
        submit(w, page(offset, 50))
        check_page(out, offset, 50, df)
    # Python, on its own thread, reads within the head too: nothing holds the engine.
    assert table.query(limit=5)["id"].tolist() == [0, 1, 2, 3, 4]
    # A filtered count waits for the file (the last request: a page would make it stale).
    submit(w, {"id": "cf", "kind": "count", "query": {"filter": "x > 0.5"}})
    wait_held(relay)  # all of it while the whole file was held
    assert not replied(out) & {"sx", "sl", "cf"}
    relay.gate.set()
    check_summaries(out, df)
    reply, _ = reply_to(out, "cf")
    assert reply["kind"] == "count-response" and reply["num_rows"] == (df.x > 0.5).sum(), reply
    # Past the head, now that the file is here: the whole table's rows.
    submit(w, page(2950, 50))
    check_page(out, 2950, 50, df)
    assert w._worker.wait_idle(30)
    assert all(reply["kind"] != "error" for reply, _ in out), out


def test_a_page_of_another_query_supersedes_set_aside_summaries(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    relay, df = held[1], frame()
    _, w, out = opened(held, monkeypatch, df)
    wait_held(relay)
    # A filter: its page waits for the file too, and the old query's summaries are stale.
    submit(w, {**page(0, 20, {"filter": "label == 'b'"}), "id": "f0"})
    for stale in ("sx", "sl"):
        reply, _ = reply_to(out, stale)
        assert reply["kind"] == "error" and "superseded" in reply["error"].lower(), reply
    assert "f0" not in replied(out) and not relay.gate.is_set()
    relay.gate.set()
    reply, buffers = reply_to(out, "f0")
    assert reply["kind"] == "page-response", reply
    want = df[df.label == "b"].id.iloc[:20].tolist()
    assert rows_of(buffers).column("id").to_pylist() == want


def test_a_failed_download_answers_the_set_aside_requests_and_a_later_one_retries(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    relay, df = held[1], frame()
    relay.RequestHandlerClass = _FailingAfterHold
    _, w, out = opened(held, monkeypatch, df)
    wait_held(relay)
    relay.failing = set(relay.held)  # the held read fails once let through
    relay.gate.set()
    for req_id in ("sx", "sl"):
        reply, _ = reply_to(out, req_id)
        assert reply["kind"] == "error", reply
        assert reply["error"].startswith("RemoteStoreError: cars:v0/data: fetching object")
    # Pages within the head are still answered from it.
    submit(w, page(100, 50))
    check_page(out, 100, 50, df)
    relay.failing = set()  # the server serves it again: the next requests fetch it anew
    out.clear()
    ask_summaries(w, "2")
    check_summaries(out, df, "2")
    check_count(out, df, "2")


_QUERIES = st.sampled_from(
    [
        {},
        {"filter": ""},
        {"sort": []},
        {"group_by": [], "group": None},
        {"columns": ["x", "label"]},
        {"filter": "x > 0.5"},
        {"sort": ["-x"]},
        {"sort": ["id"]},
        {"group_by": ["label"]},
    ]
)


def test_any_page_not_within_the_head_waits_aside_and_never_blocks_the_next(
    held: tuple[StoreKind, _Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of every class (plain or not, within the head or past it, empty): with the file
    held, a plain page within the head comes at once and equals pandas' rows; any other is
    set aside, so the next page (of the first rows) is answered and supersedes it."""
    relay, df = held[1], frame()
    _, w, out = opened(held, monkeypatch, df)
    wait_held(relay)
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None)
    @given(
        offset=st.one_of(st.integers(0, 420), st.integers(0, 2999)),
        limit=st.integers(0, 120),
        query=_QUERIES,
    )
    def one(offset: int, limit: int, query: dict[str, Any]) -> None:
        n = next(counter)
        msg = {"id": f"d{n}", "kind": "page", "query": query, "offset": offset, "limit": limit}
        submit(w, msg)
        plain = all(v in ("", [], None) for k, v in query.items() if k != "columns")
        stop = min(offset + limit, len(df))
        if plain and stop <= 400:
            reply, buffers = reply_to(out, f"d{n}")
            assert reply["kind"] == "page-response", reply
            rows = rows_of(buffers)
            assert rows.column("_row").to_pylist() == list(range(offset, stop))
            for name in query.get("columns") or list(df.columns):
                assert rows.column(name).to_pylist() == df[name].iloc[offset:stop].tolist()
        probe = {"id": f"n{n}", "kind": "page", "query": {}, "offset": 0, "limit": 5}
        submit(w, probe)
        reply, buffers = reply_to(out, f"n{n}")
        assert rows_of(buffers).column("id").to_pylist() == [0, 1, 2, 3, 4]
        if not (plain and stop <= 400):
            reply, _ = reply_to(out, f"d{n}")
            assert reply["kind"] == "error" and "superseded" in reply["error"].lower(), reply

    one()
    assert not relay.gate.is_set()
