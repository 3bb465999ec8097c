"""Drilling into a group names it by a row id, so every key type comes back exactly.

The browser used to send the clicked group row's key values back; an int64 above 2^53 became
a BigInt it could not serialise (the grid went blank), a NaN or a timestamp's text matched
nothing. Now it sends ``group_row`` (a source row id of the group) and the kernel reads the
key from the table itself.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

import pyarrow as pa
import pytest

from dsviz_widget.engine import Source
from dsviz_widget.widget._handler import MessageHandler
from tests.widget import _synth
from tests.widget.conftest import ask, decode, group_page

I64 = [2**63 - 1, -(2**63), 2**53 + 1, 2**53, None, 0]
KEYS: dict[str, tuple[pa.DataType, str, list[Any]]] = {
    "int64": (pa.int64(), "int", I64),
    "uint64": (pa.uint64(), "native", [2**64 - 1, 2**64 - 2, 2**53 + 1, None, 0, 1]),
    "float": (pa.float64(), "float", [math.nan, math.inf, -math.inf, None, 0.1, -0.0]),
    "decimal": (
        pa.decimal128(38, 10),
        "native",
        [
            decimal.Decimal("12345678901234567890.0000000001"),
            decimal.Decimal("12345678901234567890.0000000002"),
            None,
            decimal.Decimal("-1"),
            decimal.Decimal("0"),
            decimal.Decimal("1E-10"),
        ],
    ),
    "timestamp": (
        pa.timestamp("us"),
        "native",
        [
            dt.datetime(2020, 1, 1, 0, 0, 0, 1),
            dt.datetime(2020, 1, 1, 0, 0, 0, 2),
            None,
            dt.datetime(1970, 1, 1),
            dt.datetime(9999, 12, 31, 23, 59, 59),
            dt.datetime(1, 1, 1),
        ],
    ),
}


def _table(name: str) -> pa.Table:
    type_, kind, values = KEYS[name]
    rows = values * 3  # each key three times
    schema = pa.schema([_synth.field("k", kind, type_), _synth.field("n", "int", pa.int64())])
    return pa.table([pa.array(rows, type_), pa.array(range(len(rows)), pa.int64())], schema=schema)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):  # the engine's rule: NaN keys are in the null group
        return _missing(a) and _missing(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", list(KEYS))
def test_every_group_drills_in_to_exactly_its_rows(name: str) -> None:
    table = _table(name)
    h = MessageHandler(Source.from_arrow(table), lambda d: b"")
    reply, page = group_page(h, {"group_by": ["k"]})
    assert reply["grouped"]
    groups = page.to_pylist()
    assert len(groups) == len({"null" if _missing(v) else repr(v) for v in KEYS[name][2]})
    keys = table.column("k").to_pylist()
    for group in groups:
        member = group["_sample_rows"][0]
        key = keys[member]
        query = {"group_by": ["k"], "group_row": member}
        reply, buffers = ask(h, kind="page", query=query, offset=0, limit=100)
        assert reply["kind"] == "page-response", (key, reply)
        assert not reply["grouped"]
        rows = decode(buffers)
        want = [i for i, k in enumerate(keys) if _same(k, key)]
        assert sorted(rows.column("_row").to_pylist()) == want, key
        assert reply["group_key"] == [["k", "null" if key is None else str(key)]]


def test_group_row_is_validated() -> None:
    h = MessageHandler(Source.from_arrow(_table("int64")), lambda d: b"")
    for bad, words in [
        (-1, "at least 0"),
        (1.5, "integer"),
        ("3", "integer"),
        (10**6, "out of range"),
        (2**70, "out of range"),
    ]:
        reply, _ = ask(
            h, kind="page", query={"group_by": ["k"], "group_row": bad}, offset=0, limit=5
        )
        assert reply["kind"] == "error" and words in reply["error"], (bad, reply)


def test_a_group_set_from_python_becomes_a_row_and_shows_its_rows() -> None:
    from dsviz_widget.widget import show

    table = _table("int64")
    w = show(
        Source.from_arrow(table), read_blob=lambda d: b"", group_by=["k"], group={"k": 2**63 - 1}
    )
    assert table.column("k")[w.group_row].as_py() == 2**63 - 1
    assert w.page()["k"].tolist() == [2**63 - 1] * 3
    with pytest.raises(ValueError, match="no group has the key"):
        w.group = {"k": 12345}
    assert w.group == {"k": 2**63 - 1}
    w.group = None
    assert w.group_row is None and w.num_rows == len(I64)
    w.close()


@pytest.mark.parametrize("type_", [pa.time64("ns"), pa.timestamp("ns"), pa.timestamp("ns", "UTC")])
def test_nanosecond_keys_one_apart_open_their_own_rows(type_: pa.DataType) -> None:
    # Python's time and datetime hold microseconds: keys read back through as_py() merged
    # 123456789012 ns and 123456789013 ns into one, and a drill-in opened the wrong rows.
    raw = [123456789012, 123456789013, 123456789014, None]
    rows = raw * 2
    schema = pa.schema([_synth.field("k", "native", type_), _synth.field("n", "int", pa.int64())])
    table = pa.table(
        [pa.array(rows, pa.int64()).cast(type_), pa.array(range(len(rows)), pa.int64())],
        schema=schema,
    )
    h = MessageHandler(Source.from_arrow(table), lambda d: b"")
    for member, key in enumerate(raw):
        query = {"group_by": ["k"], "group_row": member}
        reply, buffers = ask(h, kind="page", query=query, offset=0, limit=100)
        assert reply["kind"] == "page-response", reply
        want = [i for i, k in enumerate(rows) if k == key]
        assert sorted(decode(buffers).column("_row").to_pylist()) == want, key
