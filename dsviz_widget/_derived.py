"""Derived, queryable columns computed at ingest from image columns.

For each image column: ``n_boxes``, ``n_boxes.<class>``, ``max_score.<score>``,
``min_score.<score>`` per box group, and ``%_<class>`` (pixel fraction) per mask group.
Names carry a ``<group>.`` prefix only when the column has several groups of that sort,
and a ``<column>.`` prefix only when several image columns have overlays, so the common
case reads like the seed (``%_vegetation > 0.5``). See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from dsviz_widget._errors import ValidationError
from dsviz_widget.media import Image


@dataclass(frozen=True)
class Derived:
    name: str
    source: str  # image column
    kind: str  # box_count | class_box_count | max_score | min_score | mask_fraction
    group: str
    key: int | str | None = None  # class id or score name

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "group": self.group,
        }
        if self.kind in ("class_box_count", "mask_fraction"):
            out["class_id"] = self.key
        elif self.key is not None:
            out["score"] = self.key
        return out

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.int64() if self.kind in ("box_count", "class_box_count") else pa.float64()


def plan(columns: Mapping[str, Sequence[Image | None]], taken: Sequence[str]) -> list[Derived]:
    """Decide the derived columns for the given image columns (``name -> cells``)."""
    raw: list[
        tuple[str, str, str, int | str | None, str]
    ] = []  # (col, kind, group, key, base name)
    with_overlays = []
    for col, cells in columns.items():
        box_groups: dict[str, None] = {}
        mask_groups: dict[str, None] = {}
        class_names: dict[int, str] = {}
        per_group_classes: dict[str, dict[int, None]] = {}
        per_group_scores: dict[str, dict[str, None]] = {}
        per_mask_classes: dict[str, dict[int, None]] = {}
        for img in {id(c): c for c in cells}.values():  # each distinct object once (callers may pass distinct cells)
            if img is None:
                continue
            stats = img._stats()
            if img.classes is not None:
                for item in img.classes.class_set:
                    class_names.setdefault(item["id"], item["name"])
            for g, s in stats["boxes"].items():
                box_groups.setdefault(g)
                per_group_classes.setdefault(g, {}).update(dict.fromkeys(s["per_class"]))
                per_group_scores.setdefault(g, {}).update(dict.fromkeys(s["max"]))
            for g, fractions in stats["masks"].items():
                mask_groups.setdefault(g)
                per_mask_classes.setdefault(g, {}).update(dict.fromkeys(fractions))
        if box_groups or mask_groups:
            with_overlays.append(col)
        names = _class_labels(class_names, per_group_classes, per_mask_classes)
        for g in box_groups:
            pre = f"{g}." if len(box_groups) > 1 else ""
            raw.append((col, "box_count", g, None, f"{pre}n_boxes"))
            for cid in sorted(per_group_classes[g]):
                raw.append((col, "class_box_count", g, cid, f"{pre}n_boxes.{names[cid]}"))
            for score in sorted(per_group_scores[g]):
                raw.append((col, "max_score", g, score, f"{pre}max_score.{score}"))
                raw.append((col, "min_score", g, score, f"{pre}min_score.{score}"))
        for g in mask_groups:
            pre = f"{g}." if len(mask_groups) > 1 else ""
            for cid in sorted(per_mask_classes[g]):
                raw.append((col, "mask_fraction", g, cid, f"{pre}%_{names[cid]}"))
    out: list[Derived] = []
    used = set(taken)
    for col, kind, group, key, base in raw:
        name = f"{col}.{base}" if len(with_overlays) > 1 else base
        if name in used:
            name = f"{col}.{base}"
        if name in used:
            raise ValidationError(
                f"derived column {name!r} (from image column {col!r}) collides with an existing "
                "column; rename that column"
            )
        used.add(name)
        out.append(Derived(name, col, kind, group, key))
    return out


def _class_labels(known: dict[int, str], *groups: dict[str, dict[int, None]]) -> dict[int, str]:
    ids = sorted({cid for g in groups for per in g.values() for cid in per} | set(known))
    labels = {cid: known.get(cid, str(cid)) for cid in ids}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    # Two ids sharing a name would share a column; keep them apart with the id.
    return {
        cid: (f"{label}#{cid}" if counts[label] > 1 else label) for cid, label in labels.items()
    }


def values(spec: Derived, cells: Sequence[Image | None]) -> pa.Array:
    """The derived column's values for ``cells`` (null where the image or group is absent)."""
    out: list[Any] = []
    for img in cells:
        if img is None:
            out.append(None)
            continue
        stats = img._stats()
        if spec.kind == "mask_fraction":
            fractions = stats["masks"].get(spec.group)
            out.append(None if fractions is None else fractions.get(spec.key, 0.0))
            continue
        s = stats["boxes"].get(spec.group)
        if spec.kind == "box_count":
            out.append(0 if s is None else s["count"])
        elif spec.kind == "class_box_count":
            out.append(0 if s is None else s["per_class"].get(spec.key, 0))
        elif spec.kind == "max_score":
            out.append(None if s is None else s["max"].get(spec.key))
        else:
            out.append(None if s is None else s["min"].get(spec.key))
    return pa.array(out, type=spec.arrow_type)
