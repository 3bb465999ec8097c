"""Type-check a filter tree and compile it to DuckDB SQL.

The SQL holds only internal column aliases (``c0``, ``c1``, ... : a relation renames the
source's columns by position, so no user name ever reaches SQL, see ``_relation``) and
``$n`` placeholders; every value the user typed travels as a bound parameter.

**NaN is a missing value, everywhere.** In a float column, a dict value (JSON ``NaN``), a
derived column or the result of arithmetic (``inf - inf``), NaN never satisfies a
comparison, negated or not, ``x is null`` finds it (as pandas' ``isna`` would), it sorts
last with the nulls, it is counted with the nulls in summaries, and group-by puts it in the
null group (opened by ``x is null``, exactly that group's rows). In dicts and lists
stored as JSON text, string operators (``contains``...) see the text ``NaN``.

**Compiled size is linear in the filter's length**: every node's SQL contains each child's
SQL once. Where an operand is needed twice (Python's modulo, the NaN guard), a non-leaf
operand is bound once to a lambda parameter instead of being pasted again, which used to
make ``id % (id % (...))`` grow exponentially.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import pyarrow as pa

from dsviz_widget.engine import _temporal
from dsviz_widget.engine._columns import TEMPORAL, SqlColumn, column_sql
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

_SQL_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_TYPE_WORDS = {
    "num": "a number",
    "str": "a string",
    "bool": "true/false",
    "json": "a dict value",
    "null": "null",
    "native": "a value",
    "opaque": "an opaque value",
    "datetime": "a date/time",
    "time": "a time of day",
    "duration": "a duration",
}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_EXAMPLES = {
    "datetime": "'2020-06-01' or '2020-06-01 12:30:00'",
    "time": "'12:30:00'",
    "duration": "'1 hour' or '00:30:00'",
}


@dataclass
class Compiled:
    sql: str
    params: list[object] = field(default_factory=list)


class _E(NamedTuple):
    """A compiled expression: SQL, type class, whether it is a float and whether it may be
    NaN (only arithmetic results can be: columns and dict values are read NaN-free)."""

    sql: str
    cls: str
    flt: bool = False
    nan: bool = False
    json_args: str = ""  # a dict lookup's "column, $path"


_LEAVES = (Literal, Column, Field)


class _Compiler:
    def __init__(
        self,
        text: str,
        columns: dict[str, SqlColumn],
        params: list[object],
        where_only: frozenset[int] = frozenset(),
    ) -> None:
        self.text = text
        self.where_only = where_only
        self.columns = columns
        self.params = params
        self.lambdas = 0

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

    def let(self, node: Node, value: str, body: Callable[[str], str]) -> str:
        """``body(v)`` where ``v`` stands for ``value``, which is evaluated and written once.

        A leaf's SQL is short, so it is simply repeated. Anything else is bound to a lambda
        parameter over a one-element list: DuckDB's only way to name a value inside an
        expression (a macro or NULLIF would copy its argument at bind time). ``body`` must
        refer to nothing but ``v`` (see :meth:`modulo`)."""
        if isinstance(node, _LEAVES):
            return body(value)
        self.lambdas += 1
        v = f"_v{self.lambdas}"  # never a column alias (c0, c1, ...)
        return f"list_apply([{value}], lambda {v}: {body(v)})[1]"

    def modulo(self, node: Binary, left: str, right: str) -> str:
        """Python's modulo (the divisor's sign), which needs the divisor three times.

        A non-leaf divisor is named by a lambda; the dividend then goes into the lambda's
        argument too (a struct), never into its body: DuckDB copies what a lambda body
        captures from outside, so nested bodies with captures grew exponentially."""
        if isinstance(node.right, _LEAVES):
            return f"TRY(((({left}) % {right}) + {right}) % {right})"
        self.lambdas += 1
        v = f"_v{self.lambdas}"
        body = f"TRY(((({v}.l) % {v}.r) + {v}.r) % {v}.r)"
        return f"list_apply([struct_pack(l := {left}, r := {right})], lambda {v}: {body})[1]"

    def guard(self, node: Node, e: _E) -> _E:
        """NaN -> NULL for a value that may be NaN (see the module docstring)."""
        if not e.nan:
            return e
        sql = self.let(node, e.sql, lambda v: f"(CASE WHEN isnan({v}) THEN NULL ELSE {v} END)")
        return _E(sql, e.cls, e.flt)

    def expr(self, node: Node) -> _E:
        if isinstance(node, Literal):
            v = node.value
            if v is None:
                return _E("NULL", "null")
            if isinstance(v, bool):
                return _E("TRUE" if v else "FALSE", "bool")
            if isinstance(v, float):
                return _E(f"{self.bind(v)}::DOUBLE", "num", flt=True)
            if isinstance(v, int):
                return _E(f"{self.bind(v)}::BIGINT", "num")
            return _E(f"{self.bind(v)}::VARCHAR", "str")
        if isinstance(node, Column):
            info = self.columns[node.name]
            cls = info.cls
            return _E(column_sql(info), "str" if cls == "dict" else cls, flt=info.is_float)
        if isinstance(node, Field):
            info = self.columns[node.column.name]
            if info.cls != "dict":
                raise self.error(
                    f"column {info.name!r} holds {info.kind} values, not dicts", node.pos
                )
            if any('"' in key for key in node.path):
                raise self.error("dict keys containing '\"' are not supported", node.pos)
            path = "$" + "".join(f'."{key}"' for key in node.path)
            args = f"{info.ident}, {self.bind(path)}"
            return _E(f"json_extract_string({args})", "json", json_args=args)
        if isinstance(node, Unary):
            e = self.expr(node.operand)
            if node.op == "not":
                self.need(node.operand, e.cls, "bool", "'not' needs a condition")
                return _E(f"(NOT {e.sql})", "bool")
            e = self.as_num(node.operand, e, "'-' needs a number")
            return _E(f"(- {e.sql})", "num", e.flt, e.nan)
        if isinstance(node, IsNull):
            e = self.guard(node.operand, self.expr(node.operand))
            sql = f"({e.sql} IS NULL)"
            if e.cls == "json":
                # A JSON number NaN (Python's json writes it) is missing too; the string
                # "NaN" is a string. The lookup is a leaf's (bounded) SQL, so it may repeat.
                sql = (
                    f"({e.sql} IS NULL OR (json_type({e.json_args}) = 'DOUBLE' "
                    f"AND isnan(TRY_CAST({e.sql} AS DOUBLE))))"
                )
            return _E(f"(NOT {sql})" if node.negated else sql, "bool")
        if isinstance(node, InList):
            return self.in_list(node)
        assert isinstance(node, Binary)
        if node.op in ("and", "or"):
            return self.junction(node)
        if node.op in COMPARISONS:
            return self.comparison(node)
        if node.op in STRING_OPS:
            why = f"'{node.op}' needs strings"
            left = self.as_str(node.left, self.expr(node.left), why)
            right = self.as_str(node.right, self.expr(node.right), why)
            fn = {"contains": "contains", "startswith": "starts_with", "endswith": "ends_with"}
            return _E(f"{fn[node.op]}({left.sql}, {right.sql})", "bool")
        assert node.op in ARITHMETIC
        return self.arithmetic(node)

    def junction(self, node: Binary) -> _E:
        """A chain of ``and`` (or ``or``), however long, as one flat SQL conjunction: no
        recursion here, and no nesting in the SQL (DuckDB stops at 1,000 levels)."""
        operands: list[Node] = []
        stack: list[Node] = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, Binary) and n.op == node.op:
                stack.append(n.right)
                stack.append(n.left)
            else:
                operands.append(n)
        parts = []
        for operand in operands:
            e = self.expr(operand)
            self.need(operand, e.cls, "bool", f"'{node.op}' joins conditions")
            parts.append(e.sql)
        return _E("(" + f" {node.op.upper()} ".join(parts) + ")", "bool")

    def need(self, node: Node, cls: str, want: str, why: str) -> None:
        if cls == "opaque":
            self.opaque(node)
        if cls != want and cls != "native":
            raise self.error(
                f"{why}; {self.describe(node)} is {_TYPE_WORDS.get(cls, cls)}", node.pos
            )

    def opaque(self, node: Node) -> None:
        name = node.name if isinstance(node, Column) else "?"
        kind = self.columns[name].kind if name in self.columns else "opaque"
        why = _temporal.unreadable(self.columns[name].type) if name in self.columns else ""
        if why:
            raise self.error(
                f"column {name!r} {why}: it cannot be compared (only 'is null' works on it)",
                node.pos,
            )
        derived = sorted(c for c, i in self.columns.items() if i.kind == "derived")[:4]
        hint = (
            f"; filter on its derived columns instead, e.g. {', '.join(derived)}"
            if derived and kind == "image"
            else ""
        )
        raise self.error(
            f"column {name!r} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} column and "
            f"cannot be compared (only 'is null' works on it){hint}",
            node.pos,
        )

    @staticmethod
    def json_num(sql: str) -> _E:
        # Python's json writes NaN; read as a number it is missing like any NaN. ``sql`` is a
        # dict lookup (bounded size), so it may appear twice.
        num = f"TRY_CAST({sql} AS DOUBLE)"
        return _E(f"(CASE WHEN isnan({num}) THEN NULL ELSE {num} END)", "num", flt=True)

    def as_num(self, node: Node, e: _E, why: str) -> _E:
        if e.cls == "json":
            return self.json_num(e.sql)
        self.need(node, e.cls, "num", why)
        return e._replace(cls="num")

    def as_str(self, node: Node, e: _E, why: str) -> _E:
        if e.cls == "json":
            return e._replace(cls="str")
        self.need(node, e.cls, "str", why)
        return e._replace(cls="str")

    def coerce_json(self, e: _E, other: str) -> _E:
        if other == "num":
            return self.json_num(e.sql)
        if other == "bool":
            return _E(f"TRY_CAST({e.sql} AS BOOLEAN)", "bool")
        return _E(e.sql, "str")

    def comparison(self, node: Binary) -> _E:
        if any(self.temporal_column(side) for side in (node.left, node.right)):
            return self.temporal(node)
        pushed = self.float_column_vs_number(node)
        if pushed is not None:
            return pushed
        left = self.guard(node.left, self.expr(node.left))
        right = self.guard(node.right, self.expr(node.right))
        for side, e in ((node.left, left), (node.right, right)):
            if e.cls == "opaque":
                self.opaque(side)
            if e.cls == "null":
                raise self.error(
                    "comparing with null never matches; use 'is null' or 'is not null'", side.pos
                )
        if left.cls == "json":
            left = self.coerce_json(left, right.cls)
        if right.cls == "json":
            right = self.coerce_json(right, left.cls)
        if left.cls != right.cls and "native" not in (left.cls, right.cls):
            raise self.error(
                f"cannot compare {self.describe(node.left)} ({_TYPE_WORDS[left.cls]}) with "
                f"{self.describe(node.right)} ({_TYPE_WORDS[right.cls]})",
                node.pos,
            )
        return _E(f"({left.sql} {_SQL_OPS[node.op]} {right.sql})", "bool")

    def float_column_vs_number(self, node: Binary) -> _E | None:
        """``x > 3`` on a float column, where only whether it is true matters (not under
        ``not`` or in any other operand: :func:`_where_only`), written so that DuckDB
        pushes it into the Parquet scan (row groups whose statistics exclude it are
        skipped): the plain comparison ``AND NOT isnan(x)``. Through the NaN-as-null CASE
        the comparison was an expression DuckDB evaluates on every row of every row group.

        False for NaN, not unknown, is why it is kept to these places: ``not (0 > x)``
        would then match NaN. And the NaN test is a conjunct of its own, evaluated per row:
        NaN sorts above every number in DuckDB (``NaN > 3`` is true), and pyarrow writes
        statistics without NaN, so a row group DuckDB finds "all match" by its statistics
        may hold NaN rows the comparison alone would let through."""
        if id(node) not in self.where_only:
            return None
        sides = (node.left, node.right)
        cols = [s for s in sides if isinstance(s, Column) and self.columns[s.name].is_float]
        lits = [
            s
            for s in sides
            if isinstance(s, Literal)
            and isinstance(s.value, (int, float))
            and not isinstance(s.value, bool)
        ]
        if len(cols) != 1 or len(lits) != 1 or self.columns[cols[0].name].cls != "num":
            return None
        ident = self.columns[cols[0].name].ident
        left, right = (self.expr(s).sql if s is lits[0] else ident for s in sides)
        return _E(f"(({left} {_SQL_OPS[node.op]} {right}) AND NOT isnan({ident}))", "bool")

    def temporal_column(self, node: Node) -> SqlColumn | None:
        """The column ``node`` is if it holds dates/times/durations (only columns ever do:
        no operator makes such a value)."""
        if isinstance(node, Column) and self.columns[node.name].cls in TEMPORAL:
            return self.columns[node.name]
        return None

    def temporal(self, node: Binary) -> _E:
        """A comparison with a date/time, time of day or duration column on either side.

        Against a column of the same sort: plain SQL (durations scaled to nanoseconds, as
        HUGEINT, when their units differ). Against text: the text is parsed here as the
        column's type (see ``_temporal``), so a bad date is a positioned error at compile
        time. Anything else (a number, a bool, a string column) is refused."""
        if self.temporal_column(node.left) and self.temporal_column(node.right):
            return self.temporal_columns(node)
        on_left = self.temporal_column(node.left) is not None
        col_node, other = (node.left, node.right) if on_left else (node.right, node.left)
        col = self.expr(col_node)
        info = self.temporal_info(col_node)
        if not (isinstance(other, Literal) and isinstance(other.value, str)):
            o = self.expr(other)
            if o.cls == "null":
                raise self.error(
                    "comparing with null never matches; use 'is null' or 'is not null'",
                    other.pos,
                )
            if o.cls == "opaque":
                self.opaque(other)
            raise self.error(
                f"cannot compare {self.describe(col_node)} ({_TYPE_WORDS[col.cls]}) with "
                f"{self.describe(other)} ({_TYPE_WORDS.get(o.cls, o.cls)}); write the "
                f"{_TYPE_WORDS[col.cls][2:]} as text, e.g. {_EXAMPLES[col.cls]}",
                other.pos,
            )
        op = node.op if on_left else _FLIPPED[node.op]
        q, exact = self.temporal_literal(other, info)
        if exact or op not in ("==", "!="):
            text = _temporal.literal_sql_text(q, info.type)
            value = f"CAST({self.bind(text)} AS {_temporal.duck_type(info.type)})"
        if exact:
            return _E(f"({col.sql} {_SQL_OPS[op]} {value})", "bool")
        # The literal lies strictly between two of the column's steps q and q + 1.
        if op in ("==", "!="):
            fixed = "FALSE" if op == "==" else "TRUE"
            return _E(f"(CASE WHEN {col.sql} IS NULL THEN NULL ELSE {fixed} END)", "bool")
        sql_op = ">" if op in (">", ">=") else "<="
        return _E(f"({col.sql} {sql_op} {value})", "bool")

    def temporal_info(self, node: Node) -> SqlColumn:
        # Only a column is ever of a temporal class: no operator makes one.
        assert isinstance(node, Column)
        return self.columns[node.name]

    def temporal_literal(self, lit: Literal, info: SqlColumn) -> tuple[int, bool]:
        """``(q, exact)``: the literal is ``q`` steps of the column's unit, or lies between
        ``q`` and ``q + 1`` when not exact. Raises a positioned FilterError."""
        assert isinstance(lit.value, str)
        try:
            ns = _temporal.literal_value(lit.value, info.type)
            q, r = divmod(ns, _temporal.unit_ns(info.type))
            _temporal.literal_sql_text(q, info.type)  # in range
        except _temporal.Bad as exc:
            hint = f"; {exc.hint}" if exc.hint else ""
            raise self.error(
                f"{lit.value!r} {exc.reason} for column {info.name!r}{hint}", lit.pos
            ) from None
        if pa.types.is_duration(info.type) and not -(2**63) <= q < 2**63:
            raise self.error(f"{lit.value!r} is too long for column {info.name!r}", lit.pos)
        return q, r == 0

    def temporal_columns(self, node: Binary) -> _E:
        left, right = self.expr(node.left), self.expr(node.right)
        a, b = self.temporal_info(node.left), self.temporal_info(node.right)
        if left.cls != right.cls or _temporal.is_aware(a.type) != _temporal.is_aware(b.type):
            aware = {True: " with a time zone", False: ""}
            raise self.error(
                f"cannot compare column {a.name!r} ({_TYPE_WORDS[left.cls]}"
                f"{aware[_temporal.is_aware(a.type)]}) with column {b.name!r} "
                f"({_TYPE_WORDS[right.cls]}{aware[_temporal.is_aware(b.type)]})",
                node.pos,
            )
        lsql, rsql = left.sql, right.sql
        if left.cls == "duration" and a.type != b.type:
            lsql = f"({lsql}::HUGEINT * {_temporal.unit_ns(a.type)})"
            rsql = f"({rsql}::HUGEINT * {_temporal.unit_ns(b.type)})"
        return _E(f"({lsql} {_SQL_OPS[node.op]} {rsql})", "bool")

    def arithmetic(self, node: Binary) -> _E:
        left = self.expr(node.left)
        right = self.expr(node.right)
        if node.op == "+" and left.cls == "str" and right.cls == "str":
            return _E(f"({left.sql} || {right.sql})", "str")
        why = f"'{node.op}' needs numbers"
        left = self.as_num(node.left, left, why)
        right = self.as_num(node.right, right, why)
        flt = left.flt or right.flt or node.op == "/"
        # NaN (inf - inf, 0/0) stays in the value and is turned into NULL where the value is
        # used (guard), once, instead of at every operator.
        if node.op == "/":
            # Python's true division (x/0 is ±inf as in pandas; 0/0 is NaN, i.e. missing).
            return _E(f"(({left.sql})::DOUBLE / ({right.sql}))", "num", True, True)
        # TRY: an integer overflow or a modulo by zero gives a missing value (the row does not
        # match), as NaN does, instead of failing the whole query with DuckDB's wording and
        # no position.
        if node.op == "%":
            # Python's modulo takes the divisor's sign; SQL's takes the dividend's. The
            # divisor is needed three times: a non-leaf one is named once (let), not pasted.
            return _E(self.modulo(node, left.sql, right.sql), "num", flt, flt)
        return _E(
            f"TRY({left.sql} {node.op} {right.sql})", "num", flt, flt or left.nan or right.nan
        )

    def in_list(self, node: InList) -> _E:
        e = self.guard(node.operand, self.expr(node.operand))
        if e.cls == "opaque":
            self.opaque(node.operand)
        if e.cls in TEMPORAL:
            return self.temporal_in_list(node, e)
        kinds = set()
        items: list[str] = []
        for lit in node.values:
            item = self.expr(lit)
            kinds.add(item.cls)
            items.append(item.sql)
        if e.cls == "json" and kinds:
            e = self.coerce_json(e, next(iter(kinds)))
        for lit in node.values:
            lcls = self.expr_type_of_literal(lit)
            if lcls != e.cls and e.cls != "native":
                raise self.error(
                    f"cannot compare {self.describe(node.operand)} ({_TYPE_WORDS[e.cls]}) with "
                    f"{lit.value!r} ({_TYPE_WORDS[lcls]})",
                    lit.pos,
                )
        neg = "NOT " if node.negated else ""
        if not items:
            # Unknown (not false) for a missing value, so 'not (x in [])' skips it too.
            value = "TRUE" if node.negated else "FALSE"
            return _E(f"(CASE WHEN {e.sql} IS NULL THEN NULL ELSE {value} END)", "bool")
        return _E(f"({e.sql} {neg}IN ({', '.join(items)}))", "bool")

    def temporal_in_list(self, node: InList, e: _E) -> _E:
        info = self.temporal_info(node.operand)
        items = []
        for lit in node.values:
            if not isinstance(lit.value, str):
                lcls = self.expr_type_of_literal(lit) if lit.value is not None else "null"
                raise self.error(
                    f"cannot compare {self.describe(node.operand)} ({_TYPE_WORDS[e.cls]}) with "
                    f"{lit.value!r} ({_TYPE_WORDS[lcls]}); write the {_TYPE_WORDS[e.cls][2:]} "
                    f"as text, e.g. {_EXAMPLES[e.cls]}",
                    lit.pos,
                )
            q, exact = self.temporal_literal(lit, info)
            if exact:  # a value between two of the column's steps equals no row
                text = _temporal.literal_sql_text(q, info.type)
                items.append(f"CAST({self.bind(text)} AS {_temporal.duck_type(info.type)})")
        neg = "NOT " if node.negated else ""
        if not items:
            value = "TRUE" if node.negated else "FALSE"
            return _E(f"(CASE WHEN {e.sql} IS NULL THEN NULL ELSE {value} END)", "bool")
        return _E(f"({e.sql} {neg}IN ({', '.join(items)}))", "bool")

    @staticmethod
    def expr_type_of_literal(lit: Literal) -> str:
        v = lit.value
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "num"
        return "str"


def _where_only(tree: Node) -> frozenset[int]:
    """Ids of the nodes whose value matters only as true or not true: the filter itself and
    the operands of its top ``and``/``or`` chains (false and unknown both drop a row there;
    under ``not``, in ``is null`` or compared with another condition they differ)."""
    found: set[int] = set()
    stack = [tree]
    while stack:  # no recursion: a chain of thousands of 'and' is a deep tree
        node = stack.pop()
        found.add(id(node))
        if isinstance(node, Binary) and node.op in ("and", "or"):
            stack += [node.left, node.right]
    return frozenset(found)


def compile_filter(
    tree: Node, text: str, columns: dict[str, SqlColumn], params: list[object] | None = None
) -> Compiled:
    """Compile a parsed filter into a SQL boolean expression with ``$n`` parameters.

    ``params`` may already hold parameters of the surrounding statement; new ones are
    appended and numbered after them. The SQL's length is at most a fixed multiple of the
    filter's (see the module docstring).
    """
    bound: list[object] = params if params is not None else []
    compiler = _Compiler(text, columns, bound, _where_only(tree))
    e = compiler.expr(tree)
    if e.cls not in ("bool", "native"):
        raise FilterError(
            f"the filter must be a condition such as 'x > 0', but {compiler.describe(tree)} "
            f"is {_TYPE_WORDS.get(e.cls, e.cls)}",
            tree.pos,
            text,
        )
    return Compiled(e.sql, bound)
