"""The version picker's kernel side: which other versions of an artifact table a widget can be
compared with, and the comparison one of them makes.

Kept apart from the widget class so the choices (which versions count, how they are named,
what a missing version or entry says) are tested without a notebook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dsviz_widget._compare import Comparison, compare
from dsviz_widget._errors import DsvizError, NotFoundError, ValidationError
from dsviz_widget.artifacts import Artifact, Store, VersionRow, open_store, store_exists
from dsviz_widget.engine import Source
from dsviz_widget.table import Table, TableOrigin
from dsviz_widget.widget._handler import MessageHandler
from dsviz_widget.widget._protocol import CompareInfo, VersionChoice, VersionsState


@dataclass(frozen=True)
class Shown:
    """What a widget can show: its table, or a comparison of the table's versions (the
    widget's ``compared_with``); each swap makes a fresh handler of it."""

    source: Source
    read_blob: Callable[[str], bytes]
    name: str | None
    compare: CompareInfo | None
    classes: dict[str, list[dict[str, Any]]] | None

    def handler(self) -> MessageHandler:
        return MessageHandler(
            self.source, self.read_blob, name=self.name, compare=self.compare, classes=self.classes
        )


#: The view state a swap of what the widget shows starts from (a table's column names mean
#: nothing in a comparison of it, and its row ids name other rows), unless it is given.
SWAP_DEFAULTS: dict[str, Any] = {
    "group": None,
    "group_row": None,
    "filter": "",
    "sort": [],
    "group_by": [],
    "columns": [],
    "selection": [],
    "changed_only": False,
    "change_columns": [],
    "pinned": [],
}

# Manifest kinds of an entry the picker compares: a plain table. (A joined table has no origin
# of its own, so it never reaches here; the kind still comes from the manifest, not the name.)
_TABLE_KIND = "table"


def _label(row: VersionRow) -> str:
    """``v3``, or ``v3 (latest, best)`` when the version has aliases."""
    name = f"v{row.version}"
    return f"{name} ({', '.join(row.aliases)})" if row.aliases else name


def versions_state(obj: Any) -> VersionsState | None:
    """What the picker offers for ``obj``: the other versions of its artifact that hold its
    entry as a table, newest first; ``None`` for anything not read from a logged artifact.

    A store that cannot be read (deleted since, locked) offers nothing rather than keeping
    the table from showing.

    Examples
    --------
    >>> t = dv.use_artifact("preds:v1").get("predictions")  # doctest: +SKIP
    >>> versions_state(t)["choices"]                         # doctest: +SKIP
    [{'version': 'v2', 'label': 'v2 (latest)'}, {'version': 'v0', 'label': 'v0'}]
    """
    origin = obj.origin if isinstance(obj, Table) else None
    if origin is None:
        return None
    state: VersionsState = {
        "artifact": origin.artifact,
        "entry": origin.entry,
        "version": f"v{origin.version}",
        "label": f"v{origin.version}",
        "choices": [],
    }
    if not store_exists(origin.location, origin.catalog):  # open_store would make one there
        return state
    try:
        store = open_store(origin.location, origin.catalog)
        choices: list[VersionChoice] = []
        for row in reversed(store.catalog.versions(origin.artifact)):
            if row.version == origin.version:
                state["label"] = _label(row)
            elif store.manifest(row).names().get(origin.entry) == _TABLE_KIND:
                choices.append({"version": f"v{row.version}", "label": _label(row)})
    except (DsvizError, OSError):
        return state
    state["choices"] = choices
    return state


def _resolve(table: Table, other: str) -> tuple[Store, VersionRow, TableOrigin]:
    origin = table.origin
    if origin is None:
        raise NotFoundError(NOT_AN_ARTIFACT_TABLE)
    if not store_exists(origin.location, origin.catalog):
        raise NotFoundError(f"the artifact store {origin.location} no longer exists")
    store = open_store(origin.location, origin.catalog)
    tag = other.strip()
    try:
        row = store.catalog.resolve(f"{origin.artifact}:{tag}")
    except NotFoundError as exc:
        raise NotFoundError(
            f"cannot compare {origin.artifact}:v{origin.version}/{origin.entry} with {tag!r}: {exc}"
        ) from None
    return store, row, origin


def version_label(table: Table, other: str) -> str:
    """The label (``"v2"``) of version ``other`` (``"v2"``, an alias, ``"latest"``) of the
    artifact ``table`` was read from; ``NotFoundError`` when it has none such."""
    return f"v{_resolve(table, other)[1].version}"


def compare_versions(table: Table, other: str) -> Comparison:
    """``table`` (read from an artifact) compared with the same entry of version ``other``
    of its artifact (``"v0"``, an alias such as ``"best"``, or ``"latest"``): older version
    first, on the tables' primary key if they have one (else the key ``dv.compare`` picks),
    labelled by version (``v0``, ``v5``).

    Raises ``NotFoundError`` naming the version and the entry when there is no such version,
    it is this one, or it has no such table; nothing is changed then.
    """
    store, row, origin = _resolve(table, other)
    where = f"{origin.artifact}:v{row.version}"
    if row.version == origin.version:
        raise NotFoundError(
            f"{where} is the version shown; pick another version of {origin.artifact} to compare"
        )
    kind = store.manifest(row).names().get(origin.entry)
    if kind != _TABLE_KIND:
        held = "has no entry" if kind is None else f"holds a {kind}, not a table, as"
        raise NotFoundError(f"{where} {held} {origin.entry!r}, so it cannot be compared with")
    art = Artifact._from_row(store, row)
    theirs = art.get(origin.entry)
    if not isinstance(theirs, Table):
        raise NotFoundError(f"{where}/{origin.entry} is a {type(theirs).__name__}, not a table")
    pair = [theirs, table] if row.version < origin.version else [table, theirs]
    return compare(*pair)


def comparison_shown(table: Table | None, version: str) -> tuple[Shown, str]:
    """What a widget of ``table`` shows compared with ``version`` (:func:`compare_versions`),
    and the label of that version (``"v0"``, also when asked for by alias)."""
    origin = table.origin if table is not None else None
    if table is None or origin is None:
        raise ValidationError(NOT_AN_ARTIFACT_TABLE)
    cmp = compare_versions(table, version)
    from dsviz_widget.widget._show import comparison_info  # _show imports the widget, and this

    source = cmp.engine_source()
    info, classes = comparison_info(cmp, source)
    name = f"{origin.artifact}/{origin.entry} · {' vs '.join(cmp.labels)}"
    other = next(x for x in cmp.labels if x != f"v{origin.version}")
    return Shown(source, cmp.read_blob, name, info, classes), other


NOT_AN_ARTIFACT_TABLE = (
    "compare_with compares versions of a table read from a logged artifact, and this widget "
    "does not show one: show dv.use_artifact('name:v1').get('entry'), or compare tables "
    "yourself with dv.compare(t0, t1, on='id')"
)
