"""W&B's column types on a ``Table``: ``dtype=``, ``optional=``, ``cast``, keys, row indexes.

W&B checks every cell against a type per column: the type is given (``dtype=``, ``cast``)
or fixed by the column's first non-None value, and ``optional`` says whether None is allowed.
Our columns already have a kind fixed by their first value (``_cells``); this module adds
what W&B lets a user declare on top of that: a :class:`Rule` per column, checked before a
row is added. A mismatch is a :class:`CellTypeError` (a ``TypeError``, as in W&B).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from dsviz_widget._cells import describe, is_missing_native, kind_of_value
from dsviz_widget._errors import CellTypeError, ValidationError
from dsviz_widget.media import Audio, Image

if TYPE_CHECKING:
    from dsviz_widget.table import Table

#: W&B's ``log_mode`` values. Locally every ``Artifact.add`` stores the table as it is then
#: (a version never changes); ``INCREMENTAL`` tables may only grow by rows, as in W&B.
LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")
#: The columns W&B gives a table built without ``columns``.
DEFAULT_COLUMNS = ("Input", "Output", "Expected")

_NUMBER = frozenset({"int", "float"})
_TIME = frozenset({"native"})
#: Python type -> (kinds of the values it accepts, the kind an empty column starts as).
#: W&B has one number type: ``int`` and ``float`` both accept ints and floats; ``float``
#: makes the column float from the start (ints are stored exactly as floats, or refused).
_BY_TYPE: dict[type, tuple[frozenset[str], str | None]] = {
    bool: (frozenset({"bool"}), "bool"),
    np.bool_: (frozenset({"bool"}), "bool"),
    int: (_NUMBER, "int"),
    float: (_NUMBER, "float"),
    str: (frozenset({"str"}), "str"),
    list: (frozenset({"list", "array"}), "list"),
    dict: (frozenset({"dict"}), "dict"),
    np.ndarray: (frozenset({"array", "list"}), "array"),
    Image: (frozenset({"image"}), "image"),
    Audio: (frozenset({"audio"}), "audio"),
    dt.datetime: (_TIME, None),
    dt.date: (_TIME, None),
    dt.timedelta: (_TIME, None),
    np.datetime64: (_TIME, None),
    np.timedelta64: (_TIME, None),
    decimal.Decimal: (_TIME, None),
}
#: What a key column (``set_pk`` / ``set_fk``) holds: W&B takes strings; ids are often ints.
_KEY = frozenset({"str", "int"})


@dataclass(frozen=True)
class Rule:
    """What a column accepts: value kinds (None: any) and whether None is allowed."""

    kinds: frozenset[str] | None
    optional: bool
    #: Says what the column was declared as, in errors ("dtype=str", "the primary key").
    label: str
    #: The kind an empty column starts as (None: fixed by its first value).
    start: str | None = None

    def check(self, value: Any, row: int | None, column: str) -> None:
        where = f"row {row}, column {column!r}" if row is not None else f"column {column!r}"
        if is_missing(value):
            if not self.optional:
                raise CellTypeError(
                    f"{where}: None is not allowed in {self.label} (declared with optional=False)"
                )
            return
        if self.kinds is not None and kind_of_value(value) not in self.kinds:
            raise CellTypeError(f"{where}: {self.label} does not take {describe(value)}")


def is_missing(value: Any) -> bool:
    """None, a float NaN or a NaT: what W&B reads as None."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(value != value)
    return is_missing_native(value)


def rule_for(dtype: Any, optional: bool, label: str | None = None) -> Rule:
    """The rule for ``dtype`` (a Python, numpy or media type; None: any kind)."""
    if dtype is None:
        return Rule(None, bool(optional), label or "this column")
    if isinstance(dtype, type):
        for t, (kinds, start) in _BY_TYPE.items():
            if issubclass(dtype, t):
                return Rule(kinds, bool(optional), label or f"dtype={dtype.__name__}", start)
        if issubclass(dtype, np.integer):
            return Rule(_NUMBER, bool(optional), label or f"dtype={dtype.__name__}", "int")
        if issubclass(dtype, np.floating):
            return Rule(_NUMBER, bool(optional), label or f"dtype={dtype.__name__}", "float")
    _unsupported(dtype)


def _unsupported(dtype: Any) -> NoReturn:
    raise ValidationError(
        f"dtype {dtype!r} is not supported: give a type (int, float, bool, str, list, dict, "
        "numpy.ndarray, datetime.datetime, datetime.date, dv.Image, dv.Audio) or None, or a "
        "list of them, one per column (W&B's list-of-types and constant-value notations and "
        "its wandb.data_types type objects are not supported)"
    )


def rules_for(
    columns: Sequence[str], dtype: Any, optional: bool | Sequence[bool], mixed: bool
) -> dict[str, Rule]:
    """The rules of a new table's columns (``dtype`` one type or a list per column, as W&B's;
    ``allow_mixed_types`` drops the types, as W&B's does)."""
    n = len(columns)
    dtypes = list(dtype) if isinstance(dtype, (list, tuple)) else [dtype] * n
    optionals: list[bool] = (
        list(optional) if isinstance(optional, (list, tuple)) else [bool(optional)] * n
    )
    for what, given in (("dtype", dtypes), ("optional", optionals)):
        if len(given) != n:
            raise ValidationError(
                f"{what} has {len(given)} entries for {n} columns {list(columns)}: give one per "
                "column, or a single value for all"
            )
    rules = {}
    for name, d, o in zip(columns, dtypes, optionals, strict=True):
        rule = rule_for(None if mixed else d, o)
        if rule.kinds is not None or not rule.optional:
            rules[name] = rule
    return rules


def key_rule(what: str) -> Rule:
    return Rule(_KEY, False, what)


class TableIndex(int):
    """A row number of a table, as ``iterrows`` and ``get_index`` give it (W&B's ``_Index``).

    It is an ``int``: put in another table, it is stored as the row number.
    """

    _table: Table | None = None

    @classmethod
    def of(cls, ndx: int, table: Table) -> TableIndex:
        index = cls(ndx)
        index._table = table
        return index

    def get_row(self) -> dict[str, Any]:
        """The row this index names, as ``{column: value}``."""
        if self._table is None:
            return {}
        return dict(zip(self._table.columns, self._table.row(int(self)), strict=True))


class Rows(list[Any]):
    """``table.data``: the rows as lists, read-only.

    W&B's ``table.data`` is the table's own list, so changing it changes the table; ours is a
    copy, so a change would be lost without a word. It is refused instead, naming what to use.
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(
            "table.data is a read-only copy of the rows: add rows with add_data(...), replace "
            "them all with table.data = [...], or build a new Table"
        )

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
