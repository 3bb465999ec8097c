"""The mouse wheel over a compressed scrollbar moves rows as the wheel says, not ratio times more."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser

ROW_PX = 30  # a plain table's row height (grid.ts): 10M rows are 300M px, compressed ~37x

# The top visible row's aria-rowindex, how far its top sits above the viewport's top, and the
# viewport's height in rows.
TOP_ROW = """(el, rowPx) => {
  const box = el.getBoundingClientRect();
  let best = null;
  for (const row of el.querySelectorAll('.dv-row')) {
    const r = row.getBoundingClientRect();
    if (r.bottom > box.top + 0.5 && (best === null || r.top < best.top)) best = { row, top: r.top };
  }
  return best === null ? null : {
    index: Number(best.row.getAttribute('aria-rowindex')),
    above: box.top - best.top,
    screen: el.clientHeight / rowPx,
  };
}"""

# How far the keyboard cursor's row ends above the viewport's bottom edge, px.
CURSOR_GAP = """el => {
  const box = el.getBoundingClientRect();
  const row = el.querySelector('.dv-row.dv-cursor');
  return row === null ? null : box.top + el.clientTop + el.clientHeight - row.getBoundingClientRect().bottom;
}"""

# Sums what the page's wheel events said, and whether anything cancelled them (read after all
# listeners ran, from the window's bubbling phase).
RECORD_WHEEL = """el => {
  window.__wheel = { dy: 0, prevented: 0, seen: 0 };
  window.addEventListener('wheel', (e) => {
    if (!el.contains(e.target)) return;
    window.__wheel.seen += 1;
    window.__wheel.dy += e.deltaMode === 0 ? e.deltaY : NaN;
    if (e.defaultPrevented) window.__wheel.prevented += 1;
  });
}"""


def top_row(scroller: Locator) -> dict[str, float]:
    top: dict[str, float] = scroller.evaluate(TOP_ROW, ROW_PX)
    return top


def wheel(scroller: Locator, dy: float, times: int = 1) -> None:
    page = scroller.page
    scroller.hover()
    seen = page.evaluate("() => window.__wheel.seen")
    for _ in range(times):
        page.mouse.wheel(0, dy)
    page.wait_for_function(f"() => window.__wheel.seen >= {seen + times}")
    # The grid draws on the next animation frame.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def test_wheel_moves_rows_not_ratio_times_rows(lab: Lab, session: Session) -> None:
    n = 10_000_000
    root = run_notebook(
        lab,
        session,
        "wheel.ipynb",
        [
            SETUP,
            f"t = _synth.big_table({n})\nw = show(Source.from_arrow(t), read_blob=lambda d: b'')\nw",
        ],
    )
    wait_status(root, r"10,000,000 of 10,000,000 rows")
    root.locator(".dv-row[aria-rowindex='1'][data-loaded='1']").wait_for(timeout=30_000)
    scroller = root.locator(".dv-scroller")
    scroller.evaluate(RECORD_WHEEL)
    assert top_row(scroller)["index"] == 1

    # One notch: the rows move by the wheel's pixels (Chromium's notch is 100 px, ~3 rows);
    # natively a compressed scrollbar would have skipped ~125 rows.
    wheel(scroller, 100)
    recorded = session.page.evaluate("() => window.__wheel")
    assert recorded["prevented"] == recorded["seen"] == 1
    dy = recorded["dy"]
    top = top_row(scroller)
    assert 1 < top["index"] <= 1 + top["screen"], top
    assert top["index"] == 1 + int(dy // ROW_PX), (top, dy)

    # Many notches add up row-accurately: no step is lost to scrollTop's rounding, and the top
    # row is offset by exactly the remainder.
    wheel(scroller, 100, times=9)
    dy = session.page.evaluate("() => window.__wheel.dy")
    top = top_row(scroller)
    assert top["index"] == 1 + int(dy // ROW_PX), (top, dy)
    assert abs(top["above"] - dy % ROW_PX) < 1.5, (top, dy)
    loaded = root.locator(f".dv-row[aria-rowindex='{top['index']}'][data-loaded='1']")
    loaded.wait_for(timeout=30_000)
    assert loaded.locator("[data-col='id']").inner_text() == f"{top['index'] - 1:,}"
    session.shot("wheel-after-ten-notches")

    # The keyboard goes on from where the wheel left off: the cursor walks down a screenful and
    # more, and each step scrolls just enough to show its row at the bottom edge.
    # (The next row: the top one is partly hidden, and Playwright would scroll it into view.)
    steps = int(top["screen"]) + 3
    root.locator(f".dv-row[aria-rowindex='{top['index'] + 1}'] [data-col='label']").click()
    for _ in range(steps):
        session.page.keyboard.press("ArrowDown")
    session.page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )
    cursor = root.locator(".dv-row.dv-cursor")
    assert cursor.get_attribute("aria-rowindex") == str(top["index"] + 1 + steps)
    assert abs(scroller.evaluate(CURSOR_GAP)) < 1.5

    # Back up past the top: it stops at row 1.
    wheel(scroller, -100, times=12)
    assert top_row(scroller)["index"] == 1

    # The scrollbar thumb still reaches any depth: dragged to the end, the last row shows at
    # the bottom; and from there the wheel again moves rows, not screens.
    scroller.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    last = root.locator(f".dv-row[aria-rowindex='{n}'][data-loaded='1']")
    last.wait_for(timeout=30_000)
    assert last.locator("[data-col='id']").inner_text() == f"{n - 1:,}"
    bottom_gap = scroller.evaluate(
        "(el, n) => el.getBoundingClientRect().top + el.clientTop + el.clientHeight"
        " - el.querySelector(`.dv-row[aria-rowindex='${n}']`).getBoundingClientRect().bottom",
        n,
    )
    assert abs(bottom_gap) < 1.5, bottom_gap
    before = top_row(scroller)["index"]
    wheel(scroller, -100)
    after = top_row(scroller)
    assert 0 < before - after["index"] <= after["screen"], (before, after)
    session.shot("wheel-bottom")

    # Dragged to the middle: about row 5,000,000, exactly where the thumb's position maps.
    # (From the spacer's height: scrollHeight can also count rows drawn past its end.)
    scroller.evaluate(
        "el => { el.scrollTop = (el.querySelector('.dv-spacer').offsetHeight - el.clientHeight) / 2; }"
    )
    session.page.wait_for_function(
        "el => Math.abs(Number(el.querySelector('.dv-row').getAttribute('aria-rowindex')) - 5e6) < 1000",
        arg=scroller.element_handle(),
    )
    geo = scroller.evaluate(
        "el => [el.scrollTop, el.querySelector('.dv-spacer').offsetHeight, el.clientHeight]"
    )
    scroll_top, height, viewport = geo
    ratio = (n * ROW_PX - viewport) / (height - viewport)
    middle = top_row(scroller)["index"]
    assert middle == 1 + int(scroll_top * ratio // ROW_PX), (middle, geo)
    assert abs(middle - n / 2) < viewport / ROW_PX, middle
    assert not session.console_errors, session.console_errors


def test_wheel_stays_native_when_not_compressed(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "wheel-small.ipynb",
        [
            SETUP,
            "t = _synth.big_table(10_000)\nw = show(Source.from_arrow(t), read_blob=lambda d: b'')\nw",
        ],
    )
    wait_status(root, r"10,000 of 10,000 rows")
    root.locator(".dv-row[aria-rowindex='1'][data-loaded='1']").wait_for(timeout=30_000)
    scroller = root.locator(".dv-scroller")
    scroller.evaluate(RECORD_WHEEL)
    wheel(scroller, 100)
    assert session.page.evaluate("() => window.__wheel.prevented") == 0
    # The browser scrolls it (possibly smoothly, so wait for it to arrive).
    session.page.wait_for_function(
        "el => el.scrollTop > 0", arg=scroller.element_handle(), timeout=10_000
    )
    assert not session.console_errors, session.console_errors
