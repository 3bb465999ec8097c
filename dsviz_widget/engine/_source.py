"""What the engine queries: a table in its storage representation (docs/architecture.md).

A :class:`Source` is either in-memory Arrow or a list of Parquet files. It carries the
storage schema, whose field metadata names each column's kind and whose ``b"dsviz"``
metadata holds classes and derived-column descriptions. The engine needs nothing else
from the data model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

KIND_KEY = b"dsviz.kind"
META_KEY = b"dsviz"


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
    def from_parquet(cls, paths: list[str] | tuple[str, ...], name: str = "table") -> Source:
        if not paths:
            raise ValueError("a Parquet source needs at least one file")
        schema = pq.read_schema(paths[0])
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
        return cls(
            schema=schema,
            parquet=tuple(str(p) for p in paths),
            name=name,
            num_rows=rows,
            _kinds=kinds_of(schema),
        )

    @property
    def kinds(self) -> dict[str, str]:
        """Column name -> kind (``int``, ``float``, ``image``, ``derived``, ...)."""
        return dict(self._kinds)

    @property
    def metadata(self) -> dict[str, Any]:
        """The table-level ``dsviz`` metadata: ``classes`` and ``derived`` descriptions."""
        raw = (self.schema.metadata or {}).get(META_KEY)
        return json.loads(raw) if raw else {"format": 1, "classes": {}, "derived": []}


def kinds_of(schema: pa.Schema) -> dict[str, str]:
    """Column name -> kind, from field metadata or, for plain Arrow data, from the type."""
    kinds: dict[str, str] = {}
    for f in schema:
        raw = (f.metadata or {}).get(KIND_KEY)
        kinds[f.name] = raw.decode() if raw else kind_of_arrow(f.type)
    return kinds


def kind_of_arrow(t: pa.DataType) -> str:
    """The kind of a column without dsviz metadata, from its Arrow type."""
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    return "native"
