"""The wheel build checks for every file the JS build writes (hatch-jupyter-builder's
ensured targets), so a bundle that failed to build is an install error, not a blank widget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def ensured_targets() -> set[str]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]["ensured-targets"])


def test_every_built_file_is_an_ensured_target() -> None:
    build = (ROOT / "js" / "build.mjs").read_text()
    entries = re.search(r"entryPoints: \{(.+?)\}", build, re.S)
    assert entries is not None
    written = set()
    for name, src in re.findall(r"(\w+): path\.join\(here, \"src\", \"(\w+\.ts)\"\)", entries[1]):
        written.add(f"dsviz_widget/static/{name}.js")
        # esbuild writes <entry>.css next to the .js when the entry imports CSS.
        if re.search(r"^import \"\./[\w.]+\.css\";", (ROOT / "js" / "src" / src).read_text(), re.M):
            written.add(f"dsviz_widget/static/{name}.css")
    assert len(written) >= 4
    assert written == ensured_targets()
    static = ROOT / "dsviz_widget" / "static"
    if static.is_dir():  # built (pip install -e . ran the JS build)
        built = {f"dsviz_widget/static/{p.name}" for p in static.iterdir() if p.is_file()}
        assert built <= ensured_targets()
