"""The arguments of ``init`` read as W&B reads them: mode, reinit, resume, id, tags, config.

Kept apart from ``_runs`` so the rules are plain functions of their inputs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dsviz_widget._errors import ValidationError
from dsviz_widget._run_config import DEFAULTS_FILE, config_dict, read_yaml

#: W&B's modes (and its older spellings). Everything is local, so they all store the run,
#: except "disabled", whose run is kept in a throw-away store.
MODES = {"online": "online", "offline": "offline", "shared": "shared", "disabled": "disabled",
         "run": "online", "dryrun": "offline"}  # fmt: skip
REINIT = {
    None: "finish_previous",
    "default": "finish_previous",
    True: "finish_previous",
    "finish_previous": "finish_previous",
    False: "return_previous",
    "return_previous": "return_previous",
    "create_new": "create_new",
}
RESUME = {None: None, False: None, True: "auto", "auto": "auto", "allow": "allow",
          "must": "must", "never": "never"}  # fmt: skip
_ID_RESERVED = ":;,#?/'\\%"


def mode_of(mode: str | None) -> str:
    """``mode``, else ``$WANDB_MODE``, else ``"online"``."""
    given = mode if mode is not None else os.environ.get("WANDB_MODE") or "online"
    if not isinstance(given, str) or given not in MODES:
        raise ValidationError(
            f"mode must be one of 'online', 'offline', 'disabled' or 'shared', got {given!r}"
        )
    return MODES[given]


def reinit_of(reinit: object) -> str:
    try:
        return REINIT[reinit]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValidationError(
            "reinit must be 'finish_previous', 'return_previous', 'create_new', 'default', "
            f"True or False, got {reinit!r}"
        ) from None


def resume_of(resume: object) -> str | None:
    try:
        return RESUME[resume]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValidationError(
            f"resume must be 'allow', 'must', 'never', 'auto', True or False, got {resume!r}"
        ) from None


def check_run_id(run_id: object) -> str:
    """W&B's rules: a non-empty string without surrounding spaces or ``: ; , # ? / '``
    (we also refuse ``\\`` and ``%``), at most 128 characters."""
    if not isinstance(run_id, str):
        raise ValidationError(f"run id must be a string, got {type(run_id).__name__}")
    if not run_id.strip() or run_id != run_id.strip():
        raise ValidationError(f"run id {run_id!r} must not be empty or start or end with spaces")
    bad = sorted({c for c in run_id if c in _ID_RESERVED or ord(c) < 32 or ord(c) == 127})
    if bad or len(run_id) > 128:
        raise ValidationError(
            f"run id {run_id!r} must be at most 128 characters without {_ID_RESERVED!r} "
            "or control characters"
        )
    return run_id


def tags_of(tags: object) -> tuple[str, ...] | None:
    """A tuple of tags (1-64 characters each); a single string is one tag, as in W&B."""
    if tags is None:
        return None
    items = (tags,) if isinstance(tags, str) else tags
    if not isinstance(items, Sequence | set | frozenset):
        raise ValidationError(f"tags must be a list of strings, got {type(tags).__name__}")
    out = tuple(items)
    for tag in out:
        if not isinstance(tag, str) or not 1 <= len(tag) <= 64:
            raise ValidationError(f"each tag must be a string of 1-64 characters, got {tag!r}")
    return out


def check_label(label: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"run {label} must be a string, got {type(value).__name__}")


def initial_config(
    config: Any, include: Sequence[str] | None, exclude: Sequence[str] | None
) -> dict[str, Any]:
    """``config=`` of ``init``, over the values of ``config-defaults.yaml`` in the working
    directory (as W&B loads it), filtered by ``config_include_keys`` / ``config_exclude_keys``."""
    if include and exclude:
        raise ValidationError("give config_include_keys or config_exclude_keys, not both")
    values = {**(read_yaml(Path(DEFAULTS_FILE)) or {}), **config_dict(config)}
    if include:
        values = {k: v for k, v in values.items() if k in include}
    if exclude:
        values = {k: v for k, v in values.items() if k not in exclude}
    return values


def check_unsupported(given: dict[str, Any]) -> None:
    """W&B arguments with no local meaning: refused when they change results, else a warning."""
    for name in ("resume_from", "fork_from"):
        if given.get(name) is not None:
            raise ValidationError(
                f"init({name}=...) is not supported: rewinding or forking a run's history is a "
                "W&B server feature; resume the run with init(id=..., resume='allow') instead"
            )
    for name in ("sync_tensorboard", "tensorboard", "monitor_gym"):
        if given.get(name):
            warnings.warn(
                f"init({name}=True) is not supported by dsviz_widget and is ignored",
                UserWarning,
                stacklevel=3,
            )
