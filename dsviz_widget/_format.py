"""The storage format's vocabulary: column kinds and what each kind can do.

A leaf module (no imports from the package): the data model, the store, the engine and the
widget all name kinds through it. ``docs/architecture.md`` describes the representation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
