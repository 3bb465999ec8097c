"""Columns as the engine sees them: the filter language's type classes, what each column
can do (``capabilities``) and how a column is read in SQL.

A column is known to SQL only by its positional alias (``c0``, ``c1``, ... : see
``_relation``); the user's name is kept for messages and result column names.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from dsviz_widget._format import ALL, CAPABILITIES, NONE, OPAQUE_KINDS, Capabilities
from dsviz_widget.engine import _temporal

#: The type classes of dates/times, times of day and durations (see ``type_class``).
TEMPORAL = frozenset({"datetime", "time", "duration"})


def quote_ident(name: str) -> str:
    """SQL-quote an identifier *we* made (aliases, registered names), inner quotes doubled.

    User column names never go through here: DuckDB matches quoted names
    case-insensitively, so ``"Score"`` could find ``score``; SQL uses positional aliases.
    """
    if "\0" in name:
        raise ValueError("identifiers may not contain NUL characters")
    return '"' + name.replace('"', '""') + '"'


def type_class(kind: str, arrow_type: pa.DataType) -> str:
    """Collapse a column's kind and Arrow type into the filter language's types."""
    if kind in OPAQUE_KINDS:
        return "opaque"
    if kind == "dict":
        return "dict"
    if _temporal.unreadable(arrow_type):
        return "opaque"
    temporal = _temporal.temporal_class(arrow_type)
    if temporal:
        return temporal
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return "num"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "str"
    if (
        pa.types.is_struct(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_list(arrow_type)
    ):
        return "opaque"
    return "native"


def capabilities(kind: str, arrow_type: pa.DataType) -> Capabilities:
    """What the engine can do with a column of this kind and Arrow type: the kind's entry in
    the format's capability table, or for kinds that depend on the type (``native``), what
    the filter language makes of the type (opaque types cannot be compared, sorted or grouped)."""
    known = CAPABILITIES.get(kind)
    if known is not None:
        return known
    return NONE if type_class(kind, arrow_type) == "opaque" else ALL


@dataclass
class SqlColumn:
    """A column as the engine sees it: the user's ``name`` (only ever used at the edges:
    parsing, messages, result column names) and ``alias``, its name inside SQL."""

    name: str
    kind: str
    type: pa.DataType
    alias: str = ""

    @property
    def cls(self) -> str:
        return type_class(self.kind, self.type)

    @property
    def is_float(self) -> bool:
        return bool(pa.types.is_floating(self.type))

    @property
    def ident(self) -> str:
        if not self.alias:
            raise RuntimeError(f"column {self.name!r} has no SQL alias")  # a relation's bug
        return self.alias


def unusable(info: SqlColumn, verb: str) -> str:
    """Why an opaque column cannot be ``verb`` (sorted, grouped), for a QueryError."""
    why = _temporal.unreadable(info.type)
    if why:
        return f"{why}: it cannot be {verb}"
    kind = info.kind
    article = "an" if kind[:1] in tuple("aeiou") else "a"
    what = {"sorted": "sort", "grouped": "group"}.get(verb, verb)
    return f"is {article} {kind} column and cannot be {verb}; {what} by one of its derived columns"


def column_sql(col: SqlColumn, table: str = "") -> str:
    """The column's value in SQL, NaN read as NULL (the engine's one NaN rule)."""
    ident = (table + "." if table else "") + col.ident
    # Not NULLIF(x, NaN): DuckDB prunes that against Parquet statistics, which pyarrow
    # writes without NaN, and then lets NaN rows through (seen with duckdb 2.0).
    return f"(CASE WHEN isnan({ident}) THEN NULL ELSE {ident} END)" if col.is_float else ident
