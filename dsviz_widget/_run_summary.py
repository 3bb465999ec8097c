"""``wandb.summary``: one value per key for a run, by default the last one logged.

``run.log`` sets each logged key (and ``_step``, ``_runtime``, ``_timestamp``) to its latest
value; the user may set, change or delete keys (``summary["best_acc"] = 0.9``), nested
dicts included (``summary["val"]["acc"] = 0.8``). Each change by the user is written to
the run's record at once; the history's updates are written with their rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from dsviz_widget._run_config import json_friendly


class _Node(MutableMapping[str, Any]):
    """A dict of the summary (the root or a nested dict) that writes every change through."""

    _data: dict[str, Any]
    _changed: Callable[[], None]

    def __init__(self, data: dict[str, Any], changed: Callable[[], None]) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_changed", changed)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        # A nested dict comes back wrapped, so `summary["a"]["b"] = 1` is saved too.
        return _Node(value, self._changed) if isinstance(value, dict) else value

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._changed()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        """Set several keys, saving once."""
        items = dict(other, **kwargs)
        for key in items:
            if not isinstance(key, str):
                raise TypeError(f"summary keys must be strings, got {type(key).__name__}")
        self._data.update({k: json_friendly(v, f"summary[{k!r}]") for k, v in items.items()})
        self._changed()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)


class Summary(_Node):
    """A run's summary: ``summary["acc"]``, ``summary.acc``, ``summary.update({...})``.

    Examples
    --------
    >>> summary = Summary({"acc": 0.5})
    >>> summary.acc = 0.9
    >>> dict(summary)
    {'acc': 0.9}
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        persist: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        root: dict[str, Any] = dict(data or {})

        def changed() -> None:
            if persist is not None:
                persist(root)

        super().__init__(root, changed)

    def _logged(self, row: Mapping[str, Any]) -> None:
        """Take the latest values of a history row (saved by the caller, with the row)."""
        self._data.update(row)

    def _as_dict(self) -> dict[str, Any]:
        return self._data
