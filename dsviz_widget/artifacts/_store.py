"""The store: a root directory with the catalog database and the content-addressed files.

Layout (docs/architecture.md)::

    <root>/catalog.sqlite   artifacts, versions, aliases, runs, lineage
    <root>/objects/ab/...   file contents by SHA-256
    <root>/tmp/             in-flight writes

The root is ``dv.init(dir=...)``, else ``$DSVIZ_DIR``, else ``~/.dsviz``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget._errors import (
    IntegrityError,
    NotFoundError,
    ValidationError,
    store_error,
)
from dsviz_widget.artifacts._catalog import VersionRow
from dsviz_widget.artifacts._catalog_open import open_catalog
from dsviz_widget.artifacts._manifest import Entry, Manifest
from dsviz_widget.artifacts._objects import ObjectStore, check_digest, link_error

DEFAULT_DIR = "~/.dsviz"
_open: dict[Path, Store] = {}
_open_lock = threading.Lock()


def default_root() -> Path:
    """``$DSVIZ_DIR`` if set, else ``~/.dsviz``."""
    return Path(os.environ.get("DSVIZ_DIR") or DEFAULT_DIR).expanduser()


class Store:
    """One store root. Use :func:`open_store` to share instances per directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise store_error(f"cannot create the store directory {root}", exc) from exc
        self.objects = ObjectStore(root)
        # SQLite follows links: a catalog (or its journal) linked elsewhere would be written there.
        for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
            if (root / name).is_symlink():
                raise link_error(root / name)
        self.catalog = open_catalog(root / "catalog.sqlite")
        self._manifests: dict[str, Manifest] = {}

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def manifest(self, row: VersionRow) -> Manifest:
        cached = self._manifests.get(row.manifest)
        if cached is None:
            data = self.objects.read(row.manifest, f"manifest of {row.qualified_name}")
            cached = Manifest.from_bytes(data, f"manifest of {row.qualified_name}")
            self._manifests[row.manifest] = cached
        return cached

    @contextmanager
    def saving(self) -> Iterator[None]:
        """Held (shared) for the whole of a save, so ``gc`` (exclusive) never runs mid-save.

        The catalog owns the lock: a file lock beside ``catalog.sqlite``, an advisory lock in
        a shared database, so every machine writing to the store takes the same one."""
        with self.catalog.hold_saving():
            yield

    def gc(self, grace_seconds: float = 3600.0) -> GcReport:
        """Remove files no version refers to: crashed saves' objects and temporary files.

        Waits for saves in progress (they hold the lock shared). Files younger than
        ``grace_seconds`` stay, as a second guard for anything in flight; an object a save
        reuses has its mtime refreshed (``ObjectStore.claim``), so it counts as young.

        Only files the store wrote are removed: objects (checked against their digest) and
        its own temporary files; anything else is counted in ``foreign`` and left. A symbolic
        link anywhere under ``objects/`` or ``tmp/`` stops gc with a :class:`StoreError`
        naming it before anything is removed, and so does a version whose files cannot be
        read (an :class:`IntegrityError`): gc never guesses what is still needed.
        """
        report = GcReport()
        with self.catalog.hold_exclusive():
            keep = self._referenced()
            scan = self.objects.scan()
            report.foreign = len(scan.foreign)
            cutoff = time.time() - grace_seconds
            for digest, st in scan.objects.items():
                if digest in keep:
                    continue
                if st.st_mtime >= cutoff:
                    report.kept_young += 1
                elif self.objects.remove_object(digest, st):
                    report.removed_bytes += st.st_size
                    report.removed_objects += 1
                else:
                    report.foreign += 1
            for name, st in scan.tmp.items():
                if st.st_mtime < cutoff and self.objects.remove_tmp(name, st):
                    report.removed_bytes += st.st_size
                    report.removed_tmp += 1
        return report

    def _referenced(self) -> set[str]:
        keep: set[str] = set()
        for artifact, version, manifest_digest in self.catalog.manifests():
            keep.add(manifest_digest)
            label = f"{artifact}:v{version}"
            manifest = Manifest.from_bytes(
                self.objects.read(manifest_digest, f"manifest of {label}"), label
            )
            keep.update(entry.digest for entry in manifest.entries.values())
            for name, entry in manifest.media_indexes():
                keep.update(self._media_index(entry, f"{label} entry {name!r}"))
        return keep

    def _media_index(self, entry: Entry, what: str) -> list[str]:
        """The digests a table's media index lists; IntegrityError naming it if unreadable."""
        return [digest for digest, _ in self.media_files(entry, what)]

    def media_files(self, entry: Entry, what: str) -> list[tuple[str, int]]:
        """(digest, size) of each media file a table's media index lists; IntegrityError
        naming ``what`` if the index is unreadable."""
        data = self.objects.read(entry.digest, what)  # verified, and never through a link
        try:
            index = pq.read_table(pa.BufferReader(data), columns=["digest", "size"])
            sizes = index.column("size").to_pylist()
            digests = [check_digest(d) for d in index.column("digest").to_pylist()]
        except (pa.ArrowException, ValidationError, ValueError, KeyError) as exc:
            raise IntegrityError(f"{what}: the media index is unreadable ({exc})") from None
        if not all(type(s) is int and s >= 0 for s in sizes):
            raise IntegrityError(f"{what}: the media index lists a size that is not a byte count")
        return list(zip(digests, sizes, strict=True))

    def read_blob(self, digest: str) -> bytes:
        return self.objects.read(digest, f"media file {digest[:12]}")

    def verify(self) -> VerifyReport:
        """Check every file every version refers to; names each missing or damaged file.

        A symbolic link in the store's own directories raises a :class:`StoreError` naming it.
        """
        report = VerifyReport()
        for artifact, version, manifest_digest in self.catalog.manifests():
            label = f"{artifact}:v{version}"
            try:
                manifest = Manifest.from_bytes(
                    self.objects.read(manifest_digest, f"manifest of {label}"), label
                )
            except (IntegrityError, ValidationError) as exc:
                report.problems.append(str(exc))
                continue
            for name, entry in manifest.entries.items():
                self._check(report, entry.digest, f"{label} entry {name!r}")
            for name, entry in manifest.media_indexes():
                if entry.digest in report.bad:
                    continue  # reported above
                try:
                    digests = self._media_index(entry, f"{label} entry {name!r}")
                except IntegrityError as exc:
                    report.problems.append(str(exc))
                    continue
                for digest in digests:
                    self._check(report, digest, f"{label} media file {digest[:12]} (in {name!r})")
        return report

    def _check(self, report: VerifyReport, digest: str, what: str) -> None:
        if digest in report.checked:
            if digest in report.bad:
                report.problems.append(f"{what}: {report.bad[digest]}")
            return
        report.checked.add(digest)
        try:
            self.objects.check(digest, what)  # hashed whatever its stamp says
        except IntegrityError as exc:
            report.bad[digest] = str(exc)
            report.problems.append(str(exc))


@dataclass
class GcReport:
    """What ``dv.gc()`` removed."""

    removed_objects: int = 0
    removed_tmp: int = 0
    removed_bytes: int = 0
    kept_young: int = 0
    #: Files under ``objects/`` and ``tmp/`` the store did not write; left where they are.
    foreign: int = 0


@dataclass
class VerifyReport:
    """What ``dv.verify()`` found: ``ok`` is True when every file matched its digest."""

    problems: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    bad: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        if self.ok:
            return f"VerifyReport(ok: {len(self.checked)} files checked)"
        lines = "\n  ".join(self.problems[:20])
        return (
            f"VerifyReport({len(self.problems)} problems in {len(self.checked)} files:\n  {lines})"
        )


def open_store(root: str | os.PathLike[str] | None = None) -> Store:
    """The store at ``root`` (or the default root), opened once per process."""
    path = Path(root).expanduser() if root is not None else default_root()
    if "\x00" in str(path):
        raise NotFoundError("store directory contains a NUL byte")
    path = path.resolve()
    with _open_lock:
        store = _open.get(path)
        if store is None:
            store = _open[path] = Store(path)
        return store
