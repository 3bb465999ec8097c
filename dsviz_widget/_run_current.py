"""``dv.run``, ``dv.config`` and ``dv.summary``: the current run's, looked up at each access.

Before ``init`` (and after ``finish``) ``dv.run`` is None, as in W&B, and ``dv.config`` /
``dv.summary`` are a :class:`PreInit` that says to call ``init`` first.
"""

from __future__ import annotations

from typing import Any

from dsviz_widget._errors import DsvizError
from dsviz_widget._runs import current_run


class PreInit:
    """``dv.config`` / ``dv.summary`` before ``init``: any use says to call ``init`` first.

    >>> PreInit("dv.config")
    <dv.config: call dv.init() first>
    """

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _refuse(self, what: str) -> DsvizError:
        return DsvizError(f"call dv.init() before {self._name}{what}")

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        raise self._refuse(f".{key}")

    def __setattr__(self, key: str, value: Any) -> None:
        raise self._refuse(f".{key}")

    def __getitem__(self, key: str) -> Any:
        raise self._refuse(f"[{key!r}]")

    def __setitem__(self, key: str, value: Any) -> None:
        raise self._refuse(f"[{key!r}]")

    def __repr__(self) -> str:
        return f"<{self._name}: call dv.init() first>"


def current(name: str) -> Any:
    """``dv.run``, ``dv.config`` or ``dv.summary``: the current run's, read at each access."""
    run = current_run()
    if name == "run":
        return run
    if run is None:
        return PreInit(f"dv.{name}")
    return run.config if name == "config" else run.summary
