"""The keyboard in the grid: a cell cursor that arrows, Home/End and PageUp/PageDown move, Enter
and Esc for the detail view, Ctrl+C for the cell's text; and while the widget has the focus,
those keys are the widget's, not JupyterLab's (ArrowDown must not move the notebook's cell)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import SETUP, wait_status
from tests.browser.test_wheel import RECORD_WHEEL, top_row, wheel

pytestmark = pytest.mark.browser

EXTRA = 24  # extra columns, so the grid is wider than the page and End must scroll sideways
N = 1_000_000  # a compressed scrollbar: the wheel is the grid's own (test_wheel.py)

TABLE = f"""
t = _synth.big_table({N})
for i in range({EXTRA}):
    t = t.append_column(f"c{{i:02d}}", t.column("x"))
w = show(Source.from_arrow(t), read_blob=lambda d: b'')
w"""

ACTIVE_CELL = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')]
  .findIndex(c => c.classList.contains('jp-mod-active'))"""

# Make cell `i` the notebook's active cell in command mode, with the keyboard on the notebook
# (not in the widget): where a person is after clicking a cell's prompt.
NOTEBOOK_FOCUS = """(i) => {
  const nb = window.jupyterapp.shell.currentWidget.content;
  nb.activeCellIndex = i;
  nb.mode = 'command';
  nb.node.focus();
}"""

# The cursor cell's position against the scroller's visible box.
CURSOR_BOX = """el => {
  const cell = el.querySelector('.dv-cell.dv-cursor-cell');
  if (cell === null) return null;
  const box = el.getBoundingClientRect();
  const r = cell.getBoundingClientRect();
  const left = box.left + el.clientLeft, top = box.top + el.clientTop;
  return {
    col: Number(cell.getAttribute('aria-colindex')),
    row: Number(cell.closest('.dv-row').getAttribute('aria-rowindex')),
    selected: cell.getAttribute('aria-selected'),
    text: cell.innerText,
    inside: r.left >= left - 1 && r.right <= left + el.clientWidth + 1
      && r.top >= top - 1 && r.bottom <= top + el.clientHeight + 1,
    count: el.querySelectorAll('.dv-cursor-cell').length,
  };
}"""

# The theme's accent as the widget resolves it, and the cursor cell's outline colour.
ACCENT_AND_RING = """el => {
  const probe = document.createElement('span');
  probe.style.color = 'var(--dv-accent)';
  el.appendChild(probe);
  const accent = getComputedStyle(probe).color;
  probe.remove();
  return [accent, getComputedStyle(el.querySelector('.dv-cursor-cell')).outlineColor];
}"""

CHANGE_THEME = "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})"


