"""The main flows in Jupyter Notebook 7 (not only JupyterLab): the widget shows its rows, sorts,
filters, opens the detail view, draws thumbnails and the lineage graph, and follows the theme."""

from __future__ import annotations

import sys

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import ARTIFACTS, Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import SETUP, first_values, wait_status

pytestmark = pytest.mark.browser


def rgb(locator: Locator, prop: str) -> tuple[int, int, int]:
    """The computed colour ``prop`` of the element, as 0..255 integers."""
    value = locator.evaluate("(el, p) => getComputedStyle(el)[p]", prop)
    r, g, b = (int(float(x)) for x in value[value.index("(") + 1 : value.index(")")].split(",")[:3])
    return r, g, b


# Notebook 7.6's shortcuts plugin throws this on every page load, with any notebook, before a
# cell runs (pluginChanged for a plugin its registry never loaded): its error, not the widget's.
NOTEBOOK7_OWN = {"Cannot read properties of undefined (reading 'schema')"}


def our_errors(session: Session) -> list[str]:
    return [e for e in session.console_errors if e not in NOTEBOOK7_OWN]


def set_theme(session: Session, theme: str) -> None:
    """Switch the theme as a person does from Settings > Theme (the same command, which
    Notebook 7 shares with JupyterLab), and wait until the page says it is applied."""
    light = "true" if theme == "JupyterLab Light" else "false"
    session.page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    session.page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    session.page.wait_for_function(
        "(name) => document.body.dataset.jpThemeName === name", arg=theme
    )


def test_rows_sort_filter_and_python_in_notebook7(nb7: Lab, session: Session) -> None:
    sys.path.insert(0, str(nb7.root))
    import _synth  # the same module the kernel imports

    t = _synth.big_table(50_000).to_pandas()
    root = run_notebook(
        nb7,
        session,
        "nb7-grid.ipynb",
        [
            SETUP,
            "t = _synth.big_table(50_000)\nw = show(Source.from_arrow(t), read_blob=lambda d: b'')\nw",
        ],
    )
    page = session.page
    assert "/notebooks/nb7-grid.ipynb" in page.url
    # Notebook 7's own page, not JupyterLab's: one document, no dock panel of tabs.
    assert page.locator("#main-panel").count() == 1 and page.locator(".jp-Launcher").count() == 0
    wait_status(root, r"50,000 of 50,000 rows")
    root.locator(".dv-row[aria-rowindex='3'][data-loaded='1']").wait_for()
    # The widget fills the notebook's width and shows more than a handful of rows.
    box, cell = root.bounding_box(), page.locator(".jp-Cell").nth(1).bounding_box()
    assert box is not None and cell is not None
    assert box["width"] > 0.7 * cell["width"] and box["height"] >= 300
    assert root.locator(".dv-row[data-loaded='1']").count() >= 8
    session.shot("nb7-grid")

    # Click a header: ascending by score, the smallest scores first, as pandas sorts them.
    root.locator(".dv-hcell[data-col='score'] .dv-hname").click()
    root.locator(".dv-hcell[data-col='score'][aria-sort='ascending']").wait_for()
    page.wait_for_timeout(300)
    assert [float(v) for v in first_values(root, "score")] == list(t["score"].nsmallest(3))
    session.shot("nb7-sorted")

    # Typing a filter: the count is pandas' count of the same rows.
    dogs = int(((t["label"] == "dog") & (t["x"] > 500)).sum())
    filter_box = root.locator(".dv-filter-input")
    filter_box.fill("label == 'dog' and x > 500")
    filter_box.press("Enter")
    wait_status(root, rf"{dogs:,} of 50,000 rows")
    assert set(first_values(root, "label")) == {"dog"}
    # A later cell on the live kernel sees what the person typed (run_cell works in Notebook 7).
    out = run_cell(session, "print(repr(w.filter), w.sort)")
    assert "\"label == 'dog' and x > 500\"" in out and "score" in out
    assert not our_errors(session), session.console_errors


