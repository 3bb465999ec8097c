"""Grouping keeps the sort: the user's keys stay in ``sort`` and each view sorts by what they
mean there (``ViewModel.fit_sort``). Rows sorted by ``confidence`` group into groups sorted by
``mean(confidence)``; ungrouped, the rows are sorted by ``confidence`` again; a key meaning
nothing in a view (a group's ``count`` among rows) is left out there, a typo is refused."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from dsviz_widget.engine import QueryError, Source
from dsviz_widget.widget import show
from dsviz_widget.widget._handler import MessageHandler
from tests.widget.conftest import ask, decode

DATA = pd.DataFrame(
    {
        "label": ["cat", "dog", "cat", "bird", "dog", "bird", "cat"],
        "confidence": [0.9, 0.2, 0.5, 0.7, 0.4, 0.8, 0.1],
        "name": ["a", "b", "c", "d", "e", "f", "g"],
    }
)


def _blob(digest: str) -> bytes:
    raise KeyError(digest)


@pytest.fixture
def source() -> Source:
    return Source.from_arrow(pa.Table.from_pandas(DATA, preserve_index=False))


def page(handler: MessageHandler, **query: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    reply, buffers = ask(handler, kind="page", query=query, offset=0, limit=50)
    assert reply["kind"] == "page-response", reply
    return reply, decode(buffers).to_pandas()


def test_groups_sort_by_the_mean_of_the_row_sort_column_and_rows_sort_again_after(
    source: Source,
) -> None:
    h = MessageHandler(source, _blob)
    reply, rows = page(h, sort=["-confidence"])
    assert list(rows["confidence"]) == sorted(DATA["confidence"], reverse=True)
    assert reply["sort"] == ["-confidence"]

    reply, groups = page(h, sort=["-confidence"], group_by=["label"])
    means = DATA.groupby("label")["confidence"].mean().sort_values(ascending=False)
    assert list(groups["label"]) == list(means.index)  # bird 0.75, cat 0.5, dog 0.3
    assert reply["sort"] == ["-mean(confidence)"]  # the arrow goes on that header

    # Sorting by the group key sorts the groups by it.
    reply, groups = page(h, sort=["-label"], group_by=["label"])
    assert list(groups["label"]) == ["dog", "cat", "bird"] and reply["sort"] == ["-label"]


def test_a_group_sort_carries_into_a_group_and_back_to_the_rows(source: Source) -> None:
    h = MessageHandler(source, _blob)
    # Looking into a group sorted by mean(confidence): its rows sort by confidence.
    cat_row = int(DATA.index[DATA["label"] == "cat"][0])
    reply, rows = page(h, sort=["mean(confidence)"], group_by=["label"], group_row=cat_row)
    assert list(rows["confidence"]) == [0.1, 0.5, 0.9] and reply["sort"] == ["confidence"]
    # The group page's count means nothing among rows: left out, not refused.
    reply, rows = page(h, sort=["-count", "name"])
    assert reply["sort"] == ["name"] and list(rows["name"]) == list(DATA["name"])


def test_a_string_column_has_no_mean_so_the_groups_keep_their_key_order(source: Source) -> None:
    h = MessageHandler(source, _blob)
    reply, groups = page(h, sort=["-name"], group_by=["label"])
    assert reply["sort"] == [] and list(groups["label"]) == ["bird", "cat", "dog"]


def test_a_sort_key_naming_nothing_is_still_refused(source: Source) -> None:
    h = MessageHandler(source, _blob)
    reply, _ = ask(h, kind="page", query={"sort": ["confidnce"]}, offset=0, limit=5)
    assert reply["kind"] == "error" and "confidence" in str(reply["error"])


def test_the_python_api_agrees_and_keeps_the_users_keys(source: Source) -> None:
    w = show(source, read_blob=_blob, sort=["-confidence"])
    w.group_by = ["label"]
    assert w.sort == ["-confidence"]
    assert list(w.query.sort) == ["-mean(confidence)"]
    assert list(w.page()["label"]) == ["bird", "cat", "dog"]
    w.group_by = []
    assert list(w.page()["confidence"]) == sorted(DATA["confidence"], reverse=True)
    w.sort = ["typo"]
    with pytest.raises(QueryError, match="typo"):
        w.page()
    w.close()
