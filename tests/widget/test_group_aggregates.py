"""A group page computes the means of the columns the widget shows, not of every column:
with columns hidden (the ``columns`` trait), their means are neither computed nor sent, and
a sort naming a hidden column still fits the group page (it is left out there)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from dsviz_widget.engine import Engine, Query, Source
from dsviz_widget.widget._handler import MessageHandler
from tests.widget.conftest import group_page

DATA = pd.DataFrame(
    {
        "label": ["cat", "dog", "cat", "bird", "dog", "bird", "cat"],
        "confidence": [0.9, 0.2, 0.5, 0.7, 0.4, 0.8, 0.1],
        "area": [10, 20, 30, 40, 50, 60, 70],
        "name": ["a", "b", "c", "d", "e", "f", "g"],
    }
)


def _blob(digest: str) -> bytes:
    raise KeyError(digest)


def _handler() -> MessageHandler:
    return MessageHandler(
        Source.from_arrow(pa.Table.from_pandas(DATA, preserve_index=False)), _blob
    )


def page(handler: MessageHandler, **query: Any) -> tuple[dict[str, Any], pa.Table]:
    return group_page(handler, query, limit=50)


def test_a_group_page_has_the_means_of_the_shown_columns_only() -> None:
    h = _handler()
    _, groups = page(h, group_by=["label"])
    assert groups.column_names == [
        "label",
        "count",
        "mean(confidence)",
        "mean(area)",
        "_sample_rows",
    ]

    _, groups = page(h, group_by=["label"], columns=["label", "area", "name"])
    assert groups.column_names == ["label", "count", "mean(area)", "_sample_rows"]
    want = DATA.groupby("label")["area"].mean()
    assert groups.column("mean(area)").to_pylist() == [
        want[k] for k in groups.column("label").to_pylist()
    ]
    assert groups.column("count").to_pylist() == [2, 3, 2]  # bird, cat, dog


def test_a_sort_by_a_hidden_column_is_left_out_of_the_group_page() -> None:
    h = _handler()
    reply, groups = page(h, group_by=["label"], sort=["-confidence"], columns=["label", "area"])
    assert reply["sort"] == []
    assert groups.column("label").to_pylist() == ["bird", "cat", "dog"]
    reply, groups = page(h, group_by=["label"], sort=["area"], columns=["label", "area"])
    assert reply["sort"] == ["mean(area)"]
    assert groups.column("label").to_pylist() == ["dog", "cat", "bird"]  # 35, 36.7, 50


def test_table_query_columns_choose_the_default_aggregates_too() -> None:
    src = Source.from_arrow(pa.Table.from_pandas(DATA, preserve_index=False))
    engine = Engine(background=False)
    assert engine.group_fields(src, ["label"], ["confidence"]) == [
        "label",
        "count",
        "mean(confidence)",
        "_sample_rows",
    ]
    got = engine.view(src, Query(group_by=["label"], columns=["confidence"])).page(0, 10)
    assert got.column_names == engine.group_fields(src, ["label"], ["confidence"])
