"""Image controls only where they act: the legend and sliders follow what the images draw, the
legend lists the classes present, and box labels neither overlap nor leave the image."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import ARTIFACTS, Lab, Session, run_notebook
from tests.browser.test_grid import wait_status

pytestmark = pytest.mark.browser

TABLES = """
import numpy as np
import dsviz_widget as dv
NAMES = ['background', 'cat', 'dog', 'car', 'bus', 'tree', 'sky', 'road', 'person', 'bike']
classes = dv.Classes([{'id': i, 'name': n} for i, n in enumerate(NAMES)])
rng = np.random.default_rng(7)

def pixels(i, w=320, h=240):
    return np.full((h, w, 3), (40 + 20 * i, 90, 150), np.uint8)

plain = dv.Table(('id', 'image'))
for i in range(4):
    plain.add_data(i, dv.Image(pixels(i, 64, 48), classes=classes))

# Crowded: 9 boxes of classes 1, 3 and 8 only (of 10) around the same spot, with scores;
# some captions already carry the score, as W&B's examples write them.
boxed = dv.Table(('id', 'image'))
for i in range(6):
    data = []
    for j in range(9):
        cid = [1, 3, 8][j % 3]
        score = round(float(rng.uniform(0.2, 0.99)), 3)
        x, y = float(rng.uniform(0.25, 0.55)), float(rng.uniform(0.2, 0.5))
        box = {'position': {'minX': x, 'maxX': x + 0.2, 'minY': y, 'maxY': y + 0.25},
               'class_id': cid, 'scores': {'score': score}}
        if j % 2:
            box['box_caption'] = f"{NAMES[cid]} ({score:.3f})"
        data.append(box)
    boxed.add_data(i, dv.Image(pixels(i), classes=classes, boxes={'pred': {'box_data': data}}))

masked = dv.Table(('id', 'image'))
mask = np.zeros((48, 64), np.uint8)
mask[5:20, 5:30] = 4
mask[25:40, 30:60] = 6
for i in range(3):
    masked.add_data(i, dv.Image(pixels(i, 64, 48), classes=classes, masks={'gt': {'mask_data': mask}}))
