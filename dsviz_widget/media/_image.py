"""``Image``: pixels plus optional boxes, masks, classes and caption."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from dsviz_widget._digest import canonical_json
from dsviz_widget._errors import ValidationError
from dsviz_widget.media._blob import Blob, BlobReader
from dsviz_widget.media._boxes import box_stats, validate_boxes
from dsviz_widget.media._classes import Classes
from dsviz_widget.media._codec import (
    MAX_FILE_BYTES,
    WEB_FORMATS,
    array_to_pil,
    check_pixels,
    decode,
    encode_png,
    probe,
)
from dsviz_widget.media._masks import (
    decode_mask,
    encode_mask,
    mask_fractions,
    masks_equal,
    validate_masks,
)
from dsviz_widget.media._text import utf8_text


class Image:
    """An image with optional overlays.

    Parameters
    ----------
    data_or_path : numpy array, PIL image, path, bytes or Image
        Arrays are HxW, HxWx3 or HxWx4, ``uint8`` or float in [0, 1]; they are stored as
        lossless PNG. Files and bytes are stored as they are (a JPEG stays a JPEG). Another
        ``Image`` is *referenced*: its pixels are shared, not copied, and when it came from a
        logged artifact the new image is stored as a reference to that artifact's file.
        Only the pixels are shared; overlays and caption are the ones given here.
    caption : str, optional
    classes : Classes or list of dict, optional
        Names for the class ids used by ``boxes`` and ``masks``.
    boxes : dict, optional
        ``{"group": {"box_data": [{"position": {...}, "class_id": 1, "scores": {...},
        "box_caption": "..."}, ...]}}``.
    masks : dict, optional
        ``{"group": {"mask_data": 2-D int array}}`` or ``{"group": {"path": "mask.png"}}``.

    Examples
    --------
    >>> import numpy as np
    >>> img = Image(np.zeros((4, 6, 3), dtype=np.uint8), caption="black")
    >>> img.width, img.height
    (6, 4)
    """

    def __init__(
        self,
        data_or_path: Any,
        *,
        caption: str | None = None,
        classes: Classes | list[dict[str, Any]] | None = None,
        boxes: Mapping[str, Any] | None = None,
        masks: Mapping[str, Any] | None = None,
    ) -> None:
        where = "Image"
        self._blob, self._format, self._width, self._height = _pixels(data_or_path, where)
        if caption is not None and not isinstance(caption, str):
            raise ValidationError(f"Image caption must be a string, got {type(caption).__name__}")
        self._caption = utf8_text(caption, "Image caption") if caption is not None else None
        if classes is not None and not isinstance(classes, Classes):
            classes = Classes(classes)
        self._classes: Classes | None = classes
        self._boxes = validate_boxes(boxes, classes) if boxes is not None else None
        self._masks_given: Mapping[str, Any] | None = masks
        self._mask_arrays: dict[str, np.ndarray] | None = None
        self._mask_blobs: dict[str, Blob] | None = None
        if masks is not None:
            self._mask_arrays = validate_masks(masks, (self._width, self._height), classes)

    # -- attributes as given -------------------------------------------------------------
    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def format(self) -> str:
        """The stored file format: ``"png"``, ``"jpeg"``, ..."""
        return self._format

    @property
    def caption(self) -> str | None:
        return self._caption

    @property
    def classes(self) -> Classes | None:
        return self._classes

    @property
    def boxes(self) -> dict[str, Any] | None:
        """The boxes as given (numbers normalised to Python types)."""
        return json.loads(json.dumps(self._boxes)) if self._boxes is not None else None

    @property
    def masks(self) -> dict[str, Any] | None:
        """The masks: as given, or ``{"group": {"mask_data": array}}`` when read back."""
        if self._masks_given is not None:
            return dict(self._masks_given)
        arrays = self._masks()
        return {g: {"mask_data": a} for g, a in arrays.items()} if arrays is not None else None

    @property
    def digest(self) -> str:
        """SHA-256 of the stored image file."""
        return self._blob.digest

    # -- pixels ----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The encoded image file (PNG for arrays, the original bytes for files)."""
        return self._blob.data()

    def to_pil(self) -> PILImage.Image:
        """The pixels as a loaded PIL image."""
        return decode(self._blob.data(), f"image {self.digest[:12]}")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self.to_pil())
        return arr.astype(dtype) if dtype is not None else arr

    # -- equality --------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return NotImplemented
        if (self._caption, self._classes) != (other._caption, other._classes):
            return False
        if canonical_json(self._boxes) != canonical_json(other._boxes):
            return False
        a, b = self._masks(), other._masks()
        if (a is None) != (b is None) or (
            a is not None and b is not None and not masks_equal(a, b)
        ):
            return False
        if self.digest == other.digest:
            return True
        if (self._width, self._height) != (other._width, other._height):
            return False
        return np.array_equal(np.asarray(self), np.asarray(other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"{self._width}x{self._height} {self._format}"]
        if self._caption:
            parts.append(f"caption={self._caption!r}")
        if self._boxes:
            parts.append(f"boxes={sum(len(g['box_data']) for g in self._boxes.values())}")
        if self._mask_arrays or self._mask_blobs:
            parts.append(f"masks={sorted((self._mask_arrays or self._mask_blobs or {}).keys())}")
        return f"Image({', '.join(parts)})"

    # -- storage (used by Table and Artifact; see docs/architecture.md) -------------------
    def _masks(self) -> dict[str, np.ndarray] | None:
        if self._mask_arrays is None and self._mask_blobs is not None:
            self._mask_arrays = {
                g: decode_mask(b.data(), f"mask {g!r} of image {self.digest[:12]}")
                for g, b in self._mask_blobs.items()
            }
        return self._mask_arrays

    def _mask_blob_map(self) -> dict[str, Blob]:
        if self._mask_blobs is None:
            if not self._mask_arrays:
                return {}  # no masks: keep "no masks" apart from "an empty set of masks"
            self._mask_blobs = {g: Blob.of(encode_mask(a)) for g, a in self._mask_arrays.items()}
        return self._mask_blobs

    def _storage_blobs(self) -> list[tuple[Blob, str]]:
        """Every file this image needs stored, with its file extension."""
        out = [(self._blob, self._format)]
        out.extend((b, "png") for b in self._mask_blob_map().values())
        return out

    def _storage_record(self) -> dict[str, Any]:
        masks = {
            g: {"digest": b.digest, "width": self._width, "height": self._height}
            for g, b in self._mask_blob_map().items()
        }
        return {
            "digest": self.digest,
            "format": self._format,
            "width": self._width,
            "height": self._height,
            "caption": self._caption,
            "boxes": json.dumps(self._boxes, separators=(",", ":"))
            if self._boxes is not None
            else None,
            "masks": json.dumps(masks, separators=(",", ":")) if masks else None,
            "classes": self._classes.digest if self._classes is not None else None,
        }

    def _stats(self) -> dict[str, Any]:
        """Derived statistics: box counts and scores per box group, class fractions per mask.

        Cached: an image's overlays cannot change after construction.
        """
        cached: dict[str, Any] | None = self.__dict__.get("_stats_cache")
        if cached is None:
            masks = self._masks() or {}
            cached = {
                "boxes": box_stats(self._boxes) if self._boxes else {},
                "masks": {g: mask_fractions(a) for g, a in masks.items()},
            }
            self.__dict__["_stats_cache"] = cached
        return cached

    def _class_stats(self) -> dict[str, Any]:
        """:meth:`_stats` with classes named by *this image's* class list, for derived columns.

        Class ids are only meaningful within one class list: id 1 may be "cat" in one image
        and "dog" in the next, so counts are keyed by the class name (the id, as text, when
        the image has no ``Classes``). Ids of one list sharing a name are counted together.
        ``declared`` maps the names from ``Classes`` to their smallest id. Cached like :meth:`_stats`.
        """
        cached: dict[str, Any] | None = self.__dict__.get("_class_stats_cache")
        if cached is None:
            stats = self._stats()
            classes = self._classes

            def by_name(per_id: dict[int, Any]) -> dict[str, Any]:
                out: dict[str, Any] = {}
                for cid, value in per_id.items():
                    name = classes.name(cid) if classes is not None and cid in classes else str(cid)
                    out[name] = out.get(name, 0) + value
                return out

            cached = {
                "boxes": {
                    g: {**s, "per_class": by_name(s["per_class"])}
                    for g, s in stats["boxes"].items()
                },
                "masks": {g: by_name(f) for g, f in stats["masks"].items()},
                "declared": _first_ids(classes),
            }
            self.__dict__["_class_stats_cache"] = cached
        return cached

    @classmethod
    def _from_record(
        cls,
        record: Mapping[str, Any],
        classes: Classes | None,
        reader: BlobReader,
        origin_of: Any = None,
    ) -> Image:
        """Rebuild an image from its storage record; bytes are read lazily through ``reader``."""
        self = cls.__new__(cls)
        digest = record["digest"]
        self._blob = Blob(digest, reader=reader, origin=origin_of(digest) if origin_of else None)
        self._format = record["format"]
        self._width = int(record["width"])
        self._height = int(record["height"])
        self._caption = record.get("caption")
        self._classes = classes
        self._boxes = json.loads(record["boxes"]) if record.get("boxes") else None
        self._masks_given = None
        self._mask_arrays = None
        masks = json.loads(record["masks"]) if record.get("masks") else None
        self._mask_blobs = (
            {g: Blob(m["digest"], reader=reader) for g, m in masks.items()} if masks else None
        )
        return self


def _first_ids(classes: Classes | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in classes.class_set if classes is not None else ():
        out[item["name"]] = min(out.get(item["name"], item["id"]), item["id"])
    return out


def _pixels(data: Any, where: str) -> tuple[Blob, str, int, int]:
    """Blob, format, width and height of any accepted image input."""
    if isinstance(data, Image):
        return data._blob, data._format, data._width, data._height
    if isinstance(data, np.ndarray):
        im = array_to_pil(data, where)
        return Blob.of(encode_png(im)), "png", im.width, im.height
    if isinstance(data, PILImage.Image):
        check_pixels(data.width, data.height, where)
        return Blob.of(encode_png(data)), "png", data.width, data.height
    if isinstance(data, (bytes, bytearray, memoryview)):
        return _encoded(bytes(data), where)
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if "\x00" in path:
            raise ValidationError(f"{where}: the path contains a NUL byte")
        p = Path(path)
        if not p.is_file():
            raise ValidationError(f"{where}: no such image file: {path!r}")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ValidationError(f"{where}: {path!r} is larger than {MAX_FILE_BYTES} bytes")
        return _encoded(p.read_bytes(), f"{where} {path!r}")
    if hasattr(data, "__array__") or isinstance(data, list):
        return _pixels(np.asarray(data), where)
    raise ValidationError(
        f"{where}: expected a numpy array, PIL image, path, bytes or Image, got {type(data).__name__}"
    )


def _encoded(data: bytes, where: str) -> tuple[Blob, str, int, int]:
    fmt, width, height = probe(data, where)
    if fmt in WEB_FORMATS:
        return Blob.of(data), WEB_FORMATS[fmt], width, height
    # Formats browsers cannot show (TIFF, PPM, ...) are converted once, losslessly.
    return Blob.of(encode_png(decode(data, where))), "png", width, height
