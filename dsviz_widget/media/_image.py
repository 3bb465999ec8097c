"""``Image``: pixels plus optional boxes, masks, classes and caption."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image as PILImage

from dsviz_widget._digest import canonical_json
from dsviz_widget._errors import ValidationError
from dsviz_widget.media._blob import Blob, BlobReader
from dsviz_widget.media._boxes import box_stats, validate_boxes
from dsviz_widget.media._classes import Classes, merged_classes
from dsviz_widget.media._codec import MAX_FILE_BYTES, WEB_FORMATS, decode, encode_png, probe
from dsviz_widget.media._convert import check_file_type, check_mode, encode_as, to_pil
from dsviz_widget.media._masks import (
    decode_mask,
    encode_mask,
    mask_fractions,
    masks_equal,
    validate_masks,
)
from dsviz_widget.media._text import utf8_text


class Image:
    """An image with optional overlays; takes what ``wandb.Image`` takes.

    Parameters
    ----------
    data_or_path : numpy array, torch tensor, PIL image, matplotlib figure, path, bytes or Image
        Arrays are HxW or HxWxC (C = 1, 3 or 4; a torch tensor CxHxW); trivial dimensions are
        dropped. With ``normalize`` they are rescaled as W&B does: values in [0, 1] times 255,
        values in [-1, 1] mapped onto [0, 255], anything else clipped to 0..255 (with a
        warning), then truncated to uint8. A matplotlib figure (or ``matplotlib.pyplot``, its
        current figure) is rendered. In-memory data is stored as ``file_type`` (lossless PNG by
        default). Files and bytes are stored as they are (a JPEG stays a JPEG). Another
        ``Image`` is *referenced*: its pixels are shared, not copied (stored as a reference
        when it came from a logged artifact); its caption, classes and grouping carry over
        unless given here; its boxes and masks do not.
    mode : str, optional
        PIL mode for array and tensor data (``"L"``, ``"RGB"``, ``"RGBA"``, ...); guessed from
        the channels when absent. As in W&B this is the *second* positional argument.
    caption : str, optional
    grouping : int, optional
        Kept on the object for code that reads it; not stored in artifacts.
    classes : Classes or list of dict, optional
        Names for the class ids used by ``boxes`` and ``masks``.
    boxes : dict, optional
        ``{"group": {"box_data": [{"position": {...}, "class_id": 1, "scores": {...},
        "box_caption": "..."}, ...], "class_labels": {1: "car"}}}``.
    masks : dict, optional
        ``{"group": {"mask_data": 2-D int array, "class_labels": {...}}}`` or
        ``{"group": {"path": "mask.png"}}``. A mask may be smaller or larger than the image:
        it is stretched over the image when drawn.
    file_type : {"png", "jpg", "jpeg", "bmp"}, optional
        How in-memory data is stored; no effect on files, bytes and Images.
    normalize : bool
        Rescale array data as above (default). ``False`` stores values as they are; they must
        then be in 0..255.

    The groups' ``class_labels`` and ``classes`` become the image's one class list
    (:attr:`classes`), merged with W&B's precedence: box groups, then mask groups, each
    renaming ids an earlier one named, then ``classes`` over all of them.

    Examples
    --------
    >>> import numpy as np
    >>> img = Image(np.zeros((4, 6, 3), dtype=np.uint8), caption="black")
    >>> img.width, img.height
    (6, 4)
    >>> Image(np.array([[0.2, 0.3]])).to_data_array()
    [[51, 76]]
    """

    _caption: str | None
    _grouping: int | None
    _classes: Classes | None

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Classes | Sequence[Mapping[str, Any]] | None = None,
        boxes: Mapping[str, Any] | None = None,
        masks: Mapping[str, Any] | None = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        where = "Image"
        mode = check_mode(mode)
        file_type = check_file_type(file_type)
        self._blob, self._format, self._width, self._height = _pixels(
            data_or_path, mode, normalize, file_type, where
        )
        # W&B echoes the file_type it was given: "jpg" stays "jpg" (stored as JPEG).
        self._jpg = file_type == "jpg" and self._format == "jpeg"
        if caption is not None and not isinstance(caption, str):
            raise ValidationError(f"Image caption must be a string, got {type(caption).__name__}")
        if grouping is not None and (isinstance(grouping, bool) or not isinstance(grouping, int)):
            raise ValidationError(f"Image grouping must be an int, got {grouping!r}")
        source = data_or_path if isinstance(data_or_path, Image) else None
        if source is not None:  # W&B copies these from the image it is given
            caption = source._caption if caption is None else caption
            grouping = source._grouping if grouping is None else grouping
            classes = source._classes if classes is None else classes
        self._caption = utf8_text(caption, "Image caption") if caption is not None else None
        self._grouping = grouping
        if classes is not None and not isinstance(classes, Classes):
            classes = Classes(classes)
        labels: list[dict[int, str]] = []
        self._boxes: dict[str, dict[str, Any]] | None = None
        if boxes is not None:
            self._boxes, box_labels = validate_boxes(boxes)
            labels.extend(box_labels)
        self._masks_given: Mapping[str, Any] | None = masks
        self._mask_arrays: dict[str, np.ndarray] | None = None
        self._mask_blobs: dict[str, Blob] | None = None
        if masks is not None:
            self._mask_arrays, mask_labels = validate_masks(masks)
            labels.extend(mask_labels)
        self._mask_sizes = {
            g: (a.shape[1], a.shape[0]) for g, a in (self._mask_arrays or {}).items()
        }
        self._classes = merged_classes(classes, labels)

    # -- attributes as given -------------------------------------------------------------
    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def format(self) -> str:
        """The stored file format: ``"png"``, ``"jpeg"``, ... (``"jpg"`` when
        ``file_type="jpg"`` was given, as W&B echoes it)."""
        return "jpg" if self.__dict__.get("_jpg") else self._format

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
    @property
    def grouping(self) -> int | None:
        """The ``grouping`` given (W&B's; kept in memory, not stored)."""
        return self._grouping

    @property
    def image(self) -> PILImage.Image:
        """The pixels as a PIL image, like ``wandb.Image.image``."""
        return self.to_pil()

    def to_bytes(self) -> bytes:
        """The encoded image file (PNG for arrays, the original bytes for files)."""
        return self._blob.data()

    def to_pil(self) -> PILImage.Image:
        """The pixels as a loaded PIL image."""
        return decode(self._blob.data(), f"image {self.digest[:12]}")

    def to_numpy(self) -> np.ndarray:
        """The pixels as an array: HxW, HxWx3 or HxWx4 uint8 (``np.asarray(img.image)``).

        An ``Image`` is deliberately *not* array-like (no ``__array__``): numpy keeps it as
        one object, so ``np.array([ids, images, labels]).T`` gives rows of objects, as with
        W&B's images, instead of unpacking every image into its pixels.
        """
        return np.asarray(self.to_pil())

    def to_data_array(self) -> list[Any]:
        """The pixels as nested lists, one list per row, like ``wandb.Image.to_data_array``.

        A pixel is an int for single-channel images, a tuple for RGB / RGBA.
        """
        im = self.to_pil()
        # Pillow 12.1 renamed getdata (deprecated, gone in 14) to get_flattened_data.
        flat = getattr(im, "get_flattened_data", None)
        data = list(flat() if flat is not None else im.getdata())
        return [data[i * im.width : (i + 1) * im.width] for i in range(im.height)]

    @classmethod
    def all_captions(cls, images: Sequence[Any]) -> list[str | None] | bool:
        """The captions of ``images`` as W&B's ``Image.all_captions`` gives them.

        ``False`` when the first image has no caption, else every image's caption (``None``
        where one has none). An empty list gives ``False`` (W&B raises ``IndexError``).
        """
        return cls.captions(images)

    @staticmethod
    def captions(images: Sequence[Any]) -> list[str | None] | bool:
        """W&B's ``Media.captions``: see :meth:`all_captions`."""
        if not images or images[0].caption is None:
            return False
        return [im.caption for im in images]

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
        return np.array_equal(self.to_numpy(), other.to_numpy())

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
        masks = {  # each mask's own size: it may differ from the image's
            g: {
                "digest": b.digest,
                "width": self._mask_sizes[g][0],
                "height": self._mask_sizes[g][1],
            }
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
        self._grouping = None
        self._classes = classes
        self._boxes = json.loads(record["boxes"]) if record.get("boxes") else None
        self._masks_given = None
        self._mask_arrays = None
        masks = json.loads(record["masks"]) if record.get("masks") else None
        self._mask_blobs = (
            {g: Blob(m["digest"], reader=reader) for g, m in masks.items()} if masks else None
        )
        self._mask_sizes = {
            g: (int(m["width"]), int(m["height"])) for g, m in (masks or {}).items()
        }
        return self


def _first_ids(classes: Classes | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in classes.class_set if classes is not None else ():
        out[item["name"]] = min(out.get(item["name"], item["id"]), item["id"])
    return out


def _pixels(
    data: Any, mode: str | None, normalize: bool, file_type: str | None, where: str
) -> tuple[Blob, str, int, int]:
    """Blob, format, width and height of any accepted image input."""
    if isinstance(data, Image):
        return data._blob, data._format, data._width, data._height
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
    im = to_pil(data, mode, normalize, file_type, where)
    encoded, fmt = encode_as(im, file_type)
    return Blob.of(encoded), fmt, im.width, im.height


def _encoded(data: bytes, where: str) -> tuple[Blob, str, int, int]:
    fmt, width, height = probe(data, where)
    if fmt in WEB_FORMATS:
        return Blob.of(data), WEB_FORMATS[fmt], width, height
    # Formats browsers cannot show (TIFF, PPM, ...) are converted once, losslessly.
    return Blob.of(encode_png(decode(data, where))), "png", width, height
