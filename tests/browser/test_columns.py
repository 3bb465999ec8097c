"""Columns as a person lays them out: drag an edge, double-click to fit, tooltips on clipped
text, row density, pinned columns, and a Columns menu that closes like a menu."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser

N = 200
# Long text (clipped at the default width), a 20-character code (too short for the tooltip the
# cell always gets, clipped all the same, and markup that must stay text) and many int columns,
# so the grid scrolls sideways.
WIDE = """
import pyarrow as pa
n = 200
text = [f"row {i} " + "lorem ipsum " * (1 + i % 3) for i in range(n)]
code = [f"<i>{i:03d}</i>&amp;-xyzw" if i % 2 == 0 else "ok" for i in range(n)]
fields = [_synth.field("id", "int", pa.int64()), _synth.field("text", "str", pa.string()),
          _synth.field("code", "str", pa.string()), _synth.field("score", "float", pa.float64())]
fields += [_synth.field(f"x{j}", "int", pa.int64()) for j in range(40)]
arrays = [pa.array(range(n)), pa.array(text), pa.array(code), pa.array([i / n for i in range(n)])]
arrays += [pa.array([i * j for i in range(n)]) for j in range(40)]
t = pa.table(arrays, schema=pa.schema(fields))
w = show(Source.from_arrow(t), read_blob=lambda d: b'')
w
"""


def texts() -> list[str]:
    return [f"row {i} " + "lorem ipsum " * (1 + i % 3) for i in range(N)]


def width(root: Locator, sel: str) -> float:
    """The width of the element ``sel`` finds in the widget, px, or -1 if there is none. The
    header is redrawn as rows and summaries arrive, so it is looked up and measured in one
    evaluation."""
    return float(
        root.evaluate(
            "(root, sel) => { const el = root.querySelector(sel);"
            " return el ? el.getBoundingClientRect().width : -1; }",
            sel,
        )
    )


def wait_width(root: Locator, sel: str, ok: Callable[[float], bool]) -> float:
    """Wait until the element ``sel`` finds has a width ``ok`` accepts; return that width."""
    deadline = time.monotonic() + 15
    while True:
        w = width(root, sel)
        if ok(w):
            return w
        assert time.monotonic() < deadline, f"{sel} stayed {w} px wide"
        root.page.wait_for_timeout(50)


def cell_sel(row: int, col: str) -> str:
    return f".dv-row[aria-rowindex='{row}'][data-loaded='1'] .dv-cell[data-col='{col}']"


def cell(root: Locator, row: int, col: str) -> Locator:
    return root.locator(cell_sel(row, col))


def loaded_cells(root: Locator, col: str) -> Locator:
    return root.locator(f".dv-row[data-loaded='1'] .dv-cell[data-col='{col}']")


# Every drawn cell of a column: its width, and whether its text fits (scrollWidth <= clientWidth).
CELLS = """els => els.map(el => ({
  width: el.getBoundingClientRect().width,
  fits: el.scrollWidth <= el.clientWidth,
  text: el.textContent,
  need: (() => { const r = document.createRange(); r.selectNodeContents(el);
                 return r.getBoundingClientRect().width; })(),
}))"""


def drag(session: Session, handle: Locator, dx: float) -> None:
    box = handle.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    mouse = session.page.mouse
    mouse.move(x, y)
    mouse.down()
    for step in range(1, 9):
        mouse.move(x + dx * step / 8, y)
    mouse.up()


def test_resize_fit_and_tooltips(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "cols_resize.ipynb", [SETUP, WIDE])
    wait_status(root, rf"{N} of {N} rows")
    cell(root, 1, "text").wait_for()
    # Every summary drawn: the header stops being redrawn under the test.
    root.locator(".dv-hcell .dv-summary").nth(27).wait_for()
    header_sel = ".dv-hcell[data-col='text']"
    header = root.locator(header_sel)
    before = width(root, header_sel)
    assert before == 120 and abs(width(root, cell_sel(1, "text")) - before) < 0.5

    # A clipped cell's tooltip is its whole text, as text. "code" values are 20 characters:
    # too short for the tooltip long text always gets, clipped at the default width all the same.
    code = cell(root, 1, "code")
    assert code.evaluate("el => el.scrollWidth > el.clientWidth")
    assert code.get_attribute("title") is None
    code.hover()
    assert code.get_attribute("title") == "<i>000</i>&amp;-xyzw"
    assert code.locator("i").count() == 0  # the markup stayed text
    short = cell(root, 2, "code")
    short.hover()
    assert short.get_attribute("title") is None  # "ok" fits: no tooltip
    long_cell = cell(root, 3, "text")
    long_cell.hover()
    assert long_cell.get_attribute("title") == texts()[2]

    # Drag the right edge of "text" 80 px to the right: header and cells move together, no sort.
    handle = header.locator(".dv-resize")
    assert handle.evaluate("el => getComputedStyle(el).cursor") == "col-resize"
    drag(session, handle, 80)
    wait_width(root, header_sel, lambda w: abs(w - (before + 80)) < 0.5)
    cells = loaded_cells(root, "text").evaluate_all(CELLS)
    assert len(cells) >= 8
    assert all(abs(c["width"] - (before + 80)) < 0.5 for c in cells), cells
    assert (
        root.locator(".dv-hcell[aria-sort='none']").count()
        == root.locator(".dv-hcell[data-col]").count()
    )
    session.shot("columns-resized")
    out = run_cell(session, "print(w.sort, w.column_widths)")
    assert out.strip() == f"[] {{'text': {int(before + 80)}}}"

    # The width stays while the view changes: sort by score.
    root.locator(".dv-hcell[data-col='score'] .dv-hname").click()
    root.locator(".dv-hcell[data-col='score'][aria-sort='ascending']").wait_for()
    cell(root, 1, "text").wait_for()
    assert abs(wait_width(root, header_sel, lambda w: w > 0) - (before + 80)) < 0.5
    assert abs(width(root, cell_sel(1, "text")) - (before + 80)) < 0.5

    # Double-click the edge: the column fits its longest drawn text, and no more than that.
    handle.dblclick()
    fitted = wait_width(root, header_sel, lambda w: w > 0 and abs(w - (before + 80)) > 1)
    root.page.wait_for_timeout(100)
    cells = loaded_cells(root, "text").evaluate_all(CELLS)
    assert all(c["fits"] for c in cells), [c for c in cells if not c["fits"]]
    assert all(abs(c["width"] - fitted) < 0.5 for c in cells)
    # Some drawn value needs nearly all of it (the longest ones are "lorem ipsum" x3).
    assert any(len(c["text"]) >= len(texts()[2]) for c in cells)
    # ... the widest text plus the cell's padding (6 + 6) and border (1), rounded up.
    assert 0 <= fitted - (max(c["need"] for c in cells) + 13) <= 2.5
    assert root.locator(".dv-hcell[aria-sort='ascending']").count() == 1  # still by score only
    # "id" is wider than "199" needs: fitting shrinks it, still without clipping.
    id_before = width(root, ".dv-hcell[data-col='id']")
    root.locator(".dv-hcell[data-col='id'] .dv-resize").dblclick()
    wait_width(root, ".dv-hcell[data-col='id']", lambda w: 0 < w < id_before - 1)
    assert all(c["fits"] for c in loaded_cells(root, "id").evaluate_all(CELLS))
    assert root.locator(".dv-hcell[data-col='id'] .dv-hname").evaluate(
        "el => el.scrollWidth <= el.clientWidth"
    )
    # Widening "code" to fit takes the tooltip away: nothing is hidden any more.
    root.locator(".dv-hcell[data-col='code'] .dv-resize").dblclick()
    root.page.wait_for_timeout(300)
    code = cell(root, 1, "code")  # sorted by score (i / n): row 1 is still id 0
    code.hover()
    assert code.get_attribute("title") is None
    session.shot("columns-fitted")
    out = run_cell(session, "print(sorted(w.column_widths))")
    assert out.strip() == "['code', 'id', 'text']"
    assert not session.console_errors, session.console_errors


def rows_inside(scroller: Locator) -> Any:
    return scroller.evaluate(
        """el => {
      const box = el.getBoundingClientRect();
      return [...el.querySelectorAll('.dv-row')].filter(r => {
        const b = r.getBoundingClientRect();
        return b.top >= box.top - 0.5 && b.bottom <= box.top + el.clientHeight + 0.5;
      }).length;
    }"""
    )


def thumbs(root: Locator) -> Any:
    return root.locator(".dv-row[data-loaded='1'] .dv-img:not(.dv-loading)").evaluate_all(
        """els => els.map(el => {
      const c = el.querySelector('canvas');
      const px = c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data;
      return { h: el.getBoundingClientRect().height, w: el.getBoundingClientRect().width,
               thumb: el.dataset.thumb, painted: px[3] > 0 };
    })"""
    )


def test_density(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "cols_density.ipynb",
        [
            SETUP,
            "t, read_blob, _ = _synth.image_table(40, width=160, height=120)\n"
            "w = show(Source.from_arrow(t), read_blob=read_blob)\nw",
        ],
    )
    wait_status(root, r"40 of 40 rows")
    scroller = root.locator(".dv-scroller")
    root.locator(".dv-row[aria-rowindex='3'] .dv-img:not(.dv-loading)").wait_for()
    assert abs(root.bounding_box()["height"] - 520) < 2  # type: ignore[index]
    comfortable = rows_inside(scroller)
    big = thumbs(root)
    assert comfortable <= 4 and all(t["thumb"] == "160x120" for t in big)

    root.locator("select.dv-density").select_option("compact")
    root.locator(".dv-row[aria-rowindex='8'] .dv-img:not(.dv-loading)").wait_for()
    root.page.wait_for_timeout(300)
    assert rows_inside(scroller) >= 8
    small = thumbs(root)
    assert len(small) >= 8
    # Drawn at the small size, from thumbnails asked for at that size (96 px on the long side).
    assert all(t["h"] <= 32 and t["painted"] and t["thumb"] == "96x72" for t in small), small
    session.shot("columns-density-compact")
    assert run_cell(session, "print(w.density)").strip() == "compact"

    # From Python: large rows, big thumbnails; the toolbar follows.
    run_cell(session, "w.density = 'large'")
    root.page.wait_for_function(
        "el => el.querySelector('.dv-row') && el.querySelector('.dv-row').getBoundingClientRect().height >= 190",
        arg=scroller.element_handle(),
    )
    root.locator(".dv-row[aria-rowindex='1'] .dv-img:not(.dv-loading)").wait_for()
    root.page.wait_for_timeout(300)
    large = thumbs(root)
    assert large and all(t["h"] >= 180 and t["thumb"] == "160x120" for t in large), large
    assert root.locator("select.dv-density").evaluate("el => el.value") == "large"
    assert rows_inside(scroller) <= 2
    session.shot("columns-density-large")
    assert not session.console_errors, session.console_errors


def test_pin_and_columns_menu(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "cols_pin.ipynb", [SETUP, WIDE])
    wait_status(root, rf"{N} of {N} rows")
    cell(root, 1, "id").wait_for()
    page = session.page
    button = root.locator(".dv-button", has_text="Columns")
    menu = root.locator(".dv-columns-menu")

    # The menu closes on Escape...
    button.click()
    menu.wait_for(state="visible")
    page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    # ... and on a click outside it (here: the status line, then the notebook around it).
    button.click()
    menu.wait_for(state="visible")
    root.locator(".dv-status").click()
    menu.wait_for(state="hidden")
    button.click()
    menu.wait_for(state="visible")
    page.mouse.click(5, 300)
    menu.wait_for(state="hidden")

    # Pin "score" from the menu: it moves first after the row numbers.
    button.click()
    menu.locator(".dv-pin[data-col='score']").click()
    root.locator(".dv-hcell.dv-pinned[data-col='score']").wait_for()
    assert menu.locator(".dv-pin[data-col='score']").get_attribute("aria-pressed") == "true"
    session.shot("columns-menu-pinned")
    page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    order = root.locator(".dv-hcell[data-col]").evaluate_all("els => els.map(e => e.dataset.col)")
    assert order[:3] == ["score", "id", "text"]

    scroller = root.locator(".dv-scroller")
    view = scroller.evaluate(
        "el => { const b = el.getBoundingClientRect(); return {left: b.left, right: b.left + el.clientWidth}; }"
    )
    scroller.evaluate("el => { el.scrollLeft += 2000; }")
    page.wait_for_function("el => el.scrollLeft >= 1999", arg=scroller.element_handle())
    page.wait_for_timeout(200)
    # Unpinned columns scrolled away; the pinned one is still at the left, on top, readable.
    x0 = cell(root, 1, "x0").bounding_box()
    assert x0 is not None and x0["x"] + x0["width"] < view["left"]
    pinned = loaded_cells(root, "score").evaluate_all(
        """els => els.map(el => {
      const b = el.getBoundingClientRect();
      const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
      return { left: b.left, right: b.right, top: b.top, bottom: b.bottom, onTop: el.contains(hit),
               bg: getComputedStyle(el).backgroundColor, text: el.textContent };
    })"""
    )
    box = scroller.bounding_box()
    assert box is not None
    shown = [p for p in pinned if p["top"] >= box["y"] and p["bottom"] <= box["y"] + box["height"]]
    assert len(shown) >= 8
    for p in shown:
        assert view["left"] <= p["left"] < view["left"] + 120 and p["right"] < view["right"]
        assert p["onTop"] and p["bg"] not in ("rgba(0, 0, 0, 0)", "transparent"), p
    head = root.locator(".dv-hcell[data-col='score']").bounding_box()
    assert head is not None and view["left"] <= head["x"] < view["left"] + 120
    assert abs(head["x"] - shown[0]["left"]) < 1  # header and cells stay in line
    session.shot("columns-pinned-scrolled")
    assert run_cell(session, "print(w.pinned)").strip() == "['score']"
    assert not session.console_errors, session.console_errors
