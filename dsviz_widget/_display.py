"""The display hook: the one door from the rest of the package to the notebook widgets.

``dv.show`` is defined here, and ``Table``, ``JoinedTable``, ``Comparison`` and ``Lineage``
display themselves through here. It is the only module outside ``widget/`` that imports
widget code, and only when called, so ``import dsviz_widget`` (and the store, the engine,
scripts without a notebook) never loads anywidget or IPython.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dsviz_widget.widget import DatasetWidget


def show(obj: Any, **view_state: Any) -> DatasetWidget:
    """The widget for a Table, JoinedTable, Comparison or an artifact's table.

    Keyword arguments are those of :func:`dsviz_widget.widget.show` (``filter``, ``sort``,
    ``group_by``, ``view``, ...).

    Examples
    --------
    >>> import dsviz_widget as dv
    >>> w = dv.show(dv.Table(columns=["x"], data=[[1]]))  # doctest: +SKIP
    """
    from dsviz_widget.widget._show import show_widget

    return show_widget(obj, **view_state)


def display_table(obj: Any) -> None:
    """Display the widget of a table-like object in the current notebook cell."""
    from IPython.display import display

    display(show(obj))  # type: ignore[no-untyped-call]


def display_lineage(graph: dict[str, Any]) -> None:
    """Display a lineage graph and, under it, the tables of the version clicked in it."""
    from IPython.display import display

    from dsviz_widget.widget._lineage import lineage_view

    display(lineage_view(graph))  # type: ignore[no-untyped-call]
