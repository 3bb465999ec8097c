"""Segmentation masks: 2-D arrays of class ids, stored as single-channel PNGs."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from dsviz_widget._errors import OverlayTypeError, ValidationError
from dsviz_widget.media._classes import class_labels
from dsviz_widget.media._codec import check_pixels, open_checked
from dsviz_widget.media._convert import is_torch_tensor
from dsviz_widget.media._text import utf8_text

#: Largest class id a mask holds: masks are stored as 16-bit PNGs (W&B stops at 255).
MAX_MASK_ID = 65535


def mask_array(spec: object, where: str) -> tuple[np.ndarray, dict[int, str] | None]:
    """The class-id array and ``class_labels`` of one mask spec.

    ``{"mask_data": arr}`` or ``{"path": png}``, either with an optional ``class_labels``.
    """
    if not isinstance(spec, Mapping):
        raise OverlayTypeError(f"{where} must be a dict with 'mask_data' or 'path'")
    keys = set(spec) - {"class_labels"}
    labels = spec.get("class_labels")
    named = class_labels(labels, f"{where}['class_labels']") if labels is not None else None
    if keys == {"mask_data"}:
        return _check_array(spec["mask_data"], f"{where}['mask_data']"), named
    if keys == {"path"}:
        return _read_png(spec["path"], f"{where}['path']"), named
    raise OverlayTypeError(
        f"{where} must have exactly one of 'mask_data' or 'path' (and optionally "
        f"'class_labels'), got {sorted(spec)}"
    )


def _check_array(data: object, where: str) -> np.ndarray:
    if is_torch_tensor(data):
        data = data.detach().cpu().numpy()  # type: ignore[attr-defined]
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise OverlayTypeError(f"{where} is not an array of class ids ({exc})") from None
    if arr.ndim != 2:
        raise OverlayTypeError(f"{where} must be a 2-D array of class ids, got shape {arr.shape}")
    check_pixels(arr.shape[1], arr.shape[0], where)  # sizes are no longer bounded by the image's
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if arr.dtype.kind == "f":
        # Float masks are common (a model's argmax cast to float, a resized mask): accepted
        # when every value is a whole number, as W&B accepts them; anything else would have
        # to be rounded to some class, so it is refused.
        if not np.isfinite(arr).all() or not np.array_equal(arr, np.trunc(arr)):
            bad = arr[~np.isfinite(arr) | (arr != np.trunc(arr))].ravel()[:3]
            raise OverlayTypeError(
                f"{where} must hold whole-number class ids; this float mask has values like "
                f"{', '.join(f'{v:g}' for v in bad)} (round or cast it to int first)"
            )
    elif arr.dtype.kind not in "iu":
        raise OverlayTypeError(f"{where} must hold integer class ids, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > MAX_MASK_ID):
        raise OverlayTypeError(
            f"{where} class ids must be in 0..{MAX_MASK_ID}, got {arr.min():g}..{arr.max():g}"
        )
    return arr if arr.dtype.kind in "iu" else arr.astype(np.int64)


def _read_png(path: object, where: str) -> np.ndarray:
    if not isinstance(path, (str, Path)):
        raise OverlayTypeError(f"{where} must be a path to a PNG file")
    with open_checked(path, where) as im:
        if im.mode not in ("L", "P", "1", "I;16", "I"):
            raise ValidationError(
                f"{where} must be a single-channel PNG of class ids, got mode {im.mode}"
            )
        arr = np.asarray(im)
    return _check_array(arr, where)


def validate_masks(masks: object) -> tuple[dict[str, np.ndarray], list[dict[int, str]]]:
    """``{group: class-id array}`` and each group's ``class_labels``, in group order.

    A mask need not have the image's size: the widget stretches each mask over its image
    when it draws (a mask tile is drawn into the image's frame), as W&B's UI does, so a
    half-resolution segmentation lines up without resizing it here. Ids need not be named
    in any class list (W&B accepts that too); they show as their number.
    """
    if not isinstance(masks, Mapping):
        raise ValidationError(
            "masks must be a dict like {'ground_truth': {'mask_data': array}}, "
            f"got {type(masks).__name__}"
        )
    out: dict[str, np.ndarray] = {}
    labels: list[dict[int, str]] = []
    for group, spec in masks.items():
        if not isinstance(group, str) or not group:
            raise ValidationError(f"mask group names must be non-empty strings, got {group!r}")
        where = f"masks[{group!r}]"
        utf8_text(group, "mask group name")
        out[group], named = mask_array(spec, where)
        if named is not None:
            labels.append(named)
    return out, labels


def encode_mask(arr: np.ndarray) -> bytes:
    """A lossless PNG of the class ids: 8-bit when they fit, else 16-bit."""
    if arr.size == 0 or int(arr.max()) < 256:
        im = PILImage.fromarray(arr.astype(np.uint8))  # mode L
    else:
        im = PILImage.fromarray(arr.astype(np.uint16))  # mode I;16
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def decode_mask(data: bytes, where: str = "mask") -> np.ndarray:
    with open_checked(io.BytesIO(data), where) as im:
        return np.asarray(im).copy()


def mask_fractions(arr: np.ndarray) -> dict[int, float]:
    """Fraction of pixels of each class id present in the mask."""
    if arr.size == 0:
        return {}
    counts = np.bincount(arr.ravel().astype(np.int64))
    total = float(arr.size)
    return {int(c): float(n) / total for c, n in enumerate(counts) if n}


def masks_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(a[k], b[k]) for k in a)
