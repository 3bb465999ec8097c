"""The structured query a view answers: filter text, sort keys, group keys, columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from dsviz_widget.engine._errors import QueryError
from dsviz_widget.engine._tokens import unknown_column_message

AGGREGATES = ("count", "mean", "min", "max", "sum")
# Only the mean by default: min and max of every numeric column made a group page ~10x
# dearer than count + mean, whatever was shown; ask for them through ``aggregates``.
DEFAULT_AGGREGATES = ("mean",)


@dataclass(frozen=True)
class Query:
    """What to show of a table.

    Parameters
    ----------
    filter:
        Filter-language text (see :func:`parse_filter`), or ``None`` for all rows.
    sort:
        Column names, first key first; a ``"-"`` prefix sorts descending. Nulls (and NaN)
        always sort last; ties keep the source order.
    group_by:
        Columns to group by; the view then has one row per group.
    aggregates:
        With ``group_by``: ``{column: ["mean", "min", "max", "sum", "count"]}``. ``None``
        means the mean of every numeric column among ``columns`` (all without
        ``columns``; ``count`` is always there). Output columns are named
        ``"mean(score)"`` and so on.
    columns:
        Columns to return, in order; ``None`` means all.
    samples:
        With ``group_by``: whether the groups carry their first row ids (``_sample_rows``,
        what the widget opens a group and shows its images by). ``table.query`` leaves
        them out: nobody asked for them there, and finding them costs a query.
    match:
        ``((column, value), ...)``: only rows whose column equals the value, compared in
        the column's own type (a null or NaN value matches missing values). This is how a
        group is opened exactly (:meth:`View.group_query`), whatever its key's type.

    Examples
    --------
    >>> Query(filter="score > 0.5", sort=["-score", "id"])
    Query(filter='score > 0.5', sort=('-score', 'id'), group_by=(), aggregates=None, columns=None, match=(), samples=True)
    """

    filter: str | None = None
    sort: Sequence[str] = field(default=())
    group_by: Sequence[str] = field(default=())
    aggregates: dict[str, Sequence[str]] | None = None
    columns: Sequence[str] | None = None
    match: tuple[tuple[str, object], ...] = ()
    samples: bool = True

    def __post_init__(self) -> None:
        # Accept a bare string where a list is expected, and freeze lists for hashing.
        for name in ("sort", "group_by"):
            value = getattr(self, name)
            if value is None:
                value = ()
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(value))
        if self.columns is not None:
            cols = (self.columns,) if isinstance(self.columns, str) else self.columns
            object.__setattr__(self, "columns", tuple(cols))
        match = self.match.items() if isinstance(self.match, dict) else (self.match or ())
        object.__setattr__(self, "match", tuple((str(k), v) for k, v in match))
        if self.filter is not None and not isinstance(self.filter, str):
            raise QueryError(f"filter must be a string, got {type(self.filter).__name__}")
        if isinstance(self.filter, str) and not self.filter.strip():
            object.__setattr__(self, "filter", None)
        if not self.group_by:  # rows: one view whoever asks (samples are a group field)
            object.__setattr__(self, "samples", True)

    def key(self) -> tuple[object, ...]:
        aggs = (
            None
            if self.aggregates is None
            else tuple(sorted((k, tuple(v)) for k, v in self.aggregates.items()))
        )
        # repr: key values may be unhashable or NaN (never equal to itself); the type is
        # part of it so that 1 and 1.0 and "1" stay distinct views.
        match = tuple((k, type(v).__name__, _exact_repr(v)) for k, v in self.match)
        return (
            self.filter,
            tuple(self.sort),
            tuple(self.group_by),
            aggs,
            None if self.columns is None else tuple(self.columns),
            bool(self.samples),  # before match: Engine.view reads match as the last
            match,
        )


def check_columns(names: Sequence[str], columns: Sequence[str], what: str) -> None:
    for name in names:
        if not isinstance(name, str):
            raise QueryError(f"{what}: column names must be strings, got {name!r}")
        if name not in columns:
            raise QueryError(f"{what}: {unknown_column_message(name, columns)}")


def parse_sort_key(key: str, columns: Sequence[str]) -> tuple[str, bool]:
    """``"-score"`` -> ``("score", True)``; an exact column name wins over the prefix."""
    if isinstance(key, str) and key in columns:  # any name, even "" or "-x"
        return key, False
    if not isinstance(key, str) or not key:
        raise QueryError(f"sort: keys must be non-empty strings, got {key!r}")
    if key.startswith("-") and key[1:] in columns:
        return key[1:], True
    if key.startswith("+") and key[1:] in columns:
        return key[1:], False
    raise QueryError(f"sort: {unknown_column_message(key.lstrip('+-'), columns)}")


def _exact_repr(value: object) -> str:
    """``repr`` that tells every key value apart: an Arrow scalar's repr shows its Python
    value, which for a nanosecond time of day drops the last three digits."""
    if isinstance(value, pa.Scalar):
        return f"{value.type}:{pa.array([value], value.type).to_string()}"
    return repr(value)
