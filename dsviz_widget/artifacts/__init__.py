"""Artifacts and the store: SQLite catalog, content-addressed files, Parquet tables.

Never imports widget code.
"""

from __future__ import annotations

from dsviz_widget.artifacts._artifact import Artifact
from dsviz_widget.artifacts._catalog import VersionRow
from dsviz_widget.artifacts._entry import ArtifactEntry, ArtifactNotLoggedError
from dsviz_widget.artifacts._store import DEFAULT_DIR, Store, VerifyReport, default_root, open_store

__all__ = [
    "DEFAULT_DIR",
    "Artifact",
    "ArtifactEntry",
    "ArtifactNotLoggedError",
    "Store",
    "VerifyReport",
    "VersionRow",
    "default_root",
    "open_store",
]
