"""The browser's protocol types are the Python ones: js/src/protocol.gen.ts is what the
generator prints from _protocol.py, the widgets' traits and the capability table."""

from __future__ import annotations

import difflib
import re
import types
from typing import Literal, TypedDict

import pytest
import traitlets as t

from dsviz_widget.widget import _protocol, _typescript
from dsviz_widget.widget._typescript import interface, state_interface, ts_type

TS = _typescript.TARGET.parent


def test_the_committed_typescript_is_what_the_generator_prints() -> None:
    committed = _typescript.TARGET.read_text() if _typescript.TARGET.exists() else ""
    generated = _typescript.render()
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            "js/src/protocol.gen.ts (committed)",
            "generated from the Python definitions",
        )
    )
    assert not diff, f"js/src/protocol.gen.ts is stale: run `{_typescript.COMMAND}`\n{diff}"


def test_every_request_kind_is_answered_by_its_response_kind() -> None:
    assert {f"{k}-response" for k in _protocol.REQUEST_KINDS} | {"error"} == set(
        _protocol.RESPONSE_KINDS
    )
    pairs = re.search(r"export interface ResponseFor \{(.*?)\n\}", _typescript.render(), re.S)
    assert pairs is not None
    assert re.findall(r"^\s*(\w+): \w+;", pairs.group(1), re.M) == list(_protocol.REQUEST_KINDS)


def test_limits_agree_with_the_browser() -> None:
    # The browser never asks for more than the kernel accepts. It reads these limits from the
    # generated protocol.gen.ts (test_generated_types_are_current keeps that file current).
    assert 2 * _protocol.THUMBNAIL_BATCH <= _protocol.MAX_THUMBNAILS
    assert 2 * _protocol.MAX_PAGE_SIZE <= _protocol.MAX_PAGE_ROWS
    for name in ("THUMBNAIL_BATCH", "MIN_PAGE_SIZE", "MAX_PAGE_SIZE"):
        used = [
            p.name for p in TS.glob("*.ts") if p.name != "protocol.gen.ts" and name in p.read_text()
        ]
        assert used, f"no browser module uses {name}"


# Shapes for the generator's mapping, defined at module level so their hints resolve.


class Box(TypedDict):
    """A box.

    Two lines of ``doc``."""

    label: Literal["cat", "dog"]
    score: float | None
    corners: list[tuple[int, int]]


class Page(TypedDict, total=False):
    boxes: list[Box]
    extra: dict[str, object]
    keys: list[str | int]
    note: str


class Odd(TypedDict):
    tags: set[str]


class Keyed(TypedDict):
    by_number: dict[int, str]


class Nested(TypedDict):
    box: Box


class PingRequest(TypedDict):
    id: str
    kind: Literal["ping"]


class PingResponse(TypedDict):
    id: str
    kind: Literal["ping-response"]
    pair: Pair


Pair = tuple[str, str]


def fake_protocol(**names: object) -> types.ModuleType:
    module = types.ModuleType(__name__)  # its TypedDicts are this module's
    vars(module).update(names)
    return module


class Traits(t.HasTraits):
    name = t.Unicode("").tag(sync=True)
    row = t.Int(None, allow_none=True).tag(sync=True)
    ratio = t.Float(0.5).tag(sync=True)
    flags = t.List(t.Bool()).tag(sync=True)
    hidden = t.Dict(value_trait=t.List(t.Int())).tag(sync=True)
    anything = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    mode = t.Enum(["rows", "groups"], "rows").tag(sync=True)
    local = t.Unicode("").tag(sync=False)


class Opaque(t.HasTraits):
    thing = t.Instance(object).tag(sync=True)


def test_typeddicts_print_as_interfaces() -> None:
    assert interface(Box) == (
        "/**\n"
        " * A box.\n"
        " *\n"
        " * Two lines of `doc`.\n"
        " */\n"
        "export interface Box {\n"
        '  label: "cat" | "dog";\n'
        "  score: number | null;\n"
        "  corners: [number, number][];\n"
        "}"
    )
    assert interface(Page, known={"Box"}) == (
        "export interface Page {\n"
        "  boxes?: Box[];\n"
        "  extra?: Record<string, unknown>;\n"
        "  keys?: (string | number)[];\n"
        "  note?: string;\n"
        "}"
    )


def test_synced_traits_print_as_a_state_interface() -> None:
    assert state_interface(Traits, "TraitsState", t.HasTraits) == (
        f"/** The traits {__name__}.Traits syncs with the browser. */\n"
        "export interface TraitsState {\n"
        "  name: string;\n"
        "  row: number | null;\n"
        "  ratio: number;\n"
        "  flags: boolean[];\n"
        "  hidden: Record<string, number[]>;\n"
        "  anything: Record<string, unknown> | null;\n"
        '  mode: "rows" | "groups";\n'
        "}"
    )


def test_a_protocol_module_prints_in_its_order() -> None:
    module = fake_protocol(
        MAX_PINGS=3,
        PING_KINDS=("ping",),
        PingKind=Literal["ping"],
        Pair=Pair,
        PingRequest=PingRequest,
        PingResponse=PingResponse,
        Request=PingRequest | PingRequest,
        Response=PingResponse | PingRequest,
        FIELDS={"ping": PingRequest},
        helper=len,
    )
    text = "\n\n".join(_typescript._protocol_parts(module))
    assert text == (
        "export const MAX_PINGS = 3;\n\n"
        'export const PING_KINDS = ["ping"] as const;\n\n'
        'export type PingKind = "ping";\n\n'
        "export type Pair = [string, string];\n\n"
        'export interface PingRequest {\n  id: string;\n  kind: "ping";\n}\n\n'
        "export interface PingResponse {\n"
        '  id: string;\n  kind: "ping-response";\n  pair: [string, string];\n}\n\n'
        "export type Request = PingRequest;\n\n"
        "export type Response = PingResponse | PingRequest;\n\n"
        "/** The response type that answers each request kind. */\n"
        "export interface ResponseFor {\n  ping: PingResponse;\n}"
    )


def test_a_request_kind_without_an_answer_is_refused() -> None:
    module = fake_protocol(PingRequest=PingRequest, Request=PingRequest, Response=PingRequest)
    with pytest.raises(TypeError, match="request kind 'ping' has no ping-response"):
        list(_typescript._protocol_parts(module))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: interface(Odd), r"Odd\.tags: no TypeScript type for the Python type set\[str\]"),
        (lambda: interface(Keyed), r"Keyed\.by_number: a JSON object's keys are strings"),
        (lambda: interface(Nested), r"Nested\.box: TypedDict Box is not one the generated file"),
        (
            lambda: ts_type(complex, "x"),
            r"x: no TypeScript type for the Python type <class 'complex'>",
        ),
        (
            lambda: state_interface(Opaque, "S", t.HasTraits),
            r"Opaque\.thing: no TypeScript type for the trait Instance",
        ),
    ],
)
def test_an_unmappable_type_is_refused_by_name(make: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        make()  # type: ignore[operator]
