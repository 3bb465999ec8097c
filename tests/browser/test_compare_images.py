"""Compared images overlaid: one thumbnail with each version's boxes in its colour and line
style and the mask pixels whose class changed highlighted; side by side on a toggle; the
detail view overlays too, with a key to the versions. Light and dark themes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import wait_status

pytestmark = pytest.mark.browser

W, H = 16, 12
ROWS = 6

# Two versions of a predictions table over the same pictures: version 1 moves the boxes by a
# pixel (except on row 0), finds other boxes on odd rows, and changes the mask of odd rows (a car appears, a
# corner of road goes). The same functions make the notebook's data and the expected values.
DATA = f"""
import numpy as np
import dsviz_widget as dv

W, H = {W}, {H}
classes = dv.Classes([{{"id": 0, "name": "background"}}, {{"id": 1, "name": "road"}},
                      {{"id": 2, "name": "car"}}])


def boxes_for(i, version):
    n = i % 3 + 1 if version == 0 or i % 2 == 0 else (i + 1) % 3 + 1
    shift = version if i > 0 else 0  # row 0 is the same in both versions
    return [
        {{"position": {{"minX": 1 + 4 * j + shift, "maxX": 4 + 4 * j + shift,
                       "minY": 2 + shift, "maxY": 9}},
         "domain": "pixel", "class_id": 2, "scores": {{"score": 0.9 - 0.1 * j}}}}
        for j in range(n)
    ]


