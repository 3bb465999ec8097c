"""Which catalog a store uses, from its location.

``open_catalog`` is the one place that maps a catalog location to a catalog class: a path is
the embedded SQLite catalog; a ``postgresql://`` URL is the team store's shared catalog
(issue 14: not wired yet, refused with a clear error rather than guessed at).
"""

from __future__ import annotations

import os
from pathlib import Path

from dsviz_widget._errors import UnsupportedError
from dsviz_widget.artifacts._catalog import Catalog


def is_url(location: str | os.PathLike[str]) -> bool:
    return isinstance(location, str) and "://" in location


def open_catalog(location: str | os.PathLike[str]) -> Catalog:
    """The catalog at ``location``: a SQLite file path, or a database URL."""
    if is_url(location):
        scheme = str(location).split("://", 1)[0]
        raise UnsupportedError(f"a {scheme}:// catalog is not supported yet")
    return Catalog(Path(location))
