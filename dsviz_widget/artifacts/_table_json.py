"""W&B's ``<name>.table.json`` for each table of a downloaded version.

W&B code reads a downloaded table as JSON (``json.load(open(root / "t.table.json"))``) with
``columns`` and ``data``, images as W&B's dicts whose ``path`` (relative to the root) names a
file of the download. ``Artifact.download`` writes one beside our Parquet, in that layout:

- ``{"_type": "table", "columns": [...], "data": [[...], ...], "ncols", "nrows"}``;
- an image cell ``{"_type": "image-file", "path": "media/images/<sha256>.<ext>", "sha256",
  "size", "format", "width", "height"}`` plus ``caption``, ``boxes`` (per group its box list,
  as W&B stores ``box_data``), ``masks`` (per group ``{"_type": "mask", "path", "sha256"}``,
  the mask a PNG of class ids) and ``classes`` (``{"type": "classes-file", "path", "digest"}``
  naming ``media/classes/<sha256>_cls.classes.json``), each only when the image has it;
- an audio cell ``{"_type": "audio-file", "path": "media/audio/<sha256>.<ext>", "sha256",
  "size", "sample_rate", "caption"}``;
- timestamps as milliseconds since the epoch (naive ones read as UTC), dates as their
  midnight UTC, NaN and infinities as ``null`` (JSON has neither), arrays as nested lists.

The media files are copies of the stored ones, written and checked the way entries are.
The JSON is made from the table's rows, so it is bounded: a table of more than
:data:`MAX_JSON_CELLS` cells gets no JSON (a warning says so; read the Parquet). It begins
with the digest of what it was made from, so a second download keeps it after reading a
few bytes instead of making it again.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget._digest import canonical_json, sha256_bytes
from dsviz_widget._errors import IntegrityError
from dsviz_widget.artifacts import _serialize
from dsviz_widget.artifacts._catalog import VersionRow
from dsviz_widget.artifacts._download import write_entry, write_made
from dsviz_widget.artifacts._manifest import MEDIA_INDEX_SUFFIX, OBJECT_SUFFIXES, Entry
from dsviz_widget.artifacts._objects import check_digest
from dsviz_widget.artifacts._store import Store
from dsviz_widget.media import Audio, Classes, Image
from dsviz_widget.table import Table

#: Tables with more cells (rows x columns) than this get no ``.table.json``.
MAX_JSON_CELLS = 1_000_000
#: Bumped when the JSON written for the same table changes, so older downloads are redone.
JSON_LAYOUT = 1
TABLE_JSON_SUFFIX = ".table.json"
_TABLE = OBJECT_SUFFIXES["table"]
_AUDIO_EXTS = frozenset({"wav", "ogg", "flac", "mp3"})


def media_path(digest: str, ext: str) -> str:
    """Where the JSON's ``path`` puts a media file: W&B's ``media/images`` / ``media/audio``."""
    folder = "audio" if ext in _AUDIO_EXTS else "images"
    return f"media/{folder}/{digest}.{ext}"


def write_table_jsons(
    store: Store, row: VersionRow, names: Iterable[str], root: Path
) -> list[Path]:
    """Write ``<name>.table.json`` and its media for each table entry in ``names``."""
    manifest = store.manifest(row)
    written = []
    for entry_name in names:
        entry = manifest.entries.get(entry_name)
        if entry is None or entry.kind != "table":
            continue
        name = entry_name[: -len(_TABLE)]
        label = f"{row.qualified_name}/{name}"
        table = _serialize.read_table(store, row, manifest, name, label)
        cells = len(table) * len(table.columns)
        if cells > MAX_JSON_CELLS:
            warnings.warn(
                f"{label}: {len(table):,} rows x {len(table.columns)} columns is more than "
                f"{MAX_JSON_CELLS:,} cells, so no {name}{TABLE_JSON_SUFFIX} was written; read "
                f"{entry_name} (Parquet) instead, e.g. with pandas.read_parquet",
                UserWarning,
                stacklevel=3,
            )
            continue
        media = _media_index(store, manifest.entries.get(name + MEDIA_INDEX_SUFFIX), label)
        for digest, (ext, size) in sorted(media.items()):
            write_entry(
                store.objects,
                media_path(digest, ext),
                Entry(digest, size, kind="media"),
                root,
                row.qualified_name,
            )
        source = _source_digest(table)
        written.append(
            write_made(
                root,
                name + TABLE_JSON_SUFFIX,
                functools.partial(_table_json, table, media, source, root, label),
                functools.partial(_starts_with, head=_head(source)),
                row.qualified_name,
            )
        )
    return written


def _source_digest(table: Table) -> str:
    """What the JSON is made from: the table's stored files and this module's layout."""
    origin = table.origin
    assert origin is not None  # read from a store just now
    files = {suffix: e.digest for suffix, e in origin.entries.items()}
    return sha256_bytes(canonical_json([JSON_LAYOUT, files]))


def _head(source: str) -> bytes:
    return f'{{"_type": "table", "dsviz_source": "{source}", '.encode()


def _starts_with(fd: int, *, head: bytes) -> bool:
    return os.pread(fd, len(head), 0) == head


def _media_index(store: Store, entry: Entry | None, label: str) -> dict[str, tuple[str, int]]:
    """digest -> (extension, size) of every media file the table uses."""
    if entry is None:
        return {}
    data = store.objects.read(entry.digest, f"{label} media index")
    try:
        index = pq.read_table(pa.BufferReader(data), columns=["digest", "ext", "size"])
        rows = zip(*(index.column(c).to_pylist() for c in ("digest", "ext", "size")), strict=True)
        out = {}
        for digest, ext, size in rows:
            if not (isinstance(ext, str) and ext.isalnum() and type(size) is int and size >= 0):
                raise ValueError(f"bad extension or size for {digest!r}")
            out[check_digest(digest)] = (ext, size)
    except (pa.ArrowException, ValueError, KeyError) as exc:
        raise IntegrityError(f"{label}: the media index is unreadable ({exc})") from None
    return out


def _table_json(
    table: Table, media: dict[str, tuple[str, int]], source: str, root: Path, label: str
) -> bytes:
    cells = _Cells(media, root, label)
    data = [[cells.value(v) for v in values] for _, values in table.iterrows()]
    body = json.dumps(
        {"columns": table.columns, "data": data, "ncols": len(table.columns), "nrows": len(data)},
        allow_nan=False,
        ensure_ascii=False,
    )
    return _head(source) + body[1:].encode()


class _Cells:
    """Turns decoded cells into W&B's JSON values, writing each class list's file once."""

    def __init__(self, media: dict[str, tuple[str, int]], root: Path, label: str) -> None:
        self._media = media
        self._root = root
        self._label = label
        self._classes: dict[str, dict[str, Any]] = {}

    def value(self, v: Any) -> Any:
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, Image):
            return self._image(v)
        if isinstance(v, Audio):
            return self._audio(v)
        if isinstance(v, dt.datetime):
            aware = v if v.tzinfo is not None else v.replace(tzinfo=dt.timezone.utc)
            return int(aware.timestamp() * 1000)
        if isinstance(v, dt.date):
            midnight = dt.datetime(v.year, v.month, v.day, tzinfo=dt.timezone.utc)
            return int(midnight.timestamp() * 1000)
        if isinstance(v, np.ndarray):
            return self.value(v.tolist())
        if isinstance(v, np.generic):
            return self.value(v.item())
        if isinstance(v, dict):
            return {str(k): self.value(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [self.value(x) for x in v]
        return str(v)

    def _file(self, digest: str) -> tuple[str, int]:
        found = self._media.get(digest)
        if found is None:
            raise IntegrityError(f"{self._label}: media file {digest[:12]} is not in its index")
        ext, size = found
        return media_path(digest, ext), size

    def _image(self, img: Image) -> dict[str, Any]:
        record = img._storage_record()
        path, size = self._file(img.digest)
        out: dict[str, Any] = {
            "_type": "image-file",
            "path": path,
            "sha256": img.digest,
            "size": size,
            "format": record["format"],
            "width": record["width"],
            "height": record["height"],
        }
        if record.get("caption") is not None:
            out["caption"] = record["caption"]
        if record.get("boxes"):
            out["boxes"] = {g: v["box_data"] for g, v in json.loads(record["boxes"]).items()}
        if record.get("masks"):
            out["masks"] = {
                g: {"_type": "mask", "path": self._file(m["digest"])[0], "sha256": m["digest"]}
                for g, m in json.loads(record["masks"]).items()
            }
        if img.classes is not None:
            out["classes"] = self._classes_file(img.classes)
        return out

    def _audio(self, clip: Audio) -> dict[str, Any]:
        record = clip._storage_record()
        path, size = self._file(clip.digest)
        out: dict[str, Any] = {"_type": "audio-file", "path": path, "sha256": clip.digest}
        out["size"] = size
        out["sample_rate"] = record.get("sample_rate")
        if record.get("caption") is not None:
            out["caption"] = record["caption"]
        return out

    def _classes_file(self, classes: Classes) -> dict[str, Any]:
        digest = classes.digest
        if digest not in self._classes:
            data = json.dumps({"_type": "classes", "class_set": classes.to_json()}).encode()
            name = f"media/classes/{digest}_cls.classes.json"
            write_made(self._root, name, lambda: data, lambda fd: _equal(fd, data), self._label)
            self._classes[digest] = {"type": "classes-file", "path": name, "digest": digest}
        return self._classes[digest]


def _equal(fd: int, data: bytes) -> bool:
    return os.fstat(fd).st_size == len(data) and os.pread(fd, len(data) + 1, 0) == data
