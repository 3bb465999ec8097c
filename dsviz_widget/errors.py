"""W&B's ``wandb.errors``: the error classes W&B code catches, mapped onto ours.

``except wandb.errors.CommError`` around ``use_artifact`` of a version that may not exist yet,
``except wandb.Error`` around anything: both keep working after ``import dsviz_widget as wandb``.

- :class:`Error` is :class:`~dsviz_widget.DsvizError`, the base of every error raised here.
- :class:`CommError`: the store could not give what was asked (``NotFoundError``: no such
  artifact, version, alias or entry; ``StoreError``: a read or write failed).
- :class:`UsageError`: a call or value the API does not accept (``ValidationError`` and the
  errors derived from it); :class:`UnsupportedError` for W&B features not offered here.
- :class:`AuthenticationError` exists for ``except`` clauses; nothing here needs a login.
"""

from __future__ import annotations

from dsviz_widget._errors import (
    AuthenticationError,
    CommError,
    DsvizError,
    UnsupportedError,
    UsageError,
)

Error = DsvizError

__all__ = ["AuthenticationError", "CommError", "Error", "UnsupportedError", "UsageError"]
