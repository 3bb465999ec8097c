"""Artifacts and the store: a catalog, content-addressed files (a directory or a bucket), Parquet tables.

Never imports widget code.
"""

from __future__ import annotations

from dsviz_widget.artifacts._artifact import Artifact
from dsviz_widget.artifacts._catalog import VersionRow
from dsviz_widget.artifacts._entry import ArtifactEntry, ArtifactNotLoggedError
from dsviz_widget.artifacts._s3 import resolve_cache_size
from dsviz_widget.artifacts._store import (
    DEFAULT_DIR,
    Store,
    VerifyReport,
    default_root,
    local_dir,
    open_store,
    resolve_location,
    store_exists,
)

__all__ = [
    "DEFAULT_DIR",
    "Artifact",
    "ArtifactEntry",
    "ArtifactNotLoggedError",
    "Store",
    "VerifyReport",
    "VersionRow",
    "default_root",
    "local_dir",
    "open_store",
    "resolve_cache_size",
    "resolve_location",
    "store_exists",
]
