"""How each media object becomes artifact entries, and how entries become objects again.

Entry names for an object added as ``name``:

- ``Table``: ``name.table.parquet`` and, when it has media, ``name.media.parquet`` (an index
  of the media files its rows use: digest, extension, size, and the artifact version it is
  borrowed from). Media bytes are objects by digest, so a table of 100M rows does not
  make a manifest of 100M lines.
- ``JoinedTable``: ``name.joined-table.json`` plus its two tables under ``name.joined/``;
  tables that are already logged are borrowed (``ref``), not copied.
- ``Image`` / ``Audio``: ``name.image.json`` / ``name.audio.json`` plus ``media/..`` entries.
- ``Classes``: ``name.classes.json``. Plain files: the name itself.

Each entry also records its kind in the manifest (``_manifest.KINDS``); reading goes by
the kind, and ``claims`` lists the entry names an object will take, so that two things added
to one artifact can never be stored under the same entry name.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import json
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsviz_widget import _storage
from dsviz_widget._digest import canonical_json, sha256_bytes
from dsviz_widget._errors import IntegrityError, NotFoundError, ValidationError
from dsviz_widget._format import metadata_of, with_foreign_keys
from dsviz_widget._progress import progress_bar
from dsviz_widget._table_dask import dask_rows
from dsviz_widget.artifacts._catalog import VersionRow
from dsviz_widget.artifacts._manifest import (
    MEDIA_INDEX_SUFFIX,
    OBJECT_SUFFIXES,
    DraftEntry,
    Entry,
    Manifest,
    joined_part,
    media_entry,
    part_index,
)
from dsviz_widget.artifacts._objects import io_step, unlink_quietly
from dsviz_widget.artifacts._reference import LocalFile, check_copied
from dsviz_widget.artifacts._remote import pin, start_download
from dsviz_widget.artifacts._store import Store
from dsviz_widget.media import Audio, Blob, Classes, Image, Origin
from dsviz_widget.table import JoinedTable, Table, TableOrigin, restore_foreign_keys

CLASSES: dict[str, type] = {
    "table": Table,
    "joined-table": JoinedTable,
    "image": Image,
    "audio": Audio,
    "classes": Classes,
}
#: Entry-name suffix -> class, for code that lists tables from a manifest's names.
SUFFIXES = {OBJECT_SUFFIXES[kind]: cls for kind, cls in CLASSES.items()}
_TABLE, _INDEX = OBJECT_SUFFIXES["table"], MEDIA_INDEX_SUFFIX
MEDIA_INDEX = pa.schema(
    [
        ("digest", pa.string()),
        ("ext", pa.string()),
        ("size", pa.int64()),
        ("ref_artifact", pa.string()),
        ("ref_version", pa.int64()),
    ]
)


# -- writing ---------------------------------------------------------------------------------
def kind_of(obj: Any) -> str:
    """The manifest kind of an object ``Artifact.add`` accepts."""
    for kind, cls in CLASSES.items():
        if isinstance(obj, cls):
            return kind
    raise ValidationError(f"cannot add {type(obj).__name__} to an artifact")


def claims(name: str, kind: str) -> list[str]:
    """The entry names something added as ``name`` may be stored under (media files aside:
    they are named by digest and shared). A table claims its media index even if it has no
    media, so that whether two names collide never depends on the data."""
    if kind == "file":
        return [name]
    if kind == "table":
        return [name + _TABLE, name + _INDEX]
    if kind == "joined-table":
        parts = [c for p in ("table1", "table2") for c in claims(joined_part(name, p), "table")]
        return [name + OBJECT_SUFFIXES[kind], *parts]
    return [name + OBJECT_SUFFIXES[kind]]


def table_names(objects: Mapping[str, Any]) -> dict[int, str]:
    """The name each table of an artifact is stored under, by object identity (a joined
    table's parts too): what a foreign key to one of them is stored as."""
    out: dict[int, str] = {}
    for name, obj in objects.items():
        if isinstance(obj, Table):
            out.setdefault(id(obj), name)
        elif isinstance(obj, JoinedTable):
            for part, table in (("table1", obj.table1), ("table2", obj.table2)):
                out.setdefault(id(table), joined_part(name, part))
    return out


def write(
    store: Store, name: str, obj: Any, tables: Mapping[int, str] | None = None
) -> dict[str, Entry]:
    """The entries of ``obj`` added as ``name``, its files written; ``tables`` is
    :func:`table_names` of the artifact (where foreign keys point)."""
    kind = kind_of(obj)
    tables = {} if tables is None else tables
    if kind == "table":
        return _write_table(store, name, obj, tables=tables)
    if kind == "joined-table":
        return _write_joined(store, name, obj, tables)
    entry = name + OBJECT_SUFFIXES[kind]
    doc = _description(obj, kind)
    blobs = obj._storage_blobs() if kind in ("image", "audio") else []
    return {**_write_blobs(store, blobs), entry: _put_json(store, doc, kind)}


def _description(obj: Any, kind: str) -> Any:
    """The JSON stored for an image, a clip or a class list."""
    if kind == "image":
        return {
            "record": obj._storage_record(),
            "classes": obj.classes.to_json() if obj.classes else None,
        }
    if kind == "audio":
        return {"record": obj._storage_record()}
    return obj.to_json()


def draft_entries(name: str, obj: Any) -> dict[str, DraftEntry]:
    """The entries ``obj`` added as ``name`` will have, before it is logged: digests and
    sizes where known without writing anything (a description's, a media file's)."""
    kind = kind_of(obj)
    entry = claims(name, kind)[0]
    if kind in ("table", "joined-table"):
        return {entry: DraftEntry(entry, kind)}
    out = {}
    if kind in ("image", "audio"):
        for blob, _ in obj._storage_blobs():
            media = media_entry(blob.digest)
            out[media] = DraftEntry(media, "media", blob.digest, len(blob.data()))
    data = canonical_json(_description(obj, kind))
    out[entry] = DraftEntry(entry, kind, sha256_bytes(data), len(data))
    return out


def write_file(store: Store, name: str, local: LocalFile) -> Entry:
    """Copy a local file into the store; a reference must still have the bytes it had when
    it was added (``check_copied``), and keeps its URI as the entry's ``source``."""
    digest, size = store.objects.put_file(local.path)
    check_copied(name, local, digest)
    return Entry(digest, size, kind="file", source=local.source)


def _put_json(store: Store, doc: Any, kind: str) -> Entry:
    data = canonical_json(doc)
    return Entry(store.objects.put_bytes(data), len(data), kind=kind)


def _ref(blob: Blob) -> tuple[str, int] | None:
    return (blob.origin.artifact, blob.origin.version) if blob.origin is not None else None


def _store_blob(store: Store, blob: Blob) -> int:
    """Store one media file unless present; returns its size. Borrowed files are not read."""
    if store.remote and blob.origin is None:
        data = blob.data()  # in memory already (or a small file)
        if len(data) <= _PUT_UNASKED:
            # A conditional PUT answers "stored already" itself: one round trip, not two.
            store.objects.put_bytes(data, blob.digest)
            return len(data)
    size = store.objects.claim(blob.digest)
    if size is not None:
        return size
    data = blob.data()
    store.objects.put_bytes(data, blob.digest)
    return len(data)


def _distinct(blobs: Iterator[tuple[Blob, str]]) -> Iterator[tuple[Blob, str]]:
    seen: set[str] = set()
    for blob, ext in blobs:
        if blob.digest not in seen:
            seen.add(blob.digest)
            yield blob, ext


#: Media files in flight at once to a remote store.
_UPLOADS = 16
#: Media files up to this size go to a remote store without asking first whether it has them.
_PUT_UNASKED = 1 << 20


def _store_media(
    store: Store, blobs: Iterator[tuple[Blob, str]]
) -> Iterator[tuple[Blob, str, int]]:
    """``(blob, ext, size)`` for each media file, stored, in order.

    To a remote store each file is a round trip or two (is it there? store it), so up to
    ``_UPLOADS`` go at once, in a window that keeps memory bounded; the first failure is
    raised in order, after the files in flight have finished (nothing is written once the
    save has failed). Locally, one after another: the writes are disk-bound, and the local
    store's flush before publishing covers the objects of the saving thread.
    """
    if not store.remote:
        for blob, ext in blobs:
            yield blob, ext, _store_blob(store, blob)
        return
    window: collections.deque[tuple[Blob, str, Future[int]]] = collections.deque()
    with ThreadPoolExecutor(_UPLOADS, thread_name_prefix="dsviz-upload") as pool:
        try:
            for blob, ext in blobs:
                window.append((blob, ext, pool.submit(_store_blob, store, blob)))
                if len(window) >= 2 * _UPLOADS:
                    done, done_ext, future = window.popleft()
                    yield done, done_ext, future.result()
            while window:
                done, done_ext, future = window.popleft()
                yield done, done_ext, future.result()
        finally:
            for _, _, future in window:
                future.cancel()


def _write_blobs(store: Store, blobs: list[tuple[Blob, str]]) -> dict[str, Entry]:
    return {
        media_entry(b.digest): Entry(b.digest, _store_blob(store, b), _ref(b), "media")
        for b, _ in blobs
    }


def _foreign_keys(
    store: Store, name: str, table: Table, tables: Mapping[int, str]
) -> tuple[dict[str, Any], dict[str, Entry]]:
    """What ``set_fk`` stores for ``table`` (``_format.with_foreign_keys``), and the entries
    of referenced tables stored with it.

    A referenced table added to the same artifact is named by its entry; one read from a
    version of this store by that version. Any other is stored with this table as a part
    (``<name>.keys/<i>``), as W&B adds a referenced table to the artifact.
    """
    keys: dict[str, Any] = {}
    extra: dict[str, Entry] = {}
    for i, (column, (other, other_column)) in enumerate(sorted(table.foreign_keys.items())):
        target = tables.get(id(other))
        origin = other.origin
        if target is not None:
            keys[column] = {"table": target, "column": other_column}
        elif origin is not None and _same_store(store, origin):
            keys[column] = {
                "artifact": origin.artifact,
                "version": origin.version,
                "table": origin.entry,
                "column": other_column,
            }
        else:
            hidden = f"{name}.keys/{i}"
            # Known before it is written, so a key back to it (a cycle) names it.
            inner = {**tables, id(other): hidden}
            extra.update(_write_table(store, hidden, other, part=True, tables=inner))
            keys[column] = {"table": hidden, "column": other_column}
    return keys, extra


def _same_store(store: Store, origin: TableOrigin) -> bool:
    return (origin.location, origin.catalog) == (store.location, store.catalog_location)


def _write_table(
    store: Store,
    name: str,
    table: Table,
    part: bool = False,
    tables: Mapping[int, str] | None = None,
) -> dict[str, Entry]:
    origin = table.origin
    if origin is not None and _same_store(store, origin):
        # Borrow the stored files: a manifest line each, no bytes written. The kind comes
        # along; whether it is a joined table's part depends on where it is added now.
        ref = (origin.artifact, origin.version)
        return {
            f"{name}{suffix}": dataclasses.replace(e, ref=e.ref or ref, part=part)
            for suffix, e in origin.entries.items()
        }
    if dask_rows(table) is not None:
        # Imported here: the Dask ingest writes its parts with this module's writers.
        from dsviz_widget.artifacts import _dask_ingest

        return _dask_ingest.write_table(store, name, table, part)
    index: dict[str, tuple[str, int, tuple[str, int] | None]] = {}
    bar = progress_bar(desc=f"storing media of {name!r}", unit="file")
    try:
        for blob, ext, size in _store_media(store, _distinct(_storage.media_blobs(table))):
            index[blob.digest] = (ext, size, _ref(blob))
            bar.update(1)
    finally:
        bar.close()
    schema, batches = _storage.storage_batches(table)
    keys, key_entries = _foreign_keys(store, name, table, {} if tables is None else tables)
    if keys:
        schema = with_foreign_keys(schema, keys)
    tmp = store.objects.new_tmp()
    bar = progress_bar(desc=f"writing {name!r}", total=len(table), unit="row")
    try:
        write_rows(tmp, schema, batches, f"could not write table {name!r} to {tmp.parent}", bar)
    except BaseException:
        unlink_quietly(tmp)
        raise
    finally:
        bar.close()
    try:
        head = store_head(store, tmp, schema, name)
        digest, size = store.objects.adopt(tmp)
    except BaseException:
        unlink_quietly(tmp)
        raise
    head_digest, rows = head if head is not None else (None, None)
    entries = {
        **key_entries,
        name + _TABLE: Entry(digest, size, kind="table", part=part, head=head_digest, rows=rows),
    }
    if index:
        media = media_index_table(index)
        tmp = store.objects.new_tmp()
        try:
            with io_step(f"could not write the media index of {name!r} to {tmp.parent}"):
                pq.write_table(media, tmp)
        except BaseException:
            unlink_quietly(tmp)
            raise
        mdigest, msize = store.objects.adopt(tmp)
        entries[name + _INDEX] = Entry(mdigest, msize, kind="media-index", part=part)
    return entries


def write_rows(
    path: Path,
    schema: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    what: str,
    bar: Any = None,
) -> None:
    """Write a table's storage batches to the Parquet file ``path`` (every table's Parquet,
    a local one's or a Dask partition's, is written here); ``what`` says what failed."""
    first = next(batches)
    rest = _prefetched(batches)
    try:
        with (
            io_step(what),
            pq.ParquetWriter(path, schema, **_writer_options(schema, first)) as writer,
        ):
            for batch in itertools.chain([first], rest):
                writer.write_batch(batch)
                if bar is not None:
                    bar.update(batch.num_rows)
    finally:
        rest.close()  # a failed write stops the reader now, not when the traceback is freed


#: A table's Parquet object from this size up, on a remote store, gets a head object (its
#: first rows) so that a cold read shows a page before the whole object is downloaded.
HEAD_MIN_BYTES = 8 << 20
#: At most this many rows in a head: the widget's first page is 50 rows, and a user scrolling
#: a few hundred pages while the whole object downloads stays inside it ...
HEAD_ROWS = 20_000
#: ... and about this many bytes (fewer rows when rows are wide), so that fetching the head
#: costs one small GET (well under ``_ranged.RANGE``), not a fraction of the download.
HEAD_BYTES = 4 << 20


def store_head(
    store: Store,
    path: Path,
    schema: pa.Schema,
    name: str,
    whole: tuple[int, int] | None = None,
) -> tuple[str, int] | None:
    """Store the head object of the table whose Parquet file is ``path``, when it needs one:
    (its digest, the table's row count), else None.

    The head holds the file's first ``min(HEAD_ROWS, ~HEAD_BYTES worth)`` rows, written by
    :func:`write_rows` with the table's ``schema`` (same columns, kinds, metadata and writer
    settings), so a reader may show them as the table's first rows (``_row`` 0, 1, ...).
    ``whole``: the whole table's (bytes, rows) when ``path`` is only its first part (a Dask
    ingest). Local stores get none (opening a table there reads no more than its footer).
    """
    file_bytes = path.stat().st_size  # this file's (the first part's, of a Dask ingest)
    table_bytes = file_bytes if whole is None else whole[0]
    if not store.remote or table_bytes < HEAD_MIN_BYTES:
        return None
    with io_step(f"could not read back {name!r} to write its first rows"):
        file = pq.ParquetFile(path)
        total = file.metadata.num_rows
        # Rows per byte of this file decide how many rows make ~HEAD_BYTES.
        want = min(HEAD_ROWS, max(1_000, HEAD_BYTES * total // max(file_bytes, 1)))
        if want >= total:
            return None  # the head would be the whole table: nothing to show sooner
        batches: list[pa.RecordBatch] = []
        got = 0
        for batch in file.iter_batches(batch_size=want):
            batches.append(batch.slice(0, want - got))
            got += batches[-1].num_rows
            if got >= want:
                break
    if not batches:
        return None
    tmp = store.objects.new_tmp()
    try:
        write_rows(tmp, schema, iter(batches), f"could not write the first rows of {name!r}")
        digest, _ = store.objects.adopt(tmp)
    except BaseException:
        unlink_quietly(tmp)
        raise
    return digest, total if whole is None else whole[1]


def media_index_table(index: Mapping[str, tuple[str, int, tuple[str, int] | None]]) -> pa.Table:
    """The rows of a media index, by digest."""
    rows = sorted(index.items())
    return pa.table(
        [
            [d for d, _ in rows],
            [v[0] for _, v in rows],
            [v[1] for _, v in rows],
            [v[2][0] if v[2] else None for _, v in rows],
            [v[2][1] if v[2] else None for _, v in rows],
        ],
        schema=MEDIA_INDEX,
    )


def _prefetched(
    batches: Iterator[pa.RecordBatch], depth: int = 2
) -> Generator[pa.RecordBatch, None, None]:
    """``batches``, read ``depth`` ahead in a thread while the caller writes.

    Reading (Parquet decoding, or building derived and media columns) and writing (encoding,
    compression) each take about half of a log and both release the GIL, so on two cores the
    overlap is most of the gap to PyArrow reading the whole file at once -- for ``depth`` more
    batches of memory, not the whole table. An error while reading is raised here, in order;
    when the caller stops early the reader stops at its next batch.
    """
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
        except BaseException as exc:  # handed to the writer's thread, raised there
            put(("error", exc))
            return
        put(("end", None))

    reader = threading.Thread(target=read, name="dsviz-log-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


#: Rows per Parquet data page. Small pages let the engine read one row of a column from one
#: page (engine/_pagerows.py: a page of a sorted view, 50 rows scattered over the file, in
#: ~10 ms instead of DuckDB's ~40 ms at 10M rows); DuckDB scans pages of 2,048 rows (its
#: vector size) as fast as 1 MB ones, smaller ones slowed its group-by ~2-3x (measured).
PAGE_ROWS = 2048


def _writer_options(schema: pa.Schema, first: pa.RecordBatch) -> dict[str, Any]:
    """How every table's Parquet is written: dictionary-encoded labels, pages of at most
    ``PAGE_ROWS`` rows with an offset index (where each page starts) and v2 headers (a
    page says how many nulls it holds), and no compression for numbers it would not shrink
    (random floats: reading them then costs no decompression)."""
    return {
        "use_dictionary": _dictionary_columns(first),
        "compression": _compression(schema, first),
        "max_rows_per_page": PAGE_ROWS,
        "write_page_index": True,
        "data_page_version": "2.0",
    }


def _compression(schema: pa.Schema, batch: pa.RecordBatch) -> dict[str, str]:
    """Snappy for every leaf column but the flat numeric ones it shrinks by less than 10%
    in ``batch`` (pyarrow's per-column setting leaves unnamed columns uncompressed, so all
    leaves are named)."""
    out = dict.fromkeys(_leaf_paths(schema), "snappy")
    codec = pa.Codec("snappy")
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        t = column.type
        if name not in out or not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            continue
        data = column.buffers()[1]
        if data is None or data.size < 4096:
            continue
        sample = data[: 1 << 20]
        if codec.compress(sample).size >= 0.9 * sample.size:
            out[name] = "none"
    return out


def _leaf_paths(schema: pa.Schema) -> list[str]:
    """The Parquet leaf column paths of ``schema`` (``a``, ``img.digest``, ``l.list.element``,
    ...), as pyarrow's writer names them. Named from the types, not by writing a file (every
    Parquet write is a write site the store's fault tests count); a name pyarrow does not use
    is ignored by it, so both spellings of a list's element are given."""
    out: list[str] = []

    def walk(path: str, t: pa.DataType) -> None:
        if isinstance(t, pa.ExtensionType):
            t = t.storage_type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_struct(t):
            for f in t:
                walk(f"{path}.{f.name}", f.type)
        elif pa.types.is_map(t):
            walk(f"{path}.key_value.key", t.key_type)
            walk(f"{path}.key_value.value", t.item_type)
        elif (
            pa.types.is_list(t)
            or pa.types.is_large_list(t)
            or pa.types.is_fixed_size_list(t)
            or pa.types.is_list_view(t)
            or pa.types.is_large_list_view(t)
        ):
            walk(f"{path}.list.element", t.value_type)
            walk(f"{path}.list.item", t.value_type)
        else:
            out.append(path)

    for f in schema:
        walk(f.name, f.type)
    return out


def _dictionary_columns(batch: pa.RecordBatch) -> list[str]:
    """String columns (and string fields of media structs) worth dictionary-encoding.

    Dictionary encoding pays for labels and repeated digests but costs ~2x write time on
    columns of mostly distinct values, where Parquet gives up on the dictionary anyway.
    """
    out = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_struct(column.type):
            parts = [(f"{name}.{f.name}", column.field(i)) for i, f in enumerate(column.type)]
        else:
            parts = [(name, column)]
        for path, values in parts:
            if (
                pa.types.is_string(values.type)
                and len(values)
                and pc.count_distinct(values).as_py() <= len(values) // 2
            ):
                out.append(path)
    return out


def _write_joined(
    store: Store, name: str, jt: JoinedTable, tables: Mapping[int, str]
) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    parts = [joined_part(name, "table1"), joined_part(name, "table2")]
    for part, table in zip(parts, (jt.table1, jt.table2), strict=True):
        entries.update(_write_table(store, part, table, part=True, tables=tables))
    doc = {"join_key": jt.join_key, "tables": parts}
    entries[name + OBJECT_SUFFIXES["joined-table"]] = _put_json(store, doc, "joined-table")
    return entries


# -- reading ---------------------------------------------------------------------------------
def find(manifest: Manifest, name: str, label: str) -> tuple[str, type | None]:
    """The entry holding ``name`` and the class it reads as (None: a plain file's path).

    Decided by the kinds the manifest records, never by the entry name's suffix.
    """
    found = manifest.find(name)
    if found is not None:
        entry_name, entry = found
        return entry_name, CLASSES.get(entry.kind)
    names = manifest.names()
    objects = sorted(n for n, kind in names.items() if kind != "file")
    files = sorted(n for n, kind in names.items() if kind == "file")
    raise NotFoundError(
        f"{label} has no entry {name!r} (objects: {objects or 'none'}; files: {files or 'none'})"
    )


def read(store: Store, row: VersionRow, name: str) -> Any:
    manifest = store.manifest(row)
    entry_name, kind = find(manifest, name, row.qualified_name)
    label = f"{row.qualified_name}/{name}"
    if kind is None:
        return store.objects.verified_path(manifest.entries[entry_name].digest, label)
    if kind is Table:
        return _read_table(store, row, manifest, name, label)
    doc = _read_json(store, manifest.entries[entry_name], label)
    origin_of = _origin_of(row)
    try:
        if kind is JoinedTable:
            t1, t2 = (_read_table(store, row, manifest, t, f"{label}/{t}") for t in doc["tables"])
            return JoinedTable(t1, t2, doc["join_key"])
        if kind is Image:
            classes = Classes(doc["classes"]) if doc.get("classes") else None
            return Image._from_record(doc["record"], classes, store.read_blob, origin_of)
        if kind is Audio:
            return Audio._from_record(doc["record"], store.read_blob)
        return Classes(doc)
    except (KeyError, TypeError) as exc:
        raise IntegrityError(f"{label}: stored description is malformed ({exc})") from None


def read_table(store: Store, row: VersionRow, manifest: Manifest, name: str, label: str) -> Table:
    """The table stored as ``name`` in ``row`` (also a joined table's part, by its name)."""
    return _read_table(store, row, manifest, name, label)


#: Tables read while reading one object, by (artifact, version, name): foreign keys that
#: lead back to a table read already get that object, so a cycle of keys ends.
_Seen = dict[tuple[str, int, str], Table]


def _read_table(
    store: Store,
    row: VersionRow,
    manifest: Manifest,
    name: str,
    label: str,
    seen: _Seen | None = None,
) -> Table:
    own = {
        suffix: manifest.entries[name + suffix]
        for suffix, kind in ((_TABLE, "table"), (_INDEX, "media-index"))
        if name + suffix in manifest.entries and manifest.entries[name + suffix].kind == kind
    }
    entry = own.get(_TABLE)
    if entry is None:  # a joined table's description naming a table that is not there
        raise IntegrityError(f"{label}: the manifest has no table {name + _TABLE!r}")
    # A table written in parts (a Dask ingest): its table entry holds the schema, the
    # parts its rows, in part order.
    parts = sorted(
        (index, entry_name)
        for entry_name, e in manifest.entries.items()
        if e.kind == "table-part" and (index := part_index(entry_name, name)) is not None
    )
    if [i for i, _ in parts] != list(range(len(parts))):
        raise IntegrityError(f"{label}: the table's parts are not numbered 0 to {len(parts) - 1}")
    own.update({entry_name[len(name) :]: manifest.entries[entry_name] for _, entry_name in parts})
    wanted = [(entry.digest, label)]
    wanted += [(manifest.entries[n].digest, f"{label} part {i}") for i, n in parts]
    download = None
    if entry.head is not None and entry.rows is not None:
        # A big table on a remote store: its head now, the whole files in the background.
        what = f"{label} (its first rows)"
        download = start_download(store.objects, wanted, entry.head, entry.rows, what)
    if download is None:
        pins = [pin(store.objects, digest, what) for digest, what in wanted]
        paths, schema_path = [str(p.path) for p in pins], pins[0].path
    else:
        pins, paths, schema_path = [], [], Path(download.head)
    origin = TableOrigin(
        store.location,
        store.catalog_location,
        row.artifact,
        row.version,
        name,
        MappingProxyType(own),
    )
    table = Table.from_stored(
        paths,
        store.read_blob,
        _origin_of(row),
        label,
        entry.digest,
        origin,
        keep=pins,
        pending=download,
        root=str(store.objects.engine_root),
    )
    seen = {} if seen is None else seen
    seen[(row.artifact, row.version, name)] = table
    keys = _stored_foreign_keys(schema_path, label)
    if keys:
        # Relative names point into the version the file was written in (a borrowed table's
        # keys into the version it is borrowed from).
        home = store.catalog.version(*entry.ref) if entry.ref is not None else row
        restore_foreign_keys(
            table,
            {
                column: (_read_key_table(store, home, target, f"{label} foreign key", seen), col)
                for column, (target, col) in keys.items()
            },
        )
    return table


def _stored_foreign_keys(path: Path, label: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Column -> (where the referenced table is, its column), from the table's metadata."""
    with io_step(f"{label}: could not read the table's schema"):
        schema = pq.read_schema(path)
    raw = metadata_of(schema).get("foreign_keys") or {}
    try:
        return {
            column: ({k: v for k, v in key.items() if k != "column"}, key["column"])
            for column, key in raw.items()
        }
    except (AttributeError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{label}: the stored foreign keys are malformed ({exc})") from None


def _read_key_table(
    store: Store, home: VersionRow, target: dict[str, Any], label: str, seen: _Seen
) -> Table:
    try:
        name = target["table"]
        row = home
        if "artifact" in target:
            row = store.catalog.version(target["artifact"], target["version"])
    except (KeyError, TypeError) as exc:
        raise IntegrityError(f"{label}: malformed reference ({exc})") from None
    known = seen.get((row.artifact, row.version, name))
    if known is not None:
        return known
    return _read_table(store, row, store.manifest(row), name, f"{row.qualified_name}/{name}", seen)


def _read_json(store: Store, entry: Entry, label: str) -> Any:
    data = store.objects.read(entry.digest, label)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise IntegrityError(f"{label}: stored description is not JSON ({exc})") from None


def _origin_of(row: VersionRow) -> Callable[[str], Origin]:
    def origin(digest: str) -> Origin:
        return Origin(row.artifact, row.version, media_entry(digest))

    return origin
