"""The store: a catalog of artifacts, versions, runs and lineage, and content-addressed objects.

Two kinds, one API (docs/architecture.md, docs/team-store.md)::

    <dir>/catalog.sqlite    artifacts, versions, aliases, runs, lineage (the default catalog)
    <dir>/objects/ab/...    file contents by SHA-256
    <dir>/tmp/              in-flight writes

    s3://bucket/prefix/objects/ab/...   the same objects in a bucket, with the catalog given
                                        apart (PostgreSQL for a team, SQLite for one machine)

The location is ``dv.init(dir=...)``, else ``$DSVIZ_DIR``, else ``~/.dsviz``; the catalog is
``dv.init(catalog=...)``, else ``$DSVIZ_CATALOG`` (for the default location and for ``s3://``
ones), else ``<dir>/catalog.sqlite``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
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
from dsviz_widget.artifacts._catalog_open import is_url, open_catalog
from dsviz_widget.artifacts._manifest import Entry, Manifest
from dsviz_widget.artifacts._objects import ObjectStore, check_digest, link_error, unlink_quietly
from dsviz_widget.artifacts._prefetch import fetch_objects
from dsviz_widget.artifacts._remote import Objects, RemoteObjects
from dsviz_widget.artifacts._s3 import S3ObjectStore, default_cache_dir, parse_url

DEFAULT_DIR = "~/.dsviz"
_open: dict[tuple[str, str], Store] = {}
_open_lock = threading.Lock()


def default_root() -> Path:
    """``$DSVIZ_DIR`` if set, else ``~/.dsviz``, as a path (see :func:`resolve_location`)."""
    return Path(os.environ.get("DSVIZ_DIR") or DEFAULT_DIR).expanduser()


def is_remote(location: str) -> bool:
    """True for an ``s3://`` store location."""
    return location.startswith("s3://")


def local_dir(location: str) -> Path:
    """The local working directory of the store at ``location`` (as :func:`open_store`
    normalises it): the directory itself, or for an ``s3://`` store a directory of the read
    cache keyed by bucket and prefix (temporary files, pinned copies, the widget's state)."""
    if is_remote(location):
        bucket, prefix = parse_url(location)
        return default_cache_dir() / "stores" / bucket / (prefix or "_")
    return Path(location)


