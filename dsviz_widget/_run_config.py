"""``wandb.config``: a run's hyper-parameters, with attribute and item access.

Values are made JSON-like when they are set (numpy scalars become Python numbers, tuples
lists, dataclasses dicts, other objects their ``str``), as W&B does, so what a later
process reads back from the store is what this one sees now. Every change is written to
the run's record at once through the ``persist`` callback.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dsviz_widget._errors import DsvizError, NotFoundError, ValidationError

#: The file W&B reads default config values from, in the working directory.
DEFAULTS_FILE = "config-defaults.yaml"


class ConfigError(ValidationError):
    """A config value was changed without ``allow_val_change=True`` (W&B's ``ConfigError``)."""


class Config(Mapping[str, Any]):
    """A run's config: ``config.lr``, ``config["lr"]``, ``config.update({...})``.

    Changing a key's value once set raises :class:`ConfigError` unless
    ``allow_val_change=True`` is passed to :meth:`update` (or to ``init``); in a notebook
    changes are allowed, as in W&B. Setting the same value again is fine.

    Examples
    --------
    >>> config = Config({"lr": 0.1})
    >>> config.epochs = 3
    >>> config["lr"], dict(config)
    (0.1, {'lr': 0.1, 'epochs': 3})
    """

    _items: dict[str, Any]
    _persist: Callable[[dict[str, Any]], None] | None
    _allow_val_change: bool

    def __init__(
        self,
        items: Mapping[str, Any] | None = None,
        persist: Callable[[dict[str, Any]], None] | None = None,
        allow_val_change: bool = False,
    ) -> None:
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_persist", persist)
        object.__setattr__(self, "_allow_val_change", allow_val_change)
        self._items.update(self._checked(items or {}, allow_val_change=True))

    # -- reading -------------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._items[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __repr__(self) -> str:
        return repr(self._items)

    # -- changing ------------------------------------------------------------------------------
    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __setattr__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, d: Any, allow_val_change: bool | None = None) -> None:
        """Set several keys from a dict, an ``argparse.Namespace``, absl flags or a YAML path.

        All keys are checked before any is set.
        """
        changes = self._checked(config_dict(d), allow_val_change)
        if changes:
            if self._persist is not None:  # stored first: a refused write changes nothing
                self._persist({**self._items, **changes})
            self._items.update(changes)

    def setdefaults(self, d: Any) -> None:
        """Set the keys of ``d`` that are not set yet; others keep their values."""
        fresh = {k: v for k, v in config_dict(d).items() if _key(k) not in self._items}
        self.update(fresh)

    def _checked(self, d: Mapping[str, Any], allow_val_change: bool | None) -> dict[str, Any]:
        allow = self._allow_val_change if allow_val_change is None else allow_val_change
        out: dict[str, Any] = {}
        for raw, value in d.items():
            key = _key(raw)
            value = json_friendly(value, f"config[{key!r}]")
            if not allow and key in self._items and self._items[key] != value:
                raise ConfigError(
                    f"config key {key!r} is {self._items[key]!r}; changing it to {value!r} needs "
                    "config.update({...}, allow_val_change=True) (or log the value with "
                    "run.log if it changes during the run)"
                )
            out[key] = value
        return out


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise ValidationError(f"config keys must be strings, got {type(key).__name__} {key!r}")
    # W&B strips dashes, so argparse-style "--lr" and "lr" are one key.
    return key.strip("-")


def config_dict(params: Any) -> dict[str, Any]:
    """A plain dict from what W&B accepts as a config: a mapping, an ``argparse.Namespace``
    (or any object with ``__dict__``), absl ``FLAGS``, or the path of a YAML file."""
    if params is None:
        return {}
    if isinstance(params, Config):
        return params.as_dict()
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, (str, os.PathLike)):
        found = read_yaml(Path(params))
        if found is None:
            raise NotFoundError(f"config file {str(params)!r} does not exist")
        return found
    module = type(params).__module__
    if module.startswith("absl.flags"):
        return {name: params[name].value for name in dir(params)}
    if hasattr(params, "__dict__"):
        return {k: v for k, v in vars(params).items() if not k.startswith("_")}
    raise ValidationError(
        f"config must be a dict, an argparse.Namespace or a YAML file path, got {type(params).__name__}"
    )


def read_yaml(path: Path) -> dict[str, Any] | None:
    """Config values from a W&B YAML file (``key: {value: v}`` or ``key: v``), None if absent.

    ``wandb_version`` and ``_wandb`` are W&B's own keys and are dropped.
    """
    if not path.is_file():
        return None
    try:
        import yaml
    except ImportError:
        raise DsvizError(f"reading {str(path)!r} needs PyYAML: pip install pyyaml") from None
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(f"cannot read the config file {str(path)!r}: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValidationError(f"config file {str(path)!r} must hold a mapping of keys to values")
    return {
        k: v["value"] if isinstance(v, dict) and "value" in v else v
        for k, v in loaded.items()
        if k not in ("wandb_version", "_wandb")
    }


def json_friendly(value: Any, what: str) -> Any:
    """``value`` as JSON-like data, as W&B stores config and summary values.

    numpy and torch scalars become numbers, arrays and tuples lists, dataclasses and slices
    dicts; other objects their ``str``. Media and artifacts are refused (they are logged,
    not configured).
    """
    from dsviz_widget.artifacts import Artifact
    from dsviz_widget.media import Audio, Classes, Image
    from dsviz_widget.table import JoinedTable, Table

    if isinstance(value, (Image, Audio, Classes, Table, JoinedTable, Artifact)):
        raise ValidationError(
            f"{what}: a {type(value).__name__} cannot be stored here; log it with run.log "
            "or an artifact"
        )
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_friendly(v, f"{what}[{k!r}]") for k, v in value.items()}
    if isinstance(value, slice):
        return {"slice_start": value.start, "slice_step": value.step, "slice_stop": value.stop}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_friendly(dataclasses.asdict(value), what)
    tolist = getattr(value, "tolist", None)  # numpy / torch scalars and arrays
    if callable(tolist) and not isinstance(value, type):
        detach = getattr(value, "detach", None)
        if callable(detach):  # a torch tensor
            value = detach().cpu()
        return json_friendly(value.tolist(), what)
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [json_friendly(v, f"{what}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return [json_friendly(v, what) for v in sorted(value, key=repr)]
    return str(value)