"""


def chips(root: Locator) -> list[str]:
    return root.locator(".dv-class").all_inner_texts()


def sliders(root: Locator) -> list[str]:
    return [s.get_attribute("aria-label") or "" for s in root.locator("input.dv-range").all()]


def test_legend_and_sliders_only_where_they_act(lab: Lab, session: Session) -> None:
    run_notebook(lab, session, "controls.ipynb", [TABLES, "plain", "boxed", "masked"])
    roots = session.page.locator(".dv-root")
    roots.nth(2).wait_for(state="visible", timeout=60_000)
    plain, boxed, masked = roots.nth(0), roots.nth(1), roots.nth(2)
    wait_status(plain, r"4 of 4 rows")
    wait_status(boxed, r"6 of 6 rows")
    wait_status(masked, r"3 of 3 rows")
    # The kernel's description arrived (rows are on screen): the legends are settled.
    plain.locator(".dv-row[data-loaded='1']").first.wait_for()
    boxed.locator(".dv-row[data-loaded='1']").first.wait_for()
    masked.locator(".dv-row[data-loaded='1']").first.wait_for()

    # Images without boxes or masks: no legend, no sliders.
    assert not plain.locator(".dv-legend").is_visible()
    assert sliders(plain) == [] and chips(plain) == []
    # Scored boxes of 3 of the 10 classes: exactly those 3, in id order; a score slider and no
    # mask opacity (there are no masks).
    assert boxed.locator(".dv-legend").is_visible()
    assert chips(boxed) == ["cat", "car", "person"]
    assert sliders(boxed) == ["score ≥"]
    # Masks without boxes: the classes their pixels paint (ids 4, 6; 0 is uncoloured
    # background, so it has no toggle), an opacity slider, no score slider.
    assert masked.locator(".dv-legend").is_visible()
    assert chips(masked) == ["bus", "sky"]
    assert sliders(masked) == ["mask opacity"]
    boxed.screenshot(path=str(ARTIFACTS / "controls-boxed.png"))
    masked.screenshot(path=str(ARTIFACTS / "controls-masked.png"))
    plain.screenshot(path=str(ARTIFACTS / "controls-plain.png"))
    assert not session.console_errors, session.console_errors


LABELS_JS = """host => {
  const [fx, fy, fw, fh] = JSON.parse(host.dataset.frame);
  const h = host.getBoundingClientRect();
  const frame = {x: h.left + fx, y: h.top + fy, w: fw, h: fh};
  const labels = [...host.querySelectorAll('.dv-box-label-g')].map((g) => {
    const r = g.querySelector('rect').getBoundingClientRect();
    const t = g.querySelector('text').getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height, text: g.textContent,
            tx: t.left, ty: t.top, tw: t.width, th: t.height};
  });
  const boxes = host.querySelectorAll('rect.dv-box').length;
  return {frame, labels, boxes};
}"""


def check_labels(host: Locator) -> dict[str, Any]:
    got: dict[str, Any] = host.evaluate(LABELS_JS)
    f, labels = got["frame"], got["labels"]
    assert labels, "no label was drawn"
    tol = 0.75  # sub-pixel rounding of SVG coordinates
    for lab in labels:
        assert lab["x"] >= f["x"] - tol and lab["y"] >= f["y"] - tol, (lab, f)
        assert lab["x"] + lab["w"] <= f["x"] + f["w"] + tol, (lab, f)
        assert lab["y"] + lab["h"] <= f["y"] + f["h"] + tol, (lab, f)
        # The text stays on its background.
        assert lab["tx"] >= lab["x"] - tol and lab["tx"] + lab["tw"] <= lab["x"] + lab["w"] + tol
    for a, b in itertools.combinations(labels, 2):
        apart = (
            a["x"] + a["w"] <= b["x"] + tol
            or b["x"] + b["w"] <= a["x"] + tol
            or a["y"] + a["h"] <= b["y"] + tol
            or b["y"] + b["h"] <= a["y"] + tol
        )
        assert apart, (a, b)
    return got


def test_box_labels_do_not_overlap_and_stay_inside(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "labels.ipynb", [TABLES, "boxed"])
    wait_status(root, r"6 of 6 rows")
    thumb = root.locator(".dv-row[aria-rowindex='1'][data-loaded='1'] .dv-img")
    thumb.wait_for()
    root.locator(".dv-row[aria-rowindex='3'] .dv-img:not(.dv-loading)").wait_for()
    for row in (1, 2, 3):
        got = check_labels(root.locator(f".dv-row[aria-rowindex='{row}'] .dv-img"))
        assert got["boxes"] == 9
    session.page.wait_for_timeout(300)
    session.shot("labels-grid-light")

    root.locator(".dv-row[aria-rowindex='1'] [data-col='image']").click()
    detail = root.locator(".dv-detail")
    detail.wait_for(state="visible")
    host = detail.locator(".dv-img")
    detail.locator(".dv-img:not(.dv-loading)").wait_for()
    got = check_labels(host)
    texts = [lab["text"] for lab in got["labels"]]
    # The score once: a caption carrying it is shown as it is, a bare class gets it added.
    for text in texts:
        assert text.count("0.") <= 1 or "…" in text, texts
    assert any("(" in t for t in texts) and any("(" not in t for t in texts), texts
    session.page.wait_for_timeout(300)
    session.shot("labels-detail-light")

    session.page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    session.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    session.page.wait_for_timeout(800)
    session.shot("labels-detail-dark")
    session.page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    check_labels(root.locator(".dv-row[aria-rowindex='2'] .dv-img"))
    session.shot("labels-grid-dark")
    session.page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    session.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    assert not session.console_errors, session.console_errors