def mask_for(i, version):
    m = np.zeros((H, W), np.uint8)
    m[:, : W // 2] = 1
    if version == 1 and i % 2 == 1:
        m[0:4, 8:12] = 2
        m[10:12, 0:3] = 0
    return m


def table(version, brighter=0):
    t = dv.Table(columns=["id", "image", "score"])
    for i in range({ROWS}):
        pixels = np.full((H, W, 3), 90 + 10 * i + brighter, np.uint8)
        image = dv.Image(pixels, classes=classes,
                         boxes={{"pred": {{"box_data": boxes_for(i, version)}}}},
                         masks={{"seg": {{"mask_data": mask_for(i, version)}}}})
        t.add_data(i, image, 0.5 + 0.1 * version)
    return t
"""

namespace: dict[str, Any] = {}
exec(DATA, namespace)  # the notebook's own definitions, to compute what it must show
boxes_for = namespace["boxes_for"]
mask_for = namespace["mask_for"]


def image_cell(root: Locator, row_id: int, col: str = "image") -> Locator:
    """The cell of column `col` in the row whose key is `row_id` (rows come in key order)."""
    return root.locator(cell_selector(row_id, col))


def cell_selector(row_id: int, col: str = "image") -> str:
    return f".dv-row[aria-rowindex='{row_id + 1}'][data-loaded='1'] [data-col='{col}']"


def version_colors(root: Locator, n: int) -> list[str]:
    """The theme's version colours (--dv-v<i>) as the browser computes them."""
    return list(
        root.evaluate(
            """(el, n) => Array.from({length: n}, (_, i) => {
                 const probe = document.createElement('span');
                 probe.style.color = `var(--dv-v${i})`;
                 el.appendChild(probe);
                 const c = getComputedStyle(probe).color;
                 probe.remove();
                 return c;
               })""",
            n,
        )
    )


# Reads an image once it is drawn, in one step in the page: the grid redraws its rows when
# the header summaries arrive, so an element found in one call may be gone by the next.
READ_IMAGE = """([sel, W, H, masks]) => {
  const roots = document.querySelectorAll('.dv-root');
  const el = roots[roots.length - 1].querySelector(sel);
  if (!el || !el.isConnected || el.classList.contains('dv-loading') || !el.dataset.frame) return null;
  if (masks && el.dataset.changedPixels === undefined) return null;
  const boxes = [...el.querySelectorAll('rect.dv-box')].map(r => {
    const s = getComputedStyle(r);
    return {version: r.getAttribute('data-version'), stroke: s.stroke, dash: s.strokeDasharray};
  });
  const pixels = [];
  if (masks) {
    const [fx, fy, fw, fh] = JSON.parse(el.dataset.frame);
    const canvas = el.querySelector('canvas');
    const k = canvas.width / parseFloat(canvas.style.width);
    const ctx = canvas.getContext('2d');
    for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) {
      const x = Math.floor((fx + (c + 0.5) * fw / W) * k);
      const y = Math.floor((fy + (r + 0.5) * fh / H) * k);
      const p = ctx.getImageData(x, y, 1, 1).data;
      pixels.push([p[0], p[1], p[2]]);
    }
  }
  const cell = el.closest('.dv-cell');
  return {boxes, pixels, changed: Number(el.dataset.changedPixels ?? -1),
          cellClass: cell ? cell.className : '', cellShadow: cell ? getComputedStyle(cell).boxShadow : ''};
}"""


def read_image(page: Any, selector: str, masks: bool = True) -> dict[str, Any]:
    """What the image at `selector` (inside the widget) shows: each box's version, computed
    stroke colour and dash pattern; the canvas read back at the centre of every mask pixel;
    the changed-pixel count; its grid cell's class and shadow."""
    handle = page.wait_for_function(READ_IMAGE, arg=[selector, W, H, masks], timeout=30_000)
    out = handle.json_value()
    assert isinstance(out, dict)
    return out


def rgb(text: str) -> tuple[int, int, int]:
    parts = text[text.index("(") + 1 : text.index(")")].split(",")
    r, g, b = (int(float(p)) for p in parts[:3])
    return r, g, b


def check_overlaid(root: Locator, shown: dict[str, Any], row_id: int) -> None:
    """Both versions' boxes in the row's one thumbnail: as many as the data has, each in its
    version's colour and line style (v0 solid, v1 dashed)."""
    colors = version_colors(root, 2)
    boxes = shown["boxes"]
    for v in (0, 1):
        mine = [b for b in boxes if b["version"] == str(v)]
        assert len(mine) == len(boxes_for(row_id, v)), (row_id, v, boxes)
        assert {b["stroke"] for b in mine} == {colors[v]}
    assert {b["dash"] for b in boxes if b["version"] == "0"} == {"none"}
    dashes = {b["dash"] for b in boxes if b["version"] == "1"}
    assert len(dashes) == 1 and dashes != {"none"}
    assert len(boxes) == len(boxes_for(row_id, 0)) + len(boxes_for(row_id, 1))


def check_mask_change(root: Locator, shown: dict[str, Any], row_id: int) -> None:
    """The pixels whose class changed (numpy: v1 != v0) are drawn in v1's colour; every other
    pixel is not (shaded picture); rows without a change are drawn plain."""
    changed = mask_for(row_id, 1) != mask_for(row_id, 0)
    assert shown["changed"] == int(changed.sum())
    pixels = np.array(shown["pixels"], dtype=int).reshape(H, W, 3)
    v1 = np.array(rgb(version_colors(root, 2)[1]))
    near = np.abs(pixels - v1).max(axis=2) <= 40
    assert (near == changed).all(), (near.astype(int), changed.astype(int))


def test_compared_images_overlaid_side_by_side_and_detail(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "compare_images.ipynb",
        [
            DATA,
            "t0, t1 = table(0), table(1)\ndv.show(dv.compare(t0, t1, on='id', labels=['v0', 'v1']))",
        ],
    )
    wait_status(root, rf"{ROWS} of {ROWS} rows")
    page = session.page
    ids = root.locator(".dv-row[data-loaded='1'] [data-col='id']")
    ids.nth(ROWS - 1).wait_for()
    assert [ids.nth(i).inner_text() for i in range(ROWS)] == [str(i) for i in range(ROWS)]
    # Same pictures in both versions: overlaid by default, one image column.
    toggle = root.locator(".dv-image-compare")
    toggle.locator(".dv-seg[data-mode='overlay'][aria-pressed='true']").wait_for()
    assert root.locator(".dv-hcell[data-col='image']").count() == 1
    assert root.locator(".dv-hcell[data-col='image@v0']").count() == 0
    for row_id in range(ROWS):
        image_cell(root, row_id).locator(".dv-img:not(.dv-loading)").wait_for()
    page.wait_for_timeout(300)
    for row_id in range(ROWS):
        shown = read_image(page, cell_selector(row_id) + " .dv-img")
        check_overlaid(root, shown, row_id)
        check_mask_change(root, shown, row_id)
        # The cell is marked changed where the versions differ (every row but row 0): an edge.
        assert ("dv-changed" in shown["cellClass"].split()) == (row_id != 0), row_id
        assert ("inset" in shown["cellShadow"]) == (row_id != 0), shown["cellShadow"]
    keys = toggle.locator(".dv-version")
    assert [keys.nth(i).inner_text() for i in range(keys.count())] == ["v0", "v1"]
    session.shot("compare-images-overlaid")

    # Side by side: one thumbnail per version, each with its own boxes (class colours).
    toggle.locator(".dv-seg[data-mode='side']").click()
    toggle.locator(".dv-seg[data-mode='side'][aria-pressed='true']").wait_for()
    image_cell(root, 1, "image@v1").locator(".dv-img:not(.dv-loading)").wait_for()
    assert root.locator(".dv-hcell[data-col='image']").count() == 0
    for row_id in range(ROWS):
        for v in (0, 1):
            img = image_cell(root, row_id, f"image@v{v}").locator(".dv-img")
            assert img.count() == 1
            assert img.locator("rect.dv-box").count() == len(boxes_for(row_id, v))
            assert img.locator("rect.dv-box[data-version]").count() == 0
    page.wait_for_timeout(300)
    session.shot("compare-images-side")
    toggle.locator(".dv-seg[data-mode='overlay']").click()
    image_cell(root, 1).locator(".dv-img:not(.dv-loading)").wait_for()

    # The detail view: one large overlaid picture, labels, a key to the versions.
    image_cell(root, 1).click()
    detail = root.locator(".dv-detail")
    detail.wait_for(state="visible")
    shown = read_image(page, ".dv-detail .dv-img")
    assert detail.locator(".dv-img").count() == 1
    boxes = shown["boxes"]
    assert sum(b["version"] == "0" for b in boxes) == len(boxes_for(1, 0))
    assert sum(b["version"] == "1" for b in boxes) == len(boxes_for(1, 1))
    assert detail.locator("text.dv-box-label").count() >= 1
    key = detail.locator(".dv-version-key .dv-version")
    assert [key.nth(i).inner_text() for i in range(key.count())] == ["v0", "v1"]
    assert detail.locator(".dv-mask-change-key").inner_text() == "mask changed in v1"
    check_mask_change(root, shown, 1)
    session.shot("compare-images-detail")

    # Dark theme: the same colours and line styles for the versions, the same changed pixels.
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=30_000)
    page.wait_for_timeout(800)
    background = rgb(root.evaluate("el => getComputedStyle(el).backgroundColor"))
    assert sum(background) < 200, background
    detail.locator(".dv-img:not(.dv-loading)").wait_for()
    session.shot("compare-images-detail-dark")
    page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    shown = read_image(page, cell_selector(3) + " .dv-img")
    check_overlaid(root, shown, 3)
    check_mask_change(root, shown, 3)
    page.wait_for_timeout(300)
    session.shot("compare-images-overlaid-dark")
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'", timeout=30_000)

    # Other pictures in the later version (re-shot brighter): side by side by default.
    run_cell(
        session, "dv.show(dv.compare(t0, table(1, brighter=20), on='id', labels=['v0', 'v1']))"
    )
    other = session.page.locator(".dv-root").last
    wait_status(other, rf"{ROWS} of {ROWS} rows")
    toggle = other.locator(".dv-image-compare")
    toggle.locator(".dv-seg[data-mode='side'][aria-pressed='true']").wait_for()
    image_cell(other, 1, "image@v1").locator(".dv-img").wait_for()
    assert other.locator(".dv-hcell[data-col='image']").count() == 0
    assert other.locator(".dv-hcell[data-col='image@v0']").count() == 1
    assert other.locator(".dv-hcell[data-col='image@v1']").count() == 1
