"""Manifests: the list of entries (name -> stored file) that makes up an artifact version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dsviz_widget._digest import canonical_json, sha256_bytes
from dsviz_widget._errors import IntegrityError
from dsviz_widget._names import check_artifact_name, check_entry_name
from dsviz_widget.artifacts._objects import check_digest

MANIFEST_FORMAT = 1
MEDIA_PREFIX = "media/"


def media_entry(digest: str) -> str:
    """The entry name of a media file inside an artifact: ``media/ab/abcdef...``."""
    return f"{MEDIA_PREFIX}{digest[:2]}/{digest}"


@dataclass(frozen=True)
class Entry:
    """One file of an artifact. ``ref`` names the artifact version it is borrowed from."""

    digest: str
    size: int
    ref: tuple[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.ref is not None:
            out["ref"] = {"artifact": self.ref[0], "version": self.ref[1]}
        return out

    @classmethod
    def from_json(cls, raw: Any, where: str) -> Entry:
        try:
            digest = check_digest(raw["digest"])
            size = int(raw["size"])
            ref = raw.get("ref")
            if ref is not None:
                ref = (check_artifact_name(ref["artifact"]), int(ref["version"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"{where}: malformed manifest entry ({exc})") from None
        return cls(digest, size, ref)


@dataclass(frozen=True)
class Manifest:
    entries: dict[str, Entry]

    @property
    def content_digest(self) -> str:
        """Digest of the entries only: two versions with the same files have the same content."""
        return sha256_bytes(canonical_json({k: v.to_json() for k, v in self.entries.items()}))

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "format": MANIFEST_FORMAT,
                "entries": {k: v.to_json() for k, v in sorted(self.entries.items())},
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> Manifest:
        try:
            raw = json.loads(data)
            entries = raw["entries"]
            if raw.get("format") != MANIFEST_FORMAT or not isinstance(entries, dict):
                raise ValueError("unknown manifest format")
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"{where}: the manifest is unreadable ({exc})") from None
        out = {}
        for name, entry in entries.items():
            check_entry_name(name, what=f"entry name in {where}")
            out[name] = Entry.from_json(entry, f"{where} entry {name!r}")
        return cls(out)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries.values() if e.ref is None)
