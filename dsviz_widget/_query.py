"""``table.query(...)`` and ``dv.compare(...)``: thin wrappers over the engine for Python users.

Results come back as pandas DataFrames indexed by row number, with media cells as
``Image`` / ``Audio`` objects, the same values ``table.to_pandas()`` would hold.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from dsviz_widget._errors import ValidationError

_engine: Any = None
_engine_lock = threading.Lock()


def engine() -> Any:
    """The process-wide engine (one DuckDB connection, created on first use)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from dsviz_widget.engine import Engine

            _engine = Engine()
        return _engine


def _keys(value: Sequence[str] | str | None, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{what} must be a column name or a list of column names")
    return list(value)


def run_query(
    obj: Any,
    filter: str | None = None,
    sort: Sequence[str] | str | None = None,
    group_by: Sequence[str] | str | None = None,
    columns: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 50,
    as_arrow: bool = False,
    how: str | None = None,
) -> Any:
    from dsviz_widget.engine import Query

    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset must be an int >= 0, got {offset!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValidationError(f"limit must be an int >= 0, got {limit!r}")
    source = obj._engine_source(how=how) if how is not None else obj._engine_source()
    query = Query(
        filter=filter or None,
        sort=_keys(sort, "sort"),
        group_by=_keys(group_by, "group_by"),
        columns=list(columns) if columns is not None else None,
    )
    page = engine().view(source, query).page(offset, limit)
    if as_arrow:
        return page
    return to_frame(page, obj._read_blob)


def to_frame(page: pa.Table, read_blob: Any) -> Any:
    """A DataFrame of an engine page: media cells decoded, ``_row`` as the index."""
    import pandas as pd

    from dsviz_widget._storage import Decoder, to_pandas_column

    decoder = Decoder(page.schema, read_blob)
    names = [n for n in page.column_names if n != "_row"]
    frame = pd.DataFrame(
        {n: to_pandas_column(decoder, n, page.column(n)) for n in names}, columns=names
    )
    if "_row" in page.column_names:
        frame.index = pd.Index(page.column("_row").to_pylist(), name="_row")
    return frame


class Comparison:
    """Two or more versions of a table aligned on a key (or on row identity), queryable.

    Columns other than the key are suffixed with the version label (``score@v0``,
    ``score@v19``); ``changed`` is true where any of them differs, and numeric columns get
    ``<col>@delta`` (last minus first). Shown in a notebook, it opens the widget's compare mode.
    """

    def __init__(
        self, tables: Sequence[Any], on: str | Sequence[str] | None, labels: Sequence[str]
    ) -> None:
        self.tables = list(tables)
        self.on = on
        self.labels = list(labels)

    def _engine_source(self) -> Any:
        from dsviz_widget.engine import compare_sources

        sources = [t._engine_source() for t in self.tables]
        return compare_sources(sources, labels=self.labels, on=self.on)

    def _read_blob(self, digest: str) -> bytes:
        from dsviz_widget._errors import NotFoundError

        for t in self.tables:
            try:
                return bytes(t._read_blob(digest))
            except NotFoundError:
                continue
        raise NotFoundError(f"no compared table has media file {digest[:12]}...")

    def query(self, *args: Any, **kwargs: Any) -> Any:
        """Query the aligned rows like ``Table.query`` (e.g. ``filter="changed"``)."""
        return run_query(self, *args, **kwargs)

    def __len__(self) -> int:
        return int(engine().view(self._engine_source(), _all()).num_rows)

    def __repr__(self) -> str:
        return f"Comparison({', '.join(self.labels)} on {self.on!r})"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from dsviz_widget.widget import show

        display(show(self))


def _all() -> Any:
    from dsviz_widget.engine import Query

    return Query()


def compare(
    *tables: Any, on: str | Sequence[str] | None = None, labels: Sequence[str] | None = None
) -> Comparison:
    """Align two or more tables (e.g. two versions of a predictions table) for comparison.

    Parameters
    ----------
    *tables : Table
        Two or more tables with the same columns.
    on : str or list of str, optional
        Key column(s); without one, rows are aligned by position (same-length tables).
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
        tables = tuple(tables[0])
    if len(tables) < 2:
        raise ValidationError("compare needs at least two tables")
    if labels is None:
        labels = _default_labels(tables)
    if len(labels) != len(tables) or len(set(labels)) != len(labels):
        raise ValidationError(f"compare needs one distinct label per table, got {list(labels)}")
    return Comparison(tables, on, labels)


def _default_labels(tables: Sequence[Any]) -> list[str]:
    labels = []
    for i, t in enumerate(tables):
        logged = getattr(getattr(t, "_stored", None), "logged", None)
        labels.append(f"v{logged.version}" if logged is not None else chr(ord("a") + i))
    if len(set(labels)) != len(labels):
        labels = [chr(ord("a") + i) for i in range(len(tables))]
    return labels


def show(obj: Any, **view_state: Any) -> Any:
    """The widget for a Table, JoinedTable, Comparison or an artifact's table.

    Examples
    --------
    >>> import dsviz_widget as dv
    >>> w = dv.show(dv.Table(columns=["x"], data=[[1]]))  # doctest: +SKIP
    """
    from dsviz_widget.widget import show as widget_show

    return widget_show(obj, **view_state)
