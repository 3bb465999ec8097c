"""Derived, queryable columns computed at ingest from image columns.

For each image column: ``n_boxes``, ``n_boxes.<class>``, ``max_score.<score>``,
``min_score.<score>`` per box group, and ``%_<class>`` (pixel fraction) per mask group.
Names carry a ``<group>.`` prefix only when the column has several groups of that sort,
and a ``<column>.`` prefix only when several image columns have overlays, so the common
case reads like the seed (``%_vegetation > 0.5``). See docs/architecture.md.

Classes are per image: ``<class>`` is the name a box's or pixel's id has in *its own*
image's ``Classes`` (the id as text when the image has none), so a "cat" id 1 and a "dog"
id 1 in one column count in ``n_boxes.cat`` and ``n_boxes.dog``.

The number of derived columns is bounded whatever the data (a mask with 20,000 ids once
made 20,000 columns and the first page ran out of memory): per image column and group at
most :data:`MAX_CLASS_COLUMNS` classes get their own column. When a group holds more,
declared classes (from ``Classes``) are preferred, in id order, and every other class
is counted in one ``n_boxes.(other)`` / ``%_(other)`` column. At most
:data:`MAX_SCORE_NAMES` score names per group get min/max columns, and a table gets at
most :data:`MAX_DERIVED_COLUMNS` derived columns in all. What was left out is said in the
table metadata (``derived_omitted``, and a ``note`` on the ``(other)`` columns).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from dsviz_widget._errors import ValidationError
from dsviz_widget.media import Image

#: Classes with their own derived column, per image column and box or mask group.
MAX_CLASS_COLUMNS = 64
#: Score names with min/max columns, per image column and box group.
MAX_SCORE_NAMES = 16
#: Derived columns of a whole table.
MAX_DERIVED_COLUMNS = 512
#: The label of the column counting classes without a column of their own.
OTHER = "(other)"


@dataclass(frozen=True)
class Derived:
    name: str
    source: str  # image column
    kind: str  # box_count | class_box_count | max_score | min_score | mask_fraction
    group: str
    key: str | None = None  # class name (or OTHER) or score name
    # For the OTHER column: the classes that have their own column (not counted in it).
    own: frozenset[str] = frozenset()
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "group": self.group,
        }
        if self.kind in ("class_box_count", "mask_fraction"):
            out["class"] = self.key
        elif self.key is not None:
            out["score"] = self.key
        if self.note:
            out["note"] = self.note
        return out

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.int64() if self.kind in ("box_count", "class_box_count") else pa.float64()


def plan(
    columns: Mapping[str, Sequence[Image | None]], taken: Sequence[str]
) -> tuple[list[Derived], list[str]]:
    """The derived columns for the given image columns (``name -> cells``), and a sentence
    for each one left out by :data:`MAX_DERIVED_COLUMNS`."""
    return plan_from_stats({col: _stats_of(cells) for col, cells in columns.items()}, taken)


def _stats_of(cells: Sequence[Image | None]) -> Iterator[dict[str, Any]]:
    # Each distinct object once, in the order the cells first name it.
    for img in {id(c): c for c in cells}.values():
        if img is not None:
            yield img._class_stats()


def summarize(cells: Sequence[Image | None]) -> dict[str, Any]:
    """What :func:`plan` reads of a column's images, folded into one stats record of the
    shape ``Image._class_stats`` has (counts dropped, first-seen order kept).

    A Dask partition's workers send this instead of their images: planning from the
    partitions' summaries in partition order gives the plan the whole column would
    (``plan_from_stats``), because the plan reads only which groups, classes and score
    names occur, in the order they first occur, and the smallest declared id of each class.
    """
    return merge_summaries(_stats_of(cells))


def merge_summaries(summaries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summaries (or ``_class_stats`` records) folded into one, in the order given."""
    declared: dict[str, int] = {}
    boxes: dict[str, dict[str, dict[str, None]]] = {}
    masks: dict[str, dict[str, None]] = {}
    for stats in summaries:
        for name, cid in stats["declared"].items():
            declared[name] = min(declared.get(name, cid), cid)
        for g, st in stats["boxes"].items():
            group = boxes.setdefault(g, {"per_class": {}, "max": {}})
            group["per_class"].update(dict.fromkeys(st["per_class"]))
            group["max"].update(dict.fromkeys(st["max"]))
        for g, fractions in stats["masks"].items():
            masks.setdefault(g, {}).update(dict.fromkeys(fractions))
    return {"declared": declared, "boxes": boxes, "masks": masks}


