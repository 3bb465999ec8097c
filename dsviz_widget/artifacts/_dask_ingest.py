"""Logging a Dask table: the workers write the partitions, the client publishes the version.

``Artifact.add(dv.Table(dataframe=dask_df), name)`` then ``log_artifact`` runs here:

1. Each partition is a task (``write_part``) on whichever scheduler is in force (a
   ``dask.distributed`` client's workers, else Dask's local threads). The worker builds the
   partition as ``Table(dataframe=partition)`` would (``_table_dask.PartitionRules``), stores
   its media files (images, masks, audio) in the store's objects, and writes the rows,
   derived columns included, as one Parquet *part*, through the same writer as a local
   table's (``_serialize.write_rows``), straight into the object store. It sends back only
   the part's digest, size, row count, schema, the class lists and a summary of what its
   images' overlays hold, and the media files it stored.
2. The client checks that the parts have the same columns (a clear error naming the
   partition and column otherwise) and plans the derived columns of the whole table from
   the summaries, in partition order: the plan a single machine would make
   (``_derived.plan_from_stats``). A part whose own plan differs (its images lacked a class
   others have) is rewritten by a worker with the whole table's plan, from its stored rows.
3. The client writes the table entry (a Parquet file of no rows with the whole table's
   schema and metadata) and one media index, and the artifact publishes the version in one
   catalog transaction, as for any table. Row ids are global, in partition order.

Workers reach the objects through an :class:`ObjectsOpener`, a picklable description of the
store's object store (a local store's directory, or an ``s3://`` URL and its config), opened
once per worker process. A failed partition or a worker that dies is a
:class:`DaskIngestError` (or the partition's own ``ValidationError``) naming the partition;
nothing is published, and what the other workers stored is garbage for ``dv.gc()``.
"""

from __future__ import annotations

import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget import _derived
from dsviz_widget._errors import DsvizError, StoreError, ValidationError
from dsviz_widget._format import storage_field, table_metadata
from dsviz_widget._storage import Layout
from dsviz_widget._table_dask import PartitionRules, dask_rows
from dsviz_widget._table_memory import MemoryColumns
from dsviz_widget._table_parquet import ParquetColumns
from dsviz_widget.artifacts._manifest import (
    MEDIA_INDEX_SUFFIX,
    OBJECT_SUFFIXES,
    Entry,
    table_part,
)
from dsviz_widget.artifacts._objects import ObjectStore, unlink_quietly
from dsviz_widget.artifacts._remote import RemoteObjects
from dsviz_widget.artifacts._s3 import S3Config, S3ObjectStore
from dsviz_widget.engine._source import check_same_columns
from dsviz_widget.media import Blob

if TYPE_CHECKING:
    from dsviz_widget.artifacts._store import Store
    from dsviz_widget.table import Table

Objects = ObjectStore | S3ObjectStore
#: digest -> (file extension, size, the artifact version the file is borrowed from).
MediaIndex = dict[str, tuple[str, int, tuple[str, int] | None]]


class DaskIngestError(StoreError):
    """A partition of a Dask table could not be written (its worker died, or the store
    failed); the message names the partition. Nothing was published."""


# -- how a worker reaches the objects ---------------------------------------------------------
@dataclass(frozen=True)
class ObjectsOpener:
    """A picklable description of a store's object store, opened on the worker.

    ``root``: a local store's directory (the workers must see the same filesystem);
    ``url`` + ``config``: an S3-compatible bucket. Opened once per worker process (the S3
    client and its connections are reused by every partition the worker writes); the
    open-time probe of conditional writes is the client's, done when the store was opened.
    """

    root: str | None = None
    url: str | None = None
    config: S3Config | None = None

    def open(self) -> Objects:
        with _opened_lock:
            got = _opened.get(self)
            if got is None:
                if self.url is not None:
                    got = S3ObjectStore(self.url, self.config, check=False)
                elif self.root is not None:
                    got = ObjectStore(Path(self.root))
                else:
                    raise ValidationError("an ObjectsOpener needs a store root or an s3:// URL")
                _opened[self] = got
            return got


_opened: dict[ObjectsOpener, Objects] = {}
_opened_lock = threading.Lock()


