"""A mostly-distinct string column's header summary is labelled "sample", and a click on the
label replaces it by the exact one (issue 15). Screenshots in the light and the dark theme."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_screenshot import set_theme

pytestmark = pytest.mark.browser

N = 1_000_050  # just over the first look's million rows
CELLS = [
    f"""
import pyarrow as pa
from dsviz_widget.engine import Source
from dsviz_widget.widget import show
n = {N}
table = pa.table({{"caption": [f"image {{i}}" for i in range(n)], "label": [f"l{{i % 8}}" for i in range(n)]}})
w = show(Source.from_arrow(table), read_blob=lambda d: b"", name="captions")
w
"""
]


def test_sampled_summary_is_labelled_and_a_click_makes_it_exact(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "summary_sample.ipynb", CELLS)
    caption = root.locator(".dv-hcell[data-col='caption'] svg.dv-summary")
    caption.wait_for(timeout=60_000)
    tag = caption.locator("text.dv-sample")
    tag.wait_for(timeout=30_000)
    assert caption.locator("text.dv-top-text", has_text="≈ all unique").count() == 1
    title = caption.locator("title").first.text_content() or ""
    assert "sample: the first 1,000,000 rows only" in title
    label = root.locator(".dv-hcell[data-col='label'] svg.dv-summary")
    label.wait_for()
    assert label.locator("text.dv-sample").count() == 0  # 8 values: exact
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        set_theme(session.page, theme)
        session.shot(f"summary-sample-{theme.split()[-1].lower()}")
    tag.click()
    root.locator(".dv-hcell[data-col='caption'] svg.dv-summary title").first.filter(
        has_text=f"{N:,} distinct"
    ).wait_for(state="attached", timeout=60_000)
    assert root.locator(".dv-hcell[data-col='caption'] text.dv-sample").count() == 0
    assert root.locator(".dv-hcell[data-col='label'] svg.dv-summary").count() == 1
    assert session.console_errors == []
