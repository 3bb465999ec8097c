"""The notebook widget: a paged, virtualised view of one table (or a comparison of versions)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import anywidget
import pandas as pd
import traitlets as t

from dsviz_widget._errors import DsvizError, ValidationError
from dsviz_widget._frames import until_here
from dsviz_widget.engine import Query, QueryError, Source
from dsviz_widget.table import Table
from dsviz_widget.widget._cells import made_in_cell
from dsviz_widget.widget._comparepins import default_pins
from dsviz_widget.widget._protocol import (
    DENSITIES,
    IMAGE_COMPARE_MODES,
    MAX_COLUMN_WIDTH,
    MAX_PAGE_SIZE,
    MIN_COLUMN_WIDTH,
    MIN_PAGE_SIZE,
    CompareInfo,
    QuerySpec,
)
from dsviz_widget.widget._versions import (
    SWAP_DEFAULTS,
    Shown,
    comparison_shown,
    version_label,
    versions_state,
)
from dsviz_widget.widget._views import NOT_LOGGED, ViewStore
from dsviz_widget.widget._worker import RequestWorker, plain

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"


class DatasetWidget(anywidget.AnyWidget):
    """A table in the notebook: sort, filter, group, image overlays, compare mode.

    The browser pulls pages, thumbnails and summaries through custom messages (see
    ``_protocol.py``); only the small view state below is synced. Set any of it from Python
    and the view follows; read it to see what the user chose.

    Examples
    --------
    >>> w = show(table, filter="score > 0.5", sort=["-score"])  # doctest: +SKIP
    >>> w.group_by = ["label"]                                    # doctest: +SKIP
    >>> w.selected                                                # doctest: +SKIP
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    filter = t.Unicode("").tag(sync=True)
    """Filter expression in the filter language (e.g. ``score > 0.5 and label == 'cat'``),
    exactly as typed in the filter bar or set from Python.

    An empty string shows every row. A malformed expression is kept here as typed, but it is
    not *applied*: the rows stay those of the last filter that worked (:attr:`applied_filter`),
    in the grid and in :meth:`page`, :attr:`num_rows`, :attr:`query` and :attr:`group`
    alike, and :attr:`filter_error` says what is wrong and where (the grid shows it with a
    caret under the filter bar).
    """

    filter_error = t.Dict(allow_none=True, default_value=None, read_only=True).tag(sync=True)
    """Why :attr:`filter` is not applied: ``{"message": str, "position": int}`` (``position``
    is the 0-based character offset of the problem, -1 when the filter parses but fails to
    run), or ``None`` when the typed filter is the applied one. Set by the kernel only."""

    sort = t.List(t.Unicode()).tag(sync=True)
    """Sort keys, most significant first: column names, ``"-"`` prefix for descending.

    Clicking a header sets one key; shift-click adds or flips a key. The keys stay through
    grouping and each view sorts by what they mean there: groups by a row column's
    ``mean(...)`` (or a key, ``count``, an aggregate), rows by a table column (a group sort by
    ``max(x)`` sorts the rows of a group by ``x``); a key meaning nothing in the view is left
    out of it (see :attr:`query`), a key naming no column at all is an error.
    """

    group_by = t.List(t.Unicode()).tag(sync=True)
    """Columns to group by. Non-empty shows one row per group with its ``count``, numeric
    aggregates and sample images; ``[]`` shows rows."""

    group = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    """Look into one group by its key values, from Python: ``w.group = {"label": "cat"}``.
    The widget then points :attr:`group_row` at a row of that group (a ``ValidationError`` if
    there is none); ``None`` (and a click on "all groups") goes back to the groups."""

    group_row = t.Int(None, allow_none=True).tag(sync=True)
    """The group being looked into, named by the source row id (``_row``) of one of its rows,
    or ``None``. Clicking a group row sets it. A row id, not the key values, travels to the
    browser and back: a key such as an int64 above 2^53, a NaN or a timestamp does not survive
    JSON and JavaScript numbers exactly, a row id does."""

    columns = t.List(t.Unicode()).tag(sync=True)
    """Visible columns in order; ``[]`` shows every column."""

    column_widths = t.Dict(value_trait=t.Int()).tag(sync=True)
    """Column widths in pixels chosen by the user (dragging a header's right edge, or
    double-clicking it to fit the text), by column key (the name; a compare pair's base name):
    ``{"label": 220}``. Columns not listed take their default width; widths are held to
    40-2000 px. They stay while the filter, sort or visible columns change."""

    pinned = t.List(t.Unicode()).tag(sync=True)
    """Columns pinned to the left, in order, by key (``["id"]``): they are drawn first and stay
    in view while the grid scrolls sideways. Keys not shown are ignored. A comparison opens
    with its key columns and its ``changed`` marker pinned (unless ``pinned`` is given)."""

    density = t.Enum(DENSITIES, "comfortable").tag(sync=True)
    """Row height: ``"compact"`` (small thumbnails, about 24 px plain rows: many rows per
    screen), ``"comfortable"`` (the default) or ``"large"`` (big thumbnails). Thumbnails are
    requested at the size the rows draw them."""

    selection = t.List(t.Int()).tag(sync=True)
    """Source row ids (the ``_row`` of each row) of the selected rows, in the order they were
    selected; see :attr:`selected`.

    In the grid a click selects a row, ctrl-click (cmd-click) adds or removes one, shift-click
    selects the rows from the last clicked one, in view order, loaded or not (ctrl+shift-click
    adds them), and Shift+ArrowDown / Shift+ArrowUp extend it from the keyboard. A range holds
    at most ``MAX_SELECTION`` (100,000) rows. Set it from Python to select rows by id: each id
    is kept once, and an id the table does not have is a ``ValidationError``."""

    page_size = t.Int(100).tag(sync=True)
    """Rows fetched per request while scrolling (10-1000). Changing it refetches the view in
    blocks of the new size."""

    height = t.Int(520).tag(sync=True)
    """Height of the widget in pixels."""

    score_threshold = t.Float(0.0).tag(sync=True)
    """Boxes whose score is below this are hidden (boxes without scores are always shown)."""

    mask_opacity = t.Float(0.45).tag(sync=True)
    """Opacity of mask overlays, from 0 (hidden) to 1."""

    hidden_classes = t.Dict(value_trait=t.List(t.Int())).tag(sync=True)
    """Per image column, the class ids whose boxes and mask pixels are hidden:
    ``{"image": [0, 3]}``."""

    changed_only = t.Bool(False).tag(sync=True)
    """Compare mode: show only the rows whose values differ between the versions (in the
    columns :attr:`change_columns` names)."""

    change_columns = t.List(t.Unicode()).tag(sync=True)
    """Compare mode: the columns whose change makes a row "changed" (base names, e.g.
    ``["pred"]``); empty means the default, every compared column except those that
    differ on every row (a retrained model's confidence, a run's setting)."""

    image_compare = t.Enum(IMAGE_COMPARE_MODES, "auto").tag(sync=True)
    """Compare mode: how an image column's versions are shown. ``"overlay"``: one thumbnail,
    the first version's picture with every version's boxes in that version's colour and line
    style, and mask pixels whose class changed highlighted; ``"side"``: one thumbnail per
    version, side by side; ``"auto"`` (the default): overlaid where the versions are the same
    pictures on every row (same image files), else side by side."""

    versions = t.Dict(allow_none=True, default_value=None, read_only=True).tag(sync=True)
    """For a table read from a logged artifact, what the version picker offers
    (``_protocol.VersionsState``: the artifact, entry and version shown, and the other
    versions holding that entry, newest first, with their aliases); ``None`` otherwise.
    Set by the kernel only."""

    compared_with = t.Unicode(None, allow_none=True).tag(sync=True)
    """The version of the shown artifact table the widget compares it with (``"v0"``), or
    ``None``: the table alone. Set by the version picker ("Compare with ▾", and "back to
    vN") or with :meth:`compare_with`; a version that cannot be compared leaves it as it was
    and :attr:`compare_error` says why."""

    compare_error = t.Unicode("", read_only=True).tag(sync=True)
    """Why the last :attr:`compared_with` could not be shown (no such version, the entry is
    missing from it), naming the version and the entry; ``""`` after a good one."""

    source_generation = t.Int(0, read_only=True).tag(sync=True)
    """Counts the times the widget swapped what it shows (:attr:`compared_with`): the
    browser then drops the requests it asked of the old table and reloads. Kernel only."""

    _swapping = False  # while _swap sets traits: their observers wait for it to finish

    def __init__(
        self,
        source: Source,
        read_blob: Callable[[str], bytes],
        *,
        name: str | None = None,
        compare: CompareInfo | None = None,
        classes: dict[str, list[dict[str, Any]]] | None = None,
        views: ViewStore | None = None,
        versions_of: Table | None = None,
        **view_state: Any,
    ) -> None:
        if not (STATIC / "widget.js").exists():
            raise RuntimeError(
                "the widget's JavaScript bundle is missing: reinstall the package "
                "(pip install -e .) or build it with `cd js && npm install && npm run build`"
            )
        if compare is not None and "pinned" not in view_state:
            view_state["pinned"] = default_pins(source.schema.names, compare["labels"])
        super().__init__(**view_state)
        # What "back" returns to from a comparison of versions (see compared_with).
        self._single = Shown(source, read_blob, name, compare, classes)
        self._table = versions_of
        self._single_state: dict[str, Any] = {}
        self.set_trait("versions", versions_state(versions_of))
        self._handler = self._single.handler()
        self._model = self._handler.model
        self._worker = RequestWorker(self._handler, self._reply)
        self._views = views
        self.on_msg(self._on_custom_msg)
        if self.comm is not None:  # the browser closing the comm closes the widget
            self.comm.on_close(lambda _msg: self.close())
        made_in_cell(self)  # the cell run again releases this widget's views
        self._filter_changed({})
        if self.selection:  # set by __init__'s keywords: checked now the table is known
            self.selection = list(self.selection)
        if self.change_columns:  # the same: checked against the compared columns
            self.change_columns = list(self.change_columns)
        if self.group:
            self._group_changed({"new": self.group, "old": None})
        if self.compared_with is not None:  # set by __init__'s keywords
            self._compared_with_changed({"new": self.compared_with, "old": None})

    @t.observe("filter", "changed_only", "change_columns")
    def _filter_changed(self, change: dict[str, Any]) -> None:
        if not hasattr(self, "_model") or self._swapping:
            return  # set by __init__'s keywords: checked once the model exists
        error = self._model.apply_filter(self.filter, self.changed_only, self.change_columns)
        self.set_trait("filter_error", dict(error) if error is not None else None)

    @t.observe("group")
    def _group_changed(self, change: dict[str, Any]) -> None:
        if not hasattr(self, "_handler"):
            return  # set by __init__'s keywords: resolved once the handler exists
        if not change["new"]:
            self.group_row = None
            return
        spec: QuerySpec = {**self._spec(), "group_row": None, "sort": [], "columns": None}
        self._until_here(None)
        found = self._model.view(spec).page(0, 1)
        if found.num_rows == 0:
            self.group = change["old"]
            raise ValidationError(f"no group has the key {change['new']!r}")
        self.group_row = int(found.column("_row")[0].as_py())

    @t.validate("selection")
    def _valid_selection(self, proposal: Any) -> list[int]:
        ids = list(dict.fromkeys(int(i) for i in proposal["value"]))
        if hasattr(self, "_handler") and ids:
            n = self._handler.source.num_rows
            bad = [i for i in ids if not 0 <= i < n]
            if bad:
                raise ValidationError(
                    f"selection: row id {bad[0]} is not in the table (row ids are 0..{n - 1})"
                )
        return ids

    @t.validate("change_columns")
    def _valid_change_columns(self, proposal: Any) -> list[str]:
        names = list(dict.fromkeys(proposal["value"]))
        if hasattr(self, "_model") and names:
            if not self._model.compare:
                raise ValidationError("change_columns is for a comparison (dv.compare)")
            try:
                self._model.change_columns(names)
            except QueryError as exc:
                raise ValidationError(str(exc)) from None
        return names

    @t.validate("page_size")
    def _valid_page_size(self, proposal: Any) -> int:
        return int(min(MAX_PAGE_SIZE, max(MIN_PAGE_SIZE, proposal["value"])))

    @t.validate("column_widths")
    def _valid_widths(self, proposal: Any) -> dict[str, int]:
        return {
            str(k): int(min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, v)))
            for k, v in proposal["value"].items()
        }

    @t.validate("mask_opacity")
    def _valid_opacity(self, proposal: Any) -> float:
        return float(min(1.0, max(0.0, proposal["value"])))

    def _on_custom_msg(self, _widget: object, content: object, buffers: object) -> None:
        self._worker.submit(content)

    def _reply(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        self.send(content, buffers)

    # ---- comparing versions (the version picker) ---------------------------------------

    def compare_with(self, version: str | None) -> DatasetWidget:
        """Show this artifact table compared with another version of it, in place; ``None``
        goes back to the table alone. The same as picking ``version`` in the widget's
        "Compare with ▾" menu.

        The older version comes first, rows are matched on the tables' primary key (else as
        ``dv.compare`` matches them) and columns are labelled by version (``pred@v0``,
        ``pred@v1``), as ``dv.compare(older, newer)`` would make them; the filter, sort,
        grouping and selection start afresh, and the table's own come back with ``None``.

        Parameters
        ----------
        version:
            ``"v0"``, an alias (``"best"``) or ``"latest"``, of the artifact the table was
            read from.

        Returns
        -------
        DatasetWidget
            This widget, to chain or to show.

        Raises
        ------
        ValidationError
            The version does not exist, is the one shown, or has no such table: the message
            names the version and the entry, and the widget is left as it was.

        Examples
        --------
        >>> t = dv.use_artifact("preds:v1").get("predictions")  # doctest: +SKIP
        >>> w = dv.show(t).compare_with("v0")                    # doctest: +SKIP
        >>> w.changed_only = True                                # doctest: +SKIP
        >>> w.compare_with(None)                                 # doctest: +SKIP
        """
        self.set_trait("compare_error", "")
        self.compared_with = version
        if self.compare_error:
            raise ValidationError(self.compare_error)
        return self

    @t.observe("compared_with")
    def _compared_with_changed(self, change: dict[str, Any]) -> None:
        if not hasattr(self, "_handler") or self._swapping:
            return  # set by __init__'s keywords (shown at its end), or by _swap itself
        new, old = change["new"], change["old"]
        try:
            # "latest" while the latest is shown: nothing to do (a swap would reset the view).
            table = self._table
            if new and old and table is not None and version_label(table, new) == old:
                self._swap_traits(compared_with=old)
                return
            shown, version = (
                (self._single, None) if new is None else comparison_shown(self._table, new)
            )
        except DsvizError as exc:
            # Kept as it was, in Python and in the browser (which set it): the error says why.
            self._swap_traits(compared_with=old)
            self.set_trait("compare_error", str(exc))
            return
        if old is None:
            self._single_state = self.view_query  # what "back" restores
        # A comparison opens with its key and the changed marker pinned, as dv.compare does.
        pins = {
            "pinned": default_pins(shown.source.schema.names, shown.compare["labels"])
            if shown.compare
            else []
        }
        self._swap(shown, version, self._single_state if new is None else pins)

    def _swap(self, shown: Shown, version: str | None, state: dict[str, Any]) -> None:
        """Show ``shown`` from now on: the request worker answers with its handler, the view
        state starts from ``state``, and the browser, told by ``source_generation``, drops
        what it asked of the old table and loads the new one."""
        handler = shown.handler()
        self._worker.swap(handler)
        self._handler, self._model = handler, handler.model
        with self.hold_sync():
            # Every key at once, then the filter is applied once: one at a time, each would
            # make a view of the new table from a mix of old and new state.
            self._swap_traits(
                compared_with=version,
                **{k: state.get(k, default) for k, default in SWAP_DEFAULTS.items()},
            )
            self._filter_changed({})
            self.set_trait("compare_error", "")
            self.set_trait("versions", versions_state(self._table))
            self.set_trait("source_generation", self.source_generation + 1)

    def _swap_traits(self, **values: Any) -> None:
        self._swapping = True
        try:
            for key, value in values.items():
                setattr(self, key, value)
        finally:
            self._swapping = False

    @property
    def view_query(self) -> dict[str, Any]:
        """The part of the view state naming the table's columns and rows (what a swap of
        tables starts afresh, and "back" restores)."""
        return {
            "filter": self.filter,
            "sort": list(self.sort),
            "group_by": list(self.group_by),
            "columns": list(self.columns),
            "selection": list(self.selection),
            "pinned": list(self.pinned),
        }

    def close(self) -> None:
        """Close the widget: its request thread stops (the query running for it is
        interrupted) and the views it made leave the engine with their temp files, except
        those another widget or ``table.query`` uses. The engine is the kernel's shared one:
        it stays open. The browser closing the widget's comm closes it too."""
        self._worker.close()
        self._handler.close()
        super().close()

    def release_views(self) -> None:
        """Let the engine drop the views this widget made, with their order files, except
        those another widget or ``table.query`` uses. The widget stays open and makes them
        again when asked; done for you when the cell that made it runs again."""
        self._model.close()

    def save_view(self, name: str) -> None:
        """Save the view state (filter, sort, group_by, columns, hidden classes, score
        threshold, mask opacity, column widths, pinned columns, density) under ``name``, with
        the artifact the table was read from.

        Saving a name again replaces it. Reopen it with ``dv.show(table, view=name)``.

        Examples
        --------
        >>> table = dv.use_artifact("preds:latest").get("predictions")  # doctest: +SKIP
        >>> w = dv.show(table, filter="score < 0.3")                     # doctest: +SKIP
        >>> w.save_view("low-confidence")                                 # doctest: +SKIP
        >>> dv.show(table, view="low-confidence").filter                  # doctest: +SKIP
        'score < 0.3'
        """
        if self._views is None:
            raise ValidationError(NOT_LOGGED)
        if self.compared_with is not None:
            # The state names the comparison's columns (pred@v0), which the table does not have.
            raise ValidationError(
                f"views are saved for the table alone, and it is compared with "
                f"{self.compared_with} now: go back first (w.compare_with(None))"
            )
        self._views.save(name, self.view_state)

    @property
    def saved_views(self) -> list[str]:
        """Names of the views saved for this table (``[]`` for a table not read from an artifact)."""
        return self._views.names() if self._views is not None else []

    @property
    def view_state(self) -> dict[str, Any]:
        """The part of the state a saved view keeps, as plain JSON values."""
        return {
            "filter": self.filter,
            "sort": list(self.sort),
            "group_by": list(self.group_by),
            "columns": list(self.columns),
            "hidden_classes": {k: list(v) for k, v in self.hidden_classes.items()},
            "score_threshold": float(self.score_threshold),
            "mask_opacity": float(self.mask_opacity),
            "column_widths": dict(self.column_widths),
            "pinned": list(self.pinned),
            "density": str(self.density),
        }

    @property
    def source(self) -> Source:
        """What the widget shows, as the engine sees it."""
        return self._handler.source

    @property
    def applied_filter(self) -> str:
        """The filter the rows are shown for: :attr:`filter` when it works, else the last
        filter that did (see :attr:`filter_error`)."""
        return self._model.applied_filter

    @property
    def query(self) -> Query:
        """The engine query for the current view state (with the applied filter)."""
        return self._model.query(self._spec())

    def _spec(self) -> QuerySpec:
        return {
            "filter": self._model.applied_filter,
            "sort": list(self.sort),
            "group_by": list(self.group_by),
            "columns": list(self.columns) or None,
            "changed_only": self.changed_only,
            "change_columns": list(self.change_columns),
            "group": self.group,
            "group_row": self.group_row,
        }

    def _until_here(self, rows: tuple[int, int] | None) -> None:
        """Wait until the table's rows ``[start, stop)`` (None: any query) can be read, before
        the engine is entered: a cold remote table may still be downloading its file, and a
        wait inside the engine would hold it from every other widget and query."""
        until_here(lambda: self._handler.source, rows)

    @property
    def num_rows(self) -> int:
        """Rows (or groups) the current view state shows."""
        spec = self._spec()
        self._until_here((0, 0) if plain(spec) else None)
        return int(self._model.view(spec).num_rows)

    @property
    def selected(self) -> pd.DataFrame:
        """The selected rows as a DataFrame, in selection order, indexed by source row id.

        Examples
        --------
        >>> w.selection = [5, 2]                  # doctest: +SKIP
        >>> list(w.selected.index)                # doctest: +SKIP
        [5, 2]
        """
        ids = list(self.selection)
        self._until_here((min(ids), max(ids) + 1) if ids else (0, 0))
        table = self._model.rows(ids)
        frame: pd.DataFrame = table.to_pandas().set_index("_row")
        return frame

    def page(self, offset: int = 0, limit: int = 50) -> pd.DataFrame:
        """Rows ``offset .. offset+limit`` of the current view, as the grid shows them."""
        spec = self._spec()
        self._until_here((offset, offset + limit) if plain(spec) else None)
        frame: pd.DataFrame = self._model.view(spec).page(offset, limit).to_pandas()
        return frame