def opener_for(objects: Objects) -> ObjectsOpener:
    """How workers open ``objects`` (a store's ``ObjectStore`` or ``S3ObjectStore``)."""
    if isinstance(objects, S3ObjectStore):
        return ObjectsOpener(url=objects.url, config=objects.config)
    return ObjectsOpener(root=str(objects.root.resolve()))


def _backend(store: Store) -> Objects:
    """The object store under a Store's: an S3 store's objects are wrapped (``_remote``) with
    the local working directory the client uses; workers and part uploads use the bucket."""
    objects = store.objects
    if isinstance(objects, RemoteObjects):
        return objects.remote
    if isinstance(objects, ObjectStore | S3ObjectStore):
        return objects
    raise TypeError(f"no Dask ingest into {objects!r}")


def _stored_size(objects: Objects, digest: str) -> int | None:
    if isinstance(objects, ObjectStore):
        return objects.claim(digest)  # refreshes the mtime: gc's grace period covers the save
    return objects.size(digest)


def _store_blob(objects: Objects, blob: Blob) -> int:
    """Store one media file unless present; its size. Borrowed files are not read."""
    size = _stored_size(objects, blob.digest)
    if size is not None:
        return size
    data = blob.data()
    objects.put_bytes(data, blob.digest)
    return len(data)


def _store_file(objects: Objects, write: Callable[[Path], None]) -> tuple[str, int]:
    """Run ``write(path)`` and store the file it wrote; (digest, size)."""
    if isinstance(objects, ObjectStore):
        tmp = objects.new_tmp()  # in the store's tmp/: adopted by a link, never copied
        try:
            write(tmp)
        except BaseException:
            unlink_quietly(tmp)
            raise
        return objects.adopt(tmp)
    with tempfile.TemporaryDirectory(prefix="dsviz-part-") as where:
        path = Path(where) / "part.parquet"
        write(path)
        return objects.put_file(path)


@contextmanager
def _local_file(objects: Objects, digest: str, what: str) -> Iterator[Path]:
    if isinstance(objects, ObjectStore):
        yield objects.verified_path(digest, what)
    else:
        with objects.local_copy(digest, what) as path:
            yield path


def _flush(objects: Objects) -> None:
    # A local store's objects are durable only after a flush by the process that wrote them;
    # the client's flush before publishing does not cover a worker's pending files.
    if isinstance(objects, ObjectStore):
        objects.sync()


# -- what the workers run -------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    """What a worker sends back for one stored partition."""

    index: int
    digest: str
    size: int
    rows: int
    #: The part's storage schema (with its own derived columns and metadata).
    schema: pa.Schema
    derived: tuple[_derived.Derived, ...]
    #: Image column -> ``_derived.summarize`` of its cells.
    summaries: dict[str, dict[str, Any]]
    classes: dict[str, list[dict[str, Any]]]
    media: MediaIndex


def _write_rows(
    objects: Objects, memory: MemoryColumns, layout: Layout, what: str
) -> tuple[str, int, pa.Schema]:
    from dsviz_widget.artifacts._serialize import write_rows

    schema, batches = memory.storage_batches(layout=layout)
    digest, size = _store_file(objects, lambda path: write_rows(path, schema, batches, what))
    return digest, size, schema


def write_part(
    part: Any, opener: ObjectsOpener, rules: PartitionRules, index: int, of: int, name: str
) -> Part:
    """Build, store and write partition ``index`` (on a worker)."""
    what = f"partition {index} of {of} of table {name!r}"
    with _partition_errors(what):
        objects = opener.open()
        memory = rules.build(part)
        media: MediaIndex = {}
        for blob, ext in memory.media_blobs():
            if blob.digest not in media:
                ref = (blob.origin.artifact, blob.origin.version) if blob.origin else None
                media[blob.digest] = (ext, _store_blob(objects, blob), ref)
        layout = memory.layout()
        images = [n for n, kind in memory.kinds.items() if kind == "image"]
        summaries = {n: _derived.summarize(memory.distinct(n)) for n in images}
        digest, size, schema = _write_rows(objects, memory, layout, f"could not write {what}")
        _flush(objects)
        return Part(
            index,
            digest,
            size,
            memory.num_rows,
            schema,
            tuple(layout.derived),
            summaries,
            layout.classes,
            media,
        )


