"""View state set from Python in a later cell updates the widget already on the page."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import SETUP, first_values, wait_status

pytestmark = pytest.mark.browser

SPY = """
limits = []
_real = w._handler.handle
def _spy(msg, buffers=None):
    if isinstance(msg, dict) and msg.get("kind") == "page":
        limits.append(msg["limit"])
    return _real(msg, buffers)
w._handler.handle = _spy
"""


def test_state_set_from_python_updates_the_view(lab: Lab, session: Session) -> None:
    import sys

    sys.path.insert(0, str(lab.root))
    import _synth

    t = _synth.big_table(100_000)
    labels = t.column("label").to_pylist()
    cats = labels.count("cat")
    root = run_notebook(
        lab,
        session,
        "live.ipynb",
        [
            SETUP,
            "t = _synth.big_table(100_000)\nw = show(Source.from_arrow(t), read_blob=lambda d: b'')\nw",
            SPY,
        ],
    )
    wait_status(root, r"100,000 of 100,000 rows")

    run_cell(session, "w.filter = \"label == 'cat'\"")
    wait_status(root, rf"{cats:,} of 100,000 rows")
    assert root.locator(".dv-filter-input").input_value() == "label == 'cat'"
    assert set(first_values(root, "label")) == {"cat"}
    session.shot("live-filter")

    run_cell(session, 'w.sort = ["-x", "id"]')
    root.locator(".dv-hcell[data-col='x'][aria-sort='descending']").wait_for()
    xs = sorted(
        (x, -i)
        for x, i, lab_ in zip(t.column("x").to_pylist(), range(len(labels)), labels, strict=True)
        if lab_ == "cat"
    )[::-1]
    session.page.wait_for_timeout(200)
    assert [int(v.replace(",", "")) for v in first_values(root, "x")] == [x for x, _ in xs[:3]]

    run_cell(session, 'w.columns = ["id", "label"]')
    root.locator(".dv-hcell[data-col='score']").wait_for(state="detached")
    heads = root.locator(".dv-hcell[data-col]")
    assert [heads.nth(i).get_attribute("data-col") for i in range(heads.count())] == ["id", "label"]

    # Selection from Python: the row whose _row is the first shown row gets highlighted.
    first_id = int(first_values(root, "id", 1)[0].replace(",", ""))
    run_cell(session, f"w.selection = [{first_id}]")
    root.locator(".dv-row.dv-selected[aria-rowindex='1']").wait_for()
    assert root.locator(".dv-row.dv-selected").count() == 1
    out = run_cell(session, "print(w.selected['id'].tolist())")
    assert out.strip() == f"[{first_id}]"
    session.shot("live-sorted-selected")

    run_cell(session, 'w.group_by = ["label"]\nw.sort = []')
    wait_status(root, r"1 groups")  # the filter still holds: only cats
    run_cell(session, 'w.filter = ""')
    wait_status(root, r"4 groups")
    session.shot("live-grouped")

    # page_size takes effect after render: the next page request asks for 20-row blocks.
    run_cell(session, "w.group_by = []\nw.columns = []")
    wait_status(root, r"100,000 of 100,000 rows")
    before = run_cell(session, "print(limits[-1])").strip()
    assert before == "100"
    run_cell(session, "w.page_size = 20")
    session.page.wait_for_timeout(500)
    root.locator(".dv-row[data-loaded='1']").first.wait_for()
    after = int(run_cell(session, "print(limits[-1])").strip())
    assert after % 20 == 0 and after < 100
    # Scrolling down loads more 20-row blocks.
    root.locator(".dv-scroller").evaluate("el => { el.scrollTop = 30 * 200; }")
    root.locator(".dv-row[aria-rowindex='201'][data-loaded='1']").wait_for()
    limits = run_cell(session, "print(limits[-3:])")
    assert all(int(x) % 20 == 0 for x in re.findall(r"\d+", limits))
    assert not session.console_errors, session.console_errors
