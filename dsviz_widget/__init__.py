"""dsviz_widget: iterate on ML datasets and understand model predictions in the notebook.

>>> import dsviz_widget as dv
>>> run = dv.init(project="cars", job_type="create-dataset")  # doctest: +SKIP
"""

from __future__ import annotations

from dsviz_widget import data_types, run
from dsviz_widget._compare import Comparison, compare
from dsviz_widget._display import show
from dsviz_widget._errors import (
    DsvizError,
    ImmutableError,
    IntegrityError,
    NotFoundError,
    StoreError,
    UnsafePathError,
    ValidationError,
)
from dsviz_widget.artifacts import Artifact
from dsviz_widget.media import Audio, Classes, Image
from dsviz_widget.run import Run, finish, gc, init, lineage, log_artifact, use_artifact, verify
from dsviz_widget.table import JoinedTable, Table

__version__ = "0.1.0"

__all__ = [
    "Artifact",
    "Audio",
    "Classes",
    "Comparison",
    "DsvizError",
    "Image",
    "ImmutableError",
    "IntegrityError",
    "JoinedTable",
    "NotFoundError",
    "Run",
    "StoreError",
    "Table",
    "UnsafePathError",
    "ValidationError",
    "__version__",
    "compare",
    "data_types",
    "finish",
    "gc",
    "init",
    "lineage",
    "log_artifact",
    "run",
    "show",
    "use_artifact",
    "verify",
]
