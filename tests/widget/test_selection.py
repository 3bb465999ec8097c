"""Selection ranges the browser has not loaded: the ``ids`` request names the row ids of view
positions, in view order, for any query; a range past ``MAX_SELECTION`` is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import MessageHandler
from dsviz_widget.widget._protocol import MAX_SELECTION
from tests.widget import _synth
from tests.widget.conftest import ask


def big_handler(n: int) -> tuple[MessageHandler, pa.Table]:
    t = _synth.big_table(n)
    return MessageHandler(Source.from_arrow(t), read_blob=lambda d: b"", name="big"), t


def test_ids_of_a_sorted_filtered_view_match_pandas() -> None:
    handler, t = big_handler(20_000)
    frame = t.to_pandas()
    query = {"filter": "label == 'cat'", "sort": ["-score"]}
    reply, buffers = ask(handler, kind="ids", query=query, offset=100, limit=5_000)
    assert reply["kind"] == "ids-response" and reply["offset"] == 100 and buffers == []
    cats = frame[frame["label"] == "cat"]
    # Ties in score keep source order (the engine's tiebreak is the row id).
    want = cats.sort_values("score", ascending=False, kind="stable")["id"].tolist()
    assert reply["ids"] == want[100:5_100]
    json.dumps(reply)
    # The same positions as the page request shows them.
    page, _ = handler.handle(
        {"id": "p", "kind": "page", "query": query, "offset": 100, "limit": 10}
    )
    assert page["num_rows"] == len(cats)


def test_ids_stop_where_the_view_ends() -> None:
    handler, _ = big_handler(1_000)
    reply, _ = ask(handler, kind="ids", query={}, offset=990, limit=50)
    assert reply["ids"] == list(range(990, 1_000))
    reply, _ = ask(handler, kind="ids", query={}, offset=5_000, limit=50)
    assert reply["ids"] == []


def test_a_range_past_the_limit_is_refused_by_name() -> None:
    handler, _ = big_handler(1_000)
    reply, _ = ask(handler, kind="ids", query={}, offset=0, limit=10_000_000)
    assert reply["kind"] == "error" and reply["request_kind"] == "ids"
    assert reply["error"] == (
        f"a selection holds at most {MAX_SELECTION:,} rows; this range has 10,000,000"
    )
    reply, _ = ask(handler, kind="ids", query={}, offset=-1, limit=1)
    assert reply["kind"] == "error" and "'offset' must be at least 0" in reply["error"]


def test_group_rows_are_not_selectable_but_a_group_looked_into_is() -> None:
    handler, t = big_handler(2_000)
    reply, _ = ask(handler, kind="ids", query={"group_by": ["label"]}, offset=0, limit=3)
    assert reply["kind"] == "error" and "look into a group" in reply["error"]
    labels = np.array(t.column("label").to_pylist())
    first_dog = int(np.flatnonzero(labels == "dog")[0])
    reply, _ = ask(
        handler,
        kind="ids",
        query={"group_by": ["label"], "group_row": first_dog},
        offset=0,
        limit=4,
    )
    assert reply["ids"] == np.flatnonzero(labels == "dog")[:4].tolist()


def test_selection_from_python_keeps_each_id_once_and_refuses_unknown_ids() -> None:
    from dsviz_widget._errors import ValidationError
    from dsviz_widget.widget import show

    t = _synth.big_table(100)
    w = show(Source.from_arrow(t), read_blob=lambda d: b"", selection=[7, 4, 7])
    assert w.selection == [7, 4]
    assert w.selected["id"].tolist() == [7, 4] and list(w.selected.index) == [7, 4]
    with pytest.raises(
        ValidationError, match=r"row id 100 is not in the table \(row ids are 0..99\)"
    ):
        w.selection = [3, 100]
    assert w.selection == [7, 4]  # unchanged
    with pytest.raises(ValidationError, match="row id 200"):
        show(Source.from_arrow(t), read_blob=lambda d: b"", selection=[1, 200])