class Store:
    """One store: its objects (a directory or a bucket) and its catalog.

    Use :func:`open_store` to share instances per (location, catalog).

    ``location`` (the resolved directory, or the ``s3://`` URL) and ``catalog_location`` say
    which store this is wherever a table read from it goes (``TableOrigin``, the widget's
    version picker, lineage); ``workdir`` is a local directory for what stays on this machine.
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None = None,
        catalog: str | os.PathLike[str] | None = None,
    ) -> None:
        location, catalog = resolve_location(location, catalog)
        self.location = location
        self.catalog_location = catalog
        self.workdir = local_dir(location)
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise store_error(f"cannot create the store directory {self.workdir}", exc) from exc
        self._manifests: dict[str, Manifest] = {}
        self.objects: Objects
        if not is_remote(location):
            self.objects = ObjectStore(self.workdir)
            self._open_catalog(catalog)
            return
        # The probe of conditional writes (a server never seen) runs while the catalog opens
        # (PostgreSQL's import, connect and schema check cost more than the probe); its
        # verdict is waited for before the store is used, and its error comes first, as when
        # it ran first (docs/team-store.md).
        remote = S3ObjectStore(location, probe_in_background=True)
        try:
            self.objects = RemoteObjects(remote, self.workdir)
            self._open_catalog(catalog)
        except BaseException:
            remote.opened()
            raise
        try:
            remote.opened()
        except BaseException:
            if hasattr(self.catalog, "close"):
                self.catalog.close()
            raise

    def _open_catalog(self, catalog: str) -> None:
        if not is_url(catalog):
            try:
                Path(catalog).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                what = f"cannot create the catalog's directory for {catalog}"
                raise store_error(what, exc) from exc
            # SQLite follows links: a catalog (or its journal) linked elsewhere would be
            # written there.
            for suffix in ("", "-wal", "-shm"):
                path = Path(catalog + suffix)
                if path.is_symlink():
                    raise link_error(path)
        self.catalog = open_catalog(catalog)

    def set_cache_size(self, size: int) -> None:
        """Bound the read cache of an ``s3://`` store to ``size`` bytes (evicting now); a
        local store has no cache."""
        if isinstance(self.objects, RemoteObjects):
            self.objects.set_cache_size(size)

    @property
    def remote(self) -> bool:
        """True when the objects are in a bucket (every access is a round trip)."""
        return is_remote(self.location)

    def __repr__(self) -> str:
        if self.catalog_location == _default_catalog(self.location):
            return f"Store({self.location!r})"
        return f"Store({self.location!r}, catalog={self.catalog_location!r})"

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

        On ``s3://`` the age of an object is the server's ``LastModified``; a reused object
        is not refreshed (S3 has no cheap touch) and needs not be: the catalog's lock keeps
        gc out from a save's first object to its publication (docs/team-store.md).
        """
        report = GcReport()
        with self.catalog.hold_exclusive():
            keep = self._referenced()
            cutoff = time.time() - grace_seconds
            if isinstance(self.objects, RemoteObjects):
                _sweep_remote(self.objects, keep, cutoff, report)
            elif isinstance(self.objects, ObjectStore):
                _sweep_local(self.objects, keep, cutoff, report)
        return report

    def _referenced(self) -> set[str]:
        keep: set[str] = set()
        for artifact, version, manifest_digest in self.catalog.manifests():
            keep.add(manifest_digest)
            label = f"{artifact}:v{version}"
            manifest = Manifest.from_bytes(
                self.objects.read(manifest_digest, f"manifest of {label}"), label
            )
            keep.update(d for entry in manifest.entries.values() for d in entry.objects)
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

    def prefetch_blobs(self, digests: Iterable[str]) -> None:
        """Fetch the media files ``digests`` at once, ahead of their reads (a store in a
        bucket; nothing for a local one). A table read from this store finds it through its
        reader, this store's :meth:`read_blob`."""
        fetch_objects(self.objects, ((d, f"media file {d[:12]}") for d in digests))

    def verify(self) -> VerifyReport:
        """Check every file every version refers to; names each missing or damaged file.

        A symbolic link in the store's own directories raises a :class:`StoreError` naming it.
        """
        report = VerifyReport()
        for artifact, version, manifest_digest in self.catalog.manifests():
            label = f"{artifact}:v{version}"
            # Hashed like every other object: read, it may come from a cache (s3://).
            self._check(report, manifest_digest, f"manifest of {label}")
            if manifest_digest in report.bad:
                continue
            try:
                manifest = Manifest.from_bytes(
                    self.objects.read(manifest_digest, f"manifest of {label}"), label
                )
            except (IntegrityError, ValidationError) as exc:
                report.problems.append(str(exc))
                continue
            for name, entry in manifest.entries.items():
                self._check(report, entry.digest, f"{label} entry {name!r}")
                if entry.head is not None:
                    self._check(report, entry.head, f"{label} entry {name!r} (its first rows)")
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
    #: ``s3://`` only, both older than the grace period: probe keys of opens that never
    #: cleaned up, and unfinished multipart uploads (a writer killed mid-upload) aborted.
    removed_probes: int = 0
    aborted_uploads: int = 0


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


def _sweep_local(objects: ObjectStore, keep: set[str], cutoff: float, report: GcReport) -> None:
    scan = objects.scan()
    report.foreign = len(scan.foreign)
    for digest, st in scan.objects.items():
        if digest in keep:
            continue
        if st.st_mtime >= cutoff:
            report.kept_young += 1
        elif objects.remove_object(digest, st):
            report.removed_bytes += st.st_size
            report.removed_objects += 1
        else:
            report.foreign += 1
    for name, st in scan.tmp.items():
        if st.st_mtime < cutoff and objects.remove_tmp(name, st):
            report.removed_bytes += st.st_size
            report.removed_tmp += 1


