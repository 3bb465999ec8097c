"""Opening the artifact version a person clicked in the lineage graph: which tables it holds,
and one of them read back for the grid.

Kept apart from the widget class so that the choices (what counts as a table, what a missing
store or version says) are tested without a notebook.
"""

from __future__ import annotations

from typing import Any

from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget.artifacts import Artifact, open_store, resolve_location, store_exists
from dsviz_widget.table import JoinedTable, Table

# Manifest kinds of the objects the grid can show (what an entry is comes from the manifest,
# never from its name: a plain file may be called "x.table.parquet").
_TABLE_KINDS = ("table", "joined-table")


def open_version(
    store_root: str, artifact: str, version: int, catalog: str | None = None
) -> Artifact:
    """The logged version ``artifact:v<version>`` of the store at ``store_root`` (a directory
    or ``s3://`` URL) with ``catalog`` (default: the directory's own).

    Examples
    --------
    >>> art = open_version(graph["store"], "predictions", 1)  # doctest: +SKIP
    >>> art.qualified_name                                     # doctest: +SKIP
    'predictions:v1'
    """
    # open_store would create a missing directory: a graph shown from a store deleted since
    # should say so, not silently make an empty store there.
    location, catalog = resolve_location(store_root, catalog)
    if not store_exists(location, catalog):
        raise NotFoundError(f"the artifact store {store_root} no longer exists")
    store = open_store(location, catalog)
    return Artifact._from_row(store, store.catalog.version(artifact, version))


def table_names(art: Artifact) -> list[str]:
    """Names of the entries of ``art`` that are tables, in ``art.entries()`` order.

    Decided from the manifest alone: ``art.get`` on every entry would read (and check the
    digest of) each plain file, such as a model's weights, just to learn it is not a table.
    """
    manifest = art.manifest
    if manifest is None:
        return []
    kinds = manifest.names()
    return [n for n in art.entries() if kinds.get(n) in _TABLE_KINDS]


def read_table(art: Artifact, name: str) -> Any:
    """The table entry ``name`` of ``art`` (a ``Table`` or ``JoinedTable``)."""
    obj = art.get(name)
    if not isinstance(obj, (Table, JoinedTable)):
        raise ValidationError(f"{art.qualified_name}/{name} is a {type(obj).__name__}, not a table")
    return obj
