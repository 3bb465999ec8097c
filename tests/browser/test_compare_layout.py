"""Compare mode's layout as a person sees it: each column's versions side by side under one
header, the key in view while the grid scrolls sideways, one bar per version with the delta,
and changed cells marked exactly where pandas says the values differ."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import Locator

from tests.browser.conftest import ARTIFACTS, Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import wait_status

pytestmark = pytest.mark.browser

# Run in the notebook's kernel and here, so the test knows the data the widget shows.
DATA = """
import numpy as np
import pandas as pd

import dsviz_widget as dv


def frames(k):
    # k versions of one predictions table: later versions change more predictions and
    # confidences; the last lost its last row; pred is null in every version of row 3 and
    # only in the last version of row 4.
    rng = np.random.RandomState(13)
    n = 30
    base = pd.DataFrame({
        "id": np.arange(n),
        "pred": [str(d) for d in rng.randint(0, 10, n)],
        "conf": np.round(rng.rand(n), 3),
        "boxes": rng.randint(0, 6, n),
        **{f"note_{j}": [f"row {i} note {j}" for i in range(n)] for j in range(12)},
    })
    out = []
    for v in range(k):
        f = base.copy()
        frac = v / max(1, k - 1)
        flip = rng.rand(n) < 0.35 * frac
        f.loc[flip, "pred"] = [str(d) for d in rng.randint(0, 10, int(flip.sum()))]
        # Every confidence moves in a retrained version: the default change columns leave
        # conf out.
        step = (rng.rand(n) - 0.5) * 0.2
        f["conf"] = np.round(f["conf"] + frac * np.where(abs(step) < 0.01, 0.01, step), 3)
        f.loc[rng.rand(n) < 0.3 * frac, "boxes"] += 1
        f.loc[3, "pred"] = None
        if v == k - 1:
            f.loc[4, "pred"] = None
            f = f[f["id"] != n - 1]
        out.append(f.reset_index(drop=True))
    return out


def comparison(k, labels):
    return dv.compare(*[dv.Table(dataframe=f) for f in frames(k)], on="id", labels=labels)
"""

LABELS2 = ["v0", "v11"]
LABELS3 = ["v0", "v5", "v11"]


def data() -> dict[str, Any]:
    ns: dict[str, Any] = {}
    exec(DATA, ns)
    return ns


def merged(frames: list[pd.DataFrame], labels: list[str]) -> pd.DataFrame:
    """The versions side by side on id, as pandas lines them up (outer join)."""
    out = frames[0].add_suffix(f"@{labels[0]}").rename(columns={f"id@{labels[0]}": "id"})
    for f, label in zip(frames[1:], labels[1:], strict=True):
        out = out.merge(
            f.add_suffix(f"@{label}").rename(columns={f"id@{label}": "id"}), on="id", how="outer"
        )
    return out.set_index("id")


def differs(a: Any, b: Any) -> bool:
    """Values differ as the engine's IS DISTINCT FROM says: nulls equal nulls."""
    if pd.isna(a) and pd.isna(b):
        return False
    return bool(pd.isna(a) or pd.isna(b) or a != b)


def number(text: str) -> float:
    return float(text.replace("−", "-").replace("+", "").replace(",", ""))


def box(loc: Locator) -> dict[str, float]:
    b = loc.bounding_box()
    assert b is not None
    return b


# One read of the rows drawn inside the scroller's viewport: what a person sees.
ROWS_ON_SCREEN = """(root) => {
  const sc = root.querySelector('.dv-scroller').getBoundingClientRect();
  const out = [];
  for (const row of root.querySelectorAll('.dv-row[data-loaded="1"]')) {
    const r = row.getBoundingClientRect();
    if (r.bottom <= sc.top + 1 || r.top >= sc.bottom - 1) continue;
    const cell = (key) => row.querySelector(`[data-col="${CSS.escape(key)}"]`);
    const cells = {};
    for (const c of row.querySelectorAll('.dv-cell[data-col]')) {
      cells[c.dataset.col] = {
        text: c.innerText, changed: c.classList.contains('dv-changed'), title: c.title,
        delta: c.querySelector('.dv-delta')?.textContent ?? null,
        bars: [...c.querySelectorAll('rect.dv-bar')].map((b) => b.getAttribute('class')),
        dot: c.querySelector('.dv-marker-dot') !== null,
      };
    }
    out.push({ id: cell('id').innerText, cells });
  }
  return out;
}"""


