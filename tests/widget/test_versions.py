"""The version picker's kernel side: which versions an artifact table offers, and
``compare_with`` turning the widget into ``dv.compare(older, newer)`` in place and back."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dsviz_widget as dv
from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget.widget import DatasetWidget
from dsviz_widget.widget._show import show_widget
from dsviz_widget.widget._versions import compare_versions, versions_state
from tests._store_kinds import StoreKind
from tests.widget.test_widget import call, decode, sent

N = 200


def _frames(seed: int = 0) -> list[pd.DataFrame]:
    """Three versions of a predictions table: v0 and v1 in id order, v2 shuffled, so only a
    join on the key lines them up."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 10, N)
    out = []
    for acc in (0.5, 0.8, 0.9):
        pred = np.where(rng.random(N) < acc, truth, rng.integers(0, 10, N))
        out.append(
            pd.DataFrame(
                {"id": np.arange(N), "truth": truth, "pred": pred, "confidence": rng.random(N)}
            )
        )
    out[2] = out[2].sample(frac=1, random_state=1).reset_index(drop=True)
    return out


def _log(frames: list[pd.DataFrame], aliases: list[list[str]] | None = None) -> None:
    for i, frame in enumerate(frames):
        t = dv.Table(dataframe=frame)
        t.set_pk("id")
        art = dv.Artifact("preds", type="predictions")
        art.add(t, "predictions")
        dv.log_artifact(art, aliases=(aliases or [[]] * len(frames))[i])


def _table(version: int) -> Any:
    return dv.use_artifact(f"preds:v{version}").get("predictions")


def _changed(a: pd.DataFrame, b: pd.DataFrame, column: str) -> set[int]:
    j = a.merge(b, on="id", suffixes=("_a", "_b"))
    return set(j.loc[j[f"{column}_a"] != j[f"{column}_b"], "id"].tolist())


def test_an_artifact_table_lists_its_other_versions_newest_first_with_aliases(
    store_location: StoreKind,
) -> None:
    _log(_frames(), aliases=[["best"], [], ["candidate"]])
    # A version without the entry is not offered.
    other = dv.Artifact("preds", type="predictions")
    other.add(dv.Table(columns=["x"], data=[[1]]), "something-else")
    dv.log_artifact(other)
    state = versions_state(_table(1))
    assert state == {
        "artifact": "preds",
        "entry": "predictions",
        "version": "v1",
        "label": "v1",
        "choices": [
            {"version": "v2", "label": "v2 (candidate)"},
            {"version": "v0", "label": "v0 (best)"},
        ],
    }
    w = show_widget(_table(2))
    assert w.versions is not None and w.versions["label"] == "v2 (candidate)"
    w.close()


def test_tables_not_from_an_artifact_offer_no_versions(store_dir: Path) -> None:
    t = dv.Table(dataframe=_frames()[0])
    assert versions_state(t) is None
    w = show_widget(t)
    assert w.versions is None
    with pytest.raises(ValidationError, match="read from a logged artifact"):
        w.compare_with("v0")
    assert w.compared_with is None and w.source_generation == 0
    w.close()


def test_compare_with_builds_the_comparison_dv_compare_would(store_location: StoreKind) -> None:
    frames = _frames()
    _log(frames)
    # Shown: v2 (shuffled rows); compared with v0: v0 comes first, rows match on the key.
    w = show_widget(
        _table(2), filter="pred > 3", sort=["-confidence"], selection=[4, 2], pinned=["pred"]
    )
    assert w.compare_with("v0") is w
    assert w.compared_with == "v0" and w.compare_error == "" and w.source_generation == 1
    names = w.source.schema.names
    assert names[0] == "id" and {"pred@v0", "pred@v2", "pred@changed", "changed"} <= set(names)
    assert names.index("pred@v0") < names.index("pred@v2")
    # The table's own filter, sort and selection name its columns: the comparison starts afresh.
    assert (w.filter, w.sort, w.selection, w.changed_only) == ("", [], [], False)
    assert w.pinned == ["id", "changed"]  # the key and the marker stay in view
    assert w.num_rows == N
    page = w.page(0, N).set_index("id").sort_index()
    a, b = frames[0].set_index("id"), frames[2].set_index("id").sort_index()
    assert page["pred@v0"].tolist() == a["pred"].tolist()
    assert page["pred@v2"].tolist() == b["pred"].tolist()
    # "changed rows only" by pred: exactly the rows pandas finds.
    w.change_columns = ["pred"]
    w.changed_only = True
    assert w.num_rows == len(_changed(frames[0], frames[2], "pred"))
    assert set(w.page(0, N)["id"]) == _changed(frames[0], frames[2], "pred")
    expected = dv.compare(_table(0), _table(2))
    assert expected.labels == ["v0", "v2"] and expected.on == "id"
    assert w.num_rows == expected.num_changed(["pred"])
    # Back: the table alone, with its own filter, sort and selection again.
    w.compare_with(None)
    assert w.compared_with is None and w.source_generation == 2
    assert (w.filter, w.sort, w.selection, w.changed_only) == (
        "pred > 3",
        ["-confidence"],
        [4, 2],
        False,
    )
    assert w.source.schema.names == list(frames[2].columns) and w.pinned == ["pred"]
    assert w.num_rows == int((frames[2]["pred"] > 3).sum())
    w.close()


