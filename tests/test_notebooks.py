"""Every demo notebook runs top to bottom on data the packages ship, and shows what it promises,
on a fresh store and again on the store its first run left (as after `dsviz demo`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import dsviz_widget as dv
from dsviz_widget._runs import read_history
from dsviz_widget.artifacts import open_store

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def run_twice(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str
) -> tuple[list[dict], list[dict]]:
    """Run the notebook twice, each time in a new kernel, on one store; return each run's outputs.

    nbclient raises on the first cell that errors, naming it.
    """
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("DSVIZ_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("DSVIZ_PROGRESS", "0")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runs = []
    for _ in range(2):
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.get("outputs") for c in code), f"{name} is saved with outputs"
        resources = {"metadata": {"path": str(tmp_path)}}
        nbclient.NotebookClient(nb, timeout=900, resources=resources).execute()
        runs.append([o for c in code for o in c.outputs])
    return runs[0], runs[1]


def text_of(outputs: list[dict]) -> str:
    """What a reader sees as text. A cell's printed text arrives in as many stream outputs as
    the kernel made flushes (timing-dependent, more under load), so consecutive ones are joined
    as one, as the page shows them."""
    parts: list[str] = []
    streaming = False
    for o in outputs:
        if o["output_type"] == "stream":
            if streaming:
                parts[-1] += o["text"]
            else:
                parts.append(o["text"])
            streaming = True
        elif "text/plain" in o.get("data", {}):
            parts.append(o["data"]["text/plain"])
            streaming = False
    return "\n".join(parts)


def widgets_in(outputs: list[dict]) -> int:
    return sum(1 for o in outputs if WIDGET_VIEW in o.get("data", {}))


def without_versions(text: str) -> str:
    """The text with version numbers and object addresses blanked: what must not change."""
    return re.sub(r"0x[0-9a-f]+", "0x…", re.sub(r":v\d+", ":v…", text))


def store_version(tmp_path: Path, spec: str) -> int:
    """The version ``spec`` (an alias, ``latest``) names in the notebooks' store now."""
    with dv.init(project="test", dir=tmp_path / "store") as run:
        version = run.use_artifact(spec).version_index
    assert version is not None
    return version


@pytest.mark.slow
def test_quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = run_twice("01_quickstart.ipynb", tmp_path, monkeypatch)
    # Training again logs new versions after the first run's (the content equals the first
    # run's v0..v5, but only the latest version's content is checked for a match).
    for outputs, logged in ((first, range(6)), (second, range(6, 12))):
        text = text_of(outputs)
        # Identical content is not logged twice: the second run's dataset is the first's v0.
        assert "digits:v0 1797 rows" in text
        found = re.findall(r"epoch (\d): accuracy [\d.]+ -> digits-predictions:v(\d+)", text)
        assert found == [(str(e), str(v)) for e, v in enumerate(logged)], text
        # The compare cell opened the versions this run logged, by the aliases it set.
        assert (
            f"epoch-0 is digits-predictions:v{logged[0]}, epoch-5 is digits-predictions:v{logged[-1]}"
            in text
        )
        assert "pred@epoch-0" in text and "pred@epoch-5" in text and "truth@epoch-0" in text
        # The story: the fixes and breaks the transitions count are the rows whose `correct`
        # changed, and the default change definition leaves out the ever-changing confidence.
        fixed, broke = map(int, re.search(r"fixed (\d+), broke (\d+), net", text).groups())  # type: ignore[union-attr]
        counts = re.search(r"rows on which each column changed: (\{.*?\})", text)
        assert counts is not None, text
        changed = ast.literal_eval(counts.group(1))
        assert changed["correct"] == fixed + broke > 0 and changed["confidence"] == 360
        assert "'confidence'" not in text.split("by default when any of", 1)[1].split("\n", 1)[0]
        assert widgets_in(outputs) == 5  # dataset, grouped, mistakes, comparison, lineage graph
    # The aliases moved to the second run's versions.
    assert store_version(tmp_path, "digits-predictions:epoch-0") == 6
    assert store_version(tmp_path, "digits-predictions:epoch-5") == 11
    # Everything else a reader sees (accuracies, mistakes, the comparison) is the same both times.
    assert without_versions(text_of(first)) == without_versions(text_of(second))


