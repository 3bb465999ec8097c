"""Writes ``js/src/protocol.gen.ts``: the browser's types, generated from the Python ones.

One contract for both sides. The message shapes (the TypedDicts, Literals, kind tuples,
limits and unions of ``_protocol.py``), the widgets' synced traits and the capability
table of ``dsviz_widget._format`` are read from the Python objects themselves (type hints,
traitlets introspection), never from their source text, and printed as TypeScript.
``js/src/protocol.ts`` and ``js/src/model.ts`` re-export them; the sync test fails when the
committed file differs from what this module prints.

Regenerate after changing any of them::

    python -m dsviz_widget.widget._typescript

A type with no TypeScript counterpart here raises ``TypeError`` naming where it was found, so
the two sides never drift through a silent ``unknown``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
import types
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

import anywidget
import traitlets as t

from dsviz_widget import _format
from dsviz_widget.widget import _protocol
from dsviz_widget.widget._lineage import LineageWidget
from dsviz_widget.widget._widget import DatasetWidget

COMMAND = "python -m dsviz_widget.widget._typescript"
TARGET = Path(__file__).resolve().parents[2] / "js" / "src" / "protocol.gen.ts"

#: The widget classes whose synced traits the browser reads, and the interface naming them.
WIDGETS: tuple[tuple[type[anywidget.AnyWidget], str], ...] = (
    (DatasetWidget, "DatasetWidgetState"),
    (LineageWidget, "LineageWidgetState"),
)

_SCALARS: tuple[tuple[object, str], ...] = (
    (str, "string"),
    (int, "number"),
    (float, "number"),
    (bool, "boolean"),
    (type(None), "null"),
    (None, "null"),
    (object, "unknown"),
    (Any, "unknown"),
)


def ts_type(tp: object, where: str, known: Iterable[str] = ()) -> str:
    """The TypeScript spelling of the Python type ``tp``.

    ``where`` names the field it annotates, for the error; ``known`` are the TypedDicts the
    output declares, the only ones a type may refer to by name.

    Examples
    --------
    >>> ts_type(dict[str, list[int]] | None, "x")
    'Record<string, number[]> | null'
    """
    for py, ts in _SCALARS:
        if tp is py:
            return ts
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return " | ".join(_literal(a, where) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(ts_type(a, where, known) for a in args)
    if (origin is list and len(args) == 1) or (origin is tuple and args[1:] == (Ellipsis,)):
        return _array(ts_type(args[0], where, known))
    if origin is tuple and args:
        return "[" + ", ".join(ts_type(a, where, known) for a in args) + "]"
    if origin is dict and len(args) == 2:
        key = ts_type(args[0], where, known)
        if args[0] is not str and get_origin(args[0]) is not Literal:
            raise TypeError(f"{where}: a JSON object's keys are strings, not {args[0]!r}")
        return f"Record<{key}, {ts_type(args[1], where, known)}>"
    if is_typeddict(tp):
        name = tp.__name__  # type: ignore[attr-defined]
        if name not in known:
            raise TypeError(f"{where}: TypedDict {name} is not one the generated file declares")
        return str(name)
    raise TypeError(f"{where}: no TypeScript type for the Python type {tp!r}")


def _array(item: str) -> str:
    return f"({item})[]" if " | " in item else f"{item}[]"


def _literal(value: object, where: str) -> str:
    if type(value) not in (str, int, bool):
        raise TypeError(f"{where}: no TypeScript literal for {value!r}")
    return json.dumps(value)


def ts_trait(trait: t.TraitType[Any, Any], where: str) -> str:
    """The TypeScript spelling of a synced trait's value (``allow_none`` adds ``| null``)."""
    ts = _trait_value(trait, where)
    return f"{ts} | null" if trait.allow_none else ts


def _trait_value(trait: t.TraitType[Any, Any], where: str) -> str:
    # Subclasses first: CUnicode is a Unicode, Set and Tuple are Containers like List.
    if isinstance(trait, t.Bool):
        return "boolean"
    if isinstance(trait, t.Unicode):
        return "string"
    if isinstance(trait, t.Int | t.Float):
        return "number"
    if isinstance(trait, t.Enum):
        return " | ".join(_literal(v, where) for v in trait.values or ())
    if type(trait) is t.List:
        inner = trait._trait  # the element trait; None for an untyped List()
        return _array("unknown" if inner is None else ts_trait(inner, f"{where}[]"))
    if type(trait) is t.Dict:
        if trait._key_trait is not None and not isinstance(trait._key_trait, t.Unicode):
            raise TypeError(f"{where}: a JSON object's keys are strings")
        if trait._per_key_traits:
            raise TypeError(f"{where}: per-key traits have no TypeScript mapping here")
        value = trait._value_trait
        if not isinstance(value, t.TraitType):
            return "Record<string, unknown>"
        return f"Record<string, {ts_trait(value, f'{where}{{}}')}>"
    if type(trait) is t.Any:
        return "unknown"
    raise TypeError(f"{where}: no TypeScript type for the trait {type(trait).__name__}")


