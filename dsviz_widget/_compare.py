"""``dv.compare(...)``: two or more versions of a table aligned on a key, as a queryable object.

Shown in a notebook it opens the widget's compare mode (through ``_display``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from dsviz_widget import _display
from dsviz_widget._errors import NotFoundError, ValidationError
from dsviz_widget._frames import default_engine, run_count, run_query
from dsviz_widget.engine import (
    ChangeCounts,
    Query,
    Queryable,
    QueryError,
    Source,
    change_filter,
    check_change_columns,
    compare_sources,
    compared_columns,
)
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
        self._source: Source | None = None
        self._change_counts: ChangeCounts | None = None

    def engine_source(self) -> Source:
        """The aligned rows as an engine ``Source`` (``dsviz_widget.engine.Queryable``);
        built once (the rows are matched then), so later calls cost nothing."""
        if self._source is None:
            sources = [t.engine_source() for t in self.tables]
            self._source = compare_sources(sources, labels=self.labels, on=self.on)
        return self._source

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

    def count(self, filter: str | None = None) -> int:
        """Aligned rows the filter keeps (all without one), exact; see ``Table.count``.

        >>> from dsviz_widget import Table, compare
        >>> t0 = Table(columns=["id", "pred"], data=[[0, 1], [1, 2]])
        >>> t1 = Table(columns=["id", "pred"], data=[[0, 1], [1, 3]])
        >>> compare(t0, t1, on="id").count("changed")
        1
        """
        return run_count(self.engine_source, filter)

    # ---- what changed ----------------------------------------------------------------

    def change_counts(self) -> dict[str, int]:
        """On how many rows each compared column changed (columns every version has).

        >>> from dsviz_widget import Table, compare
        >>> t0 = Table(columns=["id", "pred", "p"], data=[[0, 1, 0.5], [1, 2, 0.25]])
        >>> t1 = Table(columns=["id", "pred", "p"], data=[[0, 1, 0.6], [1, 3, 0.75]])
        >>> compare(t0, t1, on="id").change_counts()
        {'pred': 1, 'p': 2}
        """
        return dict(self._counts().counts)

    def default_change_columns(self) -> list[str]:
        """The columns that define a change unless you name them: every compared column
        except those that changed on every row (a retrained model's confidence, a run's
        setting), which would make every row "changed"."""
        return self._counts().default

    def changed_filter(self, columns: str | Sequence[str] | None = None) -> str:
        """Filter text selecting the rows where any of ``columns`` changed (default:
        :meth:`default_change_columns`), to combine with your own:
        ``cmp.query(filter=f"({cmp.changed_filter('pred')}) and truth == 3")``."""
        return change_filter(self._change_columns(columns))

    def changed(
        self,
        columns: str | Sequence[str] | None = None,
        *,
        sort: str | Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Any:
        """The rows where any of ``columns`` changed between the versions, as a DataFrame
        (all of them, or the first ``limit``). ``columns`` default to
        :meth:`default_change_columns`.

        >>> from dsviz_widget import Table, compare
        >>> t0 = Table(columns=["id", "pred", "p"], data=[[0, 1, 0.5], [1, 2, 0.25]])
        >>> t1 = Table(columns=["id", "pred", "p"], data=[[0, 1, 0.6], [1, 3, 0.75]])
        >>> compare(t0, t1, on="id").changed(columns=["pred"])["id"].tolist()
        [1]
        """
        text = self.changed_filter(columns)
        n = self.num_changed(columns)
        want = n if limit is None else min(n, _check_limit(limit))
        frames = []
        for offset in range(0, want, MAX_PAGE):
            frames.append(
                self.query(
                    filter=text, sort=sort, offset=offset, limit=min(MAX_PAGE, want - offset)
                )
            )
        if not frames:
            return self.query(filter=text, sort=sort, limit=0)
        import pandas as pd

        return pd.concat(frames) if len(frames) > 1 else frames[0]

    def num_changed(self, columns: str | Sequence[str] | None = None) -> int:
        """How many rows :meth:`changed` returns, without reading them."""
        wanted = self._change_columns(columns)
        return int(default_engine().count_changed(self.engine_source(), wanted))

    def transitions(
        self,
        column: str,
        before: str | None = None,
        after: str | None = None,
        *,
        filter: str | None = None,
    ) -> Any:
        """How ``column``'s values moved from version ``before`` to ``after`` (labels;
        default the first and the last): a DataFrame of row counts with one row per value
        in ``before`` and one column per value in ``after`` (a missing value is ``None``).
        For a boolean such as ``correct``, ``[False][True]`` counts the rows the later
        version fixed and ``[True][False]`` those it broke.

        >>> from dsviz_widget import Table, compare
        >>> t0 = Table(columns=["id", "ok"], data=[[0, True], [1, False], [2, False]])
        >>> t1 = Table(columns=["id", "ok"], data=[[0, False], [1, True], [2, False]])
        >>> int(compare(t0, t1, on="id").transitions("ok").loc[False, True])
        1
        """
        import pandas as pd

        before = self.labels[0] if before is None else before
        after = self.labels[-1] if after is None else after
        table = default_engine().transitions(
            self.engine_source(), column, before, after, filter=filter
        )
        rows = _ordered(table.column("before").to_pylist())
        cols = _ordered(table.column("after").to_pylist())
        out = pd.DataFrame(
            0,
            index=pd.Index(rows, name=f"{column}@{before}", dtype=object),
            columns=pd.Index(cols, name=f"{column}@{after}", dtype=object),
        )
        for b, a, n in zip(*table.to_pydict().values(), strict=True):
            out.loc[b, a] += n
        return out

    def _counts(self) -> ChangeCounts:
        if self._change_counts is None:
            self._change_counts = default_engine().change_counts(self.engine_source())
        return self._change_counts

    def _change_columns(self, columns: str | Sequence[str] | None) -> list[str]:
        if columns is None:
            return self.default_change_columns()
        wanted = [columns] if isinstance(columns, str) else list(columns)
        compared = compared_columns(self.engine_source().schema.names)
        try:
            return check_change_columns(compared, wanted)
        except QueryError as exc:
            raise ValidationError(str(exc)) from None

    def __len__(self) -> int:
        return int(default_engine().view(self.engine_source(), Query()).num_rows)

    def __repr__(self) -> str:
        return f"Comparison({', '.join(self.labels)} on {self.on!r})"

    def _ipython_display_(self) -> None:
        _display.display_table(self)


#: Rows per engine page when :meth:`Comparison.changed` reads them all.
MAX_PAGE = 100_000


def _check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValidationError(f"limit must be an int >= 0, got {limit!r}")
    return limit


def _ordered(values: list[Any]) -> list[Any]:
    """Distinct values, sorted where they can be (mixed or missing values last)."""
    distinct = list(dict.fromkeys(values))
    present = [v for v in distinct if v is not None]
    with contextlib.suppress(TypeError):
        present.sort()
    return present + ([None] if None in distinct else [])


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
