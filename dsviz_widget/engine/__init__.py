"""Kernel-side query engine over Arrow and Parquet (DuckDB). Never imports widget code."""

from __future__ import annotations

from dsviz_widget._format import KIND_KEY, META_KEY
from dsviz_widget.engine._changes import (
    ChangeCounts,
    change_filter,
    check_change_columns,
    compared_columns,
)
from dsviz_widget.engine._columns import capabilities
from dsviz_widget.engine._engine import Engine
from dsviz_widget.engine._errors import FilterError, QueryError
from dsviz_widget.engine._join import DerivedSource, compare_sources, join_sources
from dsviz_widget.engine._lifecycle import Superseded, ViewHolder, Work, doing
from dsviz_widget.engine._parser import parse_filter
from dsviz_widget.engine._query import Query
from dsviz_widget.engine._shared import shared_engine
from dsviz_widget.engine._source import Queryable, Source
from dsviz_widget.engine._view import View

__all__ = [
    "KIND_KEY",
    "META_KEY",
    "ChangeCounts",
    "DerivedSource",
    "Engine",
    "FilterError",
    "Query",
    "QueryError",
    "Queryable",
    "Source",
    "Superseded",
    "View",
    "ViewHolder",
    "Work",
    "capabilities",
    "change_filter",
    "check_change_columns",
    "compare_sources",
    "compared_columns",
    "doing",
    "join_sources",
    "parse_filter",
    "shared_engine",
]
