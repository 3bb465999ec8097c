"""The lineage graph as a person reads it: unnamed runs by job type and start time, a large
graph fitted to the output's width and panned and zoomed, exploded versions in number order,
in light and dark themes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Locator, Page

from tests.browser.conftest import ARTIFACTS, Lab, Session, run_all

pytestmark = pytest.mark.browser

UNNAMED = """
import tempfile
import dsviz_widget as dv
root = tempfile.mkdtemp()
with dv.init(project="cars", job_type="train", dir=root) as run:
    model = dv.Artifact("model", type="model")
    model.add(dv.Table(["w"], [[0.5]]), "weights")
    run.log_artifact(model)
print(run.name)
dv.lineage(run)
"""

# raw:v0 -> 11 ingest runs -> data:v0..v10 -> an eval run for each version (reading only) and
# 60 train runs -> 12 models x 5 versions. Run ids are random, so nothing but the layout puts
# data:v10 after data:v9.
LARGE = """
import tempfile
import dsviz_widget as dv
root = tempfile.mkdtemp()
def table(value):
    return dv.Table(["value"], [[value]])
with dv.init(project="p", job_type="download", dir=root) as run:
    raw = dv.Artifact("raw", type="dataset"); raw.add(table(-1), "t"); run.log_artifact(raw)
for v in range(11):
    with dv.init(project="p", job_type="ingest", dir=root) as run:
        run.use_artifact("raw:v0")
        data = dv.Artifact("data", type="dataset"); data.add(table(v), "t"); run.log_artifact(data)
for v in range(11):
    with dv.init(project="p", job_type="eval", dir=root) as run:
        run.use_artifact(f"data:v{v}")
for j in range(60):
    with dv.init(project="p", job_type="train", dir=root) as run:
        run.use_artifact(f"data:v{j % 11}")
        model = dv.Artifact(f"model-{j // 5:02d}", type="model")
        model.add(table(j), "t"); run.log_artifact(model)
