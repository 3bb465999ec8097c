"""Audio from every numpy dtype: the samples read back equal in value, or are refused.

Before the fix uint16 / uint32 / int8 were cast to the WAV type of the same width and
wrapped (40000 -> -25536), complex and object arrays raised KeyError, and a sample rate
above 2**32 raised struct.error.
"""

from __future__ import annotations

import numpy as np
import pytest

import dsviz_widget as dv


def _extremes(dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    return np.array([info.min, 0, 1, info.max], dtype=dtype)


@pytest.mark.parametrize(
    "dtype", ["uint8", "int8", "int16", "uint16", "int32", "float16", "float32", "float64"]
)
def test_samples_round_trip_exactly(dtype: str) -> None:
    samples = _extremes(np.dtype(dtype))
    back = dv.Audio(samples, sample_rate=8000).to_numpy()
    assert back.tolist() == samples.tolist()


@pytest.mark.parametrize("dtype", ["uint32", "int64", "uint64"])
def test_wide_ints_are_kept_when_they_fit_int32_and_refused_otherwise(dtype: str) -> None:
    fits = np.array([0, 40000, 2**31 - 1], dtype=dtype)
    assert dv.Audio(fits, sample_rate=8000).to_numpy().tolist() == fits.tolist()
    with pytest.raises(dv.ValidationError, match=rf"{dtype} samples range .* outside int32"):
        dv.Audio(_extremes(np.dtype(dtype)), sample_rate=8000)


def test_a_list_of_python_ints_is_accepted() -> None:
    assert dv.Audio([0, -3, 40000], sample_rate=8000).to_numpy().tolist() == [0, -3, 40000]


@pytest.mark.parametrize(
    "samples",
    [
        np.array([True, False]),
        np.array([1 + 1j], dtype=np.complex64),
        np.array([1, "a"], dtype=object),
        np.array(["a", "b"]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
        np.array([1], dtype="timedelta64[s]"),
    ],
    ids=lambda a: str(a.dtype),
)
def test_non_numeric_samples_are_refused(samples: np.ndarray) -> None:
    with pytest.raises(dv.ValidationError, match=r"Audio samples must be integers or floats"):
        dv.Audio(samples, sample_rate=8000)


def test_extended_precision_floats_are_refused_not_rounded() -> None:
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is float64 here")
    with pytest.raises(dv.ValidationError, match=r"would be rounded"):
        dv.Audio(np.array([1 / 3], dtype=np.longdouble), sample_rate=8000)


@pytest.mark.parametrize("rate", [0, -1, 2**32, 2**40, 1.5, True, "8000", None])
def test_sample_rates_a_wav_header_cannot_hold_are_refused(rate: object) -> None:
    with pytest.raises(dv.ValidationError, match=r"sample_rate that is an int in 1\.\.4294967295"):
        dv.Audio(np.zeros(4, np.int16), sample_rate=rate)  # type: ignore[arg-type]


def test_byte_rate_overflow_is_refused() -> None:
    with pytest.raises(dv.ValidationError, match=r"do not fit a WAV header"):
        dv.Audio(np.zeros((2, 4), np.float64), sample_rate=2**32 - 1)


def test_a_file_given_with_a_bad_sample_rate_is_refused() -> None:
    ogg = b"OggS" + bytes(60)
    with pytest.raises(dv.ValidationError, match=r"sample_rate"):
        dv.Audio(ogg, sample_rate="fast")  # type: ignore[arg-type]
    assert dv.Audio(ogg).sample_rate is None