def test_thumbnails_detail_and_dark_theme_in_notebook7(nb7: Lab, session: Session) -> None:
    root = run_notebook(
        nb7,
        session,
        "nb7-images.ipynb",
        [
            SETUP,
            "t, read_blob, _ = _synth.image_table(8, width=160, height=120)\n"
            "w = show(Source.from_arrow(t), read_blob=read_blob)\nw",
        ],
    )
    page = session.page
    wait_status(root, r"8 of 8 rows")
    canvas = root.locator(".dv-row[aria-rowindex='2'] .dv-img:not(.dv-loading) canvas").first
    canvas.wait_for()
    # The thumbnail is drawn: its pixels are not all one colour (the synthetic image has a
    # background and coloured rectangles).
    colours = canvas.evaluate("""c => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 16) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
      return seen.size;
    }""")
    assert colours >= 3 and canvas.evaluate("c => c.width > 0 && c.height > 0")

    # Clicking an image opens the detail view on its row; Esc closes it.
    root.locator(".dv-row[aria-rowindex='3'] [data-col='image']").click()
    detail = root.locator(".dv-detail")
    detail.wait_for(state="visible")
    assert "Row 3 of 8" in detail.locator(".dv-detail-title").inner_text()
    detail.locator(".dv-img:not(.dv-loading)").first.wait_for()
    assert detail.locator("rect.dv-box").count() == 3
    session.shot("nb7-detail")
    page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    # Arrows move the widget's cursor and Enter opens its row; Notebook 7, which matches its
    # shortcuts before the widget sees a key, must not take them (no cell change, no edit mode).
    active = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
    cells_before = page.locator(".jp-Cell").count()
    root.locator(".dv-row[aria-rowindex='1'] [data-col='label']").click()
    root.locator(".dv-row.dv-selected[aria-rowindex='1']").wait_for()
    cell_before = page.evaluate(active)
    page.keyboard.press("ArrowDown")
    root.locator(".dv-row.dv-selected[aria-rowindex='2']").wait_for()
    assert page.evaluate(active) == cell_before
    page.keyboard.press("Enter")
    detail.wait_for(state="visible")
    assert "Row 2 of 8" in detail.locator(".dv-detail-title").inner_text()
    page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    assert page.locator(".jp-Cell").count() == cells_before
    assert page.evaluate(active) == cell_before
    assert page.locator(".jp-Notebook.jp-mod-editMode").count() == 0

    # Dark theme: the widget's background turns dark and its text light, as the notebook's.
    assert sum(rgb(root, "backgroundColor")) > 600
    set_theme(session, "JupyterLab Dark")
    try:
        page.wait_for_function(
            "(r) => { const m = getComputedStyle(r).backgroundColor.match(/\\d+/g);"
            " return m && +m[0] + +m[1] + +m[2] < 200; }",
            arg=root.element_handle(),
        )
        bg, fg = rgb(root, "backgroundColor"), rgb(root, "color")
        assert sum(bg) < 200 and sum(fg) > 450, (bg, fg)
        cell = root.locator(".dv-row[aria-rowindex='1'] [data-col='label']")
        assert sum(rgb(cell, "color")) > 450
        header = root.locator(".dv-hcell[data-col='label']")
        assert sum(rgb(header, "color")) > 450
        page.wait_for_timeout(300)
        session.shot("nb7-dark")
    finally:
        set_theme(session, "JupyterLab Light")
    assert not our_errors(session), session.console_errors


def test_lineage_graph_in_notebook7(nb7: Lab, session: Session) -> None:
    run_notebook_cells = [
        "import os, tempfile\nimport dsviz_widget as dv\n"
        "os.environ['DSVIZ_DIR'] = tempfile.mkdtemp(dir='.')\n"
        "with dv.init(project='p', job_type='make-data') as run:\n"
        "    t = dv.Table(('id', 'label'), data=[[0, 'a'], [1, 'b']])\n"
        "    a = dv.Artifact('data', type='dataset'); a.add(t, 'table'); run.log_artifact(a)\n"
        "with dv.init(project='p', job_type='train') as run:\n"
        "    run.use_artifact('data:latest')\n"
        "    m = dv.Artifact('model', type='model'); m.add(dv.Table(('k',), data=[[1]]), 'm')\n"
        "    run.log_artifact(m)",
        "dv.lineage(m)",
    ]
    nb7.write_notebook("nb7-lineage.ipynb", run_notebook_cells)
    page = session.page
    page.goto(nb7.url("nb7-lineage.ipynb"))
    page.wait_for_function(
        "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel"
        "?.status === 'idle'",
        timeout=60_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    graph = page.locator(".dv-lineage")
    graph.wait_for()
    nodes = graph.locator(".dv-lineage-node")
    nodes.nth(3).wait_for()
    labels = sorted(nodes.all_text_contents())
    assert nodes.count() == 4 and graph.locator(".dv-lineage-edge").count() == 3, labels
    assert any("data:v0" in x for x in labels) and any("model:v0" in x for x in labels)
    # Laid out left to right within the notebook's width: data, its run, train, model.
    box, svg = graph.bounding_box(), graph.locator("svg").first.bounding_box()
    assert box is not None and svg is not None and box["width"] > 300
    assert svg["x"] >= box["x"] - 1 and svg["x"] + svg["width"] <= box["x"] + box["width"] + 1
    xs = {
        nodes.nth(i).text_content() or "": (nodes.nth(i).bounding_box() or {"x": 0.0})["x"]
        for i in range(4)
    }
    data_x = next(x for k, x in xs.items() if "data:v0" in k)
    model_x = next(x for k, x in xs.items() if "model:v0" in k)
    assert data_x < model_x
    ARTIFACTS.mkdir(exist_ok=True)
    graph.screenshot(path=str(ARTIFACTS / "nb7-lineage.png"))
    assert not our_errors(session), session.console_errors
