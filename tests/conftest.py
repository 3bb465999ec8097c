"""Shared fixtures: every test gets its own store directory and no current run.

Markers: ``slow`` is what the quick loop (``pytest -m "not slow"``) leaves out; ``browser``
tests drive JupyterLab in Chromium and are slow too (added here, so no browser test can be
forgotten). CI runs everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# The store kinds the store test suite runs against (local directory, S3 + SQLite, ...).
from tests._store_kinds import postgres_session, seaweed_session, store_location  # noqa: F401


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh store, also set as ``DSVIZ_DIR`` so module-level calls use it."""
    import dsviz_widget as dv

    root = tmp_path / "store"
    monkeypatch.setenv("DSVIZ_DIR", str(root))
    dv.finish()
    yield root
    dv.finish()
