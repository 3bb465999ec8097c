"""A cold remote image table's legend becomes exact once its file arrives, in place.

The table is logged to the test's SeaweedFS; the notebook's kernel reads it as a new machine
would, through a relay that holds the whole file's GET (its head comes through). The widget
first shows the provisional description (every class of both lists), then, once the file is
let through, the exact one (the classes the boxes use), without being shown again and
keeping the filter typed meanwhile. Screenshots before and after, light and dark.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Locator

from tests._store_kinds import StoreKind
from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_compare_changes import DARK, LIGHT
from tests.browser.test_grid import wait_status
from tests.team.test_head import wait_held
from tests.team.test_query_wait import cold_table
from tests.team.test_s3_parallel_reads import _Relay
from tests.widget.test_head_images import image_table
from tests.widget.test_head_page import held

__all__ = ["held"]  # the fixture, imported for this test

pytestmark = pytest.mark.browser

ROWS, LATE = 600, 500  # the head is the first 400 rows; from LATE on, scored "bus" boxes

# Two class lists shown: each chip also names its column.
PROVISIONAL = [f"{c} (image)" for c in ("cat", "dog", "car", "bus")]
EXACT = [f"{c} (image)" for c in ("cat", "dog", "bus")]


def chips(root: Locator) -> list[str]:
    return root.locator(".dv-legend .dv-class").all_inner_texts()


def sliders(root: Locator) -> list[str]:
    return [s.get_attribute("aria-label") or "" for s in root.locator("input.dv-range").all()]


def theme(session: Session, command: str, light: bool) -> None:
    session.page.evaluate(command)
    session.page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{str(light).lower()}'"
    )
    session.page.wait_for_timeout(500)  # the theme's CSS variables applied to the widget


def test_the_legend_becomes_exact_when_the_file_arrives_and_the_filter_stays(
    lab: Lab,
    session: Session,
    held: tuple[StoreKind, _Relay],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    kind, relay = held
    cold_table(kind, relay, monkeypatch, image_table(ROWS, LATE))  # logged; the file held
    env = {k: os.environ[k] for k in ("DSVIZ_DIR", "DSVIZ_CATALOG")}
    env.update(kind.extra["server"].env())
    env.update(AWS_ENDPOINT_URL=relay.endpoint, DSVIZ_CACHE_DIR=str(tmp_path / "kernel-cache"))
    cell = (
        f"import os\nos.environ.update({json.dumps(env)})\n"
        "import dsviz_widget as dv\n"
        "w = dv.show(dv.use_artifact('cars:latest').get('data'))\nw"
    )
    root = run_notebook(lab, session, "settles.ipynb", [cell])
    wait_status(root, rf"{ROWS} of {ROWS} rows")
    wait_held(relay)
    # Provisional: both lists' every class, though "car" occurs in no box.
    root.locator(".dv-legend .dv-class").first.wait_for()
    assert chips(root) == PROVISIONAL
    assert sliders(root) == ["score ≥"]  # some later box is scored: the plan says so
    root.locator(".dv-row[aria-rowindex='1'] rect.dv-box").first.wait_for()  # a thumbnail drawn
    session.shot("info-settles-before-light")
    theme(session, DARK, light=False)
    session.shot("info-settles-before-dark")
    # A filter typed while the file downloads waits for it (the head cannot answer it).
    box = root.locator(".dv-filter-input")
    box.fill("label == 'early'")
    box.press("Enter")
    root.evaluate("el => { el.dataset.shownOnce = 'yes'; }")  # the same element after
    assert chips(root) == PROVISIONAL and not relay.gate.is_set()

    relay.gate.set()
    wait_status(root, rf"{LATE} of {ROWS} rows")
    root.locator(".dv-legend .dv-class", has_text="car (image)").wait_for(state="detached")
    assert chips(root) == EXACT
    assert sliders(root) == ["score ≥"]
    assert box.input_value() == "label == 'early'"
    assert root.evaluate("el => el.dataset.shownOnce") == "yes"  # not shown again
    assert session.page.locator(".dv-root").count() == 1
    session.shot("info-settles-after-dark")
    theme(session, LIGHT, light=True)
    session.shot("info-settles-after-light")
    assert not session.console_errors, session.console_errors
