"""Error types raised by dsviz_widget.

Every error a user can cause derives from :class:`DsvizError`, so ``except dv.DsvizError``
catches all of them; each subclass also derives from the builtin a caller would expect
(``ValueError``, ``KeyError``, ...), so existing handlers keep working.
"""

from __future__ import annotations


class DsvizError(Exception):
    """Base class of every error dsviz_widget raises on purpose (W&B's ``wandb.Error``)."""

    @property
    def message(self) -> str:
        """The error's text, as W&B's ``Error.message`` (a subclass may set a shorter one)."""
        own = self.__dict__.get("_message")
        if own is not None:
            return str(own)
        return str(self.args[0]) if self.args else ""

    @message.setter
    def message(self, value: str) -> None:
        self._message = value


# W&B's error classes (``wandb.errors``), so code that catches them keeps working: our errors
# derive from the W&B class of the same meaning. A missing artifact or a failing store is what
# W&B reports as a ``CommError`` (it asked its server); a wrong value or call is a ``UsageError``.
class CommError(DsvizError):
    """The store could not give what was asked: a missing artifact, version or alias, or a
    failed read or write (W&B: an error talking to its server). ``exc`` is the cause, if any."""

    def __init__(self, msg: str = "", exc: BaseException | None = None) -> None:
        super().__init__(msg)
        self.exc = exc


class AuthenticationError(CommError):
    """W&B's login failure. Never raised here (nothing needs a login); catching it is harmless."""


class UsageError(DsvizError):
    """A call or a value the API does not accept."""


class ValidationError(UsageError, ValueError):
    """A value given by the user does not fit (image shape, box, mask, table cell, name)."""


class UnsupportedError(ValidationError):
    """A W&B feature this library does not have (forking a run's history, incremental
    artifacts, s3:// references). W&B's ``UnsupportedError`` is a ``UsageError``; ours is also
    a ``ValueError``, as it was before it had its own class."""


class OverlayTypeError(ValidationError, TypeError):
    """A box, mask or class label has the wrong type, shape or values.

    Also a ``TypeError``: W&B raises ``TypeError`` for these, and code written for W&B catches it.
    """


class CellTypeError(ValidationError, TypeError):
    """A table cell's type does not fit its column (an int column given a str, a column
    declared ``dtype=str`` given a number, a None where ``optional=False``).

    Also a ``TypeError``: W&B's ``Table`` raises ``TypeError`` for these, and code written for
    W&B catches it.
    """


class TableArgumentError(ValidationError, AssertionError):
    """A ``Table`` argument is malformed: column names that are not names (rows passed as
    ``columns``), a ``dataframe`` that is not a DataFrame, an unknown ``log_mode``, a column
    of the wrong length, a second primary key.

    Also an ``AssertionError``: W&B's ``Table`` asserts these, and code written for W&B
    (its tests included) expects one.
    """


class UnsafePathError(ValidationError):
    """A name or path would escape its directory (``..``, absolute, NUL, backslash, ...)."""


class NotFoundError(CommError, KeyError):
    """An artifact, version, alias, entry or run does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class IntegrityError(DsvizError):
    """A stored file's bytes no longer match the digest recorded for them."""


class MissingObjectError(IntegrityError):
    """A stored object that a manifest names is not in the store at all (not damaged)."""


class ImmutableError(DsvizError):
    """An attempt to change an artifact version that has been logged."""


class StoreError(CommError, OSError):
    """The store could not be read or written (disk full, permissions, I/O error)."""


#: SQLite's primary result codes for a full disk, an I/O error and a refused write, as errnos.
_SQLITE_ERRNO = {13: 28, 10: 5, 8: 13, 3: 13, 14: 13}  # FULL, IOERR, READONLY, PERM, CANTOPEN


def store_error(what: str, exc: BaseException) -> StoreError:
    """A :class:`StoreError` saying ``what`` failed because of ``exc``.

    It keeps the ``errno`` of an ``OSError`` (or the errno matching an SQLite disk error), so
    ``except OSError as e: e.errno == errno.ENOSPC`` keeps working.
    """
    err = StoreError(f"{what}: {exc}")
    code = getattr(exc, "errno", None)
    if code is None:
        code = _SQLITE_ERRNO.get((getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF)
    if code is not None:
        err.errno = code
    return err
