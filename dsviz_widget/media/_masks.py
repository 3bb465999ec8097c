"""Segmentation masks: 2-D arrays of class ids, stored as single-channel PNGs."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from dsviz_widget._errors import ValidationError
from dsviz_widget.media._classes import Classes
from dsviz_widget.media._codec import open_checked
from dsviz_widget.media._text import utf8_text


def mask_array(spec: object, where: str) -> np.ndarray:
    """The class-id array of one mask spec (``{"mask_data": arr}`` or ``{"path": png}``)."""
    if not isinstance(spec, Mapping):
        raise ValidationError(f"{where} must be a dict with 'mask_data' or 'path'")
    keys = set(spec)
    if keys == {"mask_data"}:
        return _check_array(spec["mask_data"], f"{where}['mask_data']")
    if keys == {"path"}:
        return _read_png(spec["path"], f"{where}['path']")
    raise ValidationError(
        f"{where} must have exactly one of 'mask_data' or 'path', got {sorted(keys)}"
    )


def _check_array(data: object, where: str) -> np.ndarray:
    arr = np.asarray(data)
    if arr.ndim != 2:
        raise ValidationError(f"{where} must be a 2-D array of class ids, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValidationError(f"{where} must hold integer class ids, got dtype {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 65535):
        raise ValidationError(
            f"{where} class ids must be in 0..65535, got {arr.min()}..{arr.max()}"
        )
    return arr


def _read_png(path: object, where: str) -> np.ndarray:
    if not isinstance(path, (str, Path)):
        raise ValidationError(f"{where} must be a path to a PNG file")
    with open_checked(path, where) as im:
        if im.mode not in ("L", "P", "1", "I;16", "I"):
            raise ValidationError(
                f"{where} must be a single-channel PNG of class ids, got mode {im.mode}"
            )
        arr = np.asarray(im)
    return _check_array(arr, where)


def validate_masks(
    masks: object, size: tuple[int, int], classes: Classes | None
) -> dict[str, np.ndarray]:
    """Return ``{group: class-id array}``; sizes must match the image (``size`` = width, height)."""
    if not isinstance(masks, Mapping):
        raise ValidationError(
            "masks must be a dict like {'ground_truth': {'mask_data': array}}, "
            f"got {type(masks).__name__}"
        )
    out: dict[str, np.ndarray] = {}
    width, height = size
    for group, spec in masks.items():
        if not isinstance(group, str) or not group:
            raise ValidationError(f"mask group names must be non-empty strings, got {group!r}")
        where = f"masks[{group!r}]"
        utf8_text(group, "mask group name")
        arr = mask_array(spec, where)
        if arr.shape != (height, width):
            raise ValidationError(
                f"{where} is {arr.shape[1]}x{arr.shape[0]} (width x height) but the image is "
                f"{width}x{height}"
            )
        if classes is not None and arr.size:
            present = np.unique(arr)
            missing = [int(c) for c in present if int(c) not in classes]
            if missing:
                raise ValidationError(
                    f"{where} contains class ids {missing[:10]} that are not in the image's "
                    f"Classes (ids {classes.ids()})"
                )
        out[group] = arr
    return out


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