def test_an_alias_or_a_newer_version_compares_older_first(store_dir: Path) -> None:
    frames = _frames()
    _log(frames, aliases=[[], [], ["candidate"]])
    w = show_widget(_table(1))
    w.compare_with("candidate")
    assert w.compared_with == "v2"  # named as the picker lists it
    names = w.source.schema.names
    assert names.index("pred@v1") < names.index("pred@v2")
    w.changed_only = True
    assert w.num_rows == dv.compare(_table(1), _table(2)).num_changed()
    w.compare_with("latest")  # already shown: nothing changes
    assert w.source_generation == 1
    w.close()


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("v9", r"cannot compare preds:v1/predictions with 'v9'.*no version v9"),
        ("nope", r"cannot compare preds:v1/predictions with 'nope'.*no version or alias"),
        ("v1", r"preds:v1 is the version shown"),
        ("v2", r"preds:v2 has no entry 'predictions'"),
    ],
)
def test_a_version_that_cannot_be_compared_says_why_and_changes_nothing(
    store_dir: Path, version: str, message: str
) -> None:
    _log(_frames()[:2])
    other = dv.Artifact("preds", type="predictions")
    other.add(dv.Table(columns=["x"], data=[[1]]), "renamed")
    dv.log_artifact(other)
    w = show_widget(_table(1), filter="pred > 3")
    with pytest.raises(ValidationError, match=message):
        w.compare_with(version)
    assert w.compared_with is None and w.source_generation == 0
    assert w.compare_error and w.filter == "pred > 3"
    assert w.num_rows == int((_frames()[1]["pred"] > 3).sum())
    # The browser sets the trait itself: the same message, and the trait goes back.
    w.compared_with = version
    assert w.compared_with is None and re.search(message, w.compare_error)
    # A good version afterwards clears the message.
    w.compare_with("v0")
    assert w.compare_error == "" and w.compared_with == "v0"
    w.close()


def test_a_failure_while_comparing_keeps_the_comparison(store_dir: Path) -> None:
    _log(_frames())
    w = show_widget(_table(2)).compare_with("v0")
    w.changed_only = True
    n = w.num_rows
    with pytest.raises(ValidationError, match="no version v7"):
        w.compare_with("v7")
    assert (w.compared_with, w.changed_only, w.num_rows) == ("v0", True, n)
    w.close()


def test_the_browser_gets_the_new_table_after_a_swap(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = _frames()
    _log(frames)
    w = show_widget(_table(1))
    out = sent(w, monkeypatch)
    w.compare_with("v0")
    call(w, {"id": "i", "kind": "info"})
    info = out[-1][0]
    assert info["compare"] == {
        "labels": ["v0", "v1"],
        "on": "id",
        "compared": ["truth", "pred", "confidence"],
    }
    assert info["total_rows"] == N and info["name"] == "preds/predictions · v0 vs v1"
    call(
        w,
        {
            "id": "p",
            "kind": "page",
            "query": {"changed_only": True, "change_columns": ["pred"]},
            "offset": 0,
            "limit": N,
        },
    )
    reply, buffers = out[-1]
    assert reply["num_rows"] == len(_changed(frames[0], frames[1], "pred"))
    assert set(decode(buffers).column("id").to_pylist()) == _changed(frames[0], frames[1], "pred")
    w.close()


def test_requests_queued_before_a_swap_are_not_answered_with_either_table(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(_frames()[:2])
    w = show_widget(_table(1))
    out = sent(w, monkeypatch)
    # Hold the worker inside a request, queue more behind it, then swap.
    entered, release = threading.Event(), threading.Event()
    handle = w._handler.handle

    def slow(msg: object, buffers: object = None) -> Any:
        entered.set()
        release.wait(10)
        return handle(msg, buffers)

    monkeypatch.setattr(w._handler, "handle", slow)
    page = {"kind": "page", "query": {}, "offset": 0, "limit": 5}
    w._on_custom_msg(w, {"id": "running", **page}, [])
    assert entered.wait(10)
    w._on_custom_msg(w, {"id": "queued", "kind": "summary", "query": {}, "column": "pred"}, [])
    old = w._handler
    w.compare_with("v0")
    release.set()
    assert w._worker.wait_idle(10)
    replies = {r["id"]: r for r, _ in out}
    assert replies["queued"]["kind"] == "error"
    assert "another table" in replies["queued"]["error"]
    # The running one finished on the old handler, which was closed only afterwards.
    assert replies["running"]["kind"] == "page-response"
    # Both ask the kernel's shared engine: closing the old handler left it working.
    assert old.model.engine is w._handler.model.engine and not old.model.engine.closed
    w.close()


def test_a_view_is_saved_for_the_table_alone(store_dir: Path) -> None:
    _log(_frames()[:2])
    w = show_widget(_table(1), filter="pred > 3").compare_with("v0")
    w.filter = "pred@v0 > 3"
    with pytest.raises(ValidationError, match="compared with v0 now: go back first"):
        w.save_view("mine")
    w.compare_with(None)
    w.save_view("mine")
    assert show_widget(_table(1), view="mine").filter == "pred > 3"
    w.close()


def test_compared_with_as_a_keyword_opens_the_comparison(store_dir: Path) -> None:
    _log(_frames()[:2])
    w = show_widget(_table(1), compared_with="v0")
    assert isinstance(w, DatasetWidget) and w.compared_with == "v0"
    assert "pred@v0" in w.source.schema.names
    w.compare_with(None)
    assert "pred" in w.source.schema.names
    w.close()


def test_compare_versions_names_the_entry_it_misses(store_dir: Path) -> None:
    _log(_frames()[:1])
    other = dv.Artifact("preds", type="predictions")
    other.add(dv.Table(columns=["x"], data=[[1]]), "predictions-renamed")
    dv.log_artifact(other)
    with pytest.raises(NotFoundError, match="preds:v1 has no entry 'predictions'"):
        compare_versions(_table(0), "v1")
