"""Entry points: turn a table-like object into a widget.

The public names are ``dsviz_widget.widget.show`` / ``.compare`` (``widget/__init__``);
``dv.show`` reaches :func:`show_widget` through ``dsviz_widget._display``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dsviz_widget._errors import ValidationError
from dsviz_widget.engine import Queryable, Source, compare_sources, compared_columns
from dsviz_widget.media import BlobReader
from dsviz_widget.table import Table
from dsviz_widget.widget._protocol import CompareInfo
from dsviz_widget.widget._views import NOT_LOGGED, VIEW_FIELDS, view_store_for
from dsviz_widget.widget._widget import DatasetWidget


def _parts(obj: Any, read_blob: BlobReader | None) -> tuple[Source, BlobReader]:
    if isinstance(obj, Source):
        if read_blob is None:
            raise TypeError("show(source) needs read_blob=: a function digest -> file bytes")
        return obj, read_blob
    if isinstance(obj, Queryable):
        return obj.engine_source(), read_blob or obj.read_blob
    # The bridge's names before ``Queryable`` (private ones); objects written against them
    # (a test's stand-in table, for one) still show.
    if hasattr(obj, "_engine_source") and hasattr(obj, "_read_blob"):
        return obj._engine_source(), read_blob or obj._read_blob
    raise TypeError(
        f"cannot show a {type(obj).__name__}: pass a dv.Table, a JoinedTable, an artifact's "
        "table, or an engine Source with read_blob="
    )


def show_widget(
    obj: Any,
    *,
    read_blob: BlobReader | None = None,
    name: str | None = None,
    view: str | None = None,
    **view_state: Any,
) -> DatasetWidget:
    """Show a table in the notebook and return the widget.

    Parameters
    ----------
    obj:
        A ``dv.Table`` / ``JoinedTable`` / ``Comparison`` / artifact table (any
        ``dsviz_widget.engine.Queryable``), or an engine ``Source`` together with ``read_blob``.
    read_blob:
        ``digest -> bytes`` of image and mask files; taken from ``obj`` when it has one.
    view:
        Reopen a view saved with ``widget.save_view(view)`` (tables read from an artifact).
        Other keyword arguments override what the saved view says.
    **view_state:
        Initial ``filter``, ``sort``, ``group_by``, ``columns``, ``height``, ...

    Examples
    --------
    >>> import dsviz_widget as dv                                 # doctest: +SKIP
    >>> w = dv.show(table, filter="score > 0.5", sort=["-score"]) # doctest: +SKIP
    >>> w = dv.show(table, view="low-confidence")                 # doctest: +SKIP
    """
    views = obj._views if isinstance(obj, DatasetWidget) else view_store_for(obj)
    if view is not None:
        if views is None:
            raise ValidationError(NOT_LOGGED)
        saved = views.load(view)
        # Keys the saved view lacks go back to their defaults, so the view looks as saved.
        defaults = {k: DatasetWidget.class_traits()[k].default() for k in VIEW_FIELDS}
        view_state = {**defaults, **saved, **view_state}
    if isinstance(obj, DatasetWidget):
        for key, value in view_state.items():
            setattr(obj, key, value)
        return obj
    source, reader = _parts(obj, read_blob)
    compare_info, classes = comparison_info(obj, source)
    return DatasetWidget(
        source,
        reader,
        name=name,
        compare=compare_info,
        classes=classes,
        views=views,
        versions_of=obj if isinstance(obj, Table) and obj.origin is not None else None,
        **view_state,
    )


def comparison_info(obj: Any, source: Source) -> tuple[CompareInfo | None, dict[str, Any] | None]:
    """Compare mode for objects like ``dv.compare(...)``: they have ``labels``, ``on`` and
    ``tables``, and their source has the ``changed`` column ``compare_sources`` adds."""
    labels = getattr(obj, "labels", None)
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
        return None, None
    if "changed" not in source.schema.names:
        return None, None
    on = getattr(obj, "on", None)
    classes: dict[str, Any] = {}
    for t in getattr(obj, "tables", None) or []:
        if isinstance(t, Queryable):
            classes.update(t.engine_source().metadata.get("classes") or {})
    key = on if isinstance(on, str) else ", ".join(on) if on else ""
    compared = compared_columns(source.schema.names)
    return {"labels": list(labels), "on": key, "compared": compared}, classes


def compare_widget(
    objs: Sequence[Any],
    *,
    on: str,
    labels: Sequence[str] | None = None,
    read_blob: BlobReader | None = None,
    **view_state: Any,
) -> DatasetWidget:
    """Show two or more versions of a table side by side, joined on ``on``.

    Each shared column ``c`` appears as ``c@<label>`` per version; numeric columns are drawn
    as paired bars and ``changed_only=True`` keeps only rows that differ.

    Examples
    --------
    >>> w = compare([table_v0, table_v1], on="id", labels=["v0", "v1"])  # doctest: +SKIP
    """
    if len(objs) < 2:
        raise ValueError("compare needs at least two tables")
    parts = [_parts(o, read_blob) for o in objs]
    names = list(labels) if labels is not None else [f"v{i}" for i in range(len(objs))]
    if len(names) != len(objs):
        raise ValueError(f"{len(objs)} tables but {len(names)} labels")
    source = compare_sources([s for s, _ in parts], labels=names, on=on)
    readers = [r for _, r in parts]

    def read_any(digest: str) -> bytes:
        last: Exception | None = None
        for reader in readers:
            try:
                return reader(digest)
            except Exception as exc:  # try the next version's store
                last = exc
        raise KeyError(f"no table holds the file {digest[:12]}") from last

    classes: dict[str, list[dict[str, Any]]] = {}
    for s, _ in parts:
        classes.update(s.metadata.get("classes") or {})
    title = " vs ".join(names)
    return DatasetWidget(
        source,
        read_any,
        name=title,
        compare={"labels": names, "on": on, "compared": compared_columns(source.schema.names)},
        classes=classes,
        **view_state,
    )