def _jsdoc(doc: str | None, indent: str = "") -> list[str]:
    if not doc:
        return []
    text = inspect.cleandoc(doc).replace("``", "`").replace("*/", "*\u200b/")
    lines = text.splitlines()
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**", *(f"{indent} *{' ' if ln else ''}{ln}" for ln in lines), f"{indent} */"]


def interface(td: type, known: Iterable[str] = ()) -> str:
    """A ``TypedDict`` as a TypeScript interface: its fields in declaration order, the
    optional ones (``total=False``, ``NotRequired``) marked ``?``.

    Examples
    --------
    >>> from typing import TypedDict
    >>> class Point(TypedDict):
    ...     x: float
    >>> print(interface(Point))
    export interface Point {
      x: number;
    }
    """
    if not is_typeddict(td):
        raise TypeError(f"{td!r} is not a TypedDict")
    known = {*known, td.__name__}
    hints = get_type_hints(td)
    optional: frozenset[str] = td.__optional_keys__  # type: ignore[attr-defined]
    lines = _jsdoc(td.__doc__)
    lines.append(f"export interface {td.__name__} {{")
    for name, tp in hints.items():
        mark = "?" if name in optional else ""
        lines.append(f"  {name}{mark}: {ts_type(tp, f'{td.__name__}.{name}', known)};")
    lines.append("}")
    return "\n".join(lines)


def state_interface(widget: type[t.HasTraits], name: str, base: type[t.HasTraits]) -> str:
    """The traits ``widget`` syncs beyond those of ``base`` (anywidget's own), in declaration
    order, as one TypeScript interface."""
    inherited = set(base.class_traits(sync=True))
    synced = {
        n for n in widget.class_traits(sync=True) if n not in inherited and not n.startswith("_")
    }
    lines = [
        f"/** The traits {widget.__module__}.{widget.__qualname__} syncs with the browser. */",
        f"export interface {name} {{",
    ]
    seen: set[str] = set()
    for klass in reversed(widget.__mro__):  # declaration order, base classes first
        for attr, trait in vars(klass).items():
            if attr in synced and attr not in seen and isinstance(trait, t.TraitType):
                seen.add(attr)
                lines.append(f"  {attr}: {ts_trait(trait, f'{widget.__name__}.{attr}')};")
    lines.append("}")
    return "\n".join(lines)


def _protocol_parts(module: types.ModuleType) -> Iterator[str]:
    """The module's public constants (upper-case ints and string tuples), TypedDicts and
    type aliases, in its order, then ``ResponseFor``. Anything else (functions, ``FIELDS``)
    is not part of the wire format and is left out."""
    items = [(k, v) for k, v in vars(module).items() if not k.startswith("_")]
    known = {v.__name__ for _, v in items if is_typeddict(v) and v.__module__ == module.__name__}
    for name, value in items:
        origin = get_origin(value)
        if name.isupper() and type(value) is int:
            yield f"export const {name} = {value};"
        elif name.isupper() and type(value) is tuple and all(type(v) is str for v in value):
            yield _const_tuple(name, value)
        elif is_typeddict(value) and value.__module__ == module.__name__:
            # A second name for a TypedDict (a one-member union collapses to its member).
            same = value.__name__ == name
            yield interface(value, known) if same else _alias(name, [value.__name__])
        elif origin is Literal:
            yield _alias(name, [_literal(a, name) for a in get_args(value)])
        elif origin in (Union, types.UnionType):
            yield _alias(name, [ts_type(a, name, known) for a in get_args(value)])
        elif origin is not None:  # another alias: list[...], dict[...], tuple[...]
            yield _alias(name, [ts_type(value, name, known)])
    yield response_for(module.Request, module.Response)


_WIDTH = 100  # the repository's line length: longer declarations get one member per line


