"""``dv.compare(...)``: two or more versions of a table aligned on a key, as a queryable object.

Shown in a notebook it opens the widget's compare mode (through ``_display``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dsviz_widget import _display
from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget._frames import default_engine, run_query
from dsviz_widget.engine import Query, Queryable, Source, compare_sources
from dsviz_widget.table import Table


class Comparison:
    """Two or more versions of a table aligned on a key (or on row identity), queryable.

    Columns other than the key are suffixed with the version label (``score@v0``,
    ``score@v19``); ``changed`` is true where any of them differs, and numeric columns get
    ``<col>@delta`` (last minus first). Shown in a notebook, it opens the widget's compare mode.
    """

    def __init__(
        self, tables: Sequence[Queryable], on: str | Sequence[str] | None, labels: Sequence[str]
    ) -> None:
        self.tables = list(tables)
        self.on = on
        self.labels = list(labels)

    def engine_source(self) -> Source:
        """The aligned rows as an engine ``Source`` (``dsviz_widget.engine.Queryable``)."""
        sources = [t.engine_source() for t in self.tables]
        return compare_sources(sources, labels=self.labels, on=self.on)

    def read_blob(self, digest: str) -> bytes:
        """Bytes of a media file any compared table refers to."""
        for t in self.tables:
            try:
                return bytes(t.read_blob(digest))
            except NotFoundError:
                continue
        raise NotFoundError(f"no compared table has media file {digest[:12]}...")

    def query(self, *args: Any, **kwargs: Any) -> Any:
        """Query the aligned rows like ``Table.query`` (e.g. ``filter="changed"``)."""
        return run_query(self.engine_source, self.read_blob, *args, **kwargs)

    def __len__(self) -> int:
        return int(default_engine().view(self.engine_source(), Query()).num_rows)

    def __repr__(self) -> str:
        return f"Comparison({', '.join(self.labels)} on {self.on!r})"

    def _ipython_display_(self) -> None:
        _display.display_table(self)


def compare(
    *tables: Queryable, on: str | Sequence[str] | None = None, labels: Sequence[str] | None = None
) -> Comparison:
    """Align two or more tables (e.g. two versions of a predictions table) for comparison.

    Parameters
    ----------
    *tables : Table
        Two or more tables with the same columns.
    on : str or list of str, optional
        Key column(s); default the primary key (``Table.set_pk``) set on the tables (one
        column, present in all), else rows are aligned by position (same-length tables).
    labels : list of str, optional
        Suffixes for each table's columns; default the artifact versions (``v0``, ``v19``)
        when the tables come from logged artifacts, else ``a``, ``b``, ...

    Examples
    --------
    >>> from dsviz_widget import Table
    >>> t0 = Table(columns=["id", "score"], data=[[0, 0.5], [1, 0.25]])
    >>> t1 = Table(columns=["id", "score"], data=[[0, 0.5], [1, 0.75]])
    >>> compare(t0, t1, on="id").query(filter="changed")["id"].tolist()
    [1]
    """
    if len(tables) == 1 and isinstance(tables[0], (list, tuple)):
        tables = tuple(tables[0])  # compare([t0, t1])
    if len(tables) < 2:
        raise ValidationError("compare needs at least two tables")
    if on is None:
        on = _default_key(tables)
    if labels is None:
        labels = _default_labels(tables)
    if len(labels) != len(tables) or len(set(labels)) != len(labels):
        raise ValidationError(f"compare needs one distinct label per table, got {list(labels)}")
    return Comparison(tables, on, labels)


def _default_key(tables: Sequence[Queryable]) -> str | None:
    """The primary key the tables agree on (set on any of them, a column of all), or None."""
    keys = {t.primary_key for t in tables if isinstance(t, Table) and t.primary_key is not None}
    if len(keys) != 1:
        return None
    key = keys.pop()
    return key if all(isinstance(t, Table) and key in t.columns for t in tables) else None


def _default_labels(tables: Sequence[Queryable]) -> list[str]:
    labels = []
    for i, t in enumerate(tables):
        origin = t.origin if isinstance(t, Table) else None
        labels.append(f"v{origin.version}" if origin is not None else chr(ord("a") + i))
    if len(set(labels)) != len(labels):
        labels = [chr(ord("a") + i) for i in range(len(tables))]
    return labels
