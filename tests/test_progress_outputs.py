"""A progress bar leaves nothing in a notebook's outputs once its work is done.

tqdm's notebook bar with ``leave=False`` only hid its widget: nbclient-run and saved notebooks
kept a ``writing 't':   0%|`` display output (a dead widget when reopened) for every table logged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

CELL = """\
import dsviz_widget as dv
from dsviz_widget import _progress
print("bar:", _progress._bar_class().__name__)
with dv.init(project="p", job_type="log") as run:
    t = dv.Table(columns=["x", "y"], data=[[i, str(i)] for i in range(3000)])
    art = dv.Artifact("numbers", type="dataset")
    art.add(t, "t")
    run.log_artifact(art)
print("logged", len(t))
"""


@pytest.mark.slow
def test_logging_a_table_in_a_notebook_leaves_no_progress_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    monkeypatch.setenv("DSVIZ_DIR", str(tmp_path / "store"))
    # The kernel imports this checkout, from its own working directory.
    root = str(Path(__file__).resolve().parents[1])
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    # Shown at once: quick work must still display the bars, or the test proves nothing.
    monkeypatch.setenv("DSVIZ_PROGRESS_DELAY", "0")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nbclient.NotebookClient(
        nb, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
    assert "bar: NotebookBar" in text and "logged 3000" in text, outputs
    shown = [o for o in outputs if o["output_type"] == "display_data"]
    # The bars were displayed (under a display id) and their outputs emptied when done.
    assert shown, "no progress bar was displayed: the test would prove nothing"
    for o in shown:
        assert o.get("data") == {}, json.dumps(o)[:300]
    # What the saved notebook shows (nbclient also keeps every widget's last state in the
    # notebook's metadata; no output refers to the bars' any more, so none is drawn).
    saved = json.dumps(nbformat.from_dict(nb).cells)
    assert WIDGET_VIEW not in saved and "row/s" not in saved and "%|" not in saved
