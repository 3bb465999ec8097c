"""Image cells: boxes and masks over thumbnails, the legend, the detail view, the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser


def boxes_in_row(root: Locator, row: int) -> Locator:
    return root.locator(
        f".dv-row[aria-rowindex='{row}'][data-loaded='1'] [data-col='image'] rect.dv-box"
    )


def test_boxes_legend_detail_keyboard(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "images.ipynb",
        [
            SETUP,
            "t, read_blob, _ = _synth.image_table(24, width=160, height=120)\n"
            "w = show(Source.from_arrow(t), read_blob=read_blob)\nw",
        ],
    )
    wait_status(root, r"24 of 24 rows")
    # Row i has i % 3 + 1 boxes (classes 1..k): rows 1, 2, 3 show 1, 2, 3 boxes.
    for row, expected in ((1, 1), (2, 2), (3, 3)):
        boxes_in_row(root, row).first.wait_for()
        assert boxes_in_row(root, row).count() == expected
    # Thumbnails arrived: no cell is still loading.
    root.locator(".dv-row[aria-rowindex='3'] .dv-img:not(.dv-loading)").wait_for()
    session.page.wait_for_timeout(300)
    session.shot("images-grid")

    # Hiding class "cat" (id 1) removes one box from every row; showing it brings it back.
    chip = root.locator(".dv-class[data-column='image'][data-class='1']")
    chip.click()
    root.locator(".dv-class[data-class='1'][aria-pressed='false']").wait_for()
    session.page.wait_for_timeout(200)
    assert boxes_in_row(root, 1).count() == 0
    assert boxes_in_row(root, 3).count() == 2
    session.shot("images-cat-hidden")
    chip.click()
    root.locator(".dv-class[data-class='1'][aria-pressed='true']").wait_for()
    session.page.wait_for_timeout(200)
    assert boxes_in_row(root, 3).count() == 3

    # Score threshold 0.5: boxes scored 0.3 (the first of each row) disappear.
    slider = root.locator("input.dv-range[aria-label='score ≥']")
    slider.evaluate(
        "el => { el.value = '0.5'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    session.page.wait_for_timeout(300)
    assert boxes_in_row(root, 3).count() == 2
    slider.evaluate(
        "el => { el.value = '0'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )

    # Clicking an image opens the detail view with labels; Esc closes it.
    root.locator(".dv-row[aria-rowindex='3'] [data-col='image']").click()
    detail = root.locator(".dv-detail")
    detail.wait_for(state="visible")
    detail.locator("rect.dv-box").nth(2).wait_for()
    assert detail.locator("rect.dv-box").count() == 3
    assert (detail.locator("text.dv-box-label").first.text_content() or "").startswith("cat")
    detail.locator(".dv-img:not(.dv-loading)").wait_for()
    session.page.wait_for_timeout(300)
    session.shot("images-detail")
    session.page.keyboard.press("Escape")
    detail.wait_for(state="hidden")

    # Keyboard: arrows move the selection, Enter opens the detail view.
    root.locator(".dv-row[aria-rowindex='1'] [data-col='label']").click()
    root.locator(".dv-row.dv-selected[aria-rowindex='1']").wait_for()
    session.page.keyboard.press("ArrowDown")
    session.page.keyboard.press("ArrowDown")
    session.page.keyboard.press("ArrowUp")
    root.locator(".dv-row.dv-selected[aria-rowindex='2']").wait_for()
    session.page.keyboard.press("Enter")
    detail.wait_for(state="visible")
    assert "Row 2 of 24" in detail.locator(".dv-detail-title").inner_text()
    session.page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    assert not session.console_errors, session.console_errors


def test_a_table_as_the_last_expression_shows_the_widget(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "table.ipynb",
        [
            "import numpy as np\nimport dsviz_widget as dv\n"
            "classes = dv.Classes([{'id': 0, 'name': 'bg'}, {'id': 1, 'name': 'cat'}, {'id': 2, 'name': 'dog'}])\n"
            "t = dv.Table(('id', 'image', 'label'))\n"
            "for i in range(6):\n"
            "    m = np.zeros((60, 80), np.uint8); m[10:40, 10:40] = 1; m[30:55, 45:75] = 2\n"
            "    boxes = [{'position': {'minX': 0.1, 'maxX': 0.5, 'minY': 0.15, 'maxY': 0.65}, 'class_id': 1,"
            " 'scores': {'score': 0.9}}]\n"
            "    if i % 2: boxes.append({'position': {'middle': [0.75, 0.7], 'width': 0.4, 'height': 0.4},"
            " 'class_id': 2, 'box_caption': 'a dog'})\n"
            "    t.add_data(i, dv.Image(np.full((60, 80, 3), 30 + 30 * i, np.uint8), classes=classes,"
            " boxes={'pred': {'box_data': boxes}}, masks={'gt': {'mask_data': m}}), ['cat', 'dog'][i % 2])\n",
            "t",
        ],
    )
    wait_status(root, r"6 of 6 rows")
    boxes_in_row(root, 2).nth(1).wait_for()
    assert boxes_in_row(root, 1).count() == 1 and boxes_in_row(root, 2).count() == 2
    root.locator(".dv-row[aria-rowindex='2'] .dv-img:not(.dv-loading)").wait_for()
    session.page.wait_for_timeout(300)
    session.shot("table-display")
    assert not session.console_errors, session.console_errors
