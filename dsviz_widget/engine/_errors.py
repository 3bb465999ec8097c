"""Errors the engine raises for bad user input.

Both derive from :class:`dsviz_widget.ValidationError` (so ``except dv.DsvizError`` catches
them) and from :class:`ValueError`, so plain ``except ValueError`` handlers keep working.
A :class:`FilterError` points at a character of the filter text, so the widget can draw
the message under the filter bar with a caret.
"""

from __future__ import annotations

from dsviz_widget._errors import ValidationError  # a leaf module: no import cycle


class QueryError(ValidationError):
    """A query cannot run: unknown column, wrong sort key, bad aggregate, bad paging."""


class FilterError(QueryError):
    """A filter expression is malformed or ill-typed.

    Attributes
    ----------
    message:
        What is wrong, in words a user can act on (without the position).
    position:
        0-based character offset in ``text`` where the problem is.
    text:
        The filter text.
    caret:
        Two lines: the text, then a caret under ``position``.

    Examples
    --------
    >>> err = FilterError("expected a value", 8, "score > ")
    >>> print(err.caret)
    score >
            ^
    """

    def __init__(self, message: str, position: int, text: str) -> None:
        self.message = message
        self.position = max(0, min(position, len(text)))
        self.text = text
        super().__init__(f"{message} (at character {self.position})\n{self.caret}")

    @property
    def caret(self) -> str:
        # Tabs and newlines would misalign the caret, so the echoed line shows them as spaces.
        shown = "".join(" " if ch in "\t\r\n" else ch for ch in self.text)
        return f"{shown}\n{' ' * self.position}^"

    @property
    def caret_line(self) -> str:
        """Alias of :attr:`caret` (the name used in the API sketch)."""
        return self.caret
