from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dsviz_widget as dv


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32, np.float64, np.uint8])
def test_arrays_round_trip_exactly(dtype: type) -> None:
    rng = np.random.default_rng(0)
    samples = (rng.random(1000) * 100).astype(dtype)
    clip = dv.Audio(samples, sample_rate=16000, caption="hello")
    back = clip.to_numpy()
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, samples)
    assert clip.sample_rate == 16000 and clip.duration == pytest.approx(1000 / 16000)


def test_stereo_and_files(tmp_path: Path) -> None:
    stereo = np.zeros((500, 2), np.int16)
    stereo[:, 1] = 7
    clip = dv.Audio(stereo, sample_rate=8000)
    path = tmp_path / "a.wav"
    path.write_bytes(clip.to_bytes())
    from_file = dv.Audio(path)
    assert from_file.sample_rate == 8000 and np.array_equal(from_file.to_numpy(), stereo)
    assert from_file == dv.Audio(stereo, sample_rate=8000)


def test_bad_audio_is_rejected() -> None:
    with pytest.raises(dv.ValidationError, match="sample_rate"):
        dv.Audio(np.zeros(10, np.float32))
    with pytest.raises(dv.ValidationError, match="NaN"):
        dv.Audio(np.full(10, np.nan), sample_rate=10)
    with pytest.raises(dv.ValidationError, match="unrecognised audio file"):
        dv.Audio(b"hello")
