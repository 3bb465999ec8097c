"""Manifests: the list of entries (name -> stored file) that makes up an artifact version.

Each entry records its *kind*: what the file is (a table, a table's media index, a plain
file, ...). Readers (``get``, ``entries()``, ``gc``, ``verify``) decide from the kind, never
from the entry name: a plain file may be called ``x.media.parquet`` and is still a plain file.
Manifests of format 1 (written before kinds were recorded) are read by inferring each kind
from the name's suffix, exactly as those versions were written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dsviz_widget._digest import canonical_json, sha256_bytes
from dsviz_widget._errors import IntegrityError
from dsviz_widget._names import check_artifact_name, check_entry_name, check_version
from dsviz_widget.artifacts._objects import check_digest

#: 2: every entry has a ``kind``; 1: kinds are implied by the names (``legacy_kind``).
MANIFEST_FORMAT = 2
MEDIA_PREFIX = "media/"
#: Kinds of the objects added with ``Artifact.add``, and the suffix each adds to the name it
#: was added under to make its entry name.
OBJECT_SUFFIXES = {
    "table": ".table.parquet",
    "joined-table": ".joined-table.json",
    "image": ".image.json",
    "audio": ".audio.json",
    "classes": ".classes.json",
}
MEDIA_INDEX_SUFFIX = ".media.parquet"
#: ``media-index``: the digests of the media files a table's rows use (read by gc and verify);
#: ``media``: one media file, named by its digest; ``file``: a plain file (``add_file``);
#: ``table-part``: one Parquet file of a table written in parts (a Dask ingest), see
#: :func:`table_part`.
KINDS = frozenset([*OBJECT_SUFFIXES, "media-index", "media", "file", "table-part"])
_MEDIA_ENTRY = re.compile(r"media/([0-9a-f]{2})/([0-9a-f]{64})")
_JOINED = ".joined/"
_PARTS = ".parts/"
_PART_ENTRY = re.compile(r".+\.parts/([0-9]{6})\.parquet")


def media_entry(digest: str) -> str:
    """The entry name of a media file inside an artifact: ``media/ab/abcdef...``."""
    return f"{MEDIA_PREFIX}{digest[:2]}/{digest}"


def is_media_entry_name(name: str) -> bool:
    """True for names of the form ``media/ab/<sha256>``, which only media files may have."""
    return _MEDIA_ENTRY.fullmatch(name) is not None


def joined_part(name: str, part: str) -> str:
    """The name a table of the joined table ``name`` is stored under (``part``: table1/2)."""
    return f"{name}{_JOINED}{part}"


def table_part(name: str, index: int) -> str:
    """The entry name of part ``index`` of the table added as ``name``.

    A table written in parts has its ``<name>.table.parquet`` entry (a Parquet file of no
    rows holding the whole table's schema: kinds, derived columns, class lists) and its
    rows in the parts ``<name>.parts/000000.parquet``, ``000001``, ... read in that order.
    Parts are entries of their own (kind ``table-part``), so gc, verify and download see
    every file without knowing about parts; readers that predate them refuse the kind
    instead of showing a table of no rows.
    """
    return f"{name}{_PARTS}{index:06d}.parquet"


def part_index(entry_name: str, name: str) -> int | None:
    """The part number if ``entry_name`` is a part of the table added as ``name``."""
    if not entry_name.startswith(name + _PARTS):
        return None
    match = _PART_ENTRY.fullmatch(entry_name)
    if match is None or len(entry_name) != len(table_part(name, 0)):
        return None
    return int(match.group(1))


def legacy_kind(name: str) -> tuple[str, bool]:
    """(kind, part) of an entry of a format-1 manifest, from its name as format 1 implied."""
    part = _JOINED in name
    if name.startswith(MEDIA_PREFIX):
        return "media", part
    if name.endswith(MEDIA_INDEX_SUFFIX):
        return "media-index", part
    for kind, suffix in OBJECT_SUFFIXES.items():
        if name.endswith(suffix):
            return kind, part
    return "file", part


@dataclass(frozen=True)
class Entry:
    """One file of an artifact.

    ``ref`` names the artifact version it is borrowed from; ``kind`` is what it is (one of
    ``KINDS``); ``part`` marks the tables of a joined table (not listed as entries of their own).
    ``source`` is the ``file://`` URI a reference (``Artifact.add_reference``) was copied from:
    a label only, never opened again (the bytes are the stored object, like any file's).

    A big table on a remote store also has ``head``, the digest of a small Parquet object
    holding its first rows (same schema and metadata), and ``rows``, the table's row count:
    a cold read shows those rows while the whole object downloads (docs/architecture.md).
    Neither is content (the head is derived from the table's own bytes): a version whose
    tables differ only by having a head is the same version.
    """

    digest: str
    size: int
    ref: tuple[str, int] | None = None
    kind: str = "file"
    part: bool = False
    source: str | None = None
    head: str | None = None
    rows: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = self._content_json()
        out["kind"] = self.kind
        if self.part:
            out["part"] = True
        if self.source is not None:
            out["source"] = self.source
        if self.head is not None:
            out["head"] = self.head
            out["rows"] = self.rows
        return out

    @property
    def objects(self) -> list[str]:
        """The digests of every object this entry refers to (its file, and its head): what
        gc keeps and verify hashes."""
        return [self.digest] if self.head is None else [self.digest, self.head]

    def _content_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.ref is not None:
            out["ref"] = {"artifact": self.ref[0], "version": self.ref[1]}
        return out

    def content_json(self, name: str) -> dict[str, Any]:
        """What identifies this entry's content. The kind is left out where format 1 would have
        implied the same one, so a version logged again after an upgrade still matches (and is
        not stored twice); where it differs, it is part of the content. A reference's ``source``
        is not content (as in W&B, where a version's digest covers names and file digests): the
        same bytes referenced from another path are the same version."""
        if (self.kind, self.part) == legacy_kind(name):
            return self._content_json()
        out = self.to_json()
        for derived in ("source", "head", "rows"):
            out.pop(derived, None)
        return out

    @classmethod
    def from_json(cls, raw: Any, name: str, where: str, format_: int) -> Entry:
        try:
            digest = check_digest(raw["digest"])
            size = raw["size"]
            if type(size) is not int or size < 0:
                raise ValueError(f"size {size!r} is not a byte count")
            ref = raw.get("ref")
            if ref is not None:
                ref = (
                    check_artifact_name(ref["artifact"], stored=True),
                    check_version(ref["version"]),
                )
            source = raw.get("source")
            if source is not None and not _is_file_uri(source):
                raise ValueError(f"source {source!r} is not a file:// URI")
            if format_ == 1:
                kind, part = legacy_kind(name)
            else:
                kind, part = raw["kind"], raw.get("part", False)
                if kind not in KINDS or type(part) is not bool:
                    raise ValueError(f"unknown kind {kind!r}")
                _check_kind_name(kind, name, digest)
            if source is not None and kind != "file":
                raise ValueError(f"a {kind} entry has no source")
            head, rows = _head_of(raw, kind)
        except (KeyError, TypeError, ValueError) as exc:
            raise IntegrityError(f"{where}: malformed manifest entry ({exc})") from None
        return cls(digest, size, ref, kind, part, source, head, rows)


def _head_of(raw: Any, kind: str) -> tuple[str | None, int | None]:
    """An entry's ``head`` and ``rows`` (both or neither; only a table has them)."""
    head, rows = raw.get("head"), raw.get("rows")
    if head is None and rows is None:
        return None, None
    if kind != "table":
        raise ValueError(f"a {kind} entry has no head")
    if head is None or type(rows) is not int or rows < 0:
        raise ValueError(f"head {head!r} needs a row count, got {rows!r}")
    return check_digest(head), rows


def _is_file_uri(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("file:")
        and len(value) <= 4096
        and not any(c in value for c in "\x00\n\r")
    )


def _check_kind_name(kind: str, name: str, digest: str) -> None:
    # Object entries are found by "<name added under><suffix>", media files by digest: an entry
    # whose name does not fit its kind could never be read back, so it is refused as corrupt.
    suffix = OBJECT_SUFFIXES.get(kind) or (MEDIA_INDEX_SUFFIX if kind == "media-index" else "")
    if suffix and (not name.endswith(suffix) or name == suffix):
        raise ValueError(f"a {kind} entry must be named '<name>{suffix}'")
    if kind == "media" and name != media_entry(digest):
        raise ValueError("a media entry must be named media/<digest[:2]>/<digest>")
    if kind == "table-part" and _PART_ENTRY.fullmatch(name) is None:
        raise ValueError("a table-part entry must be named '<name>.parts/<6 digits>.parquet'")


@dataclass(frozen=True)
class Manifest:
    entries: dict[str, Entry]

    @property
    def content_digest(self) -> str:
        """Digest of the entries only: two versions with the same files have the same content."""
        return sha256_bytes(canonical_json({k: v.content_json(k) for k, v in self.entries.items()}))

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
            format_ = raw.get("format")
            if type(format_) is int and format_ > MANIFEST_FORMAT:
                raise ValueError(
                    f"manifest format {format_} was written by a newer dsviz_widget; upgrade to read it"
                )
            if format_ not in (1, MANIFEST_FORMAT) or not isinstance(entries, dict):
                raise ValueError("unknown manifest format")
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"{where}: the manifest is unreadable ({exc})") from None
        out = {}
        for name, entry in entries.items():
            check_entry_name(name, what=f"entry name in {where}")
            out[name] = Entry.from_json(entry, name, f"{where} entry {name!r}", format_)
        return cls(out)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.entries.values() if e.ref is None)

    def find(self, name: str) -> tuple[str, Entry] | None:
        """The entry holding what was added as ``name``: an object's, else a plain file's."""
        for kind, suffix in OBJECT_SUFFIXES.items():
            entry = self.entries.get(name + suffix)
            if entry is not None and entry.kind == kind:
                return name + suffix, entry
        entry = self.entries.get(name)
        if entry is not None and entry.kind in ("file", "media"):
            return name, entry
        return None

    def names(self) -> dict[str, str]:
        """The names things were added under, each with its kind (parts and media left out)."""
        out = {}
        for entry_name, entry in self.entries.items():
            if entry.part:
                continue
            if entry.kind == "file":
                out[entry_name] = "file"
            elif entry.kind in OBJECT_SUFFIXES:
                out[entry_name[: -len(OBJECT_SUFFIXES[entry.kind])]] = entry.kind
        return out

    def media_indexes(self) -> list[tuple[str, Entry]]:
        """The entries that list media files by digest (what gc must keep, verify must check)."""
        return [(k, e) for k, e in self.entries.items() if e.kind == "media-index"]


@dataclass(frozen=True)
class DraftEntry:
    """One entry of an artifact not logged yet, as W&B's draft manifest lists it.

    ``digest`` (SHA-256 hex) and ``size`` are None where they are known only once logged
    (a table's Parquet file is written then); ``source`` is a reference's ``file://`` URI.
    """

    path: str
    kind: str
    digest: str | None = None
    size: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class DraftManifest:
    """What an artifact holds before it is logged: entry name -> :class:`DraftEntry`."""

    entries: dict[str, DraftEntry]

    def names(self) -> dict[str, str]:
        """The names things were added under, each with its kind (as :meth:`Manifest.names`)."""
        out = {}
        for entry_name, entry in self.entries.items():
            if entry.kind == "file":
                out[entry_name] = "file"
            elif entry.kind in OBJECT_SUFFIXES:
                out[entry_name[: -len(OBJECT_SUFFIXES[entry.kind])]] = entry.kind
        return out
