"""Column names that have broken engines: case collisions (DuckDB matches quoted names
case-insensitively), DuckDB's virtual columns, the engine's own aliases and result names,
SQL keywords, quotes, placeholders and odd unicode. Shared by the engine's attack
regressions (``test_attacks``) and its generative tests (``test_generative``), with
``ref``, the filter text that reaches a column of any of these names.

The list holds distinct names, ``"score"`` and ``"Score"`` first (the attack tests filter on
them by position), and never ``"_row"``, the engine's own row-id column.
"""

from __future__ import annotations

ODD_COLUMN_NAMES = [
    "score",
    "Score",
    "SCORE",
    "file_row_number",
    "filename",
    "rowid",
    "count",
    "_sample_rows",
    "c0",
    "c1",
    "C0",
    "k0",
    "n",
    "s",
    "a0",
    "_v1",
    "_frn",
    "t",
    "m",
    "select",
    "FROM",
    "order",
    "group",
    "NULL",
    "true",
    "and",
    "",
    " ",
    '"',
    "'",
    "`",
    'a"b',
    "$1",
    "?",
    "%",
    "é",
    "É",
    "ß",
    "SS",
    "İ",
    "i̇",
    "🙂",
    "a\x00b",
    "mean(score)",
    "row",
    "-x",
    "x.y",
    "%_v",
]


def ref(name: str) -> str:
    """The filter text naming column ``name``: backticks reach any name (``row["row"]``
    would be a key of a column named ``row``)."""
    return "`" + name.replace("`", "``") + "`"
