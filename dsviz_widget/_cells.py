"""Column kinds and the conversion of cell values to and from their storage form.

A column's kind is fixed by its first non-null value (or by the Arrow type of a DataFrame
or Arrow column). Later values must fit it; an ``int`` column widens to ``float`` when a
float arrives, as pandas would, and a timestamp or duration column to a finer unit, a decimal
one to more digits. Timestamps, dates, durations and decimals are ``native`` cells, stored as
the Arrow type pandas would give them. The storage types themselves are ``_format``'s.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import numpy as np
import pyarrow as pa

from dsviz_widget._errors import CellTypeError, ValidationError
from dsviz_widget._format import JSON_KINDS
from dsviz_widget.media import Audio, Image
from dsviz_widget.media._text import utf8_text

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
    if isinstance(value, np.timedelta64):  # a numpy integer type, but a duration
        return "native"
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
    if isinstance(value, NATIVE_VALUES):
        return "native"
    return None


#: Python values stored as Arrow's own types (kind ``native``): timestamps, dates, durations
#: and decimals. ``pd.Timestamp`` / ``pd.Timedelta`` subclass ``datetime`` / ``timedelta``.
NATIVE_VALUES = (dt.date, dt.timedelta, np.datetime64, np.timedelta64, decimal.Decimal)


def describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def mismatch(row: int, column: str, kind: str, value: Any) -> CellTypeError:
    """The error for a value of another type than its column's (a ``TypeError`` too, as W&B's)."""
    return CellTypeError(f"row {row}, column {column!r}: expected {kind}, got {describe(value)}")


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
        return int_as_float(value, row, column)
    if kind == "list" and got == "array" and value.ndim == 1:
        return dump_json(value, row, column)
    if kind == "array" and got == "list":
        return array_record(list_as_array(value, row, column), row, column)
    raise mismatch(row, column, kind, value)


def int_as_float(value: Any, row: int, column: str) -> float:
    """An int for a float column, refused when float64 cannot hold it exactly (above 2**53
    most ints round: the table would show another number than the one given)."""
    try:
        f = float(value)
    except OverflowError:
        raise ValidationError(
            f"row {row}, column {column!r}: integer {_short(value)} is too large for a float column"
        ) from None
    if f != int(value):
        raise ValidationError(
            f"row {row}, column {column!r}: integer {_short(value)} cannot be held exactly by a "
            "float column (float64 rounds it); store the column as ints, or as strings"
        )
    return f


def list_as_array(value: list[Any], row: int, column: str) -> np.ndarray:
    """A Python list of numbers for an array column, as W&B reads it (nested lists of one
    length per level); ragged or non-numeric lists are refused."""
    try:
        arr = np.array(value)
    except ValueError:  # numpy refuses ragged nesting
        arr = None
    if arr is None or arr.dtype.kind not in "biuf" or arr.dtype.itemsize > 8:
        raise CellTypeError(
            f"row {row}, column {column!r}: this array column takes numpy arrays or lists of "
            f"numbers with one length per level, got {describe(value)}"
        )
    return arr


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
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.timedelta64):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return exact_float(value, row, column)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (Image, Audio)):
        raise _json_error(
            row,
            column,
            path,
            f"a {type(value).__name__} inside a list or dict is not stored (W&B stores it as a "
            "reference; here media cells get their own column, so that their files are stored, "
            "shown and counted); put it in a column of its own",
        )
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


# -- native cells: timestamps, dates, durations and decimals --------------------------------
#
# They are stored as Arrow's own types (kind ``native``), the types a DataFrame of the same
# values would give, so a table made row by row and one made from a DataFrame are the same.
# Timestamps and durations are held as int counts of their unit until the column is flushed;
# the column's unit is the finest unit of its values, as pandas infers it (``datetime`` is
# ``us``, a ``pd.Timestamp`` or numpy value keeps its own unit), so no value is rounded.

_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
#: numpy units coarser than a second are read as seconds, as pandas reads them.
_SECONDS_IN = {"W": 7 * 86_400, "D": 86_400, "h": 3_600, "m": 60}
_EPOCH = dt.datetime(1970, 1, 1)
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
_US = dt.timedelta(microseconds=1)
#: Decimal digits a column may hold: DuckDB, which runs every query, has no decimal wider than
#: 38 digits (Arrow's decimal256 makes every query of the table fail), so wider is refused.
MAX_DECIMAL_DIGITS = 38


def is_missing_native(value: Any) -> bool:
    """pandas' ``NaT`` and numpy's ``NaT`` are missing values, like None."""
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return type(value).__name__ == "NaTType"


def native_cell(value: Any, row: int, column: str) -> tuple[pa.DataType, Any]:
    """The Arrow type that holds ``value`` exactly, and the cell in that type's terms.

    Timestamps and durations become int counts of their unit (an aware timestamp counts from
    1970-01-01 UTC, a naive one from 1970-01-01 on its own clock), dates days since
    1970-01-01; decimals stay ``Decimal``, with the smallest decimal128 precision and scale
    that hold them.
    """
    if isinstance(value, decimal.Decimal):
        return _decimal_type(value, row, column), value
    if isinstance(value, dt.datetime):  # first: a datetime is a date too
        tz = _tz_name(value, row, column)
        if hasattr(value, "to_datetime64"):  # pd.Timestamp: its own unit (ns if it has ns)
            count, unit = _numpy_count(value.to_datetime64(), value, row, column)
        else:
            count, unit = (value - (_EPOCH if tz is None else _EPOCH_UTC)) // _US, "us"
        return pa.timestamp(unit, tz), _in_int64(count, value, row, column)
    if isinstance(value, dt.date):
        return pa.date32(), value.toordinal() - _EPOCH_DAY
    if isinstance(value, dt.timedelta):
        if hasattr(value, "to_timedelta64"):  # pd.Timedelta
            count, unit = _numpy_count(value.to_timedelta64(), value, row, column)
        else:
            count, unit = value // _US, "us"
        return pa.duration(unit), _in_int64(count, value, row, column)
    if isinstance(value, np.datetime64):
        count, unit = _numpy_count(value, value, row, column)
        return pa.timestamp(unit), _in_int64(count, value, row, column)
    if isinstance(value, np.timedelta64):
        count, unit = _numpy_count(value, value, row, column)
        return pa.duration(unit), _in_int64(count, value, row, column)
    raise mismatch(row, column, "a timestamp, date, duration or Decimal", value)


def merge_native(
    have: pa.DataType | None, got: pa.DataType, value: Any, row: int, column: str
) -> pa.DataType:
    """The column type that holds the column's values (of type ``have``) and ``value``.

    A column's sort of value is fixed by its first one, as for other kinds; within it the
    unit becomes finer and a decimal wider when a value needs it (as an int column becomes
    float). A timestamp column keeps one time zone, or none.
    """
    if have is None or have == got:
        return got
    where = f"row {row}, column {column!r}"
    if pa.types.is_timestamp(have) and pa.types.is_timestamp(got):
        if have.tz != got.tz:
            if have.tz is None or got.tz is None:
                raise ValidationError(
                    f"{where}: {describe(value)} is {'naive' if got.tz is None else 'tz-aware'} "
                    f"but the column holds {'naive' if have.tz is None else 'tz-aware'} "
                    f"timestamps ({have}); a column holds one or the other"
                )
            raise ValidationError(
                f"{where}: {describe(value)} is in time zone {got.tz} but the column's "
                f"timestamps are in {have.tz}; convert it first (e.g. tz_convert({have.tz!r}))"
            )
        return pa.timestamp(_finer(have.unit, got.unit), have.tz)
    if pa.types.is_duration(have) and pa.types.is_duration(got):
        return pa.duration(_finer(have.unit, got.unit))
    if pa.types.is_decimal(have) and pa.types.is_decimal(got):
        whole = max(have.precision - have.scale, got.precision - got.scale)
        return _decimal(whole, max(have.scale, got.scale), value, row, column)
    raise CellTypeError(f"{where}: expected {have} like the column's values, got {describe(value)}")


def rescale(
    cell: Any, got: pa.DataType, want: pa.DataType, value: Any, row: int, column: str
) -> Any:
    """``cell`` (of type ``got``, from :func:`native_cell`) in the units of ``want``."""
    if got == want or not (pa.types.is_timestamp(want) or pa.types.is_duration(want)):
        return cell  # dates are days; Arrow rescales decimals exactly
    return _in_int64(
        cell * (_PER_SECOND[want.unit] // _PER_SECOND[got.unit]), value, row, column, want
    )


def native_column(values: list[Any], column: str) -> tuple[pa.DataType | None, list[Any]]:
    """The type and cells of a column of native values (None and NaT are missing)."""
    want: pa.DataType | None = None
    typed: list[tuple[pa.DataType, Any] | None] = []
    for row, v in enumerate(values):
        if v is None or is_missing_native(v) or (isinstance(v, float) and v != v):
            typed.append(None)
            continue
        if not isinstance(v, NATIVE_VALUES):
            raise CellTypeError(
                f"row {row}, column {column!r}: expected {want} like the column's values, "
                f"got {describe(v)}"
            )
        got, cell = native_cell(v, row, column)
        want = merge_native(want, got, v, row, column)
        typed.append((got, cell))
    if want is None:
        return None, [None] * len(values)
    return want, [
        None if t is None else rescale(t[1], t[0], want, values[row], row, column)
        for row, t in enumerate(typed)
    ]


def _tz_name(value: dt.datetime, row: int, column: str) -> str | None:
    if value.tzinfo is None or value.utcoffset() is None:
        return None
    try:
        name: str = pa.lib.tzinfo_to_string(value.tzinfo)
    except (pa.ArrowException, ValueError, TypeError):
        raise ValidationError(
            f"row {row}, column {column!r}: the time zone {value.tzinfo!r} of {describe(value)} "
            "has no name Arrow can store; use a zoneinfo.ZoneInfo or a fixed offset"
        ) from None
    return name


def _numpy_count(v: Any, value: Any, row: int, column: str) -> tuple[int, str]:
    """A numpy datetime64 / timedelta64 as an int count of a unit Arrow has."""
    unit, step = np.datetime_data(v.dtype)
    count = int(v.astype(np.int64)) * step
    if unit in _PER_SECOND:
        return count, unit
    if unit in _SECONDS_IN:
        return count * _SECONDS_IN[unit], "s"
    if unit in ("Y", "M") and isinstance(v, np.datetime64):  # calendar units: exact in seconds
        return int(v.astype("datetime64[s]").astype(np.int64)), "s"
    raise ValidationError(
        f"row {row}, column {column!r}: {describe(value)} is in unit {unit!r}, which no "
        "timestamp or duration column holds exactly (s, ms, us or ns); convert it first"
    )


def _in_int64(
    count: int, value: Any, row: int, column: str, type_: pa.DataType | None = None
) -> int:
    if INT64_MIN <= count <= INT64_MAX:
        return count
    into = (
        f" a {type_} column (the unit its other values need)" if type_ is not None else " 64 bits"
    )
    raise ValidationError(f"row {row}, column {column!r}: {describe(value)} does not fit in{into}")


def _finer(a: str, b: str) -> str:
    return a if _PER_SECOND[a] >= _PER_SECOND[b] else b


def _decimal_type(value: decimal.Decimal, row: int, column: str) -> pa.DataType:
    if not value.is_finite():
        raise ValidationError(
            f"row {row}, column {column!r}: Decimal {str(value)!r} cannot be stored; decimal "
            "columns hold finite numbers (use None for a missing value)"
        )
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    whole = 0 if value.is_zero() else max(0, len(digits) + exponent)
    return _decimal(whole, max(0, -exponent), value, row, column)


def _decimal(whole: int, scale: int, value: Any, row: int, column: str) -> pa.DataType:
    """decimal128 with ``whole`` integer digits and ``scale`` fractional ones, or a refusal."""
    precision = max(1, whole + scale)
    if precision > MAX_DECIMAL_DIGITS:
        raise ValidationError(
            f"row {row}, column {column!r}: {describe(value)} needs {precision} decimal digits "
            f"({whole} before the point and {scale} after, counting the column's other values); "
            f"a decimal column holds at most {MAX_DECIMAL_DIGITS}: store it as a string, or "
            "round it"
        )
    return pa.decimal128(precision, scale)