def check_cells(root: Locator, frames: list[pd.DataFrame], labels: list[str]) -> int:
    """Deltas and changed marks of the rows on screen against pandas; how many rows."""
    expect = merged(frames, labels)
    first, last = labels[0], labels[-1]
    rows = root.evaluate(ROWS_ON_SCREEN)
    assert len(rows) >= 5, rows
    marked = 0
    for row in rows:
        rid = int(number(row["id"]))
        want = expect.loc[rid]
        cells = row["cells"]
        # A later version's pred is marked where it differs from the first version's.
        assert not cells[f"pred@{first}"]["changed"], (rid, cells[f"pred@{first}"])
        for label in labels[1:]:
            got = cells[f"pred@{label}"]
            assert got["changed"] == differs(want[f"pred@{first}"], want[f"pred@{label}"]), (
                rid,
                label,
                got,
            )
            if got["changed"]:
                marked += 1
                assert got["title"].startswith(f"changed from {first}"), got
        # The pair: one bar per version in its colour, the delta as last minus first.
        conf = cells["conf"]
        assert conf["bars"] == [f"dv-bar dv-v{i}" for i in range(len(labels))], conf
        delta = want[f"conf@{last}"] - want[f"conf@{first}"]
        if pd.isna(delta):
            assert conf["delta"] == "", (rid, conf)
        else:
            assert number(conf["delta"]) == pytest.approx(delta, abs=6e-4), (rid, conf, delta)
            if delta > 0:
                assert conf["delta"].startswith("+"), conf
        conf_changed = any(
            differs(want[f"conf@{first}"], want[f"conf@{label}"]) for label in labels[1:]
        )
        assert conf["changed"] == conf_changed, (rid, conf)
    assert marked > 0  # the data has changed predictions on screen: the check is not vacuous
    return len(rows)


def changed_rows(frames: list[pd.DataFrame], labels: list[str], columns: list[str]) -> pd.Series:
    """Per id: whether any of ``columns`` differs from the first version in a later one, or
    the row is missing from a version (pandas' answer to "which rows changed")."""
    m = merged(frames, labels)
    ids = [set(f["id"]) for f in frames]
    out = pd.Series([any(i not in s for s in ids) for i in m.index], index=m.index)
    for c in columns:
        for label in labels[1:]:
            out |= pd.Series(
                [
                    differs(a, b)
                    for a, b in zip(m[f"{c}@{labels[0]}"], m[f"{c}@{label}"], strict=True)
                ],
                index=m.index,
            )
    return out


def check_marker(root: Locator, expect: pd.Series) -> None:
    """The Δ marker's dots on screen are exactly the rows ``expect`` says changed."""
    rows = root.evaluate(ROWS_ON_SCREEN)
    assert rows
    for row in rows:
        rid = int(number(row["id"]))
        assert row["cells"]["changed"]["dot"] == bool(expect.loc[rid]), (
            rid,
            row["cells"]["changed"],
        )
    dots = [r["cells"]["changed"]["dot"] for r in rows]
    assert any(dots) and not all(dots), dots  # both kinds on screen: the check can fail


def check_group_header(root: Locator, group: str, keys: list[str], texts: list[str]) -> None:
    """One group header over the versions' sub-headers, which touch."""
    band = root.locator(f".dv-hband-group[data-group='{group}']")
    assert band.count() == 1
    # The band names the column, then its count of changed rows once the kernel has counted them
    # (the count itself is checked against pandas in test_compare_changes).
    assert re.fullmatch(rf"{re.escape(group)}( · [\d,]+ changed)?", band.inner_text()), (
        band.inner_text()
    )
    subs = [root.locator(f".dv-hcell[data-col='{k}']") for k in keys]
    boxes = [box(s) for s in subs]
    for s, text in zip(subs, texts, strict=True):
        assert s.locator(".dv-hname").inner_text() == text
    for a, b in itertools.pairwise(boxes):
        assert abs((a["x"] + a["width"]) - b["x"]) <= 1, (a, b)  # adjacent: they touch
    g = box(band)
    assert (
        abs(g["x"] - boxes[0]["x"]) <= 1
        and abs((g["x"] + g["width"]) - (boxes[-1]["x"] + boxes[-1]["width"])) <= 1
    ), (g, boxes)
    assert g["y"] + g["height"] <= boxes[0]["y"] + 1  # the group header is above its versions