def rewrite_part(stored: Part, opener: ObjectsOpener, layout: Layout, of: int, name: str) -> Part:
    """Write a stored part again with the whole table's derived columns (on a worker)."""
    what = f"partition {stored.index} of {of} of table {name!r}"
    with _partition_errors(what):
        objects = opener.open()

        def read(digest: str) -> bytes:
            return objects.read(digest, f"a media file of {what}")

        with _local_file(objects, stored.digest, what) as path:
            memory = ParquetColumns([str(path)], read, None, what).materialize()
        digest, size, schema = _write_rows(objects, memory, layout, f"could not write {what}")
        _flush(objects)
        return Part(
            stored.index,
            digest,
            size,
            stored.rows,
            schema,
            tuple(layout.derived),
            stored.summaries,
            stored.classes,
            stored.media,
        )


@contextmanager
def _partition_errors(what: str) -> Iterator[None]:
    """Name the partition in any error, as an exception that pickles back to the client
    (some of ours take more than a message, and would not)."""
    try:
        yield
    except ValidationError as exc:
        raise _same_type(exc, f"{what}: {exc}") from None
    except Exception as exc:
        raise DaskIngestError(f"{what}: {type(exc).__name__}: {exc}") from None


def _same_type(exc: ValidationError, message: str) -> ValidationError:
    try:
        return type(exc)(message)
    except TypeError:
        return ValidationError(message)


# -- the client -----------------------------------------------------------------------------
def write_table(store: Store, name: str, table: Table, part: bool = False) -> dict[str, Entry]:
    """Write a Dask-backed table's partitions from the workers; its manifest entries."""
    from dask.delayed import delayed

    rows = dask_rows(table)
    assert rows is not None
    opener = opener_for(_backend(store))
    partitions = rows.partitions()
    of = len(partitions)
    token = uuid.uuid4().hex[:12]
    task = delayed(write_part, pure=False)
    parts: list[Part] = _compute(
        [
            task(p, opener, rows.rules, i, of, name, dask_key_name=_key(token, i))
            for i, p in enumerate(partitions)
        ],
        name,
        of,
    )
    # Empty partitions hold no rows, and their columns' kinds may be unknown (no values).
    kept = [p for p in parts if p.rows] or parts[:1]
    if not kept:
        raise ValidationError(f"cannot log table {name!r}: the Dask collection has no partitions")
    columns = _columns(kept[0])
    for p in kept[1:]:
        _check_columns(kept[0], p, name)
    layout = _whole_layout(kept, columns)
    stale = [p for p in kept if list(p.derived) != layout.derived]
    if stale:
        task = delayed(rewrite_part, pure=False)
        fixed = _compute(
            [
                task(p, opener, layout, of, name, dask_key_name=_key(token, p.index, "rewrite"))
                for p in stale
            ],
            name,
            of,
        )
        by_index = {p.index: p for p in fixed}
        kept = [by_index.get(p.index, p) for p in kept]
    return _entries(store, name, kept, columns, layout, part)


def _key(token: str, index: int, step: str = "write") -> str:
    return f"dsviz-{step}-{token}-{index}"


_KEY = re.compile(r"dsviz-(?:write|rewrite)-[0-9a-f]{12}-([0-9]+)")


def _compute(tasks: Sequence[Any], name: str, of: int) -> list[Part]:
    from dask.base import compute

    try:
        return list(compute(*tasks))  # type: ignore[no-untyped-call]
    except DsvizError:
        raise  # from a partition, which it names
    except Exception as exc:
        # A worker that died (distributed's KilledWorker names the task) or a scheduler
        # failure: nothing is published; what was stored is unreferenced, for gc.
        where = _failed_partition(exc, tasks)
        raise DaskIngestError(
            f"logging table {name!r} failed at "
            f"{f'partition {where} of {of}' if where is not None else f'one of {of} partitions'}"
            f": {type(exc).__name__}: {exc}; nothing was published"
        ) from exc


