"""A comparison opens with its keys and its changed marker pinned; the user can unpin them."""

from __future__ import annotations

import dsviz_widget as dv
from dsviz_widget.table import Table
from dsviz_widget.widget import compare, show
from dsviz_widget.widget._comparepins import default_pins


def tables() -> tuple[Table, Table]:
    t0 = Table(columns=["id", "pred", "conf"], data=[[0, "a", 0.5], [1, "b", 0.25]])
    t1 = Table(columns=["id", "pred", "conf"], data=[[0, "a", 0.75], [1, "c", 0.25]])
    return t0, t1


def test_dv_compare_pins_the_key_and_the_marker() -> None:
    t0, t1 = tables()
    w = show(dv.compare(t0, t1, on="id", labels=["v0", "v1"]))
    assert w.pinned == ["id", "changed"]
    w.pinned = []  # the user unpins: it stays unpinned
    assert w.pinned == []
    w.close()


def test_widget_compare_pins_and_a_given_pin_list_wins() -> None:
    t0, t1 = tables()
    parts = [t.engine_source() for t in (t0, t1)]
    w = compare(parts, on="id", labels=["v0", "v1"], read_blob=lambda d: b"")
    assert w.pinned == ["id", "changed"]
    w.close()
    w = compare(parts, on="id", labels=["v0", "v1"], read_blob=lambda d: b"", pinned=["pred"])
    assert w.pinned == ["pred"]
    w.close()


def test_plain_tables_pin_nothing() -> None:
    w = show(tables()[0])
    assert w.pinned == []
    w.close()


def test_keys_are_the_names_without_a_version_suffix() -> None:
    names = ["a", "b@x", "pred@v0", "pred@v1", "pred@delta", "pred@changed", "changed", "_row"]
    # `b@x` is a key whose name has an @ (x is no label); two keys stay in order.
    assert default_pins(names, ["v0", "v1"]) == ["a", "b@x", "changed"]
    # A key named like a delta of no compared column is still a key.
    assert default_pins(["k@delta", "y@v0", "y@v1"], ["v0", "v1"]) == ["k@delta"]
