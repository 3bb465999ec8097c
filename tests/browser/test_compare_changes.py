"""Compare mode's change definition and transitions, as a person uses them in JupyterLab.

The versions are made in the notebook and again here, from the same seed, so every count on
screen is checked against pandas: the change counts in the menu, the rows "changed rows only"
keeps once the user picks the columns, the transitions matrix against ``pd.crosstab``, a
clicked cell's rows, and a boolean column's fixed / broke / same.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import first_values, wait_status

pytestmark = pytest.mark.browser

# Three versions of a model's predictions on 300 ids (listed out of order): `pred` is a
# digit, `correct` a bool that changes on its own (so "pred changed" and "pred or correct
# changed" are different rows), `confidence` a float that differs on every row.
DATA = """
import numpy as np
import pandas as pd
import dsviz_widget as dv

rng = np.random.default_rng(13)
n = 300
pred0 = rng.integers(0, 10, n)
pred1 = np.where(rng.random(n) < 0.3, rng.integers(0, 10, n), pred0)
pred2 = np.where(rng.random(n) < 0.3, rng.integers(0, 10, n), pred1)
correct0 = rng.random(n) < 0.6
correct1 = np.where(rng.random(n) < 0.2, ~correct0, correct0)
frames = [
    pd.DataFrame({"id": np.arange(n) * 7 % n, "pred": p, "correct": c, "confidence": rng.random(n)})
    for p, c in ((pred0, correct0), (pred1, correct1), (pred2, correct1))
]
"""

TWO = "w = dv.show(dv.compare(*[dv.Table(dataframe=f) for f in frames[:2]], on='id', labels=['v0', 'v11']))\nw"
THREE = (
    "w = dv.show(dv.compare(*[dv.Table(dataframe=f) for f in frames], on='id',"
    " labels=['v0', 'v5', 'v11']))\nw"
)

DARK = "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
LIGHT = "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"


def frames() -> list[pd.DataFrame]:
    scope: dict[str, Any] = {}
    exec(DATA, scope)
    return list(scope["frames"])


def count(n: int) -> str:
    return f"{n:,}"


def shows(n: int) -> str:
    """The status line's count of ``n`` rows of 300 (after the widget's name)."""
    return rf"(^|· ){count(n)} of 300 rows"


def matrix(root: Locator) -> dict[tuple[str, str], int]:
    """The transitions matrix drawn: (before, after) -> count, non-empty cells only."""
    cells = root.locator(".dv-tr-cell").evaluate_all(
        "tds => tds.map(td => [td.dataset.from, td.dataset.to, td.textContent])"
    )
    return {(f, t): int(text.replace(",", "")) for f, t, text in cells if text}


def crosstab(before: pd.Series, after: pd.Series) -> dict[tuple[str, str], int]:
    table = pd.crosstab(before, after)
    return {
        (str(b), str(a)): int(table.loc[b, a])
        for b in table.index
        for a in table.columns
        if table.loc[b, a]
    }


def wait_matrix(root: Locator, total: int) -> None:
    """Until the panel shows a settled matrix of ``total`` rows."""
    root.locator(".dv-tr-grand", has_text=re.compile(rf"^{count(total)}$")).wait_for()
    root.locator(".dv-tr-body:not(.dv-tr-loading)").wait_for()


def test_change_definition_and_transitions(lab: Lab, session: Session) -> None:
    v0, v1 = frames()[:2]
    joined = v0.merge(v1, on="id", suffixes=("@v0", "@v11"))
    pred_changed = joined["pred@v0"] != joined["pred@v11"]
    root = run_notebook(lab, session, "compare_changes.ipynb", [DATA, TWO])
    wait_status(root, r"300 of 300 rows")

    # The menu: the default leaves out confidence (it differs on every row) and says so.
    button = root.locator(".dv-change-button")
    button.filter(has_text="Changed in: pred, correct").wait_for()
    button.click()
    menu = root.locator(".dv-change-menu")
    expected = {
        "pred": int(pred_changed.sum()),
        "correct": int((joined["correct@v0"] != joined["correct@v11"]).sum()),
        "confidence": 300,
    }
    for name, n in expected.items():
        item = menu.locator(f".dv-change-item[data-col='{name}']")
        assert item.locator(".dv-change-count").inner_text() == f" · {count(n)} changed", name
    assert menu.locator(".dv-change-item[data-col='pred'] input").is_checked()
    assert menu.locator(".dv-change-item[data-col='correct'] input").is_checked()
    assert not menu.locator(".dv-change-item[data-col='confidence'] input").is_checked()
    note = menu.locator(".dv-change-note[data-col='confidence']")
    assert note.inner_text() == "confidence differs on every row: left out"
    # The header names the same counts over each compared column's versions.
    for name, n in expected.items():
        band = root.locator(f".dv-hband-group[data-group='{name}']")
        if band.count():  # a column scrolled out of the drawn ones has no band cell
            assert band.inner_text().replace("\n", " ") == f"{name} · {count(n)} changed", name
    assert root.locator(".dv-hband-group[data-group='pred']").count() == 1
    session.page.wait_for_timeout(200)
    session.shot("compare-change-menu-light")

    # Only `pred` defines a change: the trait says so, and "changed rows only" keeps exactly
    # the rows where pred differs, in the view's order.
    menu.locator(".dv-change-item[data-col='correct'] input").uncheck()
    button.filter(has_text=re.compile(r"Changed in: pred ▾$")).wait_for()
    assert "['pred']" in run_cell(session, "print(w.change_columns)")
    # The last checked column stays checked: a change needs one.
    assert menu.locator(".dv-change-item[data-col='pred'] input").is_disabled()
    session.page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    root.locator(".dv-toggle input").check()
    n_pred = int(pred_changed.sum())
    wait_status(root, shows(n_pred))
    want_ids = [str(i) for i in joined.loc[pred_changed, "id"]]
    assert first_values(root, "id", 8) == want_ids[:8]

    # Transitions of pred over those rows: every cell off the diagonal, summing to the count.
    root.locator(".dv-tr-button").click()
    panel = root.locator(".dv-transitions")
    panel.wait_for()
    assert panel.locator("select[aria-label='transitions column']").input_value() == "pred"
    assert panel.locator("select[aria-label='from version']").input_value() == "v0"
    assert panel.locator("select[aria-label='to version']").input_value() == "v11"
    wait_matrix(root, n_pred)
    sub = joined[pred_changed]
    assert matrix(root) == crosstab(sub["pred@v0"], sub["pred@v11"])
    assert root.locator(".dv-tr-diag .dv-tr-count").count() == 0

    # All rows: the matrix follows the query, the diagonal included.
    root.locator(".dv-toggle input").uncheck()
    wait_status(root, shows(300))
    wait_matrix(root, 300)
    full = crosstab(joined["pred@v0"], joined["pred@v11"])
    assert matrix(root) == full
    assert sum(matrix(root).values()) == 300
    diag = root.locator(".dv-tr-diag .dv-tr-count").evaluate_all(
        "els => els.map(e => e.textContent)"
    )
    assert sorted(int(t) for t in diag) == sorted(n for (b, a), n in full.items() if b == a)
    session.page.wait_for_timeout(200)
    session.shot("compare-transitions-light")

    # Clicking a cell filters the grid to exactly its rows.
    (b, a), n_cell = max(((k, v) for k, v in full.items() if k[0] != k[1]), key=lambda kv: kv[1])
    cell = root.locator(f".dv-tr-cell[data-from='{b}'][data-to='{a}'] button")
    cell.focus()
    session.page.keyboard.press("Enter")  # keyboard reachable: a button
    wait_status(root, shows(n_cell))
    wait_matrix(root, n_cell)
    assert matrix(root) == {(b, a): n_cell}
    in_cell = joined[(joined["pred@v0"] == int(b)) & (joined["pred@v11"] == int(a))]
    k = min(n_cell, 8)
    assert first_values(root, "id", k) == [str(i) for i in in_cell["id"]][:k]
    shown = run_cell(
        session,
        "p = w.page(0, 1000)\n"
        "print(len(p), sorted(set(p['pred@v0'])), sorted(set(p['pred@v11'])), repr(w.filter))",
    )
    assert shown.startswith(f"{n_cell} [{b}] [{a}] "), shown
    assert "other" not in shown

    # A boolean column: fixed / broke / same, over every row again.
    box = root.locator(".dv-filter-input")
    box.fill("")
    box.press("Enter")
    wait_status(root, shows(300))
    panel.locator("select[aria-label='transitions column']").select_option("correct")
    wait_matrix(root, 300)
    c0, c1 = joined["correct@v0"], joined["correct@v11"]
    fixed, broke, same = int((~c0 & c1).sum()), int((c0 & ~c1).sum()), int((c0 == c1).sum())
    summary = panel.locator(".dv-tr-summary").inner_text()
    assert re.sub(r"\s+", " ", summary) == f"fixed {fixed} · broke {broke} · same {same}", summary
    assert matrix(root) == crosstab(c0.map(str).str.lower(), c1.map(str).str.lower())
    session.page.wait_for_timeout(200)
    session.shot("compare-transitions-bool-light")

    # Dark theme: the same panel and menu, readable.
    session.page.evaluate(DARK)
    session.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    session.page.wait_for_timeout(800)
    session.shot("compare-transitions-bool-dark")
    panel.locator("select[aria-label='transitions column']").select_option("pred")
    wait_matrix(root, 300)
    button.click()
    session.page.wait_for_timeout(300)
    session.shot("compare-transitions-dark")
    session.page.keyboard.press("Escape")
    session.page.evaluate(LIGHT)
    session.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    assert not session.console_errors, session.console_errors


def test_three_versions_transitions_between_any_two(lab: Lab, session: Session) -> None:
    v0, v5, v11 = frames()
    joined = v0.merge(v5, on="id", suffixes=("", "@v5")).merge(v11, on="id", suffixes=("", "@v11"))
    root = run_notebook(lab, session, "compare_changes3.ipynb", [DATA, THREE])
    wait_status(root, r"300 of 300 rows")
    root.locator(".dv-tr-button").click()
    panel = root.locator(".dv-transitions")
    for side, value in (("from", "v0"), ("to", "v11")):
        select = panel.locator(f"select[aria-label='{side} version']")
        assert select.locator("option").all_inner_texts() == ["v0", "v5", "v11"]
        assert select.input_value() == value
    wait_matrix(root, 300)
    assert matrix(root) == crosstab(joined["pred"], joined["pred@v11"])
    panel.locator("select[aria-label='from version']").select_option("v5")
    root.locator(".dv-tr-corner", has_text="pred@v5").wait_for()
    wait_matrix(root, 300)
    assert matrix(root) == crosstab(joined["pred@v5"], joined["pred@v11"])
    session.page.wait_for_timeout(200)
    session.shot("compare-transitions-three")
    assert not session.console_errors, session.console_errors
