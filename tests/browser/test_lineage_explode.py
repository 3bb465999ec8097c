"""The lineage graph of a real pipeline: steps collapsed and exploded, and a clicked artifact
version opening its table in a grid under the graph."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import ARTIFACTS, Lab, Session, run_all

pytestmark = pytest.mark.browser

PIPELINE = """
import tempfile
import dsviz_widget as dv
root = tempfile.mkdtemp()
with dv.init(project="cars", job_type="dataset", dir=root) as run:
    data = dv.Artifact("data", type="dataset")
    data.add(dv.Table(["id"], [[i] for i in range(5)]), "rows")
    data.add(dv.Table(["label"], [["car"], ["bus"], ["van"]]), "labels")
    run.log_artifact(data)
for n in (4, 6, 8):
    with dv.init(project="cars", job_type="train", dir=root) as run:
        run.use_artifact("data:v0")
        preds = dv.Artifact("predictions", type="predictions")
        preds.add(dv.Table(["id", "score"], [[i, i / 10] for i in range(n)]), "preds")
        run.log_artifact(preds)
"""


def open_lineage(lab: Lab, session: Session) -> Locator:
    cells = [PIPELINE, 'dv.lineage("data:v0", dir=root)']
    graph = run_all(lab, session, "pipeline.ipynb", cells).locator(".dv-lineage")
    graph.wait_for(timeout=60_000)
    return graph


def overlaps(nodes: Locator) -> list[tuple[int, int]]:
    boxes = [nodes.nth(i).bounding_box() for i in range(nodes.count())]
    out = []
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes[:i]):
            assert a is not None and b is not None
            if (
                a["x"] < b["x"] + b["width"]
                and b["x"] < a["x"] + a["width"]
                and a["y"] < b["y"] + b["height"]
                and b["y"] < a["y"] + a["height"]
            ):
                out.append((j, i))
    return out


def output_area(graph: Locator) -> Locator:
    return graph.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea')][1]")


def wait_rows(area: Locator, text: str) -> None:
    area.locator(".dv-root .dv-status", has_text=re.compile(text)).wait_for(timeout=30_000)


def test_steps_collapse_explode_and_versions_open_their_tables(lab: Lab, session: Session) -> None:
    graph = open_lineage(lab, session)
    nodes = graph.locator(".dv-lineage-node")
    toggle = graph.get_by_label("Explode")
    # Collapsed: dataset -> data:v0 -> train ×3 -> predictions ×3.
    assert not toggle.is_checked()
    assert nodes.count() == 4
    labels = sorted(nodes.nth(i).locator("text.dv-label").text_content() or "" for i in range(4))
    # The one dataset run is not grouped: it shows its own name, job type and start time.
    assert labels[:1] + labels[2:] == ["data:v0", "predictions ×3", "train ×3"]
    assert re.fullmatch(r"dataset · \d{4}-\d\d-\d\d \d\d:\d\d", labels[1])
    assert graph.locator(".dv-lineage-edge").count() == 3
    assert "4 runs, 4 artifact versions" in graph.locator(".dv-lineage-bar").inner_text()
    assert overlaps(nodes) == []
    ARTIFACTS.mkdir(exist_ok=True)
    graph.screenshot(path=str(ARTIFACTS / "lineage-collapsed.png"))

    # Explode: every run and every version, still without overlaps.
    toggle.check()
    graph.locator(".dv-lineage-node[data-id^='run:']").nth(3).wait_for()
    assert nodes.count() == 8
    assert graph.locator(".dv-run").count() == 4 and "×3" not in (
        graph.locator("svg").text_content() or ""
    )
    trains = graph.locator(".dv-run", has_text="train")
    assert trains.count() == 3
    # Each run of the step shows its own short id under the step name.
    ids = {trains.nth(i).locator("text.dv-detail").text_content() for i in range(3)}
    assert len(ids) == 3
    assert graph.locator(".dv-lineage-edge").count() == 7
    assert overlaps(nodes) == []
    graph.screenshot(path=str(ARTIFACTS / "lineage-exploded.png"))

    # Clicking a version shows its table under the graph, with its row count.
    area = output_area(graph)
    graph.locator(".dv-lineage-node[data-id='artifact:predictions:v1']").click()
    wait_rows(area, r"\b6 of 6 rows")
    assert graph.locator(".dv-lineage-opened").inner_text() == "predictions:v1"
    assert (
        graph.locator(".dv-lineage-node.dv-active").get_attribute("data-id")
        == "artifact:predictions:v1"
    )
    area.screenshot(path=str(ARTIFACTS / "lineage-open-version.png"))

    # A version with two tables offers a choice; the first is shown, the other on request.
    graph.locator(".dv-lineage-node[data-id='artifact:data:v0']").click()
    wait_rows(area, r"\b3 of 3 rows")
    select = graph.locator("select.dv-lineage-tables")
    assert select.locator("option").all_inner_texts() == ["labels", "rows"]
    select.select_option("rows")
    wait_rows(area, r"\b5 of 5 rows")
    assert area.locator(".dv-root").count() == 1  # the grid is replaced, not stacked
    area.screenshot(path=str(ARTIFACTS / "lineage-open-tables.png"))

    # Collapsed again, clicking the group of versions opens the newest.
    toggle.uncheck()
    graph.locator(".dv-lineage-node", has_text="predictions ×3").click()
    wait_rows(area, r"\b8 of 8 rows")
    assert graph.locator(".dv-lineage-opened").inner_text() == "predictions:v2"
    assert session.console_errors == [] and session.dialogs == []

    # Dark mode: the graph follows the JupyterLab theme.
    page = session.page
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(800)
    rgb = graph.evaluate("el => getComputedStyle(el).backgroundColor")
    assert sum(int(float(x)) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]) < 200
    graph.screenshot(path=str(ARTIFACTS / "lineage-dark.png"))
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")


def test_clicking_a_run_clears_the_tables(lab: Lab, session: Session) -> None:
    graph = open_lineage(lab, session)
    area = output_area(graph)
    graph.locator(".dv-lineage-node", has_text="data:v0").click()
    wait_rows(area, r"\b3 of 3 rows")
    graph.locator(".dv-lineage-node", has_text="train ×3").click()
    area.locator(".dv-root").wait_for(state="detached")
    assert "Click an artifact version" in graph.locator(".dv-lineage-footer").inner_text()
