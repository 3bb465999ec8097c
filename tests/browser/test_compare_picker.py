"""The version picker in real JupyterLab: a predictions table read from a logged artifact
offers its other versions; picking one turns the widget into the comparison in place, and
"back" returns to the table. Counts are checked against pandas."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import wait_status
from tests.browser.test_lineage_fit import set_theme

pytestmark = pytest.mark.browser

# Two versions of a predictions table: v1 drops ids 0..4 and adds 60..67, so the comparison
# (an outer join on the key) has rows only one version has. The store is a temp dir.
DATA = """
import numpy as np, pandas as pd
rng = np.random.default_rng(7)
NAMES = np.array(["cat", "dog", "bird", "fish"])
truth = NAMES[rng.integers(0, 4, 68)]
def frame(ids, acc):
    t = truth[ids]
    pred = np.where(rng.random(len(ids)) < acc, t, NAMES[rng.integers(0, 4, len(ids))])
    return pd.DataFrame({"id": ids, "truth": t, "pred": pred, "correct": pred == t,
                         "confidence": rng.random(len(ids))})
f0 = frame(np.arange(0, 60), 0.55)
f1 = frame(np.arange(5, 68), 0.85)
"""

LOG = """
import tempfile
import dsviz_widget as dv
root = tempfile.mkdtemp()
with dv.init(project="picker", job_type="eval", dir=root) as run:
    for f, aliases in ((f0, ["baseline"]), (f1, [])):
        t = dv.Table(dataframe=f)
        t.set_pk("id")
        art = dv.Artifact("preds", type="predictions")
        art.add(t, "predictions")
        run.log_artifact(art, aliases=aliases)
    t1 = run.use_artifact("preds:v1").get("predictions")
