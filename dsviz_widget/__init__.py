"""dsviz_widget: iterate on ML datasets and understand model predictions in the notebook."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
