"""Shared fixtures: every test gets its own store directory and no current run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store, also set as ``DSVIZ_DIR`` so module-level calls use it."""
    import dsviz_widget as dv

    root = tmp_path / "store"
    monkeypatch.setenv("DSVIZ_DIR", str(root))
    dv.finish()
    yield root
    dv.finish()
