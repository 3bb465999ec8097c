"""``Classes``: the mapping from class id to name (and optional colour) shared by overlays."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dsviz_widget._digest import canonical_json, sha256_bytes
from dsviz_widget._errors import ValidationError
from dsviz_widget.media._text import utf8_text

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")

# Tableau 10, so that a class keeps the same colour in every view when none is given.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


class Classes:
    """Class ids and their names, used by boxes and masks.

    Parameters
    ----------
    class_set : iterable of dict
        Each item has ``id`` (int) and ``name`` (str), optionally ``color`` (``"#rrggbb"``).

    Examples
    --------
    >>> classes = Classes([{"id": 0, "name": "dog"}, {"id": 1, "name": "cat"}])
    >>> classes.name(1)
    'cat'
    """

    def __init__(self, class_set: Iterable[Mapping[str, Any]]) -> None:
        if isinstance(class_set, (str, bytes)) or not isinstance(class_set, Iterable):
            raise ValidationError("Classes takes a list of {'id': int, 'name': str} dicts")
        items: list[dict[str, Any]] = []
        seen: set[int] = set()
        for i, item in enumerate(class_set):
            if not isinstance(item, Mapping):
                raise ValidationError(f"Classes item {i} must be a dict, got {type(item).__name__}")
            unknown = set(item) - {"id", "name", "color"}
            if unknown:
                raise ValidationError(f"Classes item {i} has unknown keys {sorted(unknown)}")
            cid, name = item.get("id"), item.get("name")
            if isinstance(cid, bool) or (not isinstance(cid, int) and not _is_np_int(cid)):
                raise ValidationError(f"Classes item {i}: 'id' must be an int, got {cid!r}")
            cid = int(cid)  # type: ignore[arg-type]
            if cid < 0:
                raise ValidationError(f"Classes item {i}: 'id' must be >= 0, got {cid}")
            if not isinstance(name, str) or not name:
                raise ValidationError(f"Classes item {i}: 'name' must be a non-empty string")
            utf8_text(name, f"Classes item {i}: 'name'")
            if cid in seen:
                raise ValidationError(f"Classes item {i}: id {cid} appears twice")
            seen.add(cid)
            entry: dict[str, Any] = {"id": cid, "name": name}
            if "color" in item:
                color = item["color"]
                if not isinstance(color, str) or not _COLOR.fullmatch(color):
                    raise ValidationError(
                        f"Classes item {i}: 'color' must look like '#1f77b4', got {color!r}"
                    )
                entry["color"] = color.lower()
            items.append(entry)
        self._items = items
        self._by_id = {e["id"]: e for e in items}

    @property
    def class_set(self) -> list[dict[str, Any]]:
        """The classes as given: a list of ``{"id", "name"[, "color"]}`` dicts."""
        return [dict(e) for e in self._items]

    def name(self, class_id: int) -> str:
        """The name of ``class_id``; raises ``KeyError`` if unknown."""
        return str(self._by_id[class_id]["name"])

    def color(self, class_id: int) -> str:
        """The colour of ``class_id``: the one given, or a stable palette colour."""
        entry = self._by_id[class_id]
        return str(entry.get("color") or PALETTE[class_id % len(PALETTE)])

    def ids(self) -> list[int]:
        return [e["id"] for e in self._items]

    def __contains__(self, class_id: object) -> bool:
        return class_id in self._by_id

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.class_set)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Classes) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        names = ", ".join(f"{e['id']}: {e['name']!r}" for e in self._items[:6])
        more = ", ..." if len(self._items) > 6 else ""
        return f"Classes({{{names}{more}}})"

    def to_json(self) -> list[dict[str, Any]]:
        return self.class_set

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON: equal classes share one stored copy."""
        return sha256_bytes(canonical_json(self._items))


def _is_np_int(value: object) -> bool:
    import numpy as np

    return isinstance(value, np.integer)


def class_labels(value: object, where: str) -> dict[int, str]:
    """A group's ``class_labels`` (``{id: name}``, as W&B takes them) checked and normalised.

    W&B accepts any number as an id; ids here are class ids of pixels and boxes, so a float
    id must be integral (``1.0`` is id 1).
    """
    from dsviz_widget._errors import OverlayTypeError

    if not isinstance(value, Mapping):
        raise OverlayTypeError(
            f"{where} must be a dict of class id -> name, got {type(value).__name__}"
        )
    out: dict[int, str] = {}
    for cid, name in value.items():
        if isinstance(cid, bool) or not _is_integral(cid):
            raise OverlayTypeError(f"{where}: class ids must be integers, got {cid!r}")
        if int(cid) < 0:
            raise OverlayTypeError(f"{where}: class ids must be >= 0, got {cid!r}")
        if not isinstance(name, str) or not name:
            raise OverlayTypeError(
                f"{where}[{cid!r}] must be a non-empty string (the class name), got {name!r}"
            )
        out[int(cid)] = utf8_text(name, f"{where}[{cid!r}]")
    return out


def merged_classes(classes: Classes | None, labels: Iterable[dict[int, str]]) -> Classes | None:
    """The one class list of an image given ``classes=`` and its groups' ``class_labels``.

    W&B's precedence: the groups' labels in order (box groups, then mask groups; a later group
    renames an id an earlier one named), then ``classes=`` over all of them. Ids named only by
    labels are added after the ``classes=`` list, so an image whose labels agree with its
    ``classes=`` keeps that very list (and shares its stored copy).
    """
    merged: dict[int, str] = {}
    for group in labels:
        merged.update(group)
    if classes is None:
        return Classes([{"id": i, "name": n} for i, n in merged.items()]) if merged else None
    extra = [{"id": i, "name": n} for i, n in merged.items() if i not in classes]
    return Classes(classes.class_set + extra) if extra else classes


def _is_integral(value: object) -> bool:
    import numpy as np

    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and float(value).is_integer()
