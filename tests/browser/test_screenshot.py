"""The pictures: the README's digits flow and every demo notebook's widgets, in a real
JupyterLab, in the light and the dark theme.

Normal runs check what each picture shows and save it under test-artifacts/screenshots/; only
with ``DSVIZ_UPDATE_SCREENSHOT=1`` are the chosen ones (``CHOSEN``) written, shrunk, to the
tracked ``docs/images/``::

    DSVIZ_UPDATE_SCREENSHOT=1 python -m pytest tests/browser/test_screenshot.py

The notebooks run as written, after one cell that points them at a store of their own
(``DSVIZ_DIR``) and, for 03, at ``DSVIZ_SCALE_ROWS`` rows (default 1,000,000; set it to
10000000 for the notebook's full size).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import nbformat
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import ARTIFACTS, REPO, Lab, Session, run_notebook
from tests.browser.test_grid import wait_status

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "screenshots"
IMAGES = REPO / "docs" / "images"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SCALE_ROWS = int(os.environ.get("DSVIZ_SCALE_ROWS", 1_000_000))
UPDATE = os.environ.get("DSVIZ_UPDATE_SCREENSHOT") == "1"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
MAX_WIDTH = 1000  # px of a docs image; wider screenshots are scaled down
MAX_BYTES = 150_000

# What each notebook's widgets say in their status line, in order (the lineage graph has none).
# A notebook not listed here is still run and photographed; its widgets must show rows.
STATUS = {
    "01_quickstart": [
        r"digits:v\d+/dataset · 1,797 of 1,797 rows",
        r"digits:v\d+/dataset · 10 groups · 1,797 rows",
        r"digits-predictions:v\d+/predictions · \d+ of 360 rows",
        r"compare\(digits-predictions:v\d+/predictions, digits-predictions:v\d+/predictions\)"
        r" · \d+ of 360 rows",
    ],
    "02_detection_segmentation": [
        r"skimage-samples:v\d+/samples · 20 of 20 rows",
        r"faces:v\d+/faces · \d+ of 20 rows",
        r"compare\(faces:v\d+/faces, faces:v\d+/faces\) · \d+ of 20 rows",
    ],
    "03_scale": [rf"predictions-10m:v\d+/predictions · {SCALE_ROWS:,} of {SCALE_ROWS:,} rows"],
    "04_from_wandb": [
        r"join\(val_pred_\w+:v0/val_epoch_results, val_pred_\w+:v4/val_epoch_results\) · 5 of 5 rows"
    ],
}

# The pictures the docs show: (screenshot name) -> docs/images file. At most a handful, each
# under MAX_BYTES once shrunk.
CHOSEN = {
    "digits-light": "digits-light.png",  # the README's first picture
    "01_quickstart-3-dark": "compare-dark.png",  # the README's second
    "01_quickstart-1-light": "grouped-light.png",
    "02_detection_segmentation-1-light": "faces-light.png",
    "02_detection_segmentation-0-dark": "segmentation-dark.png",
    "04_from_wandb-0-light": "masks-light.png",
}


def publish(shot: Path) -> None:
    """Write a chosen screenshot to docs/images/, scaled to MAX_WIDTH (and palette-reduced if
    still over MAX_BYTES) so the repository stays small."""
    target = CHOSEN.get(shot.stem)
    if not UPDATE or target is None:
        return
    im = Image.open(shot).convert("RGB")
    if im.width > MAX_WIDTH:
        im = im.resize((MAX_WIDTH, round(im.height * MAX_WIDTH / im.width)), Image.LANCZOS)
    # Full colour when it fits: a palette blurs the legend's small class swatches into greys.
    for colours in (None, 256, 128):
        out = io.BytesIO()
        small = im if colours is None else im.quantize(colours, method=Image.Quantize.MEDIANCUT)
        small.save(out, "PNG", optimize=True)
        if out.tell() <= MAX_BYTES:
            break
    IMAGES.mkdir(parents=True, exist_ok=True)
    (IMAGES / target).write_bytes(out.getvalue())


def set_theme(page: Page, theme: str) -> None:
    """Settings > Theme, as a person picks it; waits until the page has applied it."""
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    page.wait_for_function("(name) => document.body.dataset.jpThemeName === name", arg=theme)
    page.wait_for_timeout(500)  # the theme's stylesheet swaps in after the attribute


def background_sum(el: Locator) -> int:
    rgb = el.evaluate("el => getComputedStyle(el).backgroundColor")
    return sum(int(float(x)) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])


def settle(page: Page, widget: Locator) -> None:
    """Bring a widget on screen and wait until what is visible of it has arrived: thumbnails,
    header summaries, the rows themselves, a group page's values (counts come first)."""
    widget.scroll_into_view_if_needed()
    if widget.locator(".dv-grid, .dv-scroller").count():
        widget.locator(".dv-row[data-loaded='1']").first.wait_for(timeout=60_000)
        page.wait_for_function(
            '(r) => r.querySelectorAll(\'.dv-img.dv-loading, .dv-row[data-loaded="0"], '
            ".dv-cell.dv-pending').length"
            " === 0",
            arg=widget.element_handle(),
            timeout=60_000,
        )
        # Header summaries (histograms, top values) come after the first page.
        # A table whose columns have none (a grouped view, images only) waits in vain, briefly.
        with contextlib.suppress(PlaywrightTimeout):
            widget.locator(".dv-hcell svg.dv-summary").first.wait_for(timeout=20_000)
    page.wait_for_timeout(400)


