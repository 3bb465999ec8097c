"""The transitions matrix the compare view shows: from the engine's ``(before, after, count)``
rows to the most frequent values per side, one "other" for the rest, and a filter per cell."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

from dsviz_widget.engine import View
from dsviz_widget.widget._protocol import TRANSITION_VALUES, TransitionCell

OTHER = "other"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _axis(values: list[Any], counts: list[int]) -> tuple[list[Any], bool]:
    """The side's values, most frequent first (ties in first-seen order), capped; and
    whether some were left for "other"."""
    totals: dict[Any, int] = {}
    for v, n in zip(values, counts, strict=True):
        key = _key(v)
        totals[key] = totals.get(key, 0) + n
    ordered = sorted(totals, key=lambda k: -totals[k])
    if len(ordered) <= TRANSITION_VALUES:
        return ordered, False
    return ordered[: TRANSITION_VALUES - 1], True


def _key(value: Any) -> Any:
    # NaN is missing (the engine's rule), and one NaN never equals another as a dict key.
    return None if isinstance(value, float) and math.isnan(value) else value


def matrix(
    table: pa.Table, before_field: str, after_field: str
) -> tuple[list[str], list[str], list[TransitionCell], int]:
    """``before_values``, ``after_values``, ``cells`` and ``total`` of a transitions reply
    (see ``TransitionsResponse``) from the engine's transitions table."""
    before = table.column("before").to_pylist()
    after = table.column("after").to_pylist()
    counts = [int(n) for n in table.column("count").to_pylist()]
    rows, rows_other = _axis(before, counts)
    cols, cols_other = _axis(after, counts)
    row_at = {v: i for i, v in enumerate(rows)}
    col_at = {v: i for i, v in enumerate(cols)}
    cells: dict[tuple[int, int], TransitionCell] = {}
    for b, a, n in zip(before, after, counts, strict=True):
        i = row_at.get(_key(b), len(rows))
        j = col_at.get(_key(a), len(cols))
        exact = i < len(rows) and j < len(cols)
        cell = cells.get((i, j))
        if cell is None:
            text = View.group_filter({before_field: _key(b), after_field: _key(a)}) if exact else ""
            cells[(i, j)] = {"before": i, "after": j, "count": n, "filter": text}
        else:
            cell["count"] += n
    before_values = [_text(v) for v in rows] + ([OTHER] if rows_other else [])
    after_values = [_text(v) for v in cols] + ([OTHER] if cols_other else [])
    ordered = sorted(cells.values(), key=lambda c: (c["before"], c["after"]))
    return before_values, after_values, ordered, sum(counts)
