"""A group view shows the means of the visible columns only: hidden columns are not
aggregated (the kernel computes what the grid shows), and showing them again brings their
means back, with values equal to pandas'."""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser

DATA = {
    "label": ["cat", "dog", "cat", "bird", "dog", "bird", "cat"],
    "confidence": [0.9, 0.2, 0.5, 0.7, 0.4, 0.8, 0.1],
    "area": [10, 20, 30, 40, 50, 60, 70],
}
TABLE = f"""
import pyarrow as pa
t = pa.table({DATA!r})
w = show(Source.from_arrow(t), read_blob=lambda d: b"", group_by=["label"],
         columns=["label", "area"])
w
"""


def headers(root: Locator) -> list[str]:
    cols = root.locator(".dv-hcell[data-col]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-col'))"
    )
    return [str(c) for c in cols]


def column(root: Locator, key: str) -> list[str]:
    return list(
        root.locator(f".dv-row[data-loaded='1'] .dv-cell[data-col='{key}']").all_inner_texts()
    )


def test_hidden_columns_have_no_means_in_the_group_view(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "groupmeans.ipynb", [SETUP, TABLE])
    wait_status(root, r"3 groups · 7 rows")
    root.locator(".dv-row[data-loaded='1'] .dv-cell[data-col='mean(area)']").nth(2).wait_for()
    # Counts first: the means show "…" until the groups reply fills them in.
    root.locator(".dv-cell.dv-pending").first.wait_for(state="detached")
    assert headers(root) == ["label", "count", "mean(area)"]
    means = pd.DataFrame(DATA).groupby("label")[["area", "confidence"]].mean()
    labels = column(root, "label")
    assert labels == ["bird", "cat", "dog"]
    got = [float(v.replace(",", "")) for v in column(root, "mean(area)")]
    assert got == pytest.approx([means.loc[k, "area"] for k in labels], abs=0.01)
    session.shot("group-means-visible-only")

    run_cell(session, "w.columns = []")  # every column visible again
    root.locator(".dv-hcell[data-col='mean(confidence)']").wait_for(timeout=30_000)
    root.locator(".dv-row[data-loaded='1'] .dv-cell[data-col='mean(confidence)']").nth(2).wait_for()
    root.locator(".dv-cell.dv-pending").first.wait_for(state="detached")
    assert headers(root) == ["label", "count", "mean(confidence)", "mean(area)"]
    got = [float(v) for v in column(root, "mean(confidence)")]
    assert got == pytest.approx([means.loc[k, "confidence"] for k in labels], abs=0.01)
    session.shot("group-means-all-columns")
    assert not session.console_errors, session.console_errors