@pytest.fixture
def clip_session(browser: Any) -> Iterator[Session]:
    """A page whose Clipboard API works (headless Chromium asks for these permissions)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield Session(page)
    context.close()


def cursor(scroller: Locator) -> dict[str, Any]:
    scroller.page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )
    box: dict[str, Any] = scroller.evaluate(CURSOR_BOX)
    return box


def press(scroller: Locator, *keys: str) -> dict[str, Any]:
    for key in keys:
        scroller.page.keyboard.press(key)
    return cursor(scroller)


def test_cell_cursor_keys_stay_in_the_widget(lab: Lab, clip_session: Session) -> None:
    session = clip_session
    page = session.page
    sys.path.insert(0, str(lab.root))
    import _synth  # the same module the kernel imports

    labels = _synth.big_table(N).column("label").to_pylist()
    root = run_notebook(lab, session, "keys.ipynb", [SETUP, TABLE, "after = 1", "print(6 * 7)"])
    wait_status(root, r"1,000,000 of 1,000,000 rows")
    root.locator(".dv-row[aria-rowindex='3'][data-loaded='1']").wait_for(timeout=30_000)
    scroller = root.locator(".dv-scroller")

    # The control: with the keyboard on the notebook, ArrowDown does move the active cell.
    page.evaluate(NOTEBOOK_FOCUS, 2)
    page.keyboard.press("ArrowDown")
    assert page.evaluate(ACTIVE_CELL) == 3

    # A click puts the cursor on the cell clicked and gives the widget the keyboard.
    root.locator(".dv-row[aria-rowindex='3'] [data-col='label']").click()
    active = page.evaluate(ACTIVE_CELL)
    assert active == 1  # the widget's own cell
    at = cursor(scroller)
    assert (at["row"], at["col"], at["selected"], at["count"]) == (3, 4, "true", 1), at

    # Arrows move the cell cursor, and only it.
    at = press(scroller, *["ArrowDown"] * 5)
    assert (at["row"], at["col"]) == (8, 4), at
    assert page.evaluate(ACTIVE_CELL) == active
    at = press(scroller, "ArrowUp")
    assert (at["row"], at["col"]) == (7, 4), at
    at = press(scroller, "ArrowRight")
    assert (at["row"], at["col"]) == (7, 5), at
    at = press(scroller, "ArrowLeft", "ArrowLeft")
    assert (at["row"], at["col"]) == (7, 3), at
    assert page.evaluate(ACTIVE_CELL) == active
    session.shot("keyboard-cursor")

    # End goes to the last column, scrolled into view; Home back to the first.
    last_col = 1 + 4 + EXTRA
    at = press(scroller, "End")
    assert (at["row"], at["col"], at["inside"]) == (7, last_col, True), at
    assert scroller.evaluate("el => el.scrollLeft") > 0
    session.shot("keyboard-end")
    at = press(scroller, "Home")
    assert (at["row"], at["col"], at["inside"]) == (7, 2, True), at
    assert scroller.evaluate("el => el.scrollLeft") == 0
    # Columns one at a time to the right edge and past it: each step keeps the cell in view.
    for step in range(1, last_col - 1):
        at = press(scroller, "ArrowRight")
        assert (at["col"], at["inside"]) == (2 + step, True), (step, at)
    at = press(scroller, "Home", "ArrowRight", "ArrowRight")
    assert at["col"] == 4

    # Ctrl+C copies the cursor cell's text as shown: row 7 is id 6.
    page.evaluate("() => navigator.clipboard.writeText('')")
    page.keyboard.press("Control+c")
    page.wait_for_function("async () => (await navigator.clipboard.readText()) !== ''")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == at["text"] == labels[6], (copied, at["text"])
    # PageDown moves a screenful less one row; Ctrl+End / Ctrl+Home the first and last rows.
    screen = int(top_row(scroller)["screen"])
    at = press(scroller, "PageDown")
    assert at["row"] == 7 + screen - 1 and at["inside"], (at, screen)
    at = press(scroller, "PageUp")
    assert at["row"] == 7, at
    at = press(scroller, "Control+End")
    root.locator(f".dv-row[aria-rowindex='{N}'][data-loaded='1']").wait_for(timeout=30_000)
    at = cursor(scroller)
    assert (at["row"], at["col"], at["inside"]) == (N, 4, True), at
    assert at["text"] == labels[N - 1]
    at = press(scroller, "Control+Home")
    assert (at["row"], at["col"], at["inside"]) == (1, 4, True), at
    at = press(scroller, *["ArrowDown"] * 6)
    assert at["row"] == 7
    assert page.evaluate(ACTIVE_CELL) == active

    # Enter opens the row's detail view, and does not put the notebook in edit mode; Esc
    # closes it.
    detail = root.locator(".dv-detail")
    page.keyboard.press("Enter")
    detail.wait_for(state="visible")
    assert "Row 7 of 1,000,000" in detail.locator(".dv-detail-title").inner_text()
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.content.mode") == "command"
    page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    assert page.evaluate(ACTIVE_CELL) == active

    # Letters typed at the grid are not the notebook's command-mode shortcuts: `d d` would
    # delete the widget's own cell, `m` turn it into Markdown.
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    for key in ("d", "d", "m", "b"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    assert "jp-CodeCell" in (
        page.locator(".jp-Notebook .jp-Cell").nth(active).get_attribute("class") or ""
    )
    assert page.evaluate(ACTIVE_CELL) == active

    # The cursor starts from where the user scrolled: after the wheel took row 7 off screen,
    # ArrowDown lands on the first row wholly on screen, and the rows stay where they were.
    scroller.evaluate(RECORD_WHEEL)
    wheel(scroller, 100, times=12)
    before = top_row(scroller)
    assert before["index"] > 7 + before["screen"], before
    first_whole = before["index"] + (1 if before["above"] > 0.5 else 0)
    root.locator(f".dv-row[aria-rowindex='{first_whole}'][data-loaded='1']").wait_for()
    at = press(scroller, "ArrowDown")
    assert (at["row"], at["col"], at["inside"]) == (first_whole, 4, True), (at, before)
    assert top_row(scroller) == before
    assert root.locator(".dv-row.dv-selected").get_attribute("aria-rowindex") == str(first_whole)
    session.shot("keyboard-after-wheel")
    assert page.evaluate(ACTIVE_CELL) == active

    # The ring is the theme's accent colour, in the dark theme too.
    def ring() -> list[str]:
        got: list[str] = root.evaluate(ACCENT_AND_RING)
        return got

    accent, outline = ring()
    assert accent == outline, (accent, outline)
    page.evaluate(CHANGE_THEME, "JupyterLab Dark")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(800)
    root.focus()
    # The theme switch re-lays the page out and the cursor's row may not be drawn at this
    # moment; a key puts it (back) on screen.
    if not root.locator(".dv-cursor-cell").count():
        page.keyboard.press("ArrowDown")
        assert cursor(scroller)["inside"]
    dark_accent, dark_outline = ring()
    assert dark_accent == dark_outline != outline, (dark_accent, dark_outline, outline)
    session.shot("keyboard-cursor-dark")
    page.evaluate(CHANGE_THEME, "JupyterLab Light")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")

    # Outside the widget the notebook's keys work as before: Shift+Enter runs the cell.
    runs = "() => window.jupyterapp.shell.currentWidget.content.widgets[3].model.executionCount"
    count = page.evaluate(runs)
    page.evaluate(NOTEBOOK_FOCUS, 3)
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(f"() => ({runs[6:]}) > {count}")
    assert not session.console_errors, session.console_errors