def shoot(name: str, widget: Locator) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    widget.screenshot(path=str(path))
    publish(path)
    return path


def run_all(lab: Lab, session: Session, notebook: Path) -> None:
    """Open ``notebook`` (after a cell giving it its own store) in JupyterLab, run every cell,
    and check that none raised."""
    nb = nbformat.read(notebook, as_version=4)
    store = lab.root / f"{notebook.stem}-store"
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            f"import os\nos.environ['DSVIZ_DIR'] = {str(store)!r}\n"
            f"os.environ['DSVIZ_SCALE_ROWS'] = '{SCALE_ROWS}'"
        ),
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(lab.root / notebook.name))
    page = session.page
    page.goto(lab.url(notebook.name))
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
        "?.status === 'idle'",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")
    # Cell by cell, as a reader steps through a demo, each widget loading its first page before
    # the next cell holds the kernel. (With Run All, 02's first widget gives up after 60 s while
    # the face-detection cell runs: "the kernel did not answer within 60 s".)
    cells = page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length")
    for i in range(cells):
        page.evaluate(
            """async (i) => {
          const nb = window.jupyterapp.shell.currentWidget.content;
          nb.activeCellIndex = i;
          nb.widgets[i].node.scrollIntoView({block: 'center'});
          await window.jupyterapp.commands.execute('notebook:run-cell');
        }""",
            i,
        )
        page.wait_for_function(
            """(i) => {
          const panel = window.jupyterapp.shell.currentWidget;
          const cell = panel.content.widgets[i];
          return cell.model.type !== 'code' || (cell.model.executionCount != null
            && panel.sessionContext.session.kernel.status === 'idle');
        }""",
            arg=i,
            timeout=900_000,
        )
        page.wait_for_function(
            """(i) => {
          const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
          return [...cell.node.querySelectorAll('.dv-root .dv-status')]
            .every(s => /[\\d,]+ (of [\\d,]+ rows|groups)|Could not|rror/.test(s.textContent));
        }""",
            arg=i,
            timeout=120_000,
        )
    errors = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.model.sharedModel
        .toJSON().cells.flatMap(c => c.outputs || []).filter(o => o.output_type === 'error')
        .map(o => o.ename + ': ' + o.evalue)""")
    assert errors == [], errors


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_widgets_light_and_dark(lab: Lab, session: Session, notebook: Path) -> None:
    page = session.page
    page.set_viewport_size({"width": 1160, "height": 900})
    run_all(lab, session, notebook)
    roots, graphs = page.locator(".dv-root"), page.locator(".dv-lineage")
    expected = STATUS.get(notebook.stem)
    if expected is not None:
        page.wait_for_function(
            "(n) => document.querySelectorAll('.dv-root').length === n", arg=len(expected)
        )
    assert roots.count() > 0, "the notebook shows no widget"
    for i in range(roots.count()):
        roots.nth(i).scroll_into_view_if_needed()
        pattern = expected[i] if expected else r"[\d,]+ (of [\d,]+ rows|groups)"
        try:
            wait_status(roots.nth(i), pattern)
        except PlaywrightTimeout:
            statuses = roots.locator(".dv-status").all_text_contents()
            pytest.fail(f"widget {i} never showed {pattern!r}; the statuses are {statuses}")
    assert page.locator(".dv-status-error").count() == 0
    assert page.get_by_text(re.compile(r"Widget object at 0x")).count() == 0

    for theme, name in THEMES.items():
        set_theme(page, name)
        for i in range(roots.count()):
            settle(page, roots.nth(i))
            # The widget follows the theme: a light or a dark background, as the notebook's.
            assert (background_sum(roots.nth(i)) > 600) == (theme == "light")
            shoot(f"{notebook.stem}-{i}-{theme}", roots.nth(i))
        for i in range(graphs.count()):
            graph = graphs.nth(i)
            graph.scroll_into_view_if_needed()
            graph.locator(".dv-lineage-node").first.wait_for()
            page.wait_for_timeout(300)
            shoot(f"{notebook.stem}-lineage{'-' + str(i) if i else ''}-{theme}", graph)
    set_theme(page, THEMES["light"])
    assert not session.console_errors, session.console_errors


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
    root.locator(".dv-hcell[data-col='confidence'] svg").wait_for(timeout=30_000)
    root.locator(".dv-hcell[data-col='split'] svg").wait_for(timeout=30_000)
    settle(page, root)
    box = root.bounding_box()
    assert box is not None and 900 <= box["width"] <= 1200 and box["height"] == 560
    # The digits have classes but no boxes or masks: no legend or sliders, which would not act.
    assert not root.locator(".dv-legend").is_visible()
    assert root.locator(".dv-class, input.dv-range").count() == 0
    # The first row is the most confident mistake: its label and prediction differ.
    first = root.locator(".dv-row[aria-rowindex='1'][data-loaded='1']")
    assert first.locator("[data-col='label']").inner_text() != (
        first.locator("[data-col='predicted']").inner_text()
    )
    shoot("digits-light", root)
    set_theme(page, THEMES["dark"])
    try:
        settle(page, root)
        assert background_sum(root) < 200
        shoot("digits-dark", root)
    finally:
        set_theme(page, THEMES["light"])
    assert not session.console_errors, session.console_errors
