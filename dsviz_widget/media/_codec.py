"""Image decoding with limits checked from the header, before any pixel is decoded.

Pillow reads only the header on ``open``; we check the format and the pixel count there,
so a decompression bomb (a small file that claims a giant size) is rejected without
allocating its pixels.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from PIL import Image as PILImage

from dsviz_widget._errors import ValidationError

#: Largest image accepted, in pixels (width x height). About 89 megapixels, Pillow's own
#: default warning threshold; a 12k x 7k photo fits.
MAX_IMAGE_PIXELS = 89_478_485
#: Largest image or audio file accepted, in bytes.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: Formats browsers can show directly; others are converted to PNG at ingest.
WEB_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}


@contextmanager
def open_checked(
    source: str | os.PathLike[str] | IO[bytes], where: str
) -> Iterator[PILImage.Image]:
    """Open an image, check its size from the header, and yield it (pixels not decoded yet)."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if "\x00" in text:
            raise ValidationError(f"{where}: the path contains a NUL byte")
        if not Path(text).is_file():
            raise ValidationError(f"{where}: no such image file: {text!r}")
        if Path(text).stat().st_size > MAX_FILE_BYTES:
            raise ValidationError(f"{where}: file is larger than {MAX_FILE_BYTES} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im = PILImage.open(source)
    except PILImage.DecompressionBombError as exc:
        raise ValidationError(
            f"{where}: image is too large ({exc}); dsviz_widget accepts at most "
            f"{MAX_IMAGE_PIXELS:,} pixels (dsviz_widget.media.MAX_IMAGE_PIXELS)"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(f"{where}: not a readable image ({exc})") from None
    try:
        check_pixels(im.size[0], im.size[1], where)
        yield im
    finally:
        im.close()


def check_pixels(width: int, height: int, where: str) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise ValidationError(
            f"{where}: image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{MAX_IMAGE_PIXELS:,} (dsviz_widget.media.MAX_IMAGE_PIXELS)"
        )
    if width <= 0 or height <= 0:
        raise ValidationError(f"{where}: image has no pixels ({width}x{height})")


def probe(data: bytes, where: str) -> tuple[str, int, int]:
    """Format, width and height of encoded image bytes, checking limits and decodability."""
    with open_checked(io.BytesIO(data), where) as im:
        fmt = im.format or ""
        width, height = im.size
        try:
            im.load()  # truncated or corrupt data fails here, inside the pixel cap
        except (OSError, SyntaxError, ValueError) as exc:
            raise ValidationError(f"{where}: image data is corrupt or truncated ({exc})") from None
    return fmt, width, height


def encode_png(im: PILImage.Image) -> bytes:
    """Lossless PNG. Level 3 is ~3x faster than Pillow's default 6 for ~5% more bytes."""
    if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
        im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def decode(data: bytes, where: str) -> PILImage.Image:
    """Decode encoded image bytes into a loaded PIL image (limits checked first)."""
    with open_checked(io.BytesIO(data), where) as im:
        im.load()
        return im.copy()
