"""Column kinds and the conversion of cell values to and from their storage form.

A column's kind is fixed by its first non-null value (or by the Arrow type of a DataFrame
or Arrow column). Later values must fit it; an ``int`` column widens to ``float`` when a
float arrives, as pandas would. See docs/architecture.md for the storage representation.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from dsviz_widget._errors import ValidationError
from dsviz_widget.media import Audio, Image

JSON_KINDS = ("list", "dict")
MEDIA_KINDS = ("image", "audio")

IMAGE_TYPE = pa.struct(
    [
        ("digest", pa.string()),
        ("format", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("caption", pa.string()),
        ("boxes", pa.string()),
        ("masks", pa.string()),
        ("classes", pa.string()),
    ]
)
AUDIO_TYPE = pa.struct(
    [
        ("digest", pa.string()),
        ("format", pa.string()),
        ("sample_rate", pa.int64()),
        ("caption", pa.string()),
    ]
)
ARRAY_TYPE = pa.struct(
    [("dtype", pa.string()), ("shape", pa.list_(pa.int64())), ("data", pa.binary())]
)

STORAGE_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "list": pa.string(),
    "dict": pa.string(),
    "array": ARRAY_TYPE,
    "image": IMAGE_TYPE,
    "audio": AUDIO_TYPE,
}

_PY_KIND: dict[type, str] = {
    bool: "bool",
    np.bool_: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "list",
    tuple: "list",
    dict: "dict",
    np.ndarray: "array",
    Image: "image",
    Audio: "audio",
}


def kind_of_value(value: Any) -> str | None:
    """The kind a Python value belongs to, or None if no column can hold it."""
    kind = _PY_KIND.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (str, np.str_)):
        return "str"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Image):
        return "image"
    if isinstance(value, Audio):
        return "audio"
    return None


def describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def mismatch(row: int, column: str, kind: str, value: Any) -> ValidationError:
    return ValidationError(f"row {row}, column {column!r}: expected {kind}, got {describe(value)}")


def to_cell(kind: str, value: Any, row: int, column: str) -> Any:
    """The value as it is kept in memory for a column of ``kind`` (checked)."""
    if value is None:
        return None
    got = kind_of_value(value)
    if got == kind:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind in ("bool", "str"):
            return (
                value
                if type(value) in (bool, str)
                else (bool(value) if kind == "bool" else str(value))
            )
        if kind in JSON_KINDS:
            return dump_json(value, row, column)
        if kind == "array":
            return array_record(value, row, column)
        return value
    if kind == "float" and got == "int":
        return float(value)
    if kind == "list" and got == "array" and value.ndim == 1:
        return dump_json(value.tolist(), row, column)
    raise mismatch(row, column, kind, value)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-like")


def dump_json(value: Any, row: int, column: str) -> str:
    """JSON text of a list or dict cell (keys must be strings; NaN is kept)."""
    try:
        return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"row {row}, column {column!r}: lists and dicts must hold JSON-like values "
            f"(str keys; numbers, strings, bools, None, lists, dicts): {exc}"
        ) from None


def array_record(value: np.ndarray, row: int, column: str) -> dict[str, Any]:
    if value.dtype.hasobject or value.dtype.kind not in "biufcSUM":
        raise ValidationError(
            f"row {row}, column {column!r}: arrays of dtype {value.dtype} cannot be stored"
        )
    arr = np.ascontiguousarray(value)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}


def array_from_record(record: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(record["dtype"])
    if dtype.hasobject:  # never produced by us; refuse rather than unpickle anything
        raise ValidationError("stored array has an object dtype")
    return np.frombuffer(record["data"], dtype=dtype).reshape(record["shape"]).copy()
