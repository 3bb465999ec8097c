"""How a ``Table`` applies W&B's column rules, and reads its constructor's data under them.

The rules themselves (:class:`~dsviz_widget._column_types.Rule`: ``dtype=``, ``optional=``,
``cast``, keys) are ``_column_types``'; :class:`ColumnRules` is one table's set of them, with
its foreign keys and ``allow_mixed_types``: it checks each row before the table adds it, and
a cast or a key against the values already there. :func:`build` turns the constructor's
``columns`` / ``data`` / ``rows`` / ``dataframe`` into the in-memory backend and its rules.
``Table`` keeps every public method and delegates here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from dsviz_widget._column import check_names
from dsviz_widget._column_types import DEFAULT_COLUMNS, Rule, TableIndex, key_rule, rules_for
from dsviz_widget._errors import CellTypeError, TableArgumentError, ValidationError
from dsviz_widget._table_memory import MemoryColumns

if TYPE_CHECKING:
    import pandas as pd

    from dsviz_widget.table import Table

#: How the primary key's rule names it in errors.
PK_LABEL = "the primary key"


class Columns(Protocol):
    """What the rules read of a table's rows (either backend of ``table.py``)."""

    @property
    def kinds(self) -> dict[str, str]: ...
    @property
    def primary_key(self) -> str | None: ...
    def get_column(self, name: str) -> list[Any]: ...


class ColumnRules:
    """The rules one table's columns follow, checked before values are added.

    ``by_column`` holds only rules that constrain something (a kind, or no None); ``foreign``
    the foreign keys from ``set_fk`` (stored by the artifact that stores the table); ``mixed`` is
    ``allow_mixed_types``, which drops declared types but not a column's one kind of value.
    ``memory`` arguments return the table's in-memory backend, loading a Parquet-backed
    table first, so a table is loaded only once a change is known to be valid.
    """

    def __init__(self, by_column: dict[str, Rule] | None = None, mixed: bool = False) -> None:
        self.by_column: dict[str, Rule] = {} if by_column is None else by_column
        self.foreign: dict[str, tuple[Table, str]] = {}
        self.mixed = mixed

    def append(
        self,
        columns: list[str],
        values: Sequence[Any],
        row: int,
        memory: Callable[[], MemoryColumns],
    ) -> None:
        """Check ``values`` (row number ``row``) and add them as a row; all or nothing."""
        if len(values) != len(columns):
            raise ValidationError(
                f"row {row}: add_data got {len(values)} values for {len(columns)} columns {columns}"
            )
        if self.by_column:
            for name, value in zip(columns, values, strict=True):
                rule = self.by_column.get(name)
                if rule is not None:
                    rule.check(value, row, name)
        try:
            memory().add_row(values)
        except CellTypeError as exc:
            if self.mixed:
                raise CellTypeError(
                    f"{exc}. allow_mixed_types=True lifts dtype checks, but a column still "
                    "holds one kind of value (ints and floats mix) so that it can be sorted, "
                    "filtered and compared: store such values as strings, or in two columns"
                ) from None
            raise

    def cast(
        self, name: str, rule: Rule, rows: Columns, memory: Callable[[], MemoryColumns]
    ) -> None:
        """Apply ``rule`` to column ``name``: its values must fit, it takes the kind the rule
        starts with, and later values are checked."""
        for row, value in enumerate(rows.get_column(name)):
            rule.check(value, row, name)
        if rule.start is not None and rows.kinds[name] != rule.start:
            memory().declare(name, rule.start)
        if rule.kinds is not None or not rule.optional:
            self.by_column[name] = rule

    def set_primary_key(
        self, name: str, rows: Columns, memory: Callable[[], MemoryColumns]
    ) -> None:
        """``Table.set_pk`` on an existing column ``name``."""
        have = rows.primary_key
        if have == name:
            return
        if have is not None:
            raise TableArgumentError(
                f"cannot set {name!r} as the primary key: {have!r} is already the primary key"
            )
        if name in self.foreign:
            raise ValidationError(f"column {name!r} is a foreign key; it cannot be the primary key")
        self.cast(name, key_rule(PK_LABEL), rows, memory)
        backend = memory()
        backend.primary_key = name
        backend.cache.clear()

    def set_foreign_key(
        self,
        name: str,
        table: Table,
        table_col: str,
        rows: Columns,
        memory: Callable[[], MemoryColumns],
    ) -> None:
        """``Table.set_fk`` once both columns are known to exist."""
        if name == rows.primary_key:
            raise ValidationError(f"column {name!r} is the primary key; it cannot be a foreign key")
        self.cast(name, key_rule(f"the foreign key to column {table_col!r}"), rows, memory)
        self.foreign[name] = (table, table_col)

    def restore_foreign_key(self, name: str, table: Table, table_col: str) -> None:
        """A foreign key read back with its table: its values were checked by ``set_fk``
        before it was stored, so only values added from now on are checked."""
        self.by_column[name] = key_rule(f"the foreign key to column {table_col!r}")
        self.foreign[name] = (table, table_col)


