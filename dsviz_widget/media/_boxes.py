"""Bounding boxes: validation into a canonical JSON-able form, and per-image statistics.

Boxes are kept in the shape the user gave (``minX/maxX/minY/maxY`` or
``middle/width/height``, pixel or fractional domain): the widget converts them when it
draws. Validation only normalises number types (numpy scalars become Python numbers) so
that the stored JSON is exact and two equal box sets compare equal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from dsviz_widget._errors import OverlayTypeError, ValidationError
from dsviz_widget.media._classes import class_labels
from dsviz_widget.media._text import utf8_text

_CORNERS = ("minX", "maxX", "minY", "maxY")
_BOX_KEYS = {"position", "domain", "class_id", "scores", "box_caption"}


def validate_boxes(boxes: object) -> tuple[dict[str, dict[str, Any]], list[dict[int, str]]]:
    """Check a ``{"group": {"box_data": [box, ...], "class_labels": {...}}}`` mapping.

    Returns the boxes normalised (``box_data`` only) and each group's ``class_labels``, in
    group order: the caller folds those into the image's one class list. A ``class_id`` need
    not be named anywhere (W&B accepts that too); it shows as its number. Raises
    :class:`ValidationError` naming the group, the box index and the field; for a wrong type
    or shape it is an :class:`OverlayTypeError`, a ``TypeError`` as W&B raises.
    """
    if not isinstance(boxes, Mapping):
        raise ValidationError(
            "boxes must be a dict like {'predictions': {'box_data': [...]}}, "
            f"got {type(boxes).__name__}"
        )
    out: dict[str, dict[str, Any]] = {}
    labels: list[dict[int, str]] = []
    for group, spec in boxes.items():
        if not isinstance(group, str) or not group:
            raise ValidationError(f"box group names must be non-empty strings, got {group!r}")
        where = f"boxes[{group!r}]"
        utf8_text(group, "box group name")
        if not isinstance(spec, Mapping) or "box_data" not in spec:
            raise OverlayTypeError(f"{where} must be a dict with a 'box_data' list")
        extra = set(spec) - {"box_data", "class_labels"}
        if extra:
            raise ValidationError(
                f"{where} has unknown keys {sorted(extra)} (a box group takes 'box_data' and "
                "'class_labels')"
            )
        data = spec["box_data"]
        if not isinstance(data, (list, tuple)):
            raise OverlayTypeError(f"{where}['box_data'] must be a list of boxes")
        out[group] = {
            "box_data": [_box(b, f"{where}['box_data'][{i}]") for i, b in enumerate(data)]
        }
        if spec.get("class_labels") is not None:
            labels.append(class_labels(spec["class_labels"], f"{where}['class_labels']"))
    return out, labels


def _box(box: object, where: str) -> dict[str, Any]:
    if not isinstance(box, Mapping):
        raise OverlayTypeError(f"{where} must be a dict, got {type(box).__name__}")
    extra = set(box) - _BOX_KEYS
    if extra:
        raise ValidationError(f"{where} has unknown keys {sorted(extra)}")
    if "position" not in box:
        raise OverlayTypeError(f"{where} has no 'position'")
    out: dict[str, Any] = {"position": _position(box["position"], f"{where}['position']")}
    domain = box.get("domain")
    if domain is not None:
        if domain != "pixel":
            raise ValidationError(
                f"{where}['domain'] must be 'pixel' or absent (fractions of the image), got {domain!r}"
            )
        out["domain"] = "pixel"
    if "class_id" not in box:
        raise OverlayTypeError(f"{where} has no 'class_id'")
    out["class_id"] = _integer(box["class_id"], f"{where}['class_id']")
    if box.get("scores") is not None:
        scores = box["scores"]
        if not isinstance(scores, Mapping):
            raise OverlayTypeError(f"{where}['scores'] must be a dict of name -> number")
        out["scores"] = {
            _score_name(k, where): _number(v, f"{where}['scores'][{k!r}]")
            for k, v in scores.items()
        }
    if box.get("box_caption") is not None:
        caption = box["box_caption"]
        if not isinstance(caption, str):
            raise OverlayTypeError(f"{where}['box_caption'] must be a string, got {caption!r}")
        out["box_caption"] = utf8_text(caption, f"{where}['box_caption']")
    return out


def _position(pos: object, where: str) -> dict[str, Any]:
    if not isinstance(pos, Mapping):
        raise OverlayTypeError(f"{where} must be a dict")
    keys = set(pos)
    if keys == set(_CORNERS):
        p = {k: _number(pos[k], f"{where}[{k!r}]") for k in _CORNERS}
        if p["minX"] > p["maxX"] or p["minY"] > p["maxY"]:
            raise ValidationError(f"{where} has min greater than max: {p}")
        return p
    if keys == {"middle", "width", "height"}:
        middle = pos["middle"]
        if hasattr(middle, "tolist") and not isinstance(middle, (list, tuple)):
            middle = middle.tolist()  # a numpy array or torch tensor, as W&B accepts
        if not isinstance(middle, (list, tuple)) or len(middle) != 2:
            raise OverlayTypeError(f"{where}['middle'] must be [x, y]")
        out: dict[str, Any] = {
            "middle": [
                _number(middle[0], f"{where}['middle'][0]"),
                _number(middle[1], f"{where}['middle'][1]"),
            ],
            "width": _number(pos["width"], f"{where}['width']"),
            "height": _number(pos["height"], f"{where}['height']"),
        }
        if out["width"] < 0 or out["height"] < 0:
            raise ValidationError(f"{where} has a negative width or height")
        return out
    raise OverlayTypeError(
        f"{where} must have either minX, maxX, minY, maxY or middle, width, height; got {sorted(keys)}"
    )


def _score_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise OverlayTypeError(f"{where}['scores'] keys must be non-empty strings, got {name!r}")
    return utf8_text(name, f"{where}['scores'] key")


def _number(value: object, where: str) -> float | int:
    if isinstance(value, bool) or not _is_real(value):
        raise OverlayTypeError(f"{where} must be a number, got {value!r}")
    if isinstance(value, int):
        return value
    f = float(value)  # type: ignore[arg-type]
    if not math.isfinite(f):
        raise ValidationError(f"{where} is {f}; box coordinates and scores must be finite")
    if f.is_integer() and _is_int_like(value):
        return int(f)
    return f


def _integer(value: object, where: str) -> int:
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise OverlayTypeError(f"{where} must be an int, got {value!r}")
    return int(value)


def _is_real(value: object) -> bool:
    import numpy as np

    return isinstance(value, (int, float, np.integer, np.floating))


def _is_int_like(value: object) -> bool:
    import numpy as np

    return isinstance(value, np.integer)


def box_stats(boxes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per group: ``count``, ``per_class`` {class_id: n}, ``max``/``min`` {score: value}."""
    stats: dict[str, dict[str, Any]] = {}
    for group, spec in boxes.items():
        per_class: dict[int, int] = {}
        hi: dict[str, float] = {}
        lo: dict[str, float] = {}
        for box in spec["box_data"]:
            per_class[box["class_id"]] = per_class.get(box["class_id"], 0) + 1
            for name, value in box.get("scores", {}).items():
                hi[name] = max(hi.get(name, value), value)
                lo[name] = min(lo.get(name, value), value)
        stats[group] = {
            "count": len(spec["box_data"]),
            "per_class": per_class,
            "max": hi,
            "min": lo,
        }
    return stats
