"""Columns named like the widget's own group fields: a key "count", a plain "_sample_rows"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import SETUP, first_values, wait_status

pytestmark = pytest.mark.browser

# x twice, y four times, z six times; the image table's id column is the row number.
VALUES = ["z", "y", "z", "x", "z", "y", "z", "y", "x", "z", "y", "z"]

TABLE = f"""
import pyarrow as pa
t, read_blob, _ = _synth.image_table(12)
t = t.append_column(_synth.field({{name!r}}, "str", pa.string()), pa.array({VALUES!r}))
t = t.replace_schema_metadata(_synth.image_table(1)[0].schema.metadata)
"""


def _row_cells(root: Locator, col: str, n: int) -> list[str]:
    """The texts of the loaded rows' cells of ``col``: exactly ``n`` of them."""
    cells = root.locator(f".dv-row[data-loaded='1'] [data-col='{col}']")
    cells.nth(n - 1).wait_for()
    assert cells.count() == n
    return cells.all_inner_texts()


def test_grouping_by_a_string_column_named_count(lab: Lab, session: Session) -> None:
    cells = [
        SETUP,
        TABLE.format(name="count")
        + "w = show(Source.from_arrow(t), read_blob=read_blob, group_by=['count'])\nw",
    ]
    root = run_notebook(lab, session, "group_count.ipynb", cells)
    wait_status(root, r"3 groups · 12 rows")
    # The key keeps its strings (not read as the group count); the count is its own column.
    assert _row_cells(root, "count", 3) == ["x", "y", "z"]
    assert _row_cells(root, "count_", 3) == ["2", "4", "6"]
    headers = root.locator(".dv-hcell .dv-hname").all_inner_texts()
    assert headers[:2] == ["count", "count_"], headers
    # The header's tooltip names each column's kind: the key is text, the count an int.
    assert (root.locator(".dv-hcell[data-col='count']").get_attribute("title") or "").startswith(
        "count (str)"
    )
    assert (root.locator(".dv-hcell[data-col='count_']").get_attribute("title") or "").startswith(
        "count_ (int)"
    )
    assert "_sample_rows" not in headers and "samples" in headers
    # Every group row shows its sample images (the thumbnails load).
    root.locator(
        ".dv-row[aria-rowindex='3'][data-loaded='1'] .dv-samples .dv-img:not(.dv-loading)"
    ).first.wait_for()
    session.page.wait_for_timeout(300)
    session.shot("group-by-count")
    root.locator(".dv-scroller").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    session.page.wait_for_timeout(300)
    session.shot("group-by-count-samples")
    root.locator(".dv-scroller").evaluate("el => { el.scrollLeft = 0; }")
    # Sorting by the group count sends its field, which the engine accepts.
    root.locator(".dv-hcell[data-col='count_'] .dv-hname").click()
    root.locator(".dv-hcell[data-col='count_'][aria-sort='ascending']").wait_for()
    root.locator(".dv-hcell[data-col='count_'] .dv-hname").click()
    root.locator(".dv-hcell[data-col='count_'][aria-sort='descending']").wait_for()
    root.locator(
        ".dv-row[aria-rowindex='1'][data-loaded='1'] [data-col='count_']", has_text="6"
    ).wait_for()
    assert _row_cells(root, "count", 3) == ["z", "y", "x"]
    # Click the "y" group: its four rows open.
    root.locator(".dv-row[data-loaded='1'] [data-col='count']", has_text="y").click()
    wait_status(root, r"4 of 12 rows")
    assert root.locator(".dv-chip-group").inner_text() == "count = y"
    ids = _row_cells(root, "id", 4)
    assert sorted(int(i) for i in ids) == [i for i, v in enumerate(VALUES) if v == "y"]
    assert set(_row_cells(root, "count", 4)) == {"y"}
    session.shot("group-by-count-rows")
    assert not session.console_errors, session.console_errors


def test_a_plain_column_named_sample_rows_is_shown_and_groups(lab: Lab, session: Session) -> None:
    cells = [
        SETUP,
        TABLE.format(name="_sample_rows")
        + "w = show(Source.from_arrow(t), read_blob=read_blob)\nw",
    ]
    root = run_notebook(lab, session, "plain_sample_rows.ipynb", cells)
    wait_status(root, r"12 of 12 rows")
    root.locator(".dv-hcell[data-col='_sample_rows']").wait_for()
    assert first_values(root, "_sample_rows", 3) == VALUES[:3]
    assert first_values(root, "id", 3) == ["0", "1", "2"]
    # Grouped by it, the key shows its strings and the group's own sample rows stay hidden.
    root.locator("select.dv-select").select_option("_sample_rows")
    wait_status(root, r"3 groups · 12 rows")
    assert _row_cells(root, "_sample_rows", 3) == ["x", "y", "z"]
    assert _row_cells(root, "count", 3) == ["2", "4", "6"]
    assert root.locator(".dv-hcell[data-col='_sample_rows_']").count() == 0
    root.locator(".dv-row[data-loaded='1'] [data-col='_sample_rows']", has_text="x").click()
    wait_status(root, r"2 of 12 rows")
    assert sorted(int(i) for i in _row_cells(root, "id", 2)) == [3, 8]
    assert not session.console_errors, session.console_errors
