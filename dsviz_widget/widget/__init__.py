"""The notebook widgets: :class:`DatasetWidget` for tables, :class:`LineageWidget` for lineage.

The entry point is :func:`show`; ``dv.show`` and ``Table._ipython_display_`` call it.
"""

from __future__ import annotations

from dsviz_widget.widget._lineage import LineageWidget
from dsviz_widget.widget._show import compare_widget as compare
from dsviz_widget.widget._show import show_widget as show
from dsviz_widget.widget._widget import DatasetWidget

__all__ = ["DatasetWidget", "LineageWidget", "compare", "show"]
