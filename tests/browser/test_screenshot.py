"""The README picture: the quickstart flow on scikit-learn's digits, in a real JupyterLab.

Normal runs check what the picture shows and save it under test-artifacts/; only with
``DSVIZ_UPDATE_SCREENSHOT=1`` is the tracked ``docs/screenshot.png`` rewritten.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser.conftest import REPO, Lab, Session, run_notebook
from tests.browser.test_grid import wait_status

pytestmark = pytest.mark.browser

CELLS = [
    """\
import os
os.environ["DSVIZ_DIR"] = os.path.abspath("digits-store")
import numpy as np
import dsviz_widget as dv
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

digits = load_digits()
images = (digits.images * (255 / 16)).astype(np.uint8)
model = LogisticRegression(max_iter=300).fit(digits.data[::2], digits.target[::2])
proba = model.predict_proba(digits.data)""",
    """\
run = dv.init(project="digits", job_type="create-dataset")
classes = dv.Classes([{"id": i, "name": str(i)} for i in range(10)])
table = dv.Table(("id", "image", "label", "predicted", "confidence", "split"))
for i, (pixels, label) in enumerate(zip(images, digits.target)):
    big = np.kron(pixels, np.ones((4, 4), np.uint8))          # 8x8 -> 32x32
    table.add_data(i, dv.Image(big, classes=classes), str(label), str(proba[i].argmax()),
                   round(float(proba[i].max()), 3), "train" if i % 2 == 0 else "test")
art = dv.Artifact("digits", type="dataset"); art.add(table, "dataset")
dv.log_artifact(art)
same = dv.use_artifact("digits:latest").get("dataset")
w = dv.show(same, filter="label != predicted", sort=["-confidence"], height=560)
w""",
]


def test_readme_screenshot(lab: Lab, session: Session) -> None:
    page = session.page
    page.set_viewport_size({"width": 1160, "height": 900})
    root = run_notebook(lab, session, "digits.ipynb", CELLS)
    text = wait_status(root, r"\d+ of 1,797 rows")
    wrong = int(text.split(" of ")[0].split("· ")[-1])
    assert 0 < wrong < 200  # a few dozen mistakes, on the held-out half
    page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")
    # Every visible thumbnail has arrived and the header summaries are drawn.
    root.locator(".dv-row[aria-rowindex='5'] .dv-img canvas").wait_for()
    page.wait_for_function(
        "(r) => r.querySelectorAll('.dv-img.dv-loading').length === 0", arg=root.element_handle()
    )
    root.locator(".dv-hcell[data-col='confidence'] svg").wait_for(timeout=30_000)
    root.locator(".dv-hcell[data-col='split'] svg").wait_for(timeout=30_000)
    page.wait_for_timeout(300)
    root.scroll_into_view_if_needed()
    box = root.bounding_box()
    assert box is not None and 900 <= box["width"] <= 1200 and box["height"] == 560
    # The digits have classes but no boxes or masks: no legend or sliders, which would not act.
    assert not root.locator(".dv-legend").is_visible()
    assert root.locator(".dv-class, input.dv-range").count() == 0
    shot = session.shot("readme-digits")
    if os.environ.get("DSVIZ_UPDATE_SCREENSHOT") == "1":
        shutil.copy(shot, REPO / "docs" / "screenshot.png")
    assert not session.console_errors, session.console_errors
