"""Group drill-in with exact keys, and class labels from each image's own class list."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser

BIG_KEYS = """
import pyarrow as pa
keys = [2**63 - 1, -(2**63), 2**53 + 1, 2**53] * 3
schema = pa.schema([_synth.field("k", "int", pa.int64()), _synth.field("n", "int", pa.int64())])
t = pa.table([pa.array(keys, pa.int64()), pa.array(range(12), pa.int64())], schema=schema)
w = show(Source.from_arrow(t), read_blob=lambda d: b"", group_by=["k"], sort=["-k"])
w
"""


def test_a_group_with_an_int64_key_above_2_53_opens_with_its_rows(
    lab: Lab, session: Session
) -> None:
    root = run_notebook(lab, session, "bigkeys.ipynb", [SETUP, BIG_KEYS])
    wait_status(root, r"4 groups · 12 rows")
    # The first group row (sorted descending) is 2^63 - 1; click it.
    root.locator(".dv-row[aria-rowindex='1'][data-loaded='1'] [data-col='count']").click()
    wait_status(root, r"3 of 12 rows")
    chip = root.locator(".dv-chip-group")
    chip.wait_for()
    assert chip.inner_text() == "k = 9223372036854775807"
    cells = root.locator(".dv-row[data-loaded='1'] [data-col='n']")
    cells.nth(2).wait_for()
    assert sorted(int(c) for c in cells.all_inner_texts()) == [0, 4, 8]
    session.shot("group-int64-max")
    # Back to the groups (unsorted now), then the key 2^53 + 1, which a JS number cannot hold.
    root.locator(".dv-back").click()
    wait_status(root, r"4 groups · 12 rows")
    key = root.locator(".dv-row[data-loaded='1'] [data-col='k']", has_text=re.compile(r"740,?993$"))
    key.click()
    wait_status(root, r"3 of 12 rows")
    assert root.locator(".dv-chip-group").inner_text() == "k = 9007199254740993"
    assert not session.console_errors, session.console_errors


TWO_LISTS = """
t, read_blob, _ = _synth.two_class_lists(3)
w = show(Source.from_arrow(t), read_blob=read_blob)
w
"""


def test_each_image_labels_its_boxes_from_its_own_class_list(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "classlists.ipynb", [SETUP, TWO_LISTS])
    wait_status(root, r"3 of 3 rows")
    chips = root.locator(".dv-class")
    chips.nth(1).wait_for()
    # Only the classes the boxes show (every box is class 1): no "background" chips.
    assert chips.all_inner_texts() == ["cat (ground_truth)", "car (predictions)"]
    root.locator(".dv-row[aria-rowindex='1'] [data-col='ground_truth']").click()
    detail = root.locator(".dv-detail")
    detail.wait_for(state="visible")
    labels = detail.locator("text.dv-box-label")
    labels.nth(1).wait_for()
    detail.locator(".dv-img:not(.dv-loading)").first.wait_for()
    texts = [t.split()[0] for t in labels.all_text_contents()]  # "cat 0.30": name, then score
    assert texts == ["cat", "car"], texts
    # Each box takes its own list's colour: red for the ground truth's cat, blue for the car.
    strokes = detail.locator("rect.dv-box").evaluate_all(
        "els => els.map(e => e.getAttribute('stroke'))"
    )
    assert strokes == ["#e41a1c", "#377eb8"], strokes
    session.page.wait_for_timeout(300)
    session.shot("class-lists-detail")
    assert not session.console_errors, session.console_errors
