"""A run's history: the rows ``run.log`` writes, one per step, and W&B's step rules.

Every ``log`` call adds its values to the *current step*. The step is closed (its row
written, the step number advanced by one) when the call commits: by default when no
``step=`` is given, or when ``commit=True``. ``step=`` larger than the current step closes
the current one first and moves to it; a smaller one is refused with a warning and its
values are dropped, as W&B does. Each row carries ``_step``, ``_runtime`` (seconds since
the run started, across resumes) and ``_timestamp`` (Unix time of the last ``log`` call
into that step).
"""

from __future__ import annotations

import json
import math
import numbers
import time
import warnings
from collections.abc import Mapping
from typing import Any

from dsviz_widget._errors import ValidationError


class LogTypeError(ValidationError, TypeError):
    """``log`` was given something other than a dict with string keys (a ``TypeError`` in W&B)."""


#: Keys the history sets itself.
STEP, RUNTIME, TIMESTAMP = "_step", "_runtime", "_timestamp"


class Steps:
    """The step state machine of one run (not thread-safe: the run holds a lock).

    Examples
    --------
    >>> steps = Steps(start_step=0, runtime_before=0.0)
    >>> steps.log({"loss": 0.5}, step=None, commit=False)
    []
    >>> [row["loss"] for row in steps.log({"acc": 0.9}, step=None, commit=None)]
    [0.5]
    >>> steps.step
    1
    """

    def __init__(self, start_step: int, runtime_before: float) -> None:
        self.step = start_step
        self._partial: dict[str, Any] = {}
        self._clock = time.monotonic()
        self._runtime_before = runtime_before

    def log(
        self, values: dict[str, Any], step: int | None, commit: bool | None
    ) -> list[dict[str, Any]]:
        """Add ``values`` (already converted) and return the rows this call completed."""
        done: list[dict[str, Any]] = []
        if step is not None:
            if step < self.step:
                warnings.warn(
                    f"Tried to log to step {step}, which is less than the current step "
                    f"{self.step}. Steps must increase, so these values are dropped: "
                    f"{sorted(values)}. Log your own step as a value (run.log({{'epoch': e, ...}})) "
                    "to record data out of order.",
                    UserWarning,
                    stacklevel=4,
                )
                return done
            if step > self.step:
                done.extend(self.close(next_step=step))
        self._partial.update(values)
        if TIMESTAMP not in values:  # W&B stamps every call; a logged _timestamp wins
            self._partial[TIMESTAMP] = time.time()
        if commit if commit is not None else step is None:
            done.extend(self.close(next_step=self.step + 1))
        return done

    def close(self, next_step: int | None = None) -> list[dict[str, Any]]:
        """End the current step; returns its row (none if nothing was logged into it)."""
        row = self._partial
        self._partial = {}
        out = []
        if row:
            row[STEP] = self.step
            row[RUNTIME] = self.runtime()
            out.append(row)
        self.step = self.step + 1 if next_step is None else next_step
        return out

    def runtime(self) -> float:
        return self._runtime_before + time.monotonic() - self._clock

    @property
    def pending(self) -> bool:
        return bool(self._partial)


def check_log_args(data: object, step: object, commit: object) -> None:
    if not isinstance(data, Mapping):
        raise LogTypeError(f"log takes a dict of values, got {type(data).__name__}")
    for key in data:
        if not isinstance(key, str):
            raise LogTypeError(f"log keys must be strings, got {type(key).__name__} {key!r}")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, numbers.Integral) or int(step) < 0
    ):
        raise ValidationError(f"step must be a non-negative int, got {step!r}")
    if commit is not None and not isinstance(commit, bool):
        raise ValidationError(f"commit must be True, False or None, got {commit!r}")


def scalar(value: Any, key: str) -> Any:
    """A history value: None, bool, int, float, str, or a list / dict of them (JSON)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars and 0-d arrays, one-element tensors
    shape = getattr(value, "shape", None)
    if callable(item) and shape is not None and math.prod(shape) == 1 and len(shape) == 0:
        return scalar(item(), key)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        detach = getattr(value, "detach", None)
        return scalar((detach().cpu() if callable(detach) else value).tolist(), key)
    if isinstance(value, (list, tuple)):
        return [scalar(v, key) for v in value]
    if isinstance(value, Mapping):
        return {str(k): scalar(v, key) for k, v in value.items()}
    raise ValidationError(
        f"log: cannot store {key!r}, a {type(value).__name__}; log numbers, strings, bools, "
        "lists or dicts of them, a dv.Table, dv.Image or dv.Audio (or a list of them)"
    )


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts of values become dotted keys: ``{"val": {"acc": 1}}`` -> ``val.acc``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not _is_reference(value):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _is_reference(value: Mapping[str, Any]) -> bool:
    return isinstance(value.get("_type"), str)


def columns_of(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Column names (``_step`` first, then keys in order of first appearance, then
    ``_runtime`` and ``_timestamp``) and row values, one type per column.

    A key logged with values of different sorts (a number, then a string) is shown as
    text in every row, so the table has one type per column.
    """
    keys: dict[str, None] = {STEP: None}
    for row in rows:
        keys.update(dict.fromkeys(k for k in row if k not in (RUNTIME, TIMESTAMP)))
    names = [*keys, RUNTIME, TIMESTAMP]
    data = [[row.get(name) for name in names] for row in rows]
    for i in range(len(names)):
        sorts = {_sort(r[i]) for r in data if r[i] is not None}
        if len(sorts) > 1:
            for r in data:
                if r[i] is not None and not isinstance(r[i], str):
                    r[i] = json.dumps(r[i])
    return names, data


def _sort(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__
