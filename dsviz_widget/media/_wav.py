"""A minimal, exact WAV codec for numpy arrays (PCM integers and IEEE floats).

The standard library's ``wave`` only writes integer PCM; we need float32/float64 too so
``Audio(x, sr)`` round-trips bit for bit. Only the ``fmt `` and ``data`` chunks matter.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from dsviz_widget._errors import ValidationError

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
_DTYPES: dict[tuple[int, int], np.dtype[Any]] = {
    (_PCM, 8): np.dtype("u1"),
    (_PCM, 16): np.dtype("<i2"),
    (_PCM, 32): np.dtype("<i4"),
    (_FLOAT, 32): np.dtype("<f4"),
    (_FLOAT, 64): np.dtype("<f8"),
}


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """WAV bytes of a (frames,) or (frames, channels) array."""
    arr = samples if samples.ndim == 2 else samples.reshape(-1, 1)
    kind = {"u": _PCM, "i": _PCM, "f": _FLOAT}.get(arr.dtype.kind, 0)
    bits = arr.dtype.itemsize * 8
    if (kind, bits) not in _DTYPES:
        raise ValidationError(f"Audio: unsupported sample dtype {samples.dtype}")
    channels = arr.shape[1]
    data = np.ascontiguousarray(arr.astype(_DTYPES[(kind, bits)], copy=False)).tobytes()
    block = channels * bits // 8
    if sample_rate * block > 0xFFFFFFFF or len(data) > 0xFFFFFFF0:
        raise ValidationError(
            f"Audio: {channels} channels of {samples.dtype} at {sample_rate} Hz do not fit a "
            "WAV header (byte rate and size are 32-bit)"
        )
    fmt = struct.pack("<HHIIHH", kind, channels, sample_rate, sample_rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    if len(data) % 2:
        body += b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Samples and sample rate of WAV bytes; mono comes back 1-D."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValidationError("not a WAV file")
    pos, fmt, payload = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunk = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = struct.unpack("<HHIIHH", chunk[:16])
        elif cid == b"data":
            payload = chunk
        pos += 8 + size + (size % 2)
    if fmt is None or payload is None:
        raise ValidationError("WAV file has no fmt or data chunk")
    kind, channels, rate, _, _, bits = fmt
    if kind == _EXTENSIBLE:
        kind = _FLOAT if bits == 64 else _PCM
    dtype = _DTYPES.get((kind, bits))
    if dtype is None or channels < 1:
        raise ValidationError(f"unsupported WAV encoding (format {kind}, {bits} bits)")
    usable = len(payload) - len(payload) % (dtype.itemsize * channels)
    arr = np.frombuffer(payload[:usable], dtype=dtype).reshape(-1, channels)
    return (arr[:, 0].copy() if channels == 1 else arr.copy()), int(rate)


def wav_sample_rate(data: bytes) -> int | None:
    try:
        return decode_wav(data)[1]
    except ValidationError:
        return None
