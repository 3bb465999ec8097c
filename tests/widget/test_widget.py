"""The widget class: view state in traits, custom messages answered, selection as a DataFrame."""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa
import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget import DatasetWidget, compare, show
from dsviz_widget.widget._arrow import for_browser
from tests.widget import _synth
from tests.widget.conftest import decode


def sent(
    widget: DatasetWidget, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[dict[str, Any], list[bytes]]]:
    out: list[tuple[dict[str, Any], list[bytes]]] = []
    monkeypatch.setattr(
        widget, "send", lambda content, buffers=None: out.append((content, buffers or []))
    )
    return out


def call(widget: DatasetWidget, msg: dict[str, Any]) -> None:
    """Deliver a custom message as the browser would and wait for the worker's answer."""
    widget._on_custom_msg(widget, msg, [])
    assert widget._worker.wait_idle(30)


def test_show_a_source_and_answer_a_page_message(images, monkeypatch: pytest.MonkeyPatch) -> None:
    source, read, _ = images
    w = show(source, read_blob=read, filter="label == 'cat'", sort=["-score"])
    assert (w.filter, w.sort) == ("label == 'cat'", ["-score"])
    out = sent(w, monkeypatch)
    call(w, {"id": "a", "kind": "page", "query": {"filter": w.filter}, "offset": 0, "limit": 5})
    ((reply, buffers),) = out
    assert reply["id"] == "a" and reply["num_rows"] == 4
    assert decode(buffers).num_rows == 4
    assert w.num_rows == 4


def test_show_needs_read_blob_for_a_bare_source(images) -> None:
    source, _, _ = images
    with pytest.raises(TypeError, match="read_blob"):
        show(source)
    with pytest.raises(TypeError, match="cannot show a int"):
        show(3)


def test_show_takes_anything_with_the_table_bridge(images) -> None:
    source, read, _ = images

    class FakeTable:
        def _engine_source(self) -> Source:
            return source

        def _read_blob(self, digest: str) -> bytes:
            return read(digest)

    w = show(FakeTable(), group_by=["label"])
    assert w.num_rows == 3 and w.source is source
    assert show(w, filter="score > 0.5") is w and w.filter == "score > 0.5"


def test_selected_rows_come_back_as_a_dataframe(images) -> None:
    source, read, table = images
    w = show(source, read_blob=read)
    w.selection = [5, 2]
    df = w.selected
    assert list(df.index) == [5, 2]
    assert (
        df["id"].tolist() == [5, 2]
        and df["label"].tolist() == table.column("label").take([5, 2]).to_pylist()
    )
    w.selection = []
    assert len(w.selected) == 0


def test_view_state_drives_query_and_page(images) -> None:
    source, read, _ = images
    w = show(source, read_blob=read)
    w.filter = "n_boxes >= 2"
    w.sort = ["-n_boxes", "id"]
    w.columns = ["id", "n_boxes"]
    assert w.query.filter == "n_boxes >= 2" and tuple(w.query.sort) == ("-n_boxes", "id")
    page = w.page(0, 3)
    assert page["n_boxes"].tolist() == [3, 3, 3] and list(page.columns) == ["id", "n_boxes", "_row"]


def test_trait_validation(images) -> None:
    source, read, _ = images
    w = show(source, read_blob=read, page_size=5, mask_opacity=3.0)
    assert w.page_size == 10 and w.mask_opacity == 1.0


def test_compare_pairs_versions_and_changed_only(monkeypatch: pytest.MonkeyPatch) -> None:
    v0, v1 = _synth.versions(10)
    w = compare(
        [Source.from_arrow(v0), Source.from_arrow(v1)],
        on="id",
        labels=["v0", "v1"],
        read_blob=lambda d: b"",
    )
    out = sent(w, monkeypatch)
    call(w, {"id": "i", "kind": "info"})
    info = out[-1][0]
    assert info["compare"] == {"labels": ["v0", "v1"], "on": "id", "compared": ["score", "label"]}
    names = [c["name"] for c in info["columns"]]
    assert {"score@v0", "score@v1", "score@delta", "changed"} <= set(names)
    call(w, {"id": "p", "kind": "page", "query": {"changed_only": True}, "offset": 0, "limit": 50})
    reply, buffers = out[-1]
    assert reply["num_rows"] == 5 and all(decode(buffers).column("changed").to_pylist())
    # A filter error with changed_only points into the user's own text.
    call(
        w,
        {
            "id": "e",
            "kind": "page",
            "query": {"changed_only": True, "filter": "score@v0 >"},
            "offset": 0,
            "limit": 5,
        },
    )
    err = out[-1][0]
    assert err["kind"] == "error" and err["position"] == len("score@v0 >")
    w.selection = [1]
    assert w.selected["id"].tolist() == [1]


