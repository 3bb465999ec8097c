"""What the engine queries: a table in its storage representation (docs/architecture.md).

A :class:`Source` is either in-memory Arrow or a list of Parquet files. It carries the
storage schema, whose field metadata names each column's kind and whose ``b"dsviz"``
metadata holds classes and derived-column descriptions (both read through ``_format``, the
format's one owner). The engine needs nothing else from the data model.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.parquet as pq

from dsviz_widget._format import KIND_KEY, kinds_of, metadata_of


@dataclass(frozen=True, eq=False)
class Source:
    """A table the engine can query.

    Exactly one of ``arrow`` and ``parquet`` is set. ``name`` is a short label used in
    error messages and logs (e.g. ``"my-dataset:v3/dataset"``).
    """

    schema: pa.Schema
    arrow: pa.Table | None = None
    parquet: tuple[str, ...] = ()
    name: str = "table"
    num_rows: int = 0
    _kinds: dict[str, str] = field(default_factory=dict, repr=False)
    #: Per Parquet file: its real path, size and mtime (ns) when the Source was made.
    files: tuple[tuple[str, int, int], ...] = field(default=(), repr=False)
    #: A directory (real path) that holds only files of a store this library writes, the
    #: Parquet files among them: the engine may let DuckDB read anything under it, so that
    #: a new table of the same store needs no new DuckDB database (``_relation.grants``).
    #: None for files of the user's own (``Table.from_parquet``): only they are readable.
    root: str | None = field(default=None, repr=False)

    @classmethod
    def from_arrow(cls, table: pa.Table, name: str = "table") -> Source:
        return cls(
            schema=table.schema,
            arrow=table,
            name=name,
            num_rows=table.num_rows,
            _kinds=kinds_of(table.schema),
        )

    @classmethod
    def from_parquet(
        cls, paths: list[str] | tuple[str, ...], name: str = "table", root: str | None = None
    ) -> Source:
        if not paths:
            raise ValueError("a Parquet source needs at least one file")
        files = file_identity(paths)  # before reading: a file rewritten meanwhile then differs
        metas = [parquet_metadata(f) for f in files]
        # The first file's schema (and its table metadata) is the table's; the others are
        # read by position under its names (one read_parquet per file, _relation), so they
        # must have its columns exactly, or values would land in the wrong column.
        schema = metas[0].schema.to_arrow_schema()
        for i, md in enumerate(metas[1:], 1):
            check_same_columns(schema, md.schema.to_arrow_schema(), f"Parquet file {i}")
        rows = sum(md.num_rows for md in metas)
        return cls(
            schema=schema,
            parquet=tuple(str(p) for p in paths),
            name=name,
            num_rows=rows,
            _kinds=kinds_of(schema),
            files=files,
            root=os.path.realpath(root) if root is not None else None,
        )

    def unchanged(self) -> bool:
        """Whether the Parquet files are still as they were when this Source was made
        (same real path, size and mtime; a stat each, nothing read). Arrow: always."""
        if not self.files:
            return True
        try:
            return file_identity([f[0] for f in self.files]) == self.files
        except OSError:
            return False

    def waiting(self, rows: tuple[int, int] | None = None) -> bool:
        """Whether answering now would wait for the table's files (still downloading):
        any query (``rows`` None), or the rows ``[start, stop)`` of the unfiltered,
        unsorted table. Never waits. False for a Source whose files are all here."""
        return False

    def when_here(self, callback: Callable[[BaseException | None], None]) -> None:
        """Call ``callback(error)`` once :meth:`waiting` is over: ``None`` when the files are
        here, or the download's error (typed, naming the step). At once if nothing is awaited;
        else maybe in another thread."""
        callback(None)

    def present(self) -> Source:
        """The rows that can be read now without waiting (never waits): this Source, or,
        while :meth:`waiting`, the Source of the rows already here (a remote table's head:
        its first rows, same schema; ``_row`` ids are the whole table's)."""
        return self

    @property
    def identity(self) -> Hashable:
        """What the engine caches relations and views under (with the query).

        Parquet: the files' real paths, sizes and mtimes, so two Sources of the same files
        (a table read twice from a store, ``table.query`` called again) share one cache
        entry and a rewritten file does not. Arrow: the Arrow table object. Anything else
        (a join or comparison): this Source object.
        """
        if self.files:
            return ("parquet", self.files)
        if self.arrow is not None:
            return ("arrow", id(self.arrow))
        return ("object", id(self))

    @property
    def kinds(self) -> dict[str, str]:
        """Column name -> kind (``int``, ``float``, ``image``, ``derived``, ...)."""
        return dict(self._kinds)

    @property
    def metadata(self) -> dict[str, Any]:
        """The table-level ``dsviz`` metadata: ``classes`` and ``derived`` descriptions."""
        return metadata_of(self.schema)


def check_same_columns(
    first: pa.Schema, other: pa.Schema, what: str, first_is: str = "the table"
) -> None:
    """Refuse ``other`` (called ``what``) unless it has ``first``'s columns: names, types and
    kinds, in order (table-level metadata may differ). The ``ValueError`` names the first
    column that differs."""
    if other.names != first.names:
        extra = [n for n in other.names if n not in first.names]
        missing = [n for n in first.names if n not in other.names]
        detail = (
            f"it has {extra} and lacks {missing}"
            if extra or missing
            else f"its columns are in another order: {other.names}"
        )
        raise ValueError(f"{what} does not have the columns {first.names} of {first_is}: {detail}")
    for a, b in zip(first, other, strict=True):
        if not a.equals(b, check_metadata=True):
            ka, kb = kind_of_field(a), kind_of_field(b)
            raise ValueError(
                f"{what}: column {a.name!r} is {kb or 'untyped'} ({b.type}) there but "
                f"{ka or 'untyped'} ({a.type}) in {first_is}"
            )


def kind_of_field(f: pa.Field) -> str | None:
    """The ``dsviz.kind`` a field's metadata names, if any."""
    raw = (f.metadata or {}).get(KIND_KEY)
    return raw.decode() if raw is not None else None


def file_identity(paths: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    """``(real path, size, mtime_ns)`` per file: the :attr:`Source.identity` of Parquet files."""
    out = []
    for p in paths:
        real = os.path.realpath(p)
        st = os.stat(real)
        out.append((real, st.st_size, st.st_mtime_ns))
    return tuple(out)


_footers: OrderedDict[tuple[str, int, int], pq.FileMetaData] = OrderedDict()
_footers_lock = threading.Lock()
MAX_FOOTERS = 64


def parquet_metadata(file: tuple[str, int, int]) -> pq.FileMetaData:
    """The footer of the Parquet file ``file`` (a :func:`file_identity` entry), read once
    per real path, size and mtime: the Source, its relation, statistics and the row store
    ask for it, and a 10M-row file's footer takes 1-10 ms to read and parse."""
    with _footers_lock:
        hit = _footers.get(file)
        if hit is not None:
            _footers.move_to_end(file)
            return hit
    md = pq.read_metadata(file[0])
    with _footers_lock:
        _footers[file] = md
        while len(_footers) > MAX_FOOTERS:
            _footers.popitem(last=False)
    return md


def remember_parquet_metadata(
    files: Sequence[tuple[str, int, int]], metas: Sequence[pq.FileMetaData]
) -> None:
    """Keep footers already read (``files``: :func:`file_identity` entries taken before
    the read), so :func:`parquet_metadata` does not read them again: a logged table's
    backend reads them at ``get()``, and its first ``table.query`` (``Source.from_parquet``)
    would read and parse them a second time (7-28 ms for a 100M-row file's 800 row groups)."""
    with _footers_lock:
        for file, md in zip(files, metas, strict=True):
            _footers[file] = md
            _footers.move_to_end(file)
        while len(_footers) > MAX_FOOTERS:
            _footers.popitem(last=False)


@runtime_checkable
class Queryable(Protocol):
    """A table-like object the engine can query and the widget can show.

    ``dv.Table``, ``dv.JoinedTable`` and ``dv.Comparison`` implement it: their rows as a
    :class:`Source` in the storage representation, and the bytes of the media files their
    cells name (the widget makes thumbnails from them; ``table.query`` decodes cells with it).
    """

    def engine_source(self) -> Source:
        """The rows as a Source (in-memory Arrow, Parquet files or a join of those)."""
        ...

    def read_blob(self, digest: str) -> bytes:
        """The bytes of a media file the rows refer to, by SHA-256 digest."""
        ...