def build(
    columns: Sequence[str] | None,
    data: Iterable[Sequence[Any]] | np.ndarray | pd.DataFrame | None,
    rows: Iterable[Sequence[Any]] | None,
    dataframe: pd.DataFrame | None,
    dtype: Any,
    optional: bool | Sequence[bool],
    mixed: bool,
) -> tuple[MemoryColumns, ColumnRules]:
    """The backend and rules of ``Table(columns, data, rows, dataframe, dtype, optional,
    allow_mixed_types)``: every value checked as ``add_data`` checks it."""
    if rows is not None:
        if data is not None:
            raise ValidationError("give either data or rows (the same thing), not both")
        data = rows
    if data is not None and _is_dataframe(data):
        dataframe, data = cast("pd.DataFrame", data), None
    if dataframe is not None and not _is_dataframe(dataframe):
        raise TableArgumentError(
            f"dataframe must be a pandas DataFrame, got {type(dataframe).__name__} (give rows "
            "as data=)"
        )
    if dataframe is not None:
        if data is not None:
            raise ValidationError("give either data or dataframe, not both")
        memory = MemoryColumns.from_dataframe(dataframe, columns)
        rules = ColumnRules(mixed=mixed)
        for name, rule in rules_for(memory.columns, dtype, optional, mixed).items():
            rules.cast(name, rule, memory, lambda: memory)
        return memory, rules
    if columns is None:
        columns = list(DEFAULT_COLUMNS) if data is not None else []
    if isinstance(columns, str):
        raise ValidationError("columns must be a list of names, not a single string")
    names = check_names(list(columns))
    memory = MemoryColumns.empty(names)
    rules = ColumnRules(rules_for(names, dtype, optional, mixed), mixed)
    for name, rule in rules.by_column.items():
        if rule.start is not None:
            memory.declare(name, rule.start)
    if isinstance(data, np.ndarray) and data.ndim == 2 and not data.dtype.hasobject:
        return _array_rows(names, data, rules), rules
    if data is not None:
        for row in cast("Iterable[Sequence[Any]]", data):
            rules.append(names, tuple(row), memory.num_rows, lambda: memory)
    return memory, rules


def _array_rows(names: list[str], data: np.ndarray, rules: ColumnRules) -> MemoryColumns:
    """A 2-D numeric (or str) array, column by column (vectorised)."""
    if data.shape[1] != len(names):
        raise ValidationError(
            f"data has {data.shape[1]} columns but the table has {len(names)} {names}"
        )
    built = MemoryColumns.empty([])
    for j, name in enumerate(names):
        built.add_column(name, np.ascontiguousarray(data[:, j]))
    for name, rule in rules.by_column.items():
        for row, value in enumerate(built.get_column(name)):
            rule.check(value, row, name)
        if rule.start is not None:
            built.declare(name, rule.start)
    return built


def computed_columns(
    columns: list[str],
    rows: Iterator[tuple[TableIndex, list[Any]]],
    fn: Callable[[int, dict[str, Any]], dict[str, Any]],
) -> dict[str, list[Any]]:
    """The new columns of ``Table.add_computed_columns``: ``fn(index, row_dict)`` per row."""
    new: dict[str, list[Any]] = {}
    for ndx, row in rows:
        out = fn(ndx, dict(zip(columns, row, strict=True)))
        if not isinstance(out, dict):
            raise ValidationError(
                f"add_computed_columns: the function returned {type(out).__name__} for row "
                f"{int(ndx)}; it must return a dict of new column name -> value"
            )
        for key, value in out.items():
            new.setdefault(key, []).append(value)
    return new


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and hasattr(data, "items")
