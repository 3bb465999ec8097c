"""``Audio``: samples and a sample rate, or an audio file, with an optional caption."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dsviz_widget._errors import ValidationError
from dsviz_widget.media._blob import Blob, BlobReader
from dsviz_widget.media._codec import MAX_FILE_BYTES
from dsviz_widget.media._text import utf8_text
from dsviz_widget.media._wav import decode_wav, encode_wav, wav_sample_rate

_MAGIC = (
    (b"RIFF", "wav"),
    (b"OggS", "ogg"),
    (b"fLaC", "flac"),
    (b"ID3", "mp3"),
    (b"\xff\xfb", "mp3"),
)


class Audio:
    """A sound clip.

    Parameters
    ----------
    data_or_path : numpy array, path or bytes
        An array of shape (frames,) or (frames, channels), int16/int32/uint8/float32/float64,
        stored exactly as WAV; or a WAV, OGG, FLAC or MP3 file, stored as it is.
    sample_rate : int
        Required for arrays; read from the header for WAV files.
    caption : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> clip = Audio(np.zeros(800, dtype=np.float32), sample_rate=8000)
    >>> clip.duration
    0.1
    """

    def __init__(
        self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None
    ) -> None:
        if caption is not None and not isinstance(caption, str):
            raise ValidationError("Audio caption must be a string")
        self._caption = utf8_text(caption, "Audio caption") if caption is not None else None
        self._blob: Blob
        self._format: str
        self._rate: int | None
        if isinstance(data_or_path, Audio):
            self._blob, self._format, self._rate = (
                data_or_path._blob,
                data_or_path._format,
                data_or_path._rate,
            )
            return
        if isinstance(data_or_path, (np.ndarray, list)):
            arr = _samples(np.asarray(data_or_path))
            rate = _sample_rate(sample_rate, required=True)
            assert rate is not None
            if arr.nbytes > MAX_FILE_BYTES:
                raise ValidationError(f"Audio: the samples are larger than {MAX_FILE_BYTES} bytes")
            self._blob = Blob.of(encode_wav(arr, rate))
            self._format, self._rate = "wav", rate
            return
        if isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            if "\x00" in path or not Path(path).is_file():
                raise ValidationError(f"Audio: no such audio file: {path!r}")
            if Path(path).stat().st_size > MAX_FILE_BYTES:
                raise ValidationError(f"Audio: {path!r} is larger than {MAX_FILE_BYTES} bytes")
            data = Path(path).read_bytes()
        elif isinstance(data_or_path, (bytes, bytearray)):
            data = bytes(data_or_path)
        else:
            raise ValidationError(
                f"Audio expects a numpy array, path or bytes, got {type(data_or_path).__name__}"
            )
        fmt = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
        if fmt is None:
            raise ValidationError("Audio: unrecognised audio file (expected WAV, OGG, FLAC or MP3)")
        rate = wav_sample_rate(data) if fmt == "wav" else None
        if fmt == "wav" and rate is None:
            raise ValidationError("Audio: the WAV file is corrupt or uses an unsupported encoding")
        self._blob, self._format = Blob.of(data), fmt
        self._rate = rate or _sample_rate(sample_rate, required=False)

    @property
    def sample_rate(self) -> int | None:
        return self._rate

    @property
    def caption(self) -> str | None:
        return self._caption

    @property
    def format(self) -> str:
        return self._format

    @property
    def digest(self) -> str:
        return self._blob.digest

    @property
    def duration(self) -> float | None:
        """Length in seconds (WAV only)."""
        if self._format != "wav" or not self._rate:
            return None
        samples, rate = decode_wav(self._blob.data())
        return float(samples.shape[0] / rate)

    def to_bytes(self) -> bytes:
        return self._blob.data()

    def to_numpy(self) -> np.ndarray:
        """The samples, (frames,) or (frames, channels), in the dtype they were given (WAV only).

        An ``Audio`` is deliberately *not* array-like (no ``__array__``): numpy keeps it as one
        object in ``np.array([ids, clips]).T``, as with W&B's ``Audio``.
        """
        if self._format != "wav":
            raise ValidationError(f"only WAV audio can be read as samples, this is {self._format}")
        return decode_wav(self._blob.data())[0]

    # -- W&B's helpers over lists of clips ---------------------------------------------------
    @classmethod
    def sample_rates(cls, audio_list: Sequence[Audio]) -> list[int | None]:
        """Each clip's sample rate, like ``wandb.Audio.sample_rates``."""
        return [a.sample_rate for a in audio_list]

    @classmethod
    def durations(cls, audio_list: Sequence[Audio]) -> list[float | None]:
        """Each clip's length in seconds, like ``wandb.Audio.durations``.

        ``None`` where it is unknown (a non-WAV file). W&B knows durations of arrays only;
        a WAV file's is read from it here.
        """
        return [a.duration for a in audio_list]

    @classmethod
    def captions(cls, audio_list: Sequence[Audio]) -> list[str] | bool:
        """Captions like ``wandb.Audio.captions``: ``False`` when no clip has one, else every
        clip's caption with ``""`` for a clip without."""
        captions = [a.caption for a in audio_list]
        if all(c is None for c in captions):
            return False
        return ["" if c is None else c for c in captions]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Audio):
            return NotImplemented
        return (self.digest, self._rate, self._caption) == (
            other.digest,
            other._rate,
            other._caption,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Audio({self._format}, sample_rate={self._rate}, caption={self._caption!r})"

    def _storage_blobs(self) -> list[tuple[Blob, str]]:
        return [(self._blob, self._format)]

    def _storage_record(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "format": self._format,
            "sample_rate": self._rate,
            "caption": self._caption,
        }

    @classmethod
    def _from_record(cls, record: Mapping[str, Any], reader: BlobReader) -> Audio:
        self = cls.__new__(cls)
        self._blob = Blob(record["digest"], reader=reader)
        self._format = record["format"]
        self._rate = record.get("sample_rate")
        self._caption = record.get("caption")
        return self


#: Largest sample rate a WAV header holds (32 bits, and so does the byte rate).
MAX_SAMPLE_RATE = 2**32 - 1


def _sample_rate(value: object, *, required: bool) -> int | None:
    if value is None and not required:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not 0 < int(value) <= MAX_SAMPLE_RATE
    ):
        raise ValidationError(
            f"Audio needs a sample_rate that is an int in 1..{MAX_SAMPLE_RATE}, got {value!r}"
        )
    return int(value)


