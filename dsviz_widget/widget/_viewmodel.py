"""The widget's view model: what one widget shows, as engine queries, and which filter applies.

Both sides of the widget ask it the same questions: the message handler for a browser's
page or summary request (a :class:`QuerySpec` parsed from the message), the widget's Python
API (``w.page()``, ``w.num_rows``, ``w.query``, ``w.selected``) for the synced view state.
So a view state means one engine query, and one cache holds its views: the engine's own
(keyed by ``Query.key()``), never a second one keyed by the browser's JSON.

**The last good filter.** A malformed filter must not blank the grid: the browser keeps
showing the rows of the last filter that worked. The kernel holds the same rule
(:meth:`ViewModel.apply_filter`), so ``w.page()``, ``w.num_rows`` and ``w.query`` answer
for the *applied* filter, not for the text being typed; the error is the widget's
``filter_error`` trait.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from dsviz_widget.engine import (
    Engine,
    FilterError,
    Query,
    QueryError,
    Source,
    View,
    ViewHolder,
    change_filter,
    check_change_columns,
    compared_columns,
    shared_engine,
)
from dsviz_widget.widget._protocol import FilterErrorState, QuerySpec

# A group page's aggregate of a table column, as the engine names it ("mean(x)").
_AGGREGATE = re.compile(r"(?:mean|min|max)\((.+)\)", re.DOTALL)


def _sortable_somewhere(name: str, table: Sequence[str]) -> bool:
    """Whether a sort key names a table column or a field some group page has."""
    if name in table or name.rstrip("_") == "count":
        return True
    m = _AGGREGATE.fullmatch(name)
    return m is not None and m.group(1) in table


def drilled(spec: QuerySpec) -> bool:
    """Does ``spec`` look into one group (rather than show the groups)?"""
    return spec.get("group_row") is not None or bool(spec.get("group"))


class ViewModel:
    """View state -> engine query for one table, and the widget's applied filter.

    Parameters
    ----------
    source:
        What the widget shows.
    engine:
        The engine to ask; ``None``: the kernel's shared one (``engine.shared_engine``), so
        the widget pages the same views ``table.query`` does. Either way it belongs to
        someone else: closing the widget leaves it (and other widgets' views) working.
    compare:
        The source is a comparison: ``changed_only`` narrows it to the changed rows.
    """

    def __init__(self, source: Source, *, engine: Engine | None = None, compare: bool = False):
        self.source = source
        self.engine = engine if engine is not None else shared_engine()
        self.compare = compare
        #: The filter text the Python API answers for: the last one that worked ("" at first).
        self.applied_filter = ""
        #: The views this widget asked for: they go when it closes (see :meth:`close`).
        self.holder = ViewHolder()

    # ---- queries -----------------------------------------------------------------------

    def query(self, spec: QuerySpec) -> Query:
        """The engine query for a (validated) query spec.

        Looking into a group (``group_row`` or ``group``) is one ``Query.match`` on the key
        columns, read from that row by the engine: the groups themselves are not computed.
        """
        filt = self._filter_text(spec) or None
        columns = spec.get("columns") or None
        sort = self.fit_sort(spec)
        group_by = list(spec.get("group_by") or [])
        if group_by and drilled(spec):
            row = spec.get("group_row")
            if row is not None and row >= self.source.num_rows:
                raise QueryError(
                    f"'group_row' {row} is out of range (the table has {self.source.num_rows} rows)"
                )
            parent = Query(filter=filt, group_by=group_by)
            key = None if row is not None else dict(spec.get("group") or {})
            q = self.engine.group_query(self.source, parent, key, row=row)
            return dataclasses.replace(q, sort=sort, columns=columns)
        return Query(filter=filt, sort=sort, group_by=group_by, columns=columns)

    def fit_sort(self, spec: QuerySpec) -> list[str]:
        """The sort keys of ``spec`` as the view it asks for can use them.

        A group page sorts by its own fields (keys, ``count``, aggregates); a row column's
        key there sorts by the column's ``mean(...)``, when it has one. Rows (also those of
        one group) sort by table columns; an aggregate's key there sorts by its column.
        Keys meaning nothing in this view but something in another (``count`` among rows)
        are left out; a key naming nothing anywhere is passed on for the engine to refuse.
        The first key for a field wins.
        """
        keys = [k for k in spec.get("sort") or [] if isinstance(k, str) and k]
        if not keys:
            return []
        table = self.engine.view(self.source, holder=self.holder).columns
        group_by = list(spec.get("group_by") or [])
        grouped = bool(group_by) and not drilled(spec)
        shown = spec.get("columns") or None  # the group page's means: of shown columns only
        fields = self.engine.group_fields(self.source, group_by, shown) if grouped else table
        known = set(fields) | set(table)
        out: list[str] = []
        seen: set[str] = set()
        for key in keys:
            name, desc = key, False
            if key not in known and key[0] in "+-":
                name, desc = key[1:], key[0] == "-"
            target: str | None = None
            if name in fields:
                target = name
            elif grouped and name in table and f"mean({name})" in fields:
                target = f"mean({name})"
            elif not grouped:
                m = _AGGREGATE.fullmatch(name)
                target = m.group(1) if m and m.group(1) in fields else None
            if target is None and not _sortable_somewhere(name, table):
                target = key  # a typo: the engine refuses it, naming the closest columns
                desc = False
            if target is None or target in seen:
                continue
            seen.add(target)
            out.append(f"-{target}" if desc else target)
        return out

    def view(self, spec: QuerySpec) -> View:
        """The engine view for a spec (the engine keeps the last few, so paging does not
        recount). A filter error points into the user's own text."""
        try:
            return self.engine.view(self.source, self.query(spec), self.holder)
        except FilterError as exc:
            user = str(spec.get("filter") or "")
            if exc.text != user and user.strip():  # composed for changed_only
                raise FilterError(exc.message, exc.position - 1, user) from None
            raise

    def _filter_text(self, spec: QuerySpec) -> str:
        user = str(spec.get("filter") or "")
        user = user if user.strip() else ""
        if spec.get("changed_only") and self.compare:
            # Composed from the user's text and column names, then parsed by the engine's own
            # parser like any filter: never pasted into SQL.
            changed = change_filter(self.change_columns(spec.get("change_columns") or []))
            return f"({user}) and ({changed})" if user else changed
        return user

    def change_columns(self, chosen: Sequence[str]) -> list[str]:
        """The columns that define a change: ``chosen`` (checked), else the default (every
        compared column except those that changed on every row; one scan, then kept)."""
        if chosen:
            compared = compared_columns(
                self.engine.view(self.source, holder=self.holder).relation.columns
            )
            return check_change_columns(compared, chosen)
        return self.engine.change_counts(self.source).default

    def rows(self, row_ids: Sequence[int]) -> pa.Table:
        """Source rows by row id, with a ``_row`` column (what ``widget.selected`` shows)."""
        return self.engine.rows(self.source, row_ids)

    # ---- the last good filter ----------------------------------------------------------

    def apply_filter(
        self, text: str, changed_only: bool = False, change_columns: Sequence[str] = ()
    ) -> FilterErrorState | None:
        """Make ``text`` the applied filter if it works; else keep the applied one and say why.

        "Works" is what the browser means by it: the filtered view can be made (the text
        parses, its names and types check). Making it runs no query: its rows are counted
        when the browser asks, after the first page is drawn. The browser sends the
        same filter in its page requests and falls back to its last good filter on an error,
        so both sides then show the rows of the same filter.
        """
        try:
            self.view(
                {
                    "filter": text,
                    "changed_only": changed_only,
                    "change_columns": list(change_columns),
                }
            )
        except FilterError as exc:
            return {"message": exc.message, "position": exc.position}
        except QueryError as exc:
            return {"message": str(exc), "position": -1}
        self.applied_filter = text
        return None

    def focus(self, view: View) -> None:
        """The widget looks at ``view`` now: stop the background work of its other views
        (those nobody else uses; see ``Engine.focus``)."""
        self.engine.focus(self.holder, view)

    def close(self) -> None:
        """Let the engine drop the views this widget made, with their order files, except
        those another widget holds or ``table.query`` asked for (the engine is shared and
        stays open)."""
        self.engine.release(self.holder)


def group_key_text(view: View) -> list[list[str]]:
    """The key of the group a drilled view shows, as the chip shows it (``null`` for a
    missing value): ``[[column, value], ...]`` in ``group_by`` order."""
    return [[str(k), _as_text(v)] for k, v in view.query.match]


def _as_text(value: Any) -> str:
    if isinstance(value, pa.Scalar):
        value = value.as_py() if value.is_valid else None
    return "null" if value is None else str(value)
