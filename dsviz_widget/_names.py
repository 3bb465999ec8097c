"""Validation of names that become paths inside the store.

Artifact names, entry names inside an artifact and paths recorded in stored data are
checked here, as strings, *before* any filesystem call: a name is accepted only if it is
plain, relative and canonical. The rules are deliberately stricter than any filesystem
needs (no ``%``, no backslash, no non-NFKC text) so that no decoding step later in the
chain (URL, Unicode normalisation, Windows paths) can turn an accepted name into ``..``.
"""

from __future__ import annotations

import re
import unicodedata

from dsviz_widget._errors import UnsafePathError

_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SEGMENT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\%:*?\"<>|]")
#: Characters that change how a name *looks* without being visible: C1 controls, bidi
#: embeddings / overrides / isolates / marks (``"\u202e..txt"`` shows reversed), line and
#: paragraph separators, and lone surrogates (not encodable as UTF-8).
_INVISIBLE_FORBIDDEN = re.compile(
    "[\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
MAX_ENTRY_LENGTH = 512


def check_artifact_name(name: object) -> str:
    """Return ``name`` if it is a valid artifact name, else raise :class:`UnsafePathError`.

    Letters, digits, ``.``, ``_`` and ``-``; starting with a letter or digit; at most 128
    characters; never ``..`` anywhere.
    """
    if not isinstance(name, str):
        raise UnsafePathError(f"artifact name must be a string, got {type(name).__name__}")
    if not _ARTIFACT_NAME.match(name) or ".." in name:
        raise UnsafePathError(
            f"invalid artifact name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..'"
        )
    return name


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
        raise UnsafePathError(f"unsafe {what} {name!r}: {problem}")
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
