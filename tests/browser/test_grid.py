"""What a person sees in the grid: counts, scrolling, sorting, filtering, grouping."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_notebook

pytestmark = pytest.mark.browser

SETUP = """
import _synth
from dsviz_widget.engine import Source
from dsviz_widget.widget import show
"""


def status(root: Locator) -> str:
    return root.locator(".dv-status").inner_text()


def wait_status(root: Locator, pattern: str) -> str:
    root.locator(".dv-status", has_text=re.compile(pattern)).wait_for(timeout=30_000)
    return status(root)


def test_million_rows_count_and_scroll_to_last_row(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "million.ipynb",
        [
            SETUP,
            "t = _synth.big_table(1_000_000)\nw = show(Source.from_arrow(t), read_blob=lambda d: b'')\nw",
        ],
    )
    text = wait_status(root, r"1,000,000 of 1,000,000 rows")
    assert "1,000,000 of 1,000,000 rows" in text
    root.locator(".dv-row[data-loaded='1']").first.wait_for()
    session.shot("grid-million-top")
    scroller = root.locator(".dv-scroller")
    scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = root.locator(".dv-row[aria-rowindex='1000000'][data-loaded='1']")
    last.wait_for(timeout=30_000)
    assert last.locator(".dv-rownum").inner_text() == "1,000,000"
    # The id column holds 0..n-1 in order: the last row's id is 999,999.
    assert last.locator("[data-col='id']").inner_text() == "999,999"
    session.shot("grid-million-bottom")
    assert not session.console_errors, session.console_errors


def first_values(root: Locator, col: str, n: int = 3) -> list[str]:
    out = []
    for i in range(1, n + 1):
        cell = root.locator(f".dv-row[aria-rowindex='{i}'][data-loaded='1'] [data-col='{col}']")
        cell.wait_for()
        out.append(cell.inner_text())
    return out


def test_sort_filter_group(lab: Lab, session: Session) -> None:
    import sys

    sys.path.insert(0, str(lab.root))
    import _synth  # the same module the kernel imports

    t = _synth.big_table(100_000)
    scores = sorted(t.column("score").to_pylist())
    cats = sum(1 for v in t.column("label").to_pylist() if v == "cat")
    root = run_notebook(
        lab,
        session,
        "sfg.ipynb",
        [
            SETUP,
            "t = _synth.big_table(100_000)\nw = show(Source.from_arrow(t), read_blob=lambda d: b'')\nw",
        ],
    )
    wait_status(root, r"100,000 of 100,000 rows")
    page = session.page

    # Click a header: ascending; again: descending; shift-click another adds a second key.
    header = root.locator(".dv-hcell[data-col='score'] .dv-hname")
    header.click()
    root.locator(".dv-hcell[data-col='score'][aria-sort='ascending']").wait_for()
    page.wait_for_timeout(300)
    assert [float(v) for v in first_values(root, "score")] == scores[:3]
    header.click()
    root.locator(".dv-hcell[data-col='score'][aria-sort='descending']").wait_for()
    page.wait_for_timeout(300)
    assert [float(v) for v in first_values(root, "score")] == scores[::-1][:3]
    session.shot("grid-sorted-desc")
    root.locator(".dv-hcell[data-col='label'] .dv-hname").click(modifiers=["Shift"])
    root.locator(".dv-hcell[data-col='label'] .dv-sort", has_text="▲2").wait_for()

    # Typing a filter narrows the count; a bad one shows a caret and keeps the rows.
    box = root.locator(".dv-filter-input")
    box.fill("label == 'cat'")
    box.press("Enter")
    wait_status(root, rf"{cats:,} of 100,000 rows")
    assert set(first_values(root, "label")) == {"cat"}
    box.fill("score > ")
    box.press("Enter")
    root.locator(".dv-filter-error .dv-caret").wait_for()
    caret = root.locator(".dv-caret").inner_text().splitlines()
    assert (
        caret[1].index("^") == len("score > ")
        and "expected" in root.locator(".dv-error-text").inner_text()
    )
    session.shot("grid-filter-error")

    # Column-name completion: typing "lab" offers "label"; Tab accepts it.
    box.fill("")
    box.type("lab")
    root.locator(".dv-complete-item", has_text="label").wait_for()
    box.press("Tab")
    assert box.input_value() == "label"
    box.fill("")
    box.press("Enter")
    wait_status(root, r"100,000 of 100,000 rows")

    # Group by label: one row per class with its count.
    root.locator("select.dv-select").select_option("label")
    wait_status(root, r"4 groups")
    rows = root.locator(".dv-row[data-loaded='1']")
    rows.nth(3).wait_for()
    assert rows.count() == 4
    counts = {
        rows.nth(i).locator("[data-col='label']").inner_text(): int(
            rows.nth(i).locator("[data-col='count']").inner_text().replace(",", "")
        )
        for i in range(4)
    }
    expected = {k: t.column("label").to_pylist().count(k) for k in ("bird", "cat", "dog", "fish")}
    assert counts == expected
    session.shot("grid-grouped")
    # Clicking a group opens its rows.
    rows.filter(has_text="cat").first.click()
    wait_status(root, rf"{cats:,} of 100,000 rows")
    session.shot("grid-group-rows")
    assert not session.console_errors, session.console_errors