def shot(root: Locator, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    root.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two computed CSS colours."""

    def lum(css: str) -> float:
        nums = [float(x) for x in re.findall(r"[\d.]+", css)[:3]]
        if css.startswith("color("):
            nums = [x * 255 for x in nums]
        chans = [c / 255 for c in nums]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = sorted((lum(fg), lum(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def check_readable(root: Locator) -> None:
    """The group name, a version label and the deltas stand out from their backgrounds."""
    # One evaluate reads all three: the header is redrawn when the change counts arrive, and an
    # element read after it was replaced has no computed style.
    header_bg, name, label = root.evaluate(
        """el => [".dv-header", ".dv-hband-name", ".dv-hcell.dv-ver .dv-hname"].map(
            s => getComputedStyle(el.querySelector(s))[s === ".dv-header" ? "backgroundColor" : "color"])"""
    )
    assert contrast(name, header_bg) >= 4.5, (name, header_bg)
    assert contrast(label, header_bg) >= 4.5, (label, header_bg)
    bg = root.evaluate("el => getComputedStyle(el).backgroundColor")
    for cls in ("dv-pos", "dv-neg"):
        root.locator(f".dv-delta.{cls}").first.wait_for()
        # Found and read in one task: a row redrawn between a locator's lookup and its evaluate
        # leaves a detached element, whose computed colour is "".
        color = root.page.wait_for_function(
            """([el, s]) => { const d = el.querySelector(s);
                              return d && d.isConnected && getComputedStyle(d).color; }""",
            arg=[root.element_handle(), f".dv-delta.{cls}"],
        ).json_value()
        assert contrast(color, bg) >= 3, (cls, color, bg)


def test_compare_layout(lab: Lab, session: Session) -> None:
    page = session.page
    run_notebook(
        lab,
        session,
        "compare_layout.ipynb",
        [
            DATA,
            f"w2 = dv.show(comparison(2, {LABELS2!r}))\nw2",
            f"w3 = dv.show(comparison(3, {LABELS3!r}))\nw3",
        ],
    )
    ns = data()
    two, three = page.locator(".dv-root").nth(0), page.locator(".dv-root").nth(1)
    for root in (two, three):
        wait_status(root, r"30 of 30 rows")
        root.locator(".dv-row[aria-rowindex='6'][data-loaded='1']").wait_for()
        # Summaries arrive after the rows and give the bars their shared scale.
        root.locator(".dv-hcell[data-col='pred@v0'] .dv-summary").wait_for()

    # -- two versions: pred's versions stand together under one header, marked in colour ------
    check_group_header(two, "pred", ["pred@v0", "pred@v11"], ["v0", "v11"])
    assert "dv-v0" in (two.locator(".dv-hcell[data-col='pred@v0']").get_attribute("class") or "")
    assert "dv-v1" in (two.locator(".dv-hcell[data-col='pred@v11']").get_attribute("class") or "")
    check_group_header(two, "conf", ["conf"], ["Δ v11 − v0"])
    # Neither the deltas nor the changed flags are columns of their own.
    heads = two.locator(".dv-hcell[data-col]").evaluate_all("els => els.map(e => e.dataset.col)")
    assert not [h for h in heads if h.endswith("@delta") or h.endswith("@changed")], heads
    assert heads[:2] == ["id", "changed"]
    assert two.locator(".dv-hcell[data-col='changed'] .dv-hname").inner_text() == "Δ"
    assert box(two.locator(".dv-hcell[data-col='changed']"))["width"] <= 48  # narrow

    seen = check_cells(two, ns["frames"](2), LABELS2)
    # The Δ marker follows the default change columns: conf, which differs on every row, is
    # left out, so a row whose only change is its confidence is not marked.
    frames2 = ns["frames"](2)
    compared = [c for c in frames2[0].columns if c != "id"]
    always = [c for c in compared if changed_rows(frames2, LABELS2, [c]).all()]
    assert always == ["conf"]
    check_marker(two, changed_rows(frames2, LABELS2, [c for c in compared if c not in always]))
    shot(two, "compare-layout-two")

    # -- the key stays in view while the grid scrolls 2000 px to the right ---------------------
    key_head = two.locator(".dv-hcell[data-col='id']")
    key_cell = two.locator(".dv-row[aria-rowindex='1'] [data-col='id']")
    before = (box(key_head)["x"], box(key_cell)["x"])
    scroller = two.locator(".dv-scroller")
    scroller.evaluate("el => { el.scrollLeft = 2000; }")
    page.wait_for_function(
        "el => el.querySelector('.dv-header').scrollLeft >= 2000", arg=two.element_handle()
    )
    page.wait_for_timeout(200)
    assert scroller.evaluate("el => el.scrollLeft") >= 2000
    after = (box(key_head)["x"], box(key_cell)["x"])
    assert after == pytest.approx(before, abs=1)
    view = box(scroller)
    for loc in (key_head, key_cell, two.locator(".dv-row[aria-rowindex='1'] [data-col='changed']")):
        b = box(loc)
        assert view["x"] <= b["x"] and b["x"] + b["width"] <= view["x"] + view["width"], b
    assert key_cell.inner_text() == "0"
    shot(two, "compare-layout-scrolled")
    scroller.evaluate("el => { el.scrollLeft = 0; }")

    # -- a version's sub-header sorts by that version ---------------------------------------
    two.locator(".dv-hcell[data-col='pred@v11'] .dv-hname").click()
    two.locator(".dv-hcell[data-col='pred@v11'][aria-sort='ascending']").wait_for()
    two.locator(".dv-row[aria-rowindex='5'][data-loaded='1']").wait_for()
    expect = merged(ns["frames"](2), LABELS2)["pred@v11"].dropna().sort_values().tolist()[:5]
    got = [
        two.locator(f".dv-row[aria-rowindex='{i}'] [data-col='pred@v11']").inner_text()
        for i in range(1, 6)
    ]
    assert got == expect
    seen += check_cells(two, ns["frames"](2), LABELS2)  # the marks follow the rows

    # -- three versions: three columns under pred, three bars per numeric cell ----------------
    check_group_header(three, "pred", ["pred@v0", "pred@v5", "pred@v11"], ["v0", "v5", "v11"])
    check_group_header(three, "boxes", ["boxes"], ["Δ v11 − v0"])
    bars = three.locator(".dv-row[aria-rowindex='1'] [data-col='boxes'] rect.dv-bar")
    assert bars.count() == 3
    cell = box(three.locator(".dv-row[aria-rowindex='1'] [data-col='boxes']"))
    ys = []
    for i in range(3):
        b = box(bars.nth(i))
        assert cell["y"] <= b["y"] and b["y"] + b["height"] <= cell["y"] + cell["height"]
        ys.append(b["y"])
    assert ys == sorted(ys) and len(set(ys)) == 3  # stacked, not drawn over each other
    seen += check_cells(three, ns["frames"](3), LABELS3)
    # A pair's header sorts by its delta (last minus first).
    three.locator(".dv-hcell[data-col='conf'] .dv-hname").click()
    three.locator(".dv-hcell[data-col='conf'][aria-sort='ascending']").wait_for()
    m3 = merged(ns["frames"](3), LABELS3)
    want = (m3["conf@v11"] - m3["conf@v0"]).dropna().sort_values().tolist()[:5]
    three.locator(".dv-row[aria-rowindex='5'][data-loaded='1']").wait_for()
    got_deltas = [
        number(
            three.locator(f".dv-row[aria-rowindex='{i}'] [data-col='conf'] .dv-delta").inner_text()
        )
        for i in range(1, 6)
    ]
    assert got_deltas == pytest.approx(want, abs=6e-4)
    seen += check_cells(three, ns["frames"](3), LABELS3)
    assert seen >= 15
    check_readable(three)
    shot(three, "compare-layout-three")

    # -- dark theme: the same layout, readable ---------------------------------------------
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    try:
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        page.wait_for_timeout(800)
        bg = three.evaluate("el => getComputedStyle(el).backgroundColor")
        assert sum(float(x) for x in re.findall(r"[\d.]+", bg)[:3]) < 200, bg  # dark
        check_readable(three)
        check_readable(two)
        shot(three, "compare-layout-three-dark")
        shot(two, "compare-layout-two-dark")
    finally:
        page.evaluate(
            "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
        )
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")

    # -- the user makes pred alone the change definition: the markers follow ------------
    run_cell(session, "w2.change_columns = ['pred']")
    two.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    two.locator(".dv-row[aria-rowindex='6'][data-loaded='1']").wait_for()
    check_marker(two, changed_rows(frames2, LABELS2, ["pred"]))
    title = two.locator(".dv-row [data-col='changed'][title^='changed: pred']").first
    assert title.count() == 1
    assert not session.console_errors, session.console_errors
