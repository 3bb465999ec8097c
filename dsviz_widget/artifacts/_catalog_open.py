"""Which catalog a store uses, from its location.

``open_catalog`` is the one place that maps a catalog location to a catalog class: a path is
the embedded SQLite catalog; a ``postgresql://`` (or ``postgres://``) URL is the team store's
shared catalog in PostgreSQL. Both have the same methods (``BaseCatalog``), so the store never
asks which one it has.
"""

from __future__ import annotations

import os
from pathlib import Path

from dsviz_widget._errors import UnsupportedError
from dsviz_widget.artifacts._catalog import Catalog
from dsviz_widget.artifacts._catalog_base import BaseCatalog


def is_url(location: str | os.PathLike[str]) -> bool:
    return isinstance(location, str) and "://" in location


def open_catalog(location: str | os.PathLike[str]) -> BaseCatalog:
    """The catalog at ``location``: a SQLite file path, or a PostgreSQL URL.

    A URL's credentials may be in it or in the usual ``PG*`` variables and ``~/.pgpass``.

    Examples
    --------
    >>> open_catalog("/tmp/store/catalog.sqlite")  # doctest: +SKIP
    >>> open_catalog("postgresql://dsviz@db.example/team")  # doctest: +SKIP
    """
    if is_url(location):
        scheme = str(location).split("://", 1)[0].lower()
        if scheme in ("postgresql", "postgres"):
            try:
                # Imported here: psycopg comes with the "team" extra, not every install.
                from dsviz_widget.artifacts._catalog_pg import PostgresCatalog
            except ImportError as exc:
                raise UnsupportedError(
                    f'a {scheme}:// catalog needs psycopg ({exc}); pip install "dsviz_widget[team]"'
                ) from None
            return PostgresCatalog(str(location))
        raise UnsupportedError(f"a {scheme}:// catalog is not supported")
    return Catalog(Path(location))