@pytest.mark.slow
def test_detection_segmentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = run_twice("02_detection_segmentation.ipynb", tmp_path, monkeypatch)
    for outputs, (strict, loose) in ((first, (0, 1)), (second, (2, 3))):
        text = text_of(outputs)
        assert "skimage-samples:v0 [" in text  # the same images: the first run's version
        assert "%_warm" in text and "chelsea" in text  # the %_warm > 0.5 filter finds the cat
        assert f"strict -> faces:v{strict}" in text and f"loose -> faces:v{loose}" in text
        assert "n_boxes@strict" in text
        found = re.search(r"changed the boxes of (\d+) of 20 images: (.*)", text)
        assert found is not None, text
        counts = re.search(r"rows on which each column changed: (\{.*?\})", text)
        assert counts is not None
        changed = ast.literal_eval(counts.group(1))
        assert changed["image"] == int(found.group(1)) > 0 and changed["setting"] == 20
        assert len(found.group(2).split(", ")) == int(found.group(1))
        assert widgets_in(outputs) >= 3
    assert (
        store_version(tmp_path, "faces:strict") == 2 and store_version(tmp_path, "faces:loose") == 3
    )
    assert without_versions(text_of(first)) == without_versions(text_of(second))


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ten million rows, logged twice
def test_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = run_twice("03_scale.ipynb", tmp_path, monkeypatch)
    for outputs in first, second:
        text = text_of(outputs)
        assert "Table(10,000,000 rows" in text
        # The same rows again: no new version, and the widget shows the one the first run made.
        assert "logged predictions-10m:v0 in" in text
        assert "mistakes, most confident first" in text and "(50 rows back)" in text
        assert widgets_in(outputs) >= 1


def code_lines(name: str) -> list[str]:
    import nbformat

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    return [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()]


@pytest.mark.slow
def test_from_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # W&B code, unchanged but for the import: no other line names dsviz.
    lines = code_lines("04_from_wandb.ipynb")
    dsviz = [line for line in lines if re.search(r"dsviz|\bdv\b", line)]
    assert dsviz == ["import dsviz_widget as wandb"], dsviz
    assert not [line for line in lines if re.match(r"\s*(import|from) wandb\b", line)]

    first, second = run_twice("04_from_wandb.ipynb", tmp_path, monkeypatch)
    store = open_store(tmp_path / "store")
    # One training run each time, each with its own predictions artifact, val_pred_<run id>.
    runs = [
        store.catalog.run(name.removeprefix("val_pred_"))
        for name in store.catalog.artifact_names()
        if name.startswith("val_pred_")
    ]
    assert len(runs) == 2
    assert all(r["job_type"] == "train" and r["state"] == "finished" for r in runs)
    for outputs in first, second:
        # Nothing on stderr: no warning, no traceback.
        assert not [o for o in outputs if o.get("name") == "stderr"], outputs
        text = text_of(outputs)
        assert "raw_data downloaded to " + str(tmp_path / "artifacts" / "raw_data:v0") in text
        assert (tmp_path / "artifacts" / "raw_data:v0" / "raw_examples.table.parquet").is_file()
        # W&B's JSON of the table, read as W&B code reads it, images as files beside it.
        assert "20 examples; first image file found: True" in text
        assert "15 train, 5 val" in text
        printed = re.findall(r"epoch (\d): train_iou ([\d.]+), val_iou ([\d.]+)", text)
        assert [int(e) for e, _, _ in printed] == list(range(5)), text
        assert float(printed[-1][2]) > float(printed[0][2])  # the model learns
        # The notebook ends on the widget: the joined comparison of the first and last epochs.
        assert widgets_in(outputs) == 1 and WIDGET_VIEW in outputs[-1].get("data", {})
    # The history `wandb.log` wrote: one row per epoch, scalars and the predictions table.
    for r in runs:
        history = read_history(store, r["id"], pandas=True)
        assert list(history["epoch"]) == list(range(5))
        assert {"train_iou", "val_iou", "val_predictions"} <= set(history.columns)
        assert all(ref["_type"] == "table-file" for ref in history["val_predictions"])
        assert r["summary"]["best_val_iou"] == history["val_iou"].iloc[-1]
        assert len(store.catalog.versions(f"val_pred_{r['id']}")) == 5
    # The comparison was logged each time, joining the run's epoch_0 and latest predictions.
    assert [v.version for v in store.catalog.versions("epoch_comparison")] == [0, 1]
    assert store.catalog.resolve("raw_data:latest").version == 0  # the same data, not logged again
    # A rerun prints the same (streams may arrive in other chunks: compare the lines).
    seen = [without_versions(text_of(o)).split() for o in (first, second)]
    assert seen[0] == seen[1]
