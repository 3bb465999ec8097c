"""Every demo notebook runs top to bottom on data the packages ship, and shows what it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def run_notebook(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> list[dict]:
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("DSVIZ_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("DSVIZ_PROGRESS", "0")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{name} is saved with outputs"
    nbclient.NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(tmp_path)}}).execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def text_of(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif "text/plain" in o.get("data", {}):
            parts.append(o["data"]["text/plain"])
    return "\n".join(parts)


def widgets_in(outputs: list[dict]) -> int:
    return sum(1 for o in outputs if WIDGET_VIEW in o.get("data", {}))


@pytest.mark.slow
def test_quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = run_notebook("01_quickstart.ipynb", tmp_path, monkeypatch)
    text = text_of(outputs)
    assert "digits:v0 1797 rows" in text
    assert "epoch 5:" in text and "digits-predictions:v5" in text
    assert widgets_in(outputs) == 5  # dataset, grouped, mistakes, comparison, lineage graph


@pytest.mark.slow
def test_detection_segmentation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = run_notebook("02_detection_segmentation.ipynb", tmp_path, monkeypatch)
    text = text_of(outputs)
    assert "%_warm" in text and "chelsea" in text  # the %_warm > 0.5 filter finds the cat
    assert "strict -> faces:v0" in text and "loose -> faces:v1" in text
    assert "n_boxes@strict" in text
    assert widgets_in(outputs) >= 3


@pytest.mark.slow
def test_scale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = run_notebook("03_scale.ipynb", tmp_path, monkeypatch)
    text = text_of(outputs)
    assert "Table(10,000,000 rows" in text
    assert "mistakes, most confident first" in text and "(50 rows back)" in text
    assert widgets_in(outputs) >= 1
