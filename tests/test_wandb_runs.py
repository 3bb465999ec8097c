"""W&B's run API, one behaviour per test, as W&B documents it (docs/wandb-compat.md, Runs).

Values are read back the way a user would: in a new process, after re-opening the store,
or as the history DataFrame compared with pandas.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dsviz_widget as wandb
from dsviz_widget._run_init import default_name
from dsviz_widget._runs import read_history
from dsviz_widget.artifacts import open_store

ROOT = Path(__file__).resolve().parents[1]


def in_new_process(store: Path, code: str) -> object:
    """Run ``code`` (which sets ``out``) in a fresh interpreter; return ``out`` from JSON."""
    script = f"import json, dsviz_widget as wandb\n{textwrap.dedent(code)}\nprint(json.dumps(out))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=store.parent,
        env={"PYTHONPATH": str(ROOT), "DSVIZ_DIR": str(store), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def history(run_id: str, store: Path) -> pd.DataFrame:
    return read_history(open_store(store), run_id, pandas=True)


# -- wandb.run / init -----------------------------------------------------------------------
def test_run_is_none_before_init_and_after_finish(store_dir: Path) -> None:
    assert wandb.run is None
    run = wandb.init()
    assert wandb.run is run
    from dsviz_widget import run as imported  # `from wandb import run` after init

    assert imported is run
    wandb.finish()
    assert wandb.run is None


def test_init_labels_are_stored_with_the_run(store_dir: Path) -> None:
    run = wandb.init(
        project="cars", entity="me", job_type="train", name="first", notes="try lr",
        tags=["baseline", "v1"], group="cv",
    )  # fmt: skip
    assert (run.project, run.entity, run.job_type, run.name) == ("cars", "me", "train", "first")
    assert (run.notes, run.tags, run.group, run.path) == (
        "try lr",
        ("baseline", "v1"),
        "cv",
        f"me/cars/{run.id}",
    )
    run.finish()
    out = in_new_process(store_dir, f"""
        r = wandb.lineage({run.id!r})["nodes"][0]
        rec = wandb.artifacts.open_store(None).catalog.run({run.id!r})
        out = [rec[k] for k in ("project", "entity", "job_type", "name", "notes", "group", "state")] + [list(rec["tags"])]
    """)  # fmt: skip
    assert out == ["cars", "me", "train", "first", "try lr", "cv", "finished", ["baseline", "v1"]]


def test_an_unnamed_run_is_called_by_its_job_type_and_start_time(store_dir: Path) -> None:
    with wandb.init(project="cars", job_type="train") as run:
        pass
    started = datetime.fromtimestamp(run.start_time)
    assert run.name == f"train · {started:%Y-%m-%d %H:%M}"
    assert re.fullmatch(r"[0-9a-f]{16}", run.id) and run.id not in run.name
    # The made-up name is not stored: the catalog keeps what the user gave.
    assert open_store(store_dir).catalog.run(run.id)["name"] is None
    # The lineage graph calls the run what run.name does, and keeps its id apart.
    node = wandb.lineage(run.id)["nodes"][0]
    assert (node["label"], node["name"], node["run_id"]) == (run.name, None, run.id)
    # Without a job type it is a "run"; a resumed run keeps its name (its start time).
    with wandb.init() as other:
        assert other.name.startswith("run · ")
    resumed = wandb.init(id=run.id, resume="must")
    assert resumed.name == run.name
    # A name given later replaces it, in run.name and the graph.
    resumed.name = "baseline"
    resumed.finish()
    assert wandb.lineage(run.id)["nodes"][0]["label"] == "baseline"


def test_the_made_up_name_is_in_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2026-11-30 14:02 UTC is 19:32 in Kolkata (UTC+5:30, no daylight saving).
    at = datetime(2026, 11, 30, 14, 2, 30, tzinfo=timezone.utc).timestamp()
    for tz, shown in (("UTC", "14:02"), ("Asia/Kolkata", "19:32")):
        monkeypatch.setenv("TZ", tz)
        time.tzset()
        assert default_name("eval", at) == f"eval · 2026-11-30 {shown}"
    monkeypatch.undo()
    time.tzset()


def test_a_single_tag_string_is_one_tag_and_tags_can_change(store_dir: Path) -> None:
    run = wandb.init(tags="baseline")
    assert run.tags == ("baseline",)
    run.tags += ("new",)  # W&B's documented way to add tags
    run.name = "renamed"
    assert open_store(store_dir).catalog.run(run.id)["tags"] == ("baseline", "new")
    assert open_store(store_dir).catalog.run(run.id)["name"] == "renamed"


def test_context_manager_finishes_and_marks_failures(store_dir: Path) -> None:
    with wandb.init() as run:
        assert wandb.run is run
    assert wandb.run is None and run.store.catalog.run(run.id)["state"] == "finished"
    with pytest.raises(RuntimeError), wandb.init() as failing:
        raise RuntimeError("boom")
    record = failing.store.catalog.run(failing.id)
    assert (record["state"], record["exit_code"]) == ("failed", 1)


def test_finish_with_exit_code(store_dir: Path) -> None:
    run = wandb.init()
    run.finish(exit_code=2)
    record = run.store.catalog.run(run.id)
    assert (record["state"], record["exit_code"]) == ("failed", 2)
    run.finish()  # a second finish does nothing
    assert run.store.catalog.run(run.id)["state"] == "failed"


def test_a_finished_run_refuses_log(store_dir: Path) -> None:
    run = wandb.init()
    run.finish()
    with pytest.raises(wandb.DsvizError, match="is finished: cannot log"):
        run.log({"x": 1})


def test_reinit_finishes_the_previous_run_by_default(store_dir: Path) -> None:
    first = wandb.init(job_type="a")
    second = wandb.init(job_type="b")
    assert first.finished and wandb.run is second
    assert first.store.catalog.run(first.id)["state"] == "finished"


def test_reinit_return_previous_and_create_new(store_dir: Path) -> None:
    first = wandb.init()
    assert wandb.init(reinit="return_previous") is first
    assert wandb.init(reinit=False) is first
    other = wandb.init(reinit="create_new")
    assert other is not first and wandb.run is first and not first.finished
    other.log({"x": 1})
    other.finish()
    assert wandb.run is first


def test_mode_values(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert wandb.init(mode="offline").offline
    assert wandb.init(mode="online").mode == "online"
    with pytest.raises(wandb.ValidationError, match="mode must be one of"):
        wandb.init(mode="cloud")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb.init().disabled


def test_disabled_mode_stores_nothing_in_the_store(store_dir: Path) -> None:
    with wandb.init(mode="disabled", config={"a": 1}) as run:
        run.log({"loss": 1.0})
        assert run.summary["loss"] == 1.0 and wandb.config.a == 1
    assert not (store_dir / "catalog.sqlite").exists()


def test_unsupported_init_arguments(store_dir: Path) -> None:
    with pytest.raises(wandb.ValidationError, match="fork_from"):
        wandb.init(fork_from="abc?_step=3")
    with pytest.warns(UserWarning, match="sync_tensorboard"):
        wandb.init(sync_tensorboard=True, save_code=True, settings={})
    with pytest.raises(TypeError, match="unexpected keyword"):
        wandb.init(projct="typo")


def test_run_id_rules(store_dir: Path) -> None:
    assert wandb.init(id="my-run_1").id == "my-run_1"
    for bad in ("", " x", "a/b", "a:b", "a?b"):
        with pytest.raises(wandb.ValidationError, match="run id"):
            wandb.init(id=bad)


# -- resume ---------------------------------------------------------------------------------
def test_resume_must_continues_history_config_and_summary_in_a_new_process(store_dir: Path) -> None:
    with wandb.init(id="r1", config={"lr": 0.1}) as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5})
        run.summary["best"] = 0.5
    out = in_new_process(store_dir, """
        run = wandb.init(id="r1", resume="must")
        out = [run.resumed, run.step, run.config.lr, run.summary["best"]]
        run.log({"loss": 0.25})
        run.finish()
    """)  # fmt: skip
    assert out == [True, 2, 0.1, 0.5]
    frame = history("r1", store_dir)
    pd.testing.assert_frame_equal(
        frame[["_step", "loss"]], pd.DataFrame({"_step": [0, 1, 2], "loss": [1.0, 0.5, 0.25]})
    )


def test_resume_must_without_the_run_is_an_error(store_dir: Path) -> None:
    with pytest.raises(wandb.NotFoundError, match="resume='must' but run 'nope' does not exist"):
        wandb.init(id="nope", resume="must")


def test_resume_never_with_an_existing_run_is_an_error(store_dir: Path) -> None:
    wandb.init(id="taken").finish()
    with pytest.raises(wandb.ValidationError, match="resume='never' but run 'taken' exists"):
        wandb.init(id="taken", resume="never")
    assert not wandb.init(id="fresh", resume="never").resumed


def test_resume_allow_starts_or_continues(store_dir: Path) -> None:
    assert not wandb.init(id="a1", resume="allow").resumed
    wandb.finish()
    assert wandb.init(id="a1", resume="allow").resumed


def test_resume_auto_picks_up_a_crashed_run(store_dir: Path) -> None:
    script = textwrap.dedent("""
        import os, dsviz_widget as wandb
        run = wandb.init(project="p")
        run.log({"loss": 1.0})
        run.history()  # written
        print(run.id, flush=True)
        os._exit(9)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(ROOT), "DSVIZ_DIR": str(store_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    run_id = done.stdout.strip()
    assert open_store(store_dir).catalog.run(run_id)["state"] == "running"
    run = wandb.init(project="p", resume="auto")
    assert (run.id, run.resumed, run.step) == (run_id, True, 1)


def test_resume_in_another_project_is_refused(store_dir: Path) -> None:
    wandb.init(id="p1", project="a").finish()
    with pytest.raises(wandb.ValidationError, match="belongs to project 'a'"):
        wandb.init(id="p1", project="b", resume="allow")


# -- config ---------------------------------------------------------------------------------
def test_config_attribute_and_item_access(store_dir: Path) -> None:
    wandb.init(config={"lr": 0.1})
    wandb.config.epochs = 3
    wandb.config["batch_size"] = 8
    assert (wandb.config.lr, wandb.config["epochs"], wandb.config.get("missing", 7)) == (0.1, 3, 7)
    assert dict(wandb.config) == {"lr": 0.1, "epochs": 3, "batch_size": 8}
    with pytest.raises(AttributeError, match="no key 'nope'"):
        _ = wandb.config.nope


def test_config_from_argparse_and_update_persist(store_dir: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    run = wandb.init(config=parser.parse_args([]))
    run.config.update({"--dropout": np.float64(0.5), "layers": (64, 32)})  # dashes stripped
    run.finish()
    out = in_new_process(store_dir, f"""
        out = wandb.artifacts.open_store(None).catalog.run({run.id!r})["config"]
    """)  # fmt: skip
    assert out == {"batch_size": 8, "lr": 0.01, "dropout": 0.5, "layers": [64, 32]}


def test_config_refuses_a_changed_value_without_allow_val_change(store_dir: Path) -> None:
    wandb.init(config={"lr": 0.1})
    wandb.config.lr = 0.1  # the same value is fine
    with pytest.raises(wandb.ConfigError, match="allow_val_change=True"):
        wandb.config.lr = 0.2
    wandb.config.update({"lr": 0.2}, allow_val_change=True)
    assert wandb.config.lr == 0.2
    assert wandb.init(config={"lr": 1}, allow_val_change=True).config.update({"lr": 2}) is None


def test_config_from_a_yaml_file_and_defaults_file(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("yaml")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config-defaults.yaml").write_text("epochs:\n  value: 4\nlr:\n  value: 0.1\n")
    (tmp_path / "exp.yaml").write_text("wandb_version: 1\nlr: 0.3\n")
    assert dict(wandb.init().config) == {"epochs": 4, "lr": 0.1}
    assert dict(wandb.init(config="exp.yaml").config) == {"epochs": 4, "lr": 0.3}
    assert dict(
        wandb.init(config={"a": 1, "b": 2}, config_exclude_keys=["epochs", "lr", "b"]).config
    ) == {"a": 1}


def test_config_before_init_says_to_call_init(store_dir: Path) -> None:
    with pytest.raises(wandb.DsvizError, match=r"call dv.init\(\) before dv.config.lr"):
        _ = wandb.config.lr
    with pytest.raises(wandb.DsvizError, match=r"before dv.summary\['acc'\]"):
        wandb.summary["acc"] = 1


def test_config_refuses_media(store_dir: Path) -> None:
    wandb.init()
    with pytest.raises(wandb.ValidationError, match="cannot be stored here"):
        wandb.config.table = wandb.Table(columns=["a"], data=[[1]])


# -- log and history ------------------------------------------------------------------------
def test_log_auto_increments_the_step(store_dir: Path) -> None:
    with wandb.init() as run:
        for i in range(3):
            wandb.log({"loss": 1.0 / (i + 1), "epoch": i})
        assert run.step == 3
    frame = history(run.id, store_dir)
    expected = pd.DataFrame({"_step": [0, 1, 2], "loss": [1.0, 0.5, 1 / 3], "epoch": [0, 1, 2]})
    pd.testing.assert_frame_equal(frame[["_step", "loss", "epoch"]], expected)
    assert list(frame.columns) == ["_step", "loss", "epoch", "_runtime", "_timestamp"]
    assert frame["_runtime"].is_monotonic_increasing and (frame["_timestamp"] > 1.6e9).all()


def test_commit_false_accumulates_into_one_step(store_dir: Path) -> None:
    with wandb.init() as run:
        run.log({"train-loss": 0.5}, commit=False)
        run.log({"accuracy": 0.8})
        run.log({"train-loss": 0.4}, commit=False)
        run.log({"accuracy": 0.9})
    frame = history(run.id, store_dir)[["_step", "train-loss", "accuracy"]]
    expected = pd.DataFrame({"_step": [0, 1], "train-loss": [0.5, 0.4], "accuracy": [0.8, 0.9]})
    pd.testing.assert_frame_equal(frame, expected)


def test_explicit_step_accumulates_until_a_later_step(store_dir: Path) -> None:
    with wandb.init() as run:
        run.log({"train-loss": 0.5}, step=0)
        run.log({"accuracy": 0.8}, step=0)
        run.log({"train-loss": 0.4}, step=5)
        run.log({"accuracy": 0.9}, step=5, commit=True)
        run.log({"after": 1})  # the step after the committed one
    frame = history(run.id, store_dir)[["_step", "train-loss", "accuracy", "after"]]
    expected = pd.DataFrame(
        {"_step": [0, 5, 6], "train-loss": [0.5, 0.4, None], "accuracy": [0.8, 0.9, None],
         "after": [None, None, 1.0]}
    )  # fmt: skip
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_a_step_going_backwards_is_dropped_with_a_warning(store_dir: Path) -> None:
    with wandb.init() as run:
        run.log({"x": 1}, step=10)
        with pytest.warns(UserWarning, match="step 3, which is less than the current step 10"):
            run.log({"x": 2, "table": wandb.Table(columns=["a"], data=[[1]])}, step=3)
    assert history(run.id, store_dir)[["_step", "x"]].to_dict("list") == {"_step": [10], "x": [1]}
    assert wandb.lineage(run)["nodes"] == [wandb.lineage(run)["nodes"][0]]  # no table logged


def test_the_last_open_step_is_written_at_finish(store_dir: Path) -> None:
    run = wandb.init()
    run.log({"x": 1}, commit=False)
    run.finish()
    assert history(run.id, store_dir)["x"].tolist() == [1]


def test_log_value_types(store_dir: Path) -> None:
    with wandb.init() as run:
        run.log({"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "s": "text",
                 "nested": {"a": 1, "b": {"c": 2}}, "zero_d": np.array(2.5)})  # fmt: skip
    row = history(run.id, store_dir).iloc[0]
    assert (row["i"], row["f"], row["b"], row["s"], row["nested.a"], row["nested.b.c"], row["zero_d"]) == (
        3, 0.5, True, "text", 1, 2, 2.5,
    )  # fmt: skip


def test_log_refuses_what_it_cannot_store(store_dir: Path) -> None:
    run = wandb.init()
    with pytest.raises(TypeError, match="log takes a dict"):
        run.log([1, 2])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keys must be strings"):
        run.log({1: 2})  # type: ignore[dict-item]
    with pytest.raises(wandb.ValidationError, match="cannot store 'obj'"):
        run.log({"obj": object()})


def test_history_is_a_table_shown_by_dv_show(store_dir: Path) -> None:
    with wandb.init() as run:
        run.log({"loss": 0.5})
    table = run.history()
    assert isinstance(table, wandb.Table) and table.get_column("loss") == [0.5]
    assert run.history(keys=["loss"], pandas=True).columns.tolist() == ["_step", "loss"]


def test_a_key_with_mixed_types_is_text(store_dir: Path) -> None:
    with wandb.init() as run:
        run.log({"v": 1})
        run.log({"v": "high"})
    assert run.history().get_column("v") == ["1", "high"]


def test_history_written_in_batches_is_complete_in_a_new_process(store_dir: Path) -> None:
    with wandb.init() as run:
        for i in range(200):
            run.log({"i": i})
    out = in_new_process(store_dir, f"""
        from dsviz_widget._runs import read_history
        frame = read_history(wandb.artifacts.open_store(None), {run.id!r}, pandas=True)
        out = [len(frame), int(frame["i"].sum())]
    """)  # fmt: skip
    assert out == [200, sum(range(200))]


# -- tables and media in log ----------------------------------------------------------------
def test_a_logged_table_is_a_run_table_artifact_in_lineage(store_dir: Path) -> None:
    with wandb.init(job_type="eval") as run:
        preds = wandb.Table(columns=["id", "pred"], data=[[1, "cat"], [2, "dog"]])
        wandb.log({"preds": preds})
        wandb.log({"preds": wandb.Table(columns=["id", "pred"], data=[[1, "dog"]])})
    name = f"run-{run.id}-preds"
    graph = wandb.lineage(f"{name}:v0")
    assert run.name.startswith("eval · ")
    assert sorted(n["label"] for n in graph["nodes"]) == sorted(
        [run.name, f"{name}:v0", f"{name}:v1"]
    )
    kinds = {n["label"]: n.get("type") for n in graph["nodes"]}
    assert kinds[f"{name}:v0"] == "run_table"
    stored = wandb.init().use_artifact(f"{name}:v0").get("preds")
    assert stored.get_column("pred") == ["cat", "dog"]
    assert run.history().to_pandas()["preds"][1]["artifact"] == f"{name}:v1"


def test_logged_images_are_a_run_media_artifact(store_dir: Path) -> None:
    pixels = np.zeros((4, 4, 3), dtype=np.uint8)
    with wandb.init() as run:
        run.log({"examples": [wandb.Image(pixels, caption=f"{i}") for i in range(3)],
                 "val/one": wandb.Image(pixels)})  # fmt: skip
    reference = run.summary["examples"]
    assert reference["_type"] == "images" and reference["count"] == 3
    table = wandb.init().use_artifact(reference["artifact"]).get("examples")
    assert [img.caption for img in table.get_column("examples")] == ["0", "1", "2"]
    one = run.summary["val/one"]
    assert one["artifact"].startswith(f"run-{run.id}-valone-") and one["entry"] == "val/one"


# -- summary --------------------------------------------------------------------------------
def test_summary_is_the_last_logged_value_and_settable(store_dir: Path) -> None:
    with wandb.init() as run:
        run.log({"acc": 0.5})
        run.log({"acc": 0.7})
        assert run.summary["acc"] == 0.7 and wandb.summary.acc == 0.7
        wandb.summary["best_acc"] = 0.9
        run.summary.update({"note": "ok"})
        del run.summary["note"]
        run.summary["val"] = {"acc": 1}
        run.summary["val"]["loss"] = 2  # nested changes are saved too
    out = in_new_process(store_dir, f"""
        out = wandb.artifacts.open_store(None).catalog.run({run.id!r})["summary"]
    """)  # fmt: skip
    assert out["acc"] == 0.7 and out["best_acc"] == 0.9 and "note" not in out
    assert out["val"] == {"acc": 1, "loss": 2} and out["_step"] == 1 and out["_runtime"] > 0


def test_a_later_log_overwrites_a_set_summary_value(store_dir: Path) -> None:
    with wandb.init() as run:
        run.summary["acc"] = 1.0
        run.log({"acc": 0.3})
    assert open_store(store_dir).catalog.run(run.id)["summary"]["acc"] == 0.3


# -- the catalog's schema -------------------------------------------------------------------
_SCHEMA_0 = """
CREATE TABLE artifacts (name TEXT PRIMARY KEY, type TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE versions (artifact TEXT NOT NULL, version INTEGER NOT NULL, manifest TEXT NOT NULL,
    content TEXT NOT NULL, description TEXT, metadata TEXT NOT NULL, size INTEGER NOT NULL,
    run_id TEXT, created_at REAL NOT NULL, PRIMARY KEY (artifact, version));
CREATE TABLE aliases (artifact TEXT NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (artifact, alias));
CREATE TABLE runs (id TEXT PRIMARY KEY, project TEXT, job_type TEXT, name TEXT,
    config TEXT NOT NULL, started_at REAL NOT NULL, finished_at REAL, state TEXT NOT NULL);
CREATE TABLE lineage (run_id TEXT NOT NULL, artifact TEXT NOT NULL, version INTEGER NOT NULL,
    direction TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (run_id, artifact, version, direction));
INSERT INTO runs VALUES ('old1', 'cars', 'train', 'first', '{"lr": 0.1}', 1.0, 2.0, 'finished');
INSERT INTO lineage VALUES ('old1', 'raw', 0, 'used', 1.5);
"""


def test_a_store_from_before_history_is_migrated_without_loss(tmp_path: Path) -> None:
    root = tmp_path / "old"
    root.mkdir()
    db = sqlite3.connect(root / "catalog.sqlite")
    db.executescript(_SCHEMA_0)
    db.close()
    out = in_new_process(root, f"""
        run = wandb.init(dir={str(root)!r}, id="old1", resume="must")
        out = [run.name, run.job_type, dict(run.config), run.step]
        run.log({{"loss": 1.0}})
        run.finish()
    """)  # fmt: skip
    assert out == ["first", "train", {"lr": 0.1}, 0]
    db = sqlite3.connect(root / "catalog.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("SELECT run_id, artifact FROM lineage").fetchall() == [("old1", "raw")]
    assert db.execute("SELECT started_at FROM runs").fetchall() == [(1.0,)]
    db.close()
    assert history("old1", root)["loss"].tolist() == [1.0]


def test_a_catalog_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    db = sqlite3.connect(root / "catalog.sqlite")
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(wandb.StoreError, match="newer dsviz_widget"):
        wandb.init(dir=root)