def _failed_partition(exc: BaseException, tasks: Sequence[Any]) -> int | None:
    """The partition whose task (ours, or one it depends on: the user's graph making the
    partition) a scheduler error names; None when no single partition's graph has it."""
    task = getattr(exc, "task", None)
    found = _KEY.search(str(task if task is not None else exc))
    if found:
        return int(found.group(1))
    if task is None:
        return None
    # Only on failure: each partition's task graph, culled to what that task needs (a
    # partition's delayed object carries the whole collection's graph), is looked through.
    hits = [i for i, t in enumerate(tasks) if task in t.__dask_graph__().cull({t.key})]
    return hits[0] if len(hits) == 1 else None


def _columns(p: Part) -> list[pa.Field]:
    derived = {d.name for d in p.derived}
    return [f for f in p.schema if f.name not in derived]


def _check_columns(first: Part, other: Part, name: str) -> None:
    a = pa.schema(_columns(first))
    b = pa.schema(_columns(other))
    try:
        check_same_columns(a, b, f"partition {other.index}", f"partition {first.index}")
    except ValueError as exc:
        raise ValidationError(
            f"cannot log table {name!r}: the partitions' columns differ: {exc}. Give every "
            "partition the same columns and types (e.g. with astype)"
        ) from None


def _whole_layout(parts: Sequence[Part], columns: Sequence[pa.Field]) -> Layout:
    images = [f.name for f in columns if (f.metadata or {}).get(b"dsviz.kind") == b"image"]
    stats = {n: [p.summaries[n] for p in parts] for n in images}
    derived, notes = _derived.plan_from_stats(stats, [f.name for f in columns])
    classes: dict[str, list[dict[str, Any]]] = {}
    for p in parts:
        for digest, items in p.classes.items():
            classes.setdefault(digest, items)
    return Layout(derived, notes, classes)


def _first_rows(
    store: Store, name: str, parts: Sequence[Part], schema: pa.Schema
) -> tuple[str, int] | None:
    """The head object of a big table on a remote store (``_serialize.store_head``): the
    first rows of part 0, read back from its checked bytes (the client fetches that part
    once: the workers wrote it), written with the whole table's schema and metadata."""
    from dsviz_widget.artifacts._serialize import HEAD_MIN_BYTES, store_head

    whole = (sum(p.size for p in parts), sum(p.rows for p in parts))
    if not isinstance(store.objects, RemoteObjects) or not parts or whole[0] < HEAD_MIN_BYTES:
        return None
    with _local_file(_backend(store), parts[0].digest, f"part 0 of table {name!r}") as path:
        return store_head(store, path, schema, name, whole)


def _entries(
    store: Store,
    name: str,
    parts: Sequence[Part],
    columns: Sequence[pa.Field],
    layout: Layout,
    part: bool,
) -> dict[str, Entry]:
    from dsviz_widget.artifacts._serialize import media_index_table

    fields = [*columns, *(storage_field(d.name, "derived", d.arrow_type) for d in layout.derived)]
    meta = table_metadata(layout.classes, [d.to_json() for d in layout.derived], layout.notes, None)
    schema = pa.schema(fields, metadata=meta)
    for p in parts:  # what the engine will check when it reads them, checked before publishing
        check_same_columns(schema, p.schema, f"partition {p.index}")
    head, size = _store_file(
        _backend(store), lambda path: pq.write_table(schema.empty_table(), path)
    )
    first = _first_rows(store, name, parts, schema)
    entries = {
        name + OBJECT_SUFFIXES["table"]: Entry(
            head,
            size,
            kind="table",
            part=part,
            head=first[0] if first else None,
            rows=first[1] if first else None,
        )
    }
    for i, p in enumerate(parts):
        entries[table_part(name, i)] = Entry(p.digest, p.size, kind="table-part", part=part)
    media: MediaIndex = {}
    for p in parts:
        for digest, info in p.media.items():
            media.setdefault(digest, info)
    if media:
        index = media_index_table(media)
        digest, size = _store_file(_backend(store), lambda path: pq.write_table(index, path))
        entries[name + MEDIA_INDEX_SUFFIX] = Entry(digest, size, kind="media-index", part=part)
    return entries