def _alias(name: str, members: list[str]) -> str:
    line = f"export type {name} = {' | '.join(members)};"
    if len(line) <= _WIDTH:
        return line
    return f"export type {name} =\n" + "\n".join(f"  | {m}" for m in members) + ";"


def _const_tuple(name: str, values: tuple[str, ...]) -> str:
    line = f"export const {name} = {json.dumps(list(values))} as const;"
    if len(line) <= _WIDTH:
        return line
    return (
        f"export const {name} = [\n"
        + "".join(f"  {json.dumps(v)},\n" for v in values)
        + "] as const;"
    )


def _kind(td: type) -> str:
    kinds = get_args(get_type_hints(td).get("kind"))
    if len(kinds) != 1 or type(kinds[0]) is not str:
        raise TypeError(f"{td.__name__}.kind must be one Literal string, the message kind")
    return str(kinds[0])


def _members(union: object) -> tuple[Any, ...]:
    return get_args(union) if get_origin(union) in (Union, types.UnionType) else (union,)


def response_for(request: object, response: object) -> str:
    """``ResponseFor``: each request kind's answer (the response whose kind is
    ``"<kind>-response"``); a request kind without one is an error."""
    answers = {_kind(r): r for r in _members(response)}
    lines = [
        "/** The response type that answers each request kind. */",
        "export interface ResponseFor {",
    ]
    for req in _members(request):
        kind = _kind(req)
        answer = answers.get(f"{kind}-response")
        if answer is None:
            raise TypeError(f"request kind {kind!r} has no {kind}-response in the Response union")
        lines.append(
            f"  {json.dumps(kind) if not kind.isidentifier() else kind}: {answer.__name__};"
        )
    lines.append("}")
    return "\n".join(lines)


def capability_table(kinds: tuple[str, ...], table: dict[str, Any], shape: type) -> str:
    """``COLUMN_KINDS`` and ``CAPABILITIES`` (kind -> capabilities, ``null``: decided per
    Arrow type by the engine); the dataclass must have exactly the fields of ``shape``."""
    if set(table) != set(kinds):
        raise TypeError(f"CAPABILITIES names {sorted(table)}, KINDS {sorted(kinds)}")
    lines = [
        _const_tuple("COLUMN_KINDS", kinds),
        "export type ColumnKind = (typeof COLUMN_KINDS)[number];",
        "",
        *_jsdoc(
            """What the engine can do with each column kind (`dsviz_widget._format.CAPABILITIES`).
            null: it depends on the Arrow type; the kernel sends every column's resolved
            capabilities in `ColumnInfo.capabilities`, which is what the grid should read."""
        ),
        f"export const CAPABILITIES: Readonly<Record<ColumnKind, {shape.__name__} | null>> = {{",
    ]
    fields = set(get_type_hints(shape))
    for kind in kinds:
        caps = table[kind]
        if caps is None:
            lines.append(f"  {kind}: null,")
            continue
        values = dataclasses.asdict(caps)
        if set(values) != fields:
            raise TypeError(
                f"Capabilities fields {sorted(values)} are not {shape.__name__}'s {sorted(fields)}"
            )
        body = ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items())
        lines.append(f"  {kind}: {{ {body} }},")
    lines.append("};")
    return "\n".join(lines)


def render() -> str:
    """The whole text of ``js/src/protocol.gen.ts``."""
    parts = [
        "\n".join(
            [
                f"// GENERATED, DO NOT EDIT: regenerate with `{COMMAND}`.",
                "// From dsviz_widget/widget/_protocol.py (message shapes; field meanings are documented",
                "// there), the widgets' synced traits and dsviz_widget/_format.py (capabilities).",
                "// tests/widget/test_protocol_sync.py fails when this file is stale.",
            ]
        ),
        *_protocol_parts(_protocol),
        *(state_interface(w, name, anywidget.AnyWidget) for w, name in WIDGETS),
        capability_table(_format.KINDS, _format.CAPABILITIES, _protocol.ColumnCapabilities),
    ]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    """Rewrite the file, or with ``--check`` only say whether it is current (exit 1 if not)."""
    if not TARGET.parent.is_dir():
        print(f"{TARGET.parent} is missing: run this in a source checkout", file=sys.stderr)
        return 2
    text = render()
    current = TARGET.read_text() if TARGET.exists() else ""
    if "--check" in argv:
        if text != current:
            print(f"{TARGET} is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    if text != current:
        TARGET.write_text(text)
        print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
