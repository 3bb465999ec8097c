"""Saved views: ``widget.save_view(name)`` and ``dv.show(table, view=name)``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import dsviz_widget as dv
from dsviz_widget.widget import _views
from tests._store_kinds import StoreKind


def logged_table(name: str = "preds", entry: str = "predictions", n: int = 20) -> Any:
    t = dv.Table(
        columns=["id", "score", "label"], data=[[i, i / n, ["cat", "dog"][i % 2]] for i in range(n)]
    )
    art = dv.Artifact(name, type="predictions")
    art.add(t, entry)
    dv.log_artifact(art)
    return dv.use_artifact(f"{name}:latest").get(entry)


STATE = {
    "filter": "score > 0.5",
    "sort": ["-count"],
    "group_by": ["label"],
    "columns": ["id", "score"],
    "hidden_classes": {"image": [1, 3]},
    "score_threshold": 0.25,
    "mask_opacity": 0.8,
    "column_widths": {"label": 220},
    "pinned": ["id"],
    "density": "compact",
}


def test_save_and_reopen_a_view(store_location: StoreKind) -> None:
    table = logged_table()
    w = dv.show(table, **STATE)
    w.selection = [3]
    w.save_view("high-scores")
    path = store_location.workdir / "views" / "preds" / "predictions" / "high-scores.json"
    doc = json.loads(path.read_text())
    assert doc["view"] == STATE and doc["artifact"] == "preds" and doc["entry"] == "predictions"
    assert w.saved_views == ["high-scores"]

    again = dv.show(dv.use_artifact("preds:latest").get("predictions"), view="high-scores")
    assert again.view_state == STATE
    assert again.selection == []  # selection is not part of a view
    assert again.num_rows == 2  # two labels among the rows with score > 0.5
    # Keyword arguments override what the view says.
    assert dv.show(table, view="high-scores", group_by=[], sort=["-score"]).num_rows == 9
    w.close()
    again.close()


def test_a_view_reopens_on_a_newer_version_and_saving_again_replaces_it(
    store_location: StoreKind,
) -> None:
    w = dv.show(logged_table(), filter="id < 5")
    w.save_view("small")
    w.filter = "id < 3"
    w.save_view("small")
    newer = logged_table(n=30)  # preds:v1
    assert newer.origin.version == 1
    assert dv.show(newer, view="small").filter == "id < 3"
    # Nothing but the view itself is left in the directory (no temporary files).
    assert os.listdir(store_location.workdir / "views" / "preds" / "predictions") == ["small.json"]


def test_a_view_restores_defaults_it_does_not_mention(store_dir: Path) -> None:
    table = logged_table()
    dv.show(table).save_view("plain")
    w = dv.show(table, filter="id > 3", sort=["id"])
    assert dv.show(w, view="plain") is w  # an existing widget takes the view too
    assert (w.filter, w.sort, w.mask_opacity) == ("", [], 0.45)


def test_unlogged_tables_cannot_save_or_open_views(store_dir: Path) -> None:
    t = dv.Table(columns=["x"], data=[[1]])
    w = dv.show(t)
    with pytest.raises(dv.ValidationError, match="log it first"):
        w.save_view("v")
    with pytest.raises(dv.ValidationError, match="log it first"):
        dv.show(t, view="v")
    assert w.saved_views == []


def test_missing_view_names_the_saved_ones(store_dir: Path) -> None:
    table = logged_table()
    dv.show(table).save_view("a")
    with pytest.raises(dv.NotFoundError, match=r"no saved view 'b' .*saved views: 'a'"):
        dv.show(table, view="b")


@pytest.mark.parametrize(
    "name", ["../escape", "/abs", "a\\b", "", "..", "a/../b", "x\x00y", "％2e"]
)
def test_view_names_are_checked_before_any_file_is_touched(store_dir: Path, name: str) -> None:
    w = dv.show(logged_table())
    with pytest.raises(dv.UnsafePathError):
        w.save_view(name)
    assert not (store_dir / "views").exists() or not any(
        p.is_file() for p in (store_dir / "views").rglob("*")
    )
    assert not (store_dir.parent / "escape.json").exists()


def test_a_failed_write_leaves_the_old_view(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = dv.show(logged_table(), filter="id < 5")
    w.save_view("v")
    w.filter = "id < 2"

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(_views.os, "replace", crash)
    with pytest.raises(dv.StoreError, match="disk full"):
        w.save_view("v")
    monkeypatch.undo()
    folder = store_dir / "views" / "preds" / "predictions"
    assert os.listdir(folder) == ["v.json"]
    assert json.loads((folder / "v.json").read_text())["view"]["filter"] == "id < 5"


def test_a_corrupt_view_file_is_a_clear_error(store_dir: Path) -> None:
    table = logged_table()
    dv.show(table).save_view("v")
    (store_dir / "views" / "preds" / "predictions" / "v.json").write_text("{not json")
    with pytest.raises(dv.ValidationError, match="not valid JSON"):
        dv.show(table, view="v")


@pytest.mark.parametrize("step", ["mkdir", "write", "fsync", "replace"])
def test_a_full_disk_is_a_store_error_naming_the_file_and_leaves_the_old_view(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    import errno

    w = dv.show(logged_table(), filter="id < 5")
    w.save_view("v")
    w.save_view("other")
    folder = store_dir / "views" / "preds" / "predictions"
    w.filter = "id < 2"

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if step == "mkdir":
        monkeypatch.setattr(_views.Path, "mkdir", full)
    elif step == "write":
        monkeypatch.setattr(_views.json, "dump", full)
    else:
        monkeypatch.setattr(_views.os, step, full)
    with pytest.raises(dv.StoreError) as info:
        w.save_view("v")
    monkeypatch.undo()
    err = info.value
    assert err.errno == errno.ENOSPC and isinstance(err, OSError)
    assert str(folder / "v.json") in str(err) and "No space left on device" in str(err)
    # No half-written file and no temporary left behind: the old view reopens as saved.
    assert sorted(os.listdir(folder)) == ["other.json", "v.json"]
    assert dv.show(logged_table(), view="v").filter == "id < 5"
