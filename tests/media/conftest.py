"""Fixtures for the media tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import dsviz_widget as dv


@pytest.fixture
def run(tmp_path: Path) -> Iterator[dv.Run]:
    """A run on a fresh store, as a W&B script starts with ``wandb.init()``."""
    current = dv.init(dir=tmp_path / "store")
    yield current
    dv.finish()
