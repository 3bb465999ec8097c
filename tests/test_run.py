from __future__ import annotations

from pathlib import Path

import pytest

import dsviz_widget as dv
from tests._store_kinds import StoreKind


def art(name: str, value: int, type_: str = "dataset") -> dv.Artifact:
    a = dv.Artifact(name, type=type_)
    a.add(dv.Table(columns=["x"], data=[[value]]), "t")
    return a


def test_lineage_links_runs_and_versions(store_location: StoreKind) -> None:
    with dv.init(project="cars", job_type="create-dataset") as make:
        make.log_artifact(art("raw", 1))
    with dv.init(project="cars", job_type="train", config={"lr": 0.1}) as train:
        train.use_artifact("raw:latest")
        train.log_artifact(art("preds", 2, "predictions"))
    with dv.init(project="cars", job_type="eval") as evaluate:
        evaluate.use_artifact("preds:v0")
    graph = dv.lineage("preds:v0")
    # Unnamed runs are labelled by run.name: job type and start time.
    assert make.name.startswith("create-dataset · ") and train.name.startswith("train · ")
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    assert sorted(labels.values()) == sorted(
        [make.name, evaluate.name, "preds:v0", "raw:v0", train.name]
    )
    edges = {(labels[e["source"]], labels[e["target"]], e["kind"]) for e in graph["edges"]}
    assert edges == {
        (make.name, "raw:v0", "produced"),
        ("raw:v0", train.name, "used"),
        (train.name, "preds:v0", "produced"),
        ("preds:v0", evaluate.name, "used"),
    }
    assert dv.lineage(train) == graph  # the same connected graph from any node
    run_node = next(n for n in graph["nodes"] if n.get("run_id") == train.id)
    assert run_node["label"] == train.name
    assert run_node["project"] == "cars" and run_node["state"] == "finished"


def test_module_functions_start_a_run_on_demand(store_dir: Path) -> None:
    assert dv.run is None
    logged = dv.log_artifact(art("auto", 1))
    run = dv.run
    assert run is not None and logged.version == "v0"
    dv.finish()
    assert dv.run is None
    graph = dv.lineage(logged)
    assert [n["kind"] for n in graph["nodes"]] == ["artifact", "run"]


def test_a_failing_block_marks_the_run_failed(store_dir: Path) -> None:
    with pytest.raises(RuntimeError), dv.init(job_type="x") as run:
        raise RuntimeError("boom")
    assert run.store.catalog.run(run.id)["state"] == "failed"


def test_bad_arguments(store_dir: Path) -> None:
    with pytest.raises(dv.ValidationError, match=r"log_artifact takes a dv\.Artifact"):
        dv.log_artifact("raw")  # type: ignore[arg-type]
    with pytest.raises(dv.ValidationError, match="not logged yet"):
        dv.use_artifact(dv.Artifact("nope", type="t"))
    with pytest.raises(dv.NotFoundError, match="no run with id"):
        dv.lineage("zzz")
