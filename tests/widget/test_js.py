"""The front end's own checks, run from pytest so that CI's single test command covers them:
TypeScript strict type checking and the vitest unit tests (request client, page cache,
overlay geometry, virtual window, columns, Arrow decoding)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[2] / "js"


def _npx() -> str:
    npx = shutil.which("npx")
    if npx is None or not (JS / "node_modules").is_dir():
        reason = "node/npm or js/node_modules missing (pip install -e . runs npm install)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    return npx


def _run(*args: str) -> str:
    proc = subprocess.run(
        [_npx(), *args],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout


def test_typescript_strict() -> None:
    _run("tsc", "--noEmit")


@pytest.mark.slow
def test_vitest() -> None:
    out = _run("vitest", "run")
    assert "failed" not in out.lower().replace("0 failed", "")