w = dv.show(t1)
w
"""


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    scope: dict[str, object] = {}
    exec(DATA, scope)  # the same data the notebook logs
    return scope["f0"], scope["f1"]  # type: ignore[return-value]


def header_cols(root: Locator) -> list[str]:
    return root.locator(".dv-hcell[data-col]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-col'))"
    )


def cell_text(root: Locator, index: int, col: str) -> str:
    row = root.locator(f".dv-row[aria-rowindex='{index + 1}'][data-loaded='1']")
    row.wait_for()
    return row.locator(f".dv-cell[data-col='{col}']").inner_text()


def header_left(root: Locator, col: str) -> float | None:
    """Where a header cell starts on the page, read in one step (the header is redrawn when
    its summaries arrive, so a cell found in one call may be gone in the next)."""
    left = root.evaluate(
        "(r, col) => { const c = [...r.querySelectorAll('.dv-hcell[data-col]')]"
        ".find((e) => e.dataset.col === col); return c ? c.getBoundingClientRect().left : null; }",
        col,
    )
    return None if left is None else float(left)


def settled(root: Locator) -> None:
    """Wait until the widget's DOM has been still for 300 ms (rows and header summaries
    drawn), at most 10 s."""
    root.evaluate(
        """(r) => new Promise((done) => {
          let timer = setTimeout(finish, 300);
          const o = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(finish, 300); });
          const limit = setTimeout(finish, 10000);
          function finish() { o.disconnect(); clearTimeout(limit); done(null); }
          o.observe(r, { subtree: true, childList: true });
        })"""
    )


def test_pick_a_version_compare_in_place_and_go_back(lab: Lab, session: Session) -> None:
    f0, f1 = _frames()
    joined = f0.merge(f1, on="id", how="outer", suffixes=("@v0", "@v1"), indicator=True)
    both = joined[joined["_merge"] == "both"]
    # The default change definition: every shared column but the one differing on every row
    # (confidence; a row only one version has counts as changed in every column).
    changed = len(joined) - int((both["pred@v0"] == both["pred@v1"]).sum())
    assert 0 < changed < len(joined)

    root = run_notebook(lab, session, "picker.ipynb", [DATA + LOG])
    wait_status(root, rf"\b{len(f1)} of {len(f1)} rows")
    picker = root.locator(".dv-versions-select")
    options = picker.locator("option").all_inner_texts()
    assert options == ["Compare with…", "v0 (baseline)"]
    assert root.locator(".dv-versions-back").is_hidden()
    assert root.locator(".dv-toggle", has_text="changed rows only").is_hidden()
    assert "pred" in header_cols(root)
    session.shot("picker-table")

    picker.select_option("v0")
    root.locator(".dv-hcell[data-col='pred@v1']").wait_for()
    wait_status(root, rf"\b{len(joined)} of {len(joined)} rows")
    cols = header_cols(root)
    assert {"id", "pred@v0", "pred@v1", "truth@v0", "truth@v1"} <= set(cols)
    assert "pred" not in cols and cols.index("pred@v0") < cols.index("pred@v1")
    # The key is pinned: it stays at the left edge when the grid scrolls sideways. (Measured
    # once the header summaries have arrived: each redraws the header.)
    settled(root)
    x_key, x_other = header_left(root, "id"), header_left(root, "truth@v0")
    assert x_key is not None and x_other is not None
    scroller = root.locator(".dv-scroller")
    # As far right as the columns go (the versions under one header keep the grid narrow).
    amount = scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; return el.scrollLeft; }")
    assert amount >= 100, amount
    settled(root)
    assert header_left(root, "id") == x_key
    moved = header_left(root, "truth@v0")  # None once scrolled out of the drawn columns
    assert moved is None or moved <= x_other - amount + 2, (x_other, moved, amount)
    scroller.evaluate("el => { el.scrollLeft = 0; }")
    assert root.locator(".dv-status").inner_text().startswith("preds/predictions · v0 vs v1")
    # The rows are the join's: each shown id has both versions' values as pandas has them.
    by_id = joined.set_index("id")
    checked = 0
    for i in range(8):
        row = by_id.loc[int(cell_text(root, i, "id"))]
        for label in ("v0", "v1"):
            if isinstance(row[f"pred@{label}"], str):
                assert cell_text(root, i, f"pred@{label}") == row[f"pred@{label}"]
                checked += 1
    assert checked >= 8
    back = root.locator(".dv-versions-back")
    assert back.inner_text() == "← back to v1" and back.is_visible()
    assert picker.locator("option:checked").inner_text() == "vs v0 (baseline)"
    session.page.wait_for_timeout(500)  # header summaries
    session.shot("picker-compare")

    toggle = root.locator(".dv-toggle", has_text="changed rows only")
    toggle.locator("input").check()
    wait_status(root, rf"\b{changed} of {len(joined)} rows")
    set_theme(session.page, dark=True)
    session.shot("picker-compare-changed-dark")
    set_theme(session.page, dark=False)

    back.click()
    root.locator(".dv-hcell[data-col='pred']").wait_for()
    wait_status(root, rf"\b{len(f1)} of {len(f1)} rows")
    assert "pred@v0" not in header_cols(root)
    assert cell_text(root, 0, "id") == str(f1["id"].iloc[0])
    assert cell_text(root, 0, "pred") == f1["pred"].iloc[0]
    assert toggle.is_hidden() and back.is_hidden()
    assert picker.locator("option:checked").inner_text() == "Compare with…"

    # Comparing again starts with every row: the toggle shows the kernel's reset state.
    picker.select_option("v0")
    wait_status(root, rf"\b{len(joined)} of {len(joined)} rows")
    assert not toggle.locator("input").is_checked()
    assert session.console_errors == []


def test_a_version_that_cannot_be_compared_is_a_message_and_nothing_changes(
    lab: Lab, session: Session
) -> None:
    _, f1 = _frames()
    root = run_notebook(lab, session, "picker-error.ipynb", [DATA + LOG])
    wait_status(root, rf"\b{len(f1)} of {len(f1)} rows")
    # As the browser would set it (a version logged elsewhere and gone, say): the kernel
    # keeps the table, and says which version and entry.
    out = run_cell(session, "w.compared_with = 'v9'\nprint(w.compared_with, w.source_generation)")
    assert out.strip() == "None 0"
    error = root.locator(".dv-versions-error")
    error.wait_for()
    assert re.search(
        r"cannot compare preds:v1/predictions with 'v9'.*no version v9", error.inner_text()
    )
    wait_status(root, rf"\b{len(f1)} of {len(f1)} rows")
    assert "pred" in header_cols(root)
    session.shot("picker-error")
    # A good pick clears it.
    root.locator(".dv-versions-select").select_option("v0")
    root.locator(".dv-hcell[data-col='pred@v1']").wait_for()
    assert error.is_hidden()
    assert session.console_errors == []
