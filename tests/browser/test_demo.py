"""`dsviz demo` as a person runs it: it builds the store, prints a URL, that URL opens the
quickstart, and Run All on the already-built store shows the widgets with their rows."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import BUNDLE, REPO, Session, _free_port, _unavailable

pytestmark = [pytest.mark.browser, pytest.mark.slow]

URL = re.compile(r"http://127\.0\.0\.1:\d+/lab/tree/01_quickstart\.ipynb\?token=\w+")


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    """Run ``dsviz demo --no-browser`` on 127.0.0.1 and a free port; yield the URL it printed."""
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _unavailable("jupyterlab is not installed (pip install -e '.[test]')")
    if not BUNDLE.exists():
        _unavailable(
            f"the JS bundle {BUNDLE} is missing: pip install -e . (or cd js && npm run build)"
        )
    config, runtime = tmp_path / "jupyter-config", tmp_path / "jupyter-runtime"
    (config / "labconfig").mkdir(parents=True)
    # As conftest.start_lab, through config files since `dsviz demo` makes the command line:
    # the app on `window` for the test to drive, and no news or update toasts over the notebook.
    (config / "jupyter_lab_config.json").write_text(
        json.dumps(
            {
                "LabApp": {
                    "expose_app_in_browser": True,
                    "news_url": None,
                    "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                }
            }
        )
    )
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(runtime), DSVIZ_PROGRESS="0")
    log_path = tmp_path / "demo.log"
    args = [
        "demo",
        "--no-browser",
        "--ip",
        "127.0.0.1",
        "--port",
        str(_free_port()),
        "--dir",
        str(tmp_path / "demo"),
    ]
    with log_path.open("wb") as log:  # a file, not a pipe: JupyterLab logs enough to fill a pipe
        proc = subprocess.Popen(
            [sys.executable, "-m", "dsviz_widget", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 600  # the build runs the quickstart first
            while not (found := URL.search(log_path.read_text())):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "dsviz demo printed no quickstart URL:\n" + log_path.read_text()[-3000:]
                    )
                time.sleep(0.5)
            yield found.group(0)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its kernels: the group it leads
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.timeout(1200)
def test_the_printed_url_opens_the_quickstart_and_run_all_shows_the_widgets(
    demo_url: str, session: Session
) -> None:
    page = session.page
    page.goto(demo_url)
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === '01_quickstart.ipynb'"
        " && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'; }",
        timeout=90_000,
    )
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current")
    assert tab.inner_text().strip() == "01_quickstart.ipynb"  # the notebook, not the launcher
    assert page.locator(".jp-Notebook .jp-OutputArea-output").count() == 0  # no stale outputs

    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
          const nb = window.jupyterapp.shell.currentWidget;
          const cells = nb.content.model.sharedModel.toJSON().cells.filter(c => c.cell_type === 'code');
          return cells.every(c => c.execution_count !== null && c.execution_count !== undefined)
            && nb.sessionContext.session.kernel.status === 'idle';
        }""",
        timeout=300_000,
    )
    errors = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.model.sharedModel
        .toJSON().cells.flatMap(c => c.outputs || []).filter(o => o.output_type === 'error')
        .map(o => o.ename + ': ' + o.evalue)""")
    assert errors == []

    # The dataset, grouped by label, the last epoch's mistakes and the comparison, each with rows.
    # The build logged predictions v0-v5, so this Run All (the notebook's second) logged v6-v11.
    expected = [
        r"digits:v0/dataset · 1,797 of 1,797 rows",
        r"digits:v0/dataset · 10 groups · 1,797 rows",
        r"digits-predictions:v11/predictions · \d+ of 360 rows",
        r"compare\(digits-predictions:v6/predictions, digits-predictions:v11/predictions\)"
        r" · (\d+) of 360 rows",
    ]
    page.wait_for_function("() => document.querySelectorAll('.dv-root').length === 4")
    roots = page.locator(".dv-root")
    for i, pattern in enumerate(expected):
        # Off-screen cells are not rendered (JupyterLab's content-visibility windowing): look
        # at each widget as a reader scrolling down would.
        roots.nth(i).evaluate("el => el.scrollIntoView({block: 'center'})")
        try:
            roots.nth(i).locator(".dv-status", has_text=re.compile(pattern)).wait_for(
                timeout=60_000
            )
        except PlaywrightTimeout:
            statuses = page.evaluate(
                "() => [...document.querySelectorAll('.dv-root .dv-status')].map(e => e.textContent)"
            )
            session.shot("demo-quickstart-failed")
            pytest.fail(f"widget {i} never showed {pattern!r}; the statuses are {statuses}")
    # The comparison opens on the rows whose `correct` changed: as many as the notebook's
    # text says the last epoch fixed and broke.
    story = page.locator(".jp-OutputArea-output", has_text=re.compile(r"fixed \d+, broke \d+"))
    fixed, broke = map(int, re.search(r"fixed (\d+), broke (\d+)", story.inner_text()).groups())  # type: ignore[union-attr]
    status = roots.nth(3).locator(".dv-status").inner_text()
    assert re.search(expected[3], status).group(1) == str(fixed + broke), status  # type: ignore[union-attr]
    assert roots.locator(".dv-status-error").count() == 0
    assert page.get_by_text("DatasetWidget object at").count() == 0
    session.shot("demo-quickstart")
