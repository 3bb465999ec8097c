"""The files a shown table refers to: the only store objects the widget serves bytes of.

The browser names files by digest, so without a check any digest in the store could be read
by guessing or copying it from another artifact (an image of another dataset, a mask's raw
class ids). :class:`TableObjects` lists what the shown table's own cells name (image files,
their mask PNGs, audio files; for a comparison or a join, the cells of its parts, which are
columns of the shown source) and :meth:`TableObjects.check` is the one gate every
byte-serving request kind goes through.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dsviz_widget.engine import Engine, Query, Source, shared_engine

Role = Literal["image", "mask", "audio"]


class NotThisTable(ValueError):
    """A request named a file that none of the shown table's cells refers to."""


@dataclass
class _Index:
    images: set[str] = field(default_factory=set)
    masks: set[str] = field(default_factory=set)
    audio: dict[str, str] = field(default_factory=dict)  # digest -> format
    # Per image column, the class-list digests its cells name, in first-seen order.
    class_lists: dict[str, list[str]] = field(default_factory=dict)


class TableObjects:
    """What the cells of ``source`` refer to, read once on first use (a column scan)."""

    def __init__(self, source: Source, engine: Engine | None = None) -> None:
        self._source = source
        self._engine = engine or shared_engine()
        self._index: _Index | None = None
        # What the rows already here name (a remote table's head), while its files download.
        self._here: _Index | None = None
        self._lock = threading.Lock()  # the worker thread and the kernel's thread both ask
        self._here_lock = threading.Lock()  # apart: _lock may be held by a whole scan

    def complete(self) -> bool:
        """Whether the whole table's list can be had without waiting for its files."""
        return self._index is not None or not self._source.waiting()

    def _present(self) -> _Index:
        """What the rows here now name (all of them, once the table's files are here)."""
        with self._here_lock:
            if self._here is None:
                self._here = self._scan(self._source.present())
            return self._here

    def named_now(self, asked: list[tuple[Role, str]]) -> bool:
        """Whether :meth:`check` of each of ``asked`` answers without waiting for the
        table's files: they are here, or the rows here (a remote table's head) name them."""
        if self.complete():
            return True
        here = self._present()
        return all(digest in _named(here, role) for role, digest in asked)

    def check(self, role: Role, digest: str) -> None:
        """Raise :class:`NotThisTable` unless a cell of the table names ``digest`` as ``role``."""
        if not self.complete() and digest in _named(self._present(), role):
            return  # a cell of the rows here names it: no need to wait for the rest
        index = self._load()
        if digest not in _named(index, role):
            raise NotThisTable(f"no {role} cell of this table refers to the file {digest[:12]}")

    def audio_format(self, digest: str) -> str:
        """The stored format of an audio file the table refers to (check it first)."""
        return self._load().audio.get(digest, "")

    def class_lists(self) -> dict[str, list[str]]:
        """``image column -> [classes digest, ...]`` the column's cells use."""
        return {k: list(v) for k, v in self._load().class_lists.items()}

    def class_lists_now(self) -> dict[str, list[str]]:
        """:meth:`class_lists` without waiting for the table's files: while they download,
        the lists the rows here use (first-seen order), then every other list the table's
        metadata holds (a later row may use it): never one too few."""
        if self.complete():
            return self.class_lists()
        every = [d for d in (self._source.metadata.get("classes") or {}) if isinstance(d, str)]
        out = {}
        for name, seen in self._present().class_lists.items():
            out[name] = [*seen, *(d for d in every if d not in seen)]
        return out

    def _load(self) -> _Index:
        with self._lock:
            if self._index is None:
                self._index = self._scan(self._source)
            return self._index

    def _scan(self, source: Source) -> _Index:
        kinds = source.kinds
        images = [n for n, k in kinds.items() if k == "image"]
        audio = [n for n, k in kinds.items() if k == "audio"]
        index = _Index()
        if not images and not audio:
            return index
        wanted: dict[str, tuple[str, ...]] = {n: ("digest", "masks", "classes") for n in images}
        wanted.update({n: ("digest", "format") for n in audio})
        table = self._read(source, wanted)
        for name in images:
            col = table.column(name)
            index.images.update(_distinct(_field(col, "digest")))
            for text in _distinct(_field(col, "masks")):
                index.masks.update(_mask_digests(text))
            index.class_lists[name] = [
                d for d in _distinct(_field(col, "classes")) if isinstance(d, str)
            ]
        for name in audio:
            col = table.column(name)
            pairs = pa.table({"d": _field(col, "digest"), "f": _field(col, "format")})
            pairs = pairs.filter(pc.is_valid(pairs.column("d"))).group_by(["d", "f"]).aggregate([])
            for d, f in zip(
                pairs.column("d").to_pylist(), pairs.column("f").to_pylist(), strict=True
            ):
                index.audio[d] = f or ""
        return index

    def _read(self, source: Source, wanted: dict[str, tuple[str, ...]]) -> pa.Table:
        """The named struct fields of the named columns, from wherever the source keeps them."""
        names = list(wanted)
        if source.arrow is not None:
            return source.arrow.select(names)
        if source.parquet:
            # Only the sub-fields needed: a Parquet file keeps each one apart, so boxes and
            # captions are never read. pyarrow returns "col.field" selections as top-level
            # columns named after the field, so each struct column is read on its own.
            columns: dict[str, pa.ChunkedArray] = {}
            for name, fields in wanted.items():
                have = [f for f in fields if f in source.schema.field(name).type.names]
                parts = [
                    pq.read_table(p, columns=[f"{name}.{f}" for f in have]) for p in source.parquet
                ]
                flat = pa.concat_tables(parts).combine_chunks()
                arrays = [
                    flat.column(f).chunk(0)
                    if flat.column(f).num_chunks
                    else pa.array([], flat.schema.field(f).type)
                    for f in have
                ]
                columns[name] = pa.chunked_array([pa.StructArray.from_arrays(arrays, have)])
            return pa.table(columns)
        view = self._engine.view(source, Query(columns=names))
        step = 100_000
        parts = [view.page(o, step).select(names) for o in range(0, max(1, view.num_rows), step)]
        return pa.concat_tables(parts)


def _named(index: _Index, role: Role) -> Collection[str]:
    """The files ``index`` lists in ``role``."""
    named: dict[str, Collection[str]] = {
        "image": index.images,
        "mask": index.masks,
        "audio": index.audio,
    }
    return named[role]


def _field(col: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """A struct column's field, or all nulls when the struct lacks it."""
    if name in col.type.names:
        return pc.struct_field(col, name)
    return pa.chunked_array([pa.nulls(len(col), pa.string())])


def _distinct(values: pa.ChunkedArray) -> list[Any]:
    """Distinct non-null values, in first-seen order (pc.unique keeps it)."""
    return [v for v in pc.unique(values).to_pylist() if v is not None]


def _mask_digests(text: str) -> list[str]:
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    return [
        m["digest"]
        for m in doc.values()
        if isinstance(m, dict) and isinstance(m.get("digest"), str)
    ]
