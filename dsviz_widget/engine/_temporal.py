"""Dates, times, durations and over-wide decimals: how DuckDB sees them and how filter
literals become their values.

This module owns every rule about these types, so the compiler, the relations, the
summaries and group-by all ask here.

- **Timestamps, dates and times of day** are compared with text literals
  (``when > '2020-06-01'``). The text is parsed here, in Python, as ISO 8601 (date, date
  and time, with or without a zone) to an exact integer; a literal finer than the column's
  unit is rounded with the comparison adjusted (``x > 1.5`` on integers is ``x > 1``), so
  results are exact at any unit; and the value is bound as canonical text cast to the
  column's own DuckDB type. A naive literal on a tz-aware column is read in the column's
  zone (as pandas does); a literal with a zone on a naive column is refused (pandas refuses
  it too).
- **Durations** are handed to DuckDB as integers in the column's unit: DuckDB would read an
  Arrow duration as an INTERVAL of microseconds (nanoseconds lost, and group keys come back
  as month_day_nano intervals Arrow cannot cast back), while it reads the same column from
  Parquet as BIGINT. Literals are text with a unit (``'1 hour'``, ``'1 day 02:00:00'``,
  ``'P1DT2H'``), parsed by pandas exactly; bare numbers are refused (which unit?).
- **Decimals wider than 38 digits** (decimal256) are not readable by DuckDB from Arrow and
  read as a lossy DOUBLE from Parquet. They are handed to DuckDB as text, only ``is null``
  works on them in filters, and their values on a page are read by Arrow, exactly.
- **Month-day-nano intervals** are read by DuckDB to microseconds only, so they too are
  shown, not compared, sorted or grouped.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

import pyarrow as pa

MAX_DECIMAL_DIGITS = 38
NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
DAY_NS = 86_400 * 10**9
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_DATETIME = re.compile(
    r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"\s*(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?\s*"
)
_TIME = re.compile(r"\s*([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?\s*")
_BARE_NUMBER = re.compile(r"\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*")
_OFFSET = re.compile(r"([+-])([0-9]{2}):?([0-9]{2})")


def is_wide_decimal(t: pa.DataType) -> bool:
    """A decimal DuckDB cannot hold exactly (more than 38 digits, or decimal256 at all:
    DuckDB refuses any decimal256 Arrow array, whatever its precision)."""
    return bool(pa.types.is_decimal(t) and (t.bit_width > 128 or t.precision > MAX_DECIMAL_DIGITS))


def unreadable(t: pa.DataType) -> str:
    """Why a column's values can be shown but not compared, sorted or grouped ('' if they can)."""
    if is_wide_decimal(t):
        return (
            f"holds {t} values, wider than the {MAX_DECIMAL_DIGITS} digits the query engine "
            "reads exactly"
        )
    if pa.types.is_interval(t):
        return f"holds {t} values, which the query engine reads only to the microsecond"
    return ""


def temporal_class(t: pa.DataType) -> str:
    """``datetime`` (timestamps, dates), ``time`` (time of day), ``duration`` or ''."""
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_duration(t):
        return "duration"
    return ""


def unit_ns(t: pa.DataType) -> int:
    """Nanoseconds per step of a temporal column's integer value."""
    if pa.types.is_date(t):
        return DAY_NS
    return NS[t.unit]


def is_aware(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) and t.tz is not None


def duck_type(t: pa.DataType) -> str:
    """The DuckDB type a literal for column type ``t`` is cast to (the column's own, as
    DuckDB reads it from Arrow and Parquet; durations are integers, see the docstring)."""
    if pa.types.is_duration(t):
        return "BIGINT"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_time(t):
        return "TIME_NS" if t.unit == "ns" else "TIME"
    unit: str = t.unit
    if is_aware(t):
        return "TIMESTAMPTZ_NS" if unit == "ns" else "TIMESTAMPTZ"
    return {"s": "TIMESTAMP_S", "ms": "TIMESTAMP_MS", "us": "TIMESTAMP", "ns": "TIMESTAMP_NS"}[unit]


def for_duckdb(table: pa.Table) -> pa.Table:
    """``table`` as DuckDB is given it: durations as int64 in their unit (zero-copy) and
    wide decimals as text; every other column as it is."""
    out = table
    for i, f in enumerate(table.schema):
        if pa.types.is_duration(f.type):
            out = out.set_column(i, f.name, table.column(i).cast(pa.int64()))
        elif is_wide_decimal(f.type):
            out = out.set_column(i, f.name, table.column(i).cast(pa.string()))
    return out


def from_duckdb(values: list[Any], t: pa.DataType) -> list[Any]:
    """Python values DuckDB returned for column type ``t`` as the column's own values."""
    if not pa.types.is_duration(t):
        return values
    out = []
    for v in pa.array(values, pa.int64()).cast(t):
        try:
            out.append(v.as_py())
        except OverflowError:  # longer than a Python timedelta holds (about 2.7 million years)
            out.append(f"{v.cast(pa.int64()).as_py()} {t.unit}")
    return out