def _sweep_remote(objects: RemoteObjects, keep: set[str], cutoff: float, report: GcReport) -> None:
    """Unreferenced objects older than ``cutoff`` by the server's clock of when they were
    written (``LastModified``); keys outside the layout are never listed, so never removed."""
    for obj in objects.iter_objects():
        if obj.digest in keep:
            continue
        if obj.modified.timestamp() >= cutoff:
            report.kept_young += 1
            continue
        objects.delete(obj.digest)
        report.removed_bytes += obj.size
        report.removed_objects += 1
    for path, size in objects.stale_tmp(cutoff):
        unlink_quietly(path)
        report.removed_bytes += size
        report.removed_tmp += 1
    # Only the store's own names under its prefix: probe keys, uploads to object/probe keys.
    for key in list(objects.stale_probes(cutoff)):
        objects.remote.delete_probe(key)
        report.removed_probes += 1
    for upload in list(objects.stale_uploads(cutoff)):
        objects.remote.abort_upload(upload)
        report.aborted_uploads += 1


def _default_catalog(location: str) -> str | None:
    return None if is_remote(location) else str(Path(location) / "catalog.sqlite")


def resolve_location(
    location: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
) -> tuple[str, str]:
    """(location, catalog) as :func:`open_store` normalises them (see the module's notes)."""
    given = location is not None
    raw = (
        os.fspath(location) if location is not None else os.environ.get("DSVIZ_DIR") or DEFAULT_DIR
    )
    if "\x00" in raw:
        raise NotFoundError("store directory contains a NUL byte")
    where = raw if is_remote(raw) else str(Path(raw).expanduser().resolve())
    if is_url(where) and not is_remote(where):
        raise ValidationError(
            f"a store location is a directory or s3://bucket/prefix, not {where!r}"
        )
    if is_remote(where):
        parse_url(where)  # checked now, with the URL in the message
    cat: str | None
    if catalog is not None:
        cat = os.fspath(catalog)
    elif not given or is_remote(where):
        cat = os.environ.get("DSVIZ_CATALOG") or None
    else:
        cat = None
    if cat is None:
        cat = _default_catalog(where)
    if cat is None:
        raise ValidationError(
            f"the store {where} needs a catalog: catalog='postgresql://user@host/db' (or "
            "$DSVIZ_CATALOG) for a team sharing it from several machines, or a local SQLite "
            "path such as catalog='~/dsviz-catalog.sqlite' for one machine only; the catalog "
            "is never kept in the bucket"
        )
    if "\x00" in cat:
        raise NotFoundError("catalog path contains a NUL byte")
    if is_url(cat):
        if is_remote(cat):
            raise ValidationError(
                f"a catalog cannot live in a bucket ({cat}): give a postgresql:// URL, or a "
                "local SQLite path for one machine"
            )
    else:
        # Only the directory is resolved: a catalog file that is a link must stay visible as
        # one, so that Store refuses it instead of writing wherever it points.
        path = Path(cat).expanduser()
        cat = str(path.parent.resolve() / path.name)
    return where, cat


def store_exists(location: str, catalog: str) -> bool:
    """True if a store was made at (location, catalog), without making one."""
    if not is_remote(location) and not Path(location).is_dir():
        return False
    return is_url(catalog) or Path(catalog).is_file()


def open_store(
    location: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
) -> Store:
    """The store at ``location`` with ``catalog``, opened once per process.

    Parameters
    ----------
    location : path or ``s3://bucket/prefix``, optional
        Default ``$DSVIZ_DIR``, else ``~/.dsviz``. An ``s3://`` location reads its endpoint
        and credentials from the AWS variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
        ...), and its server must enforce conditional writes.
    catalog : path or ``postgresql://`` URL, optional
        Default ``$DSVIZ_CATALOG`` for the default location and for ``s3://`` ones, else
        ``<dir>/catalog.sqlite``; required with an ``s3://`` location.

    Examples
    --------
    >>> import tempfile
    >>> store = open_store(tempfile.mkdtemp())
    >>> store.catalog_location.endswith("catalog.sqlite")
    True
    """
    key = resolve_location(location, catalog)
    with _open_lock:
        store = _open.get(key)
        if store is None:
            store = _open[key] = Store(*key)
        return store