def plan_from_stats(
    columns: Mapping[str, Iterable[Mapping[str, Any]]], taken: Sequence[str]
) -> tuple[list[Derived], list[str]]:
    """:func:`plan` from each image column's stats records (``Image._class_stats`` or
    :func:`summarize`'s), in order."""
    raw: list[Derived] = []  # names without the column prefix yet
    notes: list[str] = []
    with_overlays = []
    for col, records in columns.items():
        box_groups: dict[str, None] = {}
        mask_groups: dict[str, None] = {}
        declared: dict[str, int] = {}  # class name -> smallest id, over the column's lists
        per_group_classes: dict[str, dict[str, None]] = {}
        per_group_scores: dict[str, dict[str, None]] = {}
        per_mask_classes: dict[str, dict[str, None]] = {}
        for stats in records:
            for name, cid in stats["declared"].items():
                declared[name] = min(declared.get(name, cid), cid)
            for g, st in stats["boxes"].items():
                box_groups.setdefault(g)
                per_group_classes.setdefault(g, {}).update(dict.fromkeys(st["per_class"]))
                per_group_scores.setdefault(g, {}).update(dict.fromkeys(st["max"]))
            for g, fractions in stats["masks"].items():
                mask_groups.setdefault(g)
                per_mask_classes.setdefault(g, {}).update(dict.fromkeys(fractions))
        if box_groups or mask_groups:
            with_overlays.append(col)
        for g in box_groups:
            pre = f"{g}." if len(box_groups) > 1 else ""
            raw.append(Derived(f"{pre}n_boxes", col, "box_count", g))
            raw += _class_columns(
                col, g, "class_box_count", f"{pre}n_boxes.", per_group_classes[g], declared
            )
            scores = sorted(per_group_scores[g])
            if len(scores) > MAX_SCORE_NAMES:
                notes.append(
                    f"image column {col!r}, box group {g!r}: {len(scores) - MAX_SCORE_NAMES} "
                    f"score names have no min/max columns (at most {MAX_SCORE_NAMES}), from "
                    f"{scores[MAX_SCORE_NAMES]!r} on"
                )
            for score in scores[:MAX_SCORE_NAMES]:
                raw.append(Derived(f"{pre}max_score.{score}", col, "max_score", g, score))
                raw.append(Derived(f"{pre}min_score.{score}", col, "min_score", g, score))
        for g in mask_groups:
            pre = f"{g}." if len(mask_groups) > 1 else ""
            raw += _class_columns(
                col, g, "mask_fraction", f"{pre}%_", per_mask_classes[g], declared
            )
    out: list[Derived] = []
    omitted: list[str] = []
    used = set(taken)
    for d in raw:
        name = f"{d.source}.{d.name}" if len(with_overlays) > 1 else d.name
        if name in used:
            name = f"{d.source}.{d.name}"
        if name in used:
            raise ValidationError(
                f"derived column {name!r} (from image column {d.source!r}) collides with an "
                "existing column; rename that column"
            )
        if len(out) >= MAX_DERIVED_COLUMNS:
            omitted.append(name)
            continue
        used.add(name)
        out.append(replace(d, name=name))
    if omitted:
        notes.append(
            f"{len(omitted)} derived columns left out (a table gets at most "
            f"{MAX_DERIVED_COLUMNS}), from {omitted[0]!r} on"
        )
    return out, notes


def _class_columns(
    col: str,
    group: str,
    kind: str,
    prefix: str,
    present: dict[str, None],
    declared: dict[str, int],
) -> list[Derived]:
    # Declared classes first, in id order (as the class list reads), then bare ids.
    labels = sorted(present, key=lambda label: _order(label, declared))
    if len(labels) <= MAX_CLASS_COLUMNS:
        return [Derived(f"{prefix}{label}", col, kind, group, label) for label in labels]
    own = labels[: MAX_CLASS_COLUMNS - 1]
    rest = len(labels) - len(own)
    other = _free_label(present)
    note = (
        f"counts the {rest} classes of group {group!r} without a column of their own "
        f"(at most {MAX_CLASS_COLUMNS} per group; declared classes come first)"
    )
    out = [Derived(f"{prefix}{label}", col, kind, group, label) for label in own]
    out.append(Derived(f"{prefix}{other}", col, kind, group, OTHER, frozenset(own), note))
    return out


def _order(label: str, declared: dict[str, int]) -> tuple[int, int, str]:
    if label in declared:
        return (0, declared[label], label)
    return (1, int(label), "") if label.isascii() and label.isdigit() else (2, 0, label)


def _free_label(present: dict[str, None]) -> str:
    """OTHER, or OTHER with a suffix if a class is itself named so."""
    label, n = OTHER, 1
    while label in present:
        n += 1
        label = f"{OTHER}#{n}"
    return label


def values(spec: Derived, cells: Sequence[Image | None]) -> pa.Array:
    """The derived column's values for ``cells`` (null where the image or group is absent)."""
    out: list[Any] = []
    for img in cells:
        if img is None:
            out.append(None)
            continue
        stats = img._class_stats()
        if spec.kind == "mask_fraction":
            fractions = stats["masks"].get(spec.group)
            out.append(None if fractions is None else _count(fractions, spec, 0.0))
            continue
        s = stats["boxes"].get(spec.group)
        if spec.kind == "box_count":
            out.append(0 if s is None else s["count"])
        elif spec.kind == "class_box_count":
            out.append(0 if s is None else _count(s["per_class"], spec, 0))
        elif spec.kind == "max_score":
            out.append(None if s is None else s["max"].get(spec.key))
        else:
            out.append(None if s is None else s["min"].get(spec.key))
    return pa.array(out, type=spec.arrow_type)


def _count(per_class: dict[str, Any], spec: Derived, zero: Any) -> Any:
    if spec.key != OTHER or not spec.own:
        return per_class.get(spec.key or "", zero)
    return sum((v for k, v in per_class.items() if k not in spec.own), zero)
