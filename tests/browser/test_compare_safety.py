"""Compare mode's paired bars, and hostile strings that must stay text."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser


def test_compare_two_bars_per_numeric_cell(lab: Lab, session: Session) -> None:
    root = run_notebook(
        lab,
        session,
        "compare.ipynb",
        [
            SETUP,
            "from dsviz_widget.widget import compare\n"
            "v0, v1 = _synth.versions(10)\n"
            "w = compare([Source.from_arrow(v0), Source.from_arrow(v1)], on='id', labels=['v0', 'v1'],"
            " read_blob=lambda d: b'')\nw",
        ],
    )
    wait_status(root, r"10 of 10 rows")
    cell = root.locator(".dv-row[aria-rowindex='2'][data-loaded='1'] [data-col='score']")
    cell.wait_for()
    assert cell.locator("rect.dv-bar").count() == 2
    assert (
        cell.locator("rect.dv-bar.dv-v0").count() == 1
        and cell.locator("rect.dv-bar.dv-v1").count() == 1
    )
    session.page.wait_for_timeout(300)
    session.shot("compare")
    root.locator(".dv-toggle input").check()
    wait_status(root, r"5 of 10 rows")
    session.shot("compare-changed-only")
    assert not session.console_errors, session.console_errors


def test_hostile_strings_are_text(lab: Lab, session: Session) -> None:
    import sys

    sys.path.insert(0, str(lab.root))
    import _synth

    root = run_notebook(
        lab,
        session,
        "hostile.ipynb",
        [
            SETUP,
            "w = show(Source.from_arrow(_synth.hostile_table()), read_blob=lambda d: b'')\nw",
        ],
    )
    wait_status(root, r"5 of 5 rows")
    root.locator(".dv-row[data-loaded='1']").nth(4).wait_for()
    session.page.wait_for_timeout(500)
    texts = root.locator(".dv-row [data-col='text']").all_inner_texts()
    assert texts == _synth.HOSTILE
    # The hostile column name is a header, as text.
    assert root.locator(".dv-hname", has_text="<img src=x onerror=alert(9)>").count() == 1
    # Nothing was parsed as markup inside the widget, nothing ran, nothing was polluted.
    assert root.locator("img, script, iframe, a[href^='javascript']").count() == 0
    assert root.locator("svg[onload]").count() == 0
    assert session.page.evaluate(
        "() => ({}).polluted === undefined && Object.prototype.polluted === undefined"
    )
    session.shot("hostile")
    # A filter with hostile text stays text too.
    box = root.locator(".dv-filter-input")
    box.fill("text == '<script>alert(1)</script>'")
    box.press("Enter")
    wait_status(root, r"0 of 5 rows")
    root.locator(".dv-empty", has_text="No rows match").wait_for()
    assert session.dialogs == []
    assert not [e for e in session.console_errors if "alert" in e or "onerror" in e or e == "x"]
