"""The ``wandb.data_types`` import path: ``from dsviz_widget.data_types import Image``.

Code written for W&B imports media classes from ``wandb.data_types``; with
``import dsviz_widget as wandb`` that path must hold the same names. Only the types
dsviz_widget has are here (W&B's ``Video``, ``Html``, ``Histogram``, ``Object3D``,
``ImageMask``, ``BoundingBoxes2D``, ... are not: boxes and masks are plain dicts given to
``Image``).

>>> from dsviz_widget.data_types import Image
>>> import dsviz_widget as dv
>>> Image is dv.Image
True
"""

from __future__ import annotations

from dsviz_widget.media import Audio, Classes, Image
from dsviz_widget.table import JoinedTable, Table

__all__ = ["Audio", "Classes", "Image", "JoinedTable", "Table"]
