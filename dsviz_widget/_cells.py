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
from dsviz_widget.media._text import utf8_text

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
    if isinstance(value, list):
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


#: Python ints a column can hold (stored as int64).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: Nesting depth of list and dict cells; ``json.loads`` recurses, so deeper text could not be read back.
MAX_JSON_DEPTH = 200


def check_int(value: int, row: int, column: str) -> int:
    """``value`` if it fits int64, else a :class:`ValidationError` naming row and column."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise ValidationError(
        f"row {row}, column {column!r}: integer {_short(value)} does not fit in 64 bits; "
        "store it as a string (or a float if precision may be lost)"
    )


def check_text(value: str, row: int, column: str, what: str = "string") -> str:
    """``value`` if it can be stored as UTF-8 (no lone surrogates), else a ValidationError."""
    return utf8_text(value, f"row {row}, column {column!r}: {what}")


def exact_float(value: Any, row: int, column: str) -> float:
    """``float(value)``, refusing the extended-precision floats it would round."""
    f = float(value)
    if isinstance(value, np.floating) and value.dtype.itemsize > 8 and np.longdouble(f) != value:
        raise ValidationError(
            f"row {row}, column {column!r}: {value.dtype} value {_short(value)} does not fit "
            "in a float64 without rounding; convert it first"
        )
    return f


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) else str(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def to_cell(kind: str, value: Any, row: int, column: str) -> Any:
    """The value as it is kept in memory for a column of ``kind`` (checked)."""
    if value is None:
        return None
    got = kind_of_value(value)
    if got == kind:
        if kind == "int":
            return check_int(int(value), row, column)
        if kind == "float":
            return exact_float(value, row, column)
        if kind == "bool":
            return bool(value)
        if kind == "str":
            return check_text(str(value), row, column)
        if kind in JSON_KINDS:
            return dump_json(value, row, column)
        if kind == "array":
            return array_record(value, row, column)
        return value
    if kind == "float" and got == "int":
        try:
            return float(value)
        except OverflowError:
            raise ValidationError(
                f"row {row}, column {column!r}: integer {_short(value)} is too large for a "
                "float column"
            ) from None
    if kind == "list" and got == "array" and value.ndim == 1:
        return dump_json(value, row, column)
    raise mismatch(row, column, kind, value)


def dump_json(value: Any, row: int, column: str) -> str:
    """JSON text of a list or dict cell, refusing anything that would not read back equal.

    ``json.dumps`` silently turns non-str keys into strings (``{1: 'a', '1': 'b'}`` loses a
    key), tuples into lists and numpy values into Python ones, and writes lone surrogates
    that UTF-8 storage cannot hold. So the value is first copied into plain JSON values,
    refusing what would change: keys must be ``str``; tuples, sets, bytes and other objects
    are refused. Numbers keep their value exactly: numpy integers and floats become Python
    ints and floats (``np.float32(0.1)`` becomes the float64 of the same value), NaN and
    infinities are kept (Python's JSON reads them back). A 1-D numeric array inside a list
    cell becomes a list of its values, as a top-level one does.
    """
    plain = _plain(value, row, column, "", 0, set())
    text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    check_text(text, row, column, "list or dict cell")
    return text


def _plain(value: Any, row: int, column: str, path: str, depth: int, active: set[int]) -> Any:
    t = type(value)
    if value is None or t is bool or t is str or t is float:
        return value
    if t is int:
        return value
    if depth > MAX_JSON_DEPTH:
        raise _json_error(row, column, path, f"nesting deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, (list, dict, np.ndarray)):
        if id(value) in active:
            raise _json_error(row, column, path, "the value contains itself")
        active.add(id(value))
        try:
            if isinstance(value, dict):
                out: dict[str, Any] = {}
                for k, v in value.items():
                    if type(k) is not str and not isinstance(k, str):
                        raise _json_error(
                            row,
                            column,
                            path,
                            f"dict key {_short(k)} is a {type(k).__name__}; only str keys "
                            "read back unchanged",
                        )
                    out[str(k)] = _plain(v, row, column, f"{path}[{k!r}]", depth + 1, active)
                return out
            if isinstance(value, np.ndarray):
                if value.ndim != 1 or value.dtype.kind not in "biuf" or value.dtype.itemsize > 8:
                    raise _json_error(
                        row,
                        column,
                        path,
                        f"numpy array of shape {value.shape} and dtype {value.dtype}; only 1-D "
                        "numeric arrays can be stored inside lists (store arrays as their own cells)",
                    )
                return value.tolist()  # Python numbers of the same values
            return [
                _plain(v, row, column, f"{path}[{i}]", depth + 1, active)
                for i, v in enumerate(value)
            ]
        finally:
            active.discard(id(value))
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return exact_float(value, row, column)
    if isinstance(value, str):
        return str(value)
    hint = "; use a list" if isinstance(value, (tuple, set, frozenset)) else ""
    raise _json_error(row, column, path, f"{describe(value)} would not read back unchanged{hint}")


def _json_error(row: int, column: str, path: str, problem: str) -> ValidationError:
    where = f" at {path}" if path else ""
    return ValidationError(
        f"row {row}, column {column!r}: cannot store this list or dict cell{where}: {problem} "
        "(cells hold str-keyed dicts, lists, str, int, float, bool and None)"
    )


def array_record(value: np.ndarray, row: int, column: str) -> dict[str, Any]:
    if value.dtype.hasobject or value.dtype.kind not in "biufcSUM":
        raise ValidationError(
            f"row {row}, column {column!r}: arrays of dtype {value.dtype} cannot be stored"
        )
    # tobytes(order="C") rather than np.ascontiguousarray, which turns a 0-d array into 1-d.
    return {"dtype": value.dtype.str, "shape": list(value.shape), "data": value.tobytes(order="C")}


def array_from_record(record: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(record["dtype"])
    if dtype.hasobject:  # never produced by us; refuse rather than unpickle anything
        raise ValidationError("stored array has an object dtype")
    return np.frombuffer(record["data"], dtype=dtype).reshape(record["shape"]).copy()