def match_value(value: Any, t: pa.DataType) -> Any:
    """A group key value as DuckDB can compare it with column type ``t``: an Arrow scalar
    (exact, where ``as_py()`` of a nanosecond time drops digits) becomes the column's
    canonical text or, for a duration, its integer; so does a ``timedelta`` or
    ``pd.Timedelta`` for a duration column (DuckDB holds durations as integers)."""
    if isinstance(value, pa.Scalar):
        if not value.is_valid:
            return None
        if not temporal_class(t):
            return value.as_py()
        try:
            if pa.types.is_date(t):  # a date64's integer is milliseconds, not days
                value = value.cast(pa.date32())
                t = pa.date32()
            q = value.cast(t).cast(_storage(t)).as_py()
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return value.as_py()  # the caller's cast check refuses it, naming the column
        return q if pa.types.is_duration(t) else literal_sql_text(q, t)
    if not pa.types.is_duration(t) or isinstance(value, (int, str)):
        return value
    try:
        return pa.scalar(value, t).cast(pa.int64()).as_py()
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return value  # the caller's cast check refuses it, naming the column


def _storage(t: pa.DataType) -> pa.DataType:
    return pa.int32() if pa.types.is_date32(t) or pa.types.is_time32(t) else pa.int64()


class Bad(ValueError):
    """A literal that is not a value of the column: ``reason`` (``'x' <reason> for column
    'c'``) and an optional ``hint`` saying what to write instead."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def literal_value(text: str, t: pa.DataType) -> int:
    """Exact integer nanoseconds of literal ``text`` for a column of type ``t``: since the
    epoch (UTC for tz-aware columns, wall time for naive ones), since midnight (times of
    day) or the length of a duration. Raises :class:`Bad`."""
    cls = temporal_class(t)
    if cls == "duration":
        return _duration(text)
    if cls == "time":
        m = _TIME.fullmatch(text)
        if m is None:
            raise Bad("is not a time of day", "write e.g. '12:30:00'")
        h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
        if h > 23 or mi > 59 or s > 59:
            raise Bad("is not a time of day", "write e.g. '12:30:00'")
        return ((h * 60 + mi) * 60 + s) * 10**9 + _fraction(m[4])
    m = _DATETIME.fullmatch(text)
    if m is None:
        raise Bad("is not a date/time", "write e.g. '2020-06-01' or '2020-06-01 12:30:00'")
    try:
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        h, mi, s = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
        if h > 23 or mi > 59 or s > 59:
            raise ValueError
        wall = dt.datetime(day.year, day.month, day.day, h, mi, s)
    except ValueError:
        raise Bad("is not a date/time") from None
    ns = (day.toordinal() - _EPOCH_ORDINAL) * DAY_NS + ((h * 60 + mi) * 60 + s) * 10**9
    ns += _fraction(m[7])
    zone = m[8]
    if zone is not None:
        if not is_aware(t):
            raise Bad("has a time zone", f"the column holds {t} values without one")
        return ns - _offset_ns(zone)
    if is_aware(t):
        # Read in the column's zone, as pandas does (an ambiguous wall time: the first).
        tz = _zone(t.tz)
        off = wall.replace(tzinfo=tz).utcoffset() or dt.timedelta(0)
        return ns - (off // dt.timedelta(microseconds=1)) * 1000
    return ns


def literal_sql_text(q: int, t: pa.DataType) -> str:
    """Text DuckDB casts exactly to the column's type for ``q`` steps of the column's unit."""
    if pa.types.is_duration(t):
        return str(q)
    total = q * unit_ns(t)
    if pa.types.is_time(t):
        s, frac = divmod(total, 10**9)
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:09d}"
    days, rest = divmod(total, DAY_NS)
    try:
        day = dt.date.fromordinal(_EPOCH_ORDINAL + days)
    except (ValueError, OverflowError):
        raise Bad("is out of the range of dates (years 1 to 9999)") from None
    if pa.types.is_date(t):
        return day.isoformat()
    s, frac = divmod(rest, 10**9)
    text = f"{day.isoformat()} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:09d}"
    return text + "+00" if is_aware(t) else text


def _fraction(digits: str | None) -> int:
    return int((digits or "").ljust(9, "0")) if digits else 0


def _offset_ns(zone: str) -> int:
    if zone in ("Z", "z"):
        return 0
    m = _OFFSET.fullmatch(zone if len(zone) > 3 else zone + "00")
    assert m is not None
    minutes = int(m[2]) * 60 + int(m[3])
    if int(m[2]) > 23 or int(m[3]) > 59:
        raise Bad("has an invalid time zone offset")
    return (1 if m[1] == "+" else -1) * minutes * 60 * 10**9


def _zone(name: str) -> dt.tzinfo:
    m = _OFFSET.fullmatch(name)
    if m is not None:
        return dt.timezone(_sign(m[1]) * dt.timedelta(hours=int(m[2]), minutes=int(m[3])))
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Bad(f"has no time zone, and the column's zone {name!r} is unknown here") from None


def _sign(s: str) -> int:
    return 1 if s == "+" else -1


def _duration(text: str) -> int:
    if _BARE_NUMBER.fullmatch(text):
        raise Bad("is a number without a unit", "write a duration such as '1 hour' or '00:30:00'")
    import pandas as pd  # only here: the engine needs pandas for nothing else

    try:
        value = pd.Timedelta(text)
    except (ValueError, OverflowError, TypeError):
        raise Bad(
            "is not a duration", "write e.g. '1 hour', '2 days 03:00:00' or 'P1DT2H'"
        ) from None
    if pd.isna(value):  # 'NaT' parses to NaT, not a Timedelta
        raise Bad("is not a duration", "use 'is null' for missing values")
    return int(value.value)