dv.lineage("raw:v0", dir=root)
"""


def open_graph(lab: Lab, session: Session, name: str, code: str) -> Locator:
    graph = run_all(lab, session, name, [code]).locator(".dv-lineage")
    graph.wait_for(timeout=120_000)
    return graph


def set_theme(page: Page, dark: bool) -> None:
    theme = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.evaluate(
        f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})"
    )
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{'false' if dark else 'true'}'"
    )
    page.wait_for_timeout(800)  # the theme's CSS variables load after the flag flips


def rgb_sum(el: Locator, prop: str) -> int:
    value = el.first.evaluate(f"el => getComputedStyle(el).{prop}")
    return sum(int(float(x)) for x in re.findall(r"[\d.]+", value)[:3])


def transform(graph: Locator) -> tuple[float, float, float]:
    """(x, y, scale) of the drawing inside the view."""
    value = graph.locator("g.dv-lineage-layer").get_attribute("transform") or ""
    x, y, k = (float(v) for v in re.findall(r"-?[\d.]+", value))
    return x, y, k


def box(loc: Locator) -> dict[str, float]:
    b = loc.bounding_box()
    assert b is not None
    return b


def test_an_unnamed_run_reads_as_its_job_type_and_start_time(lab: Lab, session: Session) -> None:
    graph = open_graph(lab, session, "unnamed.ipynb", UNNAMED)
    page = session.page
    printed = page.locator(".jp-OutputArea-output pre").first.inner_text().strip()
    assert re.fullmatch(r"train · \d{4}-\d\d-\d\d \d\d:\d\d", printed)  # run.name in Python
    run = graph.locator(".dv-lineage-node.dv-run")
    assert run.locator("text.dv-label").text_content() == printed
    # No run id on screen in place of a name: only its first 8 characters, on the second line.
    run_id = (run.get_attribute("data-id") or "").removeprefix("run:")
    assert re.fullmatch(r"[0-9a-f]{16}", run_id)
    shown = graph.inner_text() + " ".join(graph.locator("svg text").all_text_contents())
    assert run_id not in shown and not re.search(r"[0-9a-f]{16}", shown)
    assert run.locator("text.dv-detail").text_content() == run_id[:8]
    # The whole id is in the tooltip, to copy.
    assert run.locator("title").text_content() == f"{printed}\nrun {run_id} · finished\nrun"
    # A small graph is drawn at its own size, centred, without scroll bars.
    assert transform(graph)[2] == 1
    assert graph.evaluate("el => el.scrollWidth <= el.clientWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    graph.screenshot(path=str(ARTIFACTS / "lineage-unnamed.png"))

    set_theme(page, dark=True)
    assert rgb_sum(graph, "backgroundColor") < 200
    assert rgb_sum(graph.locator("text.dv-label"), "fill") > 500  # light text on a dark card
    assert rgb_sum(graph.locator(".dv-lineage-button"), "backgroundColor") < 200
    graph.screenshot(path=str(ARTIFACTS / "lineage-unnamed-dark.png"))
    set_theme(page, dark=False)
    assert session.console_errors == [] and session.dialogs == []


EDGE_ENDS = """el => {
  const off = [];
  const layer = el.querySelector('g.dv-lineage-layer');
  const card = (id) => layer.querySelector(`g[data-id="${CSS.escape(id)}"] rect.dv-card`)
    .getBoundingClientRect();
  for (const path of layer.querySelectorAll('path.dv-lineage-edge')) {
    const m = path.getScreenCTM();
    const at = (len) => new DOMPoint(path.getPointAtLength(len).x, path.getPointAtLength(len).y)
      .matrixTransform(m);
    const a = at(0), b = at(path.getTotalLength());
    const s = card(path.dataset.source), t = card(path.dataset.target);
    const near = (p, x, y) => Math.abs(p.x - x) < 1.5 && Math.abs(p.y - y) < 1.5;
    if (!near(a, s.right, s.top + s.height / 2) || !near(b, t.left, t.top + t.height / 2))
      off.push(path.dataset.source + ' -> ' + path.dataset.target);
  }
  return {edges: layer.querySelectorAll('path.dv-lineage-edge').length, off};
}"""

SMALLEST_LABEL = """el => {
  const k = el.querySelector('g.dv-lineage-layer').getCTM().a;
  let smallest = Infinity;
  for (const t of el.querySelectorAll('text.dv-label')) {
    if (t.textContent) smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) * k);
  }
  return smallest;
}"""


def versions_top_to_bottom(graph: Locator, artifact: str) -> tuple[list[int], set[float]]:
    nodes = graph.locator(f".dv-lineage-node[data-id^='artifact:{artifact}:v']")
    placed = sorted(
        (
            box(nodes.nth(i))["y"],
            box(nodes.nth(i))["x"],
            int(nodes.nth(i).get_attribute("data-version") or -1),
        )
        for i in range(nodes.count())
    )
    return [v for _, _, v in placed], {round(x) for _, x, _ in placed}


def assert_cut(node: Locator, start: str) -> None:
    """The node's label is cut in the middle, keeping both ends of its name (the tooltip's
    first line), which starts with ``start`` and ends with the minute the run started."""
    label = node.locator("text.dv-label").text_content() or ""
    name = (node.locator("title").text_content() or "").split("\n")[0]
    assert re.fullmatch(r"\S+ · \d{4}-\d\d-\d\d \d\d:\d\d", name) and name.startswith(start)
    head, tail = label.split("…")
    assert name.startswith(head) and name.endswith(tail) and len(head) >= 3 and len(tail) >= 2


def active_cell(page: Page) -> Any:
    return page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex")


def test_a_large_graph_fits_the_width_pans_and_zooms(lab: Lab, session: Session) -> None:
    graph = open_graph(lab, session, "large.ipynb", LARGE)
    page = session.page
    graph.get_by_label("Explode").check()
    nodes = graph.locator(".dv-lineage-node")
    # download + raw + 11 ingest + 11 data + 11 eval + 60 train + 60 models.
    page.wait_for_function(
        "() => document.querySelectorAll('.dv-lineage-node').length === 155", timeout=30_000
    )
    assert nodes.count() == 155
    view = graph.locator(".dv-lineage-view")
    output = graph.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')][1]")

    # Fitted to the width: every card is inside the view across; nothing scrolls sideways.
    v, out = box(view), box(output)
    assert box(graph.locator("svg.dv-lineage-svg"))["width"] <= out["width"]
    assert v["x"] >= out["x"] - 1 and v["x"] + v["width"] <= out["x"] + out["width"] + 1
    xs = [box(nodes.nth(i)) for i in range(nodes.count())]
    assert (
        min(b["x"] for b in xs) >= v["x"]
        and max(b["x"] + b["width"] for b in xs) <= v["x"] + v["width"]
    )
    assert output.evaluate("el => el.scrollWidth <= el.clientWidth")
    x0, y0, k0 = transform(graph)
    assert 0.4 <= k0 < 1  # shrunk to fit, not past reading
    assert graph.evaluate(SMALLEST_LABEL) >= 9 - 0.01
    # Names too long for a card at this size keep their ends: the step and the minute.
    assert_cut(graph.locator(".dv-lineage-node.dv-run", has_text="ingest").first, "ingest · ")
    # Taller than the view (71 rows): the view stops at the widget's height, panned below.
    assert 395 <= v["height"] <= 401
    ARTIFACTS.mkdir(exist_ok=True)
    graph.screenshot(path=str(ARTIFACTS / "lineage-large-fit.png"))

    # Exploded versions, top to bottom in number order (v10 after v9), in one column.
    order, columns = versions_top_to_bottom(graph, "data")
    assert order == list(range(11)) and len(columns) == 1
    for m in ("model-00", "model-07", "model-11"):
        assert versions_top_to_bottom(graph, m)[0] == [0, 1, 2, 3, 4]
    ends = graph.evaluate(EDGE_ENDS)
    assert ends["edges"] == 1 + 11 + 11 + 11 + 60 + 60 and ends["off"] == []

    # Zoom in with the button (about the view's centre), and with ctrl + wheel.
    zoom_text = graph.locator(".dv-lineage-zoomtext")
    assert zoom_text.inner_text() == f"{int(k0 * 100 + 0.5)}%"
    graph.get_by_role("button", name="Zoom in").click()
    assert transform(graph)[2] == pytest.approx(k0 * 1.25, rel=1e-3)
    assert zoom_text.inner_text() == f"{int(k0 * 125 + 0.5)}%"
    v = box(view)  # fresh: the notebook may have scrolled
    page.mouse.move(v["x"] + v["width"] / 2, v["y"] + v["height"] / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_function(
        f"() => !document.querySelector('g.dv-lineage-layer').getAttribute('transform')"
        f".includes('scale({k0 * 1.25:.4f})')"
    )
    k2 = transform(graph)[2]
    assert k2 > k0 * 1.3
    graph.screenshot(path=str(ARTIFACTS / "lineage-large-zoomed.png"))

    # Drag pans by the pointer's move, even when it starts on a card, and selects nothing.
    view.evaluate("el => el.scrollIntoView({block: 'center'})")  # all of it on the page
    v = box(view)
    start = next(
        b
        for b in (box(nodes.nth(i)) for i in range(nodes.count()))
        if v["x"] + 50 < b["x"] < v["x"] + v["width"] - 50
        and v["y"] + 80 < b["y"] < v["y"] + v["height"] - 50
    )
    x1, y1, _ = transform(graph)
    page.mouse.move(start["x"] + 20, start["y"] + 10)
    page.mouse.down()
    page.mouse.move(start["x"] - 40, start["y"] - 60, steps=6)
    page.mouse.up()
    x2, y2, k3 = transform(graph)
    assert (round(x2 - x1), round(y2 - y1), k3) == (-60, -70, k2)
    assert graph.locator(".dv-active").count() == 0
    # A plain wheel pans down through the tall graph, and the notebook stays where it was.
    scroller = page.locator(".jp-WindowedPanel-outer").first
    top = scroller.evaluate("el => el.scrollTop")
    page.mouse.wheel(0, 120)
    page.wait_for_function(
        f"() => !document.querySelector('g.dv-lineage-layer').getAttribute('transform')"
        f".includes(',{y2:.2f})')"
    )
    assert transform(graph)[1] == pytest.approx(y2 - 120, abs=0.5)
    assert scroller.evaluate("el => el.scrollTop") == top

    # Keys, with the graph focused: "-" zooms out, arrows pan, and JupyterLab sees none of them.
    view.focus()
    cell = active_cell(page)
    k4 = transform(graph)[2]
    page.keyboard.press("-")
    assert transform(graph)[2] == pytest.approx(k4 * 0.8, rel=1e-3)
    y4 = transform(graph)[1]
    page.keyboard.press("ArrowDown")
    assert transform(graph)[1] == pytest.approx(y4 - 60, abs=0.5)
    assert active_cell(page) == cell
    page.keyboard.press("0")  # fit; "0 0" would restart the kernel if JupyterLab saw it
    assert transform(graph) == pytest.approx((x0, y0, k0), abs=0.01)
    assert session.dialogs == []

    # Zoomed far out, labels keep a readable size: cut with "…", the whole name in the tooltip.
    for _ in range(3):
        graph.get_by_role("button", name="Zoom out").click()
    assert transform(graph)[2] < 0.45
    assert graph.evaluate(SMALLEST_LABEL) >= 9 - 0.01
    assert_cut(graph.locator(".dv-lineage-node.dv-run", has_text="train").first, "train · ")
    graph.screenshot(path=str(ARTIFACTS / "lineage-large-zoomed-out.png"))
    graph.get_by_role("button", name="Fit to view").click()
    assert transform(graph) == pytest.approx((x0, y0, k0), abs=0.01)

    # A card out of view (the last), reached with the keyboard, is panned into view; a click
    # opens it.
    v = box(view)
    versions = graph.locator(".dv-lineage-node.dv-artifact")
    last = max(range(versions.count()), key=lambda i: box(versions.nth(i))["y"])
    card = versions.nth(last)
    assert box(card)["y"] > v["y"] + v["height"]  # below the view when fitted
    card.focus()
    v, b = box(view), box(card)
    assert v["y"] <= b["y"] and b["y"] + b["height"] <= v["y"] + v["height"]
    assert view.evaluate("el => el.scrollTop") == 0
    card.click()
    name = (card.get_attribute("data-id") or "").removeprefix("artifact:")
    graph.locator(".dv-lineage-opened", has_text=name).wait_for()

    set_theme(page, dark=True)
    assert rgb_sum(graph, "backgroundColor") < 200
    assert rgb_sum(graph.locator("text.dv-label"), "fill") > 500
    graph.screenshot(path=str(ARTIFACTS / "lineage-large-dark.png"))
    set_theme(page, dark=False)
    assert session.console_errors == []
