"""``Artifact``: a named, versioned bundle of tables, media and files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dsviz_widget._errors import ImmutableError, NotFoundError, ValidationError
from dsviz_widget._names import check_alias, check_artifact_name, check_entry_name
from dsviz_widget.artifacts import _serialize
from dsviz_widget.artifacts._catalog import VersionRow
from dsviz_widget.artifacts._manifest import Entry, Manifest, is_media_entry_name
from dsviz_widget.artifacts._store import Store
from dsviz_widget.media import Audio, Classes, Image
from dsviz_widget.table import JoinedTable, Table

_MEDIA = (Table, JoinedTable, Image, Audio, Classes)


class Artifact:
    """A versioned bundle of tables, media and files.

    Parameters
    ----------
    name : str
        Letters, digits, ``.``, ``_`` and ``-``; versions of one name form its history.
    type : str
        A free label such as ``"dataset"`` or ``"predictions"``; fixed per name.
    description : str, optional
    metadata : dict, optional
        JSON-like values stored with the version.

    Examples
    --------
    >>> art = Artifact("my-dataset", type="dataset")
    >>> art.add(Table(columns=["id"], data=[[1]]), "dataset")
    >>> art.get("dataset").get_column("id")
    [1]
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.name = check_artifact_name(name)
        if not isinstance(type, str) or not type.strip():
            raise ValidationError("artifact type must be a non-empty string, e.g. 'dataset'")
        self.type = type
        if description is not None and not isinstance(description, str):
            raise ValidationError("artifact description must be a string")
        self.description = description
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise ValidationError("artifact metadata must be a dict")
            try:
                json.dumps(metadata, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"artifact metadata must be JSON-like: {exc}") from None
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._objects: dict[str, Any] = {}
        self._files: dict[str, Path] = {}
        # Entry name -> the name it was added under: one namespace for everything added, so
        # a file can never be stored under a name a table (or its media index) also uses.
        self._claimed: dict[str, str] = {}
        self._store: Store | None = None
        self._row: VersionRow | None = None

    # -- building ------------------------------------------------------------------------------
    def add(self, obj: Any, name: str) -> None:
        """Add a Table, JoinedTable, Image, Audio or Classes under ``name`` (with its files)."""
        self._check_mutable()
        check_entry_name(name)
        if not isinstance(obj, _MEDIA):
            raise ValidationError(
                f"cannot add {type(obj).__name__} to an artifact; add a Table, JoinedTable, Image, "
                "Audio or Classes, or use add_file for a file"
            )
        if isinstance(obj, JoinedTable) and obj.entry_names:
            # W&B's JoinedTable("t1.table.json", ...): tables added to this artifact before.
            obj = obj.resolved(self._objects.get)
        claims = self._check_free(name, _serialize.kind_of(obj))
        self._objects[name] = obj
        self._claimed.update(dict.fromkeys(claims, name))

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None) -> None:
        """Add a file from disk; its bytes are copied into the store when the artifact is logged."""
        self._check_mutable()
        path = Path(os.fspath(local_path))
        if "\x00" in str(path):
            raise ValidationError("file path contains a NUL byte")
        entry = check_entry_name(name if name is not None else path.name, what="file name")
        if path.is_symlink() or not path.is_file():
            raise ValidationError(
                f"add_file needs a regular file (not a link or a directory): {str(path)!r}"
            )
        claims = self._check_free(entry, "file")
        self._files[entry] = path
        self._claimed.update(dict.fromkeys(claims, entry))

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None) -> None:
        """Add every file under a directory. Symbolic links are refused, so nothing outside it is read."""
        self._check_mutable()
        prefix = (
            check_entry_name(name, what="directory name") + "/" if name else ""
        )  # before any I/O
        root = Path(os.fspath(local_path))
        if "\x00" in str(root):
            raise ValidationError("directory path contains a NUL byte")
        if not root.is_dir() or root.is_symlink():
            raise ValidationError(f"add_dir needs a directory: {str(root)!r}")
        found: dict[str, Path] = {}
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for d in dirnames:
                if (Path(dirpath) / d).is_symlink():
                    raise ValidationError(
                        f"add_dir refuses symbolic link {str(Path(dirpath) / d)!r}"
                    )
            for f in filenames:
                p = Path(dirpath) / f
                if p.is_symlink():
                    raise ValidationError(f"add_dir refuses symbolic link {str(p)!r}")
                rel = prefix + p.relative_to(root).as_posix()
                found[check_entry_name(rel, what="file name")] = p
        for entry in found:  # all or nothing: a clash is found before any file is added
            self._check_free(entry, "file")
        for entry, path in sorted(found.items()):
            self.add_file(path, entry)

    def _check_free(self, name: str, kind: str) -> list[str]:
        """The entry names ``name`` would take; raises if another entry has any of them."""
        if name in self._objects or name in self._files:
            raise ValidationError(f"artifact {self.name!r} already has an entry named {name!r}")
        if kind == "file" and is_media_entry_name(name):
            raise ValidationError(
                f"artifact {self.name!r}: file name {name!r} is reserved (media/<xx>/<sha256> names "
                "the media files of tables and images); choose another name"
            )
        claims = _serialize.claims(name, kind)
        for claim in claims:
            other = self._claimed.get(claim)
            if other is not None:
                raise ValidationError(
                    f"artifact {self.name!r}: {name!r} would be stored as {claim!r}, which {other!r} "
                    "already uses; choose another name"
                )
        return claims

    def _check_mutable(self) -> None:
        if self._row is not None:
            raise ImmutableError(
                f"{self._row.qualified_name} is logged and cannot change; create a new "
                f"Artifact({self.name!r}, type={self.type!r}) for the next version"
            )

    # -- reading -------------------------------------------------------------------------------
    def get(self, name: str) -> Any:
        """The object added as ``name`` (a Table, Image, ...), or the path of a plain file."""
        if self._row is not None and self._store is not None:
            return _serialize.read(self._store, self._row, name)
        if name in self._objects:
            return self._objects[name]
        if name in self._files:
            return self._files[name]
        raise NotFoundError(
            f"artifact {self.name!r} has no entry {name!r} (entries: {sorted([*self._objects, *self._files]) or 'none'})"
        )

    def get_path(self, name: str) -> Path:
        """Path of a plain file in the store (checked against its digest). Do not modify it."""
        result = self.get(name)
        if not isinstance(result, Path):
            raise ValidationError(f"{name!r} is a {type(result).__name__}, not a file; use get()")
        return result

    @property
    def version(self) -> int | None:
        """The version number once logged (``0``, ``1``, ...), else None."""
        return self._row.version if self._row else None

    @property
    def aliases(self) -> list[str]:
        return list(self._row.aliases) if self._row else []

    @property
    def qualified_name(self) -> str:
        """``name:vN`` once logged, else the name."""
        return self._row.qualified_name if self._row else self.name

    @property
    def manifest(self) -> Manifest | None:
        return self._store.manifest(self._row) if self._row and self._store else None

    @property
    def size(self) -> int | None:
        """Bytes of the files this version stores itself (borrowed files not counted)."""
        return self._row.size if self._row else None

    def entries(self) -> list[str]:
        """Names of the objects and files in this artifact."""
        if self._row is not None and self._store is not None:
            return sorted(self._store.manifest(self._row).names())
        return sorted([*self._objects, *self._files])

    def __repr__(self) -> str:
        state = f"{self.qualified_name}" if self._row else f"{self.name} (not logged)"
        return f"Artifact({state}, type={self.type!r}, entries={self.entries()})"

    # -- logging (called by Run.log_artifact) ---------------------------------------------------
    def _save(self, store: Store, aliases: list[str], run_id: str | None) -> bool:
        """Write files, then publish the version in one transaction. Returns True if new."""
        self._check_mutable()
        aliases = [check_alias(a) for a in aliases]
        with store.saving():
            return self._write_and_publish(store, aliases, run_id)

    def _write_and_publish(self, store: Store, aliases: list[str], run_id: str | None) -> bool:
        entries: dict[str, Entry] = {}
        for name, obj in self._objects.items():
            _merge(entries, _serialize.write(store, name, obj), name)
        for name, path in self._files.items():
            _merge(entries, {name: _serialize.write_file(store, path)}, name)
        manifest = Manifest(entries)
        manifest_digest = store.objects.put_bytes(manifest.to_bytes())
        store.objects.sync()  # every file durable before the version that names them
        row, created = store.catalog.publish(
            self.name,
            self.type,
            manifest_digest,
            manifest.content_digest,
            self.description,
            self.metadata,
            manifest.size,
            run_id,
            aliases,
        )
        self._bind(store, row)
        return created

    def _bind(self, store: Store, row: VersionRow) -> None:
        self._store, self._row = store, row
        self.type, self.description, self.metadata = row.type, row.description, dict(row.metadata)
        self._objects, self._files, self._claimed = {}, {}, {}

    @classmethod
    def _from_row(cls, store: Store, row: VersionRow) -> Artifact:
        art = cls(row.artifact, row.type, row.description, row.metadata)
        art._bind(store, row)
        return art


def _merge(entries: dict[str, Entry], new: dict[str, Entry], added_as: str) -> None:
    """Add ``new`` to ``entries``; a second entry of one name is an error, never an overwrite.

    ``add`` already refuses clashing names; this is the last guard before a manifest is made.
    Only a media file may appear twice (two images with the same bytes share it).
    """
    for name, entry in new.items():
        old = entries.get(name)
        if old is not None and not (
            old.kind == entry.kind == "media" and old.digest == entry.digest
        ):
            raise ValidationError(f"{added_as!r} would be stored as {name!r}, which is taken")
        entries[name] = entry
