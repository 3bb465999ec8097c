"""Text that ends up in storage must be UTF-8: checked where the user gives it."""

from __future__ import annotations

from dsviz_widget._errors import ValidationError


def utf8_text(value: str, where: str) -> str:
    """``value`` if it encodes as UTF-8 (no lone surrogates), else a :class:`ValidationError`.

    Checked at construction so the error comes at ``Image(...)`` / ``add_data``, not as a
    ``UnicodeEncodeError`` when the table is logged or queried.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{where} {value[:40]!r} cannot be stored as UTF-8 ({exc.reason} at position "
            f"{exc.start})"
        ) from None
    return value
