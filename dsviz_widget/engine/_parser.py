"""Precedence-climbing parser of the filter language into the tree of :mod:`._tree`.

Grammar, loosest binding first::

    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | predicate
    predicate := sum ( (cmp sum)+            -- chained: 0 < x < 1 means 0 < x and x < 1
                     | ["not"] "in" list | "is" ["not"] "null"
                     | ("contains" | "startswith" | "endswith") sum )?
    sum       := product (("+" | "-") product)*
    product   := unary (("*" | "/" | "%") unary)*
    unary     := "-" unary | "+" unary | primary
    primary   := number | string | true | false | null | column ("[" string "]")*
               | row "[" string "]" | "(" or_expr ")"

Limits, each reported as a :class:`FilterError` at the offending character: at most
``MAX_LENGTH`` (10,000) characters; parentheses, ``not`` and unary ``-`` nest at most
``MAX_DEPTH`` (50) levels; operators nest at most ``MAX_OPERATOR_DEPTH`` (100) levels in
the compiled SQL, where a chain ``a + b + c`` nests one level per operator but a chain of
``and`` / ``or`` (any length) counts as one. Chains are parsed by loops, not recursion, so
no input reaches Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Iterable

from dsviz_widget.engine._errors import FilterError
from dsviz_widget.engine._tokens import Token, tokenize, unknown_column_message
from dsviz_widget.engine._tree import (
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
    depth_of,
)

MAX_DEPTH = 50
# DuckDB refuses SQL nested deeper than 1,000 levels, and our SQL spends up to ~8 levels per
# operator (TRY, casts, the NaN guard); 100 keeps every accepted filter well inside that.
MAX_OPERATOR_DEPTH = 100


def parse_filter(text: str, columns: Iterable[str], dict_columns: Iterable[str] = ()) -> Node:
    """Parse filter ``text`` into a tree, resolving names against ``columns``.

    Parameters
    ----------
    text:
        The expression, e.g. ``"score > 0.5 and label == 'cat'"``.
    columns:
        The table's column names; every name in ``text`` must resolve to one of them.
    dict_columns:
        Columns holding dicts (JSON text), whose keys ``meta.camera`` may reach into.

    Raises
    ------
    FilterError
        With ``.position`` (0-based) and ``.caret`` pointing at the problem.

    Notes
    -----
    NaN is a missing value everywhere: in float and derived columns, in dict values (JSON
    ``NaN``) and in results of arithmetic (``inf - inf``), it never satisfies a comparison,
    negated or not, and ``x is null`` finds it; sorts put it last with the nulls, group-by
    puts it in the null group, summaries count it with the nulls. Lists and dicts are JSON
    text to string operators (``tags contains 'NaN'`` matches the text). Division by zero
    gives ±inf (as in pandas), ``0/0`` NaN; an integer overflow or a modulo by zero gives a
    missing value. Limits are in the module docstring: 10,000 characters, 50 nested
    parentheses/``not``/``-``, operators nested 100 deep (chains of ``and``/``or`` of any
    length count once).

    Dates, times and durations are compared with text, parsed as the column's type when
    the filter is compiled (a text that is not one is a :class:`FilterError` at the text):

    - timestamp and date columns: ISO 8601, ``when > '2020-06-01'``,
      ``when <= '2020-06-01 12:30:00.5'``, ``when == '2020-06-01T10:00:00+02:00'``. A text
      with no zone on a tz-aware column is read in the column's zone (as pandas does; an
      ambiguous wall time is the earlier); a zone on a naive column is refused.
    - time-of-day columns: ``at >= '12:30'``, ``at < '12:30:00.25'``.
    - duration columns: text with a unit, as pandas reads it: ``took > '1 hour'``,
      ``'1 day 02:00:00'``, ``'90s'``, ``'P1DT2H'``. A bare number (``took > 5``, or
      ``'5'``) is refused: which unit would it be? Months and years are refused too.

    Comparisons are exact at the column's unit (``'2020-06-01 12:00'`` on a date column
    is after June 1st, before June 2nd). ``in [...]`` takes such texts too. A number, a
    bool, or a column of another sort (a naive with a tz-aware timestamp, a date with a
    duration) compared with one is a :class:`FilterError`, as is arithmetic on them.
    Decimals of more than 38 digits and month-day-nano intervals are shown but only
    ``is null`` works on them in filters (DuckDB cannot hold their values exactly).

    Examples
    --------
    >>> parse_filter("%_vegetation > 0.5", ["%_vegetation"])
    Binary(op='>', left=Column(name='%_vegetation', pos=0), right=Literal(value=0.5, pos=15), pos=13)
    >>> parse_filter("score >", ["score"])
    Traceback (most recent call last):
    ...
    dsviz_widget.engine._errors.FilterError: expected a value after '>' (at character 7)
    score >
           ^
    """
    if not isinstance(text, str):
        raise FilterError(f"filter must be a string, got {type(text).__name__}", 0, "")
    cols = list(columns)
    if not text.strip():
        raise FilterError("the filter is empty", 0, text)
    parser = _Parser(text, tokenize(text, cols, dict_columns), cols)
    tree = parser.or_expr()
    tok = parser.peek()
    if tok.kind != "end":
        if tok.kind == "op" and tok.value == ")":
            raise parser.error("unmatched ')'", tok.pos)
        raise parser.error(f"unexpected {_describe(tok)}; expected 'and', 'or' or the end", tok.pos)
    return tree


def _describe(tok: Token) -> str:
    if tok.kind == "end":
        return "end of the filter"
    if tok.kind == "str":
        return f"string {tok.value!r}"
    if tok.kind == "col":
        return f"column {tok.value!r}"
    return repr(tok.value)


class _Parser:
    def __init__(self, text: str, tokens: list[Token], columns: list[str]) -> None:
        self.text = text
        self.tokens = tokens
        self.columns = columns
        self.i = 0
        self.depth = 0

    def error(self, message: str, pos: int) -> FilterError:
        return FilterError(message, pos, self.text)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, *values: object) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == kind and (not values or tok.value in values)

    def expect_value(self, after: Token) -> None:
        tok = self.peek()
        if tok.kind == "end":
            raise self.error(f"expected a value after {after.value!r}", tok.pos)

    def nested(self, depth: int, pos: int) -> int:
        if depth > MAX_OPERATOR_DEPTH:
            raise self.error(
                f"expression is too deep: operators may nest at most {MAX_OPERATOR_DEPTH} "
                "levels (a chain like 'a + b + c' nests one level per operator; chains of "
                "'and' / 'or' count once)",
                pos,
            )
        return depth

    def binary(self, op: str, left: Node, right: Node, pos: int) -> Binary:
        if op in ("and", "or") and isinstance(left, Binary) and left.op == op:
            depth = max(left.depth, 1 + depth_of(right))  # compiled flat: (a AND b AND c)
        else:
            depth = 1 + max(depth_of(left), depth_of(right))
        return Binary(op, left, right, pos, self.nested(depth, pos))

    def _enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expression is nested too deeply (at most {MAX_DEPTH} levels)", pos)

    def or_expr(self) -> Node:
        self._enter(self.tokens[self.i - 1].pos if self.i else 0)
        left = self.and_expr()
        while self.at("kw", "or"):
            op = self.take()
            self.expect_value(op)
            left = self.binary("or", left, self.and_expr(), op.pos)
        self.depth -= 1
        return left

    def and_expr(self) -> Node:
        left = self.not_expr()
        while self.at("kw", "and"):
            op = self.take()
            self.expect_value(op)
            left = self.binary("and", left, self.not_expr(), op.pos)
        return left

    def not_expr(self) -> Node:
        if self.at("kw", "not"):
            op = self.take()
            self.expect_value(op)
            self._enter(op.pos)
            inner = self.not_expr()
            node = Unary("not", inner, op.pos, self.nested(1 + depth_of(inner), op.pos))
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        left = self.sum()
        tok = self.peek()
        if tok.kind == "op" and tok.value in COMPARISONS:
            pairs: list[Node] = []
            while self.at("op", *COMPARISONS):
                op = self.take()
                self.expect_value(op)
                right = self.sum()
                pairs.append(self.binary(str(op.value), left, right, op.pos))
                left = right
            node = pairs[0]
            for more in pairs[1:]:
                node = self.binary("and", node, more, more.pos)
            return node
        if (
            tok.kind == "kw"
            and tok.value in ("in", "not")
            and (tok.value == "in" or self.tokens[self.i + 1].value == "in")
        ):
            negated = tok.value == "not"
            self.take()
            if negated:
                self.take()
            depth = self.nested(1 + depth_of(left), tok.pos)
            return InList(left, self.literal_list(), negated, tok.pos, depth)
        if tok.kind == "kw" and tok.value == "is":
            self.take()
            negated = False
            if self.at("kw", "not"):
                self.take()
                negated = True
            nxt = self.peek()
            if not (nxt.kind == "kw" and nxt.value in ("null", "none")):
                raise self.error("expected 'null' after 'is'", nxt.pos)
            self.take()
            return IsNull(left, negated, tok.pos, self.nested(1 + depth_of(left), tok.pos))
        if tok.kind == "kw" and tok.value in STRING_OPS:
            self.take()
            self.expect_value(tok)
            return self.binary(str(tok.value), left, self.sum(), tok.pos)
        return left

    def literal_list(self) -> tuple[Literal, ...]:
        tok = self.peek()
        if not (tok.kind == "op" and tok.value in ("[", "(")):
            raise self.error("expected a list like [1, 2] after 'in'", tok.pos)
        close = "]" if tok.value == "[" else ")"
        self.take()
        values: list[Literal] = []
        while not self.at("op", close):
            item = self.peek()
            neg = False
            if item.kind == "op" and item.value == "-":
                self.take()
                neg = True
                item = self.peek()
            if item.kind in ("num", "str") or (
                item.kind == "kw" and item.value in ("true", "false")
            ):
                if neg and item.kind != "num":
                    raise self.error("'-' can only precede a number", item.pos)
                self.take()
                value = self._literal_value(item)
                if neg:
                    assert isinstance(value, (int, float))
                    value = -value
                values.append(Literal(value, item.pos))
            elif item.kind == "kw" and item.value in ("null", "none"):
                raise self.error("null cannot be in a list; use 'is null'", item.pos)
            else:
                raise self.error(
                    f"expected a number, string, true or false in the list, got {_describe(item)}",
                    item.pos,
                )
            if self.at("op", ","):
                self.take()
            elif not self.at("op", close):
                nxt = self.peek()
                raise self.error(f"expected ',' or '{close}' in the list", nxt.pos)
        self.take()
        return tuple(values)

    @staticmethod
    def _literal_value(tok: Token) -> int | float | str | bool | None:
        if tok.kind == "kw":
            return {"true": True, "false": False}.get(str(tok.value))
        assert isinstance(tok.value, (int, float, str))
        return tok.value

    def sum(self) -> Node:
        left = self.product()
        while self.at("op", "+", "-"):
            op = self.take()
            self.expect_value(op)
            left = self.binary(str(op.value), left, self.product(), op.pos)
        return left

    def product(self) -> Node:
        left = self.unary()
        while self.at("op", "*", "/", "%"):
            op = self.take()
            self.expect_value(op)
            left = self.binary(str(op.value), left, self.unary(), op.pos)
        return left

    def unary(self) -> Node:
        if self.at("op", "-", "+"):
            op = self.take()
            self.expect_value(op)
            self._enter(op.pos)
            operand = self.unary()
            self.depth -= 1
            if op.value == "+":
                return operand
            if (
                isinstance(operand, Literal)
                and isinstance(operand.value, (int, float))
                and not (isinstance(operand.value, bool))
            ):
                return Literal(-operand.value, op.pos)
            return Unary("-", operand, op.pos, self.nested(1 + depth_of(operand), op.pos))
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num" or tok.kind == "str":
            return Literal(self._literal_value(tok), tok.pos)
        if tok.kind == "kw" and tok.value in ("true", "false", "null", "none"):
            return Literal(self._literal_value(tok), tok.pos)
        if tok.kind == "col":
            col = Column(str(tok.value), tok.pos)
            return self.subscripts(col, tok.path, tok.pos)
        if tok.kind == "row":
            self.take()  # "["
            name_tok = self.take()
            if name_tok.kind != "str":
                raise self.error('expected a quoted column name: row["my col"]', name_tok.pos)
            close = self.take()
            if not (close.kind == "op" and close.value == "]"):
                raise self.error("expected ']'", close.pos)
            name = str(name_tok.value)
            if name not in self.columns:
                raise self.error(unknown_column_message(name, self.columns), name_tok.pos)
            return self.subscripts(Column(name, tok.pos), (), tok.pos)
        if tok.kind == "op" and tok.value == "(":
            if self.at("op", ")"):
                raise self.error("empty parentheses", self.peek().pos)
            inner = self.or_expr()  # counts the nesting level
            close = self.peek()
            if not (close.kind == "op" and close.value == ")"):
                raise self.error(
                    f"expected ')' to close the '(' at character {tok.pos}, got {_describe(close)}",
                    close.pos,
                )
            self.take()
            return inner
        if tok.kind == "end":
            raise self.error("expected a value, got the end of the filter", tok.pos)
        raise self.error(f"expected a value, got {_describe(tok)}", tok.pos)

    def subscripts(self, col: Column, path: tuple[str, ...], pos: int) -> Node:
        keys = list(path)
        while self.at("op", "["):
            self.take()
            key = self.take()
            if key.kind != "str":
                raise self.error('expected a quoted key: meta["camera"]', key.pos)
            close = self.take()
            if not (close.kind == "op" and close.value == "]"):
                raise self.error("expected ']'", close.pos)
            keys.append(str(key.value))
        return Field(col, tuple(keys), pos) if keys else col
