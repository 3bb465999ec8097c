"""The arguments of ``init`` read as W&B reads them: mode, reinit, resume, id, tags, config;
which stored run ``init`` resumes, and the throw-away store of ``mode="disabled"`` runs.

Kept apart from ``_runs`` so the rules are plain functions of their inputs (the runs active
in this process are passed in).
"""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
import warnings
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from dsviz_widget._errors import NotFoundError, UnsupportedError, ValidationError
from dsviz_widget._run_config import DEFAULTS_FILE, config_dict, read_yaml
from dsviz_widget.artifacts import Store, open_store

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
#: W&B's init arguments that have no local meaning.
WANDB_ONLY = {"settings", "save_code", "force", "anonymous", "sync_tensorboard", "tensorboard",
              "monitor_gym", "resume_from", "fork_from"}  # fmt: skip


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


def default_name(job_type: str | None, started_at: float) -> str:
    """The name of a run not given one: its job type (else ``run``) and its start time, local,
    to the minute, e.g. ``"train · 2026-11-30 14:02"``.

    W&B makes up two random words; the job type and the time say which run it was where the
    name is read, in a lineage graph. It is computed, not stored, so the stored name stays
    what the user gave and a later ``run.name = ...`` replaces nothing made up.

    Examples
    --------
    >>> default_name("train", datetime(2026, 11, 30, 14, 2, 59).timestamp())
    'train · 2026-11-30 14:02'
    >>> default_name(None, datetime(2026, 1, 2, 3, 4).timestamp())
    'run · 2026-01-02 03:04'
    """
    when = datetime.fromtimestamp(started_at).strftime("%Y-%m-%d %H:%M")
    return f"{job_type or 'run'} · {when}"


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
    """W&B arguments with no local meaning: refused when they change results, else a warning.
    Any other name is a ``TypeError``, as for any function."""
    unknown = sorted(set(given) - WANDB_ONLY)
    if unknown:
        raise TypeError(f"init() got unexpected keyword arguments {unknown}")
    for name in ("resume_from", "fork_from"):
        if given.get(name) is not None:
            raise UnsupportedError(
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


def resumable(
    store: Store, run_id: str | None, resume: str | None, project: str | None,
    active: Collection[str],
) -> dict[str, Any] | None:  # fmt: skip
    """The stored record of the run ``init`` resumes, or None to start a new run.

    ``active`` holds the ids of the runs active in this process, which are never resumed.
    """
    if run_id is None:
        if resume == "must":
            raise ValidationError(
                "resume='must' needs the id of the run: init(id=..., resume='must')"
            )
        if resume != "auto":
            return None
        for candidate in store.catalog.unfinished_runs():
            record = store.catalog.run(candidate)
            if candidate not in active and project in (None, record["project"]):
                return record
        return None
    try:
        record = store.catalog.run(run_id)
    except NotFoundError:
        if resume == "must":
            raise NotFoundError(
                f"resume='must' but run {run_id!r} does not exist in {store.location}"
            ) from None
        return None
    if resume == "never":
        raise ValidationError(f"resume='never' but run {run_id!r} exists in {store.location}")
    if run_id in active:
        raise ValidationError(f"run {run_id!r} is active in this process; finish it first")
    return record


def in_notebook() -> bool:
    """True in a Jupyter kernel, where W&B lets config values change by default."""
    shell = getattr(builtins, "get_ipython", None)
    return shell is not None and type(shell()).__name__ == "ZMQInteractiveShell"


_disabled_root: Path | None = None


def disabled_store() -> Store:
    """The process's throw-away store for ``mode="disabled"`` runs (see
    :func:`remove_disabled_store`)."""
    global _disabled_root
    if _disabled_root is None:
        _disabled_root = Path(tempfile.mkdtemp(prefix="dsviz-disabled-"))
    return open_store(_disabled_root)


def remove_disabled_store() -> None:
    """Remove the throw-away store, if one was made; called at exit, after the runs finish."""
    if _disabled_root is not None:
        shutil.rmtree(_disabled_root, ignore_errors=True)
