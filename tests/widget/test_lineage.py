"""The lineage widget: the graph it sends the browser, and the tables a clicked version opens."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import ipywidgets
import pytest

import dsviz_widget as dv
from dsviz_widget.widget import DatasetWidget, LineageWidget
from dsviz_widget.widget._lineage import lineage_view
from dsviz_widget.widget._lineage_open import open_version, table_names


def test_lineage_graph_is_normalised_plain_data() -> None:
    w = LineageWidget(
        {
            "nodes": [{"id": 1, "kind": "run", "label": "train"}, {"id": "a", "kind": "odd"}],
            "edges": [{"source": 1, "target": "a", "kind": "produced"}],
        }
    )
    assert w.graph == {
        "nodes": [
            {
                "id": "1",
                "kind": "run",
                "label": "train",
                "group": "/train",
                "step": "train",
                "version": None,
                "detail": "",
                "title": "",
            },
            {
                "id": "a",
                "kind": "artifact",
                "label": "a",
                "group": "a",
                "step": "a",
                "version": None,
                "detail": "",
                "title": "",
            },
        ],
        "edges": [{"source": "1", "target": "a", "kind": "produced"}],
    }
    assert w.selected is None and w.explode is False and w.can_open is False
    assert "store" not in w.graph  # the store path stays in the kernel


def _pipeline(root: Path) -> dict[str, Any]:
    """A dataset run making data:v0, then three train runs each making a predictions version
    of 4, 6 and 8 rows (with a second table, and a version without tables after them)."""
    with dv.init(project="cars", job_type="dataset", dir=root) as run:
        data = dv.Artifact("data", type="dataset")
        data.add(dv.Table(["id"], [[i] for i in range(5)]), "rows")
        run.log_artifact(data)
    for n in (4, 6, 8):
        with dv.init(project="cars", job_type="train", dir=root) as run:
            run.use_artifact("data:latest")
            preds = dv.Artifact("predictions", type="predictions")
            preds.add(dv.Table(["id", "score"], [[i, i / 10] for i in range(n)]), "preds")
            preds.add(dv.Table(["class"], [["car"], ["bus"]]), "classes")
            run.log_artifact(preds)
    with dv.init(project="cars", job_type="export", dir=root) as run:
        run.use_artifact("predictions:v2")
        weights = root / "weights.bin"
        weights.write_bytes(b"\0" * 16)
        model = dv.Artifact("model", type="model")
        model.add_file(weights)
        run.log_artifact(model)
    return dict(dv.lineage("data:v0", dir=root))


def test_lineage_nodes_carry_what_grouping_needs(tmp_path: Path) -> None:
    graph = _pipeline(tmp_path)
    w = LineageWidget(graph)
    nodes = {n["id"]: n for n in w.graph["nodes"]}
    runs = [n for n in nodes.values() if n["kind"] == "run"]
    assert sorted(n["step"] for n in runs) == ["dataset", "export", "train", "train", "train"]
    assert {n["group"] for n in runs if n["step"] == "train"} == {"cars/train"}
    # A run's second line tells the runs of one step apart.
    assert len({n["detail"] for n in runs}) == 5
    preds = nodes["artifact:predictions:v1"]
    assert (preds["group"], preds["version"], preds["label"]) == (
        "predictions",
        1,
        "predictions:v1",
    )
    assert nodes["artifact:predictions:v2"]["detail"] == "latest"


def test_unnamed_runs_read_as_job_type_and_time_with_the_id_in_the_tooltip(
    tmp_path: Path,
) -> None:
    graph = _pipeline(tmp_path)
    ids = {n["id"]: n["run_id"] for n in graph["nodes"] if n["kind"] == "run"}
    w = LineageWidget(graph)
    runs = [n for n in w.graph["nodes"] if n["kind"] == "run"]
    assert len(runs) == 5
    for n in runs:
        run_id = ids[n["id"]]
        assert re.fullmatch(r"(dataset|train|export) · \d{4}-\d\d-\d\d \d\d:\d\d", n["label"])
        assert n["label"].startswith(n["step"] + " · ")
        assert (n["detail"], n["title"]) == (run_id[:8], f"run {run_id} · finished")
    version = next(n for n in w.graph["nodes"] if n["id"] == "artifact:predictions:v2")
    assert version["title"] == "type predictions · aliases latest"


def test_clicking_a_version_shows_its_first_table(tmp_path: Path) -> None:
    view = lineage_view(_pipeline(tmp_path))
    assert isinstance(view, ipywidgets.VBox)
    w, panel = view.children
    assert isinstance(w, LineageWidget) and panel is w.panel and panel.children == ()
    assert w.can_open
    w.selected = "artifact:predictions:v1"
    assert (w.opened, w.tables, w.table, w.error) == (
        "predictions:v1",
        ["classes", "preds"],
        "classes",
        "",
    )
    (grid,) = panel.children
    assert isinstance(grid, DatasetWidget) and grid._handler.source.num_rows == 2
    # The browser's table selector picks the other table of the version.
    w.table = "preds"
    (grid2,) = panel.children
    assert grid2 is not grid and grid2._handler.source.num_rows == 6


def test_clicking_another_version_and_then_a_run(tmp_path: Path) -> None:
    w = LineageWidget(_pipeline(tmp_path))
    w.selected = "artifact:data:v0"
    assert (w.opened, w.tables, w.table) == ("data:v0", ["rows"], "rows")
    assert w.panel.children[0]._handler.source.num_rows == 5
    w.selected = "artifact:predictions:v2"
    w.table = "preds"
    assert w.panel.children[0]._handler.source.num_rows == 8
    run = next(n["id"] for n in w.graph["nodes"] if n["kind"] == "run")
    w.selected = run
    assert (w.opened, w.tables, w.table, w.error, w.panel.children) == ("", [], None, "", ())


def test_a_version_without_tables_says_so(tmp_path: Path) -> None:
    w = LineageWidget(_pipeline(tmp_path))
    w.selected = "artifact:model:v0"
    assert w.error == "model:v0 has no tables (entries: weights.bin)"
    assert (w.opened, w.tables, w.panel.children) == ("", [], ())


def test_a_version_or_store_that_is_gone_says_so(tmp_path: Path) -> None:
    graph = _pipeline(tmp_path)
    graph["nodes"].append(
        {
            "id": "artifact:data:v9",
            "kind": "artifact",
            "label": "data:v9",
            "artifact": "data",
            "version": 9,
            "aliases": [],
        }
    )
    w = LineageWidget(graph)
    w.selected = "artifact:data:v9"
    assert w.error == "cannot open data:v9: artifact 'data' has no version v9 (versions: v0..v0)"
    w2 = LineageWidget({**graph, "store": str(tmp_path / "elsewhere")})
    w2.selected = "artifact:data:v0"
    assert w2.error.startswith("cannot open data:v0: the artifact store ")
    assert w2.error.endswith("no longer exists")
    assert not (tmp_path / "elsewhere").exists()


def test_a_graph_without_a_store_only_selects(tmp_path: Path) -> None:
    graph = _pipeline(tmp_path)
    del graph["store"]
    w = LineageWidget(graph)
    w.selected = "artifact:data:v0"
    assert (w.opened, w.error, w.panel.children) == ("", "", ())


def test_table_names_come_from_the_manifest(tmp_path: Path) -> None:
    _pipeline(tmp_path)
    assert table_names(open_version(str(tmp_path), "predictions", 0)) == ["classes", "preds"]
    assert table_names(open_version(str(tmp_path), "model", 0)) == []


def test_a_plain_file_named_like_a_table_is_not_offered_as_one(tmp_path: Path) -> None:
    # What an entry is comes from the manifest: files "x" and "x.table.parquet" stay files.
    for name in ("x", "x.table.parquet"):
        (tmp_path / name).write_bytes(b"not parquet")
    with dv.init(project="p", dir=tmp_path / "store") as run:
        art = dv.Artifact("mixed", type="dataset")
        art.add(dv.Table(["id"], [[1]]), "rows")
        art.add_file(tmp_path / "x")
        art.add_file(tmp_path / "x.table.parquet")
        run.log_artifact(art)
    version = open_version(str(tmp_path / "store"), "mixed", 0)
    assert version.entries() == ["rows", "x", "x.table.parquet"]
    assert table_names(version) == ["rows"]


def test_lineage_displays_the_graph_with_its_tables_panel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[Any] = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    dv.lineage("data:v0", dir=_pipeline_dir(tmp_path))._ipython_display_()
    (view,) = shown
    assert isinstance(view, ipywidgets.VBox)
    assert isinstance(view.children[0], LineageWidget)


def _pipeline_dir(root: Path) -> Path:
    _pipeline(root)
    return root
