"""Tokenizer of the filter language.

Column names need context: ``%`` starts a name where a value is expected
(``%_vegetation > 0.5``, as the seed writes it) but is the modulo operator after a value
(``id % 2 == 0``), and a dotted run such as ``n_boxes.car`` is one column when the table
has it, otherwise ``meta.camera`` is a key inside the dict column ``meta``. So the
tokenizer knows the table's column names and resolves every bare name against them,
longest real name first.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from dsviz_widget.engine._errors import FilterError

MAX_LENGTH = 10_000
KEYWORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "in",
        "is",
        "null",
        "none",
        "true",
        "false",
        "contains",
        "startswith",
        "endswith",
    }
)
# ASCII digits only: str.isdigit() and \d also accept "²" and "٣", which int() would misread.
_NUMBER = re.compile(r"(?:[0-9]+(?:_[0-9]+)*(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ASCII_DIGITS = frozenset("0123456789")
_NAME_CHAR = re.compile(r"[\w%.@]")
_BRACKET_AHEAD = re.compile(r"\s*\[")
_LONGEST_KEYWORD = max(len(k) for k in KEYWORDS)
_OPERATORS = (
    "==",
    "!=",
    "<>",
    "<=",
    ">=",
    "&&",
    "||",
    "=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    "(",
    ")",
    "[",
    "]",
    ",",
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


@dataclass(frozen=True)
class Token:
    """``kind`` is ``num``, ``str``, ``col``, ``kw``, ``op``, ``row`` or ``end``."""

    kind: str
    value: object
    pos: int
    end: int
    path: tuple[str, ...] = field(default=())


def suggest(name: str, columns: Iterable[str], n: int = 3) -> list[str]:
    """Closest real column names to ``name`` (case-insensitive), best first."""
    cols = list(columns)
    lowered = {c.lower(): c for c in cols}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    prefixed = [c for c in cols if c.lower().startswith(name.lower()) and name]
    out: list[str] = []
    for c in [lowered[f] for f in found] + prefixed:
        if c not in out:
            out.append(c)
    return out[:n]


def unknown_column_message(name: str, columns: Iterable[str]) -> str:
    close = suggest(name, columns)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown column {name!r}{hint}"


class Tokenizer:
    def __init__(self, text: str, columns: Iterable[str], dict_columns: Iterable[str] = ()):
        self.text = text
        self.columns = set(columns)
        self.dict_columns = set(dict_columns)
        self.i = 0
        self.tokens: list[Token] = []
        # Distinct name lengths, longest first: the only prefixes worth looking up.
        self._lengths = sorted({len(c) for c in self.columns}, reverse=True)
        self._run = (0, 0)

    def error(self, message: str, pos: int) -> FilterError:
        return FilterError(message, pos, self.text)

    def _expects_value(self) -> bool:
        if not self.tokens:
            return True
        last = self.tokens[-1]
        if last.kind in ("num", "str", "col"):
            return False
        if last.kind == "kw":
            return last.value not in ("null", "none", "true", "false")
        return last.value not in (")", "]")

    def run(self) -> list[Token]:
        text = self.text
        if len(text) > MAX_LENGTH:
            raise self.error(
                f"filter is too long ({len(text)} characters, at most {MAX_LENGTH})", MAX_LENGTH
            )
        n = len(text)
        while True:
            while self.i < n and text[self.i].isspace():
                self.i += 1
            if self.i >= n:
                self.tokens.append(Token("end", None, n, n))
                return self.tokens
            ch = text[self.i]
            start = self.i
            if ch in "'\"":
                self._string(ch)
            elif ch == "`":
                self._backtick()
            elif ch in _ASCII_DIGITS or (
                ch == "." and text[start + 1 : start + 2] in _ASCII_DIGITS
            ):
                self._number()
            elif ch.isalpha() or ch == "_" or (ch == "%" and self._expects_value()):
                self._name()
            else:
                for op in _OPERATORS:
                    if text.startswith(op, start):
                        self.i += len(op)
                        canon = {"=": "==", "<>": "!=", "&&": "and", "||": "or", "!": "not"}
                        value = canon.get(op, op)
                        kind = "kw" if value in ("and", "or", "not") else "op"
                        self.tokens.append(Token(kind, value, start, self.i))
                        break
                else:
                    raise self.error(f"unexpected character {ch!r}", start)

    def _string(self, quote: str) -> None:
        text, start = self.text, self.i
        i = start + 1
        out: list[str] = []
        while i < len(text):
            ch = text[i]
            if ch == quote:
                self.i = i + 1
                self.tokens.append(Token("str", "".join(out), start, self.i))
                return
            if ch == "\\" and i + 1 < len(text):
                nxt = text[i + 1]
                if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                    out.append(chr(int(text[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                i += 2
                continue
            out.append(ch)
            i += 1
        raise self.error(f"unterminated string: no closing {quote}", start)

    def _backtick(self) -> None:
        text, start = self.text, self.i
        i = start + 1
        out: list[str] = []
        while i < len(text):
            if text[i] == "`":
                if text[i + 1 : i + 2] == "`":  # a doubled backtick is a literal one
                    out.append("`")
                    i += 2
                    continue
                break
            out.append(text[i])
            i += 1
        else:
            raise self.error("unterminated column name: no closing `", start)
        name = "".join(out)
        self.i = i + 1
        if name not in self.columns:
            raise self.error(unknown_column_message(name, self.columns), start)
        path = self._dotted_path()
        self.tokens.append(Token("col", name, start, self.i, path))

    def _dotted_path(self) -> tuple[str, ...]:
        """``.key.key`` right after a backtick name."""
        text = self.text
        parts: list[str] = []
        while text[self.i : self.i + 1] == ".":
            j = self.i + 1
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            if j == self.i + 1:
                raise self.error("expected a key name after '.'", self.i + 1)
            parts.append(text[self.i + 1 : j])
            self.i = j
        return tuple(parts)

    def _number(self) -> None:
        text, start = self.text, self.i
        m = _NUMBER.match(text, start)
        assert m is not None
        raw = m.group().replace("_", "")
        end = m.end()
        if end < len(text) and (text[end].isalpha() or text[end] == "_"):
            raise self.error(f"unexpected {text[end]!r} after the number", end)
        self.i = end
        value: int | float
        if any(c in raw for c in ".eE"):
            value = float(raw)
        else:
            # Length first: int() of thousands of digits is slow, and refused past 4,300.
            if len(raw.lstrip("0")) > 19 or int(raw) >= 2**63:
                raise self.error("integer is too large (at most 2**63 - 1)", start)
            value = int(raw)
        self.tokens.append(Token("num", value, start, end))

    def _run_end(self, start: int) -> int:
        """End of the run of name characters containing ``start``, each character scanned
        once per filter: the run of ``a%a%a...`` is shared by every name inside it, and
        rescanning it per name made tokenizing quadratic."""
        if self._run[0] <= start < self._run[1]:
            return self._run[1]
        text = self.text
        j = start
        while j < len(text) and _NAME_CHAR.match(text[j]):
            j += 1
        self._run = (start, j)
        return j

    def _name(self) -> None:
        text, start = self.text, self.i
        end = self._run_end(start)
        if end - start <= _LONGEST_KEYWORD:
            low = text[start:end].lower()
            if low in KEYWORDS:
                self.i = end
                self.tokens.append(Token("kw", low, start, end))
                return
            if (
                text[start:end] == "row"
                and _BRACKET_AHEAD.match(text, end)
                and "row" not in self.columns
            ):
                self.i = end
                self.tokens.append(Token("row", "row", start, end))
                return
        # Longest real column that is the whole run or is followed by "." (a dict key
        # path) or "%" (the modulo operator, written without spaces). Only the lengths of
        # real names are tried, so the cost per name does not grow with the filter.
        best: str | None = None
        for k in self._lengths:
            stop = start + k
            if stop > end or (stop < end and text[stop] not in ".%"):
                continue
            if text[start:stop] in self.columns:
                best = text[start:stop]
                break
        if best is None:
            shown = text[start:end].rstrip(".")
            raise self.error(unknown_column_message(_clip(shown), self.columns), start)
        after = start + len(best)
        if after == end or text[after] == "%":
            self.i = after
            self.tokens.append(Token("col", best, start, after))
            return
        # A dict key path: keys run up to the next "%" or the end of the run.
        j = after + 1
        while j < end and text[j] != "%":
            j += 1
        keys = text[after + 1 : j]
        if best not in self.dict_columns:
            raise self.error(
                unknown_column_message(_clip(text[start:j]), self.columns)
                + f" ({best!r} is a column but has no keys: only dict columns do)",
                start,
            )
        parts = keys.split(".")
        if any(not p for p in parts):
            raise self.error("empty key in a dotted name", after)
        self.i = j
        self.tokens.append(Token("col", best, start, j, tuple(parts)))


def _clip(name: str, limit: int = 80) -> str:
    """A name as shown in a message: a 10,000-character run is cut, not echoed whole."""
    return name if len(name) <= limit else name[:limit] + "..."


def tokenize(text: str, columns: Iterable[str], dict_columns: Iterable[str] = ()) -> list[Token]:
    """Split ``text`` into tokens, resolving bare names against ``columns``."""
    return Tokenizer(text, columns, dict_columns).run()
