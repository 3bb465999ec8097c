"""Media objects: Image, Classes, Audio, with validation, encoding and derived statistics.

Never imports widget code.
"""

from __future__ import annotations

from dsviz_widget.media._audio import Audio
from dsviz_widget.media._blob import Blob, BlobReader, Origin
from dsviz_widget.media._classes import Classes
from dsviz_widget.media._codec import MAX_FILE_BYTES, MAX_IMAGE_PIXELS
from dsviz_widget.media._image import Image

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_IMAGE_PIXELS",
    "Audio",
    "Blob",
    "BlobReader",
    "Classes",
    "Image",
    "Origin",
]
