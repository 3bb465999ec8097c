"""Compare mode through the widget's own messages: change counts, the user's change
definition for "changed rows only", and the transitions matrix with a filter per cell."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dsviz_widget._errors import ValidationError
from dsviz_widget.engine import Source
from dsviz_widget.widget import DatasetWidget, compare
from tests.widget.test_widget import call, sent


def _versions(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 10, n)
    p0 = np.where(rng.random(n) < 0.6, truth, rng.integers(0, 10, n))
    p1 = np.where(rng.random(n) < 0.85, truth, rng.integers(0, 10, n))
    v0 = pd.DataFrame(
        {"id": np.arange(n), "pred": p0, "correct": p0 == truth, "confidence": rng.random(n)}
    )
    v1 = pd.DataFrame(
        {"id": np.arange(n), "pred": p1, "correct": p1 == truth, "confidence": rng.random(n)}
    )
    return v0, v1


def _widget(v0: pd.DataFrame, v1: pd.DataFrame) -> DatasetWidget:
    return compare(
        [Source.from_arrow(pa.Table.from_pandas(v, preserve_index=False)) for v in (v0, v1)],
        on="id",
        labels=["epoch-0", "epoch-5"],
        read_blob=lambda d: b"",
    )


def _ask(w: DatasetWidget, out: list[Any], msg: dict[str, Any]) -> dict[str, Any]:
    call(w, msg)
    reply: dict[str, Any] = out[-1][0]
    return reply


def test_change_counts_leave_out_the_column_that_differs_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v0, v1 = _versions()
    w = _widget(v0, v1)
    out = sent(w, monkeypatch)
    info = _ask(w, out, {"id": "i", "kind": "info"})
    assert info["compare"]["compared"] == ["pred", "correct", "confidence"]
    reply = _ask(w, out, {"id": "c", "kind": "changes"})
    assert reply["kind"] == "changes-response" and reply["rows"] == len(v0)
    assert reply["counts"] == {
        "pred": int((v0.pred != v1.pred).sum()),
        "correct": int((v0.correct != v1.correct).sum()),
        "confidence": len(v0),
    }
    assert reply["always"] == ["confidence"] and reply["default"] == ["pred", "correct"]
    # "Changed rows only" with the default: every row differs in confidence, yet only the
    # rows whose prediction or correctness moved are shown.
    w.changed_only = True
    want = int(((v0.pred != v1.pred) | (v0.correct != v1.correct)).sum())
    assert w.num_rows == want < len(v0)
    w.change_columns = ["correct"]
    assert w.num_rows == int((v0.correct != v1.correct).sum())
    query = {"changed_only": True, "change_columns": ["pred"], "filter": "id < 100"}
    page = _ask(w, out, {"id": "p", "kind": "page", "query": query, "offset": 0, "limit": 10})
    want = int(((v0.pred != v1.pred) & (v0.id < 100)).sum())
    assert page["num_rows"] in (None, want) and page["rows_at_least"] <= want
    counted = _ask(w, out, {"id": "c", "kind": "count", "query": query})
    assert counted["kind"] == "count-response" and counted["num_rows"] == want


def test_a_wrong_change_column_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    v0, v1 = _versions(20)
    w = _widget(v0, v1)
    with pytest.raises(ValidationError, match=r"'prde'.*did you mean.*'pred'"):
        w.change_columns = ["prde"]
    assert w.change_columns == []
    out = sent(w, monkeypatch)
    err = _ask(
        w,
        out,
        {
            "id": "p",
            "kind": "page",
            "query": {"changed_only": True, "change_columns": ["id"]},
            "offset": 0,
            "limit": 5,
        },
    )
    assert err["kind"] == "error" and "'id'" in err["error"]


def test_transitions_cells_sum_to_the_rows_and_each_filter_selects_its_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v0, v1 = _versions()
    w = _widget(v0, v1)
    out = sent(w, monkeypatch)
    query = {"filter": "id >= 50"}
    reply = _ask(
        w,
        out,
        {
            "id": "t",
            "kind": "transitions",
            "query": query,
            "column": "pred",
            "before": "epoch-0",
            "after": "epoch-5",
        },
    )
    assert reply["kind"] == "transitions-response" and reply["kind_of_values"] == "int"
    kept = (v0.id >= 50).to_numpy()
    want = pd.crosstab(v0.pred[kept], v1.pred[kept])
    assert reply["total"] == int(kept.sum()) == sum(c["count"] for c in reply["cells"])
    assert len(reply["before_values"]) == 10 and "other" not in reply["before_values"]
    for cell in reply["cells"]:
        b = int(reply["before_values"][cell["before"]])
        a = int(reply["after_values"][cell["after"]])
        assert cell["count"] == want.loc[b, a]
        w.filter = f"(id >= 50) and ({cell['filter']})"
        assert w.num_rows == cell["count"], cell
    # Booleans: fixed (false -> true), broke (true -> false), same.
    reply = _ask(
        w,
        out,
        {
            "id": "b",
            "kind": "transitions",
            "query": {},
            "column": "correct",
            "before": "epoch-0",
            "after": "epoch-5",
        },
    )
    cells = {
        (reply["before_values"][c["before"]], reply["after_values"][c["after"]]): c["count"]
        for c in reply["cells"]
    }
    assert cells.get(("false", "true"), 0) == int((~v0.correct & v1.correct).sum())
    assert cells.get(("true", "false"), 0) == int((v0.correct & ~v1.correct).sum())


def test_transitions_keep_the_most_frequent_values_and_group_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = 400
    rng = np.random.default_rng(3)
    labels = [f"class {i}" for i in range(30)]
    a = rng.choice(labels, n)
    b = np.where(rng.random(n) < 0.5, a, rng.choice(labels, n))
    v0 = pd.DataFrame({"id": range(n), "pred": a})
    v1 = pd.DataFrame({"id": range(n), "pred": b})
    w = _widget(v0, v1)
    out = sent(w, monkeypatch)
    reply = _ask(
        w,
        out,
        {
            "id": "t",
            "kind": "transitions",
            "query": {},
            "column": "pred",
            "before": "epoch-0",
            "after": "epoch-5",
        },
    )
    assert reply["before_values"][-1] == "other" and len(reply["before_values"]) == 12
    assert sum(c["count"] for c in reply["cells"]) == reply["total"] == n
    top = v0.pred.value_counts()
    assert reply["before_values"][0] in set(top[top == top.max()].index)
    other = [c for c in reply["cells"] if c["before"] == 11 or c["after"] == 11]
    assert other and all(c["filter"] == "" for c in other)
    err = _ask(
        w,
        out,
        {
            "id": "x",
            "kind": "transitions",
            "query": {},
            "column": "pred",
            "before": "epoch-0",
            "after": "epoch-9",
        },
    )
    assert err["kind"] == "error" and "no version 'epoch-9'" in err["error"]
