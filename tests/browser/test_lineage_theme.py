"""The lineage graph, and dark mode following the JupyterLab theme."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, Lab, Session, run_all, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser


def test_lineage_graph_draws_runs_and_artifacts(lab: Lab, session: Session) -> None:
    page = run_all(
        lab,
        session,
        "lineage.ipynb",
        [
            "from dsviz_widget.widget import LineageWidget\n"
            "g = {'nodes': [{'id': 'a0', 'kind': 'artifact', 'label': 'raw-data:v0'},"
            " {'id': 'r1', 'kind': 'run', 'label': 'train <script>x</script>'},"
            " {'id': 'a1', 'kind': 'artifact', 'label': 'model:v3'}],"
            " 'edges': [{'source': 'a0', 'target': 'r1', 'kind': 'used'},"
            " {'source': 'r1', 'target': 'a1', 'kind': 'produced'}]}\n"
            "w = LineageWidget(g)\nw",
        ],
    )
    graph = page.locator(".dv-lineage")
    graph.wait_for()
    nodes = graph.locator(".dv-lineage-node")
    assert nodes.count() == 3 and graph.locator(".dv-lineage-edge").count() == 2
    assert graph.locator(".dv-run").count() == 1
    assert graph.locator("script").count() == 0
    # Laid out left to right: artifact -> run -> artifact.
    boxes = [nodes.nth(i).bounding_box() for i in range(3)]
    xs = [b["x"] for b in boxes if b is not None]
    assert xs[0] < xs[1] < xs[2]
    nodes.nth(2).click()
    graph.locator(".dv-lineage-node.dv-active[data-id='a1']").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    graph.screenshot(path=str(ARTIFACTS / "lineage.png"))
    assert session.dialogs == []


def test_dark_mode_follows_the_theme(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "dark.ipynb",
        [
            SETUP,
            "t, read_blob, _ = _synth.image_table(8, width=120, height=90)\n"
            "w = show(Source.from_arrow(t), read_blob=read_blob)\nw",
        ],
    )
    wait_status(root, r"8 of 8 rows")

    def background() -> list[int]:
        rgb = root.evaluate("el => getComputedStyle(el).backgroundColor")
        return [int(float(x)) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]

    assert sum(background()) > 600  # light
    session.page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    session.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    session.page.wait_for_timeout(800)
    assert sum(background()) < 200  # dark
    root.locator(".dv-row[aria-rowindex='2'] .dv-img:not(.dv-loading)").wait_for()
    session.shot("dark")
    session.page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
