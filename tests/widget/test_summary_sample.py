"""The widget's summary request: a sampled reply is labelled, ``exact`` asks for all rows."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import MessageHandler
from tests.widget.conftest import ask

N = 1_000_100  # just over the first look's million rows


@pytest.fixture(scope="module")
def captions() -> MessageHandler:
    table = pa.table(
        {
            "caption": pa.array([f"image {i}" for i in range(N)], pa.string()),
            "label": pa.array([f"l{i % 8}" for i in range(N)], pa.string()),
        }
    )
    return MessageHandler(Source.from_arrow(table), lambda digest: b"", name="captions")


def test_mostly_distinct_column_is_a_labelled_sample_until_exact_is_asked(
    captions: MessageHandler,
) -> None:
    reply, _ = ask(captions, kind="summary", query={}, column="caption")
    s = reply["summary"]
    assert s["sample"] == s["count"] == 1_000_000 and s["distinct"] is None
    assert s["distinct_min"] == 1_000_000 and s["counts"] == [1] * 10
    json.dumps(reply)
    reply, _ = ask(
        captions, kind="summary", query={"filter": "label == 'l3'"}, column="caption", exact=True
    )
    s = reply["summary"]
    assert "sample" not in s and s["distinct"] == s["count"] == len(range(3, N, 8))
    reply, _ = ask(captions, kind="summary", query={}, column="label")
    assert "sample" not in reply["summary"] and reply["summary"]["distinct"] == 8


@pytest.mark.parametrize("exact", ["yes", 1, None])
def test_exact_must_be_a_boolean(captions: MessageHandler, exact: object) -> None:
    reply, _ = ask(captions, kind="summary", query={}, column="label", exact=exact)
    assert reply["kind"] == "error" and "'exact' must be true or false" in str(reply["error"])
