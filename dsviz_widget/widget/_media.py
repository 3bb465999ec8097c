"""Thumbnails and mask tiles for visible image cells, made with Pillow and cached by digest.

Images become JPEG (PNG when they have transparency) no larger than the requested size. Masks
are class ids per pixel, so they are sent raw (uint8 / uint16, little-endian), resized with
nearest-neighbour sampling; the browser colours them per class, so a class toggle or an
opacity change needs no round trip.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from dsviz_widget.artifacts._prefetch import run_all

#: Pixel count above which an image is refused rather than decoded (Pillow's own default).
MAX_PIXELS = 89_478_485
JPEG_QUALITY = 85
#: Images decoded at the same time. Reads run on the fetching pool (16 at once, waiting on
#: the network); decoding holds the full pixels in memory and wants a core, so it is bounded
#: by the cores, not by the pool.
_DECODING = threading.BoundedSemaphore(max(1, min(4, os.cpu_count() or 1)))


@dataclass(frozen=True)
class Encoded:
    """One encoded thumbnail (``mime`` image/jpeg or image/png) or raw mask tile."""

    data: bytes
    mime: str
    width: int
    height: int
    dtype: str = ""


class MediaError(ValueError):
    """A blob could not be turned into a thumbnail (missing, unreadable, too large)."""


def _fit(width: int, height: int, size: int) -> tuple[int, int]:
    scale = min(1.0, size / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _open(data: bytes, digest: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise MediaError(f"image {digest[:12]} is too large to show") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"image {digest[:12]} is not a readable image ({exc})") from None
    if im.size[0] * im.size[1] > MAX_PIXELS:
        raise MediaError(f"image {digest[:12]} is too large to show ({im.size[0]}x{im.size[1]})")
    return im


def make_thumbnail(data: bytes, size: int, digest: str = "") -> Encoded:
    """Encode ``data`` (any Pillow-readable image) scaled to fit ``size`` x ``size``."""
    im = _open(data, digest)
    try:
        if im.format == "JPEG":
            im.draft("RGB", (size, size))  # decode at reduced scale: much faster for big JPEGs
        alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
        target = "RGBA" if alpha else ("L" if im.mode in ("1", "L") else "RGB")
        im = im.convert(target) if im.mode != target else im
        im.load()
        if max(im.size) > size:
            im = im.resize(
                _fit(im.size[0], im.size[1], size), Image.Resampling.BILINEAR, reducing_gap=2.0
            )
        out = io.BytesIO()
        if alpha:
            im.save(out, format="PNG", compress_level=1)
            mime = "image/png"
        else:
            im.save(out, format="JPEG", quality=JPEG_QUALITY)
            mime = "image/jpeg"
        return Encoded(out.getvalue(), mime, im.size[0], im.size[1])
    except OSError as exc:
        raise MediaError(f"image {digest[:12]} could not be decoded ({exc})") from None


def make_mask_tile(data: bytes, size: int, digest: str = "") -> Encoded:
    """Class ids of a mask PNG, nearest-resized to fit ``size``, as raw little-endian bytes."""
    im = _open(data, digest)
    try:
        arr = np.asarray(im)
    except OSError as exc:
        raise MediaError(f"mask {digest[:12]} could not be decoded ({exc})") from None
    if arr.ndim == 3:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise MediaError(f"mask {digest[:12]} is not a 2-D class-id image")
    h, w = arr.shape
    tw, th = _fit(w, h, size)
    if (tw, th) != (w, h):
        rows = (np.arange(th) * h // th).astype(np.intp)
        cols = (np.arange(tw) * w // tw).astype(np.intp)
        arr = arr[rows][:, cols]
    if arr.max(initial=0) > 255 or arr.dtype.itemsize > 1:
        tile = np.ascontiguousarray(np.clip(arr, 0, 65535).astype("<u2"))
        dtype = "uint16"
    else:
        tile = np.ascontiguousarray(arr.astype(np.uint8))
        dtype = "uint8"
    return Encoded(tile.tobytes(), "application/x-class-ids", tw, th, dtype)


class MediaCache:
    """LRU of encoded thumbnails and mask tiles keyed by (role, digest, size), bounded in bytes."""

    def __init__(self, read_blob: Callable[[str], bytes], max_bytes: int = 128 * 1024 * 1024):
        self._read_blob = read_blob
        self._max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str, int], Encoded] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, role: str, digest: str, size: int) -> Encoded:
        key = (role, digest, size)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return hit
        self.misses += 1
        try:
            data = self._read_blob(digest)
        except Exception as exc:
            raise MediaError(f"cannot read {role} {digest[:12]}: {exc}") from None
        with _DECODING:
            made = (make_mask_tile if role == "mask" else make_thumbnail)(data, size, digest)
        with self._lock:
            self._items[key] = made
            self._bytes += len(made.data)
            while self._bytes > self._max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old.data)
        return made

    def get_many(self, wanted: Sequence[tuple[str, str]], size: int) -> list[Encoded | MediaError]:
        """:meth:`get` of each ``(role, digest)``, in order, a failure as its MediaError.

        The ones not encoded yet are read and encoded on the fetching pool, so a page of
        thumbnails from a store in a bucket waits for a few round trips, not one per image;
        only the files asked for are read.
        """

        def one(item: tuple[str, str]) -> Encoded | MediaError:
            try:
                return self.get(item[0], item[1], size)
            except MediaError as exc:
                return exc

        return run_all(one, wanted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
