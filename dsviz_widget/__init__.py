"""dsviz_widget: iterate on ML datasets and understand model predictions in the notebook.

>>> import dsviz_widget as dv
>>> run = dv.init(project="cars", job_type="create-dataset")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from dsviz_widget import data_types, errors
from dsviz_widget._compare import Comparison, compare
from dsviz_widget._display import show
from dsviz_widget._errors import (
    CellTypeError,
    DsvizError,
    ImmutableError,
    IntegrityError,
    NotFoundError,
    StoreError,
    TableArgumentError,
    UnsafePathError,
    ValidationError,
)
from dsviz_widget._lineage_graph import lineage
from dsviz_widget._run_config import ConfigError
from dsviz_widget._runs import (
    Run,
    finish,
    gc,
    init,
    log,
    log_artifact,
    use_artifact,
    verify,
)
from dsviz_widget.artifacts import Artifact, ArtifactEntry, ArtifactNotLoggedError
from dsviz_widget.media import Audio, Classes, Image
from dsviz_widget.table import JoinedTable, Table

__version__ = "0.1.0"

#: W&B's base error class is ``wandb.Error``; ours is :class:`DsvizError`.
Error = DsvizError


def __getattr__(name: str) -> Any:
    # W&B code reads `wandb.run`, `wandb.config` and `wandb.summary` as the current run's (run
    # is None before init and after finish). Looked up at each access, never cached here, so
    # `from dsviz_widget import config` after init gets the run's config.
    if name in ("run", "config", "summary"):
        from dsviz_widget._run_current import current

        return current(name)
    raise AttributeError(f"module 'dsviz_widget' has no attribute {name!r}")


__all__ = [
    "Artifact",
    "ArtifactEntry",
    "ArtifactNotLoggedError",
    "Audio",
    "CellTypeError",
    "Classes",
    "Comparison",
    "ConfigError",
    "DsvizError",
    "Error",
    "Image",
    "ImmutableError",
    "IntegrityError",
    "JoinedTable",
    "NotFoundError",
    "Run",
    "StoreError",
    "Table",
    "TableArgumentError",
    "UnsafePathError",
    "ValidationError",
    "__version__",
    "compare",
    "config",
    "data_types",
    "errors",
    "finish",
    "gc",
    "init",
    "lineage",
    "log",
    "log_artifact",
    "run",
    "show",
    "summary",
    "use_artifact",
    "verify",
]
