"""A group page comes counts first: the page reply holds the keys and counts (one cheap
GROUP BY), names the fields still to come (``pending``), and the browser's ``groups``
request brings every field of the same groups, in the same order. The values are pandas'
(NaN left out of a mean, null keys a group of their own, sorted last)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import MessageHandler
from tests.widget.conftest import ask, decode

NAN = float("nan")
DATA = pd.DataFrame(
    {
        "label": ["cat", "dog", None, "cat", "bird", None, "dog", "cat"],
        "score": [0.5, NAN, 0.25, 1.5, NAN, 2.0, 0.75, None],
        "n": pd.array([1, 2, None, 4, 5, 6, None, 8], dtype="Int64"),
    }
)


def _handler() -> MessageHandler:
    table = pa.Table.from_pandas(DATA, preserve_index=False)
    return MessageHandler(Source.from_arrow(table), lambda d: b"")


def _page(h: MessageHandler, **query: Any) -> tuple[dict[str, Any], pa.Table]:
    reply, buffers = ask(h, kind="page", query=query, offset=0, limit=50)
    assert reply["kind"] == "page-response", reply
    return reply, decode(buffers)


def _groups(h: MessageHandler, **query: Any) -> tuple[dict[str, Any], pa.Table]:
    reply, buffers = ask(h, kind="groups", query=query, offset=0, limit=50)
    assert reply["kind"] == "groups-response", reply
    return reply, decode(buffers)


def _pandas(df: pd.DataFrame) -> pd.DataFrame:
    """count and the NaN-skipping means per label, null labels one group, sorted last."""
    got = df.groupby("label", dropna=False, sort=False).agg(
        count=("label", "size"), score=("score", "mean"), n=("n", "mean")
    )
    return got.sort_index(na_position="last")


def _same(a: Any, b: Any) -> bool:
    if b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA:
        return a is None
    return math.isclose(a, b, rel_tol=1e-12)


def test_the_first_reply_holds_keys_and_counts_the_second_every_field() -> None:
    h = _handler()
    want = _pandas(DATA)
    first, counts = _page(h, group_by=["label"])
    assert first["grouped"] and first["num_rows"] == len(want) == 4
    assert counts.column_names == ["label", "count"]
    assert first["pending"] == ["mean(score)", "mean(n)", "_sample_rows"]
    labels = [None if isinstance(k, float) else k for k in want.index]
    assert counts.column("label").to_pylist() == labels  # null last
    assert counts.column("count").to_pylist() == want["count"].tolist()

    rest, full = _groups(h, group_by=["label"])
    assert rest["roles"] == first["roles"] and rest["offset"] == 0
    assert full.column_names == ["label", "count", *first["pending"]]
    assert full.select(["label", "count"]).equals(counts)
    for i, label in enumerate(labels):
        assert _same(full.column("mean(score)")[i].as_py(), want["score"].iloc[i]), label
        assert _same(full.column("mean(n)")[i].as_py(), want["n"].iloc[i]), label
        keys = [None if pd.isna(v) else v for v in DATA["label"].tolist()]
        members = [j for j, v in enumerate(keys) if v == label]
        assert full.column("_sample_rows")[i].as_py() == members[:4]

    # The groups are computed now: the same page again comes whole.
    again, whole = _page(h, group_by=["label"])
    assert again["pending"] == [] and whole.equals(full)


def test_a_sort_by_a_mean_needs_the_means_first_so_the_page_comes_whole() -> None:
    h = _handler()
    reply, page = _page(h, group_by=["label"], sort=["-score"])
    assert reply["sort"] == ["-mean(score)"] and reply["pending"] == []
    want = _pandas(DATA).sort_values("score", ascending=False, na_position="last", kind="stable")
    assert page.column("count").to_pylist() == want["count"].tolist()
    # A sort by the count needs no mean: counts first again.
    reply, counts = _page(h, group_by=["label"], sort=["-count"])
    assert reply["pending"] and counts.column("count").to_pylist() == [3, 2, 2, 1]
    assert counts.column("label").to_pylist() == ["cat", "dog", None, "bird"]


def test_a_filter_that_leaves_no_group_has_an_empty_first_and_second_reply() -> None:
    h = _handler()
    reply, counts = _page(h, group_by=["label"], filter="score > 100")
    assert reply["num_rows"] == 0 and counts.num_rows == 0
    _, full = _groups(h, group_by=["label"], filter="score > 100")
    assert full.num_rows == 0 and full.column_names == ["label", "count", *reply["pending"]]
    # A filter leaving some groups: their counts and means only over the rows kept.
    reply, counts = _page(h, group_by=["label"], filter="n >= 4")
    kept = DATA[DATA["n"].fillna(-1) >= 4]
    assert counts.column("count").to_pylist() == _pandas(kept)["count"].tolist()
    _, full = _groups(h, group_by=["label"], filter="n >= 4")
    assert np.allclose(
        full.column("mean(n)").to_pylist(), _pandas(kept)["n"].astype(float).tolist()
    )


def test_a_groups_request_must_ask_for_a_group_page() -> None:
    h = _handler()
    reply, _ = ask(h, kind="groups", query={}, offset=0, limit=10)
    assert reply["kind"] == "error" and "group_by" in reply["error"]
    reply, _ = ask(h, kind="groups", query={"group_by": ["label"]}, offset=-1, limit=10)
    assert reply["kind"] == "error" and "'offset' must be at least 0" in reply["error"]