def test_compare_needs_two_tables_and_matching_labels() -> None:
    v0, _ = _synth.versions(4)
    with pytest.raises(ValueError, match="at least two"):
        compare([Source.from_arrow(v0)], on="id", read_blob=lambda d: b"")
    with pytest.raises(ValueError, match="2 tables but 1 labels"):
        compare([Source.from_arrow(v0)] * 2, on="id", labels=["a"], read_blob=lambda d: b"")


def test_array_and_native_columns_become_text_for_the_browser() -> None:
    arr_type = pa.struct(
        [("dtype", pa.string()), ("shape", pa.list_(pa.int64())), ("data", pa.binary())]
    )
    t = pa.table(
        {
            "a": pa.array(
                [{"dtype": "float32", "shape": [3, 4], "data": b"\0" * 48}, None], arr_type
            ),
            "when": pa.array([0, 86_400_000_000], pa.timestamp("us")),
            "big": pa.array(["x", "y"], pa.large_string()),
        }
    )
    out = for_browser(t, {"a": "array", "when": "native", "big": "str"})
    assert out.column("a").to_pylist() == ["float32[3, 4]", None]
    assert out.column("when").type == pa.string() and out.column("big").type == pa.string()


def test_a_newer_page_supersedes_queued_pages_and_summaries(
    images, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, read, _ = images
    w = show(source, read_blob=read)
    out = sent(w, monkeypatch)
    gate = threading.Event()
    entered = threading.Event()
    real = w._handler.handle

    def slow(msg: Any, buffers: Any = None) -> Any:
        if msg.get("id") == "first":
            entered.set()
            gate.wait(10)
        return real(msg, buffers)

    monkeypatch.setattr(w._handler, "handle", slow)
    w._on_custom_msg(w, {"id": "first", "kind": "info"}, [])
    assert entered.wait(10)  # "first" is running; the rest queue behind it
    old = {"filter": "score > 0.1"}
    new = {"filter": "score > 0.2"}
    w._on_custom_msg(w, {"id": "p1", "kind": "page", "query": old, "offset": 0, "limit": 5}, [])
    w._on_custom_msg(w, {"id": "s1", "kind": "summary", "query": old, "column": "score"}, [])
    w._on_custom_msg(w, {"id": "s2", "kind": "summary", "query": new, "column": "score"}, [])
    w._on_custom_msg(w, {"id": "p2", "kind": "page", "query": new, "offset": 0, "limit": 5}, [])
    gate.set()
    assert w._worker.wait_idle(30)
    by_id = {m["id"]: m for m, _ in out}
    assert by_id["p1"]["kind"] == by_id["s1"]["kind"] == "error"
    assert "superseded" in by_id["p1"]["error"]
    assert by_id["p2"]["kind"] == "page-response" and by_id["s2"]["kind"] == "summary-response"
    # The page went before the summary queued ahead of it.
    order = [m["id"] for m, _ in out]
    assert order.index("p2") < order.index("s2")
    w.close()


def test_two_widgets_and_python_share_one_engine_and_closing_one_breaks_nothing() -> None:
    import numpy as np
    import pandas as pd

    import dsviz_widget as dv
    from dsviz_widget.engine import Engine, Query, shared_engine
    from dsviz_widget.widget._handler import MessageHandler

    rng = np.random.default_rng(5)
    df = pd.DataFrame({"id": np.arange(3_000), "score": rng.random(3_000)})
    df.loc[::7, "score"] = np.nan
    table = dv.Table(dataframe=df)
    w1 = show(table, sort=["-score"], filter="score > 0.2")
    w2 = show(table, sort=["-score"], filter="score > 0.2")
    engine = shared_engine()
    assert w1._handler.engine is engine and w2._handler.engine is engine
    # One view for all three: the widgets' and table.query's (same source, same query).
    view = engine.view(table.engine_source(), Query(filter="score > 0.2", sort=["-score"]))
    assert w1._model.view(w1._spec()) is view and w2._model.view(w2._spec()) is view
    want = df[df.score > 0.2].sort_values(["score", "id"], ascending=[False, True])
    deep = len(want) - 10
    assert w1.page(deep, 10)["id"].tolist() == want["id"].iloc[deep:].tolist()
    w1.close()
    assert not engine.closed
    assert w2.page(deep, 10)["id"].tolist() == want["id"].iloc[deep:].tolist()
    assert w2.num_rows == len(want) == table.count("score > 0.2")
    got = table.query(filter="score > 0.2", sort=["-score"], offset=deep, limit=10)
    assert got["id"].tolist() == want["id"].iloc[deep:].tolist()
    w1.close()  # twice is harmless
    w2.close()
    assert not engine.closed
    # An engine given to a handler belongs to the caller: closing the handler leaves it open.
    mine = Engine()
    h = MessageHandler(table.engine_source(), table.read_blob, engine=mine)
    h.close()
    assert (
        not mine.closed and mine.view(table.engine_source(), Query(sort=["id"])).num_rows == 3_000
    )
    mine.close()
