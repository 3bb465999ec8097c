"""Audio cells play: the clip's bytes come from the kernel and the player has a duration."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Lab, Session, run_cell, run_notebook
from tests.browser.test_grid import wait_status

pytestmark = pytest.mark.browser

CELLS = [
    "import numpy as np\nimport dsviz_widget as dv",
    "t = dv.Table(columns=['id', 'clip'], data=[\n"
    "    [i, dv.Audio(np.sin(np.linspace(0, 300 * (i + 1), 8000 * (i + 1))).astype(np.float32),\n"
    "                 sample_rate=8000, caption=f'tone {i}')] for i in range(3)])\n"
    "w = dv.show(t)\nw",
]


def test_audio_cells_play(lab: Lab, session: Session) -> None:
    root = run_notebook(lab, session, "audio.ipynb", CELLS)
    wait_status(root, r"3 of 3 rows")
    players = root.locator(".dv-row[data-loaded='1'] [data-col='clip'] audio")
    players.nth(2).wait_for()
    assert players.count() == 3
    # Each player gets its bytes and loads its metadata: 1 s, 2 s, 3 s clips.
    durations = root.evaluate("""async (r) => Promise.all([...r.querySelectorAll('audio')].map((a) =>
      new Promise((done, fail) => {
        const ok = () => a.readyState >= 1 && Number.isFinite(a.duration) && a.duration > 0;
        if (ok()) return done(a.duration);
        a.addEventListener('loadedmetadata', () => done(a.duration));
        a.addEventListener('error', () => fail(new Error('audio error ' + (a.error && a.error.code))));
        setTimeout(() => fail(new Error('no metadata; src=' + a.getAttribute('src'))), 20000);
      })))""")
    assert [round(d, 1) for d in durations] == [1.0, 2.0, 3.0]
    srcs = [players.nth(i).get_attribute("src") or "" for i in range(3)]
    assert all(s.startswith("blob:") for s in srcs)
    assert root.locator(".dv-audio-caption").first.inner_text() == "tone 0"
    session.shot("audio-cells")

    # Clicking the player does not select the row.
    players.first.click()
    session.page.wait_for_timeout(200)
    assert root.locator(".dv-row.dv-selected").count() == 0

    # Recycling rows (a filter set from a later cell) revokes their object URLs.
    run_cell(session, 'w.filter = "id == 2"')
    wait_status(root, r"1 of 3 rows")
    root.locator(".dv-row[data-loaded='1'] audio[src^='blob:']").wait_for()
    assert not session.console_errors, session.console_errors
    revoked = session.page.evaluate(
        """async (srcs) => Promise.all(srcs.map((s) =>
      fetch(s).then(() => 'alive', () => 'revoked')))""",
        srcs[:2],
    )
    assert revoked == ["revoked", "revoked"]  # (the browser logs each failed fetch)
