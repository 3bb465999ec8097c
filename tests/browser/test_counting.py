"""A new filter's rows are drawn before its count; the status says "counting…" until the count
arrives, then "N of M rows" (checked against pandas), and the grid keeps its place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook

pytestmark = pytest.mark.browser

N = 2_000_000

# The kernel's count request waits at a gate the test opens: "counting takes a while" made
# certain (an Event, not a sleep), on a table big enough that it does take a while anyway.
CELLS = [
    "import threading\nimport _synth\nfrom dsviz_widget.engine import Source\n"
    "from dsviz_widget.widget import show",
    f"t = _synth.big_table({N})\nw = show(Source.from_arrow(t), read_blob=lambda d: b'')\n"
    "gate, asked = threading.Event(), threading.Event()\n"
    "count = w._handler._handlers['count']\n"
    "def held(request):\n"
    "    asked.set()\n"
    "    gate.wait(120)\n"
    "    return count(request)\n"
    "w._handler._handlers['count'] = held\n"
    "w",
]


def status(root: Locator) -> str:
    return root.locator(".dv-status").inner_text()


def wait_status(root: Locator, pattern: str) -> str:
    root.locator(".dv-status", has_text=re.compile(pattern)).wait_for(timeout=60_000)
    return status(root)


def where(root: Locator, index: int) -> tuple[float, str]:
    """Row ``index`` (1-based): its top relative to the scroller, and its id as shown."""
    row = root.locator(f".dv-row[aria-rowindex='{index}'][data-loaded='1']")
    top = row.evaluate(
        "el => el.getBoundingClientRect().top"
        " - el.closest('.dv-scroller').getBoundingClientRect().top"
    )
    return float(top), row.locator("[data-col='id']").inner_text()


def test_rows_come_first_then_the_exact_count(lab: Lab, session: Session) -> None:
    import sys

    sys.path.insert(0, str(lab.root))
    import _synth  # the same module the kernel imports

    frame = _synth.big_table(N).to_pandas()
    cats = frame[frame.label == "cat"]
    root = run_notebook(lab, session, "counting.ipynb", CELLS)
    wait_status(root, rf"{N:,} of {N:,} rows")

    box = root.locator(".dv-filter-input")
    box.fill("label == 'cat'")
    box.press("Enter")
    # The rows are drawn while the count is still to come.
    text = wait_status(root, r"counting… of 2,000,000 rows")
    assert re.search(r"\d", text.split("counting…")[0].split("·")[-1]) is None  # no number yet
    first = root.locator(".dv-row[aria-rowindex='1'][data-loaded='1']")
    first.wait_for()
    assert first.locator("[data-col='label']").inner_text() == "cat"
    ids = [
        root.locator(f".dv-row[aria-rowindex='{i}'][data-loaded='1'] [data-col='id']").inner_text()
        for i in range(1, 6)
    ]
    assert [int(v.replace(",", "")) for v in ids] == cats["id"].head(5).tolist()
    # Scroll a few rows down within the rows already drawn: the count must not move them.
    scroller = root.locator(".dv-scroller")
    scroller.evaluate("el => { el.scrollTop = 5 * 36; }")
    session.page.wait_for_timeout(200)
    row_at_top = where(root, 8)
    session.shot("counting-rows-first")
    assert "counting…" in status(root)

    assert "(True, None)" in run_cell(session, "asked.wait(30), gate.set()")
    text = wait_status(root, rf"{len(cats):,} of 2,000,000 rows")
    assert "counting" not in text
    # The scrollbar now spans every matching row (its scrollTop is rescaled): what matters is
    # that the rows on screen did not move.
    assert where(root, 8) == row_at_top  # the same row, at the same place, same text
    # The grid now spans every matching row: the last one is the last cat.
    scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = root.locator(f".dv-row[aria-rowindex='{len(cats)}'][data-loaded='1']")
    last.wait_for(timeout=60_000)
    assert int(last.locator("[data-col='id']").inner_text().replace(",", "")) == int(
        cats["id"].iloc[-1]
    )
    session.shot("counting-counted")
    assert not session.console_errors, session.console_errors
