"""Pixels from in-memory data: arrays, tensors, PIL images and matplotlib figures, as W&B reads them.

``wandb.Image`` users hand us the same objects they hand W&B, so the conversions follow
W&B's ``Image`` (read from its source): the ``normalize`` rescaling of arrays, the mode
guessed from the channel count, channel-first torch tensors, ``squeeze`` of trivial
dimensions, matplotlib figures and the ``pyplot`` module. Where W&B's result is undefined
(NaN pixels) or wraps silently (``normalize=False`` with values outside 0..255) we refuse
with a :class:`ValidationError` saying why. Neither torch nor matplotlib is imported here:
objects are recognised by their type's module, as W&B does, so both stay optional.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
from PIL import Image as PILImage
from PIL import ImageMode

from dsviz_widget._errors import ValidationError
from dsviz_widget.media._codec import check_pixels, decode

#: ``file_type`` values W&B accepts for in-memory data, and the format each is stored as.
FILE_TYPES = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "bmp": "bmp"}


def check_mode(mode: object) -> str | None:
    """``mode`` if it is a PIL mode (or None), else an error pointing at the likely mix-up."""
    if mode is None:
        return None
    if isinstance(mode, str):
        try:
            ImageMode.getmode(mode)
            return mode
        except KeyError:
            pass
    raise ValidationError(
        f"Image mode {mode!r} is not a PIL mode ('L', 'RGB', 'RGBA', ...); the second positional "
        "argument of Image is mode, as in wandb.Image: pass a caption as caption=..."
    )


def check_file_type(file_type: object) -> str | None:
    if file_type is None or (isinstance(file_type, str) and file_type in FILE_TYPES):
        return file_type
    raise ValidationError(f"file_type must be one of {list(FILE_TYPES)}, got {file_type!r}")


def type_name(obj: object) -> str:
    """``module.Class`` of ``obj`` (a module's own name for a module), as W&B tells types apart."""
    if type(obj).__name__ == "module":
        return str(getattr(obj, "__name__", ""))
    return f"{type(obj).__module__}.{type(obj).__name__}"


def is_torch_tensor(obj: object) -> bool:
    name = type_name(obj)
    return name.startswith("torch.") and ("Tensor" in name or "Variable" in name)


def is_matplotlib(obj: object) -> bool:
    return type_name(obj).startswith("matplotlib.")


def to_pil(
    data: Any, mode: str | None, normalize: bool, file_type: str | None, where: str
) -> PILImage.Image:
    """The PIL image W&B would make from in-memory ``data`` (anything but a path or bytes)."""
    if is_matplotlib(data):
        return _figure_pixels(data, where)
    if isinstance(data, PILImage.Image):
        check_pixels(data.width, data.height, where)
        return data  # W&B takes a PIL image as it is: ``mode`` applies to arrays only
    torch = is_torch_tensor(data)
    if torch:
        if getattr(data, "requires_grad", False):
            data = data.detach()
        data = data.cpu().numpy()  # uint8 included: W&B's cast to float changes no value
    elif hasattr(data, "numpy") and not isinstance(data, np.ndarray):
        data = data.numpy()  # TensorFlow eager tensors, as W&B does
    try:
        arr = np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{where}: cannot read {type(data).__name__} as pixels ({exc})"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise ValidationError(
            f"{where}: expected a numpy array, PIL image, path, bytes, Image, torch tensor or "
            f"matplotlib figure, got {type(data).__name__} (dtype {arr.dtype})"
        )
    if torch and arr.ndim == 3:
        arr = arr.transpose(1, 2, 0)  # torch images are channels, height, width
    if arr.ndim > 2:
        arr = arr.squeeze()  # W&B drops trivial dimensions: (1, H, W, 3) is one RGB image
    if not torch and arr.ndim == 3 and arr.shape[-1] > 4 and arr.shape[0] in (3, 4):
        # W&B refuses a channel-first numpy array. The layout is unambiguous here (the last
        # axis cannot be channels, the first can), so we read it as W&B reads a torch tensor.
        arr = arr.transpose(1, 2, 0)
    if arr.ndim not in (2, 3):
        raise ValidationError(
            f"{where}: image arrays must be HxW, HxWxC or CxHxW, got shape {arr.shape}"
        )
    check_pixels(arr.shape[1], arr.shape[0], where)
    mode = mode or _guess_mode(arr, file_type, where)
    pixels = rescale(arr, where) if normalize else _as_uint8(arr, where)
    try:
        return PILImage.fromarray(np.ascontiguousarray(pixels)).convert(mode)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{where}: cannot make a mode {mode!r} image from shape {arr.shape} ({exc})"
        ) from None


