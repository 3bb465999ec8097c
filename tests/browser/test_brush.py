"""Interactive header summaries: brushing a histogram or clicking a top value filters the rows,
and the filter text says how (issue 12, item 10). Counts are checked against pandas."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook

pytestmark = pytest.mark.browser

N = 5000
# Run in the kernel and here: the same seeded table on both sides.
DATA = """
import numpy as np, pandas as pd, pyarrow as pa
rng = np.random.default_rng(7)
df = pd.DataFrame({
    "confidence": rng.uniform(0.24, 0.91, 5000).round(4),
    "label": rng.choice(["cat", 'say "hi"', "it's", "dog", "bird"], 5000, p=[0.35, 0.3, 0.2, 0.1, 0.05]),
    "n": rng.integers(0, 10, 5000),
})
"""
SHOW = """
from dsviz_widget.engine import Source
from dsviz_widget.widget import show
w = show(Source.from_arrow(pa.Table.from_pandas(df, preserve_index=False)), read_blob=lambda d: b"", name="synthetic")
w
"""


def frame() -> pd.DataFrame:
    scope: dict[str, object] = {}
    exec(DATA, scope)  # our own constant, not user input
    df = scope["df"]
    assert isinstance(df, pd.DataFrame)
    return df


def open_widget(lab: Lab, session: Session, name: str) -> Locator:
    root = run_notebook(lab, session, name, [DATA, SHOW])
    wait_count(root, N)
    return root


def wait_count(root: Locator, n: int) -> None:
    root.locator(".dv-status", has_text=re.compile(rf"· {n:,} of {N:,} rows")).wait_for(
        timeout=30_000
    )


def summary(root: Locator, column: str) -> Locator:
    svg = root.locator(f".dv-hcell[data-col='{column}'] svg.dv-summary")
    svg.wait_for(timeout=30_000)
    return svg


def brush(session: Session, svg: Locator, start: float, end: float) -> None:
    """Drag across the histogram from fraction ``start`` to ``end`` of its width."""
    box = svg.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    mouse = session.page.mouse
    mouse.move(box["x"] + box["width"] * start, y)
    mouse.down()
    mouse.move(box["x"] + box["width"] * end, y, steps=6)
    mouse.up()


def filter_text(root: Locator, pattern: str) -> str:
    box = root.locator(".dv-filter-input")
    for _ in range(100):
        text = box.input_value()
        if re.search(pattern, text):
            return text
        root.page.wait_for_timeout(100)
    raise AssertionError(f"filter text {box.input_value()!r} does not match {pattern!r}")


def test_brushing_a_histogram_filters_to_its_bins(lab: Lab, session: Session) -> None:
    df = frame()
    root = open_widget(lab, session, "brush.ipynb")
    svg = summary(root, "confidence")
    # 20 bins between the data's min and max; dragging over 0.32..0.63 of the width covers
    # bins 6..12.
    brush(session, svg, 0.32, 0.63)
    text = filter_text(root, r"confidence >= ")
    m = re.fullmatch(r"confidence >= ([0-9.]+) and confidence <= ([0-9.]+)", text)
    assert m, text
    lo, hi = float(m.group(1)), float(m.group(2))
    vmin, vmax = df["confidence"].min(), df["confidence"].max()
    width = (vmax - vmin) / 20
    # Whole bins, rounded outwards to three decimals (the bin width is about 0.033).
    assert vmin + 6 * width - 0.001 <= lo <= vmin + 6 * width
    assert vmin + 13 * width <= hi <= vmin + 13 * width + 0.001
    expected = int(((df["confidence"] >= lo) & (df["confidence"] <= hi)).sum())
    wait_count(root, expected)
    # The brush is not a header click: the sort is untouched.
    assert root.locator(".dv-hcell[data-col='confidence']").get_attribute("aria-sort") == "none"
    assert run_cell(session, "print(w.sort, '|', w.filter)").strip() == f"[] | {text}"
    # The histogram now spans the brushed range; a second brush narrows it, replacing the first.
    session.page.wait_for_timeout(600)  # the summaries of the new filter
    brush(session, summary(root, "confidence"), 0.0, 0.2)
    second = filter_text(root, r"^(?!" + re.escape(text) + "$)")
    assert second.count("confidence >=") == 1 and second.count("confidence <=") == 1, second
    m2 = re.fullmatch(r"confidence >= ([0-9.]+) and confidence <= ([0-9.]+)", second)
    assert m2, second
    lo2, hi2 = float(m2.group(1)), float(m2.group(2))
    assert lo <= lo2 < hi2 <= hi
    wait_count(root, int(((df["confidence"] >= lo2) & (df["confidence"] <= hi2)).sum()))
    session.shot("brush-confidence")
    assert not session.console_errors, session.console_errors


def test_integer_brush_and_top_value_clicks(lab: Lab, session: Session) -> None:
    df = frame()
    root = open_widget(lab, session, "brush-values.ipynb")
    # n holds 0..9: one bin per integer. Bins 2..4 give integer bounds.
    brush(session, summary(root, "n"), 0.25, 0.45)
    text = filter_text(root, r"^n >= ")
    assert text == "n >= 2 and n <= 4", text
    by_n = df[(df["n"] >= 2) & (df["n"] <= 4)]
    wait_count(root, len(by_n))

    # The label summary lists the top values of the rows in force; the second is a value
    # with double quotes, which must survive the filter language's escaping.
    session.page.wait_for_timeout(600)
    second = by_n["label"].value_counts().index[1]
    hit = root.locator(".dv-hcell[data-col='label'] .dv-top-hit[data-index='1']")
    hit.wait_for(timeout=30_000)
    assert second in (hit.locator("title").text_content() or "")
    hit.click()
    literal = '"' + second.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text = filter_text(root, "label == ")
    assert text == f"n >= 2 and n <= 4 and label == {literal}", text
    wait_count(root, int((by_n["label"] == second).sum()))
    assert root.locator(".dv-hcell[data-col='label']").get_attribute("aria-sort") == "none"
    rows = root.locator(".dv-row[data-loaded='1'] [data-col='label']")
    rows.first.wait_for()
    assert {rows.nth(i).inner_text() for i in range(min(5, rows.count()))} == {second}
    summary(root, "label")
    session.shot("brush-top-value")

    # A value with a single quote: clear, click it among the top values, count as pandas.
    box = root.locator(".dv-filter-input")
    box.fill("")
    box.press("Enter")
    wait_count(root, N)
    session.page.wait_for_timeout(600)
    order = list(df["label"].value_counts().index)
    idx = order.index("it's")
    assert idx < 3, order  # drawn among the top three
    root.locator(f".dv-hcell[data-col='label'] .dv-top-hit[data-index='{idx}']").click()
    assert filter_text(root, "label == ") == 'label == "it\'s"'
    wait_count(root, int((df["label"] == "it's").sum()))
    assert run_cell(session, "print(w.filter_error, w.sort)").strip() == "None []"
    assert not session.console_errors, session.console_errors
