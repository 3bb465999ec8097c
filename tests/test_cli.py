"""``dsviz demo`` builds the demo store and serves JupyterLab on the quickstart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_builds_the_store_and_serves_the_quickstart(tmp_path: Path) -> None:
    pytest.importorskip("jupyterlab")
    port = free_port()
    env = {**os.environ, "DSVIZ_PROGRESS": "0"}
    args = ["demo", "--no-browser", "--port", str(port), "--dir", str(tmp_path)]
    log_path = tmp_path / "demo.log"
    with open(log_path, "w") as log:  # a file, not a pipe: JupyterLab logs enough to fill a pipe
        proc = subprocess.Popen(
            [sys.executable, "-m", "dsviz_widget", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.time() + 300
            status = None
            while time.time() < deadline and proc.poll() is None:
                try:
                    url = f"http://127.0.0.1:{port}/api/status"
                    with urllib.request.urlopen(url, timeout=2) as response:
                        status = response.status
                        break
                except urllib.error.HTTPError as exc:
                    status = exc.code  # 403: up, and wants the token the printed URL carries
                    break
                except OSError:
                    time.sleep(1)
            assert proc.poll() is None, log_path.read_text()
            assert status in (200, 403), log_path.read_text()
            text = log_path.read_text()
            assert "building the demo store" in text and "starting JupyterLab" in text
            assert (tmp_path / "store" / "catalog.sqlite").is_file()
            import nbformat

            executed = nbformat.read(tmp_path / "01_quickstart.ipynb", as_version=4)
            assert any(c.get("outputs") for c in executed.cells if c.cell_type == "code")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
