"""Type-check a filter tree and compile it to DuckDB SQL.

The SQL holds only quoted identifiers (column names, doubled quotes escaped) and ``$n``
placeholders; every value the user typed travels as a bound parameter. Floats are read
through ``CASE WHEN isnan(x) THEN NULL ELSE x END`` so that NaN behaves like a missing value: it never satisfies a
comparison, negated or not, and ``x is null`` finds it (as pandas' ``isna`` would).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from dsviz_widget.engine._errors import FilterError
from dsviz_widget.engine._tree import (
    ARITHMETIC,
    COMPARISONS,
    STRING_OPS,
    Binary,
    Column,
    Field,
    InList,
    IsNull,
    Literal,
    Node,
    Unary,
)

# Kinds whose cells are structs or bytes: meaningless to compare; say what to use instead.
OPAQUE_KINDS = frozenset({"image", "audio", "array"})
_SQL_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TYPE_WORDS = {"num": "a number", "str": "a string", "bool": "true/false", "json": "a dict value",
               "null": "null", "native": "a value", "opaque": "an opaque value"}


def quote_ident(name: str) -> str:
    """SQL-quote a column name: wrapped in double quotes, inner quotes doubled."""
    if "\0" in name:
        raise ValueError("column names may not contain NUL characters")
    return '"' + name.replace('"', '""') + '"'


def type_class(kind: str, arrow_type: pa.DataType) -> str:
    """Collapse a column's kind and Arrow type into the filter language's types."""
    if kind in OPAQUE_KINDS:
        return "opaque"
    if kind == "dict":
        return "dict"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) or pa.types.is_decimal(
        arrow_type
    ):
        return "num"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "str"
    if pa.types.is_struct(arrow_type) or pa.types.is_binary(arrow_type) or pa.types.is_list(
        arrow_type
    ):
        return "opaque"
    return "native"


@dataclass
class ColumnInfo:
    name: str
    kind: str
    type: pa.DataType

    @property
    def cls(self) -> str:
        return type_class(self.kind, self.type)

    @property
    def is_float(self) -> bool:
        return pa.types.is_floating(self.type)


@dataclass
class Compiled:
    sql: str
    params: list[object] = field(default_factory=list)


def column_sql(col: ColumnInfo, alias: str = "") -> str:
    ident = (alias + "." if alias else "") + quote_ident(col.name)
    # Not NULLIF(x, NaN): DuckDB prunes that against Parquet statistics, which pyarrow
    # writes without NaN, and then lets NaN rows through (seen with duckdb 2.0).
    return f"(CASE WHEN isnan({ident}) THEN NULL ELSE {ident} END)" if col.is_float else ident


class _Compiler:
    def __init__(self, text: str, columns: dict[str, ColumnInfo], params: list[object]) -> None:
        self.text = text
        self.columns = columns
        self.params = params

    def error(self, message: str, pos: int) -> FilterError:
        return FilterError(message, pos, self.text)

    def bind(self, value: object) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def describe(self, node: Node) -> str:
        if isinstance(node, Column):
            return f"column {node.name!r}"
        if isinstance(node, Field):
            return f"{node.column.name}.{'.'.join(node.path)}"
        if isinstance(node, Literal):
            return repr(node.value)
        return "expression"

    def expr(self, node: Node) -> tuple[str, str]:
        """Return (sql, type class) of ``node``."""
        if isinstance(node, Literal):
            v = node.value
            if v is None:
                return "NULL", "null"
            if isinstance(v, bool):
                return ("TRUE" if v else "FALSE"), "bool"
            if isinstance(v, float):
                return f"{self.bind(v)}::DOUBLE", "num"
            if isinstance(v, int):
                return f"{self.bind(v)}::BIGINT", "num"
            return f"{self.bind(v)}::VARCHAR", "str"
        if isinstance(node, Column):
            info = self.columns[node.name]
            cls = info.cls
            return column_sql(info), ("str" if cls == "dict" else cls)
        if isinstance(node, Field):
            info = self.columns[node.column.name]
            if info.cls != "dict":
                raise self.error(f"column {info.name!r} holds {info.kind} values, not dicts",
                                 node.pos)
            if any('"' in key for key in node.path):
                raise self.error('dict keys containing \'"\' are not supported', node.pos)
            path = "$" + "".join(f'."{key}"' for key in node.path)
            return f"json_extract_string({quote_ident(info.name)}, {self.bind(path)})", "json"
        if isinstance(node, Unary):
            sql, cls = self.expr(node.operand)
            if node.op == "not":
                self.need(node.operand, cls, "bool", "'not' needs a condition")
                return f"(NOT {sql})", "bool"
            sql, cls = self.as_num(node.operand, sql, cls, "'-' needs a number")
            return f"(- {sql})", "num"
        if isinstance(node, IsNull):
            sql, _ = self.expr(node.operand)
            return f"({sql} IS {'NOT ' if node.negated else ''}NULL)", "bool"
        if isinstance(node, InList):
            return self.in_list(node)
        assert isinstance(node, Binary)
        if node.op in ("and", "or"):
            lsql, lcls = self.expr(node.left)
            rsql, rcls = self.expr(node.right)
            self.need(node.left, lcls, "bool", f"'{node.op}' joins conditions")
            self.need(node.right, rcls, "bool", f"'{node.op}' joins conditions")
            return f"({lsql} {node.op.upper()} {rsql})", "bool"
        if node.op in COMPARISONS:
            return self.comparison(node)
        if node.op in STRING_OPS:
            lsql, lcls = self.as_str(node.left, *self.expr(node.left), f"'{node.op}' needs strings")
            rsql, rcls = self.as_str(node.right, *self.expr(node.right),
                                     f"'{node.op}' needs strings")
            fn = {"contains": "contains", "startswith": "starts_with", "endswith": "ends_with"}
            return f"{fn[node.op]}({lsql}, {rsql})", "bool"
        assert node.op in ARITHMETIC
        return self.arithmetic(node)

    def need(self, node: Node, cls: str, want: str, why: str) -> None:
        if cls == "opaque":
            self.opaque(node)
        if cls != want and cls != "native":
            raise self.error(f"{why}; {self.describe(node)} is {_TYPE_WORDS.get(cls, cls)}",
                             node.pos)

    def opaque(self, node: Node) -> None:
        name = node.name if isinstance(node, Column) else "?"
        kind = self.columns[name].kind if name in self.columns else "opaque"
        derived = sorted(c for c, i in self.columns.items() if i.kind == "derived")[:4]
        hint = (f"; filter on its derived columns instead, e.g. {', '.join(derived)}"
                if derived and kind == "image" else "")
        raise self.error(
            f"column {name!r} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} column and "
            f"cannot be compared (only 'is null' works on it){hint}",
            node.pos,
        )

    def as_num(self, node: Node, sql: str, cls: str, why: str) -> tuple[str, str]:
        if cls == "json":
            return f"TRY_CAST({sql} AS DOUBLE)", "num"
        self.need(node, cls, "num", why)
        return sql, "num"

    def as_str(self, node: Node, sql: str, cls: str, why: str) -> tuple[str, str]:
        if cls == "json":
            return sql, "str"
        self.need(node, cls, "str", why)
        return sql, "str"

    def coerce_json(self, sql: str, other: str) -> str:
        if other == "num":
            return f"TRY_CAST({sql} AS DOUBLE)"
        if other == "bool":
            return f"TRY_CAST({sql} AS BOOLEAN)"
        return sql

    def comparison(self, node: Binary) -> tuple[str, str]:
        lsql, lcls = self.expr(node.left)
        rsql, rcls = self.expr(node.right)
        for side, cls in ((node.left, lcls), (node.right, rcls)):
            if cls == "opaque":
                self.opaque(side)
            if cls == "null":
                raise self.error("comparing with null never matches; use 'is null' or "
                                 "'is not null'", side.pos)
        if lcls == "json":
            lsql, lcls = self.coerce_json(lsql, rcls), (rcls if rcls != "json" else "str")
        if rcls == "json":
            rsql, rcls = self.coerce_json(rsql, lcls), (lcls if lcls != "json" else "str")
        if lcls != rcls and "native" not in (lcls, rcls):
            raise self.error(
                f"cannot compare {self.describe(node.left)} ({_TYPE_WORDS[lcls]}) with "
                f"{self.describe(node.right)} ({_TYPE_WORDS[rcls]})",
                node.pos,
            )
        return f"({lsql} {_SQL_OPS[node.op]} {rsql})", "bool"

    def arithmetic(self, node: Binary) -> tuple[str, str]:
        lsql, lcls = self.expr(node.left)
        rsql, rcls = self.expr(node.right)
        if node.op == "+" and lcls == "str" and rcls == "str":
            return f"({lsql} || {rsql})", "str"
        why = f"'{node.op}' needs numbers"
        lsql, _ = self.as_num(node.left, lsql, lcls, why)
        rsql, _ = self.as_num(node.right, rsql, rcls, why)
        if node.op == "/":
            # Python's true division; NaN from 0/0 counts as missing like any NaN.
            q = f"(({lsql})::DOUBLE / ({rsql}))"
            return f"(CASE WHEN isnan({q}) THEN NULL ELSE {q} END)", "num"
        # TRY: an integer overflow or a modulo by zero gives a missing value (the row does not
        # match), as division by zero and NaN do, instead of failing the whole query with
        # DuckDB's wording and no position.
        if node.op == "%":
            # Python's modulo takes the divisor's sign; SQL's takes the dividend's.
            return f"TRY((({lsql} % {rsql}) + {rsql}) % {rsql})", "num"
        return f"TRY({lsql} {node.op} {rsql})", "num"

    def in_list(self, node: InList) -> tuple[str, str]:
        sql, cls = self.expr(node.operand)
        if cls == "opaque":
            self.opaque(node.operand)
        kinds = set()
        items: list[str] = []
        for lit in node.values:
            lsql, lcls = self.expr(lit)
            kinds.add(lcls)
            items.append(lsql)
        if cls == "json" and kinds:
            sql = self.coerce_json(sql, next(iter(kinds)))
            cls = next(iter(kinds))
        for lit in node.values:
            lcls = self.expr_type_of_literal(lit)
            if lcls != cls and cls != "native":
                raise self.error(
                    f"cannot compare {self.describe(node.operand)} ({_TYPE_WORDS[cls]}) with "
                    f"{lit.value!r} ({_TYPE_WORDS[lcls]})", lit.pos)
        neg = "NOT " if node.negated else ""
        if not items:
            # Unknown (not false) for a missing value, so 'not (x in [])' skips it too.
            value = "TRUE" if node.negated else "FALSE"
            return f"(CASE WHEN {sql} IS NULL THEN NULL ELSE {value} END)", "bool"
        return f"({sql} {neg}IN ({', '.join(items)}))", "bool"

    @staticmethod
    def expr_type_of_literal(lit: Literal) -> str:
        v = lit.value
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "num"
        return "str"


def compile_filter(
    tree: Node, text: str, columns: dict[str, ColumnInfo], params: list[object] | None = None
) -> Compiled:
    """Compile a parsed filter into a SQL boolean expression with ``$n`` parameters.

    ``params`` may already hold parameters of the surrounding statement; new ones are
    appended and numbered after them.
    """
    bound: list[object] = params if params is not None else []
    compiler = _Compiler(text, columns, bound)
    sql, cls = compiler.expr(tree)
    if cls not in ("bool", "native"):
        raise FilterError(
            f"the filter must be a condition such as 'x > 0', but {compiler.describe(tree)} "
            f"is {_TYPE_WORDS.get(cls, cls)}",
            tree.pos,
            text,
        )
    return Compiled(sql, bound)
