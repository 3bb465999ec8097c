"""The storage format: its one owner (``docs/architecture.md``, "Storage representation").

Everything that says how a table looks in storage lives here: the column kinds and what each
can do, the metadata keys, the Arrow type of each kind, the format version, and the reading
and writing of field kinds and of the table-level ``dsviz`` metadata. The data model
(``table.py``, ``_storage.py``), the store, the engine and the widget all import it.

A leaf module: it imports only the standard library, pyarrow and ``_errors``, so that any
layer can depend on it without a cycle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from dsviz_widget._errors import ValidationError

#: Version of the table-level metadata; a reader refuses tables of a newer one.
FORMAT_VERSION = 1
#: Field metadata key naming a column's kind.
KIND_KEY = b"dsviz.kind"
#: Schema metadata key of the table-level JSON (format, classes, derived columns).
META_KEY = b"dsviz"

#: Every column kind a storage field's ``dsviz.kind`` metadata may name.
KINDS: tuple[str, ...] = (
    "int",
    "float",
    "bool",
    "str",
    "native",
    "image",
    "audio",
    "array",
    "list",
    "dict",
    "derived",
)


@dataclass(frozen=True)
class Capabilities:
    """What the query engine can do with a column (the browser offers nothing else).

    ``filterable``: its values can be compared in a filter (``is null`` works on every column).
    ``summarisable``: its header summary has values (a histogram or top values), not only a
    count of missing cells.
    """

    sortable: bool
    groupable: bool
    filterable: bool
    summarisable: bool

    def to_json(self) -> dict[str, bool]:
        return asdict(self)


ALL = Capabilities(sortable=True, groupable=True, filterable=True, summarisable=True)
NONE = Capabilities(sortable=False, groupable=False, filterable=False, summarisable=False)

#: Kind -> capabilities. ``None``: it depends on the Arrow type (a ``native`` column may be a
#: timestamp, which sorts and groups, or a struct, which does not); the engine decides those
#: from the type (``dsviz_widget.engine.capabilities``).
CAPABILITIES: dict[str, Capabilities | None] = {
    "int": ALL,
    "float": ALL,
    "bool": ALL,
    "str": ALL,
    "derived": ALL,
    "list": ALL,  # stored as JSON text: compared, sorted and grouped as that text
    "dict": ALL,  # JSON text; filters also reach into its values (``meta.split == 'train'``)
    "image": NONE,  # structs and bytes: use the derived columns (n_boxes, %_class, ...)
    "audio": NONE,
    "array": NONE,
    "native": None,
}

#: Kinds whose cells are structs or bytes: meaningless to compare, sort or group.
OPAQUE_KINDS = frozenset(k for k, c in CAPABILITIES.items() if c == NONE)

#: Kinds stored as JSON text of the cell.
JSON_KINDS = ("list", "dict")
#: Kinds whose bytes live outside the table (cells are description structs).
MEDIA_KINDS = ("image", "audio")

IMAGE_TYPE = pa.struct(
    [
        ("digest", pa.string()),
        ("format", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("caption", pa.string()),
        ("boxes", pa.string()),
        ("masks", pa.string()),
        ("classes", pa.string()),
    ]
)
AUDIO_TYPE = pa.struct(
    [
        ("digest", pa.string()),
        ("format", pa.string()),
        ("sample_rate", pa.int64()),
        ("caption", pa.string()),
    ]
)
ARRAY_TYPE = pa.struct(
    [("dtype", pa.string()), ("shape", pa.list_(pa.int64())), ("data", pa.binary())]
)

#: Kind -> its one Arrow storage type (``native`` and ``derived`` columns carry their own).
STORAGE_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "str": pa.string(),
    "list": pa.string(),
    "dict": pa.string(),
    "array": ARRAY_TYPE,
    "image": IMAGE_TYPE,
    "audio": AUDIO_TYPE,
}


# -- field kinds ---------------------------------------------------------------------------
def storage_field(name: str, kind: str, type_: pa.DataType | None = None) -> pa.Field:
    """A storage field: ``type_`` (default the kind's storage type) tagged with its kind."""
    # ``is None``, not ``or``: a struct type with no fields is falsy.
    type_ = STORAGE_TYPES[kind] if type_ is None else type_
    return pa.field(name, type_, metadata={KIND_KEY: kind.encode()})


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


# -- table metadata ------------------------------------------------------------------------
def default_metadata() -> dict[str, Any]:
    """The metadata of a table that has none (plain Arrow or Parquet data)."""
    return {"format": FORMAT_VERSION, "classes": {}, "derived": []}


def table_metadata(
    classes: Mapping[str, Any],
    derived: Sequence[Mapping[str, Any]] = (),
    omitted: Sequence[str] = (),
    primary_key: str | None = None,
) -> dict[bytes, bytes]:
    """Schema metadata holding ``classes`` (digest -> class list) and the derived columns'
    descriptions (their ``to_json()``); ``omitted`` names derived columns a bound left out,
    ``primary_key`` the column ``Table.set_pk`` chose."""
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "classes": dict(classes),
        "derived": list(derived),
    }
    if omitted:  # a key older readers ignore: the format stays 1
        meta["derived_omitted"] = list(omitted)
    if primary_key is not None:  # also a key older readers ignore
        meta["primary_key"] = primary_key
    return {META_KEY: json.dumps(meta, sort_keys=True).encode()}


def with_foreign_keys(schema: pa.Schema, foreign_keys: Mapping[str, Any]) -> pa.Schema:
    """``schema`` with the table's foreign keys (``Table.set_fk``) in its metadata: column ->
    ``{"column": ..., "table": ...}`` and, for a table of another version, ``"artifact"`` and
    ``"version"``. Only the store can name the tables, so it adds them when it writes; a key
    older readers ignore (the format stays 1)."""
    meta = metadata_of(schema)
    meta["foreign_keys"] = dict(foreign_keys)
    rest = {k: v for k, v in (schema.metadata or {}).items() if k != META_KEY}
    return schema.with_metadata({**rest, META_KEY: json.dumps(meta, sort_keys=True).encode()})


def metadata_of(schema: pa.Schema) -> dict[str, Any]:
    """The table metadata as written, or the default; no version check (the engine only
    passes classes through)."""
    raw = (schema.metadata or {}).get(META_KEY)
    if not raw:
        return default_metadata()
    meta: dict[str, Any] = json.loads(raw)
    return meta


def read_metadata(schema: pa.Schema) -> dict[str, Any]:
    """The table metadata, refusing a table written in a newer format than this one reads."""
    meta = metadata_of(schema)
    if meta.get("format", 0) > FORMAT_VERSION:
        raise ValidationError(
            f"this table was written by a newer dsviz_widget (format {meta['format']}); upgrade to read it"
        )
    return meta
