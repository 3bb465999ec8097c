"""``Artifact``: a named, versioned bundle of tables, media and files.

The public surface follows W&B's ``wandb.Artifact`` (docs/wandb-compat.md, "Artifacts"):
building (``add``, ``add_file``, ``add_dir``, ``add_reference``, ``new_file``), reading a
logged version (``get``, ``get_entry``, ``download``) and its attributes. Entries and
downloads live in ``_entry`` and ``_download``, local files and references in ``_reference``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from dsviz_widget._digest import canonical_json
from dsviz_widget._errors import ImmutableError, UnsupportedError, ValidationError
from dsviz_widget._names import check_alias, check_artifact_name, check_entry_name
from dsviz_widget.artifacts import _reference, _serialize
from dsviz_widget.artifacts._catalog import VersionRow
from dsviz_widget.artifacts._download import materialise, write_entry
from dsviz_widget.artifacts._entry import ArtifactEntry, ArtifactNotLoggedError
from dsviz_widget.artifacts._manifest import (
    DraftEntry,
    DraftManifest,
    Entry,
    Manifest,
    is_media_entry_name,
    media_entry,
)
from dsviz_widget.artifacts._reference import LocalFile
from dsviz_widget.artifacts._store import Store, open_store
from dsviz_widget.artifacts._table_json import write_table_jsons
from dsviz_widget.media import Audio, Classes, Image
from dsviz_widget.table import JoinedTable, Table

_MEDIA = (Table, JoinedTable, Image, Audio, Classes)
#: Where ``download()`` puts versions by default: ``<dir>/<name>:v<N>``.
ARTIFACT_DIR_ENV = ("DSVIZ_ARTIFACT_DIR", "WANDB_ARTIFACT_DIR")


def _no_run() -> Any:
    return None


#: The current run, for ``save()`` (W&B logs through it, so lineage records who made the
#: version). The run module sits above the store and registers its lookup with
#: :func:`set_current_run_lookup`; the store never imports it.
_current_run: Callable[[], Any] = _no_run


def set_current_run_lookup(lookup: Callable[[], Any]) -> None:
    """Tell ``Artifact.save()`` how to find the current run (called by ``dsviz_widget._runs``)."""
    global _current_run
    _current_run = lookup


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
    incremental, use_as, storage_region
        W&B's; accepted for compatibility. ``incremental=True`` is refused (not supported).

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
        incremental: bool = False,
        use_as: str | None = None,
        storage_region: str | None = None,
    ) -> None:
        self._name = check_artifact_name(name)
        if not isinstance(type, str) or not type.strip():
            raise ValidationError("artifact type must be a non-empty string, e.g. 'dataset'")
        if type == "job" or type.startswith("wandb-"):
            raise ValidationError(
                f"artifact type {type!r}: the types 'job' and 'wandb-*' are reserved for "
                "internal use (as in W&B)"
            )
        if incremental:
            raise UnsupportedError(
                "incremental artifacts are not supported: build the next version with "
                f"Artifact({name!r}, type={type!r}) and add everything it holds"
            )
        self.type = type
        _check_description(description)
        self.description = description
        _check_metadata(metadata)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._objects: dict[str, Any] = {}
        self._files: dict[str, LocalFile] = {}
        # Entry name -> the name it was added under: one namespace for everything added, so
        # a file can never be stored under a name a table (or its media index) also uses.
        self._claimed: dict[str, str] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None  # new_file's files
        self._store: Store | None = None
        self._row: VersionRow | None = None

    # -- building ------------------------------------------------------------------------------
    def add(self, obj: Any, name: str, overwrite: bool = False) -> None:
        """Add a Table, JoinedTable, Image, Audio or Classes under ``name`` (with its files).

        A name already used is an error unless ``overwrite=True``, which replaces what was
        added under it (W&B silently keeps the first object). Adding the same object under
        the same name again changes nothing.
        """
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
        if self._objects.get(name) is obj:
            return
        claims = self._check_free(name, _serialize.kind_of(obj), name if overwrite else None)
        self._release(name)
        self._objects[name] = obj
        self._claimed.update(dict.fromkeys(claims, name))

    def __setitem__(self, name: str, obj: Any) -> None:
        """``art[name] = obj`` is ``art.add(obj, name)``."""
        self.add(obj, name)

    def __getitem__(self, name: str) -> Any:
        """``art[name]`` is ``art.get(name)``."""
        return self.get(name)

    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        overwrite: bool = False,
    ) -> None:
        """Add a file from disk; its bytes are copied into the store when the artifact is logged.

        ``name`` defaults to the file's name. A name already used is an error unless
        ``overwrite=True`` (or it is the same file again). ``is_tmp``, ``skip_cache`` and
        ``policy`` are W&B's upload options, accepted and without effect here.
        """
        self._check_mutable()
        raw = os.fspath(local_path)
        entry = check_entry_name(name if name is not None else Path(raw).name, what="file name")
        self._add_files({entry: LocalFile(_reference.local_file(raw))}, overwrite)

    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every file under a directory, as ``name/<relative path>`` (or the relative path).

        Symbolic links are refused, so nothing outside it is read. A name already used is an
        error (none is added) unless ``merge=True``, which replaces those files.
        """
        self._check_mutable()
        self._add_files(_reference.dir_files(local_path, name), merge)

    def add_reference(
        self,
        uri: str,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> None:
        """Add the file or directory a ``file://`` URI names (a directory: one entry per file).

        The bytes are copied into the store when the artifact is logged, so a version never
        depends on files outside the store. With ``checksum=True`` (the default) each file's
        SHA-256 is taken now, and logging fails naming the entry if a file changed since.
        ``s3://``, ``gs://`` and ``http(s)://`` are refused (not supported yet).

        Examples
        --------
        >>> art.add_reference("file:///data/cars/images", name="images")  # doctest: +SKIP
        """
        self._check_mutable()
        self._add_files(_reference.reference_files(uri, name, checksum, max_objects), False)

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None, policy: str = "mutable"
    ) -> Iterator[IO[Any]]:
        """Open a new file and add it as ``name`` when the ``with`` block ends without error.

        ``mode`` ``"x"`` (the default) refuses a name already used; ``"w"`` replaces it.

        Examples
        --------
        >>> with art.new_file("labels.txt") as f:  # doctest: +SKIP
        ...     f.write("car\\nperson\\n")
        """
        self._check_mutable()
        check_entry_name(name, what="file name")
        if not isinstance(mode, str) or "r" in mode or not any(c in mode for c in "wxa"):
            raise ValidationError(
                f"new_file mode must write ('x', 'w', 'xb', 'wb', ...), got {mode!r}"
            )
        overwrite = "x" not in mode
        if not overwrite:
            self._check_free(name, "file", None)
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="dsviz-new-file-")
        path = Path(self._tmp.name) / uuid.uuid4().hex
        try:
            with open(path, mode.replace("x", "w"), encoding=encoding) as f:
                yield f
            self._add_files({name: LocalFile(path)}, overwrite)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def _add_files(self, found: dict[str, LocalFile], overwrite: bool) -> None:
        """Add files by entry name, all or none: every clash is found before any is added."""
        for entry, f in found.items():
            same = self._files.get(entry) == f
            self._check_free(entry, "file", entry if overwrite or same else None)
        for entry, f in sorted(found.items()):
            self._release(entry)
            self._files[entry] = f
            self._claimed[entry] = entry

    def _check_free(self, name: str, kind: str, replacing: str | None) -> list[str]:
        """The entry names ``name`` would take; raises if another entry has any of them.

        ``replacing`` names what this add may replace (the same name, with ``overwrite``).
        """
        if (name in self._objects or name in self._files) and replacing != name:
            raise ValidationError(
                f"artifact {self._name!r} already has an entry named {name!r}; pass "
                "overwrite=True to replace it"
            )
        if kind == "file" and is_media_entry_name(name):
            raise ValidationError(
                f"artifact {self._name!r}: file name {name!r} is reserved (media/<xx>/<sha256> "
                "names the media files of tables and images); choose another name"
            )
        claims = _serialize.claims(name, kind)
        for claim in claims:
            other = self._claimed.get(claim)
            if other is not None and other != replacing:
                raise ValidationError(
                    f"artifact {self._name!r}: {name!r} would be stored as {claim!r}, which "
                    f"{other!r} already uses; choose another name"
                )
        return claims

    def _release(self, name: str) -> None:
        """Forget what was added under ``name`` (before it is replaced)."""
        self._objects.pop(name, None)
        self._files.pop(name, None)
        for claim in [c for c, owner in self._claimed.items() if owner == name]:
            del self._claimed[claim]

    def _check_mutable(self) -> None:
        if self._row is not None:
            raise ImmutableError(
                f"{self._row.qualified_name} is logged and cannot change; create a new "
                f"Artifact({self._name!r}, type={self.type!r}) for the next version"
            )

    # -- reading -------------------------------------------------------------------------------
    def get(self, name: str) -> Any:
        """The object added as ``name`` (a Table, Image, ...), the path of a plain file, or
        None if a logged version has no such entry (as in W&B). On a draft, a name not
        added is W&B's :class:`ArtifactNotLoggedError`."""
        if not isinstance(name, str):
            raise ValidationError(f"entry name must be a string, got {type(name).__name__}")
        if self._row is not None and self._store is not None:
            if self._store.manifest(self._row).find(name) is None:
                return None
            return _serialize.read(self._store, self._row, name)
        if name in self._objects:
            return self._objects[name]
        if name in self._files:
            return self._files[name].path
        # W&B's get raises on any draft; ours serves what was added and raises otherwise.
        self._logged("get")
        return None

    def get_entry(self, name: str) -> ArtifactEntry:
        """The stored file ``name`` (an entry name, or the name an object was added under).

        Raises :class:`~dsviz_widget.NotFoundError` (a ``KeyError``, as W&B's) listing the
        entries when there is none.
        """
        store, row = self._logged("get_entry")
        manifest = store.manifest(row)
        entry = manifest.entries.get(name) if isinstance(name, str) else None
        if entry is None:
            entry_name, _ = _serialize.find(manifest, name, row.qualified_name)
            return ArtifactEntry(self, entry_name, manifest.entries[entry_name])
        return ArtifactEntry(self, name, entry)

    def get_path(self, name: str) -> ArtifactEntry:
        """W&B's older name for :meth:`get_entry`."""
        return self.get_entry(name)

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
    ) -> str:
        """Write every file of this version under ``root`` and return ``root``.

        ``root`` defaults to ``./artifacts/<name>:v<N>`` (``$DSVIZ_ARTIFACT_DIR`` or
        ``$WANDB_ARTIFACT_DIR`` replace ``./artifacts``). Each entry becomes the file
        ``<root>/<entry name>``: a table is ``<name>.table.parquet`` (and its media index
        ``<name>.media.parquet``), its images ``media/<xx>/<sha256>``; beside it W&B's
        ``<name>.table.json``, its images as ``media/images/<sha256>.<ext>`` (none for a
        table of more than 1M cells, with a warning). Bytes are checked
        against their digests; files already there with the right bytes are kept, others
        in ``root`` are left alone. ``path_prefix`` keeps only entries under it; the other
        arguments are W&B's and change nothing here (references are stored copies).

        Examples
        --------
        >>> path = dv.use_artifact("raw:latest").download()  # doctest: +SKIP
        """
        store, row = self._logged("download")
        target = self._root(root)
        items = _files_of(store, row)
        if path_prefix is not None:
            items = [(n, e) for n, e in items if n.startswith(str(path_prefix))]
        materialise(store.objects, items, target, row.qualified_name)
        write_table_jsons(store, row, [n for n, _ in items], target)
        return str(target)

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download the one file of a single-file artifact and return its path."""
        store, row = self._logged("file")
        names = sorted(store.manifest(row).entries)
        if len(names) != 1:
            raise ValidationError(
                f"{row.qualified_name} holds {len(names)} files; call download() for all of "
                "them, or get_entry(name).download() for one"
            )
        return self.get_entry(names[0]).download(root)

    def _download_entry(self, name: str, entry: Entry, root: str | os.PathLike[str] | None) -> str:
        store, row = self._logged("download")
        return str(write_entry(store.objects, name, entry, self._root(root), row.qualified_name))

    def _root(self, root: str | os.PathLike[str] | None) -> Path:
        if root is None:
            base = next((v for k in ARTIFACT_DIR_ENV if (v := os.environ.get(k))), "artifacts")
            return Path(os.path.abspath(base)) / self.source_name
        path = os.fspath(root)
        if "\x00" in str(path):
            raise ValidationError("download directory contains a NUL byte")
        return Path(path)

    def _logged(self, what: str) -> tuple[Store, VersionRow]:
        if self._row is None or self._store is None:
            raise ArtifactNotLoggedError(
                f"'Artifact.{what}' used prior to logging artifact: {self._name!r} is not "
                "logged yet (log it with dv.log_artifact(art) or art.save(), or open one with "
                "dv.use_artifact)"
            )
        return self._store, self._row

    # -- attributes ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``name:vN`` once logged (as W&B), else the name given."""
        return self.source_name

    @property
    def source_name(self) -> str:
        """``name:vN`` once logged, else the name given."""
        return self._row.qualified_name if self._row else self._name

    @property
    def qualified_name(self) -> str:
        """``name:vN`` once logged, else the name (W&B prefixes ``entity/project/``)."""
        return self.source_name

    @property
    def version(self) -> str:
        """``"vN"`` once logged; before, :class:`ArtifactNotLoggedError` (as W&B)."""
        return f"v{self._logged('version')[1].version}"

    @property
    def source_version(self) -> str:
        """The same as :attr:`version` (W&B's version in the source collection)."""
        return f"v{self._logged('source_version')[1].version}"

    @property
    def version_index(self) -> int | None:
        """The version number once logged (``0``, ``1``, ...), else None."""
        return self._row.version if self._row else None

    @property
    def aliases(self) -> list[str]:
        """Aliases of this version (``latest`` included while it is the newest); before
        logging, :class:`ArtifactNotLoggedError` (as W&B)."""
        return list(self._logged("aliases")[1].aliases)

    @property
    def id(self) -> str | None:
        """A stable identifier of this version (the same in every process), else None."""
        if self._row is None:
            return None
        key = canonical_json([self._row.artifact, self._row.version, self._row.manifest])
        return hashlib.sha256(key).hexdigest()[:32]

    @property
    def state(self) -> str:
        """``"PENDING"`` until logged, then ``"COMMITTED"`` (W&B's states)."""
        return "COMMITTED" if self._row else "PENDING"

    def is_draft(self) -> bool:
        """True until the artifact is logged."""
        return self._row is None

    @property
    def digest(self) -> str | None:
        """SHA-256 of the version's content (entry names and file digests), once logged.

        Two versions with the same files have the same digest; logging content equal to the
        latest version's makes no new version.
        """
        return self._row.content if self._row else None

    @property
    def manifest(self) -> Manifest | DraftManifest:
        """The manifest: ``manifest.entries`` maps each entry name to its record.

        Logged: the stored records (``digest``, ``size``, ``kind``, ...). A draft lists what
        was added so far, as W&B's does: files with their size and SHA-256 (read now; a
        reference checked at ``add_reference`` gives the digest taken then), images, clips
        and class lists with theirs, tables by name (their files are written at logging, so
        ``digest`` and ``size`` are None).
        """
        if self._row is not None and self._store is not None:
            return self._store.manifest(self._row)
        entries: dict[str, DraftEntry] = {}
        for name, obj in self._objects.items():
            entries.update(_serialize.draft_entries(name, obj))
        for name, local in self._files.items():
            entries[name] = _reference.draft_entry(name, local)
        return DraftManifest(dict(sorted(entries.items())))

    @property
    def size(self) -> int | None:
        """Bytes of the files this version stores itself (borrowed files not counted)."""
        return self._row.size if self._row else None

    @property
    def file_count(self) -> int:
        """Number of stored files (manifest entries), once logged."""
        store, row = self._logged("file_count")
        return len(store.manifest(row).entries)

    @property
    def created_at(self) -> str:
        """When the version was logged: ISO 8601 UTC, ``"2024-05-01T12:00:00Z"``."""
        return _iso_utc(self._logged("created_at")[1].created_at)

    @property
    def updated_at(self) -> str:
        """Logged versions never change: the same as ``created_at``."""
        return _iso_utc(self._logged("updated_at")[1].created_at)

    def __getattr__(self, name: str) -> Any:
        # W&B attributes with no local meaning: before logging W&B's own error (code that
        # catches ArtifactNotLoggedError behaves the same), after it an AttributeError.
        # A property that needs a logged version raised ArtifactNotLoggedError (an
        # AttributeError), which makes Python call __getattr__: raise it again here.
        is_property = isinstance(getattr(type(self), name, None), property)
        if name in _WANDB_ONLY or is_property:
            if self.__dict__.get("_row") is None:
                raise ArtifactNotLoggedError(
                    f"'Artifact.{name}' used prior to logging artifact: "
                    f"{self.__dict__.get('_name')!r} is not logged yet"
                )
            raise AttributeError(
                f"Artifact.{name} is not supported by dsviz_widget (docs/wandb-compat.md, "
                "Artifacts)"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def entries(self) -> list[str]:
        """Names of the objects and files in this artifact."""
        if self._row is not None and self._store is not None:
            return sorted(self._store.manifest(self._row).names())
        return sorted([*self._objects, *self._files])

    def __repr__(self) -> str:
        state = f"{self.qualified_name}" if self._row else f"{self._name} (not logged)"
        return f"Artifact({state}, type={self.type!r}, entries={self.entries()})"

    # -- logging -------------------------------------------------------------------------------
    def save(self, project: str | None = None, settings: Any = None) -> None:
        """Log this artifact: from the current run if there is one, else without a run (into
        the default store). Nothing happens for a version already logged."""
        if self._row is not None:
            if (self.description, self.metadata) != (self._row.description, self._row.metadata):
                raise ImmutableError(
                    f"{self._row.qualified_name} is logged; changing its description or "
                    "metadata afterwards is not supported yet (log a new version)"
                )
            return
        current = _current_run()
        if current is not None:
            current.log_artifact(self)
        else:
            self._save(open_store(), [], None)

    def wait(self, timeout: int | None = None) -> Artifact:
        """Return this artifact once logged. Logging is synchronous here, so it never waits."""
        self._logged("wait")
        return self

    def _save(self, store: Store, aliases: list[str], run_id: str | None) -> bool:
        """Write files, then publish the version in one transaction. Returns True if new."""
        self._check_mutable()
        aliases = [check_alias(a) for a in aliases]
        _check_description(self.description)
        _check_metadata(self.metadata)
        with store.saving():
            return self._write_and_publish(store, aliases, run_id)

    def _write_and_publish(self, store: Store, aliases: list[str], run_id: str | None) -> bool:
        entries: dict[str, Entry] = {}
        tables = _serialize.table_names(self._objects)
        for name, obj in self._objects.items():
            _merge(entries, _serialize.write(store, name, obj, tables), name)
        for name, local in self._files.items():
            _merge(entries, {name: _serialize.write_file(store, name, local)}, name)
        manifest = Manifest(entries)
        manifest_digest = store.objects.put_bytes(manifest.to_bytes())
        store.objects.sync()  # every file durable before the version that names them
        row, created = store.catalog.publish(
            self._name,
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
        if self._tmp is not None:  # new_file's files are in the store now
            self._tmp.cleanup()
            self._tmp = None

    @classmethod
    def _from_row(cls, store: Store, row: VersionRow) -> Artifact:
        art = cls(row.artifact, "stored", row.description, row.metadata)
        art.type = row.type  # as stored, even a type reserved today
        art._bind(store, row)
        return art


# W&B's server-side attributes and methods (entities, projects, TTLs, drafts, ...).
_WANDB_ONLY = frozenset(
    {
        "entity", "project", "source_entity", "source_project", "ttl", "commit_hash",
        "new_draft", "checkout", "verify", "files", "delete", "used_by", "logged_by",
        "json_encode",
    }
)  # fmt: skip


def _iso_utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _files_of(store: Store, row: VersionRow) -> list[tuple[str, Entry]]:
    """Every file of a version by name: its manifest entries, and the media files its tables'
    media indexes list (named ``media/<xx>/<sha256>``, as media entries are)."""
    manifest = store.manifest(row)
    files = dict(manifest.entries)
    for name, index in manifest.media_indexes():
        what = f"{row.qualified_name} entry {name!r}"
        for digest, size in store.media_files(index, what):
            files.setdefault(media_entry(digest), Entry(digest, size, kind="media"))
    return sorted(files.items())


def _check_description(description: object) -> None:
    if description is not None and not isinstance(description, str):
        raise ValidationError("artifact description must be a string")


def _check_metadata(metadata: object) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise ValidationError("artifact metadata must be a dict")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"artifact metadata must be JSON-like: {exc}") from None


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
