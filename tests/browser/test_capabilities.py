"""The grid offers what the engine can do, from the kernel's capability table, not by kind:
a list column groups and sorts; an array column (a struct of bytes) does neither."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import first_values, wait_status

pytestmark = pytest.mark.browser

CELL = """
import numpy as np
import dsviz_widget as dv
from dsviz_widget.widget import show
t = dv.Table(columns=["id", "tags", "emb", "meta"])
for i in range(6):
    t.add_data(i, ["b", "a"][: 1 + i % 2], np.full(3, float(i)), {"split": "train" if i % 3 else "test"})
w = show(t)
w
"""


def test_group_and_sort_offer_only_what_the_engine_can_do(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "capabilities.ipynb", [CELL])
    wait_status(root, r"6 of 6 rows")
    select = root.locator("select[aria-label='group by']")
    options = select.locator("option").all_inner_texts()
    assert "tags" in options and "meta" in options and "id" in options, options
    assert "emb" not in options, options
    # Headers summarise what the engine can: top values of the dict column with each value's
    # share of all six rows (4 train, 2 test), nothing for the array column.
    tops = root.locator(".dv-hcell[data-col='meta'] .dv-top-text")
    tops.nth(1).wait_for()
    assert tops.all_text_contents() == ['{"split":"train"} 67%', '{"split":"test"} 33%']
    root.locator(".dv-hcell[data-col='tags'] svg.dv-summary").wait_for()
    assert root.locator(".dv-hcell[data-col='emb'] svg.dv-summary").count() == 0
    # An array column's header says it cannot be sorted, and a click leaves the order alone.
    emb = root.locator(".dv-hcell[data-col='emb']")
    assert "cannot be sorted" in (emb.get_attribute("title") or "")
    emb.click()
    session.page.wait_for_timeout(300)
    assert emb.get_attribute("aria-sort") == "none"
    assert root.locator(".dv-status-error").count() == 0
    # Grouping by the list column works: its two distinct values are two groups.
    select.select_option("tags")
    wait_status(root, r"2 groups · 6 rows")
    assert sorted(first_values(root, "tags", 2)) == ['["b", "a"]', '["b"]']
    assert not session.console_errors, session.console_errors
