"""Kernel-side query engine over Arrow and Parquet (DuckDB). Never imports widget code."""

from __future__ import annotations

from dsviz_widget.engine._source import KIND_KEY, META_KEY, Source

__all__ = ["KIND_KEY", "META_KEY", "Source"]
