"""Small things a reviewer meets (issue 12, item 8): a completion clears the stale filter error,
grouping keeps the sort, and a widget whose kernel is gone says so and what to do."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Lab, Session
from tests.browser.test_brush import N, frame, open_widget, summary, wait_count
from tests.browser.test_grid import first_values

pytestmark = pytest.mark.browser


def test_accepting_a_completion_clears_the_stale_error(lab: Lab, session: Session) -> None:
    df = frame()
    root = open_widget(lab, session, "complete.ipynb")
    box = root.locator(".dv-filter-input")
    error = root.locator(".dv-filter-error")
    box.fill("confx > 0.5")
    box.press("Enter")
    root.locator(".dv-error-text", has_text="confx").wait_for()
    session.shot("small-filter-error")
    # Back to just after "conf" and complete it: the error was about the old text.
    box.press("Home")
    for _ in range(5):
        box.press("ArrowRight")
    box.press("Backspace")
    root.locator(".dv-complete-item", has_text="confidence").wait_for()
    box.press("Tab")
    assert box.input_value() == "confidence > 0.5"
    assert error.inner_text() == ""  # at once, before the new text is checked
    # Checked after the pause, like typing: the rows follow, and no error comes back.
    wait_count(root, int((df["confidence"] > 0.5).sum()))
    assert error.inner_text() == ""
    assert "dv-invalid" not in (box.get_attribute("class") or "")
    session.shot("small-completion-accepted")
    assert not session.console_errors, session.console_errors


def test_grouping_and_ungrouping_keep_the_sort(lab: Lab, session: Session) -> None:
    df = frame()
    root = open_widget(lab, session, "group-sort.ipynb")
    summary(root, "confidence")
    # The name, not the middle of the header: that is the histogram, which brushes.
    header = root.locator(".dv-hcell[data-col='confidence'] .dv-hname")
    header.click()
    root.locator(".dv-hcell[data-col='confidence'][aria-sort='ascending']").wait_for()
    header.click()
    root.locator(".dv-hcell[data-col='confidence'][aria-sort='descending']").wait_for()
    desc = [f"{v:g}" for v in sorted(df["confidence"], reverse=True)[:3]]
    assert first_values(root, "confidence") == desc

    root.locator("select.dv-select").select_option("label")
    root.locator(".dv-status", has_text="5 groups").wait_for()
    # The groups are sorted by the mean of the sorted column, and its header says so.
    root.locator(".dv-hcell[data-col='mean(confidence)'][aria-sort='descending']").wait_for()
    means = df.groupby("label")["confidence"].mean().sort_values(ascending=False)
    assert first_values(root, "label", 5) == list(means.index)
    session.shot("small-grouped-sorted")

    root.locator(".dv-chip-x").click()
    wait_count(root, N)
    root.locator(".dv-hcell[data-col='confidence'][aria-sort='descending']").wait_for()
    assert first_values(root, "confidence") == desc
    assert not session.console_errors, session.console_errors


def test_a_widget_whose_kernel_restarted_says_so(lab: Lab, session: Session) -> None:
    root = open_widget(lab, session, "gone.ipynb")
    summary(root, "confidence")
    page = session.page
    page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    banner = root.locator(".dv-gone")
    banner.wait_for(timeout=30_000)
    text = banner.inner_text()
    assert "kernel" in text and "gone" in text and "Re-run the cell" in text, text
    # Interacting still answers at once, with the same advice, never "Cannot send".
    root.locator(".dv-hcell[data-col='n'] .dv-hname").click()
    root.locator(".dv-status", has_text=re.compile("kernel is gone")).wait_for(timeout=5_000)
    assert "Cannot send" not in root.inner_text()
    session.shot("small-kernel-gone")


def test_a_widget_whose_kernel_was_shut_down_says_so(lab: Lab, session: Session) -> None:
    root = open_widget(lab, session, "shutdown.ipynb")
    summary(root, "confidence")
    page = session.page
    page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    page.wait_for_timeout(1000)
    root.locator(".dv-hcell[data-col='n'] .dv-hname").click()
    banner = root.locator(".dv-gone")
    banner.wait_for(timeout=30_000)
    assert "Re-run the cell" in banner.inner_text()
    assert "Cannot send" not in root.inner_text()