def _guess_mode(arr: np.ndarray, file_type: str | None, where: str) -> str:
    channels = 1 if arr.ndim == 2 else arr.shape[-1]
    if channels == 1:
        return "L"
    if channels == 3:
        return "RGB"
    if channels == 4:
        return "RGB" if file_type in ("jpg", "jpeg") else "RGBA"  # JPEG has no alpha
    raise ValidationError(
        f"{where}: unsupported shape for an image {list(arr.shape)}: the channels (last axis, "
        "or first for a torch tensor) must number 1, 3 or 4"
    )


def rescale(arr: np.ndarray, where: str) -> np.ndarray:
    """W&B's ``normalize=True``: [0, 1] -> x255, [-1, 1] -> [0, 255], else clip; then truncate.

    Applies to every dtype, as in W&B (a uint8 array of 0s and 1s becomes 0s and 255s). NaN is
    refused: W&B casts it to an undefined byte. Clipping warns, as W&B does.
    """
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if arr.size == 0:
        return arr.astype(np.uint8)
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValidationError(
            f"{where}: image contains NaN; W&B would store an undefined pixel there, so "
            "dsviz_widget refuses it (replace NaN first, e.g. np.nan_to_num)"
        )
    lo, hi = arr.min(), arr.max()
    # Float data keeps its own precision, so truncation lands on the same byte as in W&B.
    work = arr if arr.dtype.kind == "f" else arr.astype(np.float64)
    if lo >= 0 and hi <= 1:
        return (work * 255).astype(np.uint8)
    if lo >= -1 and hi <= 1:
        return (255 * 0.5 * (work + 1)).astype(np.uint8)
    if lo < 0 or hi > 255:
        warnings.warn(
            f"{where}: pixel values range {lo:g}..{hi:g}; they are clipped to 0..255 as W&B does "
            "(pass uint8 data, or scale it yourself, to avoid this)",
            UserWarning,
            stacklevel=5,
        )
    return work.clip(0, 255).astype(np.uint8)


def _as_uint8(arr: np.ndarray, where: str) -> np.ndarray:
    """W&B's ``normalize=False``: a plain uint8 cast, refused where the cast would wrap."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if arr.size and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValidationError(f"{where}: image contains NaN or infinity")
    if arr.size and (arr.min() < 0 or arr.max() >= 256):
        raise ValidationError(
            f"{where}: with normalize=False pixel values must be in 0..255, got "
            f"{arr.min():g}..{arr.max():g}; W&B would wrap them around modulo 256 silently, "
            "dsviz_widget refuses (use normalize=True to rescale or clip)"
        )
    return arr.astype(np.uint8)


def _figure_pixels(obj: Any, where: str) -> PILImage.Image:
    """Render a matplotlib figure (or ``pyplot``, meaning its current figure) as W&B does."""
    from matplotlib.figure import Figure  # matplotlib is here: obj is one of its objects

    fig = obj.gcf() if type_name(obj) == "matplotlib.pyplot" else obj
    if not isinstance(fig, Figure):
        fig = getattr(fig, "figure", None)
    if not isinstance(fig, Figure):
        raise ValidationError(
            f"{where}: only matplotlib.pyplot or a matplotlib Figure (or an object with a "
            f".figure, such as Axes) can be an image, got {type_name(obj)}"
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return decode(buf.getvalue(), f"{where}: rendered figure")


def encode_as(im: PILImage.Image, file_type: str | None) -> tuple[bytes, str]:
    """Encoded bytes and stored format of ``im`` saved as ``file_type`` (PNG when None)."""
    from dsviz_widget.media._codec import encode_png

    fmt = FILE_TYPES[file_type or "png"]
    if fmt == "png":
        return encode_png(im), "png"
    allowed = ("L", "RGB") if fmt == "jpeg" else ("1", "L", "P", "RGB", "RGBA")
    if im.mode not in allowed:
        alpha = "A" in im.getbands() and fmt != "jpeg"  # JPEG drops alpha, as in W&B
        im = im.convert("RGBA" if alpha else "RGB")
    buf = io.BytesIO()
    im.save(buf, format=fmt.upper())
    return buf.getvalue(), fmt