def _samples(arr: np.ndarray) -> np.ndarray:
    """The samples in a WAV sample type holding exactly the same values, or a refusal.

    WAV holds uint8, int16, int32, float32 and float64 as they are. Other dtypes are widened
    only where every value survives: int8 -> int16, uint16 -> int32, float16 -> float32,
    and uint32 / int64 / uint64 -> int32 when the values fit (plain Python int lists arrive
    as int64). Everything else (bool, complex, object, strings, dates) is refused, never cast.
    """
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ValidationError(
            f"Audio arrays must be (frames,) or (frames, channels), got shape {arr.shape}"
        )
    dt = arr.dtype
    if dt.kind == "f":
        if dt.itemsize > 8:
            raise ValidationError(f"Audio: {dt} samples would be rounded; convert to float64")
        if not np.isfinite(arr).all():
            raise ValidationError("Audio samples contain NaN or infinity")
        return arr if dt.itemsize in (4, 8) else arr.astype(np.float32)
    if dt.kind not in "iu":
        raise ValidationError(
            f"Audio samples must be integers or floats, got dtype {dt} (convert them first)"
        )
    if (dt.kind, dt.itemsize) in (("u", 1), ("i", 2), ("i", 4)):
        return arr
    if (dt.kind, dt.itemsize) in (("i", 1), ("u", 2)):
        return arr.astype(np.int16 if dt.kind == "i" else np.int32)
    lo, hi = int(arr.min()), int(arr.max())
    info = np.iinfo(np.int32)
    if lo < info.min or hi > info.max:
        raise ValidationError(
            f"Audio: {dt} samples range {lo}..{hi}, outside int32 (the widest integer WAV); "
            "scale them or convert to float64"
        )
    return arr.astype(np.int32)
