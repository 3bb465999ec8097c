"""Selecting rows: click, shift-click, ctrl-click and Shift+ArrowDown; ``w.selected`` in the
kernel has exactly those rows; the marks survive scrolling away and back; a shift-click range
over rows never loaded selects them all, and an enormous one is refused with a message."""

from __future__ import annotations

import hashlib
import sys
import time

import numpy as np
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import SETUP, wait_status
from tests.browser.test_wheel import ROW_PX, top_row

pytestmark = pytest.mark.browser

N = 1_000_000


def row(root: Locator, index: int) -> Locator:
    """The label cell of the row at 1-based view position ``index`` once it is loaded."""
    cell = root.locator(f".dv-row[aria-rowindex='{index}'][data-loaded='1'] [data-col='label']")
    cell.wait_for(timeout=30_000)
    return cell


def marked(root: Locator) -> list[int]:
    """The 1-based view positions of the rows drawn as selected."""
    got = root.locator(".dv-row.dv-selected").evaluate_all(
        "rows => rows.map(r => Number(r.getAttribute('aria-rowindex')))"
    )
    return sorted(got)


def kernel_ids(session: Session, expr: str = "w.selected['id'].tolist()") -> list[int]:
    out = run_cell(session, f"print({expr})").strip()
    return [int(v) for v in out.strip("[]").split(",") if v.strip()]


def scroll_to_row(scroller: Locator, index: int) -> None:
    """Drag the (compressed) scrollbar so that 1-based row ``index`` is at the top."""
    scroller.evaluate(
        """(el, [index, rowPx, n]) => {
          const spacer = el.querySelector('.dv-spacer').offsetHeight;
          const ratio = (n * rowPx - el.clientHeight) / (spacer - el.clientHeight);
          el.scrollTop = (index - 1) * rowPx / ratio;
        }""",
        [index, ROW_PX, N],
    )


def digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def test_click_shift_ctrl_selection(lab: Lab, session: Session) -> None:
    page = session.page
    sys.path.insert(0, str(lab.root))
    import _synth  # the same module the kernel imports

    t = _synth.big_table(N)
    # The view is sorted by score, descending; ties in source order (the engine's rule). Row
    # ids are the id column (0..n-1), so view position p shows id order[p].
    order = np.lexsort((t.column("id").to_numpy(), -t.column("score").to_numpy()))
    root = run_notebook(
        lab,
        session,
        "select.ipynb",
        [
            SETUP,
            f"t = _synth.big_table({N})\n"
            "w = show(Source.from_arrow(t), read_blob=lambda d: b'', sort=['-score'])\nw",
        ],
    )
    wait_status(root, r"1,000,000 of 1,000,000 rows")
    scroller = root.locator(".dv-scroller")

    # Click row 2, shift-click row 6: five rows; ctrl-click row 4 takes it out again.
    row(root, 2).click()
    row(root, 6).click(modifiers=["Shift"])
    page.wait_for_function(
        "el => el.querySelectorAll('.dv-row.dv-selected').length === 5",
        arg=root.element_handle(),
    )
    assert marked(root) == [2, 3, 4, 5, 6]
    row(root, 4).click(modifiers=["Control"])
    page.wait_for_function(
        "el => el.querySelectorAll('.dv-row.dv-selected').length === 4",
        arg=root.element_handle(),
    )
    assert marked(root) == [2, 3, 5, 6]
    wait_status(root, r"1,000,000 of 1,000,000 rows · 4 selected")
    session.shot("selection-click-shift-ctrl")
    expected = [int(order[p]) for p in (1, 2, 3, 4, 5) if p != 3]
    assert kernel_ids(session) == expected
    assert kernel_ids(session, "list(w.selected.index)") == expected  # indexed by row id
    assert kernel_ids(session, "list(w.selection)") == expected

    # Far away and back: the rows were dropped and drawn again, and are still marked.
    scroll_to_row(scroller, N // 2)
    page.wait_for_function(
        "el => Number(el.querySelector('.dv-row').getAttribute('aria-rowindex')) > 400000",
        arg=scroller.element_handle(),
    )
    assert marked(root) == []
    scroll_to_row(scroller, 1)
    row(root, 6)
    assert marked(root) == [2, 3, 5, 6]

    # Shift+ArrowDown extends from the keyboard.
    row(root, 3).click()
    for _ in range(2):
        page.keyboard.press("Shift+ArrowDown")
    page.wait_for_function(
        "el => el.querySelectorAll('.dv-row.dv-selected').length === 3",
        arg=root.element_handle(),
    )
    assert marked(root) == [3, 4, 5]
    # The last key's selection reaches the kernel asynchronously: ask until it has arrived.
    want, deadline = [int(order[p]) for p in (2, 3, 4)], time.monotonic() + 10
    while (got := kernel_ids(session)) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    assert got == want
    root.focus()  # running a cell took the keyboard to the notebook
    page.keyboard.press("Shift+ArrowUp")
    page.wait_for_function(
        "el => el.querySelectorAll('.dv-row.dv-selected').length === 2",
        arg=root.element_handle(),
    )
    assert marked(root) == [3, 4]

    # A shift-click range reaching rows the browser never loaded selects every one of them.
    row(root, 1).click()
    depth = 60_000
    scroll_to_row(scroller, depth)
    target = depth + 3
    row(root, target).click(modifiers=["Shift"])
    row(root, target + 1)
    page.wait_for_function(
        f"el => el.querySelector(\".dv-row[aria-rowindex='{target}']\").classList.contains('dv-selected')",
        arg=root.element_handle(),
    )
    on_screen = [r for r in marked(root) if r >= depth]
    assert on_screen and on_screen[-1] == target and target + 1 not in marked(root)
    wait_status(root, rf"rows · {target:,} selected")
    session.shot("selection-long-range")
    want = [int(i) for i in order[:target]]
    out = run_cell(
        session,
        "import hashlib\n"
        "ids = w.selected['id'].tolist()\n"
        "print(len(ids), hashlib.sha256(','.join(map(str, ids)).encode()).hexdigest())",
    )
    assert out.split() == [str(target), digest(want)], out

    # A range of a million rows is refused with a message, not sent, and the selection stays.
    scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    row(root, N).click(modifiers=["Shift"])
    wait_status(root, r"A selection holds at most 100,000 rows; this range has 1,000,000")
    assert run_cell(session, "print(len(w.selection))").strip() == str(target)
    assert top_row(scroller)["index"] > N - 100
    assert not session.console_errors, session.console_errors
