"""Issue 6, item 7: several hundred hostile strings at every render site, in real Chromium.

The table (``tests/reliability/_naughty.py``) has one row per corpus string (~340: HTML / SVG /
JS payloads that would set ``window.__pwned`` or open a dialog, naughty strings, bidi overrides,
control characters, a 1 MB string). Each string is a text cell, a dict cell's key and value
(with ``__proto__`` / ``constructor`` keys), an image caption and a box caption (SVG text, with
the string as a score name too); the classes' names (legend, box labels) and 20 column headers
are payloads; a filter with a payload is typed so its error is echoed. The test scrolls through
every row so every cell is rendered, then checks: no script ran (``window.__pwned``), no dialog
opened, no element the payloads would create exists inside the widget, nothing was polluted,
and the text cells of every rendered row read exactly as the input (``textContent``; the 1 MB
string as its prefix).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import Lab, Session, run_notebook
from tests.browser.test_grid import SETUP, wait_status

pytestmark = pytest.mark.browser

PAYLOAD_ELEMENTS = (
    "img, script, iframe, object, embed, video, audio, marquee, details, form, "
    "input, template, style:not([data-dv]), meta, link, math, x, b, i, "
    "a[href^='javascript'], svg[onload], [onerror], [onload], [onfocus], "
    "[onmouseover], [ontoggle], [onbegin], [onstart]"
)


def test_hostile_corpus_renders_as_text_everywhere(lab: Lab, session: Session) -> None:
    from tests.reliability._naughty import PAYLOADS, corpus

    texts = corpus()
    root = run_notebook(
        lab,
        session,
        "hostile_corpus.ipynb",
        [
            SETUP,
            "from tests.reliability._naughty import hostile_table\n"
            "t, read = hostile_table()\nw = show(Source.from_arrow(t), read_blob=read)\nw",
        ],
    )
    n = len(texts)
    wait_status(root, rf"{n:,} of {n:,} rows")
    page = session.page
    scroller = root.locator(".dv-scroller")
    checked: dict[int, str] = {}
    mismatches: dict[int, tuple[str, str]] = {}
    for _ in range(400):
        root.locator(".dv-row[data-loaded='1']").first.wait_for()
        page.wait_for_timeout(150)
        rows = root.locator(".dv-row[data-loaded='1']").evaluate_all(
            "rows => rows.map(r => [r.querySelector(\"[data-col='id']\")?.textContent,"
            " r.querySelector(\"[data-col='text']\")?.textContent])"
        )
        for row_id, text in rows:
            if row_id is None or text is None:
                continue
            i = int(row_id)
            checked[i] = text
            want = texts[i]
            if not (text == want or (len(want) > 100_000 and want.startswith(text[:1000]))):
                mismatches[i] = (want[:80], text[:80])
        at_end = scroller.evaluate("el => el.scrollTop + el.clientHeight >= el.scrollHeight - 2")
        if at_end:
            break
        scroller.evaluate("el => { el.scrollTop += el.clientHeight * 0.8; }")
    assert len(checked) == n, f"only {len(checked)} of {n} rows were rendered and read"

    # Headers and legend: payloads as text.
    headers = root.locator(".dv-hname").all_text_contents()
    assert all(h in headers for h in PAYLOADS[:20] if "\n" not in h), headers[:25]

    # An echoed filter error with a payload in it.
    box = root.locator(".dv-filter-input")
    box.fill('text == <img src=x onerror="window.__pwned=1"> and <svg onload=alert(1)>')
    box.press("Enter")
    error = root.locator(".dv-filter-error")
    error.wait_for()
    page.wait_for_timeout(300)
    assert "<img" in error.text_content() or "<" in error.text_content()

    session.shot("hostile-corpus")
    assert page.evaluate("() => window.__pwned") is None, "a payload ran"
    assert session.dialogs == [], session.dialogs
    # Elements a payload would create (the widget's own controls carry dv-* classes).
    foreign = root.evaluate(
        "(el, sel) => [...el.querySelectorAll(sel)].filter(e => !String(e.getAttribute('class')"
        " || '').includes('dv-') && !(e.tagName === 'INPUT' && e.closest('.dv-legend, .dv-toolbar,"
        " .dv-toggle, label'))).map(e => e.outerHTML.slice(0, 200))",
        PAYLOAD_ELEMENTS,
    )
    assert foreign == [], foreign
    assert page.evaluate(
        "() => ({}).polluted === undefined && Object.prototype.polluted === undefined"
        " && typeof ({}).toString === 'function' && Object.prototype.constructor === Object"
    )
    assert not [e for e in session.console_errors if re.search(r"pwned|alert|onerror", e)]

    # Fidelity: every text cell reads exactly as its input, a leading U+FEFF (BOM) included
    # (the widget decodes Arrow strings itself, with ignoreBOM, rather than apache-arrow's decoder).
    assert not mismatches, mismatches
    bom_rows = [i for i, want in enumerate(texts) if want.startswith("\ufeff")]
    assert bom_rows, "the corpus has no string starting with U+FEFF"
    assert all(checked[i] == texts[i] for i in bom_rows), {i: checked[i][:20] for i in bom_rows}
