r"""Validation of names that become paths inside the store.

Artifact names, entry names inside an artifact and paths recorded in stored data are
checked here, as strings, *before* any filesystem call: a name is accepted only if it is
plain, relative and canonical. The rules are deliberately stricter than any filesystem
needs (no ``%``, no backslash, no non-NFKC text) so that no decoding step later in the
chain (URL, Unicode normalisation, Windows paths) can turn an accepted name into ``..``.

Every pattern here is applied with ``fullmatch`` and spells its characters out in ASCII:
``re.match`` with ``$`` accepts a trailing newline (``"digits\n"`` would be a second artifact
that prints like ``digits``), and ``\d`` / ``str.isdigit`` accept Unicode digits (``"v٠"``)
that ``int`` then reads as numbers.
"""

from __future__ import annotations

import re
import unicodedata

from dsviz_widget._errors import NotFoundError, UnsafePathError, ValidationError

_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: What an artifact name matched before names were checked with ``fullmatch``: the same name
#: with one trailing newline. Only stored data (a borrowed entry's ``ref``) may use it, so a
#: store that recorded such a name still opens; new names never can.
_LEGACY_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}\n?")
_ALIAS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_VERSION_TAG = re.compile(r"v([0-9]+)")
#: Version numbers are SQLite INTEGERs (signed 64-bit).
MAX_VERSION = 2**63 - 1
_SEGMENT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\%:*?\"<>|]")
#: Characters that change how a name *looks* without being visible: C1 controls, bidi
#: embeddings / overrides / isolates / marks (``"\u202e..txt"`` shows reversed), line and
#: paragraph separators, and lone surrogates (not encodable as UTF-8).
_INVISIBLE_FORBIDDEN = re.compile(
    "[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
MAX_ENTRY_LENGTH = 512


def check_artifact_name(name: object, *, stored: bool = False) -> str:
    """Return ``name`` if it is a valid artifact name, else raise :class:`UnsafePathError`.

    ASCII letters, digits, ``.``, ``_`` and ``-``; starting with a letter or digit; at most
    128 characters; never ``..`` anywhere. ``stored=True`` is for names read back from a
    store, which may also be a name accepted by older versions (see ``_LEGACY_ARTIFACT_NAME``).
    """
    if not isinstance(name, str):
        raise UnsafePathError(f"artifact name must be a string, got {type(name).__name__}")
    pattern = _LEGACY_ARTIFACT_NAME if stored else _ARTIFACT_NAME
    if not pattern.fullmatch(name) or ".." in name:
        raise UnsafePathError(
            f"invalid artifact name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..'"
        )
    return name


def check_spec(spec: str) -> str:
    """Return ``spec`` (``"name"`` or ``"name:<version or alias>"``) if its name is valid and
    a tag follows any ``:``; which version it names is the catalog's to resolve.

    >>> check_spec("data:v1")
    'data:v1'
    """
    name, sep, tag = spec.partition(":")
    check_artifact_name(name)
    if sep and not tag:
        raise NotFoundError(f"{spec!r}: give a version after ':' (v3, latest or an alias)")
    return spec


def check_alias(alias: object) -> str:
    """Return ``alias`` if it is a valid alias, else raise :class:`ValidationError`.

    ASCII letters, digits, ``.``, ``_`` and ``-``, at most 64; ``latest`` and ``v<N>`` are
    reserved (every version has them already).
    """
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise ValidationError(
            f"invalid alias {alias!r}: use 1-64 ASCII letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if alias == "latest" or _VERSION_TAG.fullmatch(alias):
        raise ValidationError(
            f"alias {alias!r} is reserved (latest and v<N> are given automatically)"
        )
    return alias


def parse_version_tag(tag: str) -> int | None:
    """The number of a version tag ``v<N>`` (ASCII digits), or None if ``tag`` is not one.

    Raises :class:`ValidationError` naming the tag when the number is larger than a version
    number can be.
    """
    match = _VERSION_TAG.fullmatch(tag)
    if match is None:
        return None
    digits = match.group(1).lstrip("0") or "0"
    # Compare lengths before int(): int() of thousands of digits is slow, then refused.
    if len(digits) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise ValidationError(
            f"version {tag!r} is out of range: version numbers go up to {MAX_VERSION}"
        )
    return int(digits)


def check_version(version: object, *, what: str = "version number") -> int:
    """Return ``version`` if it is an ``int`` (not a bool) in ``0..MAX_VERSION``."""
    if type(version) is not int:
        raise ValidationError(f"{what} must be an integer, got {version!r}")
    if not 0 <= version <= MAX_VERSION:
        raise ValidationError(f"{what} {version} is out of range (0..{MAX_VERSION})")
    return version


def check_entry_name(name: object, *, what: str = "entry name") -> str:
    """Return ``name`` if it is a safe relative path inside an artifact.

    Rejects absolute paths, drive letters, backslashes, NUL and control characters,
    ``%`` (URL-encoded tricks), ``.`` and ``..`` segments, empty segments, and text that
    Unicode NFKC normalisation would change (fullwidth dots and slashes).
    """
    if not isinstance(name, str):
        raise UnsafePathError(f"{what} must be a string, got {type(name).__name__}")
    problem = _entry_problem(name)
    if problem:
        raise UnsafePathError(f"Invalid artifact path {name!r} ({what}): {problem}")
    return name


def _entry_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_ENTRY_LENGTH:
        return f"longer than {MAX_ENTRY_LENGTH} characters"
    if unicodedata.normalize("NFKC", name) != name:
        return "it contains characters that change under Unicode normalisation"
    if name.startswith("/"):
        return "absolute paths are not allowed"
    if match := _SEGMENT_FORBIDDEN.search(name):
        return f"character {match.group()!r} is not allowed"
    if match := _INVISIBLE_FORBIDDEN.search(name):
        return f"invisible or direction-changing character {match.group()!r} is not allowed"
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            return f"path segment {segment!r} is not allowed"
        if segment != segment.strip():
            return "path segments may not start or end with spaces"
    return None
