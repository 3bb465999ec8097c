"""Re-running the cell that made a widget gives back the old widget's views (its sorted
order file) in a real JupyterLab kernel: the cell id travels with the execute request."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import SETUP, first_values, wait_status

pytestmark = pytest.mark.browser

N = 300_000
MAKE = (
    "t = _synth.big_table({n})\nsrc = Source.from_arrow(t)\n"
    "w = show(src, read_blob=lambda d: b'', sort={sort})\nw"
)
# The order file the widget's sorted view writes in the background (after its first page).
ORDER = """
import os
from dsviz_widget.engine import Query, shared_engine
view = shared_engine().view(src, Query(sort={sort}), w._model.holder)
job = view._job
print("order written:", job is not None and job.wait(120) and os.path.exists(job.path))
"""


def rerun_first_widget_cell(session: Session, code: str) -> None:
    """Edit the widget's cell (the second) and run it again, as a person would."""
    session.page.evaluate(
        """async (code) => {
      const app = window.jupyterapp;
      const notebook = app.shell.currentWidget.content;
      notebook.activeCellIndex = 1;
      notebook.activeCell.model.sharedModel.setSource(code);
      await app.commands.execute('notebook:run-cell');
    }""",
        code,
    )


def test_a_widget_cell_run_again_frees_the_old_widgets_order_file(
    lab: Lab, session: Session
) -> None:
    import sys

    sys.path.insert(0, str(lab.root))
    import _synth

    t = _synth.big_table(N)
    root = run_notebook(lab, session, "rerun.ipynb", [SETUP, MAKE.format(n=N, sort=["-score"])])
    wait_status(root, rf"{N:,} of {N:,} rows")
    root.locator(".dv-hcell[data-col='score'][aria-sort='descending']").wait_for()
    out = run_cell(session, ORDER.format(sort=["-score"]) + "old_job, old_w, old_src = job, w, src")
    assert "order written: True" in out, out

    # The same cell again, sorted by x now: a new widget replaces the old one on the page.
    rerun_first_widget_cell(session, MAKE.format(n=N, sort=["x", "id"]))
    root = session.page.locator(".dv-root").last
    root.locator(".dv-hcell[data-col='x'][aria-sort='ascending']").wait_for(timeout=60_000)
    wait_status(root, rf"{N:,} of {N:,} rows")
    want = sorted(zip(t.column("x").to_pylist(), range(N), strict=True))[:3]
    assert [int(v.replace(",", "")) for v in first_values(root, "x")] == [x for x, _ in want]
    assert [int(v.replace(",", "")) for v in first_values(root, "id")] == [i for _, i in want]
    assert session.page.locator(".dv-root").count() == 1  # the old widget is off the page
    session.shot("cell-rerun-new-widget")

    out = run_cell(
        session,
        "print('old order gone:', old_job.cancelled and not os.path.exists(old_job.path))\n"
        "print('old widget open:', old_w.comm is not None)\n"
        "print('views of the old table:', shared_engine().cached_views(old_src))",
    )
    assert "old order gone: True" in out, out
    assert "old widget open: True" in out, out  # released, not closed: it may be shown elsewhere
    assert "views of the old table: 0" in out, out
