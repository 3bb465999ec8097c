"""The README stays true: its two set-up commands, and its quickstart runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_two_set_up_commands() -> None:
    commands = re.findall(r"```bash\n(.+?)\n```", README, re.S)
    assert commands == [
        'pip install -e ".[demo]" && dsviz demo',
        'pip install -e ".[test]" && python -m pytest',
    ]
    assert (
        commands[1] in (ROOT / ".ci" / "run").read_text()
    )  # CI runs the README's command verbatim


@pytest.mark.slow
def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    code = re.search(r"## Quickstart\n\n```python\n(.+?)\n```", README, re.S)
    assert code is not None
    check = "\nassert same == table and len(same) == 1797\nprint('ok')\n"
    env = {**os.environ, "DSVIZ_DIR": str(tmp_path / "store"), "DSVIZ_PROGRESS": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code.group(1) + check],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr
