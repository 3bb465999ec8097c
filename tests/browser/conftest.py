"""A real JupyterLab on 127.0.0.1 and headless Chromium driving it (Playwright, sync API).

Locally the suite skips with a reason when Chromium or the built JS bundle is missing; on CI
(``CI=true``) it fails instead, so a broken set-up cannot pass as green.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SYNTH = REPO / "tests" / "widget" / "_synth.py"
BUNDLE = REPO / "dsviz_widget" / "static" / "widget.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--headless",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run on CI: {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    for path in (
        os.environ.get("DSVIZ_CHROMIUM", ""),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        shutil.which("chromium") or "",
    ):
        if path and Path(path).exists():
            return path
    _unavailable("Chromium not found: apt-get install -y chromium (or set DSVIZ_CHROMIUM)")
    raise AssertionError  # unreachable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """A running Jupyter server (JupyterLab or Notebook 7): where its notebooks live and how to
    open them."""

    def __init__(
        self, root: Path, port: int, token: str, proc: subprocess.Popen[bytes], app: str = "lab"
    ) -> None:
        self.root, self.port, self.token, self.proc, self.app = root, port, token, proc, app

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_notebook(self, name: str, cells: list[str]) -> str:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, str(self.root / name))
        return name

    def url(self, name: str) -> str:
        if self.app == "notebook":
            # Notebook 7 opens one document per page, at /notebooks/<path>.
            return f"{self.base}/notebooks/{name}?token={self.token}"
        return f"{self.base}/lab/tree/{name}?token={self.token}&reset"


# The two front ends: the module to run and its own options. Both put the app on `window` for the
# tests to drive; only JupyterLab checks for news and updates (toasts over the notebook).
APPS = {
    "lab": (
        "jupyterlab",
        [
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
    ),
    "notebook": ("notebook", ["--JupyterNotebookApp.expose_app_in_browser=True"]),
}


@contextlib.contextmanager
def start_server(app: str, root: Path, config: Path, runtime: Path) -> Iterator[Lab]:
    """Start JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) serving ``root``
    (with _synth.py copied in) on 127.0.0.1 with a token and no browser; stop it afterwards."""
    module, options = APPS[app]
    shutil.copy(SYNTH, root / "_synth.py")
    if app == "lab":
        (config / "labconfig").mkdir(exist_ok=True)
        # No news / update toasts over the notebook. (Notebook 7 has no announcements; disabling
        # the plugin there makes its settings menu throw on load.)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps(
                {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
            )
        )
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JUPYTER_CONFIG_DIR"] = str(config)
    env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    env["DSVIZ_PROGRESS"] = "0"
    log_path = root / f"{app}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "--no-browser",
                "--ServerApp.open_browser=False",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--allow-root",
                *options,
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2
                    ):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"{module} did not start:\n" + log_path.read_text()[-3000:]
                        ) from None
                    time.sleep(0.3)
            yield Lab(root, port, token, proc, app)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_lab(root: Path, config: Path, runtime: Path) -> contextlib.AbstractContextManager[Lab]:
    """Start JupyterLab serving ``root``: :func:`start_server` with ``app="lab"``."""
    return start_server("lab", root, config, runtime)


def launch_chromium(playwright: Any, path: str) -> Any:
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)


def _server(app: str, factory: pytest.TempPathFactory) -> Iterator[Lab]:
    module = APPS[app][0]
    try:
        __import__(module)
    except ImportError:
        _unavailable(f"{module} is not installed (pip install -e '.[test]')")
    if not BUNDLE.exists():
        _unavailable(
            f"the JS bundle {BUNDLE} is missing: pip install -e . (or cd js && npm run build)"
        )
    try:
        with start_server(
            app,
            factory.mktemp(app),
            factory.mktemp("jupyter-config"),
            factory.mktemp("jupyter-runtime"),
        ) as running:
            yield running
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from _server("lab", tmp_path_factory)


@pytest.fixture(scope="session")
def nb7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A Jupyter Notebook 7 server; ``run_notebook`` and ``run_cell`` drive it as they do ``lab``."""
    yield from _server("notebook", tmp_path_factory)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = launch_chromium(p, path)
        yield b
        b.close()


class Session:
    """One page: records dialogs and console errors so tests can assert nothing ran."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        widget = self.page.locator(".dv-root").last
        if widget.count():
            widget.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def session(browser: Any) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield Session(page)
    context.close()


def run_all(lab: Lab, session: Session, name: str, cells: list[str]) -> Any:
    """Open a notebook with these cells once its kernel is idle and run them all; the page."""
    lab.write_notebook(name, cells)
    page = session.page
    page.goto(lab.url(name))
    page.wait_for_function(
        "() => window.jupyterapp && document.querySelector('.jp-Notebook') &&"
        " window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
        timeout=60_000,
    )
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=60_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    return page


def run_notebook(lab: Lab, session: Session, name: str, cells: list[str]) -> Any:
    """Open a notebook with these cells, run them all, return the last widget's root locator."""
    root = run_all(lab, session, name, cells).locator(".dv-root").last
    root.wait_for(state="visible", timeout=60_000)
    return root


def run_cell(session: Session, code: str, timeout_ms: int = 60_000) -> str:
    """Add a cell at the end of the open notebook, run it as a person would (a *later* cell, on
    the live kernel) and return its text output."""
    page = session.page
    page.evaluate(
        """async (code) => {
      const app = window.jupyterapp;
      const notebook = app.shell.currentWidget.content;
      notebook.activeCellIndex = notebook.widgets.length - 1;
      await app.commands.execute('notebook:insert-cell-below');
      notebook.activeCell.model.sharedModel.setSource(code);
      await app.commands.execute('notebook:run-cell');
    }""",
        code,
    )
    page.wait_for_function(
        """() => {
          const nb = window.jupyterapp.shell.currentWidget;
          const cell = nb.content.widgets[nb.content.widgets.length - 1];
          const count = cell.model.executionCount;
          return count !== null && count !== undefined
            && nb.sessionContext.session.kernel.status === 'idle';
        }""",
        timeout=timeout_ms,
    )
    return str(
        page.evaluate("""() => {
      const nb = window.jupyterapp.shell.currentWidget.content;
      const cell = nb.widgets[nb.widgets.length - 1];
      return cell.node.querySelector('.jp-OutputArea') ?.innerText ?? '';
    }""")
    )
