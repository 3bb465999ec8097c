"""The typed tree a filter expression parses into.

Every node keeps ``pos``, the character offset it starts at, so type errors found while
compiling can point at the right place in the user's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

LiteralValue: TypeAlias = int | float | str | bool | None


@dataclass(frozen=True)
class Literal:
    value: LiteralValue
    pos: int


@dataclass(frozen=True)
class Column:
    """A real column of the source, by its exact name."""

    name: str
    pos: int


@dataclass(frozen=True)
class Field:
    """``meta.camera`` or ``meta["camera"]``: a key path into a dict column (JSON text)."""

    column: Column
    path: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "-"
    operand: Node
    pos: int
    depth: int = field(default=1, repr=False, compare=False)


@dataclass(frozen=True)
class Binary:
    """Boolean, comparison, arithmetic and string operators.

    ``op`` is one of ``and or == != < <= > >= + - * / % contains startswith endswith``.
    """

    op: str
    left: Node
    right: Node
    pos: int
    #: How many operators the compiled SQL nests at most (a chain of ``and`` or ``or``
    #: compiles flat, so it adds one level however long it is); see ``MAX_OPERATOR_DEPTH``.
    depth: int = field(default=1, repr=False, compare=False)


@dataclass(frozen=True)
class InList:
    operand: Node
    values: tuple[Literal, ...]
    negated: bool
    pos: int
    depth: int = field(default=1, repr=False, compare=False)


@dataclass(frozen=True)
class IsNull:
    operand: Node
    negated: bool
    pos: int
    depth: int = field(default=1, repr=False, compare=False)


Node: TypeAlias = "Literal | Column | Field | Unary | Binary | InList | IsNull"

COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})
STRING_OPS = frozenset({"contains", "startswith", "endswith"})


def depth_of(node: Node) -> int:
    """Operator nesting of ``node`` (0 for a value or a column)."""
    return getattr(node, "depth", 0)
