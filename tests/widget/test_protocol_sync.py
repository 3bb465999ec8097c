"""The two protocol modules name the same message kinds with the same fields."""

from __future__ import annotations

import re
from pathlib import Path

from dsviz_widget.widget import _protocol

TS = Path(__file__).resolve().parents[2] / "js" / "src" / "protocol.ts"


def ts_interfaces() -> dict[str, set[str]]:
    """kind literal -> field names, for every TS interface with a `kind: "..."` field."""
    out: dict[str, set[str]] = {}
    for body in re.findall(r"export interface \w+ \{(.*?)\n\}", TS.read_text(), re.S):
        kind = re.search(r'^\s*kind: "([^"]+)";', body, re.M)
        if kind:
            out[kind.group(1)] = set(re.findall(r"^\s*(\w+)\??:", body, re.M))
    return out


def ts_const(name: str) -> list[str]:
    m = re.search(rf"export const {name} = \[(.*?)\] as const;", TS.read_text(), re.S)
    assert m, name
    return re.findall(r'"([^"]+)"', m.group(1))


def test_kinds_agree() -> None:
    assert ts_const("REQUEST_KINDS") == list(_protocol.REQUEST_KINDS)
    assert ts_const("RESPONSE_KINDS") == list(_protocol.RESPONSE_KINDS)
    assert set(ts_interfaces()) == set(_protocol.FIELDS)
    assert {f"{k}-response" for k in _protocol.REQUEST_KINDS} | {"error"} == set(_protocol.RESPONSE_KINDS)


def test_fields_agree() -> None:
    ts = ts_interfaces()
    for kind, typed in _protocol.FIELDS.items():
        assert ts[kind] == set(typed.__annotations__), kind


def test_query_and_media_shapes_agree() -> None:
    text = TS.read_text()
    for name, typed in (("QuerySpec", _protocol.QuerySpec), ("MediaItem", _protocol.MediaItem),
                        ("ColumnInfo", _protocol.ColumnInfo), ("CompareInfo", _protocol.CompareInfo),
                        ("GroupRoles", _protocol.GroupRoles)):
        body = re.search(rf"export interface {name} \{{(.*?)\n\}}", text, re.S)
        assert body, name
        assert set(re.findall(r"^\s*(\w+)\??:", body.group(1), re.M)) == set(typed.__annotations__), name


def test_limits_agree_with_the_browser() -> None:
    # The browser never asks for more than the kernel accepts.
    client = (TS.parent / "thumbs.ts").read_text()
    batch = int(re.search(r"i \+= (\d+)", client).group(1))  # type: ignore[union-attr]
    assert 2 * batch <= _protocol.MAX_THUMBNAILS
    controller = (TS.parent / "controller.ts").read_text()
    assert "Math.min(1000," in controller and _protocol.MAX_PAGE_ROWS >= 1000 * 2


def test_every_request_kind_has_a_typed_answer_in_the_browser() -> None:
    body = re.search(r"export interface ResponseFor \{(.*?)\n\}", TS.read_text(), re.S)
    assert body
    pairs = dict(re.findall(r"^\s*(\w+): (\w+);", body.group(1), re.M))
    assert set(pairs) == set(_protocol.REQUEST_KINDS)
    for kind, iface in pairs.items():
        m = re.search(rf"export interface {iface} \{{(.*?)\n\}}", TS.read_text(), re.S)
        assert m and f'kind: "{kind}-response";' in m.group(1), kind
